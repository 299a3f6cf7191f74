//! `iquivity keys rotate` run as a second process (the real binary) on the data directory and database of
//! a service that keeps serving: afterwards every credential is sealed under the new key, and the running
//! service opens them (a refresh renews on the platform) and seals what it renews under the new key too.

use crate::helpers::*;
use crate::lifecycle::rig;
use iquivity_domain::Platform;
use reqwest::StatusCode;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotated_by_a_second_process_are_used_by_the_running_service() {
    let rig = rig().await;
    let app = &rig.app;
    let tiktok = rig.connect(Platform::Tiktok, "Rotating Rita").await;
    let x = rig.connect(Platform::X, "Rotating Rex").await;
    let key_before = app
        .app
        .store
        .credential(tiktok)
        .await
        .unwrap()
        .unwrap()
        .key_id;

    // Requests keep coming while the other process rotates; each must be answered.
    let serving = Arc::new(AtomicBool::new(true));
    let answered = Arc::new(AtomicU32::new(0));
    let traffic = {
        let (serving, answered) = (serving.clone(), answered.clone());
        let (url, token) = (app.url("/api/v1/accounts"), rig.user.token.clone());
        tokio::spawn(async move {
            while serving.load(Ordering::SeqCst) {
                let response = reqwest::Client::new()
                    .get(&url)
                    .bearer_auth(&token)
                    .sent()
                    .await;
                assert_eq!(response.status(), StatusCode::OK);
                answered.fetch_add(1, Ordering::SeqCst);
            }
        })
    };

    let mut rotate = Command::new(env!("CARGO_BIN_EXE_iquivity"));
    rotate
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IQUIVITY_LOG", "warn")
        .arg("--data-dir")
        .arg(app.data_dir.path().join("data"))
        .args(["keys", "rotate"]);
    if let Some(url) = &app.database_url {
        rotate.env("IQUIVITY_DATABASE_URL", url);
    }
    let output = tokio::task::spawn_blocking(move || rotate.output())
        .await
        .unwrap()
        .unwrap();
    serving.store(false, Ordering::SeqCst);
    traffic.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "keys rotate failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        answered.load(Ordering::SeqCst) > 0,
        "the service answered while the keys were rotated"
    );
    // "active key is now <id>; 2 credentials re-encrypted"
    let new_key = stdout
        .trim()
        .strip_prefix("active key is now ")
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("unexpected output: {stdout}"))
        .to_string();
    assert_ne!(new_key, key_before);
    assert!(stdout.contains("2 credentials re-encrypted"), "{stdout}");

    // What the service seals from now on (here, a new connection) is sealed under the new key, even
    // before it has had to open anything sealed under it.
    let linkedin = rig.connect(Platform::Linkedin, "Late Larry").await;
    let sealed = app.app.store.credential(linkedin).await.unwrap().unwrap();
    assert_eq!(
        sealed.key_id, new_key,
        "a new connection sealed under the new key"
    );

    for (id, platform) in [(tiktok, Platform::Tiktok), (x, Platform::X)] {
        let sealed = app.app.store.credential(id).await.unwrap().unwrap();
        assert_eq!(
            sealed.key_id, new_key,
            "{platform} re-sealed by the other process"
        );
        let renewals_before = rig.sandbox_state(platform).await["tokens"]["rotated"].clone();

        // The running service has only ever loaded the old key; it must find the new one to open this.
        let (status, refreshed) = app
            .post_bare(&rig.user, &format!("/api/v1/accounts/{id}/refresh"))
            .await;
        assert_eq!(status, StatusCode::OK, "{refreshed}");
        assert_eq!(refreshed["outcome"], "refreshed", "{refreshed}");
        assert_eq!(refreshed["account"]["status"], "active", "{refreshed}");
        assert_ne!(
            rig.sandbox_state(platform).await["tokens"]["rotated"],
            renewals_before,
            "{platform}: the refresh token was spent, so the service read it"
        );
        let resealed = app.app.store.credential(id).await.unwrap().unwrap();
        assert_ne!(
            resealed.blob, sealed.blob,
            "{platform}: renewed tokens stored"
        );
        assert_eq!(
            resealed.key_id, new_key,
            "{platform}: the service seals under the new active key"
        );
    }
}
