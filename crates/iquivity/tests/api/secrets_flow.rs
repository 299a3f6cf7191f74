//! The secrets a real connection handles, followed through it: an X account connected through the sandbox's
//! OAuth (with PKCE), renewed, health-checked, sent to a webhook's workspace and removed, with every log
//! line at TRACE. None of the tokens the platform issued, the OAuth code, the PKCE verifier, the platform
//! client secret, the webhook secret or the encryption key may appear in a log line, in any answer the
//! service gave, or in the database.

use crate::helpers::*;
use crate::lifecycle::rig;
use crate::secrets::contains;
use iquivity_domain::{AccountId, Platform};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

/// Every answer the service gave in this test, as text.
#[derive(Default)]
struct Answers(Vec<String>);

impl Answers {
    /// Keeps the answer's headers and body; answers the body.
    async fn keep(&mut self, response: reqwest::Response) -> String {
        let headers = format!("{:?}", response.headers());
        let body = response.text().await.expect("the answer is text");
        self.0.push(format!("{headers}\n{body}"));
        body
    }

    fn json(&mut self, value: &Value) {
        self.0.push(value.to_string());
    }
}

/// The access and refresh token an account's stored credential holds, opened with the service's vault.
async fn tokens_of(app: &TestApp, id: AccountId) -> Vec<(String, String)> {
    let stored = app.app.store.credential(id).await.unwrap().unwrap();
    let tokens = iquivity_core::credentials::open(&app.app.core.vault, id, &stored).unwrap();
    let mut found = vec![(
        "access token".to_string(),
        tokens.access_token.expose_secret().to_string(),
    )];
    if let Some(refresh) = &tokens.refresh_token {
        found.push(("refresh token".into(), refresh.expose_secret().to_string()));
    }
    found
}

