use crate::prelude::*;

/// What the publish round does with targets: claiming the due ones under a lease, marking one as being
/// sent, finishing it, settling what a dead worker left, retrying a failed one, and the per-account use
/// that rate limits read.
#[async_trait]
pub trait PublishingStore: Send + Sync {
    /// Takes due targets: each moves to `publishing` under a lease *before* the platform is called. An
    /// account with a target still `publishing` (another worker's, or one abandoned and not yet settled)
    /// has none taken, so one worker at a time publishes to an account and its rate windows hold.
    async fn claim_due_targets(
        &self,
        claim: Claim<'_>,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>>;
    async fn finish_target(
        &self,
        id: uuid::Uuid,
        owner: &str,
        outcome: &TargetOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records that the request for a claimed target is going out now, right before the platform is
    /// called: from here on a lost answer means an unknown outcome. Counts the attempt. False (and nothing
    /// may be sent) unless `owner` still holds the target, unsent, under a lease that has not run out.
    async fn start_sending_target(
        &self,
        id: uuid::Uuid,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Puts back on the schedule, as they were, the targets whose lease ran out before their request was
    /// sent (the worker died or stalled while they waited for a slot): nothing reached the platform, so
    /// they are simply published later. Answers how many.
    async fn release_unsent_targets(&self, now: DateTime<Utc>) -> StoreResult<u32>;
    /// Targets left `publishing` by a worker whose lease ran out after their request was sent: their
    /// outcome is unknown.
    async fn abandoned_targets(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>>;
    /// Settles an abandoned target (only while it is still abandoned).
    async fn settle_abandoned_target(
        &self,
        id: uuid::Uuid,
        outcome: &TargetOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Puts a failed target back on the schedule; false when it is not failed.
    async fn retry_target(
        &self,
        workspace: WorkspaceId,
        post: uuid::Uuid,
        target: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn mark_account_used(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<()>;
    /// Posts published to an account since `since`, for its rate limits.
    async fn published_since(&self, account: AccountId, since: DateTime<Utc>) -> StoreResult<u32>;
}
