//! TikTok: videos and photos with the creator's privacy options, and its mid-flow failures.

use super::*;

#[tokio::test]
async fn tiktok_publishes_videos_and_photos_with_the_creators_privacy_options() {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;

    let video = with_media(
        "My video",
        &[(MediaKind::Video, "https://example.com/v.mp4")],
    );
    let published = h.publish(Platform::Tiktok, &creator, &video).await.unwrap();
    assert_eq!(
        published.url.as_deref(),
        Some(
            format!(
                "https://www.tiktok.com/@annlee/video/{}",
                published.platform_post_id
            )
            .as_str()
        )
    );
    let mut photos = with_media(
        "My photos",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Image, "https://example.com/2.jpg"),
        ],
    );
    photos.privacy_level = Some("SELF_ONLY".into());
    let photo_post = h
        .publish(Platform::Tiktok, &creator, &photos)
        .await
        .unwrap();
    assert!(photo_post.url.unwrap().contains("/photo/"));

    let posts = h.posts(Platform::Tiktok).await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
    assert_eq!(posts[0]["author"], creator.platform_account_id.as_str());
    assert_eq!(posts[0]["text"], "My video");
    assert_eq!(posts[1]["id"], photo_post.platform_post_id.as_str());
}

// -------------------------------------------------------------------------------------------------------
// What cannot be published

#[tokio::test]
async fn a_tiktok_privacy_level_outside_the_creators_options_is_rejected_naming_them() {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;
    let mut video = with_media("v", &[(MediaKind::Video, "https://example.com/v.mp4")]);
    video.privacy_level = Some("FOLLOWER_OF_CREATOR".into());
    assert_rejected(
        h.publish(Platform::Tiktok, &creator, &video).await,
        "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY",
    );
    let requests = h.requests(Platform::Tiktok).await;
    assert_eq!(requests["/v2/post/publish/creator_info/query/"], 1);
    assert!(requests.get("/v2/post/publish/video/init/").is_none());
}

#[tokio::test]
async fn tiktok_says_a_publish_it_is_still_processing_may_appear_and_a_rate_limited_start_posts_nothing(
) {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;
    let mut stalled = with_media(
        "slow",
        &[(MediaKind::Video, "https://cdn.stalled.test/v.mp4")],
    );
    stalled.privacy_level = Some("PUBLIC_TO_EVERYONE".into());
    let error = h
        .publish(Platform::Tiktok, &creator, &stalled)
        .await
        .unwrap_err();
    assert!(error.message.contains("still processing"), "{error}");
    assert!(
        error.may_have_taken_effect(),
        "TikTok took it: it is looked up later, never sent again blindly"
    );
    assert!(h.posts(Platform::Tiktok).await.is_empty());

    // A rate limit between the creator's options and the publish's start: nothing started.
    let mut video = with_media(
        "clip",
        &[(MediaKind::Video, "https://cdn.example.com/v.mp4")],
    );
    video.privacy_level = Some("PUBLIC_TO_EVERYONE".into());
    h.control(
        Platform::Tiktok,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/v2/post/publish/video/init/"}),
    )
    .await;
    let error = h
        .publish(Platform::Tiktok, &creator, &video)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(!error.may_have_taken_effect());
    assert!(h.posts(Platform::Tiktok).await.is_empty());
    h.publish(Platform::Tiktok, &creator, &video).await.unwrap();
    assert_eq!(h.posts(Platform::Tiktok).await.len(), 1);
}
