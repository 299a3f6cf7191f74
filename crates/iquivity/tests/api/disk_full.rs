//! A database that stops taking writes in the middle of a renewal (issue 11, point 6): X answers with a
//! new pair of tokens, spending the refresh token presented, and the new pair cannot be stored. The new
//! tokens are kept and stored once writes work again, the person sees an internal error with a request id
//! (never the database's words), the platform is not blamed, and writes work again at once. Likewise a
//! post the database will not let go out: it is tried again, and the platform is not blamed (issue 12).
//!
//! First with a database that refuses writes to the credentials table (a trigger; on SQLite and on
//! PostgreSQL), then for real on Linux: the SQLite database on a small tmpfs, filled up while X is
//! answering. Mounting needs root; without it those tests say so and pass, unless
//! `IQUIVITY_REQUIRE_TMPFS=1`, which makes them fail.

use crate::helpers::*;
use crate::lifecycle::{rig, Rig};
use chrono::Duration;
use iquivity_domain::{AccountId, Platform};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Words of the database's own errors that must never reach a client.
const INTERNAL_WORDS: [&str; 8] = [
    "database",
    "disk",
    "full",
    "transaction",
    "sqlite",
    "sqlx",
    "trigger",
    "space",
];

/// The stored refresh token of an account.
async fn stored_refresh_token(app: &TestApp, id: AccountId) -> String {
    let stored = app.app.store.credential(id).await.unwrap().unwrap();
    let tokens = iquivity_core::credentials::open(&app.app.core.vault, id, &stored).unwrap();
    tokens.refresh_token.unwrap().expose_secret().to_string()
}

async fn refresh(rig: &Rig, id: AccountId) -> reqwest::Response {
    reqwest::Client::new()
        .post(rig.app.url(&format!("/api/v1/accounts/{id}/refresh")))
        .bearer_auth(&rig.user.token)
        .sent()
        .await
}

