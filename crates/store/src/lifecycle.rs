use crate::prelude::*;

/// The lifecycle engine: when accounts are renewed and checked, the job queue, refresh leases, failure
/// runs, and the metrics over them.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
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
    async fn claim_jobs(&self, claim: Claim<'_>) -> StoreResult<Vec<JobRecord>>;
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
    async fn metrics(&self, now: DateTime<Utc>) -> StoreResult<StoreMetrics>;
    /// A round trip to the database, for readiness.
    async fn ping(&self) -> StoreResult<()>;
}
