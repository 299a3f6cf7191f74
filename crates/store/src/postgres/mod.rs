//! The PostgreSQL backend, for several instances of the service sharing one database. Claims of jobs,
//! post targets and webhook deliveries skip rows another instance is claiming (`FOR UPDATE SKIP LOCKED`)
//! and hold leases that run out, so the work of an instance that dies is taken over.

use crate::list_query::contains_pattern;
use crate::sql::{Dialect, SqlStore};
use crate::StoreResult;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Postgres, QueryBuilder};
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

/// The store on PostgreSQL.
pub type PgStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
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
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

impl Dialect for Postgres {
    const BEGIN_WRITE: &'static str = "BEGIN";
    const SKIP_LOCKED: &'static str = " FOR UPDATE SKIP LOCKED";
    /// NO KEY UPDATE leaves the key-share locks of other writers' foreign keys be.
    const LOCK_WORKSPACE: &'static str = " FOR NO KEY UPDATE";
    const GREATEST: &'static str = "GREATEST";
    /// An identity column.
    const NEXT_SEARCH_KEY: Option<&'static str> = None;
    /// Keyed by schema as well, so deployments (or tests) in other schemas of the database go their way.
    const TRY_ENQUEUE_LOCK: Option<&'static str> =
        Some("SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))");
    const PUBLISH_LOCK: Option<&'static str> =
        Some("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))");
    const CHECKPOINT: Option<&'static str> = None;
    const LABEL_KEYS: &'static str =
        "json_array_elements_text(accounts.label_keys::json) AS l(value)";
    /// Asked apart from the list, because in one query with the workspace and the order the planner
    /// prefers to walk the workspace in order, which for a text that matches nothing reads all of it.
    const SEARCH_KEYS: &'static str =
        "SELECT search_key FROM accounts WHERE search_text LIKE $1 ESCAPE '\\' LIMIT $2";

    fn search_keys_match(text: &str) -> String {
        contains_pattern(text)
    }

    fn push_contains<'q>(sql: &mut QueryBuilder<'q, Self>, text: &'q str) {
        // LIKE rather than strpos() so the trigram index can answer it.
        sql.push("search_text LIKE ")
            .push_bind(contains_pattern(text))
            .push(" ESCAPE '\\'");
    }
}
