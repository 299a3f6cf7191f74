//! (e) The job engine on one database with one, two and three instances: the same accounts made due at
//! once, each instance its own core (connection pool, HTTP client, lease owner) running the serve loop's
//! policy, all in this process. Renewals are counted from the store's "refreshed" events: an account
//! renewed twice is a job done twice.

use crate::db::{Backend, Database};
use crate::live::{self, Worker, World};
use crate::report::{Headline, Section, Table};
use crate::Options;
use chrono::Utc;
use iquivity_domain::Platform;
use sqlx::Connection;
use std::time::{Duration, Instant};

pub struct Instances {
    pub instances: usize,
    pub accounts: usize,
    pub seconds: f64,
    pub duplicated: i64,
    pub missing: i64,
    pub retried: u64,
    /// The most requests any one platform answered at once.
    pub peak: u32,
}

pub struct EngineRuns {
    pub backend: &'static str,
    pub latency: Duration,
    pub limit: u32,
    pub runs: Vec<Instances>,
}

pub async fn instances(db: &Database, o: &Options) -> anyhow::Result<EngineRuns> {
    let dir = tempfile::tempdir()?;
    let world = World::start(dir.path()).await?;
    let first = world.core(db, dir.path()).await?;
    let caller = live::owner(&first).await?;
    let accounts = live::connect_many(&first, &caller, &Platform::ALL, o.engine_accounts).await?;
    let latency = Duration::from_millis(o.latency_ms);
    world.sandbox.set_latency(latency);
    let mut runs = Vec::new();
    for count in 1..=o.engine_instances {
        let mut cores = Vec::new();
        for _ in 0..count {
            cores.push(world.core(db, dir.path()).await?);
        }
        let now = Utc::now();
        for (id, _) in &accounts {
            first
                .store
                .schedule_account(*id, Some(Some(now)), None)
                .await?;
        }
        world.peaks();
        let since = Utc::now().timestamp_micros();
        let started = Instant::now();
        let workers: Vec<Worker> = cores
            .into_iter()
            .enumerate()
            .map(|(i, core)| Worker::start(core, format!("instance-{i}")))
            .collect();
        let goal = accounts.len() as i64;
        let mut renewed = (0, 0, since);
        while renewed.0 < goal {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(900),
                "{count} instances did not renew every account within 15 minutes"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
            renewed = refreshed_since(db, since).await?;
        }
        let mut retried = 0;
        for worker in workers {
            retried += worker.stop().await?.retried;
        }
        // A last look once every worker has stopped: a duplicate may have landed after the goal was met.
        let (distinct, events, last_at) = refreshed_since(db, since).await?;
        let peak = world.peaks().values().copied().max().unwrap_or(0);
        let run = Instances {
            instances: count,
            accounts: accounts.len(),
            seconds: (last_at - since) as f64 / 1e6,
            duplicated: events - distinct,
            missing: goal - distinct,
            retried,
            peak,
        };
        println!(
            "{count} instance(s): {} renewals in {:.1} s: {:.0}/s, {} duplicated",
            run.accounts,
            run.seconds,
            run.accounts as f64 / run.seconds,
            run.duplicated
        );
        runs.push(run);
    }
    Ok(EngineRuns {
        backend: db.backend.name(),
        latency,
        limit: first.settings.lifecycle.per_platform_concurrency,
        runs,
    })
}

/// Accounts renewed since `since` (micros), renewals in all, and when the last one was recorded: read
/// from the store's tables through a connection of its own.
async fn refreshed_since(db: &Database, since: i64) -> anyhow::Result<(i64, i64, i64)> {
    const SQL: &str = "SELECT COUNT(DISTINCT account_id), COUNT(*), COALESCE(MAX(at), 0) \
                       FROM audit_events WHERE kind = 'refreshed' AND at >= $1";
    Ok(match db.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
            let counts = sqlx::query_as(SQL).bind(since).fetch_one(&mut conn).await?;
            conn.close().await?;
            counts
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await?;
            let counts = sqlx::query_as(SQL).bind(since).fetch_one(&mut conn).await?;
            conn.close().await?;
            counts
        }
    })
}

pub fn section(runs: &[EngineRuns]) -> Section {
    let mut out = String::from(
        "## (e) The job engine on several instances

",
    );
    out.push_str(
        "The same accounts (connected through the sandbox, spread over the five platforms) made due for \
         renewal at once, then one, two and three instances on one database run the engine until every \
         one is renewed. Each instance has its own core: its own connection pool, HTTP client and lease \
         owner name; they share this process, and so its two cores, with the sandbox. Renewals are counted \
         from the store's \"refreshed\" events: an account renewed twice would be a job done twice.\n\n",
    );
    let mut table = Table::new(&[
        "Backend",
        "instances",
        "accounts",
        "latency",
        "seconds",
        "renewals/s",
        "vs one instance",
        "duplicated",
        "not renewed",
        "put back for later",
        "most in flight on one platform",
        "target",
        "met",
    ]);
    let mut headlines = Vec::new();
    for r in runs {
        let single = r.runs.first().map(|one| one.accounts as f64 / one.seconds);
        let duplicated: i64 = r.runs.iter().map(|run| run.duplicated).sum();
        let missing: i64 = r.runs.iter().map(|run| run.missing).sum();
        headlines.push(Headline {
            figure: format!(
                "(e) job engine, 1 to {} instances ({})",
                r.runs.len(),
                r.backend
            ),
            value: format!(
                "{duplicated} duplicated, {missing} lost; {} renewals/s",
                r.runs
                    .iter()
                    .map(|run| format!("{:.0}", run.accounts as f64 / run.seconds))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ),
            target: "0 duplicated".into(),
            met: if duplicated == 0 && missing == 0 {
                "yes".into()
            } else {
                "no; see (e)".into()
            },
        });
        for run in &r.runs {
            let rate = run.accounts as f64 / run.seconds;
            let met = if run.duplicated == 0 && run.missing == 0 {
                "yes".to_string()
            } else {
                format!(
                    "no: {} duplicated, {} not renewed",
                    run.duplicated, run.missing
                )
            };
            table.row(vec![
                r.backend.to_string(),
                run.instances.to_string(),
                run.accounts.to_string(),
                format!("{} ms", r.latency.as_millis()),
                format!("{:.1}", run.seconds),
                format!("{rate:.0}"),
                single.map_or("—".into(), |one| format!("{:.2}x", rate / one)),
                run.duplicated.to_string(),
                run.missing.to_string(),
                run.retried.to_string(),
                format!("{} (limit {} per instance)", run.peak, r.limit),
                "0 duplicated".to_string(),
                met,
            ]);
        }
    }
    out.push_str(&table.render());
    out.push_str(
        "\nThroughput is not a target here. Instances add platform slots (each has its own limit per \
         platform), so renewals per second grow with them until the two cores, shared by every instance, \
         the sandbox and PostgreSQL, are busy; on separate machines each instance would bring its own.\n\n",
    );
    Section {
        text: out,
        headlines,
    }
}
