//! A fresh PostgreSQL schema for one test, shared by the store's test binaries (`conformance`,
//! `migrations`, `schema`), so that each says the same about an unreachable server.

use std::io::Write;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A scratch schema on the test server: `url` opens it, `base` is the server it was made on.
pub struct Scratch {
    pub base: String,
    pub url: String,
    pub schema: String,
}

/// A new schema (named `prefix_…`) on the server named by `IQUIVITY_TEST_POSTGRES_URL` (or the local
/// default), or `None` after a notice on stderr naming `test` when that server cannot be reached. With
/// `IQUIVITY_REQUIRE_POSTGRES=1` an unreachable server fails the test instead of skipping it.
pub async fn scratch_schema(prefix: &str, test: &str) -> Option<Scratch> {
    let base = std::env::var("IQUIVITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
    let url = match iquivity_store::postgres::create_scratch_schema(&base, prefix).await {
        Ok(url) => url,
        Err(err) if std::env::var("IQUIVITY_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
            panic!("IQUIVITY_REQUIRE_POSTGRES=1, but PostgreSQL at {base} cannot be reached: {err}")
        }
        Err(err) => {
            // Written to the stderr handle itself: libtest captures `eprintln!` and would show it only for
            // a failed test, so the skip would pass unseen.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: PostgreSQL at {base} cannot be reached ({err}). \
                 Set IQUIVITY_TEST_POSTGRES_URL to run it, or IQUIVITY_REQUIRE_POSTGRES=1 to fail instead."
            );
            return None;
        }
    };
    let schema = url
        .split("options[search_path]=")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("scratch schema URL names its schema")
        .to_string();
    Some(Scratch { base, url, schema })
}

impl Scratch {
    /// Drops the schema; a failure is only reported, so that it never hides the test's own outcome.
    pub async fn drop_schema(&self) {
        use sqlx::Connection;
        let dropped = async {
            let mut conn = sqlx::PgConnection::connect(&self.base).await?;
            sqlx::query("SET lock_timeout = '30s'")
                .execute(&mut conn)
                .await?;
            sqlx::query(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema))
                .execute(&mut conn)
                .await?;
            conn.close().await
        };
        if let Err(err) = dropped.await {
            eprintln!("could not drop the scratch schema {:?}: {err}", self.schema);
        }
    }
}
