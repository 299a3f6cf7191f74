//! Credential rotation, the audit log and the metrics.

use crate::harness::*;
use iquivity_domain::{AccountId, AccountStatus, Plan, Platform, StatusReason};
use iquivity_store::{
    AccountRefresh, AlertRecord, AuditEventRecord, AuditKind, Claim, JobKind, Store,
    StoredCredential,
};
use std::sync::Arc;

pub async fn credential_rotation_is_compare_and_swap(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now();
    let sealed = |platform, pid: &str, key: &'static str, blob: &'static str| {
        let store = store.clone();
        let up = upsert(&owner, platform, pid, pid, t0);
        async move {
            let seal = move |_: AccountId| -> Result<StoredCredential, String> {
                Ok(credential(key, blob))
            };
            store
                .upsert_account(&up, Some(&seal))
                .await
                .unwrap()
                .account
                .id
        }
    };
    let one = sealed(Platform::X, "one", "key-1", "one").await;
    let two = sealed(Platform::Facebook, "two", "key-1", "two").await;
    let three = sealed(Platform::Tiktok, "three", "key-2", "three").await;
    let bare = connect(
        store.as_ref(),
        &upsert(&owner, Platform::Linkedin, "bare", "bare", t0),
    )
    .await;

    let mut old = store.credentials_not_under_key("key-2", 10).await.unwrap();
    old.sort_by_key(|(id, _)| *id);
    let mut expected = vec![
        (one, credential("key-1", "one")),
        (two, credential("key-1", "two")),
    ];
    expected.sort_by_key(|(id, _)| *id);
    assert_eq!(old, expected);
    assert!(!old.iter().any(|(id, _)| *id == three));
    assert_eq!(
        store
            .credentials_not_under_key("key-2", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .credentials_not_under_key("key-3", 10)
            .await
            .unwrap()
            .len(),
        3
    );

    // Rotating an unchanged credential works.
    let rotate = |id, from: (&str, &str), to: (&str, &str)| {
        let store = store.clone();
        let (from, to) = (credential(from.0, from.1), credential(to.0, to.1));
        async move {
            store
                .replace_credential_if_unchanged(id, &from, &to)
                .await
                .unwrap()
        }
    };
    let stored = |id| {
        let store = store.clone();
        async move { store.credential(id).await.unwrap() }
    };
    assert!(rotate(one, ("key-1", "one"), ("key-2", "one'")).await);
    assert_eq!(stored(one).await, Some(credential("key-2", "one'")));

    // A refresh renewed `two` after the rotation read it: the stale rotation must not overwrite it.
    let renewal = AccountRefresh {
        credential: Some(credential("key-1", "two renewed")),
        refreshed: true,
        ..nothing_refreshed(t0)
    };
    store
        .record_account_refresh(owner.workspace, two, &renewal)
        .await
        .unwrap()
        .unwrap();
    assert!(!rotate(two, ("key-1", "two"), ("key-2", "two'")).await);
    assert_eq!(stored(two).await, Some(credential("key-1", "two renewed")));
    // Both the key id and the blob must match.
    assert!(!rotate(two, ("key-9", "two renewed"), ("key-2", "two'")).await);
    assert!(!rotate(one, ("key-1", "one"), ("key-3", "x")).await);
    assert_eq!(stored(one).await, Some(credential("key-2", "one'")));
    assert_eq!(
        store.credentials_not_under_key("key-2", 10).await.unwrap(),
        vec![(two, credential("key-1", "two renewed"))]
    );
    assert!(rotate(two, ("key-1", "two renewed"), ("key-2", "two'")).await);
    assert!(store
        .credentials_not_under_key("key-2", 10)
        .await
        .unwrap()
        .is_empty());

    // No credential, nothing to replace.
    assert!(!rotate(bare.id, ("key-1", ""), ("key-2", "x")).await);
    assert_eq!(stored(bare.id).await, None);
}

pub async fn audit_events_are_listed_newest_first(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now();
    let first = connect(
        store.as_ref(),
        &upsert(&owner, Platform::X, "first", "first", t0 - minutes(120)),
    )
    .await;
    let second = connect(
        store.as_ref(),
        &upsert(
            &owner,
            Platform::Facebook,
            "second",
            "second",
            t0 - minutes(60),
        ),
    )
    .await;
    let ws = owner.workspace;

    let mut status = event(ws, Some(first.id), AuditKind::StatusChanged, t0);
    status.actor_id = Some(owner.user);
    status.details = serde_json::json!({ "from": "active", "to": "failed", "reason": null });
    let mut labels = event(
        ws,
        Some(first.id),
        AuditKind::LabelsChanged,
        t0 + minutes(1),
    );
    labels.details = serde_json::json!({ "labels": ["Client A", "Émile"], "n": 2 });
    let unattached = event(ws, None, AuditKind::Renamed, t0 + minutes(2));
    let on_second = event(ws, Some(second.id), AuditKind::Refreshed, t0 + minutes(3));
    let foreign = event(
        other.workspace,
        Some(first.id),
        AuditKind::Removed,
        t0 + minutes(4),
    );
    // Two at the same instant: the later id is the newer.
    let tie_a = event(ws, Some(first.id), AuditKind::Renamed, t0 + minutes(5));
    let tie_b = event(ws, Some(first.id), AuditKind::Renamed, t0 + minutes(5));
    assert!(tie_a.id < tie_b.id);
    for e in [
        &tie_b,
        &status,
        &foreign,
        &labels,
        &on_second,
        &tie_a,
        &unattached,
    ] {
        store.append_event(e).await.unwrap();
    }

    let for_first = store.events_for_account(ws, first.id, 10).await.unwrap();
    assert_eq!(for_first.len(), 5, "{for_first:?}");
    assert_eq!(
        for_first[..4].to_vec(),
        vec![tie_b.clone(), tie_a.clone(), labels.clone(), status.clone()]
    );
    assert_eq!(for_first[4].kind, AuditKind::Connected);
    assert_eq!(for_first[4].at, t0 - minutes(120));
    assert_eq!(for_first[4].actor_id, Some(owner.user));
    assert_eq!(
        store.events_for_account(ws, first.id, 2).await.unwrap(),
        vec![tie_b.clone(), tie_a.clone()]
    );
    assert_eq!(
        store
            .events_for_account(other.workspace, first.id, 10)
            .await
            .unwrap(),
        vec![foreign.clone()]
    );

    let all: Vec<AuditEventRecord> = store.workspace_events(ws, 100).await.unwrap();
    assert_eq!(all.len(), 8, "{all:?}");
    assert_eq!(
        all[..6].to_vec(),
        vec![tie_b.clone(), tie_a, on_second, unattached, labels, status]
    );
    assert_eq!(
        all[6..]
            .iter()
            .map(|e| (e.kind, e.account_id))
            .collect::<Vec<_>>(),
        vec![
            (AuditKind::Connected, Some(second.id)),
            (AuditKind::Connected, Some(first.id)),
        ]
    );
    assert_eq!(store.workspace_events(ws, 1).await.unwrap(), vec![tie_b]);
    assert_eq!(
        store.workspace_events(other.workspace, 10).await.unwrap(),
        vec![foreign]
    );
}

pub async fn metrics_count_accounts_and_open_jobs(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let x1 = account(s, &owner, Platform::X, "x1").await;
    account(s, &owner, Platform::X, "x2").await;
    let fb = account(s, &owner, Platform::Facebook, "fb").await;
    account(s, &other, Platform::X, "x3").await;
    let tt = account(s, &other, Platform::Tiktok, "tt").await;
    let t0 = now();
    use AccountStatus::{Failed, Inactive};
    for (workspace, id, status, reason) in [
        (
            owner.workspace,
            fb.id,
            Failed,
            StatusReason::AuthenticationFailed,
        ),
        (other.workspace, tt.id, Inactive, StatusReason::TokenExpired),
    ] {
        let change = status_change(status, Some(reason), t0);
        change_status(s, workspace, id, &change).await.unwrap();
    }

    // Two refreshes due (the oldest 30 s ago), a check not yet due, and a finished revocation.
    let r1 = job(
        JobKind::Refresh,
        x1.id,
        owner.workspace,
        t0 - chrono::Duration::seconds(10),
    );
    let r2 = job(
        JobKind::Refresh,
        fb.id,
        owner.workspace,
        t0 - chrono::Duration::seconds(30),
    );
    let check = job(
        JobKind::HealthCheck,
        x1.id,
        owner.workspace,
        t0 + minutes(60),
    );
    let revoke = job(JobKind::Revoke, tt.id, other.workspace, t0 - minutes(1));
    for j in [&r1, &r2, &check, &revoke] {
        assert!(store.enqueue_job(j).await.unwrap());
    }
    let claimed = store
        .claim_jobs(Claim::new("w", t0 - chrono::Duration::seconds(50), t0, 10))
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![revoke.id]
    );
    assert!(store.finish_job(revoke.id, "w", t0).await.unwrap());

    let metrics = store.metrics(t0).await.unwrap();
    let mut accounts: Vec<(Platform, AccountStatus, u32)> = metrics
        .accounts
        .iter()
        .filter(|c| c.count > 0)
        .map(|c| (c.platform, c.status, c.count))
        .collect();
    accounts.sort_by_key(|(p, s, _)| (p.as_str(), s.as_str()));
    assert_eq!(
        accounts,
        vec![
            (Platform::Facebook, AccountStatus::Failed, 1),
            (Platform::Tiktok, AccountStatus::Inactive, 1),
            (Platform::X, AccountStatus::Active, 3),
        ],
        "across all workspaces"
    );
    let mut jobs = metrics.jobs.clone();
    jobs.sort_by_key(|(k, _, _)| k.as_str());
    assert_eq!(
        jobs,
        vec![(JobKind::HealthCheck, 1, 0.0), (JobKind::Refresh, 2, 30.0)],
        "open jobs by kind, with how long the oldest due one has waited"
    );
    assert_eq!(metrics.pending_deliveries, 0);

    let hook = webhook(owner.workspace, "https://hooks.example.test/m", t0);
    store.create_webhook(&hook).await.unwrap();
    let alert = AlertRecord {
        account_id: Some(fb.id),
        payload: serde_json::json!({}),
        ..alert(owner.workspace, None, t0)
    };
    assert!(store.record_alert(&alert).await.unwrap());
    assert_eq!(store.metrics(t0).await.unwrap().pending_deliveries, 1);
}
