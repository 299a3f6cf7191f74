//! Connecting accounts: start an OAuth flow and finish it when the platform sends the person back
//! (`flow.rs`), then let them choose Pages / organisations (`selection.rs`). The Refresh action of
//! docs/product.md#refresh (renew, or send the person back to consent) is in [`crate::renewal`].

use crate::credentials::PlainTokens;
use crate::{Core, CoreError, ErrorChain};
use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, AccountKind, Platform, TokenSet};
use iquivity_platforms::{ErrorClass, PlatformAdapter, PlatformError, Target};
use iquivity_store::FlowStage;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod flow;
mod selection;

pub use crate::renewal::RefreshOutcome;
pub use selection::Room;

pub struct StartedConnection {
    pub id: uuid::Uuid,
    pub platform: Platform,
    pub authorize_url: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a consent connected nothing: the words for the person, and whether it was the wrong account
/// (which a reconnect link's log records as such).
pub(crate) struct ConsentFailure {
    pub message: String,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// A reconnection signed in as another account than the one it is for.
    WrongAccount,
    Other,
}

impl From<String> for ConsentFailure {
    fn from(message: String) -> Self {
        ConsentFailure {
            message,
            kind: FailureKind::Other,
        }
    }
}

/// A flow after consent, and how it failed when it did.
pub(crate) struct ConsentOutcome {
    pub flow: iquivity_store::FlowRecord,
    pub failed_as: Option<FailureKind>,
}

/// What the platform's redirect carried.
pub struct Callback<'a> {
    pub platform: Platform,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
}

impl<'a> Callback<'a> {
    /// A redirect after the person approved: the `state` and `code` it carried, and no error.
    pub fn approved(platform: Platform, state: Option<&'a str>, code: Option<&'a str>) -> Self {
        Callback {
            platform,
            state,
            code,
            error: None,
            error_description: None,
        }
    }
}

/// A connectable (or not) target as the selection step shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub platform_account_id: String,
    pub kind: AccountKind,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub publishable: bool,
    /// Why it cannot be connected and how to fix it; `null` when it can.
    pub unavailable: Option<String>,
    /// The account this target already is in the workspace (selecting it updates that account).
    pub connected_account_id: Option<AccountId>,
}

/// A flow as the server shows it (the API's JSON is the server's view of it).
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub id: uuid::Uuid,
    pub platform: Platform,
    pub stage: FlowStage,
    /// What went wrong, in words a person can act on (stage `failed`).
    pub error: Option<String>,
    pub candidates: Vec<Candidate>,
    pub connected: Vec<AccountId>,
    pub expires_at: DateTime<Utc>,
}

/// A target with its tokens, as sealed into the flow between consent and selection.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedTarget {
    kind: AccountKind,
    platform_account_id: String,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    publishable: bool,
    unavailable: Option<String>,
    #[serde(flatten)]
    tokens: PlainTokens,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SealedCandidates {
    scopes: Vec<String>,
    targets: Vec<SealedTarget>,
}

impl SealedTarget {
    fn from_target(t: &Target) -> Self {
        SealedTarget {
            kind: t.kind,
            platform_account_id: t.platform_account_id.clone(),
            display_name: t.display_name.clone(),
            handle: t.handle.clone(),
            avatar_url: t.avatar_url.clone(),
            publishable: t.publishable,
            unavailable: t.unavailable.clone(),
            tokens: PlainTokens::from_tokens(&t.tokens),
        }
    }

    fn tokens(&self) -> TokenSet {
        self.tokens.tokens()
    }
}

pub(crate) fn platform_message(platform: Platform, err: &PlatformError) -> String {
    let name = platform.display_name();
    match &err.class {
        ErrorClass::Unavailable => format!(
            "{name} is unavailable right now ({}). Nothing was connected; try again in a few minutes, and check {name}'s status page if it persists.",
            err.message
        ),
        ErrorClass::RateLimited { .. } => format!(
            "{name} is limiting requests right now. Nothing was connected; try again in a few minutes."
        ),
        ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => format!(
            "{name} did not grant the permission(s) {}. Add the account again and allow every requested permission.",
            scopes.join(", ")
        ),
        _ => format!("{name} refused the connection: {}. Nothing was connected; try again.", err.message),
    }
}

/// What a failed connection tells the person: the error itself when it is meant for them; for a failure of
/// this service only that, since its details (a database's or the vault's words) are for the log.
pub(super) fn told(err: CoreError) -> String {
    match err {
        CoreError::Internal { .. } => {
            tracing::error!(error = %ErrorChain(&err), "a connection failed on this service's side");
            "Something went wrong on our side, so nothing was connected. Try again in a moment; if it keeps happening, the administrator will find the details in the service's log.".into()
        }
        CoreError::PlanLimit(message) => message,
        other => other.to_string(),
    }
}

impl Core {
    pub(crate) fn adapter(
        &self,
        platform: Platform,
    ) -> Result<Arc<dyn PlatformAdapter>, CoreError> {
        self.platforms.get(platform).ok_or_else(|| {
            CoreError::invalid(
                "platform",
                format!(
                    "{} is not configured on this server",
                    platform.display_name()
                ),
            )
        })
    }

    pub fn redirect_uri(&self, platform: Platform) -> String {
        format!(
            "{}/oauth/{}/callback",
            self.settings.callback_base.trim_end_matches('/'),
            platform
        )
    }

    /// Whether accounts of this platform are connected through the local sandbox.
    pub fn is_sandbox(&self, platform: Platform) -> bool {
        self.platforms
            .get(platform)
            .is_some_and(|a| a.settings().sandbox)
    }
}
