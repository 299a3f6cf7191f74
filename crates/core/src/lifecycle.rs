//! Keeping connections alive without anyone watching: tokens renewed ahead of expiry, health checks on a
//! spread-out schedule, statuses that follow what the platform says (a blip never flags an account), and
//! platform-side revocation after removal, all as durable jobs with leases.

use crate::connections::RenewError;
use crate::credentials::{open_bytes, seal_bytes};
use crate::{Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{
    Account, AccountId, AccountKind, AccountStatus, Platform, StatusReason, TokenSet,
};
use iquivity_platforms::{missing_scopes, ErrorClass, PlatformError};
use iquivity_store::{AccountRefresh, JobKind, JobRecord};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

/// Where the engine reads the time, so tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(start))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The engine's knobs.
#[derive(Debug, Clone)]
pub struct LifecycleSettings {
    /// Mean time between health checks of one account (each gets ±25% jitter, so checks spread out).
    pub check_interval: Duration,
    /// A platform that keeps failing marks the account Failed only after this many failures...
    pub unavailable_failures: u32,
    /// ...spread over at least this long.
    pub unavailable_span: Duration,
    /// How long a worker holds a job (or an account's refresh) before another may take it over.
    pub lease: Duration,
    /// Jobs (and, separately, post targets) a worker takes per round. They run side by side, so a round
    /// lasts about `batch / (platforms × per_platform_concurrency)` platform calls; 480 is three waves of
    /// every platform's slots, which keeps a sweep of due refreshes above 500 per second at 50 ms per
    /// call while a round still ends within seconds.
    pub batch: u32,
    /// How many jobs or publications of one round may talk to one platform at once. A refresh is two
    /// calls on X, LinkedIn and TikTok but five on Meta (token exchange, grants, Page token, Page,
    /// grants), so at 50 ms per call 16 slots would hold Facebook and Instagram to about 64 refreshes a
    /// second each; 32 lets a mixed sweep pass 500 a second while one instance still keeps well below
    /// the connection counts platforms treat as abuse. Rate limits are handled apart from this, by
    /// the platforms' own answers.
    pub per_platform_concurrency: u32,
    /// How long the serve loop waits after a round that found less than a full batch of work (after a
    /// full one it starts the next round at once). A post is published at most this long after its
    /// time, so it stays short; an idle round is a handful of indexed queries.
    pub idle_pause: std::time::Duration,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            check_interval: Duration::hours(6),
            unavailable_failures: 3,
            unavailable_span: Duration::hours(1),
            lease: Duration::minutes(5),
            batch: 480,
            per_platform_concurrency: 32,
            idle_pause: std::time::Duration::from_secs(1),
        }
    }
}

/// What one round of the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub queued: u32,
    pub done: u32,
    pub retried: u32,
    pub delivered: u32,
    pub published: u32,
    pub publish_failed: u32,
    /// The round took a full batch of jobs or of post targets, so more is probably due: the next round
    /// should start at once rather than after a pause.
    pub more_due: bool,
}

/// Slots per platform for one round: at most `per_platform_concurrency` jobs or publications talk to a
/// platform at once, so one slow platform cannot take every slot and a burst stays polite.
#[derive(Clone)]
pub(crate) struct PlatformSlots(Arc<BTreeMap<Platform, Arc<Semaphore>>>);

impl PlatformSlots {
    pub(crate) fn new(per_platform: u32) -> Self {
        let permits = usize::try_from(per_platform.max(1)).unwrap_or(1);
        PlatformSlots(Arc::new(
            Platform::ALL
                .iter()
                .map(|p| (*p, Arc::new(Semaphore::new(permits))))
                .collect(),
        ))
    }

    /// Waits for a free slot on `platform`; it is free again when the permit is dropped.
    pub(crate) async fn take(&self, platform: Platform) -> Result<OwnedSemaphorePermit, CoreError> {
        let slots = self
            .0
            .get(&platform)
            .ok_or_else(|| CoreError::internal(format!("no slots for {platform}")))?;
        slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CoreError::internal_from(format!("slots for {platform}"), e))
    }
}

