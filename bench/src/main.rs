//! The performance report (issue 7): one command, one Markdown report.
//!
//! Parts, run in this order; name some to run only those (default: all):
//! - `refresh`: (a) a sweep of 10,000 due tokens through the engine against the sandbox at 50 ms a request;
//! - `publish`: (b) one post to 1,000 accounts at 50 ms a request, time to the last result;
//! - `engine`: (e) the engine with 1, 2 and 3 instances on PostgreSQL: throughput and duplicated jobs;
//! - `api`: (d) the accounts API and dashboard figures at 100,000 and 1,000,000 accounts, SQLite and
//!   PostgreSQL, with the growth between the sizes;
//! - `memory`: (c) the resident memory of the real server binary on the largest data set;
//! - `calendar`: (f) the calendar's month view, API and page, with 10,000 posts in the workspace.
//!
//! Run: `cargo run --release -p iquivity-bench -- --out bench/REPORT.md`
//! e.g. `cargo run --release -p iquivity-bench -- refresh publish --refresh-accounts 2000`
//!
//! Options: `--out FILE`, `--backends sqlite,postgres` (api, memory), `--live-backend sqlite` (refresh,
//! publish), `--engine-backend postgres`, `--sizes 100000,1000000`, `--other-workspaces 1000`,
//! `--page-accounts 10000`, `--requests 2000`, `--concurrency 4`, `--memory-requests 2000`,
//! `--refresh-accounts 10000`, `--publish-accounts 1000`, `--latency-ms 50`, `--engine-accounts 5000`,
//! `--engine-instances 3`, `--calendar-posts 10000`, `--postgres-url postgres://postgres@127.0.0.1:5432/test` (where the benchmark
//! creates and drops its own database, `iquivity_bench`), `--server-bin PATH`.

mod api;
mod calendar;
mod db;
mod engine;
mod live;
mod memory;
mod report;
mod seed;
mod serving;
mod sweep;

use anyhow::Context;
use db::{Backend, Database};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Part {
    Refresh,
    Publish,
    Engine,
    Api,
    Memory,
    Calendar,
}

impl Part {
    const ALL: [Part; 6] = [
        Part::Refresh,
        Part::Publish,
        Part::Engine,
        Part::Api,
        Part::Memory,
        Part::Calendar,
    ];

    fn parse(word: &str) -> anyhow::Result<Vec<Part>> {
        Ok(match word {
            "all" => Part::ALL.to_vec(),
            "refresh" => vec![Part::Refresh],
            "publish" => vec![Part::Publish],
            "engine" => vec![Part::Engine],
            "api" => vec![Part::Api],
            "memory" => vec![Part::Memory],
            "calendar" => vec![Part::Calendar],
            other => {
                anyhow::bail!(
                    "unknown part {other}: refresh, publish, engine, api, memory, calendar or all"
                )
            }
        })
    }
}

pub struct Options {
    parts: Vec<Part>,
    backends: Vec<Backend>,
    live_backend: Backend,
    engine_backend: Backend,
    sizes: Vec<usize>,
    pub other_workspaces: usize,
    pub page_accounts: usize,
    pub requests: usize,
    pub concurrency: usize,
    memory_requests: usize,
    refresh_accounts: usize,
    publish_accounts: usize,
    pub latency_ms: u64,
    pub engine_accounts: usize,
    pub engine_instances: usize,
    calendar_posts: usize,
    pub postgres_url: String,
    server_bin: Option<PathBuf>,
    out: Option<String>,
    command: String,
}

fn list<T>(value: &str, parse: impl Fn(&str) -> anyhow::Result<T>) -> anyhow::Result<Vec<T>> {
    value.split(',').map(|v| parse(v.trim())).collect()
}

fn options() -> anyhow::Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        parts: Vec::new(),
        backends: vec![Backend::Sqlite, Backend::Postgres],
        live_backend: Backend::Sqlite,
        engine_backend: Backend::Postgres,
        sizes: vec![100_000, 1_000_000],
        other_workspaces: 1_000,
        page_accounts: 10_000,
        requests: 2_000,
        concurrency: 4,
        memory_requests: 2_000,
        refresh_accounts: 10_000,
        publish_accounts: 1_000,
        latency_ms: 50,
        engine_accounts: 5_000,
        engine_instances: 3,
        calendar_posts: 10_000,
        postgres_url: "postgres://postgres@127.0.0.1:5432/test".into(),
        server_bin: None,
        out: None,
        command: format!(
            "cargo run --release -p iquivity-bench --{}",
            args.iter().map(|a| format!(" {a}")).collect::<String>()
        ),
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            o.parts.extend(Part::parse(&arg)?);
            continue;
        }
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value"))?;
        let number = |v: &str| -> anyhow::Result<usize> {
            v.replace('_', "")
                .parse()
                .with_context(|| format!("{arg}: {v} is not a number"))
        };
        match arg.as_str() {
            "--out" => o.out = Some(value),
            "--backends" => o.backends = list(&value, Backend::parse)?,
            "--live-backend" => o.live_backend = Backend::parse(&value)?,
            "--engine-backend" => o.engine_backend = Backend::parse(&value)?,
            "--sizes" => o.sizes = list(&value, number)?,
            "--other-workspaces" => o.other_workspaces = number(&value)?,
            "--page-accounts" => o.page_accounts = number(&value)?,
            "--requests" => o.requests = number(&value)?,
            "--concurrency" => o.concurrency = number(&value)?.max(1),
            "--memory-requests" => o.memory_requests = number(&value)?,
            "--refresh-accounts" => o.refresh_accounts = number(&value)?,
            "--publish-accounts" => o.publish_accounts = number(&value)?,
            "--latency-ms" => o.latency_ms = number(&value)? as u64,
            "--engine-accounts" => o.engine_accounts = number(&value)?,
            "--engine-instances" => o.engine_instances = number(&value)?.max(1),
            "--calendar-posts" => o.calendar_posts = number(&value)?.max(1),
            "--postgres-url" => o.postgres_url = value,
            "--server-bin" => o.server_bin = Some(PathBuf::from(value)),
            other => anyhow::bail!(
                "unknown option {other}; see the comment at the top of bench/src/main.rs"
            ),
        }
    }
    if o.parts.is_empty() {
        o.parts = Part::ALL.to_vec();
    }
    o.parts.sort();
    o.parts.dedup();
    o.sizes.sort_unstable();
    Ok(o)
}

