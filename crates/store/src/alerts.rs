use crate::prelude::*;

/// Alerts, the webhooks they are delivered to, and the deliveries.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Records an alert and queues a delivery to each of the workspace's webhooks, in one transaction;
    /// false (and nothing recorded) when an alert with the same dedupe key exists.
    async fn record_alert(&self, alert: &AlertRecord) -> StoreResult<bool>;
    async fn alerts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<AlertRecord>>;
    async fn mark_alerts_read(&self, workspace: WorkspaceId, now: DateTime<Utc>)
        -> StoreResult<()>;
    async fn create_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    async fn webhooks(&self, workspace: WorkspaceId) -> StoreResult<Vec<WebhookRecord>>;
    async fn delete_webhook(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool>;
    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        webhook: uuid::Uuid,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Takes due deliveries, leased to `owner`, with their webhook and alert.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(DeliveryRecord, WebhookRecord, AlertRecord)>>;
    async fn record_delivery_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        attempt: &DeliveryAttempt,
    ) -> StoreResult<bool>;
}
