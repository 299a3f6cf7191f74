use crate::prelude::*;

/// Posting times ("Mon-Fri 09:00" in a time zone), kept for an account or for a client.
#[async_trait]
pub trait QueueStore: Send + Sync {
    /// Sets the owner's posting times; false when the owner is not in the workspace.
    async fn set_queue(&self, queue: &QueueRecord) -> StoreResult<bool>;
    /// The owner's posting times, if it has any.
    async fn queue(
        &self,
        workspace: WorkspaceId,
        owner: QueueOwner,
    ) -> StoreResult<Option<QueueRecord>>;
}
