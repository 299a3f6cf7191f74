//! The sandboxes over HTTP, as a client adapter would use them: consent, token exchanges, identity,
//! publishing, and the control API that expires, revokes, withdraws scopes and injects faults.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use iquivity_sandbox::{
    consent, Consent, ConsentError, Platform, Sandbox, SandboxApp, SandboxOptions,
};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use url::Url;

/// A registered redirect URI with a query of its own, which the sandbox must keep.
const CALLBACK: &str = "https://app.example/callback?from=sandbox";
const STATE: &str = "state-123";
const VERIFIER: &str = "a-verifier-long-enough-for-rfc-7636-0123456789abcdef";

fn client_id(platform: Platform) -> &'static str {
    match platform {
        Platform::Facebook => "fb-app",
        Platform::Instagram => "ig-app",
        Platform::X => "x-app",
        Platform::Linkedin => "li-app",
        Platform::Tiktok => "tt-app",
    }
}

fn secret(platform: Platform) -> String {
    format!("{}-secret", client_id(platform))
}

fn apps(platforms: &[Platform]) -> Vec<(Platform, SandboxApp)> {
    platforms
        .iter()
        .map(|p| {
            let app = SandboxApp {
                client_id: client_id(*p).to_string(),
                client_secret: secret(*p),
                redirect_uris: vec![CALLBACK.to_string()],
            };
            (*p, app)
        })
        .collect()
}

async fn start(platforms: &[Platform], options: SandboxOptions) -> Sandbox {
    Sandbox::start(apps(platforms), options).await.unwrap()
}

async fn sandbox(platform: Platform) -> (Sandbox, String) {
    let sb = start(&[platform], SandboxOptions::default()).await;
    let base = sb.base_url(platform).unwrap();
    (sb, base)
}

fn url(base: &str, path: &str, params: &[(&str, &str)]) -> String {
    Url::parse_with_params(&format!("{base}{path}"), params)
        .unwrap()
        .to_string()
}

fn query_of(url: &str) -> HashMap<String, String> {
    Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// One client for the whole binary (building one costs tens of milliseconds). Without idle connections,
/// so that it can be shared by the tests' separate runtimes.
fn http() -> Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| Client::builder().pool_max_idle_per_host(0).build().unwrap())
        .clone()
}

