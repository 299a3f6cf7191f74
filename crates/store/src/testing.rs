use crate::prelude::*;

/// What only tests use: fixtures built piece by piece and looks inside the store. Part of [`Store`] so that
/// tests reach it through `dyn Store`, but no area's: the service calls none of it, and a method that gains
/// a caller in the service moves to its area's trait.
#[async_trait]
pub trait TestSupport: Send + Sync {
    async fn create_user(&self, user: &NewUser) -> StoreResult<()>;
    async fn create_workspace(&self, workspace: &NewWorkspace, owner: UserId) -> StoreResult<()>;
    async fn add_member(&self, workspace: WorkspaceId, user: UserId, role: Role)
        -> StoreResult<()>;
    async fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Role>>;
    async fn jobs_for_account(&self, account: AccountId) -> StoreResult<Vec<JobRecord>>;
    /// Makes everything committed visible in the database's own files (SQLite folds its write-ahead log
    /// in; a no-op for a server database), for tests that read the files.
    async fn checkpoint(&self) -> StoreResult<()>;
    async fn append_event(&self, event: &AuditEventRecord) -> StoreResult<()>;
}
