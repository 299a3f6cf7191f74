//! The one SQL implementation of every storage area, for SQLite and PostgreSQL alike.
//!
//! Both databases keep the same tables with the same column types (text ids, integer microseconds, byte
//! blobs, JSON as text), and sqlx's SQLite driver takes PostgreSQL's `$N` placeholders, so each query is
//! written once. What really differs between them is a [`Dialect`]: a handful of clauses and statements.
//!
//! Each area's file (`people.rs`, `posts.rs`, ...) is compiled twice, once in `on_sqlite` and once in
//! `on_postgres`, where `Db` names the database. That, rather than code generic over `sqlx::Database`:
//! a generic body needs some fifteen bounds that are not about `Self` (the executor of `&mut Connection`,
//! `IntoArguments`, `Encode` + `Type` + `Decode` for each Rust type bound or read), which Rust does not
//! imply from one `Backend` trait, so every impl and helper would repeat them. Compiled per database, the
//! same source stays plain sqlx code that rustfmt, clippy and the compiler treat as such.

use crate::{StoreError, StoreResult};
use sqlx::{Database, Pool, QueryBuilder, Transaction};

/// A store over one database: every area trait is implemented for `SqlStore<Sqlite>` and
/// `SqlStore<Postgres>`.
pub struct SqlStore<DB: Database> {
    pub(crate) pool: Pool<DB>,
}

impl<DB: Dialect> SqlStore<DB> {
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A transaction that will write.
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, DB>> {
        Ok(self.pool.begin_with(DB::BEGIN_WRITE).await?)
    }
}

/// The advisory lock (with the schema's hash) an instance holds while it queues due jobs.
pub(crate) const ENQUEUE_LOCK: i32 = 0x1917_0001;

/// The advisory lock (with the schema's hash) a claim of post targets takes, so that one instance at a time
/// publishes to an account and the account's rate windows hold across instances.
pub(crate) const PUBLISH_LOCK: i32 = 0x1917_0002;

/// What each database writes its own way. SQLite has one writer at a time (write transactions begin
/// IMMEDIATE and queue), so the row and advisory locks PostgreSQL needs are nothing there.
pub trait Dialect: Database {
    /// Begins a transaction that will write.
    const BEGIN_WRITE: &'static str;
    /// Ends a claim's inner `SELECT`: skip the rows another instance is claiming.
    const SKIP_LOCKED: &'static str;
    /// Ends the read of the workspace row that serialises connections to one workspace.
    const LOCK_WORKSPACE: &'static str;
    /// The larger of two values.
    const GREATEST: &'static str;
    /// The value of a new account's `search_key` (the key of its entry in the search index), when the
    /// database does not number it itself.
    const NEXT_SEARCH_KEY: Option<&'static str>;
    /// Takes [`ENQUEUE_LOCK`] (bound as `$1`) for the transaction, answering whether it was free.
    const TRY_ENQUEUE_LOCK: Option<&'static str>;
    /// Waits for [`PUBLISH_LOCK`] (bound as `$1`) and holds it for the transaction.
    const PUBLISH_LOCK: Option<&'static str>;
    /// Folds everything committed into the database's own files.
    const CHECKPOINT: Option<&'static str>;
    /// The search index's keys (`search_key`) of the accounts whose text matches `$1`, at most `$2`.
    const SEARCH_KEYS: &'static str;
    /// The value bound as `$1` to [`Self::SEARCH_KEYS`] for a search for `text`.
    fn search_keys_match(text: &str) -> String;
    /// `search_text` contains `text` (already lower-cased).
    fn push_contains<'q>(sql: &mut QueryBuilder<'q, Self>, text: &'q str);
    /// The account's lower-cased labels (the JSON array `label_keys`) as rows of a table `l` with one
    /// column, `value`.
    const LABEL_KEYS: &'static str;
}

/// An error of an insert: a unique violation is a [`StoreError::Duplicate`] of `what`.
pub(crate) fn duplicate(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |err| match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what),
        _ => err.into(),
    }
}

/// What every area's file uses (through `use super::*`).
mod prelude {
    pub(super) use super::{duplicate, Dialect, SqlStore, ENQUEUE_LOCK, PUBLISH_LOCK};
    pub(super) use crate::list_query::{list_query, search_probe, SEARCH_PROBE_FEW};
    pub(super) use crate::prelude::*;
    pub(super) use crate::rows::*;
    pub(super) use sqlx::Row;
}

/// Every area, compiled for SQLite.
#[path = "."]
#[allow(clippy::duplicate_mod)] // On purpose: the same files, once per database (see above).
mod on_sqlite {
    use super::prelude::*;
    type Db = sqlx::Sqlite;
    type Conn = sqlx::SqliteConnection;
    mod accounts;
    mod alerts;
    mod clients;
    mod connections;
    mod credentials;
    mod lifecycle;
    mod links;
    mod mail;
    mod people;
    mod posts;
    mod publishing;
    mod queues;
    mod rows;
    mod testing;
    use rows::*;
}

/// Every area, compiled for PostgreSQL.
#[path = "."]
#[allow(clippy::duplicate_mod)]
mod on_postgres {
    use super::prelude::*;
    type Db = sqlx::Postgres;
    type Conn = sqlx::PgConnection;
    mod accounts;
    mod alerts;
    mod clients;
    mod connections;
    mod credentials;
    mod lifecycle;
    mod links;
    mod mail;
    mod people;
    mod posts;
    mod publishing;
    mod queues;
    mod rows;
    mod testing;
    use rows::*;
}
