//! The lifecycle engine against the platform sandbox: a core whose five platforms run on the sandbox,
//! accounts connected through the sandbox's consent like "Add New Account", and the engine driven with
//! the serve loop's policy.

use crate::db::Database;
use anyhow::Context;
use iquivity_core::auth::SignUp;
use iquivity_core::connections::Callback;
use iquivity_core::{Caller, Core, CoreSettings};
use iquivity_domain::{AccountId, AccountKind, Plan, Platform};
use iquivity_platforms::{PlatformSettings, Platforms};
use iquivity_sandbox::{Consent, Sandbox, SandboxApp, SandboxOptions};
use iquivity_vault::{KeySource, Vault};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Never contacted: consent hands back the redirect, which the benchmark reads itself.
const CALLBACK_BASE: &str = "http://127.0.0.1:9";

/// The sandbox with every platform, and the settings that point the adapters at it.
pub struct World {
    pub sandbox: Sandbox,
    pub settings: BTreeMap<Platform, PlatformSettings>,
    pub vault: Arc<Vault>,
}

impl World {
    pub async fn start(dir: &Path) -> anyhow::Result<World> {
        let apps: Vec<(Platform, SandboxApp)> = Platform::ALL
            .iter()
            .map(|p| {
                (
                    *p,
                    SandboxApp::new(*p, format!("bench-{p}"), "bench-secret", CALLBACK_BASE),
                )
            })
            .collect();
        // Graph's own page size; the sandbox's default of 2 is there to make the tests page.
        let options = SandboxOptions {
            page_size: 25,
            ..SandboxOptions::default()
        };
        let sandbox = Sandbox::start(apps.clone(), options).await?;
        let mut settings = BTreeMap::new();
        for (p, app) in apps {
            let origin = sandbox
                .base_url(p)
                .with_context(|| format!("the sandbox did not start {p}"))?;
            settings.insert(
                p,
                PlatformSettings::sandboxed(p, &app.client_id, &app.client_secret, &origin),
            );
        }
        let vault = Arc::new(Vault::load(KeySource::File(dir.join("keys.json")))?);
        Ok(World {
            sandbox,
            settings,
            vault,
        })
    }

    /// One instance of the service's core on `db`: its own connection pool and HTTP client.
    pub async fn core(&self, db: &Database, dir: &Path) -> anyhow::Result<Core> {
        let store = iquivity_store::open(&db.url).await?;
        Ok(Core::new(
            store,
            self.vault.clone(),
            Platforms::new(self.settings.clone(), Platforms::DEFAULT_TIMEOUT),
            CoreSettings {
                callback_base: CALLBACK_BASE.into(),
                media_dir: dir.join("media"),
                ..CoreSettings::default()
            },
        )?)
    }

    /// API requests each platform's server has answered so far.
    pub async fn requests(&self) -> anyhow::Result<BTreeMap<Platform, u64>> {
        let client = reqwest::Client::new();
        let mut counts = BTreeMap::new();
        for p in Platform::ALL {
            let base = self.sandbox.base_url(p).context("sandbox platform")?;
            let state: serde_json::Value = client
                .get(format!("{base}/_sandbox/state"))
                .send()
                .await?
                .json()
                .await?;
            let total = state["requests"]
                .as_object()
                .map_or(0, |paths| paths.values().filter_map(|n| n.as_u64()).sum());
            counts.insert(p, total);
        }
        Ok(counts)
    }

    /// The most requests each platform answered at once since the last look.
    pub fn peaks(&self) -> BTreeMap<Platform, u32> {
        Platform::ALL
            .iter()
            .map(|p| (*p, self.sandbox.take_peak_in_flight(*p).unwrap_or(0)))
            .collect()
    }
}

pub async fn owner(core: &Core) -> anyhow::Result<Caller> {
    let caller = core
        .sign_up(SignUp::owner(
            "engine@example.com",
            "benchmark password",
            "Engine bench",
        ))
        .await
        .map_err(|e| anyhow::anyhow!("sign-up: {e}"))?
        .caller;
    core.store
        .set_plan(caller.workspace_id, Plan::Enterprise)
        .await?;
    Ok(caller)
}

