//! The PostgreSQL backend, for several instances of the service sharing one database. Claims of jobs,
//! post targets and webhook deliveries skip rows another instance is claiming (`FOR UPDATE SKIP LOCKED`)
//! and hold leases that run out, so the work of an instance that dies is taken over.

mod store_impl;

use crate::StoreResult;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Creates an empty schema named `<prefix>_<unix seconds>_<random>` and returns `base_url` with that schema
/// first on the search path: a throwaway database for tests and benchmarks, many of which share one server.
pub async fn create_scratch_schema(base_url: &str, prefix: &str) -> StoreResult<String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base_url).await?;
    // The trigram extension is per database; make sure it is there before parallel runs' migrations race
    // to create it (two concurrent CREATE EXTENSION calls can fail on a duplicate key).
    if let Err(err) = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
        .execute(&mut conn)
        .await
    {
        if !matches!(&err, sqlx::Error::Database(db) if db.is_unique_violation()) {
            return Err(err.into());
        }
    }
    let name = format!(
        "{prefix}_{}_{}",
        chrono::Utc::now().timestamp(),
        uuid::Uuid::now_v7().simple()
    );
    sqlx::query(&format!("CREATE SCHEMA \"{name}\""))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    let separator = if base_url.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base_url}{separator}options[search_path]={name},public"
    ))
}

/// The advisory lock (with the schema's hash) an instance holds while it queues due jobs.
const ENQUEUE_LOCK: i32 = 0x1917_0001;

/// The advisory lock (with the schema's hash) a claim of post targets takes, so that one instance at a time
/// publishes to an account and the account's rate windows hold across instances.
const PUBLISH_LOCK: i32 = 0x1917_0002;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects with a `postgres://` URL (libpq's parameters, e.g. `options[search_path]=...`) and applies
    /// pending migrations; instances starting together take turns on sqlx's migration lock.
    pub async fn open_url(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("iquivity");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// For a plain text search, the accounts (in every workspace) whose text contains it, from the trigram
    /// index, when they are few enough to fetch one by one; `None` means: scan in sort order instead. Asked
    /// apart from the list, because in one query with the workspace and the order the planner prefers to
    /// walk the workspace in order, which for a text that matches nothing reads all of it.
    async fn search_keys(&self, query: &crate::AccountQuery) -> StoreResult<Option<Vec<i64>>> {
        use crate::list_query::{contains_pattern, search_probe, SEARCH_PROBE_FEW};
        let Some(text) = search_probe(query) else {
            return Ok(None);
        };
        let keys: Vec<i64> = sqlx::query_scalar(
            "SELECT search_key FROM accounts WHERE search_text LIKE $1 ESCAPE '\\' LIMIT $2",
        )
        .bind(contains_pattern(text))
        .bind(SEARCH_PROBE_FEW + 1)
        .fetch_all(&self.pool)
        .await?;
        Ok((keys.len() as i64 <= SEARCH_PROBE_FEW).then_some(keys))
    }

    /// A post's targets.
    async fn targets_of(&self, post_id: &str) -> StoreResult<Vec<crate::TargetRecord>> {
        sqlx::query("SELECT * FROM post_targets WHERE post_id = $1 ORDER BY id")
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
        rows: Vec<sqlx::postgres::PgRow>,
    ) -> StoreResult<Vec<(crate::TargetRecord, crate::PostRecord)>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let target = crate::rows::target_from_row(&row)?;
            let post_row = sqlx::query("SELECT * FROM posts WHERE id = $1")
                .bind(target.post_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            out.push((target, crate::rows::post_from_row(&post_row, Vec::new())?));
        }
        Ok(out)
    }
}