/// The answer is a 500 problem saying only that something went wrong, with the request id to quote.
async fn expect_internal_error(response: reqwest::Response) -> Value {
    let problem = expect_problem(
        response,
        StatusCode::INTERNAL_SERVER_ERROR,
        "/problems/internal",
    )
    .await;
    assert!(
        problem["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{problem}"
    );
    let text = problem.to_string().to_lowercase();
    for word in INTERNAL_WORDS {
        assert!(
            !text.contains(word),
            "{word:?} reached the client: {problem}"
        );
    }
    problem
}

/// How many platform calls in a row the engine has counted as failed for the account: what makes it mark
/// the account as its platform failing.
async fn failure_count(app: &TestApp, id: AccountId) -> i64 {
    use sqlx::Connection;
    let query = "SELECT failure_count FROM accounts WHERE id = $1";
    match &app.database_url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(query)
                .bind(id.to_string())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        None => {
            let path = app.data_dir.path().join("data").join("iquivity.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query_scalar(query)
                .bind(id.to_string())
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}

async fn rotated(rig: &Rig) -> u64 {
    rig.sandbox_state(Platform::X).await["tokens"]["rotated"]
        .as_u64()
        .unwrap()
}

/// The PostgreSQL function the refusing triggers call: the error a full disk gives.
const PG_REFUSE: &str = "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
     RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = '53100'; END $$";

/// Makes the app's database refuse some writes, as a full disk would, until lifted.
struct Refusal {
    sqlite: Option<PathBuf>,
    postgres: Option<String>,
    lift_sqlite: &'static [&'static str],
    lift_postgres: &'static [&'static str],
}

impl Refusal {
    /// Every write of a credential fails.
    async fn credentials(app: &TestApp) -> Refusal {
        Refusal::install(
            app,
            &[
                "CREATE TRIGGER refuse_credential_insert BEFORE INSERT ON account_credentials \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
                "CREATE TRIGGER refuse_credential_update BEFORE UPDATE ON account_credentials \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
            ],
            &[
                PG_REFUSE,
                "CREATE TRIGGER refuse_credential BEFORE INSERT OR UPDATE ON account_credentials \
                 FOR EACH ROW EXECUTE FUNCTION refuse_write()",
            ],
            &[
                "DROP TRIGGER refuse_credential_insert",
                "DROP TRIGGER refuse_credential_update",
            ],
            &["DROP TRIGGER refuse_credential ON account_credentials"],
        )
        .await
    }

    /// Taking and releasing a refresh lease works; a write while holding one (the probe before a
    /// rotating renewal) fails.
    async fn writes_under_a_lease(app: &TestApp) -> Refusal {
        Refusal::install(
            app,
            &["CREATE TRIGGER refuse_probe BEFORE UPDATE OF refresh_lease_until ON accounts \
               WHEN OLD.refresh_lease_owner IS NEW.refresh_lease_owner AND NEW.refresh_lease_owner IS NOT NULL \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"],
            &[
                PG_REFUSE,
                "CREATE TRIGGER refuse_probe BEFORE UPDATE OF refresh_lease_until ON accounts FOR EACH ROW \
                 WHEN (OLD.refresh_lease_owner IS NOT DISTINCT FROM NEW.refresh_lease_owner \
                 AND NEW.refresh_lease_owner IS NOT NULL) EXECUTE FUNCTION refuse_write()",
            ],
            &["DROP TRIGGER refuse_probe"],
            &["DROP TRIGGER refuse_probe ON accounts"],
        )
        .await
    }

    /// Claiming a post's target works; marking it as being sent (the last write before the platform is
    /// asked) fails.
    async fn sending(app: &TestApp) -> Refusal {
        Refusal::install(
            app,
            &["CREATE TRIGGER refuse_sending BEFORE UPDATE OF sending_at ON post_targets \
               WHEN NEW.sending_at IS NOT NULL \
               BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"],
            &[
                PG_REFUSE,
                "CREATE TRIGGER refuse_sending BEFORE UPDATE OF sending_at ON post_targets FOR EACH ROW \
                 WHEN (NEW.sending_at IS NOT NULL) EXECUTE FUNCTION refuse_write()",
            ],
            &["DROP TRIGGER refuse_sending"],
            &["DROP TRIGGER refuse_sending ON post_targets"],
        )
        .await
    }

    async fn install(
        app: &TestApp,
        sqlite: &[&str],
        postgres: &[&str],
        lift_sqlite: &'static [&'static str],
        lift_postgres: &'static [&'static str],
    ) -> Refusal {
        let refusal = Refusal {
            sqlite: app
                .database_url
                .is_none()
                .then(|| app.data_dir.path().join("data").join("iquivity.db")),
            postgres: app.database_url.clone(),
            lift_sqlite,
            lift_postgres,
        };
        refusal.run(sqlite, postgres).await;
        refusal
    }

    async fn lift(&self) {
        self.run(self.lift_sqlite, self.lift_postgres).await;
    }

    async fn run(&self, sqlite: &[&str], postgres: &[&str]) {
        use sqlx::{Connection, Executor};
        if let Some(path) = &self.sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            for statement in sqlite {
                conn.execute(*statement).await.unwrap();
            }
            conn.close().await.unwrap();
        }
        if let Some(url) = &self.postgres {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            for statement in postgres {
                conn.execute(*statement).await.unwrap();
            }
            conn.close().await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_rotating_token_is_not_spent_while_the_database_refuses_writes() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Owen Price").await;
    let refusal = Refusal::writes_under_a_lease(&rig.app).await;

    expect_internal_error(refresh(&rig, id).await).await;
    assert_eq!(rotated(&rig).await, 0, "X was not asked to renew");
    assert_eq!(rig.app.app.core.unsaved_token_count(), 0);

    // The engine likewise: the job is retried later, and the account is left as it was.
    rig.clock.advance(Duration::minutes(111));
    let report = rig.round().await;
    assert_eq!((report.done, report.retried), (0, 1), "{report:?}");
    assert_eq!(rotated(&rig).await, 0);
    let account = rig.account(id).await;
    assert_eq!(account["status"], "active", "{account}");
    assert!(account["status_message"].is_null(), "{account}");
    assert_eq!(
        failure_count(&rig.app, id).await,
        0,
        "not counted as X failing"
    );

    refusal.lift().await;
    rig.clock.advance(Duration::hours(2));
    let report = rig.round().await;
    assert_eq!(report.done, 1, "{report:?}");
    assert_eq!(rotated(&rig).await, 1);
    assert_eq!(rig.account(id).await["status"], "active");
}

