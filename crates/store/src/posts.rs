use crate::prelude::*;

/// Posts and their targets (one per account): scheduling, claiming, sending, settling, retrying.
#[async_trait]
pub trait PostStore: Send + Sync {
    async fn posts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<PostRecord>>;
    /// Each target of the workspace's posts due from `from` until before `to` (each account's own time),
    /// with its post's text and time, in time order; at most `limit` (the calendar's reads, one query).
    async fn targets_between(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CalendarTarget>>;
    async fn post(&self, workspace: WorkspaceId, id: uuid::Uuid)
        -> StoreResult<Option<PostRecord>>;
    /// Cancels the post's targets that are still scheduled; answers how many.
    async fn cancel_post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<u32>;
    /// Inserts the post and its targets in one transaction. A post has at most one target per account:
    /// a second one is refused as [`StoreError::Duplicate`] and nothing is stored.
    async fn create_post(&self, post: &PostRecord) -> StoreResult<()>;
    /// Schedules a draft: its fields as given, and its targets, in one transaction; false when it is not
    /// a draft (any more).
    async fn publish_draft(&self, post: &PostRecord) -> StoreResult<bool>;
    /// Rewrites a draft's fields; false when it is not a draft.
    async fn update_draft(&self, post: &PostRecord) -> StoreResult<bool>;
    /// Sets an account's or a client's posting times (replacing them); false when the owner is not the
    /// workspace's.
    /// Records how a published target's first comment went, unless it is already published (so a retry
    /// racing another never replaces a comment that went out); false when nothing changed.
    async fn record_comment(
        &self,
        target: uuid::Uuid,
        result: &CommentResult,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records how far a published target's thread went.
    async fn record_thread_progress(
        &self,
        target: uuid::Uuid,
        progress: &ThreadProgress,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks a published target deleted on its platform at `at`, once; false when it is not a published,
    /// undeleted target of the workspace.
    async fn mark_target_deleted(
        &self,
        workspace: WorkspaceId,
        target: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Deletes a draft; false when it is not a draft.
    async fn delete_draft(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool>;
    /// Takes due targets: each moves to `publishing` under a lease *before* the platform is called. An
    /// account with a target still `publishing` (another worker's, or one abandoned and not yet settled)
    /// has none taken, so one worker at a time publishes to an account and its rate windows hold.
    async fn claim_due_targets(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
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
    /// The scheduled targets of an account, with their posts (what removing it would cancel).
    async fn scheduled_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>>;
    async fn cancel_targets_for_account(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<u32>;
    async fn mark_account_used(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<()>;
    /// Posts published to an account since `since`, for its rate limits.
    async fn published_since(&self, account: AccountId, since: DateTime<Utc>) -> StoreResult<u32>;
    /// Rewrites a post, moves its scheduled targets to the new time and, when given, replaces its targets,
    /// in one transaction and only while none is being or has been published; false otherwise.
    async fn update_scheduled_post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        rewrite: &PostRewrite<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Accounts that are not Active but have targets scheduled before `before`, with how many.
    async fn accounts_with_posts_at_risk(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Account, u32)>>;
    /// Per account of the workspace: targets still scheduled, and targets published since `since`.
    async fn post_counts(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(AccountId, u32, u32)>>;
}
