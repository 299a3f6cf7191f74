//! Meta (Facebook and Instagram): consent, token exchanges, identity and Pages, revocation and the
//! control actions.

use super::*;

pub(crate) const FB_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
];
pub(crate) const IG_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
];

pub(crate) fn meta_authorize(base: &str, platform: Platform, scopes: &[&str]) -> String {
    url(
        base,
        "/v21.0/dialog/oauth",
        &[
            ("client_id", client_id(platform)),
            ("redirect_uri", CALLBACK),
            ("state", STATE),
            ("response_type", "code"),
            ("scope", &scopes.join(",")),
        ],
    )
}

async fn meta_exchange(base: &str, platform: Platform, code: &str) -> (StatusCode, Value) {
    let secret = secret(platform);
    let token_url = url(
        base,
        "/v21.0/oauth/access_token",
        &[
            ("client_id", client_id(platform)),
            ("redirect_uri", CALLBACK),
            ("client_secret", &secret),
            ("code", code),
        ],
    );
    send(http().get(token_url)).await
}

/// Signs `user` in and returns a short-lived user token.
pub(crate) async fn meta_login(
    base: &str,
    platform: Platform,
    choice: &Consent,
    scopes: &[&str],
) -> String {
    let code = approve(&meta_authorize(base, platform, scopes), choice).await;
    let (status, body) = meta_exchange(base, platform, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}

async fn meta_long_lived(base: &str, platform: Platform, token: &str) -> (StatusCode, Value) {
    let secret = secret(platform);
    let exchange = url(
        base,
        "/v21.0/oauth/access_token",
        &[
            ("grant_type", "fb_exchange_token"),
            ("client_id", client_id(platform)),
            ("client_secret", &secret),
            ("fb_exchange_token", token),
        ],
    );
    send(http().get(exchange)).await
}

/// A Graph GET with the token in the query string.
pub(crate) async fn graph(base: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let separator = if path.contains('?') { '&' } else { '?' };
    send(http().get(format!("{base}/v21.0{path}{separator}access_token={token}"))).await
}

pub(crate) fn assert_graph_error(body: &Value, code: u64, subcode: Option<u64>) {
    let error = &body["error"];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["error_subcode"].as_u64(), subcode, "{body}");
    assert!(error["type"].is_string() && error["message"].is_string());
    assert!(error["fbtrace_id"].is_string());
}

#[tokio::test]
async fn meta_consent_page_is_an_accessible_page_that_says_it_is_a_sandbox() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let response = http()
        .get(meta_authorize(&base, Platform::Facebook, FB_SCOPES))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("<html lang=\"en\">"));
    assert!(page.contains("<title>Facebook sandbox — authorize fb-app</title>"));
    assert!(page.contains("not the real Facebook"));
    assert!(page.contains("<label for=\"user\">"));
    for (i, scope) in FB_SCOPES.iter().enumerate() {
        assert!(page.contains(&format!("<label for=\"scope-{i}\">{scope}</label>")));
    }
    assert!(page.contains("name=\"decision\" value=\"approve\""));
    assert!(page.contains("name=\"decision\" value=\"deny\""));
    assert!(!page.contains("<script") && !page.contains("<link"));
}

