//! The SQLite backend: the embedded default. WAL mode, a busy timeout, foreign keys on, secure_delete on,
//! and write transactions begun IMMEDIATE so that concurrent writers queue instead of failing.

mod files;

use crate::sql::{Dialect, SqlStore};
use crate::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Whether a connection handed back to the pool may be used again: only when it is outside any
/// transaction. A write that fails with the disk full (SQLITE_FULL, or an I/O error), at its COMMIT or
/// before, makes SQLite roll the whole transaction back by itself. sqlx does not see that: its count of
/// open transactions on the connection stays at one, the ROLLBACK it sends when the transaction is
/// dropped fails ("no transaction is active") and leaves the count as it was, and every later
/// `BEGIN IMMEDIATE` on that connection is refused with "attempted to call begin_with at non-zero
/// transaction depth", long after space has come back. Such a connection is closed instead (which ends
/// any transaction SQLite still had open), and the pool opens a fresh one.
async fn settled(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    // The rollback queued by a dropped transaction runs before this answers, so the count below is the
    // one it left.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "a database connection was left inside a transaction after a failed write; it is closed"
        );
        return Ok(false);
    }
    Ok(true)
}

/// The store on SQLite.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        files::restrict_database_files(path).map_err(StoreError::Files)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("secure_delete", "ON");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .after_release(|conn, _| Box::pin(async move { settled(conn).await }))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Opens from a `sqlite://path` URL.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Self::open(Path::new(path)).await
    }
}

impl Dialect for Sqlite {
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const SKIP_LOCKED: &'static str = "";
    const LOCK_WORKSPACE: &'static str = "";
    const GREATEST: &'static str = "MAX";
    const NEXT_SEARCH_KEY: Option<&'static str> =
        Some("(SELECT COALESCE(MAX(search_key), 0) + 1 FROM accounts)");
    const TRY_ENQUEUE_LOCK: Option<&'static str> = None;
    const PUBLISH_LOCK: Option<&'static str> = None;
    const CHECKPOINT: Option<&'static str> = Some("PRAGMA wal_checkpoint(TRUNCATE)");
    const LABEL_KEYS: &'static str = "json_each(accounts.label_keys) AS l";
    /// The trigram index (`accounts_search`, kept by triggers) matched as one phrase.
    const SEARCH_KEYS: &'static str =
        "SELECT rowid FROM accounts_search WHERE accounts_search MATCH $1 LIMIT $2";

    fn search_keys_match(text: &str) -> String {
        format!("\"{}\"", text.replace('"', "\"\""))
    }

    fn push_contains<'q>(sql: &mut QueryBuilder<'q, Self>, text: &'q str) {
        sql.push("instr(search_text, ")
            .push_bind(text)
            .push(") > 0");
    }
}
