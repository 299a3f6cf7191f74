//! Connection flows: from the authorize redirect to the accounts chosen.

use super::StoredCredential;
use chrono::{DateTime, Utc};
use iquivity_domain::{named_enum, AccountId, Platform, UserId, WorkspaceId};

named_enum! {
    pub enum FlowStage {
        /// Waiting for the platform to send the user back.
        Authorizing = "authorizing",
        /// Consent given; the user chooses which Pages / organisations to connect.
        Selecting = "selecting",
        Done = "done",
        Failed = "failed",
    }
}

/// An OAuth connection in progress.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub id: uuid::Uuid,
    pub state_hash: String,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub session_hash: Option<String>,
    pub platform: Platform,
    pub reconnect_account_id: Option<AccountId>,
    /// The link the sign-in was started from: it belongs to that link, not to a session.
    pub link_id: Option<iquivity_domain::LinkId>,
    pub verifier: Option<StoredCredential>,
    pub stage: FlowStage,
    pub candidates: Option<StoredCredential>,
    pub error: Option<String>,
    pub connected: Vec<AccountId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state_used_at: Option<DateTime<Utc>>,
}

/// What a refresh learned about an account: new credentials, and its face and grants as the platform
/// reports them now. `None` fields stay as they are.
#[derive(Debug, Clone)]
pub struct AccountRefresh {
    pub credential: Option<StoredCredential>,
    pub token_expires_at: Option<Option<DateTime<Utc>>>,
    pub scopes: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub handle: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub followers: Option<u64>,
    pub refreshed: bool,
    pub now: DateTime<Utc>,
}
