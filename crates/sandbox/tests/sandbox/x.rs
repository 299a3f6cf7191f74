//! X: PKCE, client authentication, rotating refresh tokens, identity, posts, the timeline and revocation.

use super::*;

pub(crate) const X_SCOPES: &str = "tweet.read tweet.write users.read offline.access";

pub(crate) fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn x_authorize(base: &str, scopes: &str, challenge: Option<(&str, &str)>) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "x-app"),
        ("redirect_uri", CALLBACK),
        ("scope", scopes),
        ("state", STATE),
    ];
    if let Some((challenge, method)) = challenge {
        params.push(("code_challenge", challenge));
        params.push(("code_challenge_method", method));
    }
    url(base, "/i/oauth2/authorize", &params)
}

async fn x_code(base: &str, scopes: &str, choice: &Consent) -> String {
    let challenge = s256(VERIFIER);
    approve(
        &x_authorize(base, scopes, Some((&challenge, "S256"))),
        choice,
    )
    .await
}

/// The token endpoint with HTTP Basic client authentication.
async fn x_token(base: &str, form: &[(&str, &str)], secret: &str) -> (StatusCode, Value) {
    send(
        http()
            .post(format!("{base}/2/oauth2/token"))
            .basic_auth("x-app", Some(secret))
            .form(form),
    )
    .await
}

async fn x_exchange(base: &str, code: &str, verifier: &str) -> (StatusCode, Value) {
    x_token(
        base,
        &[
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
            ("client_id", "x-app"),
        ],
        "x-app-secret",
    )
    .await
}

