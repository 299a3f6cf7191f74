//! The accounts API and dashboard figures (the foundation's benchmark) on a seeded database: one workspace
//! of N accounts measured, N more spread over other workspaces, and a dashboard workspace; the real server
//! on a loopback port, each query measured with concurrent clients beside `/healthz` as the ceiling.

use crate::db::{Backend, Database};
use crate::report::{ms, quantile, Headline, Section, Table};
use crate::seed;
use crate::serving::Serving;
use crate::Options;
use anyhow::Context;
use chrono::{Duration, Utc};
use iquivity::App;
use iquivity_core::auth::SignUp;
use iquivity_domain::{Plan, UserId, WorkspaceId};
use iquivity_store::{NewUser, NewWorkspace};
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Instant;

/// A seeded database with the service serving it.
pub struct Dataset {
    pub backend: Backend,
    pub accounts: usize,
    pub others: usize,
    pub base: String,
    pub token: String,
    pub dashboard_cookie: String,
    pub db: Database,
    pub seconds_to_seed: f64,
    /// The data directory (the key file is in it); the SQLite file too.
    pub dir: tempfile::TempDir,
    app: Arc<App>,
    serving: Serving,
}

impl Dataset {
    /// Stops the server and lets go of the database, keeping the data.
    pub async fn stop(self) -> anyhow::Result<(Database, tempfile::TempDir, String)> {
        let Dataset {
            db,
            dir,
            token,
            app,
            serving,
            ..
        } = self;
        serving.stop().await?;
        drop(app);
        Ok((db, dir, token))
    }
}

pub(crate) async fn sign_up(
    app: &App,
    email: &str,
    workspace: &str,
) -> anyhow::Result<iquivity_core::auth::NewSession> {
    let session = app
        .core
        .sign_up(SignUp::owner(email, "benchmark password", workspace))
        .await
        .map_err(|e| anyhow::anyhow!("sign-up: {e}"))?;
    app.store
        .set_plan(session.caller.workspace_id, Plan::Enterprise)
        .await?;
    Ok(session)
}

pub async fn dataset(backend: Backend, accounts: usize, o: &Options) -> anyhow::Result<Dataset> {
    let (dir, db, app) = Database::with_app(backend, &o.postgres_url).await?;
    let seeding = Instant::now();
    let measured = sign_up(&app, "bench@example.com", "Bench").await?.caller;
    let vault = app.core.vault.clone();
    seed::accounts(
        &db,
        &vault,
        seed::Owner {
            workspace: measured.workspace_id,
            user: measured.user_id,
        },
        0,
        accounts,
    )
    .await?;
    let workspaces = o.other_workspaces.max(1);
    let per_other = accounts / workspaces;
    for w in 0..workspaces {
        let user = NewUser {
            id: UserId::new(),
            email: format!("other{w}@example.com"),
            password_hash: "unused".into(),
            created_at: Utc::now(),
        };
        let workspace = NewWorkspace {
            id: WorkspaceId::new(),
            name: format!("Other {w}"),
            plan: Plan::Enterprise,
            created_at: Utc::now(),
        };
        app.store
            .create_user_with_workspace(&user, &workspace)
            .await?;
        seed::accounts(
            &db,
            &vault,
            seed::Owner {
                workspace: workspace.id,
                user: user.id,
            },
            accounts + w * per_other,
            per_other,
        )
        .await?;
    }
    let dashboard = sign_up(&app, "dashboard@example.com", "Dashboard").await?;
    seed::accounts(
        &db,
        &vault,
        seed::Owner {
            workspace: dashboard.caller.workspace_id,
            user: dashboard.caller.user_id,
        },
        0,
        o.page_accounts,
    )
    .await?;
    seed::analyze(&db).await?;
    let seconds_to_seed = seeding.elapsed().as_secs_f64();
    println!(
        "{}: seeded {accounts} + {} + {} accounts in {seconds_to_seed:.0} s",
        backend.name(),
        per_other * workspaces,
        o.page_accounts
    );
    let token = app
        .core
        .create_api_token(&measured, "bench")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let token = token.token.expose_secret().to_string();
    let dashboard_cookie = format!("iquivity_session={}", dashboard.id.expose_secret());

    let app = Arc::new(app);
    let serving = Serving::start(app.clone()).await?;
    let base = serving.base.clone();
    Ok(Dataset {
        backend,
        accounts,
        others: per_other * workspaces,
        base,
        token,
        dashboard_cookie,
        db,
        seconds_to_seed,
        dir,
        app,
        serving,
    })
}

pub struct Figure {
    pub name: &'static str,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
    pub target: Target,
}

