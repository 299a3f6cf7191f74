//! Wiring: configuration, the store, the vault and the HTTP server, started together.

pub mod config;
pub mod demo;

pub use config::Config;

use anyhow::Context;
use iquivity_core::{Core, CoreSettings, ErrorChain};
use iquivity_domain::Platform;
use iquivity_platforms::{PlatformSettings, Platforms};
use iquivity_sandbox::{Sandbox, SandboxApp, SandboxOptions};
use iquivity_server::ServerSettings;
use iquivity_store::Store;
use iquivity_vault::{KeySource, Vault};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Creates the data directory readable by this user only: it holds the database and, by default, the keys.
/// A directory that exists already is left as the operator made it (they may share it on purpose), with a
/// warning when others can read it: the files the service creates in it are private either way.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    if dir.exists() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir)
                .with_context(|| format!("cannot read the data directory {}", dir.display()))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{:o}", mode & 0o777),
                    "the data directory can be read by other users; its files are created private (0600), but `chmod 700` it to hide their names and sizes too"
                );
            }
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict the data directory {}", dir.display()))?;
    }
    Ok(())
}

/// The lifecycle engine's loop, as a worker with its own lease owner name: after a round that took a full
/// batch the next starts at once (more is waiting), otherwise after a short pause.
async fn run_lifecycle(core: Core) {
    // The process id tells an operator (and the multi-instance test) which instance holds a lease.
    let owner = format!("worker-{}-{}", std::process::id(), uuid::Uuid::now_v7());
    core.rounds.started();
    loop {
        let more_due = match core.run_lifecycle_round(&owner).await {
            Ok(report) => {
                if report.done + report.retried > 0 {
                    tracing::debug!(?report, "lifecycle round");
                }
                report.more_due
            }
            Err(err) => {
                tracing::error!(error = %ErrorChain(&err), "lifecycle round failed");
                false
            }
        };
        if !more_due {
            tokio::time::sleep(core.settings.lifecycle.idle_pause).await;
        }
    }
}

/// Everything a running service is made of.
pub struct App {
    pub core: Core,
    pub store: Arc<dyn Store>,
    pub config: Config,
    /// The local platform servers standing in for every platform without configured credentials.
    pub sandbox: Option<Sandbox>,
}

/// Starts the sandbox for each platform without credentials and points that platform's settings at it.
/// The sandbox's app is registered with this service's real callback URL, like an app in a developer console.
async fn start_sandbox(
    config: &Config,
    platforms: &mut BTreeMap<Platform, PlatformSettings>,
) -> anyhow::Result<Option<Sandbox>> {
    let mut apps = Vec::new();
    for (platform, settings) in platforms.iter_mut() {
        if settings.has_credentials() {
            continue;
        }
        settings.client_id = format!("iquivity-sandbox-{platform}");
        settings.client_secret =
            SecretString::from(format!("sandbox-secret-{}", uuid::Uuid::new_v4().simple()));
        settings.sandbox = true;
        apps.push((
            *platform,
            SandboxApp::new(
                *platform,
                settings.client_id.clone(),
                settings.client_secret.expose_secret(),
                &config.public_base(),
            ),
        ));
    }
    if apps.is_empty() {
        return Ok(None);
    }
    // The sandbox keeps its state beside ours, so that tokens it issued to `demo-data` still work in `serve`.
    let options = SandboxOptions {
        state_dir: Some(config.data_dir.join("sandbox")),
        ..SandboxOptions::default()
    };
    let sandbox = Sandbox::start(apps, options)
        .await
        .context("cannot start the platform sandbox")?;
    for (platform, settings) in platforms.iter_mut() {
        if let (true, Some(base)) = (settings.sandbox, sandbox.base_url(*platform)) {
            *settings = settings.clone().rebased(&base);
            tracing::info!(%platform, %base, "platform runs on the local sandbox");
        }
    }
    Ok(Some(sandbox))
}

/// Whether an opened `App` runs the sandbox for the platforms without credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformAccess {
    /// The service, and the commands that talk to the platforms (`sandbox`, `demo-data`).
    Needed,
    /// Commands that only touch the database and the keys (`keys rotate`, `migrate`, ...): they must
    /// work while the service runs, and the service holds the sandbox's state directory.
    NotNeeded,
}

impl App {
    /// Opens the database (applying migrations) and the key source, and starts the sandbox.
    pub async fn open(config: Config) -> anyhow::Result<App> {
        App::open_for(config, PlatformAccess::Needed).await
    }

