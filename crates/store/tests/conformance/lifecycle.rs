//! The lifecycle engine's storage: schedules, jobs and their leases, refresh leases, failure runs.

use crate::harness::*;
use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, AccountStatus, Plan, Platform, StatusReason, WorkspaceId};
use iquivity_store::{Claim, FailureRun, JobKind, JobRecord, Store};
use std::collections::HashSet;
use std::sync::Arc;

fn kinds(jobs: &[JobRecord]) -> Vec<JobKind> {
    let mut kinds: Vec<JobKind> = jobs.iter().map(|j| j.kind).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds
}

fn open(jobs: &[JobRecord]) -> Vec<&JobRecord> {
    jobs.iter().filter(|j| j.done_at.is_none()).collect()
}

pub async fn due_accounts_get_one_open_job_of_each_kind(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let t0 = now();
    let a = account(s, &owner, Platform::X, "a").await;
    let b = account(s, &owner, Platform::Facebook, "b").await;
    let c = account(s, &owner, Platform::Linkedin, "c").await;
    let d = account(s, &owner, Platform::Tiktok, "d").await;

    // a: both due; b: a check due, a refresh later; c: nothing due yet; d: never scheduled.
    store
        .schedule_account(a.id, Some(Some(t0 - minutes(5))), Some(t0 - minutes(1)))
        .await
        .unwrap();
    store
        .schedule_account(b.id, Some(Some(t0 + minutes(60))), Some(t0 - minutes(2)))
        .await
        .unwrap();
    store
        .schedule_account(c.id, Some(Some(t0 + minutes(60))), Some(t0 + minutes(60)))
        .await
        .unwrap();
    // `None` leaves a schedule as it is.
    store.schedule_account(b.id, None, None).await.unwrap();
    let next_refresh =
        |id| async move { stored_account(s, owner.workspace, id).await.next_refresh_at };
    assert_eq!(next_refresh(a.id).await, Some(t0 - minutes(5)));
    assert_eq!(next_refresh(b.id).await, Some(t0 + minutes(60)));

    enqueue_due(s, t0, 100, 3).await;
    let a_jobs = store.jobs_for_account(a.id).await.unwrap();
    assert_eq!(kinds(&a_jobs), vec![JobKind::HealthCheck, JobKind::Refresh]);
    for job in &a_jobs {
        assert_eq!(job.account_id, a.id);
        assert_eq!(job.workspace_id, owner.workspace);
        assert_eq!(job.platform, Platform::X);
        assert_eq!(job.attempts, 0);
        assert_eq!(job.done_at, None);
        let due = match job.kind {
            JobKind::Refresh => t0 - minutes(5),
            _ => t0 - minutes(1),
        };
        assert_eq!(job.run_at, due, "a job runs when it fell due");
    }
    assert_eq!(
        kinds(&store.jobs_for_account(b.id).await.unwrap()),
        vec![JobKind::HealthCheck]
    );
    assert!(store.jobs_for_account(c.id).await.unwrap().is_empty());
    assert!(store.jobs_for_account(d.id).await.unwrap().is_empty());

    // Still due, but each already has an open job of that kind: nothing more.
    enqueue_due(s, t0, 100, 0).await;
    enqueue_due(s, t0 + minutes(1), 100, 0).await;
    assert_eq!(store.jobs_for_account(a.id).await.unwrap().len(), 2);
    assert_eq!(store.jobs_for_account(b.id).await.unwrap().len(), 1);

    // Later, b's refresh and both of c's fall due.
    enqueue_due(s, t0 + minutes(61), 100, 3).await;
    assert_eq!(
        kinds(&store.jobs_for_account(b.id).await.unwrap()),
        vec![JobKind::HealthCheck, JobKind::Refresh]
    );
    assert_eq!(
        kinds(&store.jobs_for_account(c.id).await.unwrap()),
        vec![JobKind::HealthCheck, JobKind::Refresh]
    );
    assert_eq!(store.jobs_for_account(a.id).await.unwrap().len(), 2);

    // Once a's refresh is done, a still-due schedule queues a new one.
    let claimed = store
        .claim_jobs(Claim::new(
            "worker",
            t0 + minutes(61),
            t0 + minutes(62),
            100,
        ))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 6);
    let refresh = claimed
        .iter()
        .find(|j| j.account_id == a.id && j.kind == JobKind::Refresh)
        .unwrap();
    assert!(store
        .finish_job(refresh.id, "worker", t0 + minutes(61))
        .await
        .unwrap());
    enqueue_due(s, t0 + minutes(61), 100, 1).await;
    let a_jobs = store.jobs_for_account(a.id).await.unwrap();
    assert_eq!(a_jobs.len(), 3);
    assert_eq!(
        kinds(&open(&a_jobs).into_iter().cloned().collect::<Vec<_>>()),
        vec![JobKind::HealthCheck, JobKind::Refresh]
    );

    // enqueue_job keeps to one open job per kind too.
    assert!(!store
        .enqueue_job(&job(JobKind::HealthCheck, a.id, owner.workspace, t0))
        .await
        .unwrap());
    assert!(store
        .enqueue_job(&job(JobKind::Revoke, a.id, owner.workspace, t0))
        .await
        .unwrap());
    assert!(!store
        .enqueue_job(&job(JobKind::Revoke, a.id, owner.workspace, t0))
        .await
        .unwrap());

    // No refresh scheduled any more: only checks fall due.
    store
        .schedule_account(d.id, Some(None), Some(t0))
        .await
        .unwrap();
    assert_eq!(next_refresh(d.id).await, None);
    enqueue_due(s, t0 + minutes(200), 100, 1).await;
    assert_eq!(
        kinds(&store.jobs_for_account(d.id).await.unwrap()),
        vec![JobKind::HealthCheck]
    );
}

