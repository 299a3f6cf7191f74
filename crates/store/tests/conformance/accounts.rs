//! Connecting, counting, relabelling, refreshing and removing accounts.

use crate::harness::*;
use iquivity_domain::{AccountId, AccountStatus, Labels, Plan, Platform, StatusReason};
use iquivity_store::{
    AccountQuery, AccountRefresh, AuditKind, PlatformStatusCount, Sealer, StatusChange, Store,
    StoreError, StoredCredential,
};
use std::sync::{Arc, Mutex};

fn sorted_counts(counts: Vec<PlatformStatusCount>) -> Vec<(Platform, AccountStatus, u32)> {
    let mut counts: Vec<_> = counts
        .into_iter()
        .map(|c| (c.platform, c.status, c.count))
        .collect();
    counts.sort_by_key(|(p, s, _)| (p.as_str(), s.as_str()));
    counts
}

fn status(
    status: AccountStatus,
    reason: Option<StatusReason>,
    at: chrono::DateTime<chrono::Utc>,
) -> StatusChange {
    StatusChange {
        status,
        reason,
        message: reason.map(|r| r.default_message().to_string()),
        at,
    }
}

pub async fn upsert_creates_then_a_reconnect_updates_the_same_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now() - minutes(120);
    let sealed_for = Arc::new(Mutex::new(Vec::<AccountId>::new()));
    let seen = sealed_for.clone();
    let first_seal = move |id: AccountId| -> Result<StoredCredential, String> {
        seen.lock().unwrap().push(id);
        Ok(credential("key-1", &format!("tokens-of-{id}-v1")))
    };
    let seal: Sealer<'_> = &first_seal;

    let mut up = upsert(&owner, Platform::Linkedin, "li-1", "Acme Corp", t0);
    up.labels = vec!["Client".to_string()];
    up.scopes = vec!["r_basicprofile".to_string()];
    up.handle = Some("acme".to_string());
    up.token_expires_at = Some(t0 + minutes(60 * 24 * 60));
    let created = store.upsert_account(&up, Some(seal)).await.unwrap();
    assert!(created.created);
    let account = created.account;
    assert_eq!(account.id, up.id);
    assert_eq!(account.workspace_id, owner.workspace);
    assert_eq!(account.platform, Platform::Linkedin);
    assert_eq!(account.platform_account_id, "li-1");
    assert_eq!(account.display_name, "Acme Corp");
    assert_eq!(account.platform_display_name, "Acme Corp");
    assert_eq!(account.display_name_override, None);
    assert_eq!(account.handle.as_deref(), Some("acme"));
    assert_eq!(account.status, AccountStatus::Active);
    assert_eq!(account.status_since, t0);
    assert_eq!(account.created_at, t0);
    assert_eq!(account.scopes, vec!["r_basicprofile".to_string()]);
    assert_eq!(account.labels.to_strings(), vec!["Client".to_string()]);
    assert_eq!(account.connected_by, Some(owner.user));
    assert_eq!(account.token_expires_at, up.token_expires_at);
    assert_eq!(account.last_refreshed_at, Some(t0));
    assert_eq!(*sealed_for.lock().unwrap(), vec![up.id]);
    assert_eq!(
        store.credential(up.id).await.unwrap(),
        Some(credential("key-1", &format!("tokens-of-{}-v1", up.id)))
    );
    assert_eq!(
        store.account(owner.workspace, up.id).await.unwrap(),
        Some(account.clone())
    );

    // A reconnect: the platform account is the same, the candidate id is new. The stored id, creation
    // time and labels stay; the platform's face and grants are updated; the sealer gets the stored id.
    let t1 = t0 + minutes(30);
    let second_seal = |id: AccountId| -> Result<StoredCredential, String> {
        Ok(credential("key-2", &format!("tokens-of-{id}-v2")))
    };
    let mut again = up.clone();
    again.id = AccountId::new();
    again.display_name = "Acme Corporation".to_string();
    again.scopes = vec!["r_basicprofile".to_string(), "w_member_social".to_string()];
    again.labels = vec!["Ignored".to_string()];
    again.now = t1;
    let reconnected = store
        .upsert_account(&again, Some(&second_seal))
        .await
        .unwrap();
    assert!(!reconnected.created);
    let account = reconnected.account;
    assert_eq!(account.id, up.id, "a reconnect keeps the account's id");
    assert_eq!(account.created_at, t0);
    assert_eq!(account.labels.to_strings(), vec!["Client".to_string()]);
    assert_eq!(account.display_name, "Acme Corporation");
    assert_eq!(account.scopes.len(), 2);
    assert_eq!(account.status_since, t0, "the status did not change");
    assert_eq!(account.last_refreshed_at, Some(t1));
    assert_eq!(
        store.credential(up.id).await.unwrap(),
        Some(credential("key-2", &format!("tokens-of-{}-v2", up.id)))
    );
    assert_eq!(store.credential(again.id).await.unwrap(), None);
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        1
    );

    // A reconnect in another status moves status_since.
    let t2 = t0 + minutes(45);
    let mut expired = again.clone();
    expired.status = AccountStatus::Inactive;
    expired.status_reason = Some(StatusReason::TokenExpired);
    expired.now = t2;
    let account = store.upsert_account(&expired, None).await.unwrap().account;
    assert_eq!(account.status, AccountStatus::Inactive);
    assert_eq!(account.status_reason, Some(StatusReason::TokenExpired));
    assert_eq!(account.status_since, t2);
    assert_eq!(
        store.credential(up.id).await.unwrap().map(|c| c.key_id),
        Some("key-2".to_string()),
        "no sealer, the credential stays"
    );

    let kinds: Vec<AuditKind> = store
        .events_for_account(owner.workspace, up.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        vec![
            AuditKind::Reconnected,
            AuditKind::Reconnected,
            AuditKind::Connected
        ]
    );

    // Found by its platform id, in its own workspace only.
    let found = store
        .account_by_platform_id(owner.workspace, Platform::Linkedin, "li-1")
        .await
        .unwrap()
        .expect("found by platform id");
    assert_eq!(found.id, up.id);
    assert!(store
        .account_by_platform_id(owner.workspace, Platform::X, "li-1")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .account_by_platform_id(owner.workspace, Platform::Linkedin, "li-2")
        .await
        .unwrap()
        .is_none());
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    assert!(store
        .account_by_platform_id(other.workspace, Platform::Linkedin, "li-1")
        .await
        .unwrap()
        .is_none());
    // The same platform account in another workspace is another account.
    let elsewhere = store
        .upsert_account(
            &upsert(&other, Platform::Linkedin, "li-1", "Acme Corp", t2),
            None,
        )
        .await
        .unwrap();
    assert!(elsewhere.created);
    assert_ne!(elsewhere.account.id, up.id);

    // A sealer that fails leaves nothing behind.
    let failing =
        |_: AccountId| -> Result<StoredCredential, String> { Err("no sealing key".into()) };
    let err = store
        .upsert_account(
            &upsert(&owner, Platform::X, "x-9", "Sealed", t2),
            Some(&failing),
        )
        .await
        .expect_err("the sealer failed");
    assert!(
        matches!(&err, StoreError::Seal(message) if message.contains("no sealing key")),
        "expected Seal, got {err:?}"
    );
    assert!(store
        .account_by_platform_id(owner.workspace, Platform::X, "x-9")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        1
    );
}