/// Splits claimed work into one queue per account, in claim order. An account's items run one after
/// another, so that a health check never reads tokens a refresh is rotating, and two posts to one account
/// never both pass a rate window that only one fits; different accounts run side by side.
pub(crate) fn per_account<T>(items: Vec<T>, account: impl Fn(&T) -> AccountId) -> Vec<Vec<T>> {
    let mut index: HashMap<AccountId, usize> = HashMap::new();
    let mut queues: Vec<Vec<T>> = Vec::new();
    for item in items {
        let next = queues.len();
        let at = *index.entry(account(&item)).or_insert(next);
        if at == next {
            queues.push(Vec::new());
        }
        queues[at].push(item);
    }
    queues
}

/// Waits for every task, even after one failed: each holds leases on what it claimed, and stopping early
/// would leave those to run out rather than be settled. Answers the results, or the first error.
pub(crate) async fn join_all<T: 'static>(
    mut tasks: JoinSet<Result<T, CoreError>>,
) -> Result<Vec<T>, CoreError> {
    let mut results = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(result)) => results.push(result),
            Ok(Err(err)) => {
                tracing::error!(error = %ErrorChain(&err), "lifecycle task failed");
                first_error.get_or_insert(err);
            }
            Err(err) => {
                tracing::error!(error = %err, "lifecycle task stopped");
                first_error.get_or_insert(CoreError::internal_from("lifecycle task", err));
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(results),
    }
}

/// When to renew, ahead of the expiry by a margin that suits the platform (its descriptor's renewal
/// policy); `None` when the platform offers no renewal without the person (LinkedIn without a refresh
/// token) or the token does not expire. Never in the past.
pub fn renew_at(
    platform: Platform,
    kind: AccountKind,
    tokens: &TokenSet,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = iquivity_platforms::descriptor(platform)
        .renewal
        .due(kind, tokens)?;
    Some(at.max(now + Duration::minutes(1)))
}

/// Backoff with jitter for a job that failed because the platform did: 1, 5, 15, 30, then 60 minutes.
fn backoff(attempts: u32) -> Duration {
    let minutes = match attempts {
        0 | 1 => 1,
        2 => 5,
        3 => 15,
        4 => 30,
        _ => 60,
    };
    let jitter = rand::thread_rng().gen_range(0..=minutes * 12);
    Duration::minutes(minutes) + Duration::seconds(jitter)
}

enum Handled {
    Done,
    /// Put back until then, saying why.
    RetryAt(DateTime<Utc>, String),
    /// Put back until the platform's limit resets (then), saying why; counted apart in the metrics.
    RateLimited(DateTime<Utc>, String),
}

impl Core {
    fn jittered_check(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let interval = self.settings.lifecycle.check_interval.num_seconds().max(4);
        let spread = interval / 4;
        now + Duration::seconds(interval + rand::thread_rng().gen_range(-spread..=spread))
    }

    /// Sets when a freshly connected or renewed account is next renewed and checked.
    pub(crate) async fn schedule(
        &self,
        account: &Account,
        tokens: &TokenSet,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        let refresh = renew_at(account.platform, account.kind, tokens, now);
        self.store
            .schedule_account(account.id, Some(refresh), Some(self.jittered_check(now)))
            .await?;
        Ok(())
    }

    fn count_job(&self, kind: JobKind, outcome: &str) {
        let mut counts = self
            .job_outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts
            .entry((kind.as_str().to_string(), outcome.to_string()))
            .or_default() += 1;
    }

