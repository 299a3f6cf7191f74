//! The state directory: what it keeps across sandboxes, a bad file, and one process at a time.

use super::*;
use crate::faults::arm;
use crate::tiktok::{tt_login, tt_refresh, TT_SCOPES};
use crate::x::{x_login, x_refresh, X_SCOPES};

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