#[tokio::test]
async fn renewed_tokens_the_database_refuses_are_kept_and_stored_once_it_takes_writes_again() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Nora Quinn").await;
    let connected_with = stored_refresh_token(&rig.app, id).await;
    let refusal = Refusal::credentials(&rig.app).await;

    // X renews (spending the stored refresh token); storing the new pair fails.
    expect_internal_error(refresh(&rig, id).await).await;
    assert_eq!(rotated(&rig).await, 1, "the renewal went through at X");
    assert_eq!(rig.app.app.core.unsaved_token_count(), 1);
    let account = rig.account(id).await;
    assert_eq!(account["status"], "active", "X is not blamed: {account}");

    // The engine's renewal comes due while writes still fail: it does not spend the kept refresh token
    // (its replacement could not be stored either), retries later, and changes nothing about the account.
    rig.clock.advance(Duration::minutes(111));
    let report = rig.round().await;
    assert_eq!((report.done, report.retried), (0, 1), "{report:?}");
    assert_eq!(rotated(&rig).await, 1, "no second renewal");
    assert_eq!(rig.app.app.core.unsaved_token_count(), 1, "still kept");
    let account = rig.account(id).await;
    assert_eq!(account["status"], "active", "{account}");
    assert!(account["status_message"].is_null(), "{account}");
    assert_eq!(
        failure_count(&rig.app, id).await,
        0,
        "not counted as X failing"
    );
    assert_eq!(
        stored_refresh_token(&rig.app, id).await,
        connected_with,
        "nothing could be stored yet"
    );

    // Writes work again: the next round stores the kept tokens first.
    refusal.lift().await;
    rig.round().await;
    assert_eq!(rig.app.app.core.unsaved_token_count(), 0);
    assert_ne!(
        stored_refresh_token(&rig.app, id).await,
        connected_with,
        "the renewed refresh token is stored"
    );
    // And it is the live one: X refuses a spent refresh token, so a refresh works only with it.
    let response = refresh(&rig, id).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "refreshed", "{body}");
    assert_eq!(body["account"]["status"], "active", "{body}");
    assert_eq!(rotated(&rig).await, 2);
}

#[tokio::test]
async fn a_post_the_database_cannot_start_sending_is_retried_and_never_blamed_on_the_platform() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Ivy Stone").await;
    let (status, post) = rig
        .app
        .post(
            &rig.user,
            "/api/v1/posts",
            json!({"text": "Held up at home", "accounts": [id]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let refusal = Refusal::sending(&rig.app).await;

    // More rounds than the failures after which a platform that keeps failing fails the target: each one
    // puts the target back, says the fault is this service's, and neither asks X nor counts an attempt.
    for _ in 0..6 {
        let report = rig.round().await;
        assert_eq!(
            (report.published, report.publish_failed),
            (0, 0),
            "{report:?}"
        );
        let (_, now) = rig.app.get(&rig.user, &path).await;
        let target = &now["targets"][0];
        assert_eq!(target["state"], "scheduled", "{target}");
        assert_eq!(target["attempts"], 0, "{target}");
        assert!(target["error_class"].is_null(), "{target}");
        let message = target["error_message"].as_str().unwrap();
        assert!(message.contains("on our side"), "{message}");
        assert!(!message.to_lowercase().contains("database"), "{message}");
        rig.clock.advance(Duration::minutes(2));
    }
    assert_eq!(
        rig.sandbox_posts(Platform::X).await.len(),
        0,
        "X was never asked"
    );
    let account = rig.account(id).await;
    assert_eq!(account["status"], "active", "X is not blamed: {account}");
    assert!(account["status_message"].is_null(), "{account}");
    assert_eq!(
        failure_count(&rig.app, id).await,
        0,
        "not counted as X failing"
    );

    // Writes work again: the next round publishes it, once.
    refusal.lift().await;
    let report = rig.round().await;
    assert_eq!(report.published, 1, "{report:?}");
    let (_, after) = rig.app.get(&rig.user, &path).await;
    assert_eq!(after["targets"][0]["state"], "published", "{after}");
    assert_eq!(after["targets"][0]["attempts"], 1, "{after}");
    assert_eq!(rig.sandbox_posts(Platform::X).await.len(), 1);
}

/// A tmpfs mounted for one test, unmounted (lazily, so even with files open) when dropped.
struct Tmpfs {
    mount: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (having said why) when mounting is not permitted, unless `IQUIVITY_REQUIRE_TMPFS=1`.
    fn mount(size: &str) -> Option<Tmpfs> {
        let mount = tempfile::tempdir().unwrap();
        let outcome = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(mount.path())
            .output();
        let why = match outcome {
            Ok(output) if output.status.success() => return Some(Tmpfs { mount }),
            Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_string(),
            Err(err) => err.to_string(),
        };
        if std::env::var("IQUIVITY_REQUIRE_TMPFS").as_deref() == Ok("1") {
            panic!("IQUIVITY_REQUIRE_TMPFS=1, but a tmpfs cannot be mounted: {why}");
        }
        crate::helpers::announce_skip(&format!("a tmpfs cannot be mounted here ({why}); run as root, or set IQUIVITY_REQUIRE_TMPFS=1 to make this a failure"));
        None
    }

    fn path(&self) -> &Path {
        self.mount.path()
    }

    /// Fills what is left of the file system with one file, and answers its path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let filler = self.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0x5a_u8; 64 * 1024];
        loop {
            if let Err(err) = file.write_all(&chunk) {
                assert_eq!(err.kind(), std::io::ErrorKind::StorageFull, "{err}");
                break;
            }
        }
        // What a 64 KiB write could not take, byte by byte.
        while file.write_all(&[0x5a]).is_ok() {}
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.mount.path())
            .status();
    }
}

