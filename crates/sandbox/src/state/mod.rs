//! The memory of one sandbox server: who signed in, which codes and tokens exist, what was posted (the
//! `World`, in `world.rs`, which can be kept on disk), and which faults are armed (the `Run`, here, which
//! never is).

mod world;

pub(crate) use world::{
    AuthCode, Caller, Challenge, CodeError, RevokeReason, TokenError, TokenKind, World,
};

use crate::persist::Store;
use crate::simulator::Simulator;
use crate::SandboxApp;
use chrono::{DateTime, TimeDelta, Utc};
use iquivity_domain::Platform;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// Authorization codes live this long, on every platform.
pub(crate) const CODE_LIFETIME: TimeDelta = TimeDelta::minutes(10);

fn micros(latency: Duration) -> u64 {
    u64::try_from(latency.as_micros()).unwrap_or(u64::MAX)
}

/// One running server: its configuration and its state.
pub(crate) struct Server {
    pub platform: Platform,
    /// What this platform does its own way; Facebook and Instagram share Meta's.
    pub simulator: &'static Simulator,
    pub apps: Vec<SandboxApp>,
    /// `http://127.0.0.1:PORT`, for the absolute URLs the platforms hand out (paging, uploads, avatars).
    pub base_url: String,
    /// Added before every API answer, in microseconds; atomic so that a benchmark can seed its data
    /// quickly and then measure with latency, against the same tokens.
    latency_micros: AtomicU64,
    pub page_size: usize,
    /// Closes when the Sandbox is dropped, so that requests held by the `hang` fault let go.
    pub shutdown: watch::Receiver<()>,
    /// While true, API requests wait (after their latency, before anything is done) until it is false:
    /// a test can kill a client while its calls are held and know the platform never acted on them.
    held: watch::Sender<bool>,
    /// The time this platform believes it is, when a test has set it (`POST /_sandbox/clock`): what the
    /// platform's answers read for times they announce (a rate limit's reset), so that they follow the
    /// same moved clock as the service under test. `None`: the real time.
    clock: Mutex<Option<DateTime<Utc>>>,
    world: Mutex<Tracked>,
    run: Mutex<Run>,
    /// Where the world is kept between processes; None keeps it in memory only.
    store: Option<Store>,
}

/// The world and whether it changed since it was last saved; under one lock, so that taking a snapshot
/// and clearing the flag cannot miss a change made in between.
struct Tracked {
    world: World,
    dirty: bool,
}

/// The locked world. Handing it out mutably marks it as changed, so that a server keeping its state saves
/// after exactly the requests that may have altered it, whatever their method (some GETs do: Meta's
/// container status polls and Page token listing, X's rate windows).
pub(crate) struct WorldGuard<'a>(MutexGuard<'a, Tracked>);

impl Deref for WorldGuard<'_> {
    type Target = World;

    fn deref(&self) -> &World {
        &self.0.world
    }
}

impl DerefMut for WorldGuard<'_> {
    fn deref_mut(&mut self) -> &mut World {
        self.0.dirty = true;
        &mut self.0.world
    }
}

impl Server {
    pub(crate) fn new(
        platform: Platform,
        apps: Vec<SandboxApp>,
        base_url: String,
        latency: Duration,
        page_size: usize,
        shutdown: watch::Receiver<()>,
    ) -> Server {
        Server {
            platform,
            simulator: crate::simulator::of(platform),
            apps,
            base_url,
            latency_micros: AtomicU64::new(micros(latency)),
            // A page must hold at least one item or paging would never end.
            page_size: page_size.max(1),
            shutdown,
            held: watch::channel(false).0,
            clock: Mutex::new(None),
            world: Mutex::new(Tracked {
                world: World::default(),
                dirty: false,
            }),
            run: Mutex::new(Run::default()),
            store: None,
        }
    }

    /// Keeps the world in `store`, starting from `world` (what the store held when the server started).
    pub(crate) fn with_store(mut self, store: Store, world: World) -> Server {
        self.world = Mutex::new(Tracked {
            world,
            dirty: false,
        });
        self.store = Some(store);
        self
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        self.latency_micros
            .store(micros(latency), Ordering::Relaxed);
    }