/// Connects `person` on `platform` through the sandbox's consent; where the platform offers a choice
/// (Pages, Instagram accounts, organisations), the first that can be connected and is not a profile.
async fn connect(
    core: &Core,
    caller: &Caller,
    platform: Platform,
    person: &str,
) -> anyhow::Result<AccountId> {
    let started = core.start_connection(caller, None, platform, None).await?;
    let consent = Consent {
        user: Some(person.into()),
        ..Consent::default()
    };
    let approval = iquivity_sandbox::approve(&started.authorize_url, &consent).await?;
    let flow = core
        .finish_connection(
            caller,
            None,
            Callback::approved(
                platform,
                approval.state.as_deref(),
                approval.code.as_deref(),
            ),
        )
        .await?;
    if let Some(id) = flow.connected.first() {
        return Ok(*id);
    }
    let view = core.connection(caller, flow.id).await?;
    let pick = view
        .candidates
        .iter()
        .find(|c| c.unavailable.is_none() && c.kind != AccountKind::Profile)
        .with_context(|| format!("{person} has nothing to connect on {platform}"))?
        .platform_account_id
        .clone();
    let connected = core.select_targets(caller, flow.id, &[pick]).await?;
    Ok(connected
        .first()
        .context("the selection connected nothing")?
        .id)
}

/// Connects `count` people, spread round-robin over `platforms`, 32 at a time.
pub async fn connect_many(
    core: &Core,
    caller: &Caller,
    platforms: &[Platform],
    count: usize,
) -> anyhow::Result<Vec<(AccountId, Platform)>> {
    let started = Instant::now();
    let slots = Arc::new(Semaphore::new(32));
    let mut tasks = JoinSet::new();
    for i in 0..count {
        let platform = platforms[i % platforms.len()];
        let (core, caller, slots) = (core.clone(), caller.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire_owned().await?;
            let id = connect(&core, &caller, platform, &format!("Bench Person {i}")).await?;
            anyhow::Ok((id, platform))
        });
    }
    let mut accounts = Vec::with_capacity(count);
    while let Some(joined) = tasks.join_next().await {
        accounts.push(joined??);
    }
    println!(
        "connected {count} accounts through the sandbox in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(accounts)
}

/// What one worker's rounds did.
#[derive(Default)]
pub struct Totals {
    pub rounds: u32,
    pub done: u64,
    pub retried: u64,
    pub published: u64,
    pub publish_failed: u64,
    /// Milliseconds each round took.
    pub round_ms: Vec<f64>,
}

/// A worker running the engine with the serve loop's policy (crates/iquivity/src/lib.rs): the next round
/// at once after a full batch, otherwise after the idle pause.
pub struct Worker {
    done: Arc<AtomicU64>,
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<anyhow::Result<Totals>>,
}

impl Worker {
    pub fn start(core: Core, owner: String) -> Worker {
        let done = Arc::new(AtomicU64::new(0));
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let counter = done.clone();
        let handle = tokio::spawn(async move {
            let mut totals = Totals::default();
            while !*stopped.borrow() {
                let started = Instant::now();
                let report = core.run_lifecycle_round(&owner).await?;
                totals
                    .round_ms
                    .push(started.elapsed().as_secs_f64() * 1000.0);
                totals.rounds += 1;
                totals.done += u64::from(report.done);
                totals.retried += u64::from(report.retried);
                totals.published += u64::from(report.published);
                totals.publish_failed += u64::from(report.publish_failed);
                counter.fetch_add(u64::from(report.done), Ordering::Relaxed);
                if !report.more_due {
                    tokio::select! {
                        () = tokio::time::sleep(core.settings.lifecycle.idle_pause) => {}
                        _ = stopped.changed() => {}
                    }
                }
            }
            Ok(totals)
        });
        Worker { done, stop, handle }
    }

    /// Jobs done so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Stops after the current round.
    pub async fn stop(self) -> anyhow::Result<Totals> {
        // The worker may have ended on an error already; that error is what the join reports.
        let _ = self.stop.send(true);
        self.handle.await?
    }
}

/// Polls `check` until it answers true, for at most `limit`.
pub async fn wait_until<F, Fut>(limit: Duration, what: &str, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let started = Instant::now();
    while !check().await? {
        anyhow::ensure!(
            started.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