/// What a figure must reach: a p99 ceiling, and for the list a share of `/healthz`'s throughput.
#[derive(Clone, Copy)]
pub struct Target {
    p99_ms: Option<f64>,
    healthz_share: Option<f64>,
}

const NONE: Target = Target {
    p99_ms: None,
    healthz_share: None,
};
const QUERY: Target = Target {
    p99_ms: Some(10.0),
    healthz_share: None,
};
const LIST: Target = Target {
    p99_ms: Some(10.0),
    healthz_share: Some(1.0 / 3.0),
};
const PAGE: Target = Target {
    p99_ms: Some(100.0),
    healthz_share: None,
};
const KEYSTROKE: Target = Target {
    p99_ms: Some(150.0),
    healthz_share: None,
};
/// The most a query's median may grow from the smallest data set to the largest.
const GROWTH: f64 = 1.5;

impl Target {
    fn describe(self) -> String {
        let mut parts = Vec::new();
        if let Some(ms) = self.p99_ms {
            parts.push(format!("p99 < {ms:.0} ms"));
        }
        if let Some(share) = self.healthz_share {
            parts.push(format!("≥ {:.0}% of /healthz req/s", share * 100.0));
        }
        if !parts.is_empty() {
            parts.push(format!("growth < {GROWTH}x"));
        }
        parts.join(", ")
    }

    /// Misses of the largest data set's figure, and of the growth from the smallest.
    fn misses(self, figure: &Figure, ceiling_rps: f64, growth: Option<f64>) -> Vec<String> {
        let mut misses = Vec::new();
        if let Some(ms) = self.p99_ms.filter(|ms| figure.p99_ms >= *ms) {
            misses.push(format!(
                "p99 {:.1} ms is {:.1}x the {ms:.0} ms ceiling",
                figure.p99_ms,
                figure.p99_ms / ms
            ));
        }
        if let Some(share) = self.healthz_share {
            let got = figure.rps / ceiling_rps;
            if got < share {
                misses.push(format!(
                    "{:.1}% of /healthz req/s, {:.0}x short of {:.0}%",
                    got * 100.0,
                    share / got,
                    share * 100.0
                ));
            }
        }
        if let Some(growth) = growth.filter(|g| *g >= GROWTH) {
            misses.push(format!("median grew {growth:.2}x, over {GROWTH}x"));
        }
        misses
    }
}

/// Measures GETs of `url` sent with one authentication header (a bearer token or a session cookie).
pub async fn measure(
    name: &'static str,
    url: String,
    auth: &(&'static str, String),
    o: &Options,
    target: Target,
) -> anyhow::Result<Figure> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.concurrency)
        .build()?;
    for _ in 0..50 {
        let r = client.get(&url).header(auth.0, &auth.1).send().await?;
        anyhow::ensure!(
            r.status().is_success(),
            "{name}: {} {}",
            r.status(),
            r.text().await?
        );
        r.bytes().await?;
    }
    let per_worker = (o.requests / o.concurrency).max(1);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..o.concurrency {
        let client = client.clone();
        let url = url.clone();
        let auth = auth.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                let r = client.get(&url).header(auth.0, &auth.1).send().await?;
                r.bytes().await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await??);
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let figure = Figure {
        name,
        p50_ms: quantile(&all, 0.50),
        p99_ms: quantile(&all, 0.99),
        rps: all.len() as f64 / wall,
        target,
    };
    println!(
        "{:<56} p50 {:>7.2} ms  p99 {:>7.2} ms  {:>8.0} req/s",
        figure.name, figure.p50_ms, figure.p99_ms, figure.rps
    );
    Ok(figure)
}

/// Walks 90% of the way down the measured workspace's list, for a deep cursor.
async fn deep_cursor(ds: &Dataset) -> anyhow::Result<String> {
    let client = reqwest::Client::new();
    let mut cursor = String::new();
    for _ in 0..(ds.accounts * 9 / 10 / 200) {
        let after = if cursor.is_empty() {
            String::new()
        } else {
            format!("&cursor={cursor}")
        };
        let page: serde_json::Value = client
            .get(format!("{}/api/v1/accounts?limit=200{after}", ds.base))
            .bearer_auth(&ds.token)
            .send()
            .await?
            .json()
            .await?;
        cursor = page["next_cursor"]
            .as_str()
            .context("the list ended before 90%")?
            .to_string();
    }
    Ok(cursor)
}

