//! A fresh PostgreSQL schema for one test, shared by the store's test binaries (`conformance`,
//! `migrations`, `schema`), so that each says the same about an unreachable server.

use std::future::Future;
use std::io::Write;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A scratch schema on the test server: `url` opens it, `base` is the server it was made on.
struct Scratch {
    base: String,
    url: String,
    schema: String,
}

/// A new schema (named `prefix_…`) on the server named by `IQUIVITY_TEST_POSTGRES_URL` (or the local
/// default), or `None` after a notice on stderr naming `test` when that server cannot be reached. With
/// `IQUIVITY_REQUIRE_POSTGRES=1` an unreachable server fails the test instead of skipping it.
async fn scratch_schema(prefix: &str, test: &str) -> Option<Scratch> {
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

/// Runs `task` on a new schema (see `scratch_schema`), given its URL, and drops the schema afterwards:
/// the task's result, or `None` when the server cannot be reached. The task is spawned so that the schema
/// is dropped even when it panics; the panic is raised again once the schema is gone.
pub async fn in_scratch_schema<F, Fut>(prefix: &str, test: &str, task: F) -> Option<Fut::Output>
where
    F: FnOnce(String) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let scratch = scratch_schema(prefix, test).await?;
    let outcome = tokio::spawn(task(scratch.url.clone())).await;
    scratch.drop_schema().await;
    match outcome {
        Ok(output) => Some(output),
        Err(err) => match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("{test}: the task on the scratch schema did not finish: {err}"),
        },
    }
}

impl Scratch {
    /// Drops the schema; a failure is only reported, so that it never hides the test's own outcome.
    async fn drop_schema(&self) {
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