    pub(crate) fn set_held(&self, held: bool) {
        self.held.send_replace(held);
    }

    /// Returns once requests are no longer held (at once when they are not).
    async fn wait_while_held(&self) {
        let mut held = self.held.subscribe();
        // Fails only when the sender is gone, which it cannot be while `self` lives.
        let _ = held.wait_for(|held| !held).await;
    }

    /// Waits while requests are held, noting the client's address `from` meanwhile (so that a test sees
    /// whose requests the platform holds, and when a client that went away has had its requests
    /// dropped); then counts the request as acted on until the answer is given (the guard is dropped).
    pub(crate) async fn pass_hold(&self, from: Option<SocketAddr>) -> Acting<'_> {
        let waiting = Waiting::new(self, from);
        self.wait_while_held().await;
        drop(waiting);
        self.run().acting += 1;
        Acting(self)
    }

    /// The platform's time: the one a test set, or the real time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .unwrap_or_else(Utc::now)
    }

    /// Sets the platform's time (`None`: the real time again).
    pub(crate) fn set_now(&self, now: Option<DateTime<Utc>>) {
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) = now;
    }

    pub(crate) fn keeps_state(&self) -> bool {
        self.store.is_some()
    }

    /// The state, locked. A handler that panicked while holding the lock leaves the data consistent enough
    /// for a test double, so a poisoned lock is taken over rather than failing every later request.
    pub(crate) fn world(&self) -> WorldGuard<'_> {
        WorldGuard(self.tracked())
    }

    fn tracked(&self) -> MutexGuard<'_, Tracked> {
        self.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Faults and request counts, locked (poisoning handled as for `world`).
    pub(crate) fn run(&self) -> MutexGuard<'_, Run> {
        self.run.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the world to the store if it changed since the last save; nothing without a store. Blocks on
    /// file I/O.
    pub(crate) fn save(&self) -> io::Result<()> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let _order = store.lock();
        let bytes = {
            let mut tracked = self.tracked();
            if !tracked.dirty {
                return Ok(());
            }
            let bytes = serde_json::to_vec(&tracked.world)?;
            tracked.dirty = false;
            bytes
        };
        store.write(&bytes).inspect_err(|_| {
            // Still unsaved: the next request tries again.
            self.tracked().dirty = true;
        })
    }

    pub(crate) fn app(&self, client_id: &str) -> Option<&SandboxApp> {
        self.apps.iter().find(|app| app.client_id == client_id)
    }

    /// The platform's name as people know it, for page titles.
    pub(crate) fn display_name(&self) -> &'static str {
        self.platform.display_name()
    }
}

/// How the platform's processing of an uploaded video or image ends, for the uploads started after a test
/// sets it (X's media, LinkedIn's videos).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Processing {
    #[default]
    Succeeds,
    Fails,
    /// Stays in progress however often it is looked at.
    Stalls,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FaultMode {
    RateLimit,
    ServerError,
    Hang,
    MalformedJson,
    /// The platform acts, then the connection drops halfway through its answer.
    CommitThenDrop,
    /// The platform acts, then answers success with a body that is not what it would say.
    CommitThenGarbage,
    /// The platform acts, then never answers.
    CommitThenHang,
}

impl FaultMode {
    /// Whether the platform acts on the request before the fault takes its answer away.
    pub(crate) fn acts_first(self) -> bool {
        matches!(
            self,
            FaultMode::CommitThenDrop | FaultMode::CommitThenGarbage | FaultMode::CommitThenHang
        )
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Fault {
    pub mode: FaultMode,
    pub remaining: u32,
    pub path_prefix: String,
}

/// A request waiting at the hold, from a client at that address; forgotten when it passes or is dropped.
struct Waiting<'a> {
    server: &'a Server,
    from: Option<SocketAddr>,
}

impl<'a> Waiting<'a> {
    fn new(server: &'a Server, from: Option<SocketAddr>) -> Self {
        if let Some(from) = from {
            *server.run().held_from.entry(from).or_default() += 1;
        }
        Waiting { server, from }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let Some(from) = self.from else {
            return;
        };
        let mut run = self.server.run();
        if let Some(count) = run.held_from.get_mut(&from) {
            *count -= 1;
            if *count == 0 {
                run.held_from.remove(&from);
            }
        }
    }
}

/// A request past the hold, being acted on, until it is answered or dropped.
pub(crate) struct Acting<'a>(&'a Server);