pub async fn figures(ds: &Dataset, o: &Options) -> anyhow::Result<Vec<Figure>> {
    println!("{} at {} accounts:", ds.backend.name(), ds.accounts);
    let base = &ds.base;
    let cursor = deep_cursor(ds).await?;
    let from = (Utc::now() - Duration::days(180)).format("%Y-%m-%d");
    let to = (Utc::now() - Duration::days(30)).format("%Y-%m-%d");
    let bearer = ("authorization", format!("Bearer {}", ds.token));
    let cookie = ("cookie", ds.dashboard_cookie.clone());
    Ok(vec![
        measure("/healthz (ceiling)", format!("{base}/healthz"), &bearer, o, NONE).await?,
        measure("list, first page (50)", format!("{base}/api/v1/accounts"), &bearer, o, LIST).await?,
        measure("list, deep cursor page (at 90%)", format!("{base}/api/v1/accounts?cursor={cursor}"), &bearer, o, LIST).await?,
        measure("search by name fragment (q=carte)", format!("{base}/api/v1/accounts?q=carte"), &bearer, o, QUERY).await?,
        measure(
            "filter platform + status + date range",
            format!("{base}/api/v1/accounts?platform=instagram&status=inactive&created_from={from}&created_to={to}"),
            &bearer,
            o,
            QUERY,
        )
        .await?,
        measure("summary", format!("{base}/api/v1/accounts/summary"), &bearer, o, QUERY).await?,
        measure("search with no match (no target)", format!("{base}/api/v1/accounts?q=zzzz"), &bearer, o, NONE).await?,
        measure("Platforms page, first screen (dashboard workspace)", format!("{base}/"), &cookie, o, PAGE).await?,
        measure(
            "search keystroke on the page (q=carte, dashboard workspace)",
            format!("{base}/fragments/accounts?q=carte&tz=60"),
            &cookie,
            o,
            KEYSTROKE,
        )
        .await?,
    ])
}

/// What was measured on one backend: the figures at each data set size, smallest first.
pub struct Run {
    pub backend: Backend,
    pub sizes: Vec<(usize, usize, f64, Vec<Figure>)>,
}