    /// One round of the engine: queue what is due, then run a batch of due jobs as `owner` (side by side,
    /// within each platform's slots), then publish due posts the same way.
    pub async fn run_lifecycle_round(&self, owner: &str) -> Result<RoundReport, CoreError> {
        // First what an earlier failure left owed to the database: renewed tokens above all. If it still
        // refuses, the round goes on; each use of those tokens tries again.
        if let Err(err) = self.save_unsaved(None).await {
            tracing::error!(error = %ErrorChain(&err), "what the database refused earlier is still not saved");
        }
        let now = self.clock.now();
        let settings = &self.settings.lifecycle;
        let mut report = RoundReport {
            queued: self.store.enqueue_due_jobs(now, settings.batch * 4).await?,
            ..RoundReport::default()
        };
        self.alert_expiring().await?;
        self.alert_posts_at_risk().await?;
        self.purge_login_attempts(now).await?;
        let slots = PlatformSlots::new(settings.per_platform_concurrency);
        let jobs = self
            .store
            .claim_jobs(owner, now, now + settings.lease, settings.batch)
            .await?;
        report.more_due = jobs.len() >= usize::try_from(settings.batch).unwrap_or(usize::MAX);
        // A job still waiting for a slot this late might outlive its lease and run beside the worker
        // that takes it over; it is handed back instead.
        let start_by = now + settings.lease / 2;
        let mut tasks = JoinSet::new();
        for queue in per_account(jobs, |job| job.account_id) {
            let (core, owner, slots) = (self.clone(), owner.to_string(), slots.clone());
            tasks
                .spawn(async move { core.run_account_jobs(queue, &owner, &slots, start_by).await });
        }
        for (done, retried) in join_all(tasks).await? {
            report.done += done;
            report.retried += retried;
        }
        let publishing = self.publish_due(owner, &slots).await?;
        report.published = publishing.published;
        report.publish_failed = publishing.failed;
        report.more_due |= publishing.full_batch;
        // After the jobs and posts, so that what they alerted about goes out in this same round.
        report.delivered = self.deliver_webhooks(owner).await?;
        Ok(report)
    }

    /// Runs one account's claimed jobs in order, each in a slot of its platform. Answers how many were
    /// done and how many put back for later.
    async fn run_account_jobs(
        &self,
        jobs: Vec<JobRecord>,
        owner: &str,
        slots: &PlatformSlots,
        start_by: DateTime<Utc>,
    ) -> Result<(u32, u32), CoreError> {
        let (mut done, mut retried) = (0, 0);
        for job in jobs {
            let _slot = slots.take(job.platform).await?;
            let now = self.clock.now();
            if now > start_by {
                self.count_job(job.kind, "deferred");
                if self
                    .store
                    .retry_job(
                        job.id,
                        owner,
                        now,
                        "waited too long for a free slot on the platform",
                    )
                    .await?
                {
                    retried += 1;
                }
                continue;
            }
            let handled = match job.kind {
                JobKind::Refresh => self.run_refresh(&job, owner).await,
                JobKind::HealthCheck => self.run_health_check(&job).await,
                JobKind::Revoke => self.run_revoke(&job).await,
            };
            let outcome = match &handled {
                Ok(Handled::Done) => "done",
                Ok(Handled::RateLimited(..)) => "rate_limited",
                Ok(Handled::RetryAt(..)) => "retried",
                Err(_) => "error",
            };
            self.count_job(job.kind, outcome);
            match handled {
                Ok(Handled::Done) => {
                    if self
                        .store
                        .finish_job(job.id, owner, self.clock.now())
                        .await?
                    {
                        done += 1;
                    } else {
                        tracing::warn!(job_id = %job.id, "job finished after its lease ran out; another worker has it");
                    }
                }
                Ok(Handled::RetryAt(at, why) | Handled::RateLimited(at, why)) => {
                    if self.store.retry_job(job.id, owner, at, &why).await? {
                        retried += 1;
                    }
                }
                Err(err) => {
                    tracing::error!(job_id = %job.id, kind = job.kind.as_str(), account_id = %job.account_id, error = %ErrorChain(&err), "job failed");
                    let at = self.clock.now() + backoff(job.attempts);
                    if self
                        .store
                        .retry_job(job.id, owner, at, &err.to_string())
                        .await?
                    {
                        retried += 1;
                    }
                }
            }
        }
        Ok((done, retried))
    }

    async fn current(&self, job: &JobRecord) -> Result<Option<(Account, TokenSet)>, CoreError> {
        let Some(account) = self.store.account(job.workspace_id, job.account_id).await? else {
            return Ok(None);
        };
        let Some(tokens) = self.tokens_of(account.id).await? else {
            return Ok(None);
        };
        Ok(Some((account, tokens)))
    }

