//! Webhook destinations: internal addresses are refused when a webhook is added and again at every delivery,
//! against the address actually connected to; redirects are not followed; the delivery log says how a
//! delivery failed as a class, never as text about the network.

use crate::helpers::*;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use iquivity_domain::AlertKind;
use iquivity_store::AlertRecord;

use serde_json::{json, Value};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a local receiver does with a delivery.
#[derive(Clone)]
enum Answer {
    Ok,
    Status(StatusCode),
    RedirectTo(String),
    Sleep(Duration),
}

/// A local webhook endpoint that counts the TCP connections it accepts (not only the requests it answers,
/// so that a connection refused before any HTTP is seen too), and keeps what it was sent.
#[derive(Clone)]
struct Receiver {
    port: u16,
    connections: Arc<AtomicU32>,
    requests: Arc<AtomicU32>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// One request a receiver was sent.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    signature: String,
    body: String,
}

impl Received {
    /// Whether the signature holds for `secret`, as a receiver checks it: any `v1` over "<t>.<body>".
    fn signed_with(&self, secret: &str) -> bool {
        let timestamp: i64 = self
            .signature
            .split(',')
            .find_map(|part| part.strip_prefix("t="))
            .and_then(|t| t.parse().ok())
            .expect("a timestamp");
        let expected = iquivity_core::alerts::sign(&[secret], timestamp, &self.body);
        let expected = expected.split_once(",v1=").unwrap().1;
        self.signature
            .split(',')
            .filter_map(|part| part.strip_prefix("v1="))
            .any(|v1| v1 == expected)
    }
}

impl Receiver {
    async fn start(answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicU32::new(0));
        let requests = Arc::new(AtomicU32::new(0));
        let counted = connections.clone();
        let listener = listener.tap_io(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let seen = requests.clone();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let answer = answer.clone();
            let seen = seen.clone();
            let kept = kept.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                kept.lock().unwrap().push(Received {
                    event: header("x-iquivity-event"),
                    signature: header("x-iquivity-signature"),
                    body,
                });
                match answer {
                    Answer::Ok => StatusCode::OK.into_response(),
                    Answer::Status(status) => status.into_response(),
                    Answer::RedirectTo(to) => Response::builder()
                        .status(StatusCode::TEMPORARY_REDIRECT)
                        .header(header::LOCATION, to)
                        .body(axum::body::Body::empty())
                        .unwrap(),
                    Answer::Sleep(pause) => {
                        tokio::time::sleep(pause).await;
                        StatusCode::OK.into_response()
                    }
                }
            }
        });
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            port,
            connections,
            requests,
            received,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.event).collect()
    }

    fn connections(&self) -> u32 {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A port nothing listens on (it was just free).
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn add_webhook(app: &TestApp, user: &User, url: &str) -> (StatusCode, Value) {
    app.post(user, "/api/v1/webhooks", json!({ "url": url }))
        .await
}

async fn added(app: &TestApp, user: &User, url: &str) -> String {
    let (status, body) = add_webhook(app, user, url).await;
    assert_eq!(status, StatusCode::CREATED, "{url}: {body}");
    body["id"].as_str().unwrap().to_string()
}

/// Queues one delivery to each of the workspace's webhooks, as any alert does.
async fn raise_alert(app: &TestApp, user: &User) {
    raise(app, user, AlertKind::StatusChanged).await;
}

/// Records an alert of `kind`, queued for each webhook that takes it.
async fn raise(app: &TestApp, user: &User, kind: AlertKind) {
    let recorded = app
        .app
        .store
        .record_alert(&AlertRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: user.workspace_id,
            account_id: None,
            kind,
            dedupe_key: None,
            payload: json!({}),
            created_at: chrono::Utc::now(),
            read_at: None,
        })
        .await
        .unwrap();
    assert!(recorded);
}