pub fn section(runs: &[Run], o: &Options) -> Section {
    let mut out = String::from("## (d) Accounts API and dashboard, by data set size\n\n");
    let mut headlines = Vec::new();
    let mut share_missed = false;
    // Misses of the p99 ceiling by queries whose median did not grow, and queries whose median grew.
    let mut p99_only: Vec<String> = Vec::new();
    let mut grew: Vec<(Backend, &'static str, f64, f64)> = Vec::new();
    out.push_str(&format!(
        "The measured workspace holds N accounts; N more are spread over {} other workspaces, and the \
         dashboard workspace holds {} (the Platforms page figures). Accounts are the rows the store writes \
         when one is connected (with a sealed credential and a \"connected\" event), inserted in bulk. \
         Load: {} requests per figure from {} concurrent clients over loopback HTTP, with the lifecycle \
         engine running beside the server as in production. Growth is the median's at the largest size \
         over the smallest: the median measures what a query costs, while the p99 on two shared cores \
         also measures scheduling.\n\n",
        o.other_workspaces, o.page_accounts, o.requests, o.concurrency
    ));
    for run in runs {
        let (Some(first), Some(last)) = (run.sizes.first(), run.sizes.last()) else {
            continue;
        };
        out.push_str(&format!("### {}\n\n", run.backend.name()));
        for (accounts, others, seconds, _) in &run.sizes {
            out.push_str(&format!(
                "- {accounts} accounts (+ {others} in other workspaces): seeded in {seconds:.0} s\n"
            ));
        }
        out.push('\n');
        let mut header: Vec<&'static str> = vec!["Query"];
        for _ in &run.sizes {
            header.extend(["N", "p50 (ms)", "p99 (ms)"]);
        }
        header.extend([
            "req/s (largest)",
            "growth p50",
            "growth p99",
            "target",
            "met",
        ]);
        let mut table = Table::new(&header);
        let ceiling = last.3[0].rps;
        // The query whose median grew most, and the p99 ceilings missed at the largest size.
        let mut worst: Option<(f64, &str)> = None;
        let mut p99_misses = Vec::new();
        for (i, figure) in last.3.iter().enumerate() {
            let mut cells = vec![figure.name.to_string()];
            for (accounts, _, _, figures) in &run.sizes {
                cells.push(accounts.to_string());
                cells.push(ms(Some(figures[i].p50_ms)));
                cells.push(ms(Some(figures[i].p99_ms)));
            }
            let small = &first.3[i];
            let growth_p50 = figure.p50_ms / small.p50_ms;
            let growth_p99 = figure.p99_ms / small.p99_ms;
            let growth = (run.sizes.len() > 1).then_some(growth_p50);
            if let (Some(g), Some(_)) = (growth, figure.target.p99_ms) {
                if worst.is_none_or(|(w, _)| g > w) {
                    worst = Some((g, figure.name));
                }
            }
            if figure
                .target
                .p99_ms
                .is_some_and(|ceiling| figure.p99_ms >= ceiling)
            {
                p99_misses.push(format!("{} ({:.1} ms)", figure.name, figure.p99_ms));
                if growth.is_none_or(|g| g < GROWTH) {
                    p99_only.push(format!("{} on {}", figure.name, run.backend.name()));
                }
            }
            if let (Some(g), Some(_)) = (growth, figure.target.p99_ms) {
                if g >= GROWTH {
                    grew.push((run.backend, figure.name, g, figure.p50_ms));
                }
            }
            share_missed |= figure
                .target
                .healthz_share
                .is_some_and(|share| figure.rps / ceiling < share);
            let described = figure.target.describe();
            let met = if described.is_empty() {
                String::new()
            } else {
                let misses = figure.target.misses(figure, ceiling, growth);
                if misses.is_empty() {
                    "yes".into()
                } else {
                    format!("no: {}", misses.join("; "))
                }
            };
            cells.extend([
                format!("{:.0}", figure.rps),
                growth.map_or("—".into(), |g| format!("{g:.2}x")),
                if run.sizes.len() > 1 {
                    format!("{growth_p99:.2}x")
                } else {
                    "—".into()
                },
                described,
                met,
            ]);
            table.row(cells);
        }
        out.push_str(&table.render());
        out.push('\n');
        if let Some((growth, query)) = worst {
            let mut misses = Vec::new();
            if growth >= GROWTH {
                misses.push(format!("{query} grew {growth:.2}x"));
            }
            if !p99_misses.is_empty() {
                misses.push(format!("p99 over its ceiling: {}", p99_misses.join(", ")));
            }
            headlines.push(Headline {
                figure: format!(
                    "(d) API, {} to {} accounts ({})",
                    first.0,
                    last.0,
                    run.backend.name()
                ),
                value: format!("largest median growth {growth:.2}x ({query})"),
                target: format!("< {GROWTH}x for every query; p99 ceilings"),
                met: if misses.is_empty() {
                    "yes".into()
                } else {
                    format!("no: {}; see (d)", misses.join("; "))
                },
            });
        }
    }
    if !p99_only.is_empty() {
        out.push_str(&format!(
            "**What limits the p99 misses of {}.** Not the data set's size: their medians grew less than \
             {GROWTH}x, as each query reads a page's worth of rows rather than the workspace. But they read \
             many rows for a page of 50 (a filter on a rare combination, or a common fragment checked row \
             by row in sort order), several times a plain page's work, and with four clients sharing the \
             two cores with the server and its engine, a request that queues behind others sees about \
             twice the median.\n\n",
            p99_only.join(", ")
        ));
    }
    for (backend, query, growth, p50) in &grew {
        let why = if *backend == Backend::Postgres && query.starts_with("search") {
            format!(
                "A trade made on purpose: a search first asks the trigram index for the accounts whose \
                 text contains it (at most 201, in all workspaces) and fetches them by key when there are \
                 at most 200, otherwise it scans the workspace in sort order. For a fragment as common as \
                 `carte` (in names in every workspace), PostgreSQL answers that probe with a bitmap of \
                 every matching row before the limit applies, so it grows with the whole table: {p50:.1} ms \
                 median at the largest size. Without the probe (a run at commit b92e474) the same search \
                 took 2.1 ms, but a text that matches nothing walked the whole workspace: 607 ms median at \
                 1,000,000 accounts, growing 12.9x; with the probe it takes a few milliseconds (the \
                 \"search with no match\" row above). The probe bounds the worst case a person can hit by \
                 typing; the cost of a common fragment is what limits this figure. Probing with a cheaper \
                 estimate first (the trigram statistics, or a capped index scan instead of a bitmap) is what \
                 would bring both under the ceiling."
            )
        } else {
            "Its cost follows the number of accounts rather than the page; its query plan is where to look."
                .to_string()
        };
        out.push_str(&format!(
            "**What grows: {query} on {}**, whose median grew {growth:.2}x. {why}\n\n",
            backend.name()
        ));
    }
    if share_missed {
        out.push_str(
        "The list's throughput target (a third of `/healthz`'s) is out of reach by design on this machine: \
         `/healthz` does no I/O and answers 15 bytes, so its ceiling measures the HTTP stack alone, while a \
         list page authenticates the token, runs the keyset query and serialises 50 accounts (about 45 KB \
         of JSON) on two cores that the load generator shares. The latency targets are what a person \
         notices.\n\n",
        );
    }
    Section {
        text: out,
        headlines,
    }
}