    async fn run_refresh(&self, job: &JobRecord, owner: &str) -> Result<Handled, CoreError> {
        // A lease of this run alone (not of the worker): a release the database refused is made later,
        // and must then end this hold and no later one.
        let owner = format!("{owner}/{}", uuid::Uuid::now_v7());
        if !self.take_refresh_lease(job.account_id, &owner).await? {
            // Soon: the other refresh ends within seconds, or (its worker dead) its lease runs out about
            // when this job's did, since both were taken together.
            let soon = (self.settings.lifecycle.lease / 4).min(Duration::seconds(30));
            return Ok(Handled::RetryAt(
                self.clock.now() + soon,
                "another refresh of this account is running".into(),
            ));
        }
        let outcome = self.refresh_holding_lease(job, &owner).await;
        let released = self.release_refresh_lease(job.account_id, &owner).await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    async fn refresh_holding_lease(
        &self,
        job: &JobRecord,
        lease_owner: &str,
    ) -> Result<Handled, CoreError> {
        // Read after taking the lease: a refresh that just finished may have rotated the tokens.
        let Some((account, tokens)) = self.current(job).await? else {
            return Ok(Handled::Done);
        };
        let adapter = self.adapter(account.platform)?;
        // A job retried or taken over after its renewal went through (the worker died, or the check after
        // it failed) does not renew again: the renewal stands, and on platforms that rotate refresh tokens
        // each renewal spends one.
        let renewed_already = job.attempts > 1
            && account
                .last_refreshed_at
                .is_some_and(|at| at >= job.created_at);
        match self
            .renew_and_check(&*adapter, &account, tokens, !renewed_already, lease_owner)
            .await
        {
            Ok(renewed) => {
                self.after_success(&account, &renewed).await?;
                Ok(Handled::Done)
            }
            Err(RenewError::Platform(err)) => self.after_failure(job, &account, err).await,
            // This service failed (its database or vault), not the platform: the job is retried with
            // backoff like any failed job, and the account's status and run of failures stay untouched.
            Err(RenewError::Internal(err)) => Err(err),
        }
    }

    async fn run_health_check(&self, job: &JobRecord) -> Result<Handled, CoreError> {
        let Some((account, tokens)) = self.current(job).await? else {
            return Ok(Handled::Done);
        };
        let adapter = self.adapter(account.platform)?;
        let now = self.clock.now();
        match adapter
            .identity(account.kind, &account.platform_account_id, &tokens)
            .await
        {
            Ok(identity) => {
                if let Some(granted) = &identity.scopes {
                    let missing = missing_scopes(&adapter.required_scopes(), granted);
                    if !missing.is_empty() {
                        let err = PlatformError::new(
                            account.platform.as_str(),
                            ErrorClass::MissingPermission { scopes: missing },
                            "required permissions were removed",
                        );
                        return self.after_failure(job, &account, err).await;
                    }
                }
                self.store
                    .record_account_refresh(
                        account.workspace_id,
                        account.id,
                        &AccountRefresh {
                            credential: None,
                            token_expires_at: None,
                            scopes: identity.scopes,
                            display_name: Some(identity.display_name),
                            handle: Some(identity.handle),
                            avatar_url: Some(identity.avatar_url),
                            followers: identity.followers,
                            refreshed: false,
                            now,
                        },
                    )
                    .await?;
                let checked = if account.status == AccountStatus::Active {
                    account.clone()
                } else {
                    self.change_account_status(account.workspace_id, account.id, None, None)
                        .await?
                };
                self.after_success(&account, &checked).await?;
                Ok(Handled::Done)
            }
            // An expired access token is the refresh's business: renew now rather than flag the account.
            Err(err)
                if err.class == ErrorClass::TokenExpired
                    && renew_at(account.platform, account.kind, &tokens, now).is_some() =>
            {
                self.store
                    .schedule_account(account.id, Some(Some(now)), Some(self.jittered_check(now)))
                    .await?;
                Ok(Handled::Done)
            }
            Err(err) => self.after_failure(job, &account, err).await,
        }
    }

    /// A call worked: the run of failures ends, and an account that had a problem is recovered.
    pub(crate) async fn after_success(
        &self,
        before: &Account,
        after: &Account,
    ) -> Result<(), CoreError> {
        self.store.clear_failures(before.id).await?;
        if before.status != AccountStatus::Active {
            tracing::info!(account_id = %before.id, platform = %before.platform, "account recovered");
        }
        if let Some(tokens) = self.tokens_of(after.id).await? {
            self.schedule(after, &tokens).await?;
        }
        Ok(())
    }

    /// Turns a platform failure into a status (or into patience): rate limits wait for the reset without a
    /// status change; an unavailable platform is retried with backoff and marks the account Failed only
    /// once it has failed `unavailable_failures` times over at least `unavailable_span`; what only the
    /// person can fix marks it at once, with the reason and advice.
    async fn after_failure(
        &self,
        job: &JobRecord,
        account: &Account,
        err: PlatformError,
    ) -> Result<Handled, CoreError> {
        let now = self.clock.now();
        tracing::info!(account_id = %account.id, platform = %account.platform, class = ?err.class, "platform call failed");
        match &err.class {
            ErrorClass::RateLimited { until } => {
                let at = until
                    .filter(|u| *u > now)
                    .unwrap_or(now + Duration::minutes(1));
                Ok(Handled::RateLimited(
                    at,
                    format!("rate limited: {}", err.message),
                ))
            }
            ErrorClass::Unavailable | ErrorClass::Rejected => {
                let run = self.store.record_failure(account.id, now).await?;
                let settings = &self.settings.lifecycle;
                if run.count >= settings.unavailable_failures
                    && now - run.since >= settings.unavailable_span
                {
                    let message = format!(
                        "{} has been failing since {} ({} attempts): {}",
                        account.platform.display_name(),
                        run.since.format("%b %d %Y, %H:%M UTC"),
                        run.count,
                        err.message
                    );
                    self.change_account_status(
                        account.workspace_id,
                        account.id,
                        Some(StatusReason::PlatformUnavailable),
                        Some(message),
                    )
                    .await?;
                }
                Ok(Handled::RetryAt(now + backoff(job.attempts), err.message))
            }
            class => {
                let reason = class
                    .status_reason()
                    .unwrap_or(StatusReason::AuthenticationFailed);
                let message = match class {
                    ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => {
                        format!(
                            "The permission(s) {} are no longer granted.",
                            scopes.join(", ")
                        )
                    }
                    _ => format!("{} {}", reason.default_message(), err.message),
                };
                self.change_account_status(
                    account.workspace_id,
                    account.id,
                    Some(reason),
                    Some(message),
                )
                .await?;
                // Renewing cannot help until the person reconnects; health checks go on, to notice a fix.
                self.store
                    .schedule_account(account.id, Some(None), Some(self.jittered_check(now)))
                    .await?;
                Ok(Handled::Done)
            }
        }
    }

    /// The bulk "refresh all inactive" action: every Inactive or Failed account of the workspace is renewed
    /// by the engine in its next rounds. Answers how many were queued.
    pub async fn refresh_all_inactive(&self, caller: &crate::Caller) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let mut query = iquivity_store::AccountQuery::all(crate::accounts::MAX_PAGE);
        query.statuses = vec![AccountStatus::Inactive, AccountStatus::Failed];
        let mut queued = 0;
        loop {
            let page = self
                .store
                .list_accounts(caller.workspace_id, &query)
                .await?;
            for account in &page {
                self.store
                    .schedule_account(account.id, Some(Some(now)), None)
                    .await?;
                queued += 1;
            }
            match page.last() {
                Some(last) if page.len() == crate::accounts::MAX_PAGE as usize => {
                    query.after = Some(iquivity_store::cursor_after(last, query.sort));
                }
                _ => break,
            }
        }
        Ok(queued)
    }

