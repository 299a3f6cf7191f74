//! Storage: the interface the core uses ([`Store`], one trait per area: people, accounts, connections,
//! lifecycle, alerts, posts, publishing, posting queues, credentials) and its one SQL implementation ([`sql`]) for SQLite, the embedded
//! default ([`sqlite`]), and PostgreSQL for several instances ([`postgres`]), which keep only how to open
//! them and their [`sql::Dialect`]. [`open`] picks the database by URL.

mod accounts;
mod alerts;
mod clients;
mod connections;
mod credentials;
mod lifecycle;
mod links;
mod list_query;
mod mail;
mod people;
pub mod postgres;
mod posts;
mod publishing;
mod queues;
mod records;
pub(crate) mod rows;
pub mod sql;
pub mod sqlite;
mod testing;

pub use accounts::AccountStore;
pub use alerts::AlertStore;
pub use clients::ClientStore;
pub use connections::ConnectionStore;
pub use credentials::CredentialStore;
pub use lifecycle::LifecycleStore;
pub use links::{LinkOutcome, LinkRecord, LinkStore, LinkUseRecord, LinkedAccount};
pub use mail::{DigestMark, MailAttempt, MailRecord, MailStore, PasswordResetRecord};
pub use people::PeopleStore;
pub use posts::PostStore;
pub use publishing::PublishingStore;
pub use queues::QueueStore;
pub use records::*;
pub use testing::TestSupport;

use iquivity_domain::AccountId;
use std::sync::Arc;

/// Connections each instance keeps to PostgreSQL: enough for the HTTP handlers and the engine's
/// concurrent jobs, few enough that several instances stay far under PostgreSQL's default of 100.
pub const POSTGRES_POOL_SIZE: u32 = 24;

/// Whether a database URL names PostgreSQL (anything else is taken as SQLite).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the database a URL names, applying pending migrations: `postgres://…` (or `postgresql://…`) for
/// PostgreSQL, `sqlite://<path>` for the embedded default.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if is_postgres_url(url) {
        Ok(Arc::new(
            postgres::PgStore::open_url(url, POSTGRES_POOL_SIZE).await?,
        ))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open_url(url).await?))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("{0}")]
    PlanLimit(String),
    #[error("credential could not be sealed: {0}")]
    Seal(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database files: {0}")]
    Files(#[source] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What the area files (the traits and their SQL) use.
mod prelude {
    pub(crate) use crate::*;
    pub(crate) use async_trait::async_trait;
    pub(crate) use chrono::{DateTime, Utc};
    pub(crate) use iquivity_domain::{
        Account, AccountId, Labels, Plan, Platform, Role, UserId, WorkspaceId,
    };
}

/// Seals a credential for the account id it is given; called inside the store's transaction because the
/// id is only known there (a reconnect keeps the existing account's id).
pub type Sealer<'a> = &'a (dyn Fn(AccountId) -> Result<StoredCredential, String> + Send + Sync);

/// Everything the service keeps, by area; one implementation ([`sql::SqlStore`]) serves both databases, and
/// the conformance tests run against each. Through `dyn Store` every area's methods are at hand without
/// importing the area traits.
pub trait Store:
    PeopleStore
    + AccountStore
    + ClientStore
    + ConnectionStore
    + LifecycleStore
    + LinkStore
    + AlertStore
    + PostStore
    + PublishingStore
    + QueueStore
    + MailStore
    + CredentialStore
    + TestSupport
    + Send
    + Sync
    + 'static
{
}

impl Store for sql::SqlStore<sqlx::Sqlite> {}
impl Store for sql::SqlStore<sqlx::Postgres> {}
