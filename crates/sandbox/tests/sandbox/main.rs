//! The sandboxes over HTTP, as a client adapter would use them: consent, token exchanges, identity,
//! publishing, and the control API that expires, revokes, withdraws scopes and injects faults.
//!
//! One test binary: this file holds what every platform's tests share; each module tests one platform
//! or one topic.

mod faults;
mod linkedin;
mod meta;
mod meta_publishing;
mod state_dir;
mod tiktok;
mod x;

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

/// Denies consent at `authorize_url`; the query the callback is sent.
async fn deny_at(authorize_url: &str) -> HashMap<String, String> {
    let deny = Consent {
        deny: true,
        ..Consent::default()
    };
    query_of(&consent(authorize_url, &deny).await.unwrap())
}

/// POST `body` as JSON to `base` + `path` with a bearer token (the future borrows nothing).
fn post_json(
    base: &str,
    path: &str,
    token: &str,
    body: Value,
) -> impl std::future::Future<Output = (StatusCode, Value)> {
    send(
        http()
            .post(format!("{base}{path}"))
            .bearer_auth(token)
            .json(&body),
    )
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

/// The sandbox's id of the user named `name`.
async fn user_id(base: &str, name: &str) -> String {
    by_name(base, name).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Takes `scope` back from the user's grant, as a user does in the platform's settings.
async fn remove_scope(base: &str, user: &str, scope: &str) {
    let path = format!("/users/{user}/scopes/remove");
    control(base, &path, json!({ "scope": scope })).await;
}

/// A path a platform does not have, or a method one of its paths does not take, is answered in that
/// platform's own error envelope (the shared router wires the fallbacks; each platform writes the answer).
#[tokio::test]
async fn unknown_paths_and_methods_get_the_platforms_own_not_found() {
    let platforms = [
        Platform::X,
        Platform::Linkedin,
        Platform::Tiktok,
        Platform::Facebook,
    ];
    let sb = start(&platforms, SandboxOptions::default()).await;
    let base = |platform| sb.base_url(platform).unwrap();

    let (status, body) = send(http().get(format!("{}/2/nowhere", base(Platform::X)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], 34);
    let (status, body) = send(http().delete(format!("{}/2/tweets", base(Platform::X)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errors"][0]["code"], 34);

    let (status, body) =
        send(http().get(format!("{}/rest/nowhere", base(Platform::Linkedin)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NOT_FOUND");
    assert_eq!(body["message"], "Resource /rest/nowhere does not exist");

    let (status, body) =
        send(http().delete(format!("{}/v2/user/info/", base(Platform::Tiktok)))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "invalid_params");

    let (_, body) =
        send(http().delete(format!("{}/v24.0/me/accounts", base(Platform::Facebook)))).await;
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Unsupported request: DELETE /v24.0/me/accounts"),
        "{body}"
    );
}
