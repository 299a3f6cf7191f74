//! Use-cases of iQuivity Social. Handlers call these; these call the store and the vault.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod connections;
pub mod credentials;
mod error;
pub mod keys;
pub mod lifecycle;
pub mod media;
pub mod metrics;
pub mod posts;
pub mod secrets;
mod unsaved;

pub use error::CoreError;

use iquivity_domain::{Plan, Role, UserId, WorkspaceId};
use iquivity_store::Store;
use iquivity_vault::Vault;
use std::sync::Arc;

/// Settings the use-cases need; the binary builds it from its configuration.
#[derive(Debug, Clone)]
pub struct CoreSettings {
    pub default_plan: Plan,
    pub session_ttl: chrono::Duration,
    pub invitation_ttl: chrono::Duration,
    /// Failed logins per email address within `login_window` before further attempts are refused.
    pub login_failures_per_account: u32,
    /// Failed logins per client address within `login_window`.
    pub login_failures_per_address: u32,
    pub login_window: chrono::Duration,
    /// Where platforms send people back to: `<callback_base>/oauth/<platform>/callback`.
    pub callback_base: String,
    /// How long a person has to complete consent on the platform.
    pub connection_ttl: chrono::Duration,
    /// How long the choice of Pages / organisations stays open after consent.
    pub selection_ttl: chrono::Duration,
    pub lifecycle: lifecycle::LifecycleSettings,
    /// Where uploaded media is kept.
    pub media_dir: std::path::PathBuf,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            default_plan: Plan::Free,
            session_ttl: chrono::Duration::days(14),
            invitation_ttl: chrono::Duration::days(7),
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            login_window: chrono::Duration::minutes(15),
            callback_base: "http://127.0.0.1:8080".into(),
            connection_ttl: chrono::Duration::minutes(10),
            selection_ttl: chrono::Duration::minutes(30),
            lifecycle: lifecycle::LifecycleSettings::default(),
            media_dir: std::path::PathBuf::from("./data/media"),
        }
    }
}

/// Everything a use-case may touch.
#[derive(Clone)]
pub struct Core {
    pub store: Arc<dyn Store>,
    pub vault: Arc<Vault>,
    pub platforms: iquivity_platforms::Platforms,
    pub settings: CoreSettings,
    /// The time as the lifecycle engine sees it (tests move it).
    pub clock: Arc<dyn lifecycle::Clock>,
    /// Lifecycle job outcomes so far, by (job kind, outcome), for `/metrics`.
    pub(crate) job_outcomes:
        Arc<std::sync::Mutex<std::collections::BTreeMap<(String, String), u64>>>,
    /// Sends webhook deliveries.
    pub(crate) webhook_client: reqwest::Client,
    /// What the database refused to take and this process keeps until it does (renewed tokens above all).
    pub(crate) unsaved: Arc<unsaved::Unsaved>,
}

impl Core {
    pub fn new(
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        platforms: iquivity_platforms::Platforms,
        settings: CoreSettings,
    ) -> Self {
        Core {
            store,
            vault,
            platforms,
            settings,
            clock: Arc::new(lifecycle::SystemClock),
            job_outcomes: Arc::default(),
            webhook_client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            unsaved: Arc::default(),
        }
    }
}

/// Who is asking, in which workspace, with which role: the scope of every account query.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
}

impl Caller {
    pub fn require_manage_accounts(&self) -> Result<(), CoreError> {
        if self.role.can_manage_accounts() {
            Ok(())
        } else {
            Err(CoreError::Forbidden(
                "only owners and admins can connect, relabel or remove accounts; members can view and refresh them"
                    .into(),
            ))
        }
    }
}
