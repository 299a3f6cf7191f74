//! Sign-in and sign-up limits: attempts counted before the password check (so concurrency cannot beat
//! them), the client address behind trusted proxies, a slowdown per address instead of a lock-out, and
//! invitation sign-ups that race.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// A counter's value on `/metrics` (0 when absent).
async fn metric(app: &TestApp, line_start: &str) -> u64 {
    let text = app.metrics().await;
    text.lines()
        .find_map(|line| line.strip_prefix(line_start)?.trim().parse().ok())
        .unwrap_or(0)
}

async fn slowdowns(app: &TestApp) -> u64 {
    metric(app, "iquivity_login_slowdowns_total ").await
}

/// Signs in through the test's "proxy": the request comes from 127.0.0.1 with `X-Forwarded-For`.
async fn log_in_from(
    app: &TestApp,
    forwarded_for: Option<&str>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(hops) = forwarded_for {
        request = request.header("x-forwarded-for", hops);
    }
    request.sent().await
}

/// 25 wrong guesses at made-up accounts, the i-th sent with `X-Forwarded-For: hops(i)` (or none);
/// each is refused.
async fn guess_25_accounts(app: &TestApp, hops: impl Fn(usize) -> Option<String>) {
    for i in 0..25 {
        let hops = hops(i);
        let email = format!("guess{i}@example.com");
        let response = log_in_from(app, hops.as_deref(), &email, "a wrong guess!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
}

/// An app with short slowdowns that trusts `X-Forwarded-For` from peers in `network`.
async fn behind_proxies(network: &str) -> TestApp {
    let network = network.parse().unwrap();
    spawn_app_tuned(|c| c.trusted_proxies = vec![network], short_slowdowns).await
}

/// Slowdowns of milliseconds: what is asserted is that an answer was slowed (counted), not how long.
fn short_slowdowns(core: &mut iquivity_core::Core) {
    core.settings.login_slowdown_start = Duration::from_millis(1);
    core.settings.login_slowdown_cap = Duration::from_millis(4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_parallel_wrong_logins_check_five_passwords() {
    let app = spawn_app().await;
    app.sign_up("target@example.com", "Target").await;
    // One client made beforehand and a barrier: the forty arrive together, as in the report.
    let http = reqwest::Client::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut attempts = Vec::new();
    for _ in 0..40 {
        let url = app.url("/api/v1/auth/login");
        let (http, start) = (http.clone(), start.clone());
        attempts.push(tokio::spawn(async move {
            start.wait().await;
            http.post(url)
                .json(&json!({"email": "target@example.com", "password": "a wrong guess!"}))
                .sent()
                .await
        }));
    }
    let (mut refused, mut locked) = (0, 0);
    for attempt in attempts {
        let response = attempt.await.unwrap();
        match response.status() {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(response.headers().contains_key("retry-after"));
                locked += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (refused, locked),
        (5, 35),
        "five passwords checked, the rest refused unchecked"
    );
    assert_eq!(
        metric(&app, "iquivity_logins_total{outcome=\"bad_credentials\"} ").await,
        5
    );
    assert_eq!(
        metric(&app, "iquivity_logins_total{outcome=\"locked\"} ").await,
        35
    );
    // Still locked with the right password, until the window runs out.
    let response = log_in_from(&app, None, "target@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_database_check_five_passwords_between_them() {
    let url = match iquivity_store::postgres::create_scratch_schema(&postgres_url(), "iqt").await {
        Ok(url) => url,
        Err(err) if std::env::var("IQUIVITY_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("IQUIVITY_REQUIRE_POSTGRES=1 but PostgreSQL cannot be reached: {err}")
        }
        Err(err) => {
            announce_skip(&format!("PostgreSQL cannot be reached ({err})"));
            return;
        }
    };
    let first = spawn_instance_on(url.clone()).await;
    let second = spawn_instance_on(url).await;
    first.sign_up("shared-target@example.com", "Target").await;
    let http = reqwest::Client::new();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let mut attempts = Vec::new();
    for i in 0..40 {
        let instance = if i % 2 == 0 { &first } else { &second };
        let url = instance.url("/api/v1/auth/login");
        let (http, start) = (http.clone(), start.clone());
        attempts.push(tokio::spawn(async move {
            start.wait().await;
            http.post(url)
                .json(&json!({"email": "shared-target@example.com", "password": "a wrong guess!"}))
                .sent()
                .await
                .status()
        }));
    }
    let mut refused = 0;
    for attempt in attempts {
        if attempt.await.unwrap() == StatusCode::UNAUTHORIZED {
            refused += 1;
        }
    }
    assert_eq!(refused, 5, "five passwords checked across both instances");
}

#[tokio::test]
async fn a_right_password_forgets_the_accounts_earlier_failures() {
    let app = spawn_app().await;
    app.sign_up("forgetful@example.com", "Forgetful").await;
    for _ in 0..4 {
        let response = log_in_from(&app, None, "forgetful@example.com", "a wrong guess!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = log_in_from(&app, None, "forgetful@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    // Five more mistakes are allowed again before the lock.
    for _ in 0..5 {
        let response = log_in_from(&app, None, "forgetful@example.com", "a wrong guess!").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let response = log_in_from(&app, None, "forgetful@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_slowed_not_locked_out() {
    let app = spawn_app_tuned(|_| {}, short_slowdowns).await;
    let user = app.sign_up("shared@example.com", "Shared").await;
    guess_25_accounts(&app, |_| None).await;
    assert_eq!(
        slowdowns(&app).await,
        5,
        "past 20 attempts from one address each answer is slowed"
    );
    // Someone at that address with their own password still gets in, slowed.
    let response = log_in_from(&app, None, &user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(slowdowns(&app).await, 6);
}

#[tokio::test]
async fn behind_a_trusted_proxy_an_attacker_slows_only_their_own_address() {
    let app = behind_proxies("127.0.0.1/32").await;
    let victim = app.sign_up("victim@example.com", "Victim").await;
    // The attacker writes a made-up address of their own in front; the proxy appends the real one.
    guess_25_accounts(&app, |i| Some(format!("192.0.2.{i}, 203.0.113.7"))).await;
    assert_eq!(slowdowns(&app).await, 5);

    // Another client behind the same proxy signs in at once.
    let response = log_in_from(&app, Some("198.51.100.9"), &victim.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(slowdowns(&app).await, 5, "not slowed");
    // And someone at the attacker's own address, with their own password: slowed, not locked out.
    let response = log_in_from(&app, Some("203.0.113.7"), &victim.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(slowdowns(&app).await, 6);
}

#[tokio::test]
async fn a_peer_that_is_not_a_trusted_proxy_cannot_pick_its_address() {
    // 127.0.0.1 is not in the trusted network, so its X-Forwarded-For is ignored.
    let app = behind_proxies("10.0.0.0/8").await;
    let user = app.sign_up("spoofer@example.com", "Spoofer").await;
    guess_25_accounts(&app, |i| Some(format!("198.51.100.{i}"))).await;
    assert_eq!(
        slowdowns(&app).await,
        5,
        "every attempt counted against the peer, whatever it claimed"
    );
    let response = log_in_from(&app, Some("198.51.100.200"), &user.email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        slowdowns(&app).await,
        6,
        "a fresh claimed address is still the peer"
    );
}

#[tokio::test]
async fn ten_concurrent_sign_ups_with_one_invitation_create_one_user() {
    let app = spawn_app_tuned(|_| {}, |core| core.settings.signups_per_address = 100).await;
    let owner = app.sign_up("inviter@example.com", "Inviter").await;
    let code = app.invitation_code(&owner, "member").await;

    let mut sign_ups = Vec::new();
    for i in 0..10 {
        let url = app.url("/api/v1/auth/signup");
        let code = code.clone();
        sign_ups.push(tokio::spawn(async move {
            let email = format!("racer{i}@example.com");
            let response = client()
                .post(url)
                .json(&json!({"email": email, "password": PASSWORD, "invitation": code}))
                .sent()
                .await;
            (email, response)
        }));
    }
    let mut joined = Vec::new();
    let mut refused = Vec::new();
    for sign_up in sign_ups {
        let (email, response) = sign_up.await.unwrap();
        if response.status() == StatusCode::CREATED {
            joined.push(email);
        } else {
            let body = expect_invalid(response).await;
            assert!(body["errors"].to_string().contains("invitation"), "{body}");
            refused.push(email);
        }
    }
    assert_eq!(joined.len(), 1, "one sign-up takes the invitation");
    assert_eq!(refused.len(), 9);

    for email in &refused {
        assert!(
            app.app.store.user_by_email(email).await.unwrap().is_none(),
            "{email} was not created"
        );
        // Their email is free: they sign up on their own.
        let response = app
            .post_as_guest(
                "/api/v1/auth/signup",
                json!({"email": email, "password": PASSWORD, "workspace_name": "Own"}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED, "{email}");
    }
    let members = app.app.store.members(owner.workspace_id).await.unwrap();
    assert_eq!(members.len(), 2, "the owner and the one who joined");
    assert_eq!(members[1].1, joined[0]);
}

#[tokio::test]
async fn sign_ups_are_limited_per_client_address() {
    let app =
        spawn_app_with(|config| config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()])
            .await;
    let sign_up = |from: &'static str, email: String| {
        let url = app.url("/api/v1/auth/signup");
        async move {
            client()
                .post(url)
                .header("x-forwarded-for", from)
                .json(&json!({"email": email, "password": PASSWORD, "workspace_name": "W"}))
                .sent()
                .await
        }
    };
    for i in 0..9 {
        let response = sign_up("203.0.113.50", format!("new{i}@example.com")).await;
        assert_eq!(response.status(), StatusCode::CREATED, "sign-up {i}");
    }
    // Asking about a registered email counts too: that answer is what the limit protects.
    let response = sign_up("203.0.113.50", "new0@example.com".into()).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let response = sign_up("203.0.113.50", "eleventh@example.com".into()).await;
    expect_rate_limited(response).await;
    // The sign-up page is limited alike.
    let response = client()
        .post(app.url("/signup"))
        .header("x-forwarded-for", "203.0.113.50")
        .form(&[
            ("email", "page@example.com"),
            ("password", PASSWORD),
            ("workspace_name", "W"),
        ])
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(metric(&app, "iquivity_signups_limited_total ").await, 2);
    assert!(app
        .app
        .store
        .user_by_email("eleventh@example.com")
        .await
        .unwrap()
        .is_none());
    // Another address is not held back.
    let response = sign_up("198.51.100.50", "eleventh@example.com".into()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let _: Value = response.json().await.unwrap();
}