impl Options {
    fn runs(&self, part: Part) -> bool {
        self.parts.contains(&part)
    }
}

/// (a) and (b): one set of connected accounts serves both.
async fn live_parts(o: &Options) -> anyhow::Result<Vec<report::Section>> {
    let dir = tempfile::tempdir()?;
    let db = Database::create(o.live_backend, dir.path(), &o.postgres_url).await?;
    let world = live::World::start(dir.path()).await?;
    let core = world.core(&db, dir.path()).await?;
    let caller = live::owner(&core).await?;
    let latency = Duration::from_millis(o.latency_ms);
    let mut sections = Vec::new();
    let accounts = if o.runs(Part::Refresh) {
        live::connect_many(
            &core,
            &caller,
            &iquivity_domain::Platform::ALL,
            o.refresh_accounts,
        )
        .await?
    } else {
        use iquivity_domain::Platform;
        let text = [Platform::Facebook, Platform::X, Platform::Linkedin];
        live::connect_many(&core, &caller, &text, o.publish_accounts).await?
    };
    if o.runs(Part::Refresh) {
        let mut sweeps =
            vec![sweep::refresh(o.live_backend, &world, &core, &caller, &accounts, latency).await?];
        if !latency.is_zero() {
            // The same sweep with nothing to wait for: what the CPU allows.
            sweeps.push(
                sweep::refresh(
                    o.live_backend,
                    &world,
                    &core,
                    &caller,
                    &accounts,
                    Duration::ZERO,
                )
                .await?,
            );
        }
        sections.push(sweep::sweep_section(&sweeps));
    }
    if o.runs(Part::Publish) {
        let published = sweep::publish(
            o.live_backend,
            &world,
            &core,
            &caller,
            &accounts,
            o.publish_accounts,
            latency,
        )
        .await?;
        sections.push(sweep::publish_section(&[published]));
    }
    drop(core);
    db.remove().await?;
    Ok(sections)
}

/// (d) and (c): the API at each size on each backend; the server's memory on the largest.
async fn data_parts(o: &Options) -> anyhow::Result<Vec<report::Section>> {
    let binary = if o.runs(Part::Memory) {
        Some(memory::server_binary(o.server_bin.as_deref())?)
    } else {
        None
    };
    let largest = o.sizes.last().copied().context("--sizes is empty")?;
    let mut runs = Vec::new();
    let mut memories = Vec::new();
    for backend in &o.backends {
        let mut run = api::Run {
            backend: *backend,
            sizes: Vec::new(),
        };
        for &size in &o.sizes {
            let measured_here = o.runs(Part::Api) || size == largest;
            if !measured_here {
                continue;
            }
            let data = api::dataset(*backend, size, o).await?;
            if o.runs(Part::Api) {
                let figures = api::figures(&data, o).await?;
                run.sizes
                    .push((size, data.others, data.seconds_to_seed, figures));
            }
            let total = size + data.others + o.page_accounts;
            let (db, dir, token) = data.stop().await?;
            if let (Some(binary), true) = (&binary, size == largest) {
                let seeded = memory::Seeded {
                    backend: *backend,
                    database_url: &db.url,
                    data_dir: &dir.path().join("data"),
                    token: &token,
                    accounts: size,
                    total_accounts: total,
                };
                memories.push(memory::measure(binary, &seeded, o.memory_requests).await?);
            }
            db.remove().await?;
            drop(dir);
        }
        runs.push(run);
    }
    let mut sections = Vec::new();
    if o.runs(Part::Memory) {
        sections.push(memory::section(&memories));
    }
    if o.runs(Part::Api) {
        sections.push(api::section(&runs, o));
    }
    Ok(sections)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = options()?;
    // Read before any work: what else the machine was doing shows in every figure.
    let header = report::header(&o.command);
    let mut sections = Vec::new();
    if o.runs(Part::Refresh) || o.runs(Part::Publish) {
        sections.extend(live_parts(&o).await?);
    }
    if o.runs(Part::Memory) || o.runs(Part::Api) {
        sections.extend(data_parts(&o).await?);
    }
    if o.runs(Part::Engine) {
        let dir = tempfile::tempdir()?;
        let db = Database::create(o.engine_backend, dir.path(), &o.postgres_url).await?;
        let runs = engine::instances(&db, &o).await?;
        db.remove().await?;
        sections.push(engine::section(&[runs]));
    }
    if o.runs(Part::Calendar) {
        let mut runs = Vec::new();
        for backend in &o.backends {
            runs.push(calendar::measure(*backend, o.calendar_posts, &o).await?);
        }
        sections.push(calendar::section(&runs));
    }
    let mut report = header;
    report.push('\n');
    report.push_str(&report::summary(&sections));
    for section in &sections {
        report.push('\n');
        report.push_str(&section.text);
    }
    print!("{report}");
    if let Some(out) = &o.out {
        std::fs::write(out, &report).with_context(|| format!("cannot write {out}"))?;
        println!("report written to {out}");
    }
    Ok(())
}