impl Drop for Acting<'_> {
    fn drop(&mut self) {
        let mut run = self.0.run();
        run.acting = run.acting.saturating_sub(1);
    }
}

/// What lasts one run of the server only: armed faults and request counts per path. Kept apart from the
/// world so that it is never saved (a fault armed by one test run must not hit the next), and so that
/// counting a request does not mark the world as changed.
#[derive(Default)]
pub(crate) struct Run {
    faults: Vec<Fault>,
    requests: BTreeMap<String, u64>,
    /// API requests being answered now, and the most answered at once since the peak was last taken:
    /// how tests and benchmarks see that a client keeps to its concurrency limit.
    in_flight: u32,
    peak_in_flight: u32,
    /// Requests waiting at the hold, by the client's address.
    held_from: BTreeMap<SocketAddr, u32>,
    /// Requests past the hold and not yet answered: what the platform is acting on.
    acting: u32,
}

impl Run {
    pub(crate) fn count_request(&mut self, path: &str) {
        *self.requests.entry(path.to_string()).or_default() += 1;
    }

    pub(crate) fn enter(&mut self) {
        self.in_flight += 1;
        self.peak_in_flight = self.peak_in_flight.max(self.in_flight);
    }

    pub(crate) fn leave(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight
    }

    pub(crate) fn peak_in_flight(&self) -> u32 {
        self.peak_in_flight
    }

    /// The client addresses of the requests waiting at the hold now.
    pub(crate) fn held_from(&self) -> Vec<SocketAddr> {
        self.held_from.keys().copied().collect()
    }

    pub(crate) fn held(&self) -> u32 {
        self.held_from.values().sum()
    }

    pub(crate) fn acting(&self) -> u32 {
        self.acting
    }

    /// The peak so far; the next peak starts from what is in flight now.
    pub(crate) fn take_peak_in_flight(&mut self) -> u32 {
        std::mem::replace(&mut self.peak_in_flight, self.in_flight)
    }

    pub(crate) fn requests(&self) -> &BTreeMap<String, u64> {
        &self.requests
    }

    pub(crate) fn arm_fault(&mut self, fault: Fault) {
        self.faults.push(fault);
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// The fault, if any, that this request must suffer; spends one of its count.
    pub(crate) fn take_fault(&mut self, path: &str) -> Option<FaultMode> {
        let index = self
            .faults
            .iter()
            .position(|f| f.remaining > 0 && path.starts_with(&f.path_prefix))?;
        let fault = &mut self.faults[index];
        fault.remaining -= 1;
        let mode = fault.mode;
        if fault.remaining == 0 {
            self.faults.remove(index);
        }
        Some(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_apply_to_matching_paths_for_their_count() {
        let mut run = Run::default();
        run.arm_fault(Fault {
            mode: FaultMode::Hang,
            remaining: 2,
            path_prefix: "/2/".into(),
        });
        assert_eq!(run.take_fault("/i/oauth2/authorize"), None);
        assert_eq!(run.take_fault("/2/tweets"), Some(FaultMode::Hang));
        assert_eq!(run.take_fault("/2/users/me"), Some(FaultMode::Hang));
        assert_eq!(run.take_fault("/2/tweets"), None);
    }

    #[test]
    fn only_changes_mark_the_world_for_saving() {
        let (_shutdown, shutdown_rx) = watch::channel(());
        let srv = Server::new(
            Platform::X,
            Vec::new(),
            String::new(),
            Duration::ZERO,
            1,
            shutdown_rx,
        );
        // Reads, request counts and faults leave it alone.
        assert!(srv.world().user("1").is_none());
        srv.run().count_request("/2/users/me");
        srv.run().clear_faults();
        assert!(!srv.tracked().dirty);
        srv.world().ensure_user("1", "Ann");
        assert!(srv.tracked().dirty);
        // Without a store, saving writes nothing and leaves the flag as it was.
        assert!(srv.save().is_ok());
        assert!(srv.tracked().dirty);
    }
}
