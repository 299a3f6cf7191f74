//! Secrets never rest in the database in plain text, never appear in a response, and are never logged.

use crate::helpers::*;
use iquivity_domain::Platform;
use reqwest::StatusCode;
use serde_json::json;

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    contains_bytes(haystack, needle.as_bytes())
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The SQLite files as they are on disk now (the database, its WAL and shared memory), read without a
/// checkpoint first; on PostgreSQL, every row.
async fn on_disk(app: &TestApp) -> Vec<u8> {
    if app.database_url.is_some() {
        return app.database_bytes().await;
    }
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(app.data_dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("iquivity.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    bytes
}

#[tokio::test]
async fn no_secret_is_stored_logged_or_answered_in_plain_text() {
    let app = spawn_app().await;
    let user = app.sign_up("secrets@example.com", "Secrets").await;
    let access_token = format!("platform-access-{}", uuid::Uuid::new_v4());
    let id = app
        .seed_account(
            &user,
            Seed::new(Platform::Linkedin, "Vaulted").holding(&access_token),
        )
        .await;
    let refresh_token = format!("{access_token}-refresh");

    // Log in again to have a session id to look for.
    let login = app
        .post_as_guest(
            "/api/v1/auth/login",
            json!({"email": user.email, "password": user.password}),
        )
        .await;
    let session_id = session_set_by(&login);
    let invitation_code = app.invitation_code(&user, "member").await;

    // The account answers without any token, through every route that shows it.
    for path in [
        format!("/api/v1/accounts/{id}"),
        "/api/v1/accounts".to_string(),
        format!("/api/v1/accounts/{id}/events"),
    ] {
        let (status, body) = app.get(&user, &path).await;
        assert_eq!(status, StatusCode::OK);
        let text = body.to_string();
        assert!(!text.contains(&access_token), "{path} leaks: {text}");
    }

    // The credential opens with the vault, so what is stored is the real thing, encrypted.
    let stored = app.app.store.credential(id).await.unwrap().unwrap();
    let opened = iquivity_core::credentials::open(&app.app.core.vault, id, &stored).unwrap();
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&opened.access_token),
        access_token
    );

    let bytes = app.database_bytes().await;
    assert!(
        contains(&bytes, "secrets@example.com"),
        "sanity: the scan reads the database"
    );
    let secrets = [
        ("password", PASSWORD.to_string()),
        ("API token", user.token.clone()),
        ("session id", session_id.clone()),
        ("invitation code", invitation_code.clone()),
        ("access token", access_token.clone()),
        ("refresh token", refresh_token.clone()),
    ];
    for (what, secret) in &secrets {
        assert!(
            !contains(&bytes, secret),
            "the database holds the {what} in plain text"
        );
    }

    let logs = logs();
    assert!(logs.contains("user signed up"), "sanity: logs are captured");
    for (what, secret) in &secrets {
        let leaking: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains(secret.as_str()))
            .collect();
        assert!(
            leaking.is_empty(),
            "a log line holds the {what}: {leaking:#?}"
        );
    }
}

#[tokio::test]
async fn removing_an_account_destroys_its_credentials() {
    let app = spawn_app().await;
    let user = app.sign_up("shred@example.com", "Shred").await;
    let id = app
        .seed_account(&user, Seed::new(Platform::X, "Short-lived"))
        .await;
    let sealed = app.app.store.credential(id).await.unwrap().unwrap().blob;
    assert!(
        contains_bytes(&on_disk(&app).await, &sealed),
        "sanity: the sealed credential is found on disk while the account exists"
    );
    let (status, _) = app.delete(&user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(app.app.store.credential(id).await.unwrap().is_none());
    // Zeroed on disk, not only unlinked from the table: neither the database file nor its write-ahead
    // log still holds the sealed bytes (for PostgreSQL, no row does).
    assert!(
        !contains_bytes(&on_disk(&app).await, &sealed),
        "the removed credential's bytes are still in the database files"
    );
    assert!(!contains_bytes(&app.database_bytes().await, &sealed));
    let (_, events) = app.get(&user, "/api/v1/accounts").await;
    assert_eq!(events["items"], json!([]));
}

#[tokio::test]
async fn rotating_keys_re_encrypts_every_credential_and_old_ones_still_open() {
    let app = spawn_app().await;
    let user = app.sign_up("rotate@example.com", "Rotate").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Starter)
        .await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            app.seed_account(&user, Seed::new(Platform::Tiktok, format!("T{i}")))
                .await,
        );
    }
    let old_key = app
        .app
        .store
        .credential(ids[0])
        .await
        .unwrap()
        .unwrap()
        .key_id;
    let report = app.app.core.rotate_keys().await.unwrap();
    assert_eq!(report.resealed, 3);
    assert_ne!(report.new_key_id, old_key);
    for id in &ids {
        let stored = app.app.store.credential(*id).await.unwrap().unwrap();
        assert_eq!(stored.key_id, report.new_key_id);
        iquivity_core::credentials::open(&app.app.core.vault, *id, &stored).unwrap();
    }
    // A credential swapped onto another account does not open: the account id is bound in.
    let stored = app.app.store.credential(ids[0]).await.unwrap().unwrap();
    assert!(iquivity_core::credentials::open(&app.app.core.vault, ids[1], &stored).is_err());
}

#[tokio::test]
async fn an_instance_without_the_keys_the_database_was_written_with_refuses_to_start() {
    let key = |byte: u8| {
        use base64::Engine;
        secrecy::SecretString::from(base64::engine::general_purpose::STANDARD.encode([byte; 32]))
    };
    let app = spawn_app_with(|c| c.encryption_key = Some(key(1))).await;
    let user = app.sign_up("keys@example.com", "Keys").await;
    app.seed_account(&user, Seed::new(Platform::X, "Sealed"))
        .await;

    // The same database, opened as another instance would (its own data directory, so its own sandbox).
    let database_url = app.database_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}",
            app.data_dir.path().join("data/iquivity.db").display()
        )
    });
    let elsewhere = tempfile::tempdir().unwrap();
    let config = |encryption_key| iquivity::Config {
        data_dir: elsewhere.path().join("data"),
        database_url: Some(database_url.clone()),
        encryption_key: Some(encryption_key),
        ..iquivity::Config::default()
    };
    let err = iquivity::App::open(config(key(2)))
        .await
        .err()
        .expect("started with a key the database was not written with");
    let message = format!("{err:#}");
    assert!(
        message.contains("every instance must run with the same keys"),
        "{message}"
    );
    // With the old key kept for reading, it starts.
    let mut rotated = config(key(2));
    rotated.encryption_old_keys = vec![key(1)];
    let check = iquivity::App::open(rotated).await;
    assert!(check.is_ok(), "{:#}", check.err().unwrap());
}
