//! Migrations that rewrite existing rows, checked on a database written before them, on SQLite and on
//! PostgreSQL (`IQUIVITY_TEST_POSTGRES_URL`, skipped when unreachable unless `IQUIVITY_REQUIRE_POSTGRES=1`).

#[path = "support/scratch.rs"]
mod scratch;

use iquivity_domain::{AccountKind, AccountStatus, Platform, WorkspaceId};
use iquivity_store::{AccountQuery, DeliveryState, FailureClass, StoreError, TextSearch};
use sqlx::migrate::Migrator;
use std::borrow::Cow;
use std::path::Path;

/// The migration that turned the delivery log's error text into a failure class.
const FAILURE_CLASS_SQLITE: i64 = 12;
const FAILURE_CLASS_POSTGRES: i64 = 4;

/// The migrations in `dir` older than `version`.
async fn migrations_before(dir: &str, version: i64) -> Migrator {
    let all = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .await
        .unwrap();
    Migrator {
        migrations: Cow::Owned(
            all.migrations
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    }
}

/// The migration after which accounts take any platform and kind name.
const OPEN_NAMES_SQLITE: i64 = 30;
const OPEN_NAMES_POSTGRES: i64 = 21;

/// A SQLite database in `dir` as the versions before migration `version` left it, holding `rows`; its URL.
async fn sqlite_written_before(dir: &Path, version: i64, rows: Vec<String>) -> String {
    use sqlx::Connection;
    let url = format!("sqlite://{}", dir.join("old.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&format!("{url}?mode=rwc"))
        .await
        .unwrap();
    let migrator = migrations_before("migrations/sqlite", version).await;
    migrator.run(&mut conn).await.unwrap();
    for statement in rows {
        sqlx::query(&statement).execute(&mut conn).await.unwrap();
    }
    conn.close().await.unwrap();
    url
}

/// The PostgreSQL schema at `url` as the versions before migration `version` left it, holding `rows`.
async fn postgres_written_before(url: &str, version: i64, rows: Vec<String>) {
    // A pool: a spawned task cannot hold `Migrator::run` on a `&mut PgConnection` (sqlx's bounds).
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let migrator = migrations_before("migrations/postgres", version).await;
    migrator.run(&pool).await.unwrap();
    for statement in rows {
        sqlx::query(&statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
}

const WORKSPACE: &str = "0190a000-0000-7000-8000-000000000001";
const WEBHOOK: &str = "0190a000-0000-7000-8000-000000000002";

/// A delivery log as the versions before the failure class wrote it: one row per text they wrote, and one
/// with the kind of detail such text must never show.
fn old_rows(blob: &str) -> Vec<String> {
    let mut sql = vec![
        format!("INSERT INTO workspaces (id, name, plan, created_at) VALUES ('{WORKSPACE}', 'Old', 'free', 1)"),
        format!(
            "INSERT INTO webhooks (id, workspace_id, url, secret_key_id, secret_blob, created_at) \
             VALUES ('{WEBHOOK}', '{WORKSPACE}', 'https://hooks.example.test/x', 'k', {blob}, 1)"
        ),
    ];
    for (i, (status, error)) in [
        ("NULL", "NULL"),
        ("503", "'HTTP 503'"),
        ("NULL", "'the endpoint did not answer in time'"),
        ("NULL", "'the endpoint could not be reached'"),
        (
            "NULL",
            "'error sending request for url (http://10.0.0.7:6379/): connection refused'",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        sql.push(format!(
            "INSERT INTO alerts (id, workspace_id, kind, payload, created_at) \
             VALUES ('0190a000-0000-7000-8000-00000000010{i}', '{WORKSPACE}', 'account.connected', '{{}}', {i})"
        ));
        sql.push(format!(
            "INSERT INTO webhook_deliveries (id, webhook_id, alert_id, state, attempts, run_at, last_status, last_error, created_at) \
             VALUES ('0190a000-0000-7000-8000-00000000020{i}', '{WEBHOOK}', '0190a000-0000-7000-8000-00000000010{i}', \
                     'pending', 1, 0, {status}, {error}, {i})"
        ));
    }
    sql
}

/// The delivery log's error text column is gone: the migration kept only the class.
async fn assert_error_text_gone<C>(url: &str)
where
    C: sqlx::Connection,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = C::Database>,
    for<'q> <C::Database as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, C::Database>,
{
    let mut conn = C::connect(url).await.unwrap();
    let read = sqlx::query("SELECT last_error FROM webhook_deliveries")
        .fetch_all(&mut conn)
        .await;
    assert!(read.is_err(), "the text is gone");
}

/// Reads the log through the store, with every migration applied.
async fn check_classes(url: &str) {
    let store = iquivity_store::open(url).await.unwrap();
    let workspace: WorkspaceId = WORKSPACE.parse().unwrap();
    let log = store
        .deliveries(workspace, WEBHOOK.parse().unwrap(), 10)
        .await
        .unwrap();
    let classes: Vec<(Option<FailureClass>, Option<u16>)> = log
        .iter()
        .rev()
        .map(|d| (d.failure_class, d.last_status))
        .collect();
    assert_eq!(
        classes,
        [
            (None, None),
            (Some(FailureClass::HttpStatus), Some(503)),
            (Some(FailureClass::Timeout), None),
            (Some(FailureClass::ConnectionFailed), None),
            (Some(FailureClass::ConnectionFailed), None),
        ]
    );
    assert!(log.iter().all(|d| d.state == DeliveryState::Pending));
    // Every field the record holds (records are not serialised: the API answers through views).
    let shown = format!("{log:?}");
    assert!(!shown.contains("10.0.0.7"), "{shown}");
}

#[tokio::test]
async fn sqlite_delivery_errors_become_classes() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_written_before(dir.path(), FAILURE_CLASS_SQLITE, old_rows("x'00'")).await;
    check_classes(&url).await;
    assert_error_text_gone::<sqlx::SqliteConnection>(&url).await;
}

#[tokio::test]
async fn postgres_delivery_errors_become_classes() {
    let test = "postgres_delivery_errors_become_classes";
    scratch::in_scratch_schema("iqm", test, |url| async move {
        let rows = old_rows("'\\x00'::bytea");
        postgres_written_before(&url, FAILURE_CLASS_POSTGRES, rows).await;
        check_classes(&url).await;
        assert_error_text_gone::<sqlx::PgConnection>(&url).await;
    })
    .await;
}

const ACCOUNT: &str = "0190a000-0000-7000-8000-000000000003";
const NEWER_ACCOUNT: &str = "0190a000-0000-7000-8000-000000000004";

/// An account as the versions before open platform names wrote it, with its sealed credentials.
/// `search_key` is the column and value SQLite's store writes (PostgreSQL numbers it itself).
fn account_rows(blob: &str, search_key: (&str, &str)) -> Vec<String> {
    let (key_column, key) = search_key;
    vec![
        format!("INSERT INTO workspaces (id, name, plan, created_at) VALUES ('{WORKSPACE}', 'Old', 'free', 1)"),
        format!(
            "INSERT INTO accounts (id, workspace_id, platform, kind, platform_account_id, platform_display_name, \
             sort_name, search_text, status, status_since, labels, label_keys, created_at{key_column}) \
             VALUES ('{ACCOUNT}', '{WORKSPACE}', 'linkedin', 'organization', 'org-1', 'Harbor Coffee', \
                     'harbor coffee', 'harbor coffee', 'active', 1, '[\"Client A\"]', '[\"client a\"]', 1{key})"
        ),
        format!(
            "INSERT INTO account_credentials (account_id, key_id, blob, updated_at) \
             VALUES ('{ACCOUNT}', 'k', {blob}, 1)"
        ),
    ]
}

/// The account, its credentials, its count and its place in the search index came through the migration;
/// then a platform and a kind of account this version has never heard of are stored without a migration,
/// and read back as a corrupt row rather than as a wrong one.
async fn check_account_kept_and_names_open(url: &str, search_key: (&str, &str)) {
    let store = iquivity_store::open(url).await.unwrap();
    let workspace: WorkspaceId = WORKSPACE.parse().unwrap();
    let account = store
        .account(workspace, ACCOUNT.parse().unwrap())
        .await
        .unwrap()
        .expect("the account is kept");
    assert_eq!(
        (account.platform, account.kind, account.status),
        (
            Platform::Linkedin,
            AccountKind::Organization,
            AccountStatus::Active
        )
    );
    assert_eq!(account.display_name, "Harbor Coffee");
    assert_eq!(account.labels.to_strings(), ["Client A"]);
    assert!(store
        .credential(account.id)
        .await
        .unwrap()
        .is_some_and(|c| c.key_id == "k"));
    let counts = store.account_counts(workspace).await.unwrap();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!(counts[0].count, 1);
    let query = AccountQuery {
        search: Some(TextSearch::plain("harbor")),
        ..AccountQuery::all(10)
    };
    let found = store.list_accounts(workspace, &query).await.unwrap();
    assert_eq!(found.len(), 1, "the search index still finds it");

    let (key_column, _) = search_key;
    let key = if key_column.is_empty() { "" } else { ", 2" };
    let insert = format!(
        "INSERT INTO accounts (id, workspace_id, platform, kind, platform_account_id, platform_display_name, \
         sort_name, search_text, status, status_since, created_at{key_column}) \
         VALUES ('{NEWER_ACCOUNT}', '{WORKSPACE}', 'a-later-network', 'channel', 'c-1', 'Later', 'later', \
                 'later', 'active', 1, 1{key})"
    );
    execute(url, &insert).await;
    let read = store
        .account(workspace, NEWER_ACCOUNT.parse().unwrap())
        .await;
    assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
}

/// Runs one statement on the database `url` names, outside the store.
async fn execute(url: &str, sql: &str) {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
}

#[tokio::test]
async fn sqlite_accounts_keep_everything_and_take_any_platform_name() {
    let dir = tempfile::tempdir().unwrap();
    let search_key = (", search_key", ", 1");
    let rows = account_rows("x'00'", search_key);
    let url = sqlite_written_before(dir.path(), OPEN_NAMES_SQLITE, rows).await;
    check_account_kept_and_names_open(&url, search_key).await;
}

#[tokio::test]
async fn postgres_accounts_keep_everything_and_take_any_platform_name() {
    let test = "postgres_accounts_keep_everything_and_take_any_platform_name";
    scratch::in_scratch_schema("iqm", test, |url| async move {
        let rows = account_rows("'\\x00'::bytea", ("", ""));
        postgres_written_before(&url, OPEN_NAMES_POSTGRES, rows).await;
        check_account_kept_and_names_open(&url, ("", "")).await;
    })
    .await;
}
