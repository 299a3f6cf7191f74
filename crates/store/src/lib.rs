//! Storage: the interface the core uses ([`Store`]) and its implementations: SQLite, the embedded default
//! ([`sqlite`]), and PostgreSQL for several instances ([`postgres`]). Each backend's SQL lives in its own
//! module; row mapping ([`rows`]) and the list query are shared. [`open`] picks one by URL.

mod list_query;
pub mod postgres;
mod records;
pub(crate) mod rows;
pub mod sqlite;

pub use records::*;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use iquivity_domain::{Account, AccountId, Labels, Plan, Platform, Role, UserId, WorkspaceId};
use std::sync::Arc;

/// Connections each instance keeps to PostgreSQL: enough for the HTTP handlers and the engine's
/// concurrent jobs, few enough that several instances stay far under PostgreSQL's default of 100.
pub const POSTGRES_POOL_SIZE: u32 = 24;

/// Whether a database URL names PostgreSQL (anything else is taken as SQLite).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens the database a URL names, applying pending migrations: `postgres://…` (or `postgresql://…`) for
/// PostgreSQL, `sqlite://<path>` for the embedded default.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if is_postgres_url(url) {
        Ok(Arc::new(
            postgres::PgStore::open_url(url, POSTGRES_POOL_SIZE).await?,
        ))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open_url(url).await?))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("{0}")]
    PlanLimit(String),
    #[error("credential could not be sealed: {0}")]
    Seal(String),
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot prepare the database files: {0}")]
    Files(#[source] std::io::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Seals a credential for the account id it is given; called inside the store's transaction because the
/// id is only known there (a reconnect keeps the existing account's id).
pub type Sealer<'a> = &'a (dyn Fn(AccountId) -> Result<StoredCredential, String> + Send + Sync);

/// Everything the service keeps. One implementation per database; the conformance tests run against each.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // People and workspaces.
    async fn create_user_with_workspace(
        &self,
        user: &NewUser,
        workspace: &NewWorkspace,
    ) -> StoreResult<()>;
    async fn create_user(&self, user: &NewUser) -> StoreResult<()>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    async fn create_workspace(&self, workspace: &NewWorkspace, owner: UserId) -> StoreResult<()>;
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRecord>>;
    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<bool>;
    async fn add_member(&self, workspace: WorkspaceId, user: UserId, role: Role)
        -> StoreResult<()>;
    async fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Role>>;
    /// The members of a workspace with their email and role, oldest first.
    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<(UserId, String, Role)>>;
    /// The workspaces a user belongs to, oldest membership first.
    async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<(WorkspaceRecord, Role)>>;

    // Sign-in.
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Who holds an unexpired session, with their current role (one query: it runs on every request).
    async fn caller_by_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CallerRecord>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    async fn create_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()>;
    /// Who holds an API token, with their current role and when the token was last used (one query).
    async fn caller_by_api_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(CallerRecord, TokenUse)>>;
    async fn touch_api_token(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Counts one more sign-in or sign-up attempt under `key` and answers the count including it, in one
    /// statement: concurrent attempts each get their own count, so no more than a limit of them can ever
    /// pass a check of it, across instances too. A count whose window began before `window_start` has run
    /// out and starts again at 1, its window beginning `now`.
    async fn count_login_attempt(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u32>;
    /// Takes back one counted attempt of `key` (one that turned out to be the right password), never
    /// below zero.
    async fn forget_login_attempt(&self, key: &str) -> StoreResult<()>;
    /// Forgets every counted attempt of `key`.
    async fn clear_login_attempts(&self, key: &str) -> StoreResult<()>;
    /// Deletes the counts whose window began before `before` (they no longer limit anything); answers how
    /// many.
    async fn purge_login_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn create_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()>;
    async fn invitation_by_hash(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>>;
    /// Marks the invitation used and adds the member, once: false when it was already used or has expired.
    async fn accept_invitation(
        &self,
        id: uuid::Uuid,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Creates the user (with a workspace of their own, when given) and accepts the invitation for them,
    /// in one transaction: false, with nothing created (the email stays free), when the invitation was
    /// already used or has expired; `Duplicate` when the email is taken.
    async fn create_user_with_invitation(
        &self,
        user: &NewUser,
        own_workspace: Option<&NewWorkspace>,
        invitation: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;

    // Accounts.
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

    // Connection flows.
    async fn create_flow(&self, flow: &FlowRecord) -> StoreResult<()>;
    async fn flow_by_state(&self, state_hash: &str) -> StoreResult<Option<FlowRecord>>;
    async fn flow(&self, workspace: WorkspaceId, id: uuid::Uuid)
        -> StoreResult<Option<FlowRecord>>;
    /// Marks the state used, once: false when it was used before or has expired.
    async fn claim_flow_state(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<bool>;
    /// Moves a flow from `from` to `flow.stage` with its new fields; false when it was not in `from`
    /// (another request moved it first).
    async fn advance_flow(&self, flow: &FlowRecord, from: FlowStage) -> StoreResult<bool>;

    // Lifecycle.
    /// When the account is next renewed and checked (`None` leaves that one as it is).
    async fn schedule_account(
        &self,
        id: AccountId,
        next_refresh_at: Option<Option<DateTime<Utc>>>,
        next_check_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    /// Queues a refresh for every account due for one and a health check for every account due for one;
    /// an account that already has an unfinished job of that kind gets no second one. Answers how many.
    async fn enqueue_due_jobs(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<u32>;
    /// Queues one job; false when the account already has an unfinished job of that kind.
    async fn enqueue_job(&self, job: &JobRecord) -> StoreResult<bool>;
    /// Takes up to `limit` due jobs whose lease is free or ran out, leasing them to `owner` until `lease_until`.
    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<JobRecord>>;
    /// Marks a job done (and drops its payload), if `owner` still holds it.
    async fn finish_job(
        &self,
        id: uuid::Uuid,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Puts a job back for a later attempt, if `owner` still holds it.
    async fn retry_job(
        &self,
        id: uuid::Uuid,
        owner: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool>;
    async fn jobs_for_account(&self, account: AccountId) -> StoreResult<Vec<JobRecord>>;
    /// The lease that lets one refresh at a time run per account, across processes; false when another
    /// holder's lease has not run out.
    async fn take_refresh_lease(
        &self,
        account: AccountId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn release_refresh_lease(&self, account: AccountId, owner: &str) -> StoreResult<()>;
    /// Shows that the database takes a write right now by committing one that matters: it moves the
    /// refresh lease `owner` holds on the account on to `until`, always to a new value (at least a
    /// microsecond later than before), so that the write really reaches the database's files. False when
    /// the lease is not `owner`'s. Called right before a rotating refresh token is spent, since its
    /// replacement must then be stored.
    async fn probe_write(
        &self,
        account: AccountId,
        owner: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Counts one more failed call; the run starts at the first.
    async fn record_failure(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<FailureRun>;
    async fn clear_failures(&self, account: AccountId) -> StoreResult<()>;

    // Alerts and webhooks.
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
    /// Accounts whose token expires before `before` and that no refresh is scheduled for.
    async fn accounts_expiring_unrenewable(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Account>>;

    async fn metrics(&self, now: DateTime<Utc>) -> StoreResult<StoreMetrics>;
    /// The workspace's audit events, newest first.
    async fn workspace_events(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>>;

    // Posts.
    async fn posts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<PostRecord>>;
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

    // Credentials.
    async fn credential(&self, account: AccountId) -> StoreResult<Option<StoredCredential>>;
    /// Credentials sealed under any key other than `key_id`, a batch at a time (for key rotation).
    async fn credentials_not_under_key(
        &self,
        key_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, StoredCredential)>>;
    /// Replaces a credential only if it is still exactly `expected`, so a rotation never overwrites a
    /// credential that a refresh has just renewed.
    async fn replace_credential_if_unchanged(
        &self,
        account: AccountId,
        expected: &StoredCredential,
        replacement: &StoredCredential,
    ) -> StoreResult<bool>;

    /// The ids of the keys the stored credentials are sealed under.
    async fn credential_key_ids(&self) -> StoreResult<Vec<String>>;

    /// Makes everything committed visible in the database's own files (SQLite folds its write-ahead log
    /// in; a no-op for a server database). Used before backups and by tests that read the files.
    async fn checkpoint(&self) -> StoreResult<()>;

    // Audit log.
    async fn append_event(&self, event: &AuditEventRecord) -> StoreResult<()>;
    async fn events_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>>;
}
