//! Facebook Pages and Instagram: text, links, photos, videos, carousels, and nothing half-made when a
//! step fails.

use super::*;

#[tokio::test]
async fn facebook_pages_get_text_link_photo_and_video_posts() {
    let h = harness().await;
    let page = h.target(Platform::Facebook, AccountKind::Page).await;
    let page_id = page.platform_account_id.as_str();

    let mut linked = text("Launch day");
    linked.link = Some("https://example.com/launch".into());
    let published = h.publish(Platform::Facebook, &page, &linked).await.unwrap();
    assert!(published
        .platform_post_id
        .starts_with(&format!("{page_id}_")));
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://www.facebook.com/{}", published.platform_post_id).as_str())
    );

    let photo = with_media(
        "Two photos",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Image, "https://example.com/2.jpg"),
        ],
    );
    let photo_post = h.publish(Platform::Facebook, &page, &photo).await.unwrap();
    let video = with_media(
        "A clip",
        &[(MediaKind::Video, "https://example.com/clip.mp4")],
    );
    let video_post = h.publish(Platform::Facebook, &page, &video).await.unwrap();

    let posts = h.posts(Platform::Facebook).await;
    assert_eq!(
        posts.len(),
        3,
        "unpublished photos are not posts: {posts:?}"
    );
    let expected = [
        (&published.platform_post_id, "Launch day"),
        (&photo_post.platform_post_id, "Two photos"),
        (&video_post.platform_post_id, "A clip"),
    ];
    for (post, (id, text)) in posts.iter().zip(expected) {
        assert_eq!(post["id"], id.as_str());
        assert_eq!(post["author"], page_id);
        assert_eq!(post["text"], text);
    }
    let requests = h.requests(Platform::Facebook).await;
    assert_eq!(requests[format!("/v24.0/{page_id}/photos")], 2);
    assert_eq!(requests[format!("/v24.0/{page_id}/feed")], 2);
    assert_eq!(requests[format!("/v24.0/{page_id}/videos")], 1);
}

#[tokio::test]
async fn instagram_publishes_images_reels_and_carousels_through_containers() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    let ig = account.platform_account_id.as_str();

    let mut image = with_media(
        "A cat",
        &[(MediaKind::Image, "https://example.com/cat.jpg")],
    );
    image.link = Some("https://example.com/cats".into());
    let first = h
        .publish(Platform::Instagram, &account, &image)
        .await
        .unwrap();
    assert!(first
        .url
        .as_deref()
        .unwrap()
        .starts_with("https://www.instagram.com/p/"));
    let reel = with_media("A reel", &[(MediaKind::Video, "https://example.com/r.mp4")]);
    let second = h
        .publish(Platform::Instagram, &account, &reel)
        .await
        .unwrap();
    let carousel = with_media(
        "A carousel",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Video, "https://example.com/2.mp4"),
        ],
    );
    let third = h
        .publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap();

    let posts = h.posts(Platform::Instagram).await;
    let expected = [
        (&first.platform_post_id, "A cat https://example.com/cats"),
        (&second.platform_post_id, "A reel"),
        (&third.platform_post_id, "A carousel"),
    ];
    assert_eq!(posts.len(), 3, "{posts:?}");
    for (post, (id, text)) in posts.iter().zip(expected) {
        assert_eq!(post["id"], id.as_str());
        assert_eq!(post["author"], ig);
        assert_eq!(post["text"], text);
    }
}

#[tokio::test]
async fn an_instagram_post_whose_permalink_cannot_be_read_is_still_published() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    // The sandbox's media ids start with 1791 (containers with 1790): only the permalink read fails.
    h.control(
        Platform::Instagram,
        "/faults",
        json!({"mode": "server_error", "count": 1, "path_prefix": "/v24.0/1791"}),
    )
    .await;
    let image = with_media(
        "A cat",
        &[(MediaKind::Image, "https://example.com/cat.jpg")],
    );
    let published = h
        .publish(Platform::Instagram, &account, &image)
        .await
        .unwrap();
    assert_eq!(published.url, None);
    let posts = h.posts(Platform::Instagram).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
}

#[tokio::test]
async fn instagram_and_facebook_publish_nothing_half_made_when_a_step_fails() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    let version = h
        .adapter(Platform::Instagram)
        .settings()
        .api_version
        .clone();
    // A carousel child that never finishes processing: no carousel is made, nothing is published.
    let stalled = with_media(
        "never ready",
        &[
            (MediaKind::Image, "https://cdn.example.com/1.jpg"),
            (MediaKind::Image, "https://cdn.stalled.test/2.jpg"),
        ],
    );
    let error = h
        .publish(Platform::Instagram, &account, &stalled)
        .await
        .unwrap_err();
    assert!(error.message.contains("still processing"), "{error}");
    assert!(h.posts(Platform::Instagram).await.is_empty());

    // A rate limit between the container and its publishing: nothing out; tried again, one post.
    let carousel = with_media(
        "two pictures",
        &[
            (MediaKind::Image, "https://cdn.example.com/1.jpg"),
            (MediaKind::Image, "https://cdn.example.com/2.jpg"),
        ],
    );
    h.control(
        Platform::Instagram,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": format!("/{version}/{}/media_publish", account.platform_account_id)}),
    )
    .await;
    let error = h
        .publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(h.posts(Platform::Instagram).await.is_empty());
    h.publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap();
    assert_eq!(h.posts(Platform::Instagram).await.len(), 1);

    // Facebook: photos uploaded unpublished, then the feed post rate-limited: no post until it is sent.
    let page = h.target(Platform::Facebook, AccountKind::Page).await;
    h.control(
        Platform::Facebook,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": format!("/{version}/{}/feed", page.platform_account_id)}),
    )
    .await;
    let error = h
        .publish(Platform::Facebook, &page, &carousel)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(
        h.posts(Platform::Facebook).await.is_empty(),
        "the photos alone show nothing"
    );
    h.publish(Platform::Facebook, &page, &carousel)
        .await
        .unwrap();
    assert_eq!(h.posts(Platform::Facebook).await.len(), 1);
}
