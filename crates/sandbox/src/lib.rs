//! Local stand-ins for the platforms' OAuth and API servers. The real platforms cannot be reached from a
//! test machine, so each sandbox speaks one platform's wire format on the platform's own paths (only the
//! host differs): a client whose base URL points at a sandbox sends exactly the requests it would send to
//! the platform. The behaviour follows the platform facts in `docs/platforms/`.
//!
//! Each server also has a control API under `/_sandbox/` through which tests expire or revoke a user's
//! tokens, withdraw a scope, inject faults (rate limits, server errors, hangs, malformed JSON), set the
//! clock the platform announces times from (`/_sandbox/clock`) and read a summary of the server's state.

mod authorize;
mod avatar;
mod consent;
mod control;
mod html;
mod ids;
mod linkedin;
mod meta;
mod persist;
mod request;
mod simulator;
mod state;
mod tiktok;
mod token;
mod x;

pub use consent::{approve, consent, Approval, Consent, ConsentError};
pub use iquivity_domain::Platform;

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{middleware, Json, Router};
use serde_json::{json, Value};
use state::Server;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The registered app a sandbox accepts: like the app one registers in each platform's developer console.
#[derive(Clone, Debug)]
pub struct SandboxApp {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
}

impl SandboxApp {
    /// The app `client_id` of a service whose OAuth callback on `platform` is
    /// `{callback_base}/oauth/{platform}/callback`.
    pub fn new(
        platform: Platform,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        callback_base: &str,
    ) -> SandboxApp {
        SandboxApp {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: vec![format!("{callback_base}/oauth/{platform}/callback")],
        }
    }
}

#[derive(Clone, Debug)]
pub struct SandboxOptions {
    /// Added before every API answer (benchmarks use 50 ms). Default zero.
    pub latency: Duration,
    /// Max items per page on Meta `/me/accounts` (forces `paging.next`). Default 2.
    pub page_size: usize,
    /// Address to bind each server to; port 0 = ephemeral. Default 127.0.0.1:0.
    pub bind: SocketAddr,
    /// Where each server keeps its users, codes, tokens and posts (`sandbox-{platform}.json`), so that
    /// tokens handed out by one process still work when another starts the sandbox on the same directory.
    /// Armed faults and request counts are not kept. Default None: everything stays in memory and nothing
    /// is written.
    pub state_dir: Option<PathBuf>,
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            latency: Duration::ZERO,
            page_size: 2,
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            state_dir: None,
        }
    }
}

/// One running sandbox server per platform (Facebook and Instagram each get their own instance of the Meta
/// sandbox, so faults can be injected per platform).
pub struct Sandbox {
    servers: BTreeMap<Platform, Running>,
    /// Never sent on: dropping it (with the Sandbox) wakes the requests held by the `hang` fault.
    _shutdown: watch::Sender<()>,
    /// Held while running: two processes saving one state directory would overwrite each other's tokens.
    _state_lock: Option<std::fs::File>,
}

struct Running {
    base_url: String,
    server: Arc<Server>,
    task: JoinHandle<()>,
}