pub async fn plan_limits_refuse_new_accounts_but_not_reconnects(store: Arc<dyn Store>) {
    // The free plan: 3 accounts in all, 1 per platform.
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let limited = |platform, pid: &str| upsert(&owner, platform, pid, pid, t0);
    connect(store.as_ref(), &limited(Platform::X, "x-1")).await;
    let err = store
        .upsert_account(&limited(Platform::X, "x-2"), None)
        .await
        .expect_err("a second X account on the free plan");
    assert!(
        matches!(err, StoreError::PlanLimit(_)),
        "expected PlanLimit, got {err:?}"
    );
    let facebook = connect(store.as_ref(), &limited(Platform::Facebook, "fb-1")).await;
    connect(store.as_ref(), &limited(Platform::Instagram, "ig-1")).await;
    let err = store
        .upsert_account(&limited(Platform::Linkedin, "li-1"), None)
        .await
        .expect_err("a fourth account on the free plan");
    assert!(
        matches!(err, StoreError::PlanLimit(_)),
        "expected PlanLimit, got {err:?}"
    );
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        3
    );

    // A reconnect is no new account.
    let reconnect = store
        .upsert_account(&limited(Platform::X, "x-1"), None)
        .await
        .unwrap();
    assert!(!reconnect.created);

    // Removing one makes room.
    assert!(store
        .delete_account(
            owner.workspace,
            facebook.id,
            &event(owner.workspace, Some(facebook.id), AuditKind::Removed, t0),
        )
        .await
        .unwrap());
    connect(store.as_ref(), &limited(Platform::Linkedin, "li-1")).await;

    // A bigger plan lifts the per-platform limit.
    assert!(store
        .set_plan(owner.workspace, Plan::Starter)
        .await
        .unwrap());
    connect(store.as_ref(), &limited(Platform::X, "x-2")).await;
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        4
    );
    assert_eq!(
        store
            .count_accounts(owner.workspace, Some(Platform::X))
            .await
            .unwrap(),
        2
    );
}

