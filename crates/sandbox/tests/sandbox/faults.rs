//! Faults and options on every platform: rate limits, server errors, hangs, malformed JSON, latency,
//! held requests and stopping.

use super::*;
use crate::linkedin::li_login;
use crate::meta::{meta_login, FB_SCOPES, IG_SCOPES};
use crate::tiktok::{tt_login, TT_SCOPES};
use crate::x::{assert_problem, x_login, X_SCOPES};

pub(crate) async fn arm(base: &str, fault: Value) {
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

/// Waits (a minute at most) until the X server holds requests from `count` clients.
async fn held_from_becomes(sb: &Sandbox, count: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let held = sb.held_from(Platform::X).unwrap();
        if held.len() == count {
            assert!(held.iter().all(|from| from.ip().is_loopback()), "{held:?}");
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still held from {held:?}, not {count} clients"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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
    // The platform notices the client left and drops its request before anything lets it go.
    held_from_becomes(&sb, 0).await;
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
    held_from_becomes(&sb, 1).await;
    assert!(!waiting.is_finished(), "held until let go");
    assert_eq!(
        sb.acting(Platform::X),
        Some(0),
        "nothing acted on while held"
    );
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

#[tokio::test]
async fn an_injected_rate_limit_announces_its_reset_from_the_clock_a_test_set() {
    let (_sb, base) = sandbox(Platform::X).await;
    let call = signed_in_call(&base, Platform::X).await;
    let now = "2031-03-04T05:06:07Z";
    let (status, body) = control(&base, "/clock", json!({ "now": now })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["now"], now);
    arm(&base, json!({"mode": "rate_limit", "count": 1})).await;
    let limited = call.try_clone().unwrap().send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let fifteen_minutes_on: chrono::DateTime<chrono::Utc> = "2031-03-04T05:21:07Z".parse().unwrap();
    assert_eq!(
        limited.headers()["x-rate-limit-reset"],
        fifteen_minutes_on.timestamp().to_string(),
        "X's window resets 15 minutes after the platform's time"
    );

    // Back to the real time.
    let (status, body) = control(&base, "/clock", json!({ "now": null })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    arm(&base, json!({"mode": "rate_limit", "count": 1})).await;
    let before = chrono::Utc::now().timestamp();
    let limited = call.send().await.unwrap();
    let reset: i64 = limited.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(reset >= before + 900 && reset <= chrono::Utc::now().timestamp() + 900);
    let (status, _) = control(&base, "/clock", json!({ "now": "yesterday" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "not a time");
}
