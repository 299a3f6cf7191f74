//! The admin commands that only need the database run as a second process (the real binary) beside a
//! service that keeps serving, and their effect is seen through that service's API. (`keys rotate` has
//! its own test in `key_rotation.rs`.)

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `iquivity <args>` on the app's data directory and database, with `stdin` piped in; its output,
/// which must be a success.
fn iquivity(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    let output = run(app, args, stdin);
    assert!(
        output.status.success(),
        "iquivity {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs `iquivity <args>` as [`iquivity`] does, whatever its outcome.
fn run(app: &TestApp, args: &[&str], stdin: &str) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iquivity"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IQUIVITY_LOG", "warn")
        .arg("--data-dir")
        .arg(app.data_dir.path().join("data"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(url) = &app.database_url {
        command.env("IQUIVITY_DATABASE_URL", url);
    }
    let mut child = command.spawn().expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    child.wait_with_output().expect("the binary ends")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_create_set_plan_and_migrate_run_beside_the_service_and_take_effect() {
    let app = spawn_app().await;
    let owner = app.sign_up("owner@example.com", "Running").await;
    let (_, summary) = app.get(&owner, "/api/v1/accounts/summary").await;
    assert_eq!(summary["plan"]["name"], "free");

    iquivity(&app, &["migrate"], "");

    let out = iquivity(
        &app,
        &[
            "workspace",
            "set-plan",
            &owner.workspace_id.to_string(),
            "professional",
        ],
        "",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("professional"));
    let (_, summary) = app.get(&owner, "/api/v1/accounts/summary").await;
    assert_eq!(summary["plan"]["name"], "professional", "{summary}");

    let password = "a password piped in for the new user";
    let out = iquivity(
        &app,
        &[
            "user",
            "create",
            "--email",
            "cli@example.com",
            "--workspace",
            "Made by the CLI",
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("created user cli@example.com"),
        "{printed}"
    );
    assert!(
        !printed.contains(password),
        "a piped password is never printed"
    );
    let response = client()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "cli@example.com", "password": password}))
        .sent()
        .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the running service signs in the user the CLI created"
    );
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::OK,
        "the service kept running"
    );
}

/// Kills the service when the test ends, however it ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_demo_is_one_command_to_a_dashboard_with_the_example_accounts() {
    use std::io::{BufRead, BufReader};
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iquivity"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("IQUIVITY_LOG", "warn")
        .arg("--data-dir")
        .arg(data.path())
        .args(["--listen", "127.0.0.1:0", "serve", "--demo"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let _running = Running(child);
    // "iQuivity Social is running at http://127.0.0.1:PORT/", then, once the accounts are connected,
    // "demo workspace with 15 accounts: sign in as E with password P".
    let lines = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("a line of output");
            let done = line.starts_with("demo workspace");
            seen.push(line);
            if done {
                break;
            }
        }
        seen
    })
    .await
    .unwrap();
    let base = lines
        .iter()
        .find_map(|l| l.strip_prefix("iQuivity Social is running at "))
        .unwrap_or_else(|| panic!("no address in {lines:?}"))
        .trim_end_matches('/')
        .to_string();
    let demo = lines.last().unwrap();
    assert!(
        demo.starts_with("demo workspace with 15 accounts"),
        "{lines:?}"
    );
    let (email, password) = demo
        .split_once("sign in as ")
        .and_then(|(_, rest)| rest.split_once(" with password "))
        .unwrap_or_else(|| panic!("no sign-in in {demo}"));

    let browser = browser_client();
    let signed_in = browser
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .sent()
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    let summary: serde_json::Value = browser
        .get(format!("{base}/api/v1/accounts/summary"))
        .json_body()
        .await;
    assert_eq!(summary["total"], 15, "{summary}");
    assert_eq!(summary["active"], 15, "{summary}");
    let dashboard = browser.get(format!("{base}/")).sent().await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    assert!(dashboard.text().await.unwrap().contains("Demo"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_command_says_why_in_one_line_without_a_backtrace() {
    let app = spawn_app().await;
    let missing = iquivity_domain::WorkspaceId::new();
    let output = run(
        &app,
        &[
            "workspace",
            "set-plan",
            &missing.to_string(),
            "professional",
        ],
        "",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim_end(),
        format!("error: no workspace with id {missing}"),
        "one line"
    );

    // A refused input is one line too.
    let output = run(
        &app,
        &[
            "user",
            "create",
            "--email",
            "not-an-email",
            "--password-stdin",
        ],
        "short",
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");

    // A failure with causes (the data directory is a file) keeps them on the same line, and has no
    // backtrace unless RUST_BACKTRACE asks for one.
    let file = tempfile::NamedTempFile::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_iquivity"))
        .env_clear()
        .env("IQUIVITY_LOG", "warn")
        .arg("--data-dir")
        .arg(file.path())
        .arg("migrate")
        .output()
        .expect("the binary runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(": "),
        "{stderr}"
    );
    assert!(!stderr.to_lowercase().contains("backtrace"), "{stderr}");
    let causes: Vec<&str> = stderr.trim_end().split(": ").collect();
    let unique: std::collections::BTreeSet<&&str> = causes.iter().collect();
    assert_eq!(unique.len(), causes.len(), "no cause repeated: {stderr}");
}

#[tokio::test]
async fn the_operator_prints_a_password_reset_link_that_works_once() {
    let app = spawn_app().await;
    app.sign_up("locked-out@example.com", "Locked out").await;
    let output = iquivity(
        &app,
        &[
            "user",
            "reset-password",
            "--email",
            "locked-out@example.com",
        ],
        "",
    );
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(printed.contains("works once, for 30 minutes"), "{printed}");
    let token = printed
        .split("token=")
        .nth(1)
        .map(str::trim)
        .expect("a link with its token")
        .to_string();
    let reset = |password: &'static str| {
        let url = app.url("/reset-password");
        let token = token.clone();
        async move {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .post(url)
                .form(&[("token", token.as_str()), ("password", password)])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        reset("a new passphrase to get back in").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        reset("and again, which must fail").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let login = app
        .post_as_guest(
            "/api/v1/auth/login",
            json!({"email": "locked-out@example.com", "password": "a new passphrase to get back in"}),
        )
        .await;
    assert!(login.status().is_success());
    let unknown = run(
        &app,
        &["user", "reset-password", "--email", "nobody@example.com"],
        "",
    );
    assert!(!unknown.status.success());
}