pub async fn enqueue_respects_its_limit(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let t0 = now();
    let mut accounts = Vec::new();
    for (i, platform) in [Platform::X, Platform::Facebook, Platform::Instagram]
        .into_iter()
        .enumerate()
    {
        let account = account(s, &owner, platform, &format!("due {i}")).await;
        // Due one after the other; no health checks scheduled.
        store
            .schedule_account(account.id, Some(Some(t0 - minutes(10 - i as i64))), None)
            .await
            .unwrap();
        accounts.push(account);
    }
    enqueue_due(s, t0, 2, 2).await;
    // The most overdue first.
    assert_eq!(
        store.jobs_for_account(accounts[0].id).await.unwrap().len(),
        1
    );
    assert_eq!(
        store.jobs_for_account(accounts[1].id).await.unwrap().len(),
        1
    );
    assert!(store
        .jobs_for_account(accounts[2].id)
        .await
        .unwrap()
        .is_empty());
    enqueue_due(s, t0, 2, 1).await;
    assert_eq!(
        store.jobs_for_account(accounts[2].id).await.unwrap().len(),
        1
    );
}

pub async fn claimed_jobs_have_one_owner_until_the_lease_runs_out(store: Arc<dyn Store>) {
    let workspace = WorkspaceId::new();
    let t0 = now();
    let (first, second) = (AccountId::new(), AccountId::new());
    let mut refresh = job(JobKind::Refresh, first, workspace, t0 - minutes(2));
    refresh.payload = Some(credential("key-1", "revocation tokens"));
    let check = job(JobKind::HealthCheck, first, workspace, t0 - minutes(1));
    let later = job(JobKind::Refresh, second, workspace, t0 + minutes(10));
    for j in [&refresh, &check, &later] {
        assert!(store.enqueue_job(j).await.unwrap());
    }

    // A takes the two due jobs (in no particular order); the future one waits.
    let taken = store
        .claim_jobs(Claim::new("A", t0, t0 + minutes(1), 10))
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<HashSet<_>>(),
        HashSet::from([refresh.id, check.id])
    );
    assert!(taken.iter().all(|j| j.attempts == 1));
    let taken_refresh = taken.iter().find(|j| j.id == refresh.id).unwrap();
    assert_eq!(
        taken_refresh.payload,
        Some(credential("key-1", "revocation tokens"))
    );
    assert_eq!(taken_refresh.kind, JobKind::Refresh);
    assert_eq!(taken_refresh.run_at, t0 - minutes(2));

    // Nobody else gets them while A's lease runs.
    assert!(store
        .claim_jobs(Claim::new(
            "B",
            t0 + minutes(1) - chrono::Duration::microseconds(1),
            t0 + minutes(5),
            10
        ))
        .await
        .unwrap()
        .is_empty());

    // The lease ran out: B takes them over, the longest due first, and A can no longer finish them.
    let taken = store
        .claim_jobs(Claim::new("B", t0 + minutes(1), t0 + minutes(2), 1))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1, "at most the limit");
    assert_eq!(taken[0].id, refresh.id);
    assert_eq!(taken[0].attempts, 2);
    let taken = store
        .claim_jobs(Claim::new("B", t0 + minutes(1), t0 + minutes(2), 10))
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![check.id]
    );
    assert!(!store
        .finish_job(refresh.id, "A", t0 + minutes(1))
        .await
        .unwrap());
    assert!(!store
        .retry_job(check.id, "A", t0 + minutes(3), "late")
        .await
        .unwrap());
    assert!(store
        .finish_job(refresh.id, "B", t0 + minutes(1))
        .await
        .unwrap());
    assert!(
        !store
            .finish_job(refresh.id, "B", t0 + minutes(1))
            .await
            .unwrap(),
        "already done"
    );
    let done = store
        .jobs_for_account(first)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == refresh.id)
        .unwrap();
    assert_eq!(done.done_at, Some(t0 + minutes(1)));
    assert_eq!(done.payload, None, "a finished job drops its payload");

    // B puts the check back for later.
    assert!(store
        .retry_job(check.id, "B", t0 + minutes(5), "platform timed out")
        .await
        .unwrap());
    assert!(store
        .claim_jobs(Claim::new("C", t0 + minutes(4), t0 + minutes(30), 10))
        .await
        .unwrap()
        .is_empty());
    let taken = store
        .claim_jobs(Claim::new("C", t0 + minutes(5), t0 + minutes(6), 10))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, check.id);
    assert_eq!(taken[0].attempts, 3);
    assert_eq!(taken[0].last_error.as_deref(), Some("platform timed out"));
    assert_eq!(taken[0].run_at, t0 + minutes(5));

    // The finished job is never claimed again; the rest are.
    let taken = store
        .claim_jobs(Claim::new("D", t0 + minutes(10), t0 + minutes(11), 10))
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<HashSet<_>>(),
        HashSet::from([check.id, later.id])
    );
    assert!(store
        .finish_job(later.id, "D", t0 + minutes(10))
        .await
        .unwrap());
    assert!(!store
        .finish_job(uuid::Uuid::now_v7(), "D", t0)
        .await
        .unwrap());
}

