//! Use-cases of iQuivity Social. Handlers call these; these call the store and the vault.

pub mod accounts;
pub mod alerts;
pub mod auth;
pub mod avatars;
pub mod clients;
pub mod connections;
pub mod credentials;
pub mod engine;
mod error;
pub mod keys;
pub mod links;
pub mod mail;
pub mod media;
pub mod metrics;
pub mod outbound;
pub mod publishing;
pub mod renewal;
pub mod secrets;
mod unsaved;

/// The paths these items had before the use-cases were split into modules; the server, the binary, the
/// bench and the tests name them.
pub mod lifecycle {
    pub use crate::engine::{Clock, LifecycleSettings, ManualClock, RoundReport, SystemClock};
    pub use crate::renewal::renew_at;
}
/// Posts and publishing, at their former path.
pub use publishing as posts;

pub use error::{CoreError, ErrorChain};

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
    /// Sign-in attempts per email address within `login_window` whose password is checked; later ones
    /// are refused (429) until the window runs out. A successful sign-in clears the count.
    pub login_attempts_per_account: u32,
    /// Sign-in attempts per client address within `login_window` answered without delay. Past it each
    /// answer waits, from `login_slowdown_start` doubling up to `login_slowdown_cap`: slowed, never
    /// refused, because many people can share one address and each must still get in with their password.
    pub login_attempts_per_address: u32,
    pub login_window: chrono::Duration,
    pub login_slowdown_start: std::time::Duration,
    pub login_slowdown_cap: std::time::Duration,
    /// Sign-ups per client address within `signup_window`; later ones are refused (429). Sign-up answers
    /// whether an email is registered (409), so its pace is limited like the guessing of passwords.
    pub signups_per_address: u32,
    pub signup_window: chrono::Duration,
    /// Requests to link pages (connect, reconnect and access links) per client address within
    /// `login_window`; later ones are refused (429). A link's token is 256 random bits, so this is not
    /// what keeps it from being guessed: it keeps one address from hammering the pages anyone can reach.
    pub link_requests_per_address: u32,
    /// Where platforms send people back to: `<callback_base>/oauth/<platform>/callback`.
    pub callback_base: String,
    /// How long a person has to complete consent on the platform.
    pub connection_ttl: chrono::Duration,
    /// How long the choice of Pages / organisations stays open after consent.
    pub selection_ttl: chrono::Duration,
    pub lifecycle: engine::LifecycleSettings,
    /// Where uploaded media is kept.
    pub media_dir: std::path::PathBuf,
    /// Where webhooks may point. Read when the `Core` is built (its HTTP client enforces it).
    pub webhook_policy: alerts::addresses::DestinationPolicy,
    /// How long one webhook delivery may take, connecting included.
    pub webhook_timeout: std::time::Duration,
    /// Where profile pictures may be fetched from: the webhooks' rules, plus the local sandbox when it
    /// runs. `None`: the webhooks' rules.
    pub avatar_policy: Option<alerts::addresses::DestinationPolicy>,
}

impl Default for CoreSettings {
    fn default() -> Self {
        Self {
            default_plan: Plan::Free,
            session_ttl: chrono::Duration::days(14),
            invitation_ttl: chrono::Duration::days(7),
            login_attempts_per_account: 5,
            login_attempts_per_address: 20,
            login_window: chrono::Duration::minutes(15),
            login_slowdown_start: std::time::Duration::from_secs(1),
            login_slowdown_cap: std::time::Duration::from_secs(10),
            signups_per_address: 10,
            signup_window: chrono::Duration::hours(1),
            link_requests_per_address: 120,
            callback_base: "http://127.0.0.1:8080".into(),
            connection_ttl: chrono::Duration::minutes(10),
            selection_ttl: chrono::Duration::minutes(30),
            lifecycle: engine::LifecycleSettings::default(),
            media_dir: std::path::PathBuf::from("./data/media"),
            webhook_policy: alerts::addresses::DestinationPolicy::default(),
            webhook_timeout: std::time::Duration::from_secs(10),
            avatar_policy: None,
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
    pub clock: Arc<dyn engine::Clock>,
    /// Lifecycle job outcomes so far, by (job kind, outcome), for `/metrics`.
    pub(crate) job_outcomes:
        Arc<std::sync::Mutex<std::collections::BTreeMap<(String, String), u64>>>,
    /// Where email goes: SMTP when configured, else the log.
    pub mail: Arc<dyn mail::MailTransport>,
    /// Sends webhook deliveries, only where `settings.webhook_policy` allows.
    pub(crate) webhooks: outbound::OutboundClient,
    /// Fetches profile pictures, only where `settings.avatar_policy` allows.
    pub(crate) avatars: outbound::OutboundClient,
    /// Sign-in and sign-up outcomes so far, for `/metrics`.
    pub(crate) auth_counts: Arc<auth::AuthCounts>,
    /// Renewals and health checks so far, manual and scheduled, for `/metrics`.
    pub(crate) check_counts: Arc<metrics::CheckCounts>,
    /// The engine's rounds on this instance, for `/readyz`.
    pub rounds: Arc<engine::RoundWatch>,
    /// What the database refused to take and this process keeps until it does (renewed tokens above all).
    pub(crate) unsaved: Arc<unsaved::Unsaved>,
}

impl Core {
    pub fn new(
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        platforms: iquivity_platforms::Platforms,
        settings: CoreSettings,
    ) -> Result<Self, outbound::ClientBuildError> {
        // No fallback to a default client: it would follow redirects and connect anywhere.
        let webhooks = outbound::OutboundClient::new(settings.webhook_policy.clone())?;
        let avatars = outbound::OutboundClient::new(
            settings
                .avatar_policy
                .clone()
                .unwrap_or_else(|| settings.webhook_policy.clone()),
        )?;
        Ok(Core {
            store,
            vault,
            platforms,
            settings,
            clock: Arc::new(engine::SystemClock),
            job_outcomes: Arc::default(),
            auth_counts: Arc::default(),
            check_counts: Arc::default(),
            rounds: Arc::default(),
            unsaved: Arc::default(),
            webhooks,
            avatars,
            mail: Arc::new(mail::LogTransport),
        })
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