#[tokio::test]
async fn secrets_of_a_real_connection_are_never_logged_answered_or_stored_in_plain_text() {
    let rig = rig().await;
    let app = &rig.app;
    let mut answers = Answers::default();
    let mut secrets: Vec<(String, String)> = Vec::new();

    // Signed in as a browser is, then "Add New Account" for X.
    let browser = browser_client();
    let login = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": rig.user.email, "password": PASSWORD}))
        .sent()
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    answers.keep(login).await;
    let started = browser
        .post(app.url("/api/v1/connections"))
        .json(&json!({"platform": "x"}))
        .sent()
        .await;
    assert_eq!(started.status(), StatusCode::CREATED);
    let started: Value = serde_json::from_str(&answers.keep(started).await).unwrap();
    let flow_id: uuid::Uuid = started["id"].as_str().unwrap().parse().unwrap();

    // The PKCE verifier, as the service sealed it for the token exchange.
    let flow = app
        .app
        .store
        .flow(rig.user.workspace_id, flow_id)
        .await
        .unwrap()
        .unwrap();
    let verifier = iquivity_core::credentials::open_bytes(
        &app.app.core.vault,
        &flow_id.to_string(),
        flow.verifier.as_ref().expect("X uses PKCE"),
    )
    .unwrap();
    secrets.push((
        "PKCE verifier".into(),
        String::from_utf8(verifier.to_vec()).unwrap(),
    ));

    let consent = iquivity_sandbox::Consent {
        user: Some("Secretive Sam".into()),
        ..iquivity_sandbox::Consent::default()
    };
    let back = iquivity_sandbox::consent(started["authorize_url"].as_str().unwrap(), &consent)
        .await
        .unwrap();
    let back_url = url::Url::parse(&back).unwrap();
    let code = back_url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("the platform sends a code back");
    secrets.push(("OAuth code".into(), code));
    let callback = browser.get(&back).sent().await;
    assert!(callback.status().is_redirection(), "{}", callback.status());
    answers.keep(callback).await;
    let connection = browser
        .get(app.url(&format!("/api/v1/connections/{flow_id}")))
        .sent()
        .await;
    let connection: Value = serde_json::from_str(&answers.keep(connection).await).unwrap();
    assert_eq!(connection["stage"], "done", "{connection}");
    let id: AccountId = connection["connected"][0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    secrets.extend(tokens_of(app, id).await);

    // A refresh: X spends its refresh token and issues a new pair, which come through a platform call.
    let (status, refreshed) = app
        .post_bare(&rig.user, &format!("/api/v1/accounts/{id}/refresh"))
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    answers.json(&refreshed);
    let renewed = tokens_of(app, id).await;
    assert_ne!(renewed, secrets[secrets.len() - 2..], "renewed tokens");
    secrets.extend(renewed);
    // Two days on, the engine renews and checks the account on its own, with the tokens it holds.
    rig.clock.advance(chrono::Duration::days(2));
    assert!(
        rig.round().await.done > 0,
        "the engine worked on the account"
    );
    secrets.extend(tokens_of(app, id).await);

    let x = app.app.core.platforms.get(Platform::X).unwrap();
    secrets.push((
        "platform client secret".into(),
        x.settings().client_secret.expose_secret().to_string(),
    ));

    // A webhook: its secret is shown once, in the answer that creates it, and never again.
    let (status, webhook) = app
        .post(
            &rig.user,
            "/api/v1/webhooks",
            json!({"url": "https://hooks.example.com/iquivity"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{webhook}");
    secrets.push((
        "webhook secret".into(),
        webhook["secret"].as_str().unwrap().to_string(),
    ));

    // The encryption key, as the key file holds it and as raw bytes.
    let key_file: Value =
        serde_json::from_slice(&std::fs::read(app.data_dir.path().join("data/keys.json")).unwrap())
            .unwrap();
    let mut raw_keys = Vec::new();
    for (key_id, key) in key_file["keys"].as_object().unwrap() {
        let key = key.as_str().unwrap().to_string();
        use base64::Engine;
        raw_keys.push(
            base64::engine::general_purpose::STANDARD
                .decode(&key)
                .unwrap(),
        );
        secrets.push((format!("encryption key {key_id}"), key));
    }

    for path in [
        "/api/v1/accounts".to_string(),
        format!("/api/v1/accounts/{id}"),
        format!("/api/v1/accounts/{id}/events"),
        "/api/v1/activity".to_string(),
        "/api/v1/notifications".to_string(),
        "/api/v1/webhooks".to_string(),
        "/api/v1/me".to_string(),
    ] {
        let (status, body) = app.get(&rig.user, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        answers.json(&body);
    }
    for page in [
        "/".to_string(),
        format!("/accounts/{id}"),
        "/settings".into(),
    ] {
        let response = browser.get(app.url(&page)).sent().await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        answers.keep(response).await;
    }

    // Removed, then revoked on the platform by the engine with the tokens it still held.
    let (status, _) = app
        .delete(&rig.user, &format!("/api/v1/accounts/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    rig.round().await;
    assert_eq!(rig.sandbox_state(Platform::X).await["revocations"], 1);

    assert!(secrets.len() >= 9, "{secrets:?}");
    let answered = answers.0.join("\n");
    assert!(
        answered.contains("Secretive Sam"),
        "sanity: the answers are scanned"
    );
    let logs = logs();
    assert!(
        logs.contains(&id.to_string()),
        "sanity: this test's logs are captured"
    );
    let database = app.database_bytes().await;
    assert!(
        contains(&database, &rig.user.email),
        "sanity: the scan reads the database"
    );
    for (what, secret) in &secrets {
        assert!(!answered.contains(secret), "an answer holds the {what}");
        let leaking: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            leaking.is_empty(),
            "a log line holds the {what}: {leaking:#?}"
        );
        assert!(
            !contains(&database, secret),
            "the database holds the {what}"
        );
    }
    for key in &raw_keys {
        assert!(
            !database.windows(key.len()).any(|w| w == key.as_slice()),
            "the database holds an encryption key's bytes"
        );
    }
}