pub async fn plan_limit_holds_under_concurrent_connections(store: Arc<dyn Store>) {
    // The starter plan allows 10 accounts; 16 connect at once.
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let up = upsert(
            &owner,
            Platform::X,
            &format!("x-{i}"),
            &format!("X {i}"),
            t0,
        );
        tasks.push(tokio::spawn(async move {
            store.upsert_account(&up, None).await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(outcome) => {
                assert!(outcome.created);
                created += 1;
            }
            Err(StoreError::PlanLimit(_)) => refused += 1,
            Err(other) => panic!("a connection failed otherwise than by the plan limit: {other:?}"),
        }
    }
    assert_eq!((created, refused), (10, 6));
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        10
    );
    assert_eq!(
        store
            .list_accounts(owner.workspace, &AccountQuery::all(100))
            .await
            .unwrap()
            .len(),
        10
    );
}

pub async fn account_counts_follow_inserts_status_changes_and_deletes(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let x1 = account(s, &owner, Platform::X, "x one").await;
    let x2 = account(s, &owner, Platform::X, "x two").await;
    account(s, &owner, Platform::Facebook, "fb").await;
    account(s, &other, Platform::X, "elsewhere").await;

    use AccountStatus::*;
    use Platform::*;
    assert_eq!(
        sorted_counts(store.account_counts(owner.workspace).await.unwrap()),
        vec![(Facebook, Active, 1), (X, Active, 2)]
    );
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        3
    );
    assert_eq!(
        store
            .count_accounts(owner.workspace, Some(X))
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count_accounts(owner.workspace, Some(Tiktok))
            .await
            .unwrap(),
        0
    );

    let t1 = now();
    let failed = store
        .set_account_status(
            owner.workspace,
            x2.id,
            &status(Failed, Some(StatusReason::MissingPermissions), t1),
            &event(owner.workspace, Some(x2.id), AuditKind::StatusChanged, t1),
        )
        .await
        .unwrap()
        .expect("account exists");
    assert_eq!(failed.status, Failed);
    assert_eq!(failed.status_reason, Some(StatusReason::MissingPermissions));
    assert_eq!(failed.status_since, t1);
    assert_eq!(
        failed.status_message.as_deref(),
        Some(StatusReason::MissingPermissions.default_message())
    );
    assert_eq!(
        sorted_counts(store.account_counts(owner.workspace).await.unwrap()),
        vec![(Facebook, Active, 1), (X, Active, 1), (X, Failed, 1)]
    );
    assert_eq!(
        store
            .count_accounts(owner.workspace, Some(X))
            .await
            .unwrap(),
        2
    );

    // The same status and reason again: status_since stays, the message is updated, no new event.
    let t2 = t1 + minutes(5);
    let mut same = status(Failed, Some(StatusReason::MissingPermissions), t2);
    same.message = Some("still missing".to_string());
    let unchanged = store
        .set_account_status(
            owner.workspace,
            x2.id,
            &same,
            &event(owner.workspace, Some(x2.id), AuditKind::StatusChanged, t2),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.status_since, t1);
    assert_eq!(unchanged.status_message.as_deref(), Some("still missing"));
    let status_events = store
        .events_for_account(owner.workspace, x2.id, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == AuditKind::StatusChanged)
        .count();
    assert_eq!(status_events, 1);
    assert_eq!(
        sorted_counts(store.account_counts(owner.workspace).await.unwrap()),
        vec![(Facebook, Active, 1), (X, Active, 1), (X, Failed, 1)]
    );

    // Back to active: the emptied (X, Failed) group is not reported.
    let t3 = t2 + minutes(5);
    let recovered = store
        .set_account_status(
            owner.workspace,
            x2.id,
            &status(Active, None, t3),
            &event(owner.workspace, Some(x2.id), AuditKind::StatusChanged, t3),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(recovered.status_since, t3);
    assert_eq!(recovered.status_reason, None);
    assert_eq!(
        sorted_counts(store.account_counts(owner.workspace).await.unwrap()),
        vec![(Facebook, Active, 1), (X, Active, 2)]
    );

    assert!(store
        .delete_account(
            owner.workspace,
            x1.id,
            &event(owner.workspace, Some(x1.id), AuditKind::Removed, t3),
        )
        .await
        .unwrap());
    assert_eq!(
        sorted_counts(store.account_counts(owner.workspace).await.unwrap()),
        vec![(Facebook, Active, 1), (X, Active, 1)]
    );
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        2
    );
    assert_eq!(
        store
            .count_accounts(owner.workspace, Some(X))
            .await
            .unwrap(),
        1
    );

    // Another workspace's accounts are counted apart, and an unknown account has no status to set.
    assert_eq!(
        sorted_counts(store.account_counts(other.workspace).await.unwrap()),
        vec![(X, Active, 1)]
    );
    assert!(store
        .set_account_status(
            other.workspace,
            x2.id,
            &status(Failed, Some(StatusReason::TokenRevoked), t3),
            &event(other.workspace, Some(x2.id), AuditKind::StatusChanged, t3),
        )
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .account(owner.workspace, x2.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        Active,
        "another workspace cannot change it"
    );
}