pub async fn concurrent_claimers_take_each_job_exactly_once(store: Arc<dyn Store>) {
    let workspace = WorkspaceId::new();
    let t0 = now();
    let mut expected = HashSet::new();
    for i in 0..200 {
        let kind = if i % 2 == 0 {
            JobKind::Refresh
        } else {
            JobKind::HealthCheck
        };
        let j = job(
            kind,
            AccountId::new(),
            workspace,
            t0 - chrono::Duration::milliseconds(i),
        );
        assert!(store.enqueue_job(&j).await.unwrap());
        expected.insert(j.id);
    }

    let all = drain(&store, 4, 7, move |store, owner, limit| async move {
        store
            .claim_jobs(Claim::new(&owner, t0, t0 + minutes(10), limit))
            .await
            .unwrap()
    })
    .await;
    let all: Vec<uuid::Uuid> = all
        .into_iter()
        .map(|(_, job)| {
            assert_eq!(job.attempts, 1, "claimed a second time: {job:?}");
            job.id
        })
        .collect();
    let unique: HashSet<uuid::Uuid> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "no job claimed twice");
    assert_eq!(unique, expected, "every job claimed");
    assert!(store
        .claim_jobs(Claim::new("late", t0, t0 + minutes(10), 1000))
        .await
        .unwrap()
        .is_empty());
}

