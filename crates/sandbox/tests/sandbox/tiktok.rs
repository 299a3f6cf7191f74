//! TikTok: `client_key`, optional PKCE, rotating refresh, user fields by scope, uploads and publishing.

use super::*;
use crate::x::s256;

pub(crate) const TT_SCOPES: &str = "user.info.basic,user.info.profile,video.publish,video.upload";

fn tt_authorize(base: &str, scopes: &str, challenge: Option<&str>) -> String {
    let mut params = vec![
        ("client_key", "tt-app"),
        ("response_type", "code"),
        ("scope", scopes),
        ("redirect_uri", CALLBACK),
        ("state", STATE),
    ];
    if let Some(challenge) = challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", "S256"));
    }
    url(base, "/v2/auth/authorize/", &params)
}

async fn tt_token(base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    send(http().post(format!("{base}/v2/oauth/token/")).form(form)).await
}

async fn tt_exchange(base: &str, code: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("client_key", "tt-app"),
        ("client_secret", "tt-app-secret"),
        ("code", code),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
    ];
    form.extend_from_slice(extra);
    tt_token(base, &form).await
}

pub(crate) async fn tt_login(base: &str, choice: &Consent, scopes: &str) -> Value {
    let code = approve(&tt_authorize(base, scopes, None), choice).await;
    let (status, body) = tt_exchange(base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A TikTok sandbox where Ann Lee granted every scope: the sandbox, its address and her access token.
async fn ann_lee_signed_in() -> (Sandbox, String, String) {
    let (sb, base) = sandbox(Platform::Tiktok).await;
    let tokens = tt_login(&base, &as_user("Ann Lee"), TT_SCOPES).await;
    let token = tokens["access_token"].as_str().unwrap().to_string();
    (sb, base, token)
}

pub(crate) async fn tt_refresh(base: &str, refresh: &str) -> (StatusCode, Value) {
    tt_token(
        base,
        &[
            ("client_key", "tt-app"),
            ("client_secret", "tt-app-secret"),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
        ],
    )
    .await
}

#[tokio::test]
async fn tiktok_code_exchange_with_client_key() {
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let elsewhere = tt_authorize(&base, TT_SCOPES, None).replace("app.example", "other.example");
    assert_rejected(&elsewhere, "not registered").await;
    let unknown = tt_authorize(&base, TT_SCOPES, None).replace("tt-app", "tt-nope");
    assert_rejected(&unknown, "client_key \"tt-nope\"").await;
    let redirect = consent(&tt_authorize(&base, TT_SCOPES, None), &as_user("Ann Lee"))
        .await
        .unwrap();
    // The code carries characters that must be URL-decoded before the exchange.
    let code = query_of(&redirect)["code"].clone();
    assert!(code.contains('*') && code.contains('!'));
    assert!(!redirect.contains('!'));

    let (status, body) = tt_exchange(&base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["open_id"], by_name(&base, "Ann Lee").await["id"]);
    assert_eq!(body["scope"], TT_SCOPES);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert_eq!(body["refresh_expires_in"], 31_536_000);
    assert!(body["access_token"].as_str().unwrap().starts_with("act."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rft."));

    let (status, body) = tt_exchange(&base, &code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(body["log_id"].is_string());

    let code = approve(&tt_authorize(&base, TT_SCOPES, None), &Consent::default()).await;
    let (status, body) = tt_token(
        &base,
        &[
            ("client_key", "tt-app"),
            ("client_secret", "wrong"),
            ("code", code.as_str()),
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_client");
}

#[tokio::test]
async fn tiktok_checks_pkce_when_a_challenge_was_sent() {
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let challenge = s256(VERIFIER);
    let code = approve(
        &tt_authorize(&base, TT_SCOPES, Some(&challenge)),
        &Consent::default(),
    )
    .await;
    let (status, body) = tt_exchange(&base, &code, &[]).await;
    assert_eq!(
        (status, body["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("invalid_request"))
    );
    let (_, body) = tt_exchange(&base, &code, &[("code_verifier", "wrong")]).await;
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = tt_exchange(&base, &code, &[("code_verifier", VERIFIER)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tiktok_refresh_tokens_rotate_and_revoke_ends_the_grant() {
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let tokens = tt_login(&base, &Consent::default(), TT_SCOPES).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = tt_refresh(&base, first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["refresh_token"], first);
    let (status, body) = tt_refresh(&base, first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let access = rotated["access_token"].as_str().unwrap();
    let (status, body) = send(http().post(format!("{base}/v2/oauth/revoke/")).form(&[
        ("client_key", "tt-app"),
        ("client_secret", "tt-app-secret"),
        ("token", access),
    ]))
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let (status, body) = send(
        http()
            .get(format!("{base}/v2/user/info/?fields=open_id"))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "access_token_invalid");
    assert_eq!(body["data"], json!({}));
    let refresh = rotated["refresh_token"].as_str().unwrap();
    assert_eq!(tt_refresh(&base, refresh).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn tiktok_user_info_returns_the_fields_the_scopes_allow() {
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let fields = "open_id,union_id,avatar_url,display_name,username";
    let full = tt_login(&base, &as_user("Ann Lee"), TT_SCOPES).await;
    let (status, body) = send(
        http()
            .get(format!("{base}/v2/user/info/?fields={fields}"))
            .bearer_auth(full["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["error"]["code"], "ok");
    let user = &body["data"]["user"];
    assert_eq!(user["open_id"], full["open_id"]);
    assert_eq!(user["display_name"], "Ann Lee");
    assert_eq!(user["username"], "annlee");
    assert!(user["avatar_url"].as_str().unwrap().starts_with(&base));

    let basic = tt_login(
        &base,
        &granting("Ann Lee", &["user.info.basic", "video.publish"]),
        TT_SCOPES,
    )
    .await;
    let (_, body) = send(
        http()
            .get(format!("{base}/v2/user/info/?fields={fields}"))
            .bearer_auth(basic["access_token"].as_str().unwrap()),
    )
    .await;
    assert!(body["data"]["user"].get("username").is_none());
    assert_eq!(body["data"]["user"]["display_name"], "Ann Lee");
}

#[tokio::test]
async fn tiktok_video_upload_and_publish_status() {
    let (_sb, base, token) = ann_lee_signed_in().await;
    let post = |path: &str, body: Value| post_json(&base, path, &token, body);

    let (status, info) = post("/v2/post/publish/creator_info/query/", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["data"]["creator_username"], "annlee");
    assert_eq!(
        info["data"]["privacy_level_options"],
        json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"])
    );

    let (status, body) = post(
        "/v2/post/publish/video/init/",
        json!({"post_info": {"title": "t", "privacy_level": "FOLLOWER_OF_CREATOR"},
               "source_info": {"source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4"}}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "privacy_level_option_mismatch");

    let (status, init) = post(
        "/v2/post/publish/video/init/",
        json!({"post_info": {"title": "My video", "privacy_level": "SELF_ONLY"},
               "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 6, "total_chunk_count": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{init}");
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_string();
    let upload_url = init["data"]["upload_url"].as_str().unwrap().to_string();
    assert!(upload_url.starts_with(&base));
    let status = || {
        post(
            "/v2/post/publish/status/fetch/",
            json!({"publish_id": publish_id}),
        )
    };
    assert_eq!(status().await.1["data"]["status"], "PROCESSING_UPLOAD");

    let put = |range: &str, bytes: &'static [u8]| {
        http()
            .put(&upload_url)
            .header("Content-Type", "video/mp4")
            .header("Content-Range", range)
            .body(bytes)
            .send()
    };
    // Out of order is refused.
    assert_eq!(
        put("bytes 6-9/10", b"6789").await.unwrap().status(),
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    assert_eq!(
        put("bytes 0-5/10", b"012345").await.unwrap().status(),
        StatusCode::PARTIAL_CONTENT
    );
    assert_eq!(
        put("bytes 6-9/10", b"6789").await.unwrap().status(),
        StatusCode::CREATED
    );

    assert_eq!(status().await.1["data"]["status"], "PROCESSING_DOWNLOAD");
    let (_, done) = status().await;
    assert_eq!(done["data"]["status"], "PUBLISH_COMPLETE");
    let post_id = done["data"]["publicaly_available_post_id"][0]
        .as_u64()
        .unwrap();
    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts[0]["id"], post_id.to_string());
    assert_eq!(posts[0]["text"], "My video");

    let (status, photo) = post(
        "/v2/post/publish/content/init/",
        json!({"media_type": "PHOTO", "post_mode": "MEDIA_UPLOAD",
               "post_info": {"title": "Photos"},
               "source_info": {"source": "PULL_FROM_URL", "photo_images": ["https://example.com/1.jpg"], "photo_cover_index": 0}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{photo}");
    let photo_id = photo["data"]["publish_id"].as_str().unwrap();
    let fetch = || {
        post(
            "/v2/post/publish/status/fetch/",
            json!({"publish_id": photo_id}),
        )
    };
    assert_eq!(fetch().await.1["data"]["status"], "PROCESSING_DOWNLOAD");
    assert_eq!(fetch().await.1["data"]["status"], "SEND_TO_USER_INBOX");
}

#[tokio::test]
async fn tiktok_publishes_pulled_from_a_url_and_fails_when_the_url_cannot_be_fetched() {
    let (_sb, base, token) = ann_lee_signed_in().await;
    let post = |path: &str, body: Value| post_json(&base, path, &token, body);
    let outcome = |publish_id: String| async move {
        let fetch = || {
            post(
                "/v2/post/publish/status/fetch/",
                json!({"publish_id": publish_id}),
            )
        };
        assert_eq!(fetch().await.1["data"]["status"], "PROCESSING_DOWNLOAD");
        fetch().await.1["data"].clone()
    };

    let (status, video) = post(
        "/v2/post/publish/video/init/",
        json!({"post_info": {"title": "Pulled", "privacy_level": "PUBLIC_TO_EVERYONE"},
               "source_info": {"source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{video}");
    let done = outcome(video["data"]["publish_id"].as_str().unwrap().to_string()).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE");

    let (_, lost) = post(
        "/v2/post/publish/video/init/",
        json!({"post_info": {"title": "Lost", "privacy_level": "PUBLIC_TO_EVERYONE"},
               "source_info": {"source": "PULL_FROM_URL", "video_url": "https://cdn.example.invalid/v.mp4"}}),
    )
    .await;
    let failed = outcome(lost["data"]["publish_id"].as_str().unwrap().to_string()).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["fail_reason"], "video_pull_failed");

    let (status, photos) = post(
        "/v2/post/publish/content/init/",
        json!({"media_type": "PHOTO", "post_mode": "DIRECT_POST",
               "post_info": {"title": "Lost photos", "privacy_level": "SELF_ONLY"},
               "source_info": {"source": "PULL_FROM_URL", "photo_cover_index": 0,
                               "photo_images": ["https://example.com/1.jpg", "https://cdn.example.invalid/2.jpg"]}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{photos}");
    let failed = outcome(photos["data"]["publish_id"].as_str().unwrap().to_string()).await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["fail_reason"], "photo_pull_failed");

    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts.as_array().unwrap().len(), 1);
    assert_eq!(posts[0]["text"], "Pulled");
}

#[tokio::test]
async fn tiktok_deny_and_control_actions() {
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let denied = deny_at(&tt_authorize(&base, TT_SCOPES, None)).await;
    assert_eq!(denied["error"], "access_denied");
    assert_eq!(denied["state"], STATE);

    let tokens = tt_login(&base, &as_user("Ann Lee"), TT_SCOPES).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user = tokens["open_id"].as_str().unwrap();
    let creator = || {
        send(
            http()
                .post(format!("{base}/v2/post/publish/creator_info/query/"))
                .bearer_auth(access),
        )
    };
    assert_eq!(creator().await.0, StatusCode::OK);
    remove_scope(&base, user, "video.publish").await;
    let (status, body) = creator().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "scope_not_authorized");

    control(&base, &format!("/users/{user}/expire"), json!({})).await;
    let (_, body) = creator().await;
    assert_eq!(body["error"]["code"], "access_token_invalid");
    let (status, refreshed) = tt_refresh(&base, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    control(&base, &format!("/users/{user}/revoke"), json!({})).await;
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(tt_refresh(&base, refresh).await.0, StatusCode::BAD_REQUEST);
    let state = sandbox_state(&base).await;
    assert_eq!(state["tokens"]["active"], 0);
    assert_eq!(state["revocations"], 1);
}
