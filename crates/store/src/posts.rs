use crate::prelude::*;

/// Posts and their targets (one per account): writing, scheduling, editing, cancelling and reading them.
/// What the publish round does with targets is [`crate::PublishingStore`].
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
