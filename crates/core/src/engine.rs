//! The lifecycle engine: keeping connections alive without anyone watching, as durable jobs with leases. A
//! round claims due jobs, runs each account's jobs in order on a per-platform slot, and settles them; what a
//! job does is elsewhere (renewal and health checks in [`crate::renewal`], revocation in
//! [`crate::accounts`], publishing in [`crate::publishing`], webhook deliveries in [`crate::alerts`]).

use crate::metrics::Trigger;
use crate::renewal::renew_at;
use crate::{Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{Account, AccountId, Platform, TokenSet};
use iquivity_store::{Claim, JobKind, JobRecord};
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

/// Whether this instance's engine is running and when its last round ended well, for readiness.
#[derive(Default)]
pub struct RoundWatch {
    running: std::sync::atomic::AtomicBool,
    /// When the engine started, or its last round ended well.
    last_good: Mutex<Option<std::time::Instant>>,
}

impl RoundWatch {
    /// The engine loop starts on this instance.
    pub fn started(&self) {
        self.running
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.mark_good();
    }

    fn mark_good(&self) {
        *self
            .last_good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(std::time::Instant::now());
    }

    /// `None` where the engine does not run here; otherwise whether a round ended well within `within`.
    pub(crate) fn healthy(&self, within: std::time::Duration) -> Option<bool> {
        if !self.running.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
        let last = *self
            .last_good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(last.is_some_and(|at| at.elapsed() <= within))
    }
}

/// Whether an instance can do its work; `lifecycle` is `None` where the engine does not run.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub database: bool,
    pub keys: bool,
    pub lifecycle: Option<bool>,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.database && self.keys && self.lifecycle != Some(false)
    }
}

/// What one round of the engine did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub queued: u32,
    pub done: u32,
    pub retried: u32,
    pub delivered: u32,
    /// Daily digests of alerts put in the outbox.
    pub digests: u32,
    /// Emails sent from the outbox.
    pub mailed: u32,
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

/// Backoff with jitter for a job that failed because the platform did: 1, 5, 15, 30, then 60 minutes.
pub(crate) fn backoff(attempts: u32) -> Duration {
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

/// How long until an account's next health check: `interval`, give or take a quarter of it at random,
/// so that accounts connected together are not all checked together.
fn check_delay(interval: Duration) -> Duration {
    let interval = interval.num_seconds().max(4);
    let spread = interval / 4;
    Duration::seconds(interval + rand::thread_rng().gen_range(-spread..=spread))
}

pub(crate) enum Handled {
    Done,
    /// Put back until then, saying why.
    RetryAt(DateTime<Utc>, String),
    /// Put back until the platform's limit resets (then), saying why; counted apart in the metrics.
    RateLimited(DateTime<Utc>, String),
}

impl Core {
    pub(crate) fn jittered_check(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + check_delay(self.settings.lifecycle.check_interval)
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
            .claim_jobs(Claim::new(owner, now, now + settings.lease, settings.batch))
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
        report.digests = self.send_due_digests().await?;
        report.mailed = self.send_due_mail(owner).await?;
        self.rounds.mark_good();
        Ok(report)
    }

    /// What `/readyz` reports: the database answers, the active key seals, and, where the engine runs
    /// on this instance, a round ended well within two leases (a round never takes longer).
    pub async fn readiness(&self) -> Readiness {
        // Bounded: a database that does not answer at all must not hold the probe past its own timeout.
        let database = match tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.store.ping(),
        )
        .await
        {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                tracing::warn!(error = %ErrorChain(&err), "not ready: the database does not answer");
                false
            }
            Err(_) => {
                tracing::warn!("not ready: the database did not answer within 2 seconds");
                false
            }
        };
        let keys = self.vault.seal(b"ready", b"readiness").is_ok();
        let within = (self.settings.lifecycle.lease * 2)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(600));
        Readiness {
            database,
            keys,
            lifecycle: self.rounds.healthy(within),
        }
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
            let check = match job.kind {
                JobKind::Refresh => Some("refresh"),
                JobKind::HealthCheck => Some("health_check"),
                JobKind::Revoke => None,
            };
            if let Some(check) = check {
                let outcome = match &handled {
                    Ok(Handled::Done) => "done",
                    Ok(Handled::RateLimited(..)) => "rate_limited",
                    Ok(Handled::RetryAt(..)) => "failed",
                    Err(_) => "error",
                };
                self.check_counts
                    .count(job.platform, check, Trigger::Scheduled, outcome);
            }
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

    pub(crate) async fn current(
        &self,
        job: &JobRecord,
    ) -> Result<Option<(Account, TokenSet)>, CoreError> {
        let Some(account) = self.store.account(job.workspace_id, job.account_id).await? else {
            return Ok(None);
        };
        let Some(tokens) = self.tokens_of(account.id).await? else {
            return Ok(None);
        };
        Ok(Some((account, tokens)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many draws of a random delay.
    fn draws(delay: impl Fn() -> Duration) -> Vec<Duration> {
        (0..200).map(|_| delay()).collect()
    }

    #[test]
    fn each_backoff_step_waits_its_minutes_and_at_most_a_fifth_more() {
        let table = [
            (0, 1),
            (1, 1),
            (2, 5),
            (3, 15),
            (4, 30),
            (5, 60),
            (6, 60),
            (50, 60),
        ];
        for (attempts, minutes) in table {
            let delays = draws(|| backoff(attempts));
            let (least, most) = (Duration::minutes(minutes), Duration::seconds(minutes * 72));
            for delay in &delays {
                assert!(
                    *delay >= least && *delay <= most,
                    "attempt {attempts}: {delay} outside {least}..={most}"
                );
            }
            assert!(
                delays.iter().any(|d| *d != delays[0]),
                "attempt {attempts}: retries are spread out, not all at {}",
                delays[0]
            );
        }
    }

    #[test]
    fn health_checks_spread_a_quarter_either_side_of_the_interval() {
        let interval = Duration::hours(6);
        let delays = draws(|| check_delay(interval));
        for delay in &delays {
            assert!(
                *delay >= Duration::minutes(270) && *delay <= Duration::minutes(450),
                "{delay} is more than 25% off 6 hours"
            );
        }
        // Uniform over 4.5 to 7.5 hours: of 200 accounts, some fall in each outer twelfth (a spread
        // narrower than ±25% would leave one empty).
        let (low, high) = (Duration::minutes(285), Duration::minutes(435));
        assert!(
            delays.iter().any(|d| *d < low),
            "none below {low}: {delays:?}"
        );
        assert!(
            delays.iter().any(|d| *d > high),
            "none above {high}: {delays:?}"
        );
        let distinct: std::collections::BTreeSet<_> = delays.iter().collect();
        assert!(distinct.len() > 100, "{} distinct of 200", distinct.len());
    }
}