pub async fn profile_updates_set_labels_and_a_name_override(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let t0 = now() - minutes(60);
    let alpha_up = upsert(&owner, Platform::X, "x-alpha", "alpha", t0);
    let alpha = connect(s, &alpha_up).await;
    account(s, &owner, Platform::Facebook, "Bravo").await;

    let labels = Labels::parse(&["Client A", "personal"]).unwrap();
    let t1 = now();
    let labelled = store
        .update_account_profile(
            owner.workspace,
            alpha.id,
            Some(&labels),
            None,
            &event(
                owner.workspace,
                Some(alpha.id),
                AuditKind::LabelsChanged,
                t1,
            ),
        )
        .await
        .unwrap()
        .expect("account exists");
    assert_eq!(labelled.labels, labels);
    assert_eq!(labelled.display_name, "alpha");

    let renamed = store
        .update_account_profile(
            owner.workspace,
            alpha.id,
            None,
            Some(Some("Zulu Team")),
            &event(owner.workspace, Some(alpha.id), AuditKind::Renamed, t1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(renamed.display_name, "Zulu Team");
    assert_eq!(renamed.platform_display_name, "alpha");
    assert_eq!(renamed.display_name_override.as_deref(), Some("Zulu Team"));
    assert_eq!(renamed.labels, labels, "labels untouched by a rename");

    let by_name = |descending| {
        let mut query = AccountQuery::all(10);
        query.sort = iquivity_store::AccountSort {
            key: iquivity_store::SortKey::Name,
            descending,
        };
        query
    };
    let names: Vec<String> = store
        .list_accounts(owner.workspace, &by_name(false))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.display_name)
        .collect();
    assert_eq!(
        names,
        vec!["Bravo", "Zulu Team"],
        "sorted by the shown name"
    );
    assert_eq!(
        names_matching(s, owner.workspace, "zulu").await,
        vec!["Zulu Team"]
    );
    assert_eq!(
        names_matching(s, owner.workspace, "ZULU T").await,
        vec!["Zulu Team"]
    );
    assert!(
        names_matching(s, owner.workspace, "alpha").await.is_empty(),
        "the override replaces the platform's name in the search"
    );

    // The platform renames it: the override stays shown, on a reconnect and on a refresh alike.
    let mut reconnect = alpha_up.clone();
    reconnect.display_name = "alpha (platform)".to_string();
    reconnect.now = t1;
    let account = store
        .upsert_account(&reconnect, None)
        .await
        .unwrap()
        .account;
    assert_eq!(account.display_name, "Zulu Team");
    assert_eq!(account.platform_display_name, "alpha (platform)");
    let refresh = AccountRefresh {
        credential: None,
        token_expires_at: None,
        scopes: None,
        display_name: Some("alpha again".to_string()),
        handle: None,
        avatar_url: None,
        followers: None,
        refreshed: false,
        now: t1,
    };
    let account = store
        .record_account_refresh(owner.workspace, alpha.id, &refresh)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.display_name, "Zulu Team");
    assert_eq!(account.platform_display_name, "alpha again");
    assert_eq!(
        names_matching(s, owner.workspace, "zulu").await,
        vec!["Zulu Team"]
    );
    let names: Vec<String> = store
        .list_accounts(owner.workspace, &by_name(true))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.display_name)
        .collect();
    assert_eq!(names, vec!["Zulu Team", "Bravo"]);

    // Clearing the override shows the platform's name again, in the list and in the search.
    let cleared = store
        .update_account_profile(
            owner.workspace,
            alpha.id,
            Some(&Labels::default()),
            Some(None),
            &event(owner.workspace, Some(alpha.id), AuditKind::Renamed, t1),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleared.display_name, "alpha again");
    assert_eq!(cleared.display_name_override, None);
    assert!(cleared.labels.to_strings().is_empty());
    assert!(names_matching(s, owner.workspace, "zulu").await.is_empty());
    assert_eq!(
        names_matching(s, owner.workspace, "again").await,
        vec!["alpha again"]
    );
    let names: Vec<String> = store
        .list_accounts(owner.workspace, &by_name(false))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.display_name)
        .collect();
    assert_eq!(names, vec!["alpha again", "Bravo"]);

    let kinds: Vec<AuditKind> = store
        .events_for_account(owner.workspace, alpha.id, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::LabelsChanged));
    assert_eq!(
        kinds.iter().filter(|k| **k == AuditKind::Renamed).count(),
        2
    );

    assert!(store
        .update_account_profile(
            owner.workspace,
            AccountId::new(),
            Some(&labels),
            None,
            &event(owner.workspace, None, AuditKind::LabelsChanged, t1),
        )
        .await
        .unwrap()
        .is_none());
}

