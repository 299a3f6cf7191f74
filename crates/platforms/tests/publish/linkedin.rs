//! LinkedIn: posts as the member and as an organisation, images and videos.

use super::*;

#[tokio::test]
async fn linkedin_uploads_images_for_the_member_and_an_organisation_and_shows_them() {
    let h = harness().await;
    let member = h.target(Platform::Linkedin, AccountKind::Profile).await;
    let organisation = h
        .target(Platform::Linkedin, AccountKind::Organization)
        .await;
    let one = with_files("One picture", &[(MediaKind::Image, "image/jpeg", 50_000)]);
    let mut three = with_files(
        "Three pictures",
        &[
            (MediaKind::Image, "image/png", 1_000),
            (MediaKind::Image, "image/png", 2_000),
            (MediaKind::Image, "image/jpeg", 3_000),
        ],
    );
    three.link = Some("https://example.com/gallery".into());
    let first = h.publish(Platform::Linkedin, &member, &one).await.unwrap();
    let second = h
        .publish(Platform::Linkedin, &organisation, &three)
        .await
        .unwrap();
    let images = h.sandbox_list(Platform::Linkedin, "images").await;
    assert_eq!(images.len(), 4, "{images:?}");
    let shown_in = |post: &str| images.iter().filter(|i| i["posted_in"] == post).count();
    assert_eq!(shown_in(&first.platform_post_id), 1);
    assert_eq!(shown_in(&second.platform_post_id), 3);
    assert!(images
        .iter()
        .filter(|i| i["posted_in"] == second.platform_post_id.as_str())
        .all(|i| i["owner"]
            .as_str()
            .unwrap()
            .starts_with("urn:li:organization:")));
    let posts = h.posts(Platform::Linkedin).await;
    assert!(
        posts
            .iter()
            .any(|p| p["text"] == "Three pictures https://example.com/gallery"),
        "with images, the link goes into the text: {posts:?}"
    );

    // A failed upload names its step and publishes nothing.
    h.control(
        Platform::Linkedin,
        "/faults",
        json!({"mode": "server_error", "count": 1, "path_prefix": "/dms-uploads/"}),
    )
    .await;
    let error = h
        .publish(Platform::Linkedin, &member, &one)
        .await
        .unwrap_err();
    assert!(error.message.contains("media 1, upload"), "{error}");
    assert!(!error.may_have_taken_effect());
    assert_eq!(h.posts(Platform::Linkedin).await.len(), 2);
}

#[tokio::test]
async fn linkedin_uploads_a_video_in_parts_and_posts_it_once_processed() {
    let h = harness().await;
    let video = |text: &str| with_files(text, &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)]);
    for kind in [AccountKind::Profile, AccountKind::Organization] {
        let target = h.target(Platform::Linkedin, kind).await;
        let published = h
            .publish(
                Platform::Linkedin,
                &target,
                &video(&format!("A video as {kind:?}")),
            )
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let videos = h.linkedin_videos().await;
        let posted: Vec<&Value> = videos
            .iter()
            .filter(|v| v["posted_in"] == published.platform_post_id.as_str())
            .collect();
        assert_eq!(posted.len(), 1, "{videos:?}");
        assert_eq!(posted[0]["parts"], 3, "4 MB parts");
        assert_eq!(posted[0]["status"], "AVAILABLE");
    }

    // Failures mid-flow: nothing published, the step named, never a half-made post.
    let member = h.target(Platform::Linkedin, AccountKind::Profile).await;
    let before = h.posts(Platform::Linkedin).await.len();
    for (behaviour, says, class_rejected) in [
        (json!({"refuse_part": 1}), "media 1, upload (part 1)", true),
        (
            json!({"processing": "fails"}),
            "LinkedIn could not process it",
            true,
        ),
        (json!({"processing": "stalls"}), "still processing", false),
    ] {
        h.control(Platform::Linkedin, "/video-behaviour", behaviour.clone())
            .await;
        let error = h
            .publish(
                Platform::Linkedin,
                &member,
                &video(&format!("Failing {behaviour}")),
            )
            .await
            .unwrap_err();
        assert!(error.message.contains(says), "{behaviour}: {error}");
        assert_eq!(
            error.class == ErrorClass::Rejected,
            class_rejected,
            "{error}"
        );
        assert!(!error.may_have_taken_effect());
        assert_eq!(
            h.posts(Platform::Linkedin).await.len(),
            before,
            "{behaviour}"
        );
    }

    // A rate limit between the upload and the post: nothing published; tried again, one post.
    h.control(Platform::Linkedin, "/video-behaviour", json!({}))
        .await;
    h.control(
        Platform::Linkedin,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/rest/posts"}),
    )
    .await;
    let post = video("Limited between the steps");
    let error = h
        .publish(Platform::Linkedin, &member, &post)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert_eq!(h.posts(Platform::Linkedin).await.len(), before);
    h.publish(Platform::Linkedin, &member, &post).await.unwrap();
    assert_eq!(h.posts(Platform::Linkedin).await.len(), before + 1);
}

#[tokio::test]
async fn linkedin_posts_as_the_member_and_as_an_organisation() {
    let h = harness().await;
    let targets = h.targets(Platform::Linkedin).await;
    let member = targets
        .iter()
        .find(|t| t.kind == AccountKind::Profile)
        .unwrap();
    let organisation = targets
        .iter()
        .find(|t| t.kind == AccountKind::Organization && t.publishable)
        .unwrap();

    let mut article = text("Hello @team #launch (v2)");
    article.link = Some("https://example.com/post".into());
    let as_member = h
        .publish(Platform::Linkedin, member, &article)
        .await
        .unwrap();
    assert!(as_member.platform_post_id.starts_with("urn:li:share:"));
    assert_eq!(
        as_member.url.as_deref(),
        Some(
            format!(
                "https://www.linkedin.com/feed/update/{}",
                as_member.platform_post_id
            )
            .as_str()
        )
    );
    let as_org = h
        .publish(Platform::Linkedin, organisation, &text("From the company"))
        .await
        .unwrap();

    let posts = h.posts(Platform::Linkedin).await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["id"], as_member.platform_post_id.as_str());
    assert_eq!(
        posts[0]["author"],
        format!("urn:li:person:{}", member.platform_account_id)
    );
    assert_eq!(posts[0]["text"], r"Hello \@team \#launch \(v2\)");
    assert_eq!(posts[1]["id"], as_org.platform_post_id.as_str());
    assert_eq!(
        posts[1]["author"],
        format!("urn:li:organization:{}", organisation.platform_account_id)
    );
}
