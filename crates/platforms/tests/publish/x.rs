//! X: text with its link, media through the chunked upload, failures at each step, and threads.

use super::*;

#[tokio::test]
async fn x_posts_text_with_the_link_appended() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let mut post = text("Read this");
    post.link = Some("https://example.com/a".into());
    let published = h.publish(Platform::X, &profile, &post).await.unwrap();
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://x.com/i/web/status/{}", published.platform_post_id).as_str())
    );
    let posts = h.posts(Platform::X).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
    assert_eq!(posts[0]["author"], profile.platform_account_id.as_str());
    assert_eq!(posts[0]["text"], "Read this https://example.com/a");
}

#[tokio::test]
async fn x_uploads_images_and_a_video_in_segments_and_attaches_them() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let images = with_files(
        "Two pictures",
        &[
            (MediaKind::Image, "image/jpeg", 300_000),
            (MediaKind::Image, "image/png", 1_000),
        ],
    );
    let published = h.publish(Platform::X, &profile, &images).await.unwrap();
    let uploads = h.uploads().await;
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    for upload in &uploads {
        assert_eq!(upload["attached_to"], published.platform_post_id.as_str());
        assert_eq!(upload["category"], "tweet_image");
    }

    // A 9 MB video goes in three segments, then X processes it before the post may attach it.
    let video = with_files(
        "A video",
        &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)],
    );
    let before = h.requests(Platform::X).await;
    let published = h.publish(Platform::X, &profile, &video).await.unwrap();
    let after = h.requests(Platform::X).await;
    let appended: u64 = after
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with("/append"))
        .map(|(path, n)| n.as_u64().unwrap() - before[path.as_str()].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(appended, 3, "4 MiB segments");
    let status_looks = after["/2/media/upload"].as_u64().unwrap_or(0);
    assert!(status_looks >= 2, "processing was polled: {after}");
    let video_upload = h
        .uploads()
        .await
        .into_iter()
        .find(|u| u["category"] == "tweet_video")
        .unwrap();
    assert_eq!(
        video_upload["attached_to"],
        published.platform_post_id.as_str()
    );
    assert_eq!(video_upload["received"], 9 * 1024 * 1024);
    assert_eq!(h.posts(Platform::X).await.len(), 2);
}

#[tokio::test]
async fn an_x_upload_failing_at_any_step_publishes_nothing_and_names_the_step() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let video = |text: &str| with_files(text, &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)]);

    // A segment refused.
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"refuse_segment": 1}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Refused segment"))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("media 1, append (segment 1)"),
        "{error}"
    );
    assert!(
        !error.may_have_taken_effect(),
        "nothing can have been published"
    );

    // Processing that fails, and processing that never ends within the limit.
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"processing": "fails"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Failed processing"))
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Rejected, "{error}");
    assert!(error.message.contains("X could not process it"), "{error}");
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"processing": "stalls"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Stalled processing"))
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Unavailable, "{error}");
    assert!(error.message.contains("still processing"), "{error}");
    assert!(!error.may_have_taken_effect());
    assert!(h.posts(Platform::X).await.is_empty(), "no half-made post");

    // A rate limit between the upload and the post: nothing published; tried again, one post.
    h.control(Platform::X, "/media-behaviour", json!({})).await;
    h.control(
        Platform::X,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/2/tweets"}),
    )
    .await;
    let post = video("Limited between the steps");
    let error = h.publish(Platform::X, &profile, &post).await.unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(h.posts(Platform::X).await.is_empty());
    h.publish(Platform::X, &profile, &post).await.unwrap();
    assert_eq!(h.posts(Platform::X).await.len(), 1);

    // A rate limit on a step of the upload itself is said as such, naming the step.
    h.control(
        Platform::X,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/2/media/upload/initialize"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Limited at the start"))
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(error.message.contains("media 1, initialize"), "{error}");
    assert_eq!(h.posts(Platform::X).await.len(), 1);
}

#[tokio::test]
async fn an_x_thread_goes_on_as_replies_each_with_its_own_media() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let root = h
        .publish(Platform::X, &profile, &text("1/3 Our spring"))
        .await
        .unwrap();
    let adapter = h.adapter(Platform::X);
    let second = adapter
        .reply(
            profile.acting_as(),
            &root.platform_post_id,
            &text("2/3 The colours"),
        )
        .await
        .unwrap();
    let third = adapter
        .reply(
            profile.acting_as(),
            &second.platform_post_id,
            &with_files("3/3 The shop", &[(MediaKind::Image, "image/png", 2_000)]),
        )
        .await
        .unwrap();
    let comments = h.state(Platform::X).await["comments"].clone();
    let parents: Vec<(String, String)> = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["on"].as_str().unwrap().to_string(),
                c["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        parents,
        [
            (root.platform_post_id.clone(), "2/3 The colours".to_string()),
            (second.platform_post_id.clone(), "3/3 The shop".to_string()),
        ]
    );
    assert!(h
        .uploads()
        .await
        .iter()
        .any(|u| u["attached_to"] == third.platform_post_id.as_str()));
    // Replying to a post that does not exist is refused.
    let error = adapter
        .reply(profile.acting_as(), "1", &text("lost"))
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Rejected, "{error}");
}