/// The last (only) delivery of a webhook, as the API shows it.
async fn delivery(app: &TestApp, user: &User, webhook: &str) -> Value {
    let (status, log) = app
        .get(user, &format!("/api/v1/webhooks/{webhook}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    log[0].clone()
}

/// The service's log lines about failed deliveries of one webhook.
fn failure_lines(webhook: &str) -> Vec<String> {
    logs()
        .lines()
        .filter(|line| line.contains("webhook delivery failed") && line.contains(webhook))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_when_added() {
    let port = closed_port().await;
    let app = spawn_app_with(|c| c.webhook_allowed_ports = vec![443, 8443, port]).await;
    let user = app.sign_up("ssrf-create@example.com", "Refused").await;
    let internal = [
        "https://169.254.169.254/latest/meta-data/iam/security-credentials/".to_string(),
        "https://10.0.0.1/".into(),
        "https://172.16.0.1/".into(),
        "https://192.168.1.1/".into(),
        "https://[::ffff:a9fe:a9fe]/".into(),
        format!("https://127.0.0.2:{port}/"),
        "http://127.1/".into(),
        "http://2130706433/".into(),
        "https://0x7f000001/".into(),
        "https://[::1]/".into(),
        "https://0.0.0.0/".into(),
        "https://[::]/".into(),
        "https://169.254.0.1/".into(),
        "https://[fe80::1]/".into(),
        "https://[fc00::1]/".into(),
        "https://[fd00:ec2::254]/".into(),
        "https://100.64.0.1/".into(),
        "https://100.100.100.200/".into(),
        "https://224.0.0.1/".into(),
        "https://[ff02::1]/".into(),
        "https://255.255.255.255/".into(),
        "https://240.0.0.1/".into(),
        "https://192.0.2.1/".into(),
        "https://198.51.100.7/".into(),
        "https://203.0.113.9/".into(),
        "https://[2001:db8::1]/".into(),
        "https://[::127.0.0.1]/".into(),
        "https://[64:ff9b::a9fe:a9fe]/".into(),
        "https://[2002:a9fe:a9fe::1]/".into(),
    ];
    let other = [
        (
            "https://user:pass@hooks.example.com/x",
            "user name or password",
        ),
        ("https://token@hooks.example.com/x", "user name or password"),
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("https://hooks.example.com:8080/x", "port"),
        ("https://hooks.example.com:22/x", "port"),
    ];
    let refusals = internal
        .iter()
        .map(|url| (url.as_str(), "internal address"))
        .chain(other);
    for (url, why) in refusals {
        let (status, body) = add_webhook(&app, &user, url).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["errors"][0]["field"], "url", "{url}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(why), "{url}: {message}");
    }

    // Public destinations over https on the allowed ports are taken, and only they were stored.
    let accepted = [
        "https://hooks.example.com/x",
        "https://hooks.example.com:8443/x",
        "https://93.184.215.14/x",
    ];
    for url in accepted {
        added(&app, &user, url).await;
    }
    let (_, listed) = app.get(&user, "/api/v1/webhooks").await;
    let urls = strings_at(&listed, "url");
    assert_eq!(urls, accepted);
}

#[tokio::test]
async fn a_name_resolving_to_an_address_not_allowed_is_refused_when_connecting() {
    let receiver = Receiver::start(Answer::Ok).await;
    // Only the port is allowed: `localhost` passes the URL checks, and what it resolves to
    // (127.0.0.1, ::1) is all that is left to refuse.
    let app = spawn_app_with(|c| {
        c.run_lifecycle = false;
        c.webhook_allowed_ports = vec![receiver.port];
    })
    .await;
    let user = app.sign_up("ssrf-connect@example.com", "Rebound").await;
    let (status, _) = add_webhook(
        &app,
        &user,
        &format!("https://127.0.0.1:{}/hook", receiver.port),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the literal address"
    );
    let webhook = added(
        &app,
        &user,
        &format!("https://localhost:{}/hook", receiver.port),
    )
    .await;

    raise_alert(&app, &user).await;
    let round = app.app.core.run_lifecycle_round("ssrf").await.unwrap();
    assert_eq!(round.delivered, 0);
    assert_eq!(receiver.connections(), 0, "no connection was made");
    let logged = delivery(&app, &user, &webhook).await;
    assert_eq!(logged["state"], "pending", "{logged}");
    assert_eq!(logged["failure_class"], "refused_destination", "{logged}");
    assert!(logged["last_status"].is_null(), "{logged}");
    assert!(logged.get("last_error").is_none(), "{logged}");

    let lines = failure_lines(&webhook);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("refused_destination"), "{lines:?}");
    assert!(
        !lines[0].contains("127.0.0.1") && !lines[0].contains("localhost"),
        "{lines:?}"
    );
}

#[tokio::test]
async fn allowed_names_are_reached_redirects_are_not_followed_and_failures_are_classes() {
    let reached = Receiver::start(Answer::Ok).await;
    let target = Receiver::start(Answer::Ok).await;
    let redirecting = Receiver::start(Answer::RedirectTo(format!(
        "http://localhost:{}/hook",
        target.port
    )))
    .await;
    let failing = Receiver::start(Answer::Status(StatusCode::SERVICE_UNAVAILABLE)).await;
    let slow = Receiver::start(Answer::Sleep(Duration::from_secs(5))).await;
    let closed = closed_port().await;
    // The redirect's target is as allowed as the rest: only the redirect policy keeps it unreached.
    let ports = vec![
        reached.port,
        target.port,
        redirecting.port,
        failing.port,
        slow.port,
        closed,
    ];
    let app = spawn_app_tuned(
        |c| {
            c.run_lifecycle = false;
            c.webhook_allowed_hosts = vec!["localhost".into()];
            c.webhook_allowed_ports = ports;
        },
        |core| core.settings.webhook_timeout = Duration::from_millis(500),
    )
    .await;
    let user = app.sign_up("ssrf-deliver@example.com", "Delivered").await;
    let url = |port: u16| format!("http://localhost:{port}/hook");
    let hooks = [
        added(&app, &user, &url(reached.port)).await,
        added(&app, &user, &url(redirecting.port)).await,
        added(&app, &user, &url(failing.port)).await,
        added(&app, &user, &url(slow.port)).await,
        added(&app, &user, &url(closed)).await,
    ];
    // Allowed by name, not by address: the literal form of the same destination stays refused.
    let (status, _) = add_webhook(
        &app,
        &user,
        &format!("http://127.0.0.1:{}/hook", reached.port),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    raise_alert(&app, &user).await;
    let round = app.app.core.run_lifecycle_round("ssrf").await.unwrap();
    assert_eq!(round.delivered, 1);
    assert_eq!(reached.requests(), 1, "reached by name");
    assert_eq!(redirecting.requests(), 1);
    assert_eq!(target.connections(), 0, "the redirect was not followed");
    assert_eq!(failing.requests(), 1);

    let expected = [
        (&hooks[0], "delivered", Value::Null, json!(200)),
        (&hooks[1], "pending", json!("redirect"), json!(307)),
        (&hooks[2], "pending", json!("http_status"), json!(503)),
        (&hooks[3], "pending", json!("timeout"), Value::Null),
        (
            &hooks[4],
            "pending",
            json!("connection_failed"),
            Value::Null,
        ),
    ];
    for (webhook, state, class, status) in expected {
        let logged = delivery(&app, &user, webhook).await;
        assert_eq!(logged["state"], state, "{logged}");
        assert_eq!(logged["failure_class"], class, "{logged}");
        assert_eq!(logged["last_status"], status, "{logged}");
        assert!(logged.get("last_error").is_none(), "{logged}");
        let lines = failure_lines(webhook);
        if let Value::String(class) = &class {
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert!(lines[0].contains(class.as_str()), "{lines:?}");
            assert!(
                !lines[0].contains("127.0.0.1") && !lines[0].contains("localhost"),
                "{lines:?}"
            );
        } else {
            assert!(lines.is_empty(), "{lines:?}");
        }
    }
}

#[tokio::test]
async fn webhooks_added_under_a_wider_policy_are_refused_at_delivery_once_it_narrows() {
    let receiver = Receiver::start(Answer::Ok).await;
    let port = receiver.port;
    let app = spawn_app_with(|c| {
        c.run_lifecycle = false;
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_allowed_ports = vec![port];
    })
    .await;
    let user = app.sign_up("ssrf-narrowed@example.com", "Narrowed").await;
    // A literal address, which no resolver sees: the URL check before each delivery is what stops it.
    let webhook = added(&app, &user, &format!("https://127.0.0.1:{port}/hook")).await;
    // As after an upgrade from a version that took such URLs, or after the operator narrowed the list.
    let app = restart(
        app,
        |c| {
            c.run_lifecycle = false;
            c.webhook_allowed_ports = vec![port];
        },
        |_| {},
    )
    .await;
    raise_alert(&app, &user).await;
    app.app.core.run_lifecycle_round("ssrf").await.unwrap();
    assert_eq!(receiver.connections(), 0, "no connection was made");
    let logged = delivery(&app, &user, &webhook).await;
    assert_eq!(logged["failure_class"], "refused_destination", "{logged}");
}

#[tokio::test]
async fn a_failing_delivery_follows_the_whole_retry_schedule_and_gives_up_after_ten_attempts() {
    use iquivity_core::lifecycle::Clock;
    let failing = Receiver::start(Answer::Status(StatusCode::INTERNAL_SERVER_ERROR)).await;
    let (app, clock) = spawn_app_hooked_to(failing.port).await;
    let user = app.sign_up("retries@example.com", "Retries").await;
    let hook = added(
        &app,
        &user,
        &format!("http://127.0.0.1:{}/hook", failing.port),
    )
    .await;
    raise_alert(&app, &user).await;
    // The alert is stamped with the real time, which has run ahead of the manual clock since it started.
    clock.advance(chrono::Duration::minutes(1));
    let round = || async { app.app.core.run_lifecycle_round("hooks").await.unwrap() };

    // The wait after each failed attempt, in minutes: 1, 5, 15, 30, 60, then 180 until the tenth.
    let waits = [1, 5, 15, 30, 60, 180, 180, 180, 180];
    for (done, wait) in (1u32..).zip(waits) {
        round().await;
        let log = delivery(&app, &user, &hook).await;
        assert_eq!(log["attempts"], done, "{log}");
        assert_eq!(log["state"], "pending", "{log}");
        assert_eq!(log["last_status"], 500);
        assert_eq!(log["failure_class"], "http_status");
        let next: chrono::DateTime<chrono::Utc> =
            log["next_attempt_at"].as_str().unwrap().parse().unwrap();
        // Stored to the microsecond: equal to within one.
        let off = next - (clock.now() + chrono::Duration::minutes(wait));
        assert!(
            off.num_microseconds().unwrap().abs() <= 1,
            "after attempt {done}: {off}"
        );
        // A second early, nothing is sent; on time, the next attempt goes.
        clock.advance(chrono::Duration::minutes(wait) - chrono::Duration::seconds(1));
        round().await;
        assert_eq!(failing.requests(), done, "not before its time");
        clock.advance(chrono::Duration::seconds(1));
    }
    round().await;
    let log = delivery(&app, &user, &hook).await;
    assert_eq!(log["attempts"], 10, "{log}");
    assert_eq!(log["state"], "failed", "given up after the tenth: {log}");
    clock.advance(chrono::Duration::days(2));
    round().await;
    assert_eq!(failing.requests(), 10, "never sent again");
}

/// A webhook that names its events is sent those only; the list can be changed, and `null` means all.
#[tokio::test]
async fn a_webhook_is_sent_only_the_events_it_takes() {
    let receiver = Receiver::start(Answer::Ok).await;
    let (app, clock) = spawn_app_hooked_to(receiver.port).await;
    let user = app.sign_up("events@example.com", "Events").await;
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let (status, created) = app
        .post(
            &user,
            "/api/v1/webhooks",
            json!({"url": url, "events": ["account.removed", "account.removed", "webhook.disabled"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["events"],
        json!(["account.removed", "webhook.disabled"])
    );
    assert_eq!(created["enabled"], true);
    let hook = created["id"].as_str().unwrap().to_string();

    raise(&app, &user, AlertKind::StatusChanged).await;
    raise(&app, &user, AlertKind::Removed).await;
    // The alerts are stamped with the real time, which has run ahead of the manual clock.
    clock.advance(chrono::Duration::minutes(1));
    app.app.core.run_lifecycle_round("events").await.unwrap();
    assert_eq!(receiver.events(), vec!["account.removed"]);

    let (status, changed) = app
        .patch(
            &user,
            &format!("/api/v1/webhooks/{hook}"),
            json!({"events": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert!(changed["events"].is_null(), "{changed}");
    raise(&app, &user, AlertKind::StatusChanged).await;
    clock.advance(chrono::Duration::minutes(1));
    app.app.core.run_lifecycle_round("events").await.unwrap();
    assert_eq!(
        receiver.events(),
        vec!["account.removed", "account.status_changed"]
    );

    // Unknown types and an empty list are refused, next to the field; nothing changes.
    for bad in [
        json!({"events": ["account.deleted"]}),
        json!({"events": []}),
    ] {
        let (status, problem) = app
            .patch(&user, &format!("/api/v1/webhooks/{hook}"), bad.clone())
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "events", "{problem}");
    }
    let (_, list) = app.get(&user, "/api/v1/webhooks").await;
    assert!(list[0]["events"].is_null(), "{list}");
    let (status, _) = app
        .post(
            &user,
            "/api/v1/webhooks",
            json!({"url": url, "events": ["nope"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The test event goes out at once, signed, and the answer says how it went.
#[tokio::test]
async fn a_test_event_is_sent_at_once_and_reports_how_it_went() {
    let receiver = Receiver::start(Answer::Ok).await;
    let failing = Receiver::start(Answer::Status(StatusCode::SERVICE_UNAVAILABLE)).await;
    let app = spawn_app_tuned(
        |c| {
            c.run_lifecycle = false;
            c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
            c.webhook_allowed_ports = vec![receiver.port, failing.port];
        },
        |_| {},
    )
    .await;
    let user = app.sign_up("test-event@example.com", "Test event").await;
    let (status, created) = app
        .post(
            &user,
            "/api/v1/webhooks",
            json!({"url": format!("http://127.0.0.1:{}/hook", receiver.port), "events": ["account.removed"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_string();
    let hook = created["id"].as_str().unwrap();

    let (status, result) = app
        .post_bare(&user, &format!("/api/v1/webhooks/{hook}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        result,
        json!({"delivered": true, "status": 200, "failure_class": null})
    );
    let sent = receiver.received();
    assert_eq!(sent.len(), 1, "sent at once, whatever the webhook's events");
    assert_eq!(sent[0].event, "webhook.test");
    assert!(sent[0].signed_with(&secret), "{:?}", sent[0]);
    let body: Value = serde_json::from_str(&sent[0].body).unwrap();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["data"]["webhook"]["id"], hook);
    let (_, document) = app.get(&user, "/api/v1/openapi.json").await;
    let schema = &document["webhooks"]["webhook.test"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    assert_documented(&document, schema, &body, "webhook.test");
    for kind in AlertKind::ALL {
        assert!(
            document["webhooks"][kind.as_str()]["post"].is_object(),
            "{kind} is documented"
        );
    }

    let broken = added(
        &app,
        &user,
        &format!("http://127.0.0.1:{}/hook", failing.port),
    )
    .await;
    let (status, result) = app
        .post_bare(&user, &format!("/api/v1/webhooks/{broken}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(
        result,
        json!({"delivered": false, "status": 503, "failure_class": "http_status"})
    );
    // Not retried, and not a step towards disabling the webhook.
    app.app
        .core
        .run_lifecycle_round("test-event")
        .await
        .unwrap();
    assert_eq!(failing.requests(), 1);
    let (_, list) = app.get(&user, "/api/v1/webhooks").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|h| h["failing_since"].is_null()),
        "{list}"
    );

    let (status, _) = app
        .post_bare(
            &user,
            &format!("/api/v1/webhooks/{}/test", uuid::Uuid::now_v7()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// During a rotation's overlap a receiver can verify deliveries with either secret; after it, only with the
/// new one.
#[tokio::test]
async fn a_rotated_secret_overlaps_with_the_old_one_for_the_set_time() {
    let receiver = Receiver::start(Answer::Ok).await;
    let (app, clock) = spawn_app_hooked_to(receiver.port).await;
    let user = app.sign_up("rotation@example.com", "Rotation").await;
    let (_, created) = add_webhook(
        &app,
        &user,
        &format!("http://127.0.0.1:{}/hook", receiver.port),
    )
    .await;
    let old = created["secret"].as_str().unwrap().to_string();
    let hook = created["id"].as_str().unwrap().to_string();

    for hours in [json!(169), json!(-1), json!(i64::MAX - 1)] {
        let (status, problem) = app
            .post(
                &user,
                &format!("/api/v1/webhooks/{hook}/secret"),
                json!({ "overlap_hours": hours }),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hours}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], "overlap_hours");
    }

    let (status, rotated) = app
        .post(
            &user,
            &format!("/api/v1/webhooks/{hook}/secret"),
            json!({"overlap_hours": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(
        !rotated["previous_secret_valid_until"].is_null(),
        "{rotated}"
    );
    let (_, list) = app.get(&user, "/api/v1/webhooks").await;
    assert!(list[0].get("secret").is_none(), "never listed: {list}");

    // Within the overlap: both signatures, the new one first.
    clock.advance(chrono::Duration::minutes(1));
    raise_alert(&app, &user).await;
    app.app.core.run_lifecycle_round("rotation").await.unwrap();
    let during = receiver.received();
    assert_eq!(during.len(), 1);
    assert_eq!(
        during[0].signature.matches("v1=").count(),
        2,
        "{:?}",
        during[0]
    );
    assert!(
        during[0].signed_with(&new),
        "a receiver with the new secret accepts it"
    );
    assert!(
        during[0].signed_with(&old),
        "a receiver still on the old secret accepts it"
    );

    // After it: the new secret only.
    clock.advance(chrono::Duration::hours(2));
    raise_alert(&app, &user).await;
    app.app.core.run_lifecycle_round("rotation").await.unwrap();
    let after = receiver.received().pop().unwrap();
    assert_eq!(after.signature.matches("v1=").count(), 1, "{after:?}");
    assert!(after.signed_with(&new));
    assert!(
        !after.signed_with(&old),
        "the old secret no longer verifies"
    );
    let (_, list) = app.get(&user, "/api/v1/webhooks").await;
    assert!(list[0]["previous_secret_valid_until"].is_null(), "{list}");
}

/// A webhook that fails for 3 days is disabled once, the workspace is told (in the app and through its
/// other webhooks), nothing more is sent to it, and enabling it sends what waited.
#[tokio::test]
async fn a_webhook_failing_for_three_days_is_disabled_with_an_alert_until_enabled() {
    use iquivity_core::lifecycle::Clock;
    let failing = Receiver::start(Answer::Status(StatusCode::INTERNAL_SERVER_ERROR)).await;
    let watcher = Receiver::start(Answer::Ok).await;
    let (app, clock) = spawn_app_on_clock(chrono::Utc::now(), |c| {
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_allowed_ports = vec![failing.port, watcher.port];
    })
    .await;
    let user = app.sign_up("disable@example.com", "Disable").await;
    let broken = added(
        &app,
        &user,
        &format!("http://127.0.0.1:{}/hook", failing.port),
    )
    .await;
    let (status, _) = app
        .post(
            &user,
            "/api/v1/webhooks",
            json!({"url": format!("http://127.0.0.1:{}/hook", watcher.port), "events": ["webhook.disabled"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let round = || async { app.app.core.run_lifecycle_round("disable").await.unwrap() };
    let webhook = || async {
        let (_, list) = app.get(&user, "/api/v1/webhooks").await;
        list.as_array()
            .unwrap()
            .iter()
            .find(|h| h["id"] == broken.as_str())
            .cloned()
            .unwrap()
    };

    clock.advance(chrono::Duration::minutes(1));
    raise_alert(&app, &user).await;
    round().await;
    let first_failure = clock.now();
    assert_eq!(failing.requests(), 1);
    let state = webhook().await;
    assert_eq!(state["enabled"], true, "{state}");
    assert!(!state["failing_since"].is_null(), "{state}");

    // Still failing just before 3 days have passed: enabled.
    clock.advance(chrono::Duration::days(3) - chrono::Duration::minutes(1));
    raise_alert(&app, &user).await;
    round().await;
    assert_eq!(webhook().await["enabled"], true);
    // A failure after 3 days of failing disables it.
    clock.advance(chrono::Duration::minutes(1));
    raise_alert(&app, &user).await;
    round().await;
    let state = webhook().await;
    assert_eq!(state["enabled"], false, "{state}");
    let failing_since: chrono::DateTime<chrono::Utc> =
        state["failing_since"].as_str().unwrap().parse().unwrap();
    assert!(failing_since <= first_failure, "{state}");

    // Told once: in the app, and through the webhook that takes `webhook.disabled`.
    let (_, notes) = app.get(&user, "/api/v1/notifications").await;
    let disabled: Vec<&Value> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "webhook.disabled")
        .collect();
    assert_eq!(disabled.len(), 1, "{notes}");
    assert_eq!(disabled[0]["payload"]["webhook"]["id"], broken.as_str());
    assert_eq!(disabled[0]["payload"]["webhook"]["host"], "127.0.0.1");
    round().await;
    assert_eq!(watcher.events(), vec!["webhook.disabled"]);

    // Disabled: new alerts and retries send nothing to it.
    let sent = failing.requests();
    raise_alert(&app, &user).await;
    clock.advance(chrono::Duration::hours(4));
    round().await;
    assert_eq!(failing.requests(), sent, "nothing is sent while disabled");

    // The settings page says so and offers to enable it; enabling sends what was pending.
    let page = user.client.get(app.url("/settings")).text_body().await;
    assert!(page.contains("Disabled "), "{page}");
    let enable = format!("/settings/webhooks/{broken}/enable");
    assert!(page.contains(&enable), "{page}");
    let enabled = user
        .client
        .post(app.url(&enable))
        .form(&[("csrf", csrf_of(&page))])
        .sent()
        .await;
    assert!(enabled.status().is_success(), "{}", enabled.status());
    let enabled = webhook().await;
    assert_eq!(enabled["enabled"], true, "{enabled}");
    assert!(
        enabled["failing_since"].is_null(),
        "the streak starts afresh: {enabled}"
    );
    round().await;
    assert!(failing.requests() > sent, "pending deliveries resume");
    assert_eq!(
        webhook().await["enabled"],
        true,
        "one failure after enabling does not disable it"
    );
}
