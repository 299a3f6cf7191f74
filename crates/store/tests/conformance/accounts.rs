//! Connecting, counting, relabelling, refreshing and removing accounts.

use crate::harness::*;
use iquivity_domain::{
    Account, AccountId, AccountStatus, Labels, Plan, Platform, StatusReason, WorkspaceId,
};
use iquivity_store::{
    AccountQuery, AccountRefresh, AccountUpsert, AuditKind, Sealer, StatusChange, Store,
    StoreError, StoreResult, StoredCredential, UpsertOutcome,
};
use std::sync::{Arc, Mutex};

/// The workspace's account counts by platform and status, in a fixed order.
async fn counts(store: &dyn Store, workspace: WorkspaceId) -> Vec<(Platform, AccountStatus, u32)> {
    let mut counts: Vec<_> = store
        .account_counts(workspace)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.platform, c.status, c.count))
        .collect();
    counts.sort_by_key(|(p, s, _)| (p.as_str(), s.as_str()));
    counts
}

/// How many accounts the workspace has (on `platform` only, if given).
async fn count(store: &dyn Store, workspace: WorkspaceId, platform: Option<Platform>) -> u32 {
    store.count_accounts(workspace, platform).await.unwrap()
}

/// A status change with the reason's own message.
fn status(
    status: AccountStatus,
    reason: Option<StatusReason>,
    at: chrono::DateTime<chrono::Utc>,
) -> StatusChange {
    StatusChange {
        message: reason.map(|r| r.default_message().to_string()),
        ..status_change(status, reason, at)
    }
}

/// The account connected on `platform` as `pid` in the workspace, if there is one.
async fn by_platform_id(
    store: &dyn Store,
    workspace: WorkspaceId,
    platform: Platform,
    pid: &str,
) -> Option<Account> {
    store
        .account_by_platform_id(workspace, platform, pid)
        .await
        .unwrap()
}

/// Checks that connecting `up` is refused by the plan's limits (`why` says which).
async fn assert_plan_limit(store: &dyn Store, up: &AccountUpsert, why: &str) {
    let err = store.upsert_account(up, None).await.expect_err(why);
    assert!(
        matches!(err, StoreError::PlanLimit(_)),
        "expected PlanLimit, got {err:?}"
    );
}

/// Connects all of `ups` at once, each without a credential: their outcomes, in order.
async fn connect_at_once(
    store: &Arc<dyn Store>,
    ups: Vec<AccountUpsert>,
) -> Vec<StoreResult<UpsertOutcome>> {
    let ups = Arc::new(ups);
    concurrently(ups.len(), |i| {
        let (store, ups) = (store.clone(), ups.clone());
        async move { store.upsert_account(&ups[i], None).await }
    })
    .await
}

pub async fn upsert_creates_then_a_reconnect_updates_the_same_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
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
    assert_eq!(count(s, owner.workspace, None).await, 1);

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

    assert_eq!(
        event_kinds(s, owner.workspace, up.id).await,
        vec![
            AuditKind::Reconnected,
            AuditKind::Reconnected,
            AuditKind::Connected
        ]
    );

    // Found by its platform id, in its own workspace only.
    let found = by_platform_id(s, owner.workspace, Platform::Linkedin, "li-1").await;
    assert_eq!(found.expect("found by platform id").id, up.id);
    let other = tenant(s, Plan::Enterprise).await;
    for (workspace, platform, pid) in [
        (owner.workspace, Platform::X, "li-1"),
        (owner.workspace, Platform::Linkedin, "li-2"),
        (other.workspace, Platform::Linkedin, "li-1"),
    ] {
        assert!(by_platform_id(s, workspace, platform, pid).await.is_none());
    }
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
    assert!(by_platform_id(s, owner.workspace, Platform::X, "x-9")
        .await
        .is_none());
    assert_eq!(count(s, owner.workspace, None).await, 1);
}

