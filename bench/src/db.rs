//! The database a part runs on: a SQLite file in a temporary directory, or a PostgreSQL database the
//! benchmark creates (and drops afterwards) beside the administration database it is given.

use anyhow::Context;
use iquivity::{App, Config};
use sqlx::Connection;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn parse(name: &str) -> anyhow::Result<Backend> {
        match name {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => anyhow::bail!("unknown backend {other}: sqlite or postgres"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// The benchmark's own PostgreSQL database; created fresh for each data set.
const PG_DATABASE: &str = "iquivity_bench";

pub struct Database {
    pub backend: Backend,
    pub url: String,
    /// Where the PostgreSQL database was created from, to drop it when done.
    admin_url: Option<String>,
}

impl Database {
    /// A new, empty database: `bench.db` in `dir`, or `iquivity_bench` on the server of `admin_url`.
    pub async fn create(backend: Backend, dir: &Path, admin_url: &str) -> anyhow::Result<Database> {
        match backend {
            Backend::Sqlite => {
                let path = dir.join("bench.db");
                let path = path
                    .to_str()
                    .context("the temporary directory is not UTF-8")?;
                Ok(Database {
                    backend,
                    url: format!("sqlite://{path}"),
                    admin_url: None,
                })
            }
            Backend::Postgres => {
                drop_database(admin_url).await?;
                let mut admin = sqlx::PgConnection::connect(admin_url)
                    .await
                    .with_context(|| format!("cannot reach PostgreSQL at {admin_url}"))?;
                sqlx::query(&format!("CREATE DATABASE {PG_DATABASE}"))
                    .execute(&mut admin)
                    .await?;
                admin.close().await?;
                let mut url = url::Url::parse(admin_url)?;
                url.set_path(PG_DATABASE);
                Ok(Database {
                    backend,
                    url: url.to_string(),
                    admin_url: Some(admin_url.to_string()),
                })
            }
        }
    }

    /// A new temporary directory, a new database for it and the service opened on that database, with
    /// its data directory in the temporary one.
    pub async fn with_app(
        backend: Backend,
        admin_url: &str,
    ) -> anyhow::Result<(tempfile::TempDir, Database, App)> {
        let dir = tempfile::tempdir()?;
        let db = Database::create(backend, dir.path(), admin_url).await?;
        let app = App::open(Config {
            data_dir: dir.path().join("data"),
            database_url: Some(db.url.clone()),
            log: "warn".into(),
            ..Config::default()
        })
        .await?;
        Ok((dir, db, app))
    }

    /// Drops the PostgreSQL database (the SQLite file goes with its temporary directory).
    pub async fn remove(self) -> anyhow::Result<()> {
        match &self.admin_url {
            Some(admin_url) => drop_database(admin_url).await,
            None => Ok(()),
        }
    }
}

async fn drop_database(admin_url: &str) -> anyhow::Result<()> {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("cannot reach PostgreSQL at {admin_url}"))?;
    // FORCE: a run that was interrupted may have left connections behind.
    sqlx::query(&format!(
        "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
    ))
    .execute(&mut admin)
    .await?;
    admin.close().await?;
    Ok(())
}