    /// Opens the database (applying migrations) and the key source; starts the sandbox only when the
    /// platforms are used.
    pub async fn open_for(config: Config, platforms: PlatformAccess) -> anyhow::Result<App> {
        create_private_dir(&config.data_dir)?;
        let url = config.database_url()?;
        let store = iquivity_store::open(&url).await.with_context(|| {
            format!("cannot open the database {}", config::redact_password(&url))
        })?;
        let key_source = match &config.encryption_key {
            Some(active) => KeySource::Env {
                active: active.clone(),
                previous: config.encryption_old_keys.clone(),
            },
            None => KeySource::File(config.data_dir.join("keys.json")),
        };
        let vault = Arc::new(Vault::load(key_source).context("cannot load the encryption keys")?);
        // Caught here rather than as accounts failing one by one: an instance started with other keys
        // than those the database was written with (several instances given different keys, or a lost
        // key file) could open none of their credentials.
        let unknown: Vec<String> = store
            .credential_key_ids()
            .await
            .context("cannot read the database")?
            .into_iter()
            .filter(|id| !vault.knows_key(id))
            .collect();
        if !unknown.is_empty() {
            anyhow::bail!(
                "the database holds credentials sealed with encryption key(s) {} that this instance does not have; \
                 every instance must run with the same keys (IQUIVITY_ENCRYPTION_KEY and IQUIVITY_ENCRYPTION_OLD_KEYS, \
                 or the same key file)",
                unknown.join(", ")
            );
        }
        let mut settings = config.platforms.clone();
        let sandbox = match platforms {
            PlatformAccess::Needed => start_sandbox(&config, &mut settings).await?,
            PlatformAccess::NotNeeded => None,
        };
        let webhook_policy = config.webhook_policy()?;
        // Pictures come from the platforms' CDNs under the webhooks' rules, and from the sandbox itself
        // where it stands in for a platform.
        let avatar_policy = Platform::ALL
            .into_iter()
            .filter_map(|p| sandbox.as_ref()?.base_url(p))
            .filter_map(|base| {
                let url = url::Url::parse(&base).ok()?;
                let ip = url.host_str()?.parse::<std::net::IpAddr>().ok()?;
                Some((ip, url.port_or_known_default()?))
            })
            .fold(webhook_policy.clone(), |policy, (ip, port)| {
                policy.also_allowing(ip, port)
            });
        let mut core = Core::new(
            store.clone(),
            vault,
            Platforms::new(settings, config.platform_timeout),
            CoreSettings {
                default_plan: config.default_plan,
                callback_base: config.public_base(),
                media_dir: config.data_dir.join("media"),
                lifecycle: iquivity_core::lifecycle::LifecycleSettings {
                    lease: chrono::Duration::from_std(config.job_lease)
                        .context("job_lease is out of range")?,
                    per_platform_concurrency: config.per_platform_concurrency,
                    ..Default::default()
                },
                webhook_policy,
                avatar_policy: Some(avatar_policy),
                ..CoreSettings::default()
            },
        )?;
        if let Some(smtp) = &config.smtp {
            core.mail = Arc::new(
                iquivity_core::mail::SmtpTransport::new(smtp).map_err(anyhow::Error::msg)?,
            );
        }
        Ok(App {
            core,
            store,
            config,
            sandbox,
        })
    }

    /// Changes a workspace's plan; false when there is no such workspace.
    pub async fn store_set_plan(
        &self,
        workspace: iquivity_domain::WorkspaceId,
        plan: iquivity_domain::Plan,
    ) -> anyhow::Result<bool> {
        Ok(self.store.set_plan(workspace, plan).await?)
    }

    pub fn router(&self) -> axum::Router {
        iquivity_server::router(
            self.core.clone(),
            ServerSettings {
                public_url: self.config.public_url.clone(),
                loopback_host: (self.config.public_url.is_none()
                    && self.config.listen.ip().is_loopback())
                .then(|| self.config.listen.to_string()),
                trusted_proxies: self.config.trusted_proxies.clone(),
            },
        )
    }

    /// Serves on `listener`, with the lifecycle engine running beside it, until `shutdown` resolves; then
    /// finishes in-flight requests. A job in progress at shutdown keeps its lease until it runs out and is
    /// then taken over, so nothing is lost.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let service = self
            .router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        let server = axum::serve(listener, service).with_graceful_shutdown(shutdown);
        let engine = async {
            if self.config.run_lifecycle {
                run_lifecycle(self.core.clone()).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        let outcome = tokio::select! {
            served = server => served.context("the HTTP server stopped with an error"),
            () = engine => Ok(()),
        };
        // Renewed tokens the database refused live only in this process: one last try before it ends.
        if self.core.unsaved_token_count() > 0 {
            if let Err(err) = self.core.save_unsaved(None).await {
                tracing::error!(
                    error = %ErrorChain(&err),
                    accounts = self.core.unsaved_token_count(),
                    "stopping with renewed tokens the database would not take: those accounts must be reconnected"
                );
            }
        }
        outcome
    }
}