#[tokio::test]
async fn a_disk_that_fills_up_during_a_renewal_loses_no_token_and_writes_work_as_soon_as_space_is_back(
) {
    let Some(disk) = Tmpfs::mount("16m") else {
        return;
    };
    let database = disk.path().join("iquivity.db");
    let (app, clock) = spawn_app_on_clock(chrono::Utc::now(), |c| {
        c.database_url = Some(format!("sqlite://{}", database.display()));
    })
    .await;
    let user = app.sign_up("full@example.com", "Full disk").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Enterprise)
        .await;
    let rig = Rig { app, clock, user };
    let id = rig.connect(Platform::X, "Iris Walsh").await;

    // Everything so far goes into the database file, so that any further write needs new space.
    rig.app.app.store.checkpoint().await.unwrap();
    // X holds the renewal until the disk is full: it then renews, and storing the new pair fails.
    rig.control(Platform::X, "/_sandbox/hold", json!({"held": true}))
        .await;
    let request = {
        let (url, token) = (
            rig.app.url(&format!("/api/v1/accounts/{id}/refresh")),
            rig.user.token.clone(),
        );
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .sent()
                .await
        })
    };
    for _ in 0..500 {
        if rig.sandbox_state(Platform::X).await["in_flight"]["now"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        rig.sandbox_state(Platform::X).await["in_flight"]["now"],
        1,
        "the renewal reached X"
    );
    let filler = disk.fill();
    rig.control(Platform::X, "/_sandbox/hold", json!({"held": false}))
        .await;
    expect_internal_error(request.await.unwrap()).await;
    assert_eq!(rotated(&rig).await, 1, "X renewed");
    assert_eq!(
        rig.app.app.core.unsaved_token_count(),
        1,
        "the new pair is kept"
    );

    // Space comes back: writes work at once, on every pooled connection, and the kept tokens are the
    // ones used (X would refuse the spent refresh token the database still has).
    std::fs::remove_file(&filler).unwrap();
    for round in 1..=10 {
        let response = refresh(&rig, id).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "refresh {round}: {body}");
        assert_eq!(body["outcome"], "refreshed", "refresh {round}: {body}");
        assert_eq!(body["account"]["status"], "active", "{body}");
    }
    assert_eq!(rotated(&rig).await, 11);
    assert_eq!(rig.app.app.core.unsaved_token_count(), 0);
    assert_eq!(rig.account(id).await["status"], "active");
}

#[tokio::test]
async fn an_upload_that_does_not_fit_leaves_no_file_and_the_next_one_is_stored_whole() {
    let Some(disk) = Tmpfs::mount("1m") else {
        return;
    };
    let media = disk.path().join("media");
    let media_dir = media.clone();
    let app = spawn_app_tuned(|_| {}, move |core| core.settings.media_dir = media_dir).await;
    let user = app.sign_up("upload@example.com", "Uploads").await;
    std::fs::create_dir(&media).unwrap();
    let filler = disk.fill();
    let upload = || {
        reqwest::Client::new()
            .post(app.url("/api/v1/media"))
            .bearer_auth(&user.token)
            .header("content-type", "image/png")
            .body(vec![7_u8; 200 * 1024])
            .send()
    };

    expect_internal_error(upload().await.unwrap()).await;
    let left: Vec<_> = std::fs::read_dir(&media).unwrap().collect();
    assert!(left.is_empty(), "a failed upload left {left:?}");

    std::fs::remove_file(&filler).unwrap();
    let response = upload().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let names: Vec<String> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let stored = media.join(&names[0]);
    assert_eq!(std::fs::read(&stored).unwrap().len(), 200 * 1024);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