pub async fn refresh_records_credentials_and_profile(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now() - minutes(60);
    let mut up = upsert(&owner, Platform::Instagram, "ig-1", "Old Name", t0);
    up.handle = Some("@old_handle".to_string());
    up.token_expires_at = Some(t0 + minutes(60));
    let seal = |_: AccountId| -> Result<StoredCredential, String> { Ok(credential("key-1", "v1")) };
    let id = store
        .upsert_account(&up, Some(&seal))
        .await
        .unwrap()
        .account
        .id;

    let t1 = t0 + minutes(10);
    let refresh = AccountRefresh {
        credential: Some(credential("key-1", "v2")),
        token_expires_at: Some(Some(t1 + minutes(60))),
        scopes: Some(vec!["a".to_string(), "b".to_string()]),
        display_name: Some("New Name".to_string()),
        handle: Some(Some("@new_handle".to_string())),
        avatar_url: Some(Some("https://img.example.test/1.png".to_string())),
        followers: Some(1234),
        refreshed: true,
        now: t1,
    };
    let account = store
        .record_account_refresh(owner.workspace, id, &refresh)
        .await
        .unwrap()
        .expect("account exists");
    assert_eq!(account.display_name, "New Name");
    assert_eq!(account.handle.as_deref(), Some("@new_handle"));
    assert_eq!(
        account.avatar_url.as_deref(),
        Some("https://img.example.test/1.png")
    );
    assert_eq!(account.scopes, vec!["a".to_string(), "b".to_string()]);
    assert_eq!(account.token_expires_at, Some(t1 + minutes(60)));
    assert_eq!(account.last_refreshed_at, Some(t1));
    assert_eq!(account.last_checked_at, Some(t1));
    assert_eq!(account.followers, Some(1234));
    assert_eq!(
        store.credential(id).await.unwrap(),
        Some(credential("key-1", "v2"))
    );
    let latest = store
        .events_for_account(owner.workspace, id, 1)
        .await
        .unwrap();
    assert_eq!(latest[0].kind, AuditKind::Refreshed);
    assert_eq!(latest[0].at, t1);

    // A health check: only what it learned changes; `None` keeps, `Some(None)` clears.
    let t2 = t1 + minutes(10);
    let check = AccountRefresh {
        credential: None,
        token_expires_at: Some(None),
        scopes: None,
        display_name: None,
        handle: None,
        avatar_url: Some(None),
        followers: None,
        refreshed: false,
        now: t2,
    };
    let account = store
        .record_account_refresh(owner.workspace, id, &check)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.last_checked_at, Some(t2));
    assert_eq!(account.last_refreshed_at, Some(t1));
    assert_eq!(account.display_name, "New Name");
    assert_eq!(account.handle.as_deref(), Some("@new_handle"));
    assert_eq!(account.avatar_url, None);
    assert_eq!(account.token_expires_at, None);
    assert_eq!(account.followers, Some(1234));
    assert_eq!(account.scopes.len(), 2);
    assert_eq!(
        store.credential(id).await.unwrap(),
        Some(credential("key-1", "v2"))
    );
    assert_eq!(
        store
            .events_for_account(owner.workspace, id, 1)
            .await
            .unwrap()[0]
            .kind,
        AuditKind::Refreshed,
        "a health check records no event"
    );

    // The search follows the new handle.
    let s = store.as_ref();
    assert_eq!(
        names_matching(s, owner.workspace, "@new_h").await,
        vec!["New Name"]
    );
    assert!(names_matching(s, owner.workspace, "@old_h")
        .await
        .is_empty());
    assert!(names_matching(s, owner.workspace, "old name")
        .await
        .is_empty());

    assert!(store
        .record_account_refresh(owner.workspace, AccountId::new(), &check)
        .await
        .unwrap()
        .is_none());
}

