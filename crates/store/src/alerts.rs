use crate::prelude::*;

/// Alerts, the webhooks they are delivered to, and the deliveries.
#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Records an alert and queues a delivery to each of the workspace's webhooks that takes its kind (see
    /// [`WebhookRecord::takes`]), in one transaction; false (and nothing recorded) when an alert with the
    /// same dedupe key exists.
    async fn record_alert(&self, alert: &AlertRecord) -> StoreResult<bool>;
    /// The workspace's alerts, newest first; with `before`, only those older than that one (the history's
    /// next page).
    async fn alerts(
        &self,
        workspace: WorkspaceId,
        before: Option<AlertPosition>,
        limit: u32,
    ) -> StoreResult<Vec<AlertRecord>>;
    async fn unread_alerts(&self, workspace: WorkspaceId) -> StoreResult<u32>;
    async fn mark_alerts_read(&self, workspace: WorkspaceId, now: DateTime<Utc>)
        -> StoreResult<()>;
    async fn create_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()>;
    async fn webhooks(&self, workspace: WorkspaceId) -> StoreResult<Vec<WebhookRecord>>;
    async fn webhook(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<WebhookRecord>>;
    async fn delete_webhook(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool>;
    /// Applies a change to a webhook's settings; false when there is no such webhook.
    async fn update_webhook(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        change: &WebhookChange,
    ) -> StoreResult<bool>;
    /// Makes `secret` the webhook's secret; the one it replaces keeps signing until `previous_until`.
    async fn rotate_webhook_secret(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        secret: &StoredCredential,
        previous_until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Notes how a delivery attempt went for the webhook's health; true when this failure disabled it
    /// (once, whichever instance records it).
    async fn record_webhook_health(
        &self,
        id: uuid::Uuid,
        now: DateTime<Utc>,
        health: WebhookHealth,
    ) -> StoreResult<bool>;
    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        webhook: uuid::Uuid,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>>;
    /// Takes due deliveries of enabled webhooks, leased to `owner`, with their webhook and alert.
    async fn claim_deliveries(
        &self,
        claim: Claim<'_>,
    ) -> StoreResult<Vec<(DeliveryRecord, WebhookRecord, AlertRecord)>>;
    async fn record_delivery_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        attempt: &DeliveryAttempt,
    ) -> StoreResult<bool>;
}