/// Whether `holder` took (or extended) the account's refresh lease at `at`, until `until`.
async fn take_lease(
    store: &dyn Store,
    account: AccountId,
    holder: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> bool {
    store
        .take_refresh_lease(account, holder, at, until)
        .await
        .unwrap()
}

pub async fn refresh_lease_is_exclusive_until_it_runs_out_or_is_released(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let id = account(s, &owner, Platform::X, "leased").await.id;
    let t0 = now();
    let half_a_minute = chrono::Duration::seconds(30);

    assert!(take_lease(s, id, "A", t0, t0 + minutes(1)).await);
    assert!(!take_lease(s, id, "B", t0 + half_a_minute, t0 + minutes(2)).await);
    // The holder may extend its own lease.
    assert!(take_lease(s, id, "A", t0 + half_a_minute, t0 + minutes(2)).await);
    assert!(!take_lease(s, id, "B", t0 + minutes(1), t0 + minutes(3)).await);
    // It ran out.
    assert!(take_lease(s, id, "B", t0 + minutes(2), t0 + minutes(3)).await);
    assert!(!take_lease(s, id, "A", t0 + minutes(2), t0 + minutes(4)).await);
    // Only the holder releases it.
    store.release_refresh_lease(id, "A").await.unwrap();
    assert!(!take_lease(s, id, "C", t0 + minutes(2), t0 + minutes(4)).await);
    store.release_refresh_lease(id, "B").await.unwrap();
    assert!(take_lease(s, id, "C", t0 + minutes(2), t0 + minutes(4)).await);
    assert!(!take_lease(s, AccountId::new(), "C", t0, t0 + minutes(1)).await);
}

pub async fn a_write_probe_extends_only_its_holders_lease(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let account = account(store.as_ref(), &owner, Platform::X, "probed").await;
    let id = account.id;
    let t0 = now();

    assert!(
        !store.probe_write(id, "A", t0 + minutes(1)).await.unwrap(),
        "no lease held yet"
    );
    assert!(take_lease(store.as_ref(), id, "A", t0, t0 + minutes(1)).await);
    // The same `until` again still writes (and succeeds): the lease moves on by a microsecond.
    for _ in 0..2 {
        assert!(store.probe_write(id, "A", t0 + minutes(1)).await.unwrap());
    }
    assert!(store.probe_write(id, "A", t0 + minutes(5)).await.unwrap());
    assert!(
        !take_lease(store.as_ref(), id, "B", t0 + minutes(3), t0 + minutes(6)).await,
        "the probe extended A's lease"
    );
    assert!(!store.probe_write(id, "B", t0 + minutes(6)).await.unwrap());
    let after_the_probe = t0 + minutes(5) + chrono::Duration::seconds(1);
    assert!(take_lease(store.as_ref(), id, "B", after_the_probe, t0 + minutes(7)).await);
    assert!(
        !store.probe_write(id, "A", t0 + minutes(9)).await.unwrap(),
        "A's lease ran out and B holds it now"
    );
    assert!(!store
        .probe_write(AccountId::new(), "A", t0 + minutes(1))
        .await
        .unwrap());
}

pub async fn failure_runs_count_from_the_first_and_clear(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let account = account(store.as_ref(), &owner, Platform::X, "flaky").await;
    let t0 = now();
    let fail = |at| {
        let store = store.clone();
        async move { store.record_failure(account.id, at).await.unwrap() }
    };
    let run = |count, since| FailureRun { count, since };
    assert_eq!(fail(t0).await, run(1, t0));
    assert_eq!(fail(t0 + minutes(5)).await, run(2, t0));
    assert_eq!(fail(t0 + minutes(9)).await, run(3, t0));
    store.clear_failures(account.id).await.unwrap();
    assert_eq!(fail(t0 + minutes(20)).await, run(1, t0 + minutes(20)));
}

pub async fn expiring_accounts_without_a_scheduled_refresh_are_found(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let t0 = now();
    let expiring = |name: &str, expires_in_days: i64| {
        let mut up = upsert(&owner, Platform::Instagram, name, name, t0);
        up.token_expires_at = Some(t0 + minutes(expires_in_days * 24 * 60));
        up
    };
    let soon = connect(s, &expiring("soon", 3)).await;
    let renewable = connect(s, &expiring("renewable", 3)).await;
    let far = connect(s, &expiring("far", 30)).await;
    let broken = connect(s, &expiring("broken", 3)).await;
    account(s, &owner, Platform::X, "no expiry").await;
    store
        .schedule_account(renewable.id, Some(Some(t0 + minutes(60))), None)
        .await
        .unwrap();
    let revoked = status_change(AccountStatus::Failed, Some(StatusReason::TokenRevoked), t0);
    change_status(s, owner.workspace, broken.id, &revoked).await;

    let expiring_before = |days: i64| {
        let store = store.clone();
        async move {
            let found = store.accounts_expiring_unrenewable(t0 + minutes(days * 24 * 60), 10);
            found
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(expiring_before(7).await, vec![soon.id]);
    let mut found = expiring_before(60).await;
    found.sort();
    let mut expected = vec![soon.id, far.id];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        store
            .accounts_expiring_unrenewable(t0 + minutes(60 * 24 * 60), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn concurrent_enqueuers_queue_one_job_per_due_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let t0 = now();
    let mut accounts = Vec::new();
    for i in 0..40 {
        let up = upsert(
            &owner,
            Platform::X,
            &format!("x-{i}"),
            &format!("x {i}"),
            t0,
        );
        let account = connect(s, &up).await;
        store
            .schedule_account(
                account.id,
                Some(Some(t0 - minutes(1))),
                Some(t0 - minutes(1)),
            )
            .await
            .unwrap();
        accounts.push(account.id);
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.enqueue_due_jobs(t0, 1000).await.unwrap()
        }));
    }
    let mut queued = 0;
    for task in tasks {
        queued += task.await.unwrap();
    }
    assert!(
        queued <= 80,
        "{queued} jobs queued for 40 accounts' 2 kinds"
    );
    // Whatever a concurrent round left (PostgreSQL answers 0 to an instance whose round another holds),
    // a later round completes.
    enqueue_due(s, t0, 1000, 80 - queued).await;
    for id in accounts {
        let jobs = store.jobs_for_account(id).await.unwrap();
        assert_eq!(
            kinds(&jobs),
            vec![JobKind::HealthCheck, JobKind::Refresh],
            "one job of each kind for {id}"
        );
    }
}