pub async fn delete_removes_the_account_and_its_credential(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let t0 = now();
    let seal = |id: AccountId| -> Result<StoredCredential, String> {
        Ok(credential("key-1", &format!("tokens-{id}")))
    };
    let gone_up = upsert(&owner, Platform::Tiktok, "tt-1", "Gone", t0);
    let gone = store
        .upsert_account(&gone_up, Some(&seal))
        .await
        .unwrap()
        .account;
    let kept = store
        .upsert_account(&upsert(&owner, Platform::X, "x-1", "Kept", t0), Some(&seal))
        .await
        .unwrap()
        .account;

    // Not from another workspace.
    assert!(!store
        .delete_account(
            other.workspace,
            gone.id,
            &event(other.workspace, Some(gone.id), AuditKind::Removed, t0),
        )
        .await
        .unwrap());
    assert!(store
        .account(owner.workspace, gone.id)
        .await
        .unwrap()
        .is_some());
    assert!(store.credential(gone.id).await.unwrap().is_some());

    let removal = event(
        owner.workspace,
        Some(gone.id),
        AuditKind::Removed,
        t0 + minutes(1),
    );
    assert!(store
        .delete_account(owner.workspace, gone.id, &removal)
        .await
        .unwrap());
    assert!(store
        .account(owner.workspace, gone.id)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.credential(gone.id).await.unwrap(), None);
    assert!(store
        .account_by_platform_id(owner.workspace, Platform::Tiktok, "tt-1")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        1
    );
    assert_eq!(
        store.credential(kept.id).await.unwrap(),
        Some(credential("key-1", &format!("tokens-{}", kept.id)))
    );
    assert!(
        !store
            .delete_account(owner.workspace, gone.id, &removal)
            .await
            .unwrap(),
        "already removed"
    );

    // The history outlives the account.
    let events = store
        .events_for_account(owner.workspace, gone.id, 10)
        .await
        .unwrap();
    assert_eq!(events[0], removal);
    assert_eq!(events.len(), 2, "connected, then removed: {events:?}");

    // Connecting it again makes a new account.
    let again = store
        .upsert_account(
            &upsert(&owner, Platform::Tiktok, "tt-1", "Gone", t0 + minutes(2)),
            None,
        )
        .await
        .unwrap();
    assert!(again.created);
    assert_ne!(again.account.id, gone.id);
}

