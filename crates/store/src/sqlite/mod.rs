//! The SQLite backend: the embedded default. WAL mode, a busy timeout, foreign keys on, secure_delete on,
//! and write transactions begun IMMEDIATE so that concurrent writers queue instead of failing.

mod files;
mod store_impl;

use crate::{StoreError, StoreResult};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
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

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
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
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens from a `sqlite://path` URL.
    pub async fn open_url(url: &str) -> StoreResult<Self> {
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        Self::open(Path::new(path)).await
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// For a plain text search, the accounts (in every workspace) whose text contains it, from the trigram
    /// index, when they are few enough to fetch one by one; `None` means: scan in sort order instead, which
    /// for a common text stops after a page's worth.
    async fn search_keys(&self, query: &crate::AccountQuery) -> StoreResult<Option<Vec<i64>>> {
        use crate::list_query::{search_probe, SEARCH_PROBE_FEW};
        let Some(text) = search_probe(query) else {
            return Ok(None);
        };
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        let keys: Vec<i64> = sqlx::query_scalar(
            "SELECT rowid FROM accounts_search WHERE accounts_search MATCH ? LIMIT ?",
        )
        .bind(phrase)
        .bind(SEARCH_PROBE_FEW + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok((keys.len() as i64 <= SEARCH_PROBE_FEW).then_some(keys))
    }

    /// A post's targets.
    async fn targets_of(&self, post_id: &str) -> StoreResult<Vec<crate::TargetRecord>> {
        sqlx::query("SELECT * FROM post_targets WHERE post_id = ? ORDER BY id")
            .bind(post_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(crate::rows::target_from_row)
            .collect()
    }

    /// Target rows, each with its post (without the post's other targets).
    async fn with_posts(
        &self,
        rows: Vec<sqlx::sqlite::SqliteRow>,
    ) -> StoreResult<Vec<(crate::TargetRecord, crate::PostRecord)>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let target = crate::rows::target_from_row(&row)?;
            let post_row = sqlx::query("SELECT * FROM posts WHERE id = ?")
                .bind(target.post_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            out.push((target, crate::rows::post_from_row(&post_row, Vec::new())?));
        }
        Ok(out)
    }

    async fn begin_write(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}
