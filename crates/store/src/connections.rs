use crate::prelude::*;

/// Connection flows: the OAuth state of an account being connected, from the redirect to the choice of
/// accounts.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    async fn create_flow(&self, flow: &FlowRecord) -> StoreResult<()>;
    async fn flow_by_state(&self, state_hash: &str) -> StoreResult<Option<FlowRecord>>;
    async fn flow(&self, workspace: WorkspaceId, id: uuid::Uuid)
        -> StoreResult<Option<FlowRecord>>;
    /// Marks the state used, once: false when it was used before or has expired.
    async fn claim_flow_state(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Moves a flow from `from` to `flow.stage` with its new fields; false when it was not in `from`
    /// (another request moved it first).
    async fn advance_flow(&self, flow: &FlowRecord, from: FlowStage) -> StoreResult<bool>;
}