pub async fn concurrent_connections_of_one_account_make_one_account(store: Arc<dyn Store>) {
    // The same platform account arriving several times at once (a double-submitted form, two tabs):
    // one connection, the others reconnects of it.
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let up = upsert(&owner, Platform::X, "x-same", &format!("Same {i}"), t0);
        tasks.push(tokio::spawn(async move {
            store.upsert_account(&up, None).await
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let errors: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err().map(|e| format!("{e:?}")))
        .collect();
    assert!(
        errors.is_empty(),
        "{} of 8 concurrent upserts of one platform account failed: {errors:?}",
        errors.len()
    );
    let ids: std::collections::HashSet<AccountId> =
        outcomes.iter().flatten().map(|o| o.account.id).collect();
    assert_eq!(ids.len(), 1, "one account");
    assert_eq!(outcomes.iter().flatten().filter(|o| o.created).count(), 1);
    assert_eq!(
        store.count_accounts(owner.workspace, None).await.unwrap(),
        1
    );
}

pub async fn an_accounts_picture_is_kept_per_workspace_replaced_and_removed_with_it(
    store: Arc<dyn Store>,
) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let account = account(store.as_ref(), &owner, Platform::X, "Pictured").await;
    let picture = |workspace, source: &str, bytes: &[u8]| iquivity_store::AvatarRecord {
        account_id: account.id,
        workspace_id: workspace,
        content_type: "image/png".into(),
        bytes: bytes.to_vec(),
        source_url: source.into(),
        fetched_at: now(),
    };
    assert!(store
        .avatar(owner.workspace, account.id)
        .await
        .unwrap()
        .is_none());
    assert!(
        !store
            .put_avatar(&picture(other.workspace, "https://cdn/a", b"x"))
            .await
            .unwrap(),
        "not kept for another workspace's account"
    );
    let first = picture(owner.workspace, "https://cdn/a", b"\x89PNG first");
    assert!(store.put_avatar(&first).await.unwrap());
    assert_eq!(
        store.avatar(owner.workspace, account.id).await.unwrap(),
        Some(first)
    );
    assert!(store
        .avatar(other.workspace, account.id)
        .await
        .unwrap()
        .is_none());
    let second = picture(owner.workspace, "https://cdn/b", b"\x89PNG second");
    assert!(store.put_avatar(&second).await.unwrap());
    assert_eq!(
        store.avatar(owner.workspace, account.id).await.unwrap(),
        Some(second),
        "replaced"
    );
    assert!(store
        .delete_account(
            owner.workspace,
            account.id,
            &event(owner.workspace, Some(account.id), AuditKind::Removed, now()),
        )
        .await
        .unwrap());
    assert!(store
        .avatar(owner.workspace, account.id)
        .await
        .unwrap()
        .is_none());
}
