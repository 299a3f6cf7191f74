//! Meta publishing: Page posts, photos and videos with Page tokens, and Instagram containers.

use super::*;
use crate::meta::{assert_graph_error, graph, meta_authorize, meta_login, FB_SCOPES, IG_SCOPES};

/// The id of the Instagram account behind the token's first page, read with `/me/accounts?fields=…`.
async fn instagram_id(base: &str, token: &str, fields: &str) -> String {
    let (_, accounts) = graph(base, &format!("/me/accounts?fields={fields}"), token).await;
    accounts["data"][0]["instagram_business_account"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The id and Page token of the token's first Page, read with `/me/accounts`.
async fn first_page(base: &str, token: &str) -> (String, String) {
    let (_, accounts) = graph(base, "/me/accounts?fields=id,access_token", token).await;
    let page = &accounts["data"][0];
    let text = |field: &str| page[field].as_str().unwrap().to_string();
    (text("id"), text("access_token"))
}

#[tokio::test]
async fn meta_publishes_to_pages_with_page_tokens_only() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (page_id, page_token) = first_page(&base, &token).await;

    let (status, post) = send(
        http()
            .post(format!(
                "{base}/v21.0/{page_id}/feed?access_token={page_token}"
            ))
            .json(&json!({"message": "Hello from the sandbox", "link": "https://example.com"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    let id = post["id"].as_str().unwrap();
    assert!(id.starts_with(&format!("{page_id}_")));

    let (status, body) = send(
        http()
            .post(format!("{base}/v21.0/{page_id}/feed"))
            .form(&[("message", "as the user"), ("access_token", token.as_str())]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, 200, None);

    let (status, photo) = send(
        http()
            .post(format!("{base}/v21.0/{page_id}/photos"))
            .bearer_auth(&page_token)
            .json(&json!({"url": "https://example.com/cat.jpg", "caption": "A cat"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    assert!(photo["post_id"].is_string());

    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts[0]["id"], id);
    assert_eq!(posts[0]["author"], page_id);
    assert_eq!(posts[0]["text"], "Hello from the sandbox");
    assert_eq!(posts[1]["text"], "A cat");
}

#[tokio::test]
async fn meta_publishes_page_videos_by_url() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (page_id, page_token) = first_page(&base, &token).await;
    let videos = format!("{base}/v21.0/{page_id}/videos");

    let (status, body) = send(
        http()
            .post(&videos)
            .bearer_auth(&page_token)
            .json(&json!({"description": "no file"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 100, None);

    let (status, video) = send(http().post(&videos).bearer_auth(&page_token).json(&json!({
        "file_url": "https://example.com/clip.mp4",
        "description": "Our clip",
        "published": true,
    })))
    .await;
    assert_eq!(status, StatusCode::OK, "{video}");
    let id = video["id"].as_str().unwrap();
    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts[0]["id"], id);
    assert_eq!(posts[0]["author"], page_id);
    assert_eq!(posts[0]["text"], "Our clip");

    // Like every Page publishing call, it takes the Page's own token.
    let (status, body) = send(http().post(&videos).bearer_auth(&token).json(&json!({
        "file_url": "https://example.com/clip.mp4",
    })))
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, 200, None);
}

#[tokio::test]
async fn meta_publishing_needs_pages_manage_posts() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(
        &base,
        Platform::Facebook,
        &granting("Ann Lee", &["pages_show_list"]),
        FB_SCOPES,
    )
    .await;
    let (page_id, page_token) = first_page(&base, &token).await;
    let (status, body) = send(
        http()
            .post(format!("{base}/v21.0/{page_id}/feed"))
            .bearer_auth(&page_token)
            .form(&[("message", "hello")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, 200, None);
    assert_eq!(
        body["error"]["message"],
        "(#200) Requires pages_manage_posts permission"
    );
}

#[tokio::test]
async fn instagram_account_lookup_and_container_publishing() {
    let sb = start(
        &[Platform::Facebook, Platform::Instagram],
        SandboxOptions::default(),
    )
    .await;
    let base = sb.base_url(Platform::Instagram).unwrap();
    assert_ne!(base, sb.base_url(Platform::Facebook).unwrap());
    let page = http()
        .get(meta_authorize(&base, Platform::Instagram, IG_SCOPES))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Instagram sandbox — authorize ig-app"));

    let token = meta_login(&base, Platform::Instagram, &as_user("Ann Lee"), IG_SCOPES).await;
    let ig = instagram_id(&base, &token, "id,name,instagram_business_account").await;
    let (status, account) = graph(
        &base,
        &format!("/{ig}?fields=username,name,profile_picture_url"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["id"], ig.as_str());
    assert_eq!(account["username"], "annlee");
    assert_eq!(account["name"], "Ann Lee");
    assert!(account["profile_picture_url"]
        .as_str()
        .unwrap()
        .ends_with(".png"));

    let create = || {
        send(
            http()
                .post(format!("{base}/v21.0/{ig}/media"))
                .bearer_auth(&token)
                .form(&[
                    ("image_url", "https://example.com/cat.jpg"),
                    ("caption", "A cat"),
                ]),
        )
    };
    let (status, container) = create().await;
    assert_eq!(status, StatusCode::OK, "{container}");
    let container = container["id"].as_str().unwrap().to_string();
    let publish = |creation: String| {
        send(
            http()
                .post(format!(
                    "{base}/v21.0/{ig}/media_publish?creation_id={creation}"
                ))
                .bearer_auth(&token),
        )
    };
    // Not processed yet.
    let (status, body) = publish(container.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 9007, Some(2_207_027));
    let status_path = format!("/{container}?fields=status_code,status");
    assert_eq!(
        graph(&base, &status_path, &token).await.1["status_code"],
        "IN_PROGRESS"
    );
    assert_eq!(
        graph(&base, &status_path, &token).await.1["status_code"],
        "FINISHED"
    );
    let (status, media) = publish(container.clone()).await;
    assert_eq!(status, StatusCode::OK, "{media}");
    let media = media["id"].as_str().unwrap();
    assert_eq!(
        graph(&base, &status_path, &token).await.1["status_code"],
        "PUBLISHED"
    );
    let (_, link) = graph(&base, &format!("/{media}?fields=permalink"), &token).await;
    assert!(link["permalink"]
        .as_str()
        .unwrap()
        .starts_with("https://www.instagram.com/p/"));
    let (_, limit) = graph(
        &base,
        &format!("/{ig}/content_publishing_limit?fields=quota_usage,config"),
        &token,
    )
    .await;
    assert_eq!(limit["data"][0]["quota_usage"], 1);
    assert_eq!(limit["data"][0]["config"]["quota_total"], 50);
    assert_eq!(
        sandbox_state(&base).await["posts"][0]["author"],
        ig.as_str()
    );
}

#[tokio::test]
async fn instagram_containers_whose_media_cannot_be_fetched_end_in_error() {
    let (_sb, base) = sandbox(Platform::Instagram).await;
    let token = meta_login(&base, Platform::Instagram, &as_user("Ann Lee"), IG_SCOPES).await;
    let ig = instagram_id(&base, &token, "id,instagram_business_account").await;
    let (status, container) = send(
        http()
            .post(format!("{base}/v21.0/{ig}/media"))
            .bearer_auth(&token)
            .form(&[
                ("video_url", "https://cdn.example.invalid/clip.mp4"),
                ("media_type", "REELS"),
                ("caption", "Lost"),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{container}");
    let container = container["id"].as_str().unwrap();
    let status_path = format!("/{container}?fields=status_code,status");
    assert_eq!(
        graph(&base, &status_path, &token).await.1["status_code"],
        "IN_PROGRESS"
    );
    let (_, failed) = graph(&base, &status_path, &token).await;
    assert_eq!(failed["status_code"], "ERROR");
    assert!(failed["status"].as_str().unwrap().starts_with("Error:"));
    let (status, body) = send(
        http()
            .post(format!(
                "{base}/v21.0/{ig}/media_publish?creation_id={container}"
            ))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 9007, Some(2_207_027));
    assert_eq!(sandbox_state(&base).await["posts"], json!([]));
}