#[tokio::test]
async fn meta_refuses_unknown_clients_and_unregistered_redirects_without_redirecting() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let unknown = meta_authorize(&base, Platform::Facebook, FB_SCOPES).replace("fb-app", "<nope>");
    match consent(&unknown, &Consent::default()).await {
        Err(ConsentError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains("<nope>"), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let elsewhere = url(
        &base,
        "/v21.0/dialog/oauth",
        &[
            ("client_id", "fb-app"),
            ("redirect_uri", "https://evil.example/callback"),
            ("state", STATE),
            ("scope", "pages_show_list"),
        ],
    );
    let response = http().get(&elsewhere).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    match consent(&elsewhere, &Consent::default()).await {
        Err(ConsentError::Rejected { message, .. }) => {
            assert!(message.contains("not registered"), "{message}")
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn meta_code_exchange_gives_a_short_lived_token_and_codes_are_single_use() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let code = approve(
        &meta_authorize(&base, Platform::Facebook, FB_SCOPES),
        &as_user("Ann Lee"),
    )
    .await;
    let (status, body) = meta_exchange(&base, Platform::Facebook, &code).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 7200);
    assert!(body["access_token"].as_str().unwrap().starts_with("EAA"));

    let (status, again) = meta_exchange(&base, Platform::Facebook, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&again, 190, None);
    assert_eq!(again["error"]["type"], "OAuthException");
}

#[tokio::test]
async fn meta_refuses_a_wrong_secret_or_redirect_without_spending_the_code() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let code = approve(
        &meta_authorize(&base, Platform::Facebook, FB_SCOPES),
        &Consent::default(),
    )
    .await;
    let with = |secret: &str, redirect: &str| {
        url(
            &base,
            "/v21.0/oauth/access_token",
            &[
                ("client_id", "fb-app"),
                ("redirect_uri", redirect),
                ("client_secret", secret),
                ("code", &code),
            ],
        )
    };
    let (status, body) = send(http().get(with("wrong", CALLBACK))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 100, None);
    let (status, body) = send(http().get(with("fb-app-secret", "https://app.example/other"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 100, Some(36008));
    // The same fields as a POST form are accepted too.
    let (status, body) = send(
        http()
            .post(format!("{base}/v21.0/oauth/access_token"))
            .form(&[
                ("client_id", "fb-app"),
                ("redirect_uri", CALLBACK),
                ("client_secret", "fb-app-secret"),
                ("code", code.as_str()),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn meta_deny_redirects_back_with_access_denied() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let query = deny_at(&meta_authorize(&base, Platform::Facebook, FB_SCOPES)).await;
    assert_eq!(query["from"], "sandbox");
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["error_reason"], "user_denied");
    assert_eq!(query["error_description"], "Permissions error");
    assert_eq!(query["state"], STATE);
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn meta_long_lived_exchange_and_expiry() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let short = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (status, long) = meta_long_lived(&base, Platform::Facebook, &short).await;
    assert_eq!(status, StatusCode::OK, "{long}");
    assert_eq!(long["expires_in"], 5_184_000);
    assert_eq!(long["token_type"], "bearer");
    let long = long["access_token"].as_str().unwrap().to_string();
    assert_ne!(long, short);
    assert_eq!(graph(&base, "/me", &long).await.0, StatusCode::OK);

    // Unknown tokens cannot be exchanged; expired ones neither.
    let (status, body) = meta_long_lived(&base, Platform::Facebook, "EAAnope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 190, Some(467));
    let user = user_id(&base, "Ann Lee").await;
    let (status, _) = control(&base, &format!("/users/{user}/expire"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = meta_long_lived(&base, Platform::Facebook, &short).await;
    assert_graph_error(&body, 190, Some(463));
    let (status, body) = graph(&base, "/me", &long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 190, Some(463));
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Error validating access token: Session has expired on"));
}

#[tokio::test]
async fn meta_identity_permissions_and_paged_pages() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let seed = by_name(&base, "Ann Lee").await;
    assert_eq!(seed["signed_in"], false);
    let token = meta_login(
        &base,
        Platform::Facebook,
        &granting(
            "Ann Lee",
            &[
                "pages_show_list",
                "pages_manage_posts",
                "business_management",
            ],
        ),
        FB_SCOPES,
    )
    .await;
    assert_eq!(by_name(&base, "Ann Lee").await["signed_in"], true);

    let (status, me) = graph(&base, "/me?fields=id,name,picture", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["id"], seed["id"]);
    assert_eq!(me["name"], "Ann Lee");
    let picture = me["picture"]["data"]["url"].as_str().unwrap();
    assert!(picture.starts_with(&base));
    let avatar = http().get(picture).send().await.unwrap();
    assert_eq!(avatar.headers()["content-type"], "image/png");
    assert!(avatar.bytes().await.unwrap().starts_with(b"\x89PNG"));
    // Only the fields asked for (and the id).
    let (_, only_name) = graph(&base, "/me?fields=name", &token).await;
    assert_eq!(only_name, json!({"id": seed["id"], "name": "Ann Lee"}));

    let (_, permissions) = graph(&base, "/me/permissions", &token).await;
    let status_of = |scope: &str| {
        permissions["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["permission"] == scope)
            .map(|p| p["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status_of("pages_show_list").as_deref(), Some("granted"));
    assert_eq!(
        status_of("pages_read_engagement").as_deref(),
        Some("declined")
    );

    // Three Pages, two per page by default: the client must follow paging.next.
    let (status, first) = graph(
        &base,
        "/me/accounts?fields=id,name,username,access_token,picture,instagram_business_account&limit=100",
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let pages = first["data"].as_array().unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0]["name"], "Ann Lee");
    assert_eq!(pages[0]["username"], "annlee");
    assert!(pages[0]["instagram_business_account"]["id"].is_string());
    assert_eq!(pages[1]["name"], "Ann Lee Studio");
    assert!(pages[1].get("instagram_business_account").is_none());
    let next = first["paging"]["next"].as_str().unwrap();
    assert!(next.starts_with(&format!("{base}/v21.0/me/accounts?")));
    let (status, second) = send(http().get(next)).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let rest = second["data"].as_array().unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["name"], "Ann Lee Shop");
    assert!(second["paging"].get("next").is_none());
    assert_eq!(
        sandbox_state(&base).await["requests"]["/v21.0/me/accounts"],
        2
    );

    // A Page token reads its Page (the health check) and no other.
    let page_token = pages[0]["access_token"].as_str().unwrap();
    let page_id = pages[0]["id"].as_str().unwrap();
    let (status, page) = graph(
        &base,
        &format!("/{page_id}?fields=id,name,username"),
        page_token,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page,
        json!({"id": page_id, "name": "Ann Lee", "username": "annlee"})
    );
    let studio = pages[1]["id"].as_str().unwrap();
    let (status, body) = graph(&base, &format!("/{studio}"), page_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 100, Some(33));
    // Listing again hands out the same Page token, and so does the Page itself (how a renewal reads it).
    let (_, again) = graph(&base, "/me/accounts?fields=access_token", &token).await;
    assert_eq!(again["data"][0]["access_token"], page_token);
    let (status, page) = graph(&base, &format!("/{page_id}?fields=access_token"), &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page, json!({"id": page_id, "access_token": page_token}));

    // The business portfolio's Pages.
    let (_, businesses) = graph(&base, "/me/businesses", &token).await;
    assert_eq!(businesses["data"][0]["name"], "Ann Lee Holdings");
    let business = businesses["data"][0]["id"].as_str().unwrap();
    let (status, owned) = graph(
        &base,
        &format!("/{business}/owned_pages?fields=id,name,access_token"),
        &token,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{owned}");
    assert_eq!(owned["data"][0]["name"], "Ann Lee Shop");
    assert!(owned["data"][0]["access_token"].is_string());
    let (_, clients) = graph(&base, &format!("/{business}/client_pages"), &token).await;
    assert_eq!(clients["data"], json!([]));
}

#[tokio::test]
async fn meta_page_size_option_and_bearer_tokens() {
    let options = SandboxOptions {
        page_size: 1,
        ..SandboxOptions::default()
    };
    let sb = start(&[Platform::Facebook], options).await;
    let base = sb.base_url(Platform::Facebook).unwrap();
    let token = meta_login(&base, Platform::Facebook, &Consent::default(), FB_SCOPES).await;
    // The token in the Authorization header this time; the next links then carry no token.
    let mut next = Some(format!("{base}/v21.0/me/accounts?fields=id,name"));
    let mut names = Vec::new();
    while let Some(link) = next {
        let (status, page) = send(http().get(link).bearer_auth(&token)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["data"].as_array().unwrap().len(), 1);
        names.push(page["data"][0]["name"].as_str().unwrap().to_string());
        next = page["paging"]["next"].as_str().map(str::to_string);
    }
    assert_eq!(
        names,
        ["Sandbox User", "Sandbox User Studio", "Sandbox User Shop"]
    );
}

#[tokio::test]
async fn meta_revocation_through_the_graph_api() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (_, accounts) = graph(&base, "/me/accounts?fields=access_token", &token).await;
    let page_token = accounts["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_string();

    // Removing one permission: the endpoints needing it refuse, and it shows as declined.
    let (status, body) = send(http().delete(format!(
        "{base}/v21.0/me/permissions/pages_show_list?access_token={token}"
    )))
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (status, body) = graph(&base, "/me/accounts", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_graph_error(&body, 200, None);
    let (_, permissions) = graph(&base, "/me/permissions", &token).await;
    assert!(permissions["data"]
        .as_array()
        .unwrap()
        .contains(&json!({"permission": "pages_show_list", "status": "declined"})));

    // Removing the app ends the user's and the Pages' tokens.
    let user = user_id(&base, "Ann Lee").await;
    let (status, body) = send(
        http()
            .delete(format!("{base}/v21.0/{user}/permissions"))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    assert_graph_error(&graph(&base, "/me", &token).await.1, 190, Some(458));
    assert_graph_error(&graph(&base, "/me", &page_token).await.1, 190, Some(458));
    let state = sandbox_state(&base).await;
    assert_eq!(state["revocations"], 1);
    assert_eq!(state["tokens"]["active"], 0);
}

#[tokio::test]
async fn meta_accepts_any_graph_version_and_reports_bad_tokens() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(&base, Platform::Facebook, &Consent::default(), FB_SCOPES).await;
    let (status, _) = send(http().get(format!("{base}/v99.0/me?access_token={token}"))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(http().get(format!("{base}/latest/me?access_token={token}"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 2500, None);
    let (status, body) = send(http().get(format!("{base}/v21.0/me"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 190, None);
    assert_graph_error(&graph(&base, "/me", "EAAunknown").await.1, 190, None);
}

#[tokio::test]
async fn meta_control_revoke_expire_and_scope_removal() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let short = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let long = meta_long_lived(&base, Platform::Facebook, &short).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, accounts) = graph(&base, "/me/accounts?fields=access_token", &long).await;
    let page_token = accounts["data"][0]["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let user = user_id(&base, "Ann Lee").await;

    let (status, _) = control(
        &base,
        &format!("/users/{user}/scopes/remove"),
        json!({"scope": "pages_manage_posts"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page_id = accounts["data"][0]["id"].as_str().unwrap();
    let (status, _) = send(
        http()
            .post(format!("{base}/v21.0/{page_id}/feed"))
            .bearer_auth(&page_token)
            .form(&[("message", "hi")]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Page tokens from a long-lived token never expire on their own, but do when the user's sessions do.
    assert_eq!(graph(&base, "/me", &page_token).await.0, StatusCode::OK);
    control(&base, &format!("/users/{user}/expire"), json!({})).await;
    assert_graph_error(&graph(&base, "/me", &page_token).await.1, 190, Some(463));
    // The short- and long-lived user tokens, and the two Page tokens listed on the first page.
    assert_eq!(sandbox_state(&base).await["tokens"]["expired"], 4);

    // A password change invalidates every session with its own subcode.
    let fresh = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (status, _) = control(
        &base,
        &format!("/users/{user}/revoke"),
        json!({"reason": "password_changed"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_graph_error(&graph(&base, "/me", &fresh).await.1, 190, Some(460));
    let state = sandbox_state(&base).await;
    assert_eq!(state["users"], json!([{"id": user, "name": "Ann Lee"}]));
    assert_eq!(state["revocations"], 1);

    let (status, body) = control(&base, "/users/404/expire", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"].is_string());
    let (status, _) = control(&base, "/faults", json!({"mode": "explode"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = control(&base, "/faults", json!({"mode": "hang", "count": 0})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
