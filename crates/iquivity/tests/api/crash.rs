//! The real binary killed (SIGKILL) while the platform holds one publishing request and the other targets
//! of the post wait for the platform's only slot: after a restart, only the target whose request went out
//! may have an unknown outcome (a LinkedIn member's post cannot be looked up; an organisation's is looked
//! up and published once); the others were never sent, so they are published, once each.

use crate::helpers::{strings_at, test_database, Fetch, PASSWORD};
use crate::instances::{free_port, spawn_binary, wait_until_up, Instance};
use iquivity_domain::Platform;
use iquivity_platforms::PlatformSettings;
use iquivity_sandbox::{Consent, Sandbox, SandboxApp, SandboxOptions};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "crash-linkedin";
const CLIENT_SECRET: &str = "crash-linkedin-secret";
const TEXT: &str = "Held at the gate";

/// The environment of both runs: one slot per platform, a short lease, LinkedIn on the test's sandbox
/// (LinkedIn cannot be asked afterwards whether a member's post was made, so that lost answer stays unknown).
fn environment(
    public_url: &str,
    database_url: Option<&str>,
    linkedin: &PlatformSettings,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("IQUIVITY_PUBLIC_URL", public_url.to_string()),
        (
            "IQUIVITY_ENCRYPTION_KEY",
            "Y3Jhc2gtdGVzdC1rZXktdGhpcnR5LXR3by1ieXRlcyE=".to_string(),
        ),
        ("IQUIVITY_DEFAULT_PLAN", "enterprise".to_string()),
        ("IQUIVITY_PER_PLATFORM_CONCURRENCY", "1".to_string()),
        ("IQUIVITY_JOB_LEASE_SECS", "15".to_string()),
        ("IQUIVITY_PLATFORM_TIMEOUT_SECS", "5".to_string()),
        ("IQUIVITY_LOG", "warn,iquivity=info".to_string()),
        ("IQUIVITY_LINKEDIN_CLIENT_ID", CLIENT_ID.to_string()),
        ("IQUIVITY_LINKEDIN_CLIENT_SECRET", CLIENT_SECRET.to_string()),
        (
            "IQUIVITY_LINKEDIN_AUTHORIZE_URL",
            linkedin.authorize_url.clone(),
        ),
        ("IQUIVITY_LINKEDIN_TOKEN_URL", linkedin.token_url.clone()),
        ("IQUIVITY_LINKEDIN_REVOKE_URL", linkedin.revoke_url.clone()),
        ("IQUIVITY_LINKEDIN_API_URL", linkedin.api_url.clone()),
    ];
    if let Some(url) = database_url {
        env.push(("IQUIVITY_DATABASE_URL", url.to_string()));
    }
    env
}

async fn get_json(client: &reqwest::Client, url: &str, token: &str) -> Value {
    client.get(url).bearer_auth(token).json_body().await
}