pub async fn plan_limits_refuse_new_accounts_but_not_reconnects(store: Arc<dyn Store>) {
    // The free plan: 3 accounts in all, 1 per platform.
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let s = store.as_ref();
    let limited = |platform, pid: &str| upsert(&owner, platform, pid, pid, t0);
    connect(s, &limited(Platform::X, "x-1")).await;
    let second_x = limited(Platform::X, "x-2");
    assert_plan_limit(s, &second_x, "a second X account on the free plan").await;
    let facebook = connect(s, &limited(Platform::Facebook, "fb-1")).await;
    connect(s, &limited(Platform::Instagram, "ig-1")).await;
    let fourth = limited(Platform::Linkedin, "li-1");
    assert_plan_limit(s, &fourth, "a fourth account on the free plan").await;
    assert_eq!(count(s, owner.workspace, None).await, 3);

    // A reconnect is no new account.
    let reconnect = store
        .upsert_account(&limited(Platform::X, "x-1"), None)
        .await
        .unwrap();
    assert!(!reconnect.created);

    // Removing one makes room.
    assert!(remove_account(s, owner.workspace, facebook.id, t0).await);
    connect(s, &limited(Platform::Linkedin, "li-1")).await;

    // A bigger plan lifts the per-platform limit.
    assert!(store
        .set_plan(owner.workspace, Plan::Starter)
        .await
        .unwrap());
    connect(s, &limited(Platform::X, "x-2")).await;
    assert_eq!(count(s, owner.workspace, None).await, 4);
    assert_eq!(count(s, owner.workspace, Some(Platform::X)).await, 2);
}