pub(crate) async fn x_login(base: &str, scopes: &str, choice: &Consent) -> Value {
    let code = x_code(base, scopes, choice).await;
    let (status, body) = x_exchange(base, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn x_refresh(base: &str, refresh: &str) -> (StatusCode, Value) {
    x_token(
        base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", "x-app"),
        ],
        "x-app-secret",
    )
    .await
}

pub(crate) fn assert_problem(body: &Value, status: u16, title: &str) {
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["title"], title);
    assert_eq!(body["type"], "about:blank");
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn x_requires_pkce_on_the_consent_page() {
    let (_sb, base) = sandbox(Platform::X).await;
    match consent(&x_authorize(&base, X_SCOPES, None), &Consent::default()).await {
        Err(ConsentError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains("code_challenge"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let unregistered =
        x_authorize(&base, X_SCOPES, Some(("c", "plain"))).replace("app.example", "other.example");
    assert!(matches!(
        consent(&unregistered, &Consent::default()).await,
        Err(ConsentError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn x_code_exchange_checks_the_verifier_and_spends_the_code() {
    let (_sb, base) = sandbox(Platform::X).await;
    let code = x_code(&base, X_SCOPES, &as_user("Ann Lee")).await;
    let (status, body) = x_exchange(&base, &code, "not-the-verifier").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = x_exchange(&base, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["scope"], X_SCOPES);
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());

    let (status, body) = x_exchange(&base, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn x_client_authentication() {
    let (_sb, base) = sandbox(Platform::X).await;
    let code = x_code(&base, X_SCOPES, &Consent::default()).await;
    let form = [
        ("code", code.as_str()),
        ("grant_type", "authorization_code"),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let (status, body) = x_token(&base, &form, "wrong-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized_client");

    let mut mismatched = form.to_vec();
    mismatched.push(("client_id", "someone-else"));
    let (status, body) = x_token(&base, &mismatched, "x-app-secret").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    // Basic without client_id in the body (arctic's way) works.
    let (status, body) = x_token(&base, &form, "x-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn x_accepts_lowercase_s256_and_plain_challenges() {
    let (_sb, base) = sandbox(Platform::X).await;
    let challenge = s256(VERIFIER);
    for (challenge, method) in [(challenge.as_str(), "s256"), (VERIFIER, "plain")] {
        let code = approve(
            &x_authorize(&base, X_SCOPES, Some((challenge, method))),
            &Consent::default(),
        )
        .await;
        assert_eq!(x_exchange(&base, &code, VERIFIER).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn x_refresh_tokens_rotate() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &Consent::default()).await;
    let first = tokens["refresh_token"].as_str().unwrap();
    let (status, rotated) = x_refresh(&base, first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    assert_ne!(rotated["access_token"], tokens["access_token"]);

    let (status, body) = x_refresh(&base, first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
    );
    assert_eq!(x_refresh(&base, second).await.0, StatusCode::OK);
    assert_eq!(sandbox_state(&base).await["tokens"]["rotated"], 2);
}

#[tokio::test]
async fn x_refresh_token_only_with_offline_access() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(
        &base,
        X_SCOPES,
        &granting("Ann Lee", &["tweet.read", "users.read"]),
    )
    .await;
    assert_eq!(tokens["scope"], "tweet.read users.read");
    assert!(tokens.get("refresh_token").is_none());
}

#[tokio::test]
async fn x_identity_posts_and_rate_limit_headers() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &as_user("Ann Lee")).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = http()
        .get(format!(
            "{base}/2/users/me?user.fields=profile_image_url,username,name,verified"
        ))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-rate-limit-limit"], "75");
    assert_eq!(response.headers()["x-rate-limit-remaining"], "74");
    assert!(response.headers().contains_key("x-rate-limit-reset"));
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["data"]["id"], by_name(&base, "Ann Lee").await["id"]);
    assert_eq!(me["data"]["username"], "annlee");
    assert_eq!(me["data"]["verified"], false);
    assert!(me["data"]["profile_image_url"]
        .as_str()
        .unwrap()
        .starts_with(&base));

    let tweet = |text: &str| {
        send(
            http()
                .post(format!("{base}/2/tweets"))
                .bearer_auth(access)
                .json(&json!({ "text": text })),
        )
    };
    let (status, created) = tweet("Hello X").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["data"]["text"], "Hello X");
    let id = created["data"]["id"].as_str().unwrap();
    let (status, found) = send(
        http()
            .get(format!("{base}/2/tweets/{id}"))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["data"]["id"], id);
    let (status, body) = tweet("Hello X").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_problem(&body, 403, "Forbidden");
    // An unknown post answers 200 with errors, as X does.
    let (status, missing) =
        send(http().get(format!("{base}/2/tweets/1")).bearer_auth(access)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(missing.get("data").is_none());
    assert_eq!(missing["errors"][0]["title"], "Not Found Error");

    let (status, body) = send(http().get(format!("{base}/2/users/me")).bearer_auth("nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
    );
}

#[tokio::test]
async fn x_revoking_either_token_ends_the_grant() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &Consent::default()).await;
    let access = tokens["access_token"].as_str().unwrap();
    let (status, body) = send(
        http()
            .post(format!("{base}/2/oauth2/revoke"))
            .basic_auth("x-app", Some("x-app-secret"))
            .form(&[
                ("token", tokens["refresh_token"].as_str().unwrap()),
                ("token_type_hint", "refresh_token"),
            ]),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"revoked": true})));
    let (status, _) = send(http().get(format!("{base}/2/users/me")).bearer_auth(access)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(x_refresh(&base, refresh).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(sandbox_state(&base).await["revocations"], 1);
}

#[tokio::test]
async fn x_deny_and_control_actions() {
    let (_sb, base) = sandbox(Platform::X).await;
    let challenge = s256(VERIFIER);
    let query = deny_at(&x_authorize(&base, X_SCOPES, Some((&challenge, "S256")))).await;
    assert_eq!(query["error"], "access_denied");
    assert!(query.contains_key("error_description"));
    assert_eq!(query["state"], STATE);

    let tokens = x_login(&base, X_SCOPES, &as_user("Ann Lee")).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user = user_id(&base, "Ann Lee").await;
    let me = || send(http().get(format!("{base}/2/users/me")).bearer_auth(access));

    remove_scope(&base, &user, "users.read").await;
    let (status, body) = me().await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_problem(&body, 403, "Forbidden");

    // Expired access tokens answer 401, the refresh token still works.
    control(&base, &format!("/users/{user}/expire"), json!({})).await;
    assert_eq!(me().await.0, StatusCode::UNAUTHORIZED);
    let (status, refreshed) = x_refresh(&base, tokens["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(refreshed["scope"], "tweet.read tweet.write offline.access");

    control(&base, &format!("/users/{user}/revoke"), json!({})).await;
    let refresh = refreshed["refresh_token"].as_str().unwrap();
    assert_eq!(x_refresh(&base, refresh).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn x_timeline_lists_a_users_posts_from_a_start_time() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &as_user("Tim Line")).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user_id = user_id(&base, "Tim Line").await;
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    for text in ["first", "second"] {
        let (status, _) = send(
            http()
                .post(format!("{base}/2/tweets"))
                .bearer_auth(access)
                .json(&json!({ "text": text })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let timeline = |from: chrono::DateTime<chrono::Utc>| {
        send(
            http()
                .get(url(
                    &base,
                    &format!("/2/users/{user_id}/tweets"),
                    &[("start_time", &from.to_rfc3339()), ("max_results", "100")],
                ))
                .bearer_auth(access),
        )
    };
    let (status, body) = timeline(before).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let texts: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["second", "first"], "newest first");
    assert_eq!(body["meta"]["result_count"], 2);
    let (_, later) = timeline(chrono::Utc::now() + chrono::Duration::minutes(1)).await;
    assert!(later.get("data").is_none(), "{later}");
    assert_eq!(later["meta"]["result_count"], 0);
    let (status, _) = send(
        http()
            .get(url(
                &base,
                &format!("/2/users/{user_id}/tweets"),
                &[("max_results", "500")],
            ))
            .bearer_auth(access),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
