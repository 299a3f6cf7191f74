use crate::prelude::*;

/// Connected accounts: connecting and reconnecting, listing, profile and status changes, removal, what a
/// refresh learned, and their audit log.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Inserts the account, or updates it when the workspace already has this platform account (a reconnect
    /// keeps id, created_at and labels). A new account must fit the workspace's plan: checked in the same
    /// transaction as the insert, so two concurrent connections cannot both take the last place.
    async fn upsert_account(
        &self,
        account: &AccountUpsert,
        seal: Option<Sealer<'_>>,
    ) -> StoreResult<UpsertOutcome>;
    async fn account(&self, workspace: WorkspaceId, id: AccountId) -> StoreResult<Option<Account>>;
    async fn list_accounts(
        &self,
        workspace: WorkspaceId,
        query: &AccountQuery,
    ) -> StoreResult<Vec<Account>>;
    async fn account_counts(&self, workspace: WorkspaceId)
        -> StoreResult<Vec<PlatformStatusCount>>;
    /// Keeps the account's picture, replacing the one before; false when the account is gone.
    async fn put_avatar(&self, avatar: &AvatarRecord) -> StoreResult<bool>;
    async fn avatar(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> StoreResult<Option<AvatarRecord>>;
    /// Every label the workspace's accounts carry, once each regardless of case, sorted.
    async fn labels_in_use(&self, workspace: WorkspaceId) -> StoreResult<Vec<String>>;
    async fn update_account_profile(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        labels: Option<&Labels>,
        name_override: Option<Option<&str>>,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>>;
    /// Sets the status and its reason; `status_since` moves only when the status or reason changes.
    async fn set_account_status(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        change: &StatusChange,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>>;
    /// Removes the account and its credentials in one transaction, recording `event`.
    async fn delete_account(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        event: &AuditEventRecord,
    ) -> StoreResult<bool>;
    async fn count_accounts(
        &self,
        workspace: WorkspaceId,
        platform: Option<Platform>,
    ) -> StoreResult<u32>;
    /// Stores what a refresh or health check learned, in one transaction: a rotated refresh token is saved
    /// together with the new access token.
    async fn record_account_refresh(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        refresh: &AccountRefresh,
    ) -> StoreResult<Option<Account>>;
    /// The account connected from this platform account in the workspace, if any.
    async fn account_by_platform_id(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        platform_account_id: &str,
    ) -> StoreResult<Option<Account>>;
    /// Accounts whose token expires before `before` and that no refresh is scheduled for.
    async fn accounts_expiring_unrenewable(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Account>>;
    /// The workspace's audit events, newest first.
    async fn workspace_events(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>>;
    async fn events_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>>;
}
