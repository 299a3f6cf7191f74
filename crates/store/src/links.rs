use crate::prelude::*;
use iquivity_domain::{ClientId, LinkId, LinkKind, LinkNote};

/// A link as stored: what it is for, its limits, and the digest of its token (never the token).
#[derive(Debug, Clone)]
pub struct LinkRecord {
    pub id: LinkId,
    pub workspace_id: WorkspaceId,
    pub kind: LinkKind,
    pub token_hash: String,
    /// The client the accounts connected through it join; the client an access link shows.
    pub client_id: Option<ClientId>,
    /// The one account a reconnect link is for.
    pub account_id: Option<AccountId>,
    /// The platforms a connect link offers; empty: every platform the server has.
    pub platforms: Vec<Platform>,
    pub note: Option<LinkNote>,
    /// `None`: any number of uses.
    pub max_uses: Option<u32>,
    pub uses: u32,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl LinkRecord {
    /// Why the link can no longer be used at `now`, if it cannot.
    pub fn refusal(&self, now: DateTime<Utc>) -> Option<LinkOutcome> {
        if self.revoked_at.is_some() {
            Some(LinkOutcome::Revoked)
        } else if self.expires_at <= now {
            Some(LinkOutcome::Expired)
        } else if self.max_uses.is_some_and(|max| self.uses >= max) {
            Some(LinkOutcome::UsedUp)
        } else {
            None
        }
    }
}

iquivity_domain::named_enum! {
    /// What one use of a link came to, as its log shows it.
    pub enum LinkOutcome {
        Connected = "connected",
        /// A reconnect link was used to sign in as another account than the one it is for.
        WrongAccount = "wrong_account",
        RemovalRequested = "removal_requested",
        /// Opened after it had expired, been revoked, or been used up.
        Expired = "expired",
        Revoked = "revoked",
        UsedUp = "used_up",
    }
}

/// An account as a link's log names it: kept by name, since the account may be removed later.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkedAccount {
    pub id: AccountId,
    pub display_name: String,
}

#[derive(Debug, Clone)]
pub struct LinkUseRecord {
    pub id: uuid::Uuid,
    pub link_id: LinkId,
    pub at: DateTime<Utc>,
    pub outcome: LinkOutcome,
    pub platform: Option<Platform>,
    pub accounts: Vec<LinkedAccount>,
    /// What a person reads about it (which account was expected, which was asked to be removed).
    pub detail: Option<String>,
}

/// Links and what was done through them.
#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn create_link(&self, link: &LinkRecord) -> StoreResult<()>;
    async fn link_by_token(&self, token_hash: &str) -> StoreResult<Option<LinkRecord>>;
    async fn link(&self, workspace: WorkspaceId, id: LinkId) -> StoreResult<Option<LinkRecord>>;
    /// The workspace's links, newest first.
    async fn links(&self, workspace: WorkspaceId) -> StoreResult<Vec<LinkRecord>>;
    /// Revokes a link once; false when there is no such link or it was revoked before.
    async fn revoke_link(
        &self,
        workspace: WorkspaceId,
        id: LinkId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Counts one use, in one guarded statement: false when the link is revoked, expired or used up,
    /// so two visitors of a single-use link cannot both get it.
    async fn claim_link_use(&self, id: LinkId, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Gives back a use claimed for a sign-in that connected nothing.
    async fn release_link_use(&self, id: LinkId) -> StoreResult<()>;
    async fn record_link_use(&self, entry: &LinkUseRecord) -> StoreResult<()>;
    /// A link's log, oldest first.
    async fn link_uses(&self, id: LinkId) -> StoreResult<Vec<LinkUseRecord>>;
    /// Records that an account came through a link, and puts it with the link's client unless it has one.
    async fn mark_connected_via_link(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        link: LinkId,
        client: Option<ClientId>,
    ) -> StoreResult<Option<Account>>;
}