pub async fn plan_limit_holds_under_concurrent_connections(store: Arc<dyn Store>) {
    // The starter plan allows 10 accounts; 16 connect at once.
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let ups = (0..16)
        .map(|i| {
            upsert(
                &owner,
                Platform::X,
                &format!("x-{i}"),
                &format!("X {i}"),
                t0,
            )
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for outcome in connect_at_once(&store, ups).await {
        match outcome {
            Ok(outcome) => {
                assert!(outcome.created);
                created += 1;
            }
            Err(StoreError::PlanLimit(_)) => refused += 1,
            Err(other) => panic!("a connection failed otherwise than by the plan limit: {other:?}"),
        }
    }
    assert_eq!((created, refused), (10, 6));
    assert_eq!(count(store.as_ref(), owner.workspace, None).await, 10);
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
    let (s, ws) = (store.as_ref(), owner.workspace);
    let x1 = account(s, &owner, Platform::X, "x one").await;
    let x2 = account(s, &owner, Platform::X, "x two").await;
    account(s, &owner, Platform::Facebook, "fb").await;
    account(s, &other, Platform::X, "elsewhere").await;

    use AccountStatus::*;
    use Platform::*;
    assert_eq!(
        counts(s, ws).await,
        vec![(Facebook, Active, 1), (X, Active, 2)]
    );
    assert_eq!(count(s, ws, None).await, 3);
    assert_eq!(count(s, ws, Some(X)).await, 2);
    assert_eq!(count(s, ws, Some(Tiktok)).await, 0);

    let t1 = now();
    let change = status(Failed, Some(StatusReason::MissingPermissions), t1);
    let failed = change_status(s, ws, x2.id, &change).await;
    let failed = failed.expect("account exists");
    assert_eq!(failed.status, Failed);
    assert_eq!(failed.status_reason, Some(StatusReason::MissingPermissions));
    assert_eq!(failed.status_since, t1);
    assert_eq!(
        failed.status_message.as_deref(),
        Some(StatusReason::MissingPermissions.default_message())
    );
    let one_failed = vec![(Facebook, Active, 1), (X, Active, 1), (X, Failed, 1)];
    assert_eq!(counts(s, ws).await, one_failed);
    assert_eq!(count(s, ws, Some(X)).await, 2);

    // The same status and reason again: status_since stays, the message is updated, no new event.
    let t2 = t1 + minutes(5);
    let mut same = status(Failed, Some(StatusReason::MissingPermissions), t2);
    same.message = Some("still missing".to_string());
    let unchanged = change_status(s, ws, x2.id, &same).await.unwrap();
    assert_eq!(unchanged.status_since, t1);
    assert_eq!(unchanged.status_message.as_deref(), Some("still missing"));
    let kinds = event_kinds(s, ws, x2.id).await;
    let status_events = kinds.iter().filter(|k| **k == AuditKind::StatusChanged);
    assert_eq!(status_events.count(), 1);
    assert_eq!(counts(s, ws).await, one_failed);

    // Back to active: the emptied (X, Failed) group is not reported.
    let t3 = t2 + minutes(5);
    let recovered = change_status(s, ws, x2.id, &status(Active, None, t3)).await;
    let recovered = recovered.unwrap();
    assert_eq!(recovered.status_since, t3);
    assert_eq!(recovered.status_reason, None);
    assert_eq!(
        counts(s, ws).await,
        vec![(Facebook, Active, 1), (X, Active, 2)]
    );

    assert!(remove_account(s, ws, x1.id, t3).await);
    assert_eq!(
        counts(s, ws).await,
        vec![(Facebook, Active, 1), (X, Active, 1)]
    );
    assert_eq!(count(s, ws, None).await, 2);
    assert_eq!(count(s, ws, Some(X)).await, 1);

    // Another workspace's accounts are counted apart, and an unknown account has no status to set.
    assert_eq!(counts(s, other.workspace).await, vec![(X, Active, 1)]);
    let revoked = status(Failed, Some(StatusReason::TokenRevoked), t3);
    assert!(change_status(s, other.workspace, x2.id, &revoked)
        .await
        .is_none());
    assert_eq!(
        stored_account(s, ws, x2.id).await.status,
        Active,
        "another workspace cannot change it"
    );
}

/// Sets the account's labels and name override (`None` leaves each as it is), recorded as `kind`: the
/// account as updated, or `None` when the workspace has no such account.
async fn update_profile(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
    labels: Option<&Labels>,
    name: Option<Option<&str>>,
    kind: AuditKind,
    at: chrono::DateTime<chrono::Utc>,
) -> Option<Account> {
    let record = event(workspace, Some(account), kind, at);
    store
        .update_account_profile(workspace, account, labels, name, &record)
        .await
        .unwrap()
}

/// Records a refresh or check of the account: the account as updated, if the workspace has it.
async fn refresh(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
    refresh: &AccountRefresh,
) -> Option<Account> {
    store
        .record_account_refresh(workspace, account, refresh)
        .await
        .unwrap()
}

pub async fn profile_updates_set_labels_and_a_name_override(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let t0 = now() - minutes(60);
    let alpha_up = upsert(&owner, Platform::X, "x-alpha", "alpha", t0);
    let alpha = connect(s, &alpha_up).await;
    account(s, &owner, Platform::Facebook, "Bravo").await;

    use AuditKind::{LabelsChanged, Renamed};
    let labels = Labels::parse(&["Client A", "personal"]).unwrap();
    let t1 = now();
    let labelled = update_profile(s, ws, alpha.id, Some(&labels), None, LabelsChanged, t1);
    let labelled = labelled.await.expect("account exists");
    assert_eq!(labelled.labels, labels);
    assert_eq!(labelled.display_name, "alpha");

    let renamed = update_profile(s, ws, alpha.id, None, Some(Some("Zulu Team")), Renamed, t1);
    let renamed = renamed.await.unwrap();
    assert_eq!(renamed.display_name, "Zulu Team");
    assert_eq!(renamed.platform_display_name, "alpha");
    assert_eq!(renamed.display_name_override.as_deref(), Some("Zulu Team"));
    assert_eq!(renamed.labels, labels, "labels untouched by a rename");

    let names_by_name = |descending| {
        let mut query = AccountQuery::all(10);
        query.sort = iquivity_store::AccountSort {
            key: iquivity_store::SortKey::Name,
            descending,
        };
        let store = store.clone();
        async move {
            let listed = store.list_accounts(ws, &query).await.unwrap();
            listed
                .into_iter()
                .map(|a| a.display_name)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names_by_name(false).await,
        vec!["Bravo", "Zulu Team"],
        "sorted by the shown name"
    );
    assert_eq!(names_matching(s, ws, "zulu").await, vec!["Zulu Team"]);
    assert_eq!(names_matching(s, ws, "ZULU T").await, vec!["Zulu Team"]);
    assert!(
        names_matching(s, ws, "alpha").await.is_empty(),
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
    let renamed_there = AccountRefresh {
        display_name: Some("alpha again".to_string()),
        ..nothing_refreshed(t1)
    };
    let account = refresh(s, ws, alpha.id, &renamed_there).await.unwrap();
    assert_eq!(account.display_name, "Zulu Team");
    assert_eq!(account.platform_display_name, "alpha again");
    assert_eq!(names_matching(s, ws, "zulu").await, vec!["Zulu Team"]);
    assert_eq!(names_by_name(true).await, vec!["Zulu Team", "Bravo"]);

    // Clearing the override shows the platform's name again, in the list and in the search.
    let no_labels = Labels::default();
    let cleared = update_profile(s, ws, alpha.id, Some(&no_labels), Some(None), Renamed, t1);
    let cleared = cleared.await.unwrap();
    assert_eq!(cleared.display_name, "alpha again");
    assert_eq!(cleared.display_name_override, None);
    assert!(cleared.labels.to_strings().is_empty());
    assert!(names_matching(s, ws, "zulu").await.is_empty());
    assert_eq!(names_matching(s, ws, "again").await, vec!["alpha again"]);
    assert_eq!(names_by_name(false).await, vec!["alpha again", "Bravo"]);

    let kinds = event_kinds(s, ws, alpha.id).await;
    assert!(kinds.contains(&LabelsChanged));
    assert_eq!(kinds.iter().filter(|k| **k == Renamed).count(), 2);

    assert!(store
        .update_account_profile(
            ws,
            AccountId::new(),
            Some(&labels),
            None,
            &event(ws, None, LabelsChanged, t1),
        )
        .await
        .unwrap()
        .is_none());
}

pub async fn refresh_records_credentials_and_profile(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
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
    let renewed = AccountRefresh {
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
    let account = refresh(s, ws, id, &renewed).await.expect("account exists");
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
    let latest = store.events_for_account(ws, id, 1).await.unwrap();
    assert_eq!(latest[0].kind, AuditKind::Refreshed);
    assert_eq!(latest[0].at, t1);

    // A health check: only what it learned changes; `None` keeps, `Some(None)` clears.
    let t2 = t1 + minutes(10);
    let check = AccountRefresh {
        token_expires_at: Some(None),
        avatar_url: Some(None),
        ..nothing_refreshed(t2)
    };
    let account = refresh(s, ws, id, &check).await.unwrap();
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
        store.events_for_account(ws, id, 1).await.unwrap()[0].kind,
        AuditKind::Refreshed,
        "a health check records no event"
    );

    // The search follows the new handle.
    assert_eq!(names_matching(s, ws, "@new_h").await, vec!["New Name"]);
    assert!(names_matching(s, ws, "@old_h").await.is_empty());
    assert!(names_matching(s, ws, "old name").await.is_empty());

    assert!(refresh(s, ws, AccountId::new(), &check).await.is_none());
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
    assert!(!remove_account(store.as_ref(), other.workspace, gone.id, t0).await);
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
    let s = store.as_ref();
    assert!(by_platform_id(s, owner.workspace, Platform::Tiktok, "tt-1")
        .await
        .is_none());
    assert_eq!(count(s, owner.workspace, None).await, 1);
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
    let ups = (0..8)
        .map(|i| upsert(&owner, Platform::X, "x-same", &format!("Same {i}"), t0))
        .collect();
    let outcomes = connect_at_once(&store, ups).await;
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
    assert_eq!(count(store.as_ref(), owner.workspace, None).await, 1);
}

pub async fn an_accounts_picture_is_kept_per_workspace_replaced_and_removed_with_it(
    store: Arc<dyn Store>,
) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let account = account(s, &owner, Platform::X, "Pictured").await;
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
    assert!(remove_account(s, owner.workspace, account.id, now()).await);
    assert!(store
        .avatar(owner.workspace, account.id)
        .await
        .unwrap()
        .is_none());
}