async fn send(request: RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn as_user(name: &str) -> Consent {
    Consent {
        user: Some(name.to_string()),
        ..Consent::default()
    }
}

fn granting(name: &str, scopes: &[&str]) -> Consent {
    Consent {
        user: Some(name.to_string()),
        scopes: Some(scopes.iter().map(|s| s.to_string()).collect()),
        ..Consent::default()
    }
}

/// Approves and returns the code, checking the callback keeps its query and carries the state back.
async fn approve(authorize_url: &str, choice: &Consent) -> String {
    let redirect = consent(authorize_url, choice).await.unwrap();
    assert!(redirect.starts_with("https://app.example/callback?from=sandbox&"));
    let query = query_of(&redirect);
    assert_eq!(query["state"], STATE);
    query["code"].clone()
}

/// The authorize request is refused with an error page (400, no redirect) whose message mentions `needle`.
async fn assert_rejected(authorize_url: &str, needle: &str) {
    let response = http().get(authorize_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    match consent(authorize_url, &Consent::default()).await {
        Err(ConsentError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert!(message.contains(needle), "{message}");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

async fn control(base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    send(http().post(format!("{base}/_sandbox{path}")).json(&body)).await
}

async fn sandbox_state(base: &str) -> Value {
    send(http().get(format!("{base}/_sandbox/state"))).await.1
}

async fn by_name(base: &str, name: &str) -> Value {
    let (status, body) = send(http().get(format!("{base}/_sandbox/users/by-name/{name}"))).await;
    assert_eq!(status, StatusCode::OK);
    body
}

// -------------------------------------------------------------------------------------------------------
// Meta (Facebook and Instagram)

const FB_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
];
const IG_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
];

fn meta_authorize(base: &str, platform: Platform, scopes: &[&str]) -> String {
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
async fn meta_login(base: &str, platform: Platform, choice: &Consent, scopes: &[&str]) -> String {
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
async fn graph(base: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let separator = if path.contains('?') { '&' } else { '?' };
    send(http().get(format!("{base}/v21.0{path}{separator}access_token={token}"))).await
}

fn assert_graph_error(body: &Value, code: u64, subcode: Option<u64>) {
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
    let deny = Consent {
        deny: true,
        ..Consent::default()
    };
    let redirect = consent(&meta_authorize(&base, Platform::Facebook, FB_SCOPES), &deny)
        .await
        .unwrap();
    let query = query_of(&redirect);
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
    let user = by_name(&base, "Ann Lee").await["id"]
        .as_str()
        .unwrap()
        .to_string();
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
async fn meta_publishes_to_pages_with_page_tokens_only() {
    let (_sb, base) = sandbox(Platform::Facebook).await;
    let token = meta_login(&base, Platform::Facebook, &as_user("Ann Lee"), FB_SCOPES).await;
    let (_, accounts) = graph(&base, "/me/accounts?fields=id,access_token", &token).await;
    let page_id = accounts["data"][0]["id"].as_str().unwrap();
    let page_token = accounts["data"][0]["access_token"].as_str().unwrap();

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
            .bearer_auth(page_token)
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
    let (_, accounts) = graph(&base, "/me/accounts?fields=id,access_token", &token).await;
    let page_id = accounts["data"][0]["id"].as_str().unwrap();
    let page_token = accounts["data"][0]["access_token"].as_str().unwrap();
    let videos = format!("{base}/v21.0/{page_id}/videos");

    let (status, body) = send(
        http()
            .post(&videos)
            .bearer_auth(page_token)
            .json(&json!({"description": "no file"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_graph_error(&body, 100, None);

    let (status, video) = send(http().post(&videos).bearer_auth(page_token).json(&json!({
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
    let (_, accounts) = graph(&base, "/me/accounts?fields=id,access_token", &token).await;
    let page_id = accounts["data"][0]["id"].as_str().unwrap();
    let page_token = accounts["data"][0]["access_token"].as_str().unwrap();
    let (status, body) = send(
        http()
            .post(format!("{base}/v21.0/{page_id}/feed"))
            .bearer_auth(page_token)
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
    let (_, accounts) = graph(
        &base,
        "/me/accounts?fields=id,name,instagram_business_account",
        &token,
    )
    .await;
    let ig = accounts["data"][0]["instagram_business_account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    let (_, accounts) = graph(
        &base,
        "/me/accounts?fields=id,instagram_business_account",
        &token,
    )
    .await;
    let ig = accounts["data"][0]["instagram_business_account"]["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    let user = by_name(&base, "Ann Lee").await["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    let user = by_name(&base, "Ann Lee").await["id"]
        .as_str()
        .unwrap()
        .to_string();

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

// -------------------------------------------------------------------------------------------------------
// X

const X_SCOPES: &str = "tweet.read tweet.write users.read offline.access";

fn s256(verifier: &str) -> String {
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

async fn x_login(base: &str, scopes: &str, choice: &Consent) -> Value {
    let code = x_code(base, scopes, choice).await;
    let (status, body) = x_exchange(base, &code, VERIFIER).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn x_refresh(base: &str, refresh: &str) -> (StatusCode, Value) {
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

fn assert_problem(body: &Value, status: u16, title: &str) {
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
    let deny = Consent {
        deny: true,
        ..Consent::default()
    };
    let challenge = s256(VERIFIER);
    let redirect = consent(
        &x_authorize(&base, X_SCOPES, Some((&challenge, "S256"))),
        &deny,
    )
    .await
    .unwrap();
    let query = query_of(&redirect);
    assert_eq!(query["error"], "access_denied");
    assert!(query.contains_key("error_description"));
    assert_eq!(query["state"], STATE);

    let tokens = x_login(&base, X_SCOPES, &as_user("Ann Lee")).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user = by_name(&base, "Ann Lee").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let me = || send(http().get(format!("{base}/2/users/me")).bearer_auth(access));

    control(
        &base,
        &format!("/users/{user}/scopes/remove"),
        json!({"scope": "users.read"}),
    )
    .await;
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

// -------------------------------------------------------------------------------------------------------
// LinkedIn

const LI_SCOPES: &str =
    "openid profile w_member_social w_organization_social rw_organization_admin";

fn li_authorize(base: &str, scopes: &str) -> String {
    url(
        base,
        "/oauth/v2/authorization",
        &[
            ("response_type", "code"),
            ("client_id", "li-app"),
            ("redirect_uri", CALLBACK),
            ("state", STATE),
            ("scope", scopes),
        ],
    )
}

async fn li_token(base: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    send(
        http()
            .post(format!("{base}/oauth/v2/accessToken"))
            .form(form),
    )
    .await
}

async fn li_exchange(base: &str, code: &str, secret: &str) -> (StatusCode, Value) {
    li_token(
        base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CALLBACK),
            ("client_id", "li-app"),
            ("client_secret", secret),
        ],
    )
    .await
}

async fn li_login(base: &str, choice: &Consent) -> Value {
    let code = approve(&li_authorize(base, LI_SCOPES), choice).await;
    let (status, body) = li_exchange(base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn rest(request: RequestBuilder, token: &str) -> RequestBuilder {
    request
        .bearer_auth(token)
        .header("LinkedIn-Version", "202601")
        .header("X-Restli-Protocol-Version", "2.0.0")
}

#[tokio::test]
async fn linkedin_code_exchange_with_credentials_in_the_body() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let elsewhere = li_authorize(&base, LI_SCOPES).replace("app.example", "other.example");
    assert_rejected(&elsewhere, "not registered").await;
    assert_rejected(
        &li_authorize(&base, LI_SCOPES).replace("li-app", "li-nope"),
        "li-nope",
    )
    .await;
    let code = approve(&li_authorize(&base, LI_SCOPES), &as_user("Ann Lee")).await;
    let (status, body) = li_exchange(&base, &code, "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    // Basic auth alone is not how LinkedIn takes credentials.
    let (status, body) = send(
        http()
            .post(format!("{base}/oauth/v2/accessToken"))
            .basic_auth("li-app", Some("li-app-secret"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", CALLBACK),
            ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");

    let (status, body) = li_exchange(&base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["expires_in"], 5_184_000);
    assert_eq!(body["refresh_token_expires_in"], 31_536_000);
    assert_eq!(
        body["scope"],
        "openid,profile,w_member_social,w_organization_social,rw_organization_admin"
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("AQV"));

    let (status, body) = li_exchange(&base, &code, "li-app-secret").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn linkedin_refresh_does_not_rotate() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let tokens = li_login(&base, &Consent::default()).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh),
        ("client_id", "li-app"),
        ("client_secret", "li-app-secret"),
    ];
    for _ in 0..2 {
        let (status, body) = li_token(&base, &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["refresh_token"], refresh);
        assert_ne!(body["access_token"], tokens["access_token"]);
        let remaining = body["refresh_token_expires_in"].as_i64().unwrap();
        assert!(remaining <= 31_536_000 && remaining > 31_535_000);
    }
}

#[tokio::test]
async fn linkedin_identity_and_organisations() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let tokens = li_login(&base, &as_user("Ann Lee")).await;
    let token = tokens["access_token"].as_str().unwrap();
    let seed = by_name(&base, "Ann Lee").await;

    let (status, me) = send(http().get(format!("{base}/v2/userinfo")).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["sub"], seed["id"]);
    assert_eq!(me["name"], "Ann Lee");
    assert_eq!(me["given_name"], "Ann");
    assert_eq!(me["family_name"], "Lee");

    let acls = format!("{base}/rest/organizationAcls?q=roleAssignee&state=APPROVED");
    let (status, body) = send(http().get(&acls).bearer_auth(token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["code"], "VERSION_MISSING");
    let (status, body) = send(rest(http().get(&acls), token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let roles: Vec<&str> = body["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["ADMINISTRATOR", "CONTENT_ADMINISTRATOR", "ANALYST"]);
    assert_eq!(body["paging"]["total"], 3);
    let person = format!("urn:li:person:{}", seed["id"].as_str().unwrap());
    assert_eq!(body["elements"][0]["roleAssignee"], person.as_str());
    let (_, admins) = send(rest(
        http().get(format!("{acls}&role=ADMINISTRATOR")),
        token,
    ))
    .await;
    assert_eq!(admins["elements"].as_array().unwrap().len(), 1);

    let org = seed["organizations"][0]["id"].as_u64().unwrap();
    assert_eq!(
        body["elements"][0]["organization"],
        format!("urn:li:organization:{org}")
    );
    let (status, found) = send(rest(
        http().get(format!("{base}/rest/organizations/{org}")),
        token,
    ))
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["id"], org);
    assert_eq!(found["localizedName"], "Ann Lee Company");
    assert_eq!(found["vanityName"], "ann-lee-company");
}

#[tokio::test]
async fn linkedin_posts_as_member_or_administered_organisation() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let tokens = li_login(&base, &as_user("Ann Lee")).await;
    let token = tokens["access_token"].as_str().unwrap();
    let seed = by_name(&base, "Ann Lee").await;
    let post = |author: String| {
        rest(http().post(format!("{base}/rest/posts")), token).json(&json!({
            "author": author,
            "commentary": "Hello LinkedIn",
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        }))
    };
    let response = post(seed["person_urn"].as_str().unwrap().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let urn = response.headers()["x-restli-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(urn.starts_with("urn:li:share:"));
    assert!(response.bytes().await.unwrap().is_empty());

    let orgs = seed["organizations"].as_array().unwrap();
    let as_org = |i: usize| post(orgs[i]["urn"].as_str().unwrap().to_string()).send();
    assert_eq!(as_org(0).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(as_org(1).await.unwrap().status(), StatusCode::CREATED);
    let analyst = as_org(2).await.unwrap();
    assert_eq!(analyst.status(), StatusCode::FORBIDDEN);
    let body: Value = analyst.json().await.unwrap();
    assert_eq!(body["code"], "ACCESS_DENIED");
    assert_eq!(body["serviceErrorCode"], 100);
    let (status, _) = send(post("urn:li:person:someoneelse".into())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let posts = &sandbox_state(&base).await["posts"];
    assert_eq!(posts.as_array().unwrap().len(), 3);
    assert_eq!(posts[0]["id"], urn.as_str());
    assert_eq!(posts[0]["text"], "Hello LinkedIn");
}

#[tokio::test]
async fn linkedin_token_errors_and_revocation() {
    let (_sb, base) = sandbox(Platform::Linkedin).await;
    let deny = Consent {
        deny: true,
        ..Consent::default()
    };
    let denied = query_of(
        &consent(&li_authorize(&base, LI_SCOPES), &deny)
            .await
            .unwrap(),
    );
    assert_eq!(denied["error"], "access_denied");

    let tokens = li_login(&base, &as_user("Ann Lee")).await;
    let token = tokens["access_token"].as_str().unwrap();
    let user = by_name(&base, "Ann Lee").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let userinfo = || send(http().get(format!("{base}/v2/userinfo")).bearer_auth(token));

    control(
        &base,
        &format!("/users/{user}/scopes/remove"),
        json!({"scope": "profile"}),
    )
    .await;
    let (status, body) = userinfo().await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "ACCESS_DENIED");

    control(&base, &format!("/users/{user}/expire"), json!({})).await;
    let (status, body) = userinfo().await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"status": 401, "serviceErrorCode": 65600, "code": "EXPIRED_ACCESS_TOKEN", "message": "The token used in the request has expired"})
    );
    let refresh = [
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ("client_id", "li-app"),
        ("client_secret", "li-app-secret"),
    ];
    let (status, refreshed) = li_token(&base, &refresh).await;
    assert_eq!(status, StatusCode::OK);
    let fresh = refreshed["access_token"].as_str().unwrap();

    let response = http()
        .post(format!("{base}/oauth/v2/revoke"))
        .form(&[
            ("client_id", "li-app"),
            ("client_secret", "li-app-secret"),
            ("token", fresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, body) = send(http().get(format!("{base}/v2/userinfo")).bearer_auth(fresh)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["serviceErrorCode"], 65601);
    assert_eq!(body["code"], "REVOKED_ACCESS_TOKEN");
    assert_eq!(li_token(&base, &refresh).await.0, StatusCode::BAD_REQUEST);

    let (_, body) = send(
        http()
            .get(format!("{base}/v2/userinfo"))
            .bearer_auth("AQVnope"),
    )
    .await;
    assert_eq!(body["serviceErrorCode"], 65604);

    // The member removing the app on LinkedIn ends a fresh connection too.
    let again = li_login(&base, &as_user("Ann Lee")).await;
    let (status, _) = control(&base, &format!("/users/{user}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        http()
            .get(format!("{base}/v2/userinfo"))
            .bearer_auth(again["access_token"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "REVOKED_ACCESS_TOKEN");
    assert_eq!(sandbox_state(&base).await["revocations"], 2);
}

// -------------------------------------------------------------------------------------------------------
// TikTok

const TT_SCOPES: &str = "user.info.basic,user.info.profile,video.publish,video.upload";

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

async fn tt_login(base: &str, choice: &Consent, scopes: &str) -> Value {
    let code = approve(&tt_authorize(base, scopes, None), choice).await;
    let (status, body) = tt_exchange(base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn tt_refresh(base: &str, refresh: &str) -> (StatusCode, Value) {
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
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let tokens = tt_login(&base, &as_user("Ann Lee"), TT_SCOPES).await;
    let token = tokens["access_token"].as_str().unwrap();
    let post = |path: &str, body: Value| {
        send(
            http()
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&body),
        )
    };

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
    let (_sb, base) = sandbox(Platform::Tiktok).await;
    let tokens = tt_login(&base, &as_user("Ann Lee"), TT_SCOPES).await;
    let token = tokens["access_token"].as_str().unwrap();
    let post = |path: &str, body: Value| {
        send(
            http()
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .json(&body),
        )
    };
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
    let deny = Consent {
        deny: true,
        ..Consent::default()
    };
    let denied = query_of(
        &consent(&tt_authorize(&base, TT_SCOPES, None), &deny)
            .await
            .unwrap(),
    );
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
    control(
        &base,
        &format!("/users/{user}/scopes/remove"),
        json!({"scope": "video.publish"}),
    )
    .await;
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

// -------------------------------------------------------------------------------------------------------
// Faults and options, on every platform

async fn arm(base: &str, fault: Value) {
    let (status, body) = control(base, "/faults", fault).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// An API call that succeeds on each platform once signed in.
async fn signed_in_call(base: &str, platform: Platform) -> RequestBuilder {
    match platform {
        Platform::Facebook | Platform::Instagram => {
            let scopes = if platform == Platform::Facebook {
                FB_SCOPES
            } else {
                IG_SCOPES
            };
            let token = meta_login(base, platform, &Consent::default(), scopes).await;
            http().get(format!("{base}/v21.0/me?access_token={token}"))
        }
        Platform::X => {
            let tokens = x_login(base, X_SCOPES, &Consent::default()).await;
            http()
                .get(format!("{base}/2/users/me"))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
        }
        Platform::Linkedin => {
            let tokens = li_login(base, &Consent::default()).await;
            http()
                .get(format!("{base}/v2/userinfo"))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
        }
        Platform::Tiktok => {
            let tokens = tt_login(base, &Consent::default(), TT_SCOPES).await;
            http()
                .get(format!("{base}/v2/user/info/?fields=open_id"))
                .bearer_auth(tokens["access_token"].as_str().unwrap())
        }
    }
}

#[tokio::test]
async fn rate_limit_and_server_error_faults_use_each_platforms_envelope() {
    let sb = start(&Platform::ALL, SandboxOptions::default()).await;
    for platform in Platform::ALL {
        let base = sb.base_url(platform).unwrap();
        let call = signed_in_call(&base, platform).await;
        arm(&base, json!({"mode": "rate_limit", "count": 1})).await;
        arm(&base, json!({"mode": "server_error", "count": 1})).await;

        let limited = call.try_clone().unwrap().send().await.unwrap();
        let headers = limited.headers().clone();
        let status = limited.status();
        let body: Value = limited.json().await.unwrap();
        match platform {
            Platform::Facebook | Platform::Instagram => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert_eq!(body["error"]["code"], 4);
                assert!(headers["x-app-usage"].to_str().unwrap().contains("100"));
            }
            Platform::X => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert_problem(&body, 429, "Too Many Requests");
                assert_eq!(headers["x-rate-limit-remaining"], "0");
                let reset: i64 = headers["x-rate-limit-reset"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(reset > chrono::Utc::now().timestamp() + 30);
            }
            Platform::Linkedin => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(body["serviceErrorCode"], 101);
                assert_eq!(body["code"], "TOO_MANY_REQUESTS");
            }
            Platform::Tiktok => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(body["error"]["code"], "rate_limit_exceeded");
            }
        }

        let (status, body) = send(call.try_clone().unwrap()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{platform}");
        match platform {
            Platform::Facebook | Platform::Instagram => assert!(body["error"]["code"].is_u64()),
            Platform::X => assert_problem(&body, 500, "Internal Server Error"),
            Platform::Linkedin => assert_eq!(body["status"], 500),
            Platform::Tiktok => assert_eq!(body["error"]["code"], "internal_error"),
        }
        // Both faults are spent.
        assert_eq!(send(call).await.0, StatusCode::OK, "{platform}");
    }
}

#[tokio::test]
async fn hang_and_malformed_json_faults_with_prefix_and_clearing() {
    let sb = start(
        &[Platform::X, Platform::Linkedin],
        SandboxOptions::default(),
    )
    .await;
    let base = sb.base_url(Platform::X).unwrap();
    let call = signed_in_call(&base, Platform::X).await;

    arm(
        &base,
        json!({"mode": "hang", "count": 1, "path_prefix": "/2/users"}),
    )
    .await;
    let quick = Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let request = call.try_clone().unwrap().build().unwrap();
    let started = Instant::now();
    let error = quick.execute(request).await.unwrap_err();
    assert!(error.is_timeout(), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // A hung request does not block the others, and the fault was for one request only.
    assert_eq!(send(call.try_clone().unwrap()).await.0, StatusCode::OK);

    arm(
        &base,
        json!({"mode": "malformed_json", "count": 2, "path_prefix": "/2/"}),
    )
    .await;
    // Outside the prefix: untouched.
    assert_eq!(
        http()
            .get(format!("{base}/avatars/1.png"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let response = call.try_clone().unwrap().send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.unwrap(), "{\"truncated\":");
    let (status, _) = send(http().delete(format!("{base}/_sandbox/faults"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(send(call).await.0, StatusCode::OK);

    // Faults are per server: LinkedIn was never touched.
    let linkedin = sb.base_url(Platform::Linkedin).unwrap();
    assert_eq!(sandbox_state(&linkedin).await["requests"], json!({}));
    assert!(
        sandbox_state(&base).await["requests"]["/2/users/me"]
            .as_u64()
            .unwrap()
            >= 4
    );
}

#[tokio::test]
async fn latency_is_added_before_api_answers_but_not_control_calls() {
    let options = SandboxOptions {
        latency: Duration::from_millis(150),
        ..SandboxOptions::default()
    };
    let sb = start(&[Platform::Tiktok], options).await;
    let base = sb.base_url(Platform::Tiktok).unwrap();
    let started = Instant::now();
    let response = http()
        .get(format!("{base}/avatars/x.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    let started = Instant::now();
    sandbox_state(&base).await;
    assert!(started.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn servers_stop_when_the_sandbox_is_dropped() {
    let sb = start(
        &[Platform::Linkedin, Platform::Tiktok],
        SandboxOptions::default(),
    )
    .await;
    assert_eq!(sb.platforms(), [Platform::Linkedin, Platform::Tiktok]);
    assert_eq!(sb.base_url(Platform::X), None);
    let base = sb.base_url(Platform::Linkedin).unwrap();
    assert!(base.starts_with("http://127.0.0.1:") && !base.ends_with('/'));
    drop(sb);
    // The listening socket closes with the accept loop; give the runtime a moment to run the abort.
    let mut refused = false;
    for _ in 0..20 {
        if http()
            .get(format!("{base}/_sandbox/state"))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
}

// -------------------------------------------------------------------------------------------------------
// State directory

/// A directory under the system's temporary one that does not exist yet (the sandbox must create it), and
/// is removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let root = std::env::temp_dir().join(format!(
            "iquivity-sandbox-{name}-{}-{nanos}",
            std::process::id()
        ));
        TempDir(root)
    }

    /// Nested one level down, so that creating it takes creating its parent too.
    fn state_dir(&self) -> PathBuf {
        self.0.join("state")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn keeping_state(dir: &Path) -> SandboxOptions {
    SandboxOptions {
        state_dir: Some(dir.to_path_buf()),
        ..SandboxOptions::default()
    }
}

fn state_file(dir: &Path, platform: Platform) -> PathBuf {
    dir.join(format!("sandbox-{}.json", platform.as_str()))
}

async fn x_me(base: &str, access: &str) -> reqwest::Response {
    http()
        .get(format!("{base}/2/users/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

async fn tt_user_info(base: &str, access: &str) -> (StatusCode, Value) {
    send(
        http()
            .get(format!("{base}/v2/user/info/?fields=open_id,display_name"))
            .bearer_auth(access),
    )
    .await
}

#[tokio::test]
async fn a_state_dir_keeps_tokens_across_sandboxes() {
    let temp = TempDir::new("restart");
    let dir = temp.state_dir();
    let platforms = [Platform::X, Platform::Tiktok];

    // The first process: sign in, rotate the refresh tokens once, then go away.
    let sb = start(&platforms, keeping_state(&dir)).await;
    let x_base = sb.base_url(Platform::X).unwrap();
    let tt_base = sb.base_url(Platform::Tiktok).unwrap();
    let x_first = x_login(&x_base, X_SCOPES, &as_user("Ann Lee")).await;
    let (status, x_latest) = x_refresh(&x_base, x_first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{x_latest}");
    let x_access = x_latest["access_token"].as_str().unwrap();
    // A GET that changes state: it spends one of the caller's rate-limit window.
    let response = x_me(&x_base, x_access).await;
    assert_eq!(response.headers()["x-rate-limit-remaining"], "74");
    let tt_first = tt_login(&tt_base, &as_user("Ann Lee"), TT_SCOPES).await;
    let (status, tt_latest) =
        tt_refresh(&tt_base, tt_first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{tt_latest}");
    // Faults belong to one run: this one must not hit the next sandbox.
    arm(&x_base, json!({"mode": "server_error", "count": 5})).await;
    drop(sb);

    for platform in platforms {
        let metadata = std::fs::metadata(state_file(&dir, platform)).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
        }
        assert!(metadata.len() > 0);
    }
    // Only the two state files (beside the lock): no temporary file left behind.
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != ".lock")
        .count();
    assert_eq!(files, 2);

    // The next process, on new ports, with the same directory.
    let sb = start(&platforms, keeping_state(&dir)).await;
    let x_base = sb.base_url(Platform::X).unwrap();
    let tt_base = sb.base_url(Platform::Tiktok).unwrap();
    let state = sandbox_state(&x_base).await;
    assert_eq!(state["users"][0]["name"], "Ann Lee");
    assert_eq!(state["tokens"]["rotated"], 1);
    // Request counts start again.
    assert_eq!(state["requests"], json!({}));

    let response = x_me(&x_base, x_access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-rate-limit-remaining"], "73");
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["data"]["name"], "Ann Lee");
    let (status, body) = x_refresh(&x_base, x_first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    let (status, body) = x_refresh(&x_base, x_latest["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let tt_access = tt_latest["access_token"].as_str().unwrap();
    let (status, body) = tt_user_info(&tt_base, tt_access).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["user"]["display_name"], "Ann Lee");
    assert_eq!(body["data"]["user"]["open_id"], tt_first["open_id"]);
    let (status, body) = tt_refresh(&tt_base, tt_first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = tt_refresh(&tt_base, tt_latest["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn without_a_state_dir_nothing_carries_over() {
    let (sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &Consent::default()).await;
    drop(sb);
    let (_sb, base) = sandbox(Platform::X).await;
    let response = x_me(&base, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_bad_state_file_fails_the_start_and_names_the_file() {
    let temp = TempDir::new("corrupt");
    let dir = temp.state_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = state_file(&dir, Platform::Tiktok);
    std::fs::write(&corrupt, b"{\"users\": {").unwrap();
    let platforms = [Platform::X, Platform::Tiktok];
    let err = match Sandbox::start(apps(&platforms), keeping_state(&dir)).await {
        Err(err) => err,
        Ok(_) => panic!("a corrupt state file must fail the start"),
    };
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    let message = err.to_string();
    assert!(
        message.contains(&corrupt.display().to_string()),
        "{message}"
    );

    // One that cannot be read at all (a directory in its place) fails the same way.
    std::fs::remove_file(&corrupt).unwrap();
    std::fs::create_dir(&corrupt).unwrap();
    let err = match Sandbox::start(apps(&platforms), keeping_state(&dir)).await {
        Err(err) => err,
        Ok(_) => panic!("an unreadable state file must fail the start"),
    };
    let message = err.to_string();
    assert!(
        message.contains(&corrupt.display().to_string()),
        "{message}"
    );
}

#[tokio::test]
async fn two_processes_cannot_keep_state_in_one_directory_at_once() {
    let temp = TempDir::new("locked");
    let dir = temp.state_dir();
    let platforms = [Platform::X];
    let first = Sandbox::start(apps(&platforms), keeping_state(&dir))
        .await
        .unwrap();
    let err = match Sandbox::start(apps(&platforms), keeping_state(&dir)).await {
        Err(err) => err,
        Ok(_) => panic!("a second sandbox on the same state directory must not start"),
    };
    assert!(
        err.to_string()
            .contains("another process is running the sandbox"),
        "{err}"
    );
    drop(first);
    Sandbox::start(apps(&platforms), keeping_state(&dir))
        .await
        .expect("the directory is free again once the first sandbox stops");
}

#[tokio::test]
async fn x_timeline_lists_a_users_posts_from_a_start_time() {
    let (_sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &as_user("Tim Line")).await;
    let access = tokens["access_token"].as_str().unwrap();
    let user_id = by_name(&base, "Tim Line").await["id"]
        .as_str()
        .unwrap()
        .to_string();
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

#[tokio::test]
async fn held_requests_wait_and_one_whose_client_went_away_is_never_acted_on() {
    let (sb, base) = sandbox(Platform::X).await;
    let tokens = x_login(&base, X_SCOPES, &as_user("Hal Held")).await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let (status, _) = control(&base, "/hold", json!({"held": true})).await;
    assert_eq!(status, StatusCode::OK);
    // A client that gives up while held (as a process that dies would): the post must never be made.
    let gave_up = http()
        .post(format!("{base}/2/tweets"))
        .bearer_auth(&access)
        .timeout(std::time::Duration::from_millis(300))
        .json(&json!({ "text": "never" }))
        .send()
        .await;
    assert!(gave_up.unwrap_err().is_timeout());
    // One that waits is answered once the hold ends.
    let waiting = tokio::spawn({
        let base = base.clone();
        let access = access.clone();
        async move {
            send(
                http()
                    .post(format!("{base}/2/tweets"))
                    .bearer_auth(&access)
                    .json(&json!({ "text": "after the hold" })),
            )
            .await
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!waiting.is_finished(), "held until let go");
    sb.hold(false);
    let (status, _) = waiting.await.unwrap();
    assert_eq!(status, StatusCode::CREATED);
    let posts = sandbox_state(&base).await["posts"].clone();
    let texts: Vec<&str> = posts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["after the hold"]);
}