/// Takes the state directory for this process, or says plainly that another process has it.
fn lock_state_dir(dir: &std::path::Path) -> std::io::Result<std::fs::File> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            format!(
                "another process is running the sandbox on {} (stop it first: two would overwrite each other's tokens)",
                dir.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

impl Sandbox {
    /// Starts a server for each given platform on its own port; runs until the Sandbox is dropped.
    /// Several apps may be given for one platform. With a fixed port in `options.bind`, only one platform
    /// can be started (each server needs its own port). With `options.state_dir`, each server starts from
    /// the state saved there; a state file that cannot be read or parsed fails the start.
    pub async fn start(
        apps: Vec<(Platform, SandboxApp)>,
        options: SandboxOptions,
    ) -> std::io::Result<Sandbox> {
        let mut by_platform: BTreeMap<Platform, Vec<SandboxApp>> = BTreeMap::new();
        for (platform, app) in apps {
            by_platform.entry(platform).or_default().push(app);
        }
        let state_lock = options
            .state_dir
            .as_deref()
            .map(lock_state_dir)
            .transpose()?;
        let (shutdown, shutdown_rx) = watch::channel(());
        // Built up in place so that, if a later bind fails, dropping it stops the servers already started.
        let mut sandbox = Sandbox {
            servers: BTreeMap::new(),
            _shutdown: shutdown,
            _state_lock: state_lock,
        };
        for (platform, apps) in by_platform {
            // Read before binding, so that a bad state file fails the start without opening a port.
            let saved = match &options.state_dir {
                Some(dir) => Some(persist::Store::open(dir, platform)?),
                None => None,
            };
            let listener = TcpListener::bind(options.bind).await?;
            let base_url = base_url(listener.local_addr()?);
            let mut server = Server::new(
                platform,
                apps,
                base_url.clone(),
                options.latency,
                options.page_size,
                shutdown_rx.clone(),
            );
            if let Some((store, world)) = saved {
                server = server.with_store(store, world);
            }
            let server = Arc::new(server);
            let app = router(server.clone());
            let task = tokio::spawn(async move {
                // With each client's address, so that held requests can be told apart by client.
                let app = app.into_make_service_with_connect_info::<SocketAddr>();
                if let Err(err) = axum::serve(listener, app).await {
                    tracing::warn!(%platform, error = %err, "sandbox server stopped");
                }
            });
            tracing::debug!(%platform, %base_url, "sandbox started");
            sandbox.servers.insert(
                platform,
                Running {
                    base_url,
                    server,
                    task,
                },
            );
        }
        Ok(sandbox)
    }

    /// `http://127.0.0.1:PORT` (no trailing slash) of that platform's server; None if not started.
    pub fn base_url(&self, platform: Platform) -> Option<String> {
        self.servers.get(&platform).map(|s| s.base_url.clone())
    }

    pub fn platforms(&self) -> Vec<Platform> {
        self.servers.keys().copied().collect()
    }

    /// Changes the latency added before every API answer, on every platform, from the next request on:
    /// a benchmark connects its accounts without latency, then measures with it against the same tokens.
    pub fn set_latency(&self, latency: Duration) {
        for running in self.servers.values() {
            running.server.set_latency(latency);
        }
    }

    /// Holds (or lets go of) every platform's API requests before they are acted on; see `/_sandbox/hold`.
    pub fn hold(&self, held: bool) {
        for running in self.servers.values() {
            running.server.set_held(held);
        }
    }

    /// The client addresses (one each) of that platform's API requests held now (see [`Sandbox::hold`]);
    /// None if it was not started. A request whose client went away is dropped, and leaves this list.
    pub fn held_from(&self, platform: Platform) -> Option<Vec<SocketAddr>> {
        self.servers
            .get(&platform)
            .map(|running| running.server.run().held_from())
    }

    /// How many API requests wait at that platform's hold now; None if it was not started.
    pub fn held(&self, platform: Platform) -> Option<u32> {
        self.servers
            .get(&platform)
            .map(|running| running.server.run().held())
    }

    /// How many API requests that platform's server is acting on now: past the hold and not yet
    /// answered. None if it was not started.
    pub fn acting(&self, platform: Platform) -> Option<u32> {
        self.servers
            .get(&platform)
            .map(|running| running.server.run().acting())
    }

    /// The most API requests that platform's server was answering at once since the previous call (or
    /// the start); None if it was not started. Shows whether a client kept to its concurrency limit.
    pub fn take_peak_in_flight(&self, platform: Platform) -> Option<u32> {
        self.servers
            .get(&platform)
            .map(|running| running.server.run().take_peak_in_flight())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Aborting the accept loop closes the port; axum then lets each open connection finish its
        // current request and close.
        for server in self.servers.values() {
            server.task.abort();
        }
    }
}

/// The URL clients use: an unspecified bind address (0.0.0.0) is reached through loopback.
fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

fn router(srv: Arc<Server>) -> Router {
    let simulator = srv.simulator;
    let not_found =
        move |method: Method, uri: Uri| async move { (simulator.not_found)(&method, &uri) };
    let platform_routes = (simulator.routes)()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found);
    let router = control::routes()
        .merge(platform_routes)
        .layer(middleware::from_fn_with_state(srv.clone(), control::gate));
    let mut router = (srv.simulator.outer_layers)(router, srv.clone());
    if srv.keeps_state() {
        // Outermost, so that it saves what every layer inside changed (X's rate windows included).
        router = router.layer(middleware::from_fn_with_state(
            srv.clone(),
            persist::save_after,
        ));
    }
    router.with_state(srv)
}

/// Where a profile picture of `id` is served on this server.
pub(crate) fn avatar_url(srv: &Server, id: &str) -> String {
    format!("{}/avatars/{id}.png", srv.base_url)
}

/// Whether the platform would fail to fetch media from `url`: its host is under `.invalid`, which RFC 6761
/// reserves as never resolving. The sandbox fetches nothing, so this is how tests ask for a failed fetch.
pub(crate) fn unfetchable(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_end_matches('.').ends_with(".invalid"))
        })
        .unwrap_or(true)
}

/// Whether the platform would never finish processing media from `url`: its host is under `.stalled.test`
/// (RFC 6761 reserves `.test` for testing). How tests ask for processing that never ends.
pub(crate) fn stalls(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.ends_with(".stalled.test")))
        .unwrap_or(false)
}

/// An error answer: a status and a JSON body. Much smaller than a `Response`, so it can travel in the
/// `Err` of every helper cheaply.
#[derive(Debug)]
pub(crate) struct Reject {
    status: StatusCode,
    body: Value,
}

impl Reject {
    pub(crate) fn new(status: StatusCode, body: Value) -> Reject {
        Reject { status, body }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The OAuth 2.0 error body (RFC 6749 §5.2) as X and LinkedIn send it.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Reject {
    Reject::new(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_under_invalid_or_without_a_host_cannot_be_fetched() {
        assert!(unfetchable("https://cdn.example.invalid/cat.jpg"));
        assert!(unfetchable("not a url"));
        assert!(!unfetchable("https://example.com/cat.jpg"));
    }

    #[test]
    fn base_urls_reach_unspecified_binds_through_loopback() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert_eq!(base_url(any), "http://127.0.0.1:8080");
        let any6: SocketAddr = "[::]:8080".parse().unwrap();
        assert_eq!(base_url(any6), "http://[::1]:8080");
        let local: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(base_url(local), "http://127.0.0.1:9");
    }
}
