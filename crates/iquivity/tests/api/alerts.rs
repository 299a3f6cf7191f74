//! Alerts: one per incident, in the app and to signed webhooks, with retries and a delivery log.

use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use hmac::{Hmac, Mac};
use iquivity_domain::Platform;
use iquivity_sandbox::Consent;

use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

/// A webhook endpoint that records what it receives and fails the first `fail_first` deliveries.
#[derive(Clone, Default)]
struct Receiver {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    fail_first: Arc<Mutex<u32>>,
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut fail = receiver.fail_first.lock().unwrap();
    if *fail > 0 {
        *fail -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    receiver
        .received
        .lock()
        .unwrap()
        .push((headers, String::from_utf8_lossy(&body).into_owned()));
    StatusCode::OK
}

/// Started before the app, whose webhook policy must allow the receiver's address and port.
async fn start_receiver(fail_first: u32) -> (String, u16, Receiver) {
    let receiver = Receiver::default();
    *receiver.fail_first.lock().unwrap() = fail_first;
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let url = format!("http://{addr}/hook");
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, addr.port(), receiver)
}

/// Verifies a delivery as a receiver would, from the documented scheme alone.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let Some(signature) = headers
        .get("x-iquivity-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = signature.split(',');
    let (Some(t), Some(v1)) = (
        parts.next().and_then(|p| p.strip_prefix("t=")),
        parts.next().and_then(|p| p.strip_prefix("v1=")),
    ) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

#[tokio::test]
async fn each_incident_alerts_once_in_the_app_and_to_signed_webhooks() {
    let (url, port, receiver) = start_receiver(1).await;
    let (app, clock) = spawn_app_hooked_to(port).await;
    let user = app.sign_up("alerts@example.com", "Alerts").await;
    let (status, webhook) = app
        .post(&user, "/api/v1/webhooks", json!({"url": url}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    let secret = webhook["secret"].as_str().unwrap().to_string();
    let (_, listed) = app.get(&user, "/api/v1/webhooks").await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once only"
    );

    // Connect a TikTok account through the sandbox.
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .sent()
        .await;
    let started: Value = client
        .post(app.url("/api/v1/connections"))
        .json(&json!({"platform": "tiktok"}))
        .json_body()
        .await;
    let redirect = iquivity_sandbox::consent(
        started["authorize_url"].as_str().unwrap(),
        &Consent::default(),
    )
    .await
    .unwrap();
    client.get(&redirect).sent().await;

    let round = || app.app.core.run_lifecycle_round("alerts-worker");
    round().await.unwrap();
    assert!(
        receiver.received.lock().unwrap().is_empty(),
        "the first attempt got a 503"
    );
    clock.advance(Duration::minutes(2));
    assert_eq!(
        round().await.unwrap().delivered,
        1,
        "retried after the backoff"
    );

    // A long outage: one status change, then one recovery, however many checks failed in between.
    let sandbox = app
        .app
        .sandbox
        .as_ref()
        .unwrap()
        .base_url(Platform::Tiktok)
        .unwrap();
    reqwest::Client::new()
        .post(format!("{sandbox}/_sandbox/faults"))
        .json(&json!({"mode": "server_error", "count": 1000, "path_prefix": "/v2/user/info/"}))
        .sent()
        .await;
    clock.advance(Duration::hours(8));
    for _ in 0..30 {
        round().await.unwrap();
        clock.advance(Duration::minutes(10));
    }
    reqwest::Client::new()
        .delete(format!("{sandbox}/_sandbox/faults"))
        .sent()
        .await;
    clock.advance(Duration::hours(2));
    round().await.unwrap();
    clock.advance(Duration::minutes(5));
    round().await.unwrap();

    let received = receiver.received.lock().unwrap().clone();
    let kinds: Vec<String> = received
        .iter()
        .map(|(_, body)| {
            serde_json::from_str::<Value>(body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "account.connected",
            "account.status_changed",
            "account.recovered"
        ],
        "{kinds:?}"
    );
    for (headers, body) in &received {
        assert!(
            verify(&secret, headers, body),
            "signature does not verify: {headers:?}"
        );
        assert!(!verify("whsec_wrong", headers, body));
        assert!(headers.contains_key("x-iquivity-delivery"));
    }
    // Each delivery has the shape the OpenAPI document's `webhooks` section gives its type.
    let document = app.openapi().await;
    for (_, body) in &received {
        let body: Value = serde_json::from_str(body).unwrap();
        let kind = body["type"].as_str().unwrap();
        let schema = &document["webhooks"][kind]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_documented(&document, schema, &body, kind);
    }
    let failed: Value = serde_json::from_str(&received[1].1).unwrap();
    assert_eq!(failed["data"]["account"]["status"], "failed");
    assert_eq!(
        failed["data"]["account"]["status_reason"],
        "platform_unavailable"
    );

    let (_, log) = app
        .get(
            &user,
            &format!(
                "/api/v1/webhooks/{}/deliveries",
                webhook["id"].as_str().unwrap()
            ),
        )
        .await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log.iter().all(|d| d["state"] == "delivered"));
    let first = log
        .iter()
        .find(|d| d["attempts"] == 2)
        .expect("the first delivery took two attempts");
    assert_eq!(first["last_status"], 200);
    assert!(first["failure_class"].is_null(), "{first}");

    let (_, notifications) = app.get(&user, "/api/v1/notifications").await;
    assert_eq!(notifications["unread"], 3);
    let page = client.get(app.url("/")).text_body().await;
    assert!(
        page.contains("is working again"),
        "the dashboard lists the notifications"
    );
    assert!(
        page.contains(" has failed."),
        "a sentence, not \"is failed\""
    );
    assert!(!page.contains(" is failed"));
    let (status, _) = app.post_bare(&user, "/api/v1/notifications/read").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, notifications) = app.get(&user, "/api/v1/notifications").await;
    assert_eq!(notifications["unread"], 0);
}

#[tokio::test]
async fn webhook_urls_must_be_https_and_members_cannot_add_them() {
    let app = spawn_app().await;
    let user = app.sign_up("hooks@example.com", "Hooks").await;
    let (status, body) = app
        .post(
            &user,
            "/api/v1/webhooks",
            json!({"url": "http://hooks.example.com/x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "url");
    let (status, _) = app
        .delete(&user, &format!("/api/v1/webhooks/{}", uuid::Uuid::new_v4()))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_token_that_cannot_be_renewed_alerts_once_before_it_expires() {
    let app = spawn_app_with(|c| c.run_lifecycle = false).await;
    let user = app.sign_up("expiring@example.com", "Expiring").await;
    let id = app
        .seed_account(
            &user,
            Seed::new(Platform::Linkedin, "No Refresh Token")
                .token_expires_at(chrono::Utc::now() + Duration::days(3)),
        )
        .await;
    app.app.core.run_lifecycle_round("w").await.unwrap();
    app.app.core.run_lifecycle_round("w").await.unwrap();
    let (_, notifications) = app.get(&user, "/api/v1/notifications").await;
    let expiring: Vec<&Value> = notifications["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "account.expiring")
        .collect();
    assert_eq!(expiring.len(), 1, "{notifications}");
    assert_eq!(expiring[0]["account_id"], id.to_string());
    let (_, account) = app.get(&user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["status"], "active", "still Active while it works");
    assert_eq!(account["expiring_soon"], true);
    assert!(account["next_refresh_at"].is_null());
    let page = user.client.get(app.url("/")).text_body().await;
    assert!(page.contains("expiring soon"), "the list marks it");
}