    /// Queues the platform-side revocation of a removed account, carrying its tokens sealed to the job.
    pub(crate) async fn queue_revocation(
        &self,
        account: &Account,
        tokens: &TokenSet,
    ) -> Result<(), CoreError> {
        let id = uuid::Uuid::now_v7();
        let payload = crate::credentials::seal(&self.vault, account.id, tokens)?;
        // Re-seal under the job id: the account row, and so its id's meaning, is gone.
        let bytes = open_bytes(&self.vault, &account.id.to_string(), &payload)?;
        let now = self.clock.now();
        self.store
            .enqueue_job(&JobRecord {
                id,
                kind: JobKind::Revoke,
                account_id: account.id,
                workspace_id: account.workspace_id,
                platform: account.platform,
                payload: Some(seal_bytes(&self.vault, &id.to_string(), &bytes)?),
                run_at: now,
                attempts: 0,
                last_error: None,
                created_at: now,
                done_at: None,
            })
            .await?;
        Ok(())
    }

    async fn run_revoke(&self, job: &JobRecord) -> Result<Handled, CoreError> {
        let Some(payload) = &job.payload else {
            return Ok(Handled::Done);
        };
        let bytes = open_bytes(&self.vault, &job.id.to_string(), payload)?;
        let tokens = crate::credentials::tokens_from_bytes(&bytes)?;
        let adapter = self.adapter(job.platform)?;
        let now = self.clock.now();
        match adapter.revoke(&tokens).await {
            Ok(()) => {
                tracing::info!(account_id = %job.account_id, platform = %job.platform, "access revoked on the platform");
                Ok(Handled::Done)
            }
            Err(err) => match err.class {
                ErrorClass::Unavailable => {
                    Ok(Handled::RetryAt(now + backoff(job.attempts), err.message))
                }
                ErrorClass::RateLimited { until } => Ok(Handled::RateLimited(
                    until
                        .filter(|u| *u > now)
                        .unwrap_or(now + Duration::minutes(1)),
                    err.message,
                )),
                // Already revoked or expired on the platform: there is nothing left to withdraw.
                _ => {
                    tracing::info!(account_id = %job.account_id, platform = %job.platform, "revocation not needed: {}", err.message);
                    Ok(Handled::Done)
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn tokens(expires_in: Option<i64>, refresh: bool) -> TokenSet {
        let now = Utc::now();
        TokenSet {
            access_token: SecretString::from("a".to_string()),
            refresh_token: refresh.then(|| SecretString::from("r".to_string())),
            expires_at: expires_in.map(|s| now + Duration::seconds(s)),
            refresh_expires_at: None,
            grant_token: None,
            issued_at: Some(now),
        }
    }

    #[test]
    fn renewal_comes_ahead_of_expiry_by_a_platform_margin() {
        let now = Utc::now();
        let x = renew_at(
            Platform::X,
            AccountKind::Profile,
            &tokens(Some(7200), true),
            now,
        )
        .unwrap();
        assert!((x - now - Duration::minutes(110)).num_seconds().abs() < 5);
        let li = renew_at(
            Platform::Linkedin,
            AccountKind::Profile,
            &tokens(Some(60 * 86400), true),
            now,
        )
        .unwrap();
        assert!((li - now - Duration::days(53)).num_seconds().abs() < 5);
        assert_eq!(
            renew_at(
                Platform::Linkedin,
                AccountKind::Profile,
                &tokens(Some(60 * 86400), false),
                now
            ),
            None
        );
        assert_eq!(
            renew_at(
                Platform::Tiktok,
                AccountKind::Business,
                &tokens(None, true),
                now
            ),
            None
        );
        let soon = renew_at(
            Platform::X,
            AccountKind::Profile,
            &tokens(Some(60), true),
            now,
        )
        .unwrap();
        assert!(soon >= now + Duration::minutes(1), "never in the past");
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        assert!(backoff(1) < Duration::minutes(2));
        assert!(backoff(3) >= Duration::minutes(15));
        assert!(backoff(50) <= Duration::minutes(72));
    }
}