/// Connects a LinkedIn member and every organisation they can post as: three accounts.
async fn connect_linkedin(
    client: &reqwest::Client,
    instance: &Instance,
    token: &str,
) -> Vec<String> {
    let started: Value = client
        .post(instance.url("/api/v1/connections"))
        .bearer_auth(token)
        .json(&json!({"platform": "linkedin"}))
        .json_body()
        .await;
    let consent = Consent {
        user: Some("Olivia Bennett".into()),
        ..Consent::default()
    };
    let back = iquivity_sandbox::consent(started["authorize_url"].as_str().unwrap(), &consent)
        .await
        .unwrap();
    client.get(&back).sent().await;
    let id = started["id"].as_str().unwrap();
    let connection = get_json(
        client,
        &instance.url(&format!("/api/v1/connections/{id}")),
        token,
    )
    .await;
    assert_eq!(connection["stage"], "selecting", "{connection}");
    let targets: Vec<Value> = connection["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["unavailable"].is_null())
        .map(|c| c["platform_account_id"].clone())
        .collect();
    let selected: Value = client
        .post(instance.url(&format!("/api/v1/connections/{id}/select")))
        .bearer_auth(token)
        .json(&json!({ "targets": targets }))
        .json_body()
        .await;
    strings_at(&selected["accounts"], "id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_with_a_request_held_leaves_only_the_sent_target_unknown_and_publishes_the_rest_once(
) {
    // SQLite in the data directory both runs share, or a fresh PostgreSQL schema.
    let database_url = test_database().await;
    let data_dir = tempfile::tempdir().unwrap();
    let first_port = free_port();
    let public_url = format!("http://127.0.0.1:{first_port}");
    let sandbox = Sandbox::start(
        vec![(
            Platform::Linkedin,
            SandboxApp::new(Platform::Linkedin, CLIENT_ID, CLIENT_SECRET, &public_url),
        )],
        SandboxOptions::default(),
    )
    .await
    .unwrap();
    let sandbox_base = sandbox.base_url(Platform::Linkedin).unwrap();
    let linkedin = PlatformSettings::real(Platform::Linkedin).rebased(&sandbox_base);
    let env = environment(&public_url, database_url.as_deref(), &linkedin);
    let mut first = spawn_binary(first_port, data_dir.path(), &env);
    wait_until_up(&mut first).await;

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let signed_up = client
        .post(first.url("/api/v1/auth/signup"))
        .json(
            &json!({"email": "crash@example.com", "password": PASSWORD, "workspace_name": "Crash"}),
        )
        .sent()
        .await;
    assert_eq!(signed_up.status(), 201);
    let token: Value = client
        .post(first.url("/api/v1/tokens"))
        .json(&json!({"name": "crash"}))
        .json_body()
        .await;
    let token = token["token"].as_str().unwrap().to_string();
    let accounts = connect_linkedin(&client, &first, &token).await;
    assert_eq!(accounts.len(), 3, "{accounts:?}");

    // The platform holds every request; the post goes to all three accounts now. With one slot, one
    // request goes out and is held; the other two targets are claimed and wait for the slot.
    sandbox.hold(true);
    let created = client
        .post(first.url("/api/v1/posts"))
        .bearer_auth(&token)
        .json(&json!({"text": TEXT, "accounts": accounts}))
        .sent()
        .await;
    assert_eq!(created.status(), 201);
    let post: Value = created.json().await.unwrap();
    let post_path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let sandbox_state = || async {
        reqwest::get(format!("{sandbox_base}/_sandbox/state"))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let sent = loop {
        let now = get_json(&client, &first.url(&post_path), &token).await;
        let sending: Vec<&Value> = now["targets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["sending_at"].is_null())
            .collect();
        if sending.len() == 1 && sandbox_state().await["in_flight"]["now"] == 1 {
            break sending[0]["id"].as_str().unwrap().to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no request was held: {now}; {}",
            first.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // A moment longer, to see that the others really wait rather than go out.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let held = get_json(&client, &first.url(&post_path), &token).await;
    for target in held["targets"].as_array().unwrap() {
        assert_eq!(target["state"], "publishing", "{held}");
        assert_eq!(
            target["sending_at"].is_null(),
            target["id"] != sent.as_str(),
            "only one request out: {held}"
        );
    }
    assert_eq!(sandbox_state().await["in_flight"]["peak"], 1);

    // kill -9 while the request is held; start again on the same data, then let the platform answer.
    drop(first);
    let mut second = spawn_binary(free_port(), data_dir.path(), &env);
    wait_until_up(&mut second).await;
    sandbox.hold(false);

    let deadline = Instant::now() + Duration::from_secs(90);
    let settled = loop {
        let now = get_json(&client, &second.url(&post_path), &token).await;
        let unsettled = now["targets"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["state"] == "publishing" || t["state"] == "scheduled");
        if !unsettled {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "never settled: {now}; {}",
            second.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };

    // Which account the held request was for decides what can be known about it: an organisation's
    // posts can be looked up on LinkedIn, a member's cannot (docs/platforms/linkedin.md §5.9).
    let mut published_ids = BTreeSet::new();
    for target in settled["targets"].as_array().unwrap() {
        if target["id"] == sent.as_str() {
            let account = get_json(
                &client,
                &second.url(&format!(
                    "/api/v1/accounts/{}",
                    target["account_id"].as_str().unwrap()
                )),
                &token,
            )
            .await;
            if account["kind"] == "organization" {
                // Looked up: found if the held request was made, else sent again; published either way.
                assert_eq!(target["state"], "published", "{target}");
                published_ids.insert(target["platform_post_id"].as_str().unwrap().to_string());
            } else {
                assert_eq!(target["state"], "failed", "{target}");
                assert_eq!(target["error_class"], "unknown_outcome", "{target}");
            }
        } else {
            assert_eq!(target["state"], "published", "{target}");
            assert_eq!(target["attempts"], 1, "sent once: {target}");
            assert!(target["error_class"].is_null(), "{target}");
            published_ids.insert(target["platform_post_id"].as_str().unwrap().to_string());
        }
    }
    assert!(published_ids.len() >= 2, "{settled}");

    // On the platform: the two published under the ids the service recorded, and no account has the
    // post twice (the held request, dropped with the dead instance, may or may not have been made).
    let made: Vec<(String, String)> = sandbox_state().await["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["text"] == TEXT)
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["author"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let ids: BTreeSet<String> = made.iter().map(|(id, _)| id.clone()).collect();
    assert!(published_ids.is_subset(&ids), "{made:?}");
    let authors: BTreeSet<&String> = made.iter().map(|(_, author)| author).collect();
    assert_eq!(
        authors.len(),
        made.len(),
        "an account got the post twice: {made:?}"
    );
    assert!(made.len() <= 3, "{made:?}");
}
