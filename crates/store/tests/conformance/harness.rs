//! Opening each backend for one scenario, and the fixtures every scenario builds on.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use iquivity_domain::{
    Account, AccountId, AccountKind, AccountStatus, AlertKind, Plan, Platform, Role, StatusReason,
    UserId, WorkspaceId,
};
use iquivity_store::{
    AccountRefresh, AccountUpsert, AlertRecord, AuditEventRecord, AuditKind, FlowRecord, FlowStage,
    InvitationRecord, JobKind, JobRecord, MediaRecord, NewUser, NewWorkspace, PostRecord,
    StatusChange, Store, StoreError, StoreResult, StoredCredential, TargetRecord, WebhookRecord,
};
use std::future::Future;
use std::sync::Arc;

/// Runs a scenario on a fresh SQLite database in a temporary directory.
pub async fn run_sqlite<F, Fut>(scenario: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let store = iquivity_store::open(&url).await.expect("open SQLite");
    scenario(store).await;
    drop(dir);
}

/// Runs a scenario on a fresh PostgreSQL schema, dropped afterwards, or skips it (with a notice on stderr)
/// when the server cannot be reached.
pub async fn run_postgres<F, Fut>(name: &str, scenario: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let test = format!("postgres::{name}");
    crate::scratch::in_scratch_schema("iqc", &test, |url| async move {
        let store = iquivity_store::open(&url)
            .await
            .expect("open PostgreSQL scratch schema");
        scenario(store).await;
    })
    .await;
}

/// Queues due jobs and checks how many were queued. (PostgreSQL's enqueue lock is per schema, and each
/// scenario has a schema of its own, so nothing else can hold it.)
pub async fn enqueue_due(store: &dyn Store, now: DateTime<Utc>, limit: u32, expected: u32) {
    let queued = store.enqueue_due_jobs(now, limit).await.unwrap();
    assert_eq!(
        queued, expected,
        "jobs queued by enqueue_due_jobs({now}, {limit})"
    );
}

/// Checks that `result` is refused as a duplicate (`why` says what should have been refused).
pub fn assert_duplicate<T: std::fmt::Debug>(result: StoreResult<T>, why: &str) {
    let err = result.expect_err(why);
    assert!(
        matches!(err, StoreError::Duplicate(_)),
        "expected Duplicate, got {err:?}"
    );
}

/// The present, at the microsecond precision both backends store.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

pub fn unique_email(who: &str) -> String {
    format!("{who}-{}@example.test", uuid::Uuid::now_v7().simple())
}

pub fn new_user(who: &str, at: DateTime<Utc>) -> NewUser {
    NewUser {
        id: UserId::new(),
        email: unique_email(who),
        password_hash: format!("argon2-hash-of-{who}"),
        created_at: at,
    }
}

pub fn new_workspace(name: &str, plan: Plan, at: DateTime<Utc>) -> NewWorkspace {
    NewWorkspace {
        id: WorkspaceId::new(),
        name: name.to_string(),
        plan,
        created_at: at,
    }
}

/// A workspace with its owner.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub user: UserId,
    pub email: String,
    pub workspace: WorkspaceId,
}

pub async fn tenant(store: &dyn Store, plan: Plan) -> Tenant {
    let at = now() - Duration::days(1);
    let user = new_user("owner", at);
    let workspace = new_workspace("Workspace", plan, at);
    store
        .create_user_with_workspace(&user, &workspace)
        .await
        .unwrap();
    Tenant {
        user: user.id,
        email: user.email,
        workspace: workspace.id,
    }
}

/// A new active account with no handle, labels or token expiry.
pub fn upsert(
    tenant: &Tenant,
    platform: Platform,
    platform_account_id: &str,
    name: &str,
    at: DateTime<Utc>,
) -> AccountUpsert {
    AccountUpsert {
        id: AccountId::new(),
        workspace_id: tenant.workspace,
        platform,
        kind: AccountKind::Profile,
        platform_account_id: platform_account_id.to_string(),
        display_name: name.to_string(),
        handle: None,
        avatar_url: None,
        scopes: vec!["read".to_string()],
        status: AccountStatus::Active,
        status_reason: None,
        status_message: None,
        labels: Vec::new(),
        connected_by: Some(tenant.user),
        token_expires_at: None,
        sandbox: false,
        now: at,
    }
}

pub async fn connect(store: &dyn Store, up: &AccountUpsert) -> Account {
    let outcome = store.upsert_account(up, None).await.unwrap();
    assert!(outcome.created, "{} is a new account", up.display_name);
    outcome.account
}

/// Connects an account named `name` on `platform` with a fresh platform id.
pub async fn account(
    store: &dyn Store,
    tenant: &Tenant,
    platform: Platform,
    name: &str,
) -> Account {
    let pid = format!("pid-{}", uuid::Uuid::now_v7().simple());
    connect(
        store,
        &upsert(tenant, platform, &pid, name, now() - minutes(60)),
    )
    .await
}

/// The account as stored now.
pub async fn stored_account(store: &dyn Store, workspace: WorkspaceId, id: AccountId) -> Account {
    store
        .account(workspace, id)
        .await
        .unwrap()
        .expect("the account is stored")
}

/// A status change at `at` with no message of its own.
pub fn status_change(
    status: AccountStatus,
    reason: Option<StatusReason>,
    at: DateTime<Utc>,
) -> StatusChange {
    StatusChange {
        status,
        reason,
        message: None,
        at,
    }
}

/// Applies `change` to the account with the audit event it calls for: the account as changed, or `None`
/// when the workspace has no such account.
pub async fn change_status(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
    change: &StatusChange,
) -> Option<Account> {
    let record = event(
        workspace,
        Some(account),
        AuditKind::StatusChanged,
        change.at,
    );
    store
        .set_account_status(workspace, account, change, &record)
        .await
        .unwrap()
}

/// Removes the account from the workspace, recording it at `at`: whether there was one to remove.
pub async fn remove_account(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
    at: DateTime<Utc>,
) -> bool {
    let record = event(workspace, Some(account), AuditKind::Removed, at);
    store
        .delete_account(workspace, account, &record)
        .await
        .unwrap()
}

/// The kinds of the account's latest (up to 10) audit events, newest first.
pub async fn event_kinds(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
) -> Vec<AuditKind> {
    let events = store.events_for_account(workspace, account, 10).await;
    events.unwrap().into_iter().map(|e| e.kind).collect()
}

/// A check at `at` that learned nothing: each test sets what its refresh did learn.
pub fn nothing_refreshed(at: DateTime<Utc>) -> AccountRefresh {
    AccountRefresh {
        credential: None,
        token_expires_at: None,
        scopes: None,
        display_name: None,
        handle: None,
        avatar_url: None,
        followers: None,
        refreshed: false,
        now: at,
    }
}

/// An unread status alert about some account, with a payload that tells alerts apart.
pub fn alert(
    workspace: WorkspaceId,
    dedupe_key: Option<&str>,
    created_at: DateTime<Utc>,
) -> AlertRecord {
    AlertRecord {
        id: uuid::Uuid::now_v7(),
        workspace_id: workspace,
        account_id: Some(AccountId::new()),
        kind: AlertKind::StatusChanged,
        dedupe_key: dedupe_key.map(str::to_string),
        payload: serde_json::json!({ "status": "failed", "n": created_at.timestamp() }),
        created_at,
        read_at: None,
    }
}

/// A healthy webhook taking every event, with a secret of its own.
pub fn webhook(workspace: WorkspaceId, url: &str, created_at: DateTime<Utc>) -> WebhookRecord {
    WebhookRecord {
        id: uuid::Uuid::now_v7(),
        workspace_id: workspace,
        url: url.to_string(),
        secret: credential("key-1", &format!("secret for {url}")),
        created_at,
        events: None,
        previous_secret: None,
        failing_since: None,
        disabled_at: None,
    }
}

pub fn credential(key_id: &str, blob: &str) -> StoredCredential {
    StoredCredential {
        key_id: key_id.to_string(),
        blob: blob.as_bytes().to_vec(),
    }
}

pub fn event(
    workspace: WorkspaceId,
    account: Option<AccountId>,
    kind: AuditKind,
    at: DateTime<Utc>,
) -> AuditEventRecord {
    AuditEventRecord {
        id: uuid::Uuid::now_v7(),
        workspace_id: workspace,
        account_id: account,
        actor_id: None,
        kind,
        details: serde_json::json!({ "kind": kind.as_str() }),
        at,
    }
}

pub fn job(
    kind: JobKind,
    account: AccountId,
    workspace: WorkspaceId,
    run_at: DateTime<Utc>,
) -> JobRecord {
    JobRecord {
        id: uuid::Uuid::now_v7(),
        kind,
        account_id: account,
        workspace_id: workspace,
        platform: Platform::X,
        payload: None,
        run_at,
        attempts: 0,
        last_error: None,
        created_at: run_at,
        done_at: None,
    }
}

/// A post scheduled on each of `targets`, each target due at its own time.
pub fn post(
    workspace: WorkspaceId,
    author: Option<UserId>,
    text: &str,
    targets: &[(AccountId, Platform, DateTime<Utc>)],
    created_at: DateTime<Utc>,
) -> PostRecord {
    let id = uuid::Uuid::now_v7();
    let publish_at = targets
        .iter()
        .map(|(_, _, at)| *at)
        .min()
        .unwrap_or(created_at);
    PostRecord {
        id,
        workspace_id: workspace,
        author_id: author,
        text: text.to_string(),
        link: None,
        media: vec![MediaRecord {
            url: "https://media.example.test/picture.jpg".to_string(),
            kind: "image".to_string(),
        }],
        privacy_level: None,
        publish_at,
        created_at,
        draft_accounts: None,
        variants: Vec::new(),
        first_comment: None,
        thread: Vec::new(),
        targets: targets
            .iter()
            .map(|(account, platform, at)| TargetRecord::scheduled(id, *account, *platform, *at))
            .collect(),
    }
}

/// The target of `post` on `account`, as stored now.
pub async fn stored_target(
    store: &dyn Store,
    workspace: WorkspaceId,
    post: uuid::Uuid,
    target: uuid::Uuid,
) -> TargetRecord {
    store
        .post(workspace, post)
        .await
        .unwrap()
        .expect("post exists")
        .targets
        .into_iter()
        .find(|t| t.id == target)
        .expect("target exists")
}

/// All accounts (up to 100) whose text matches `text`, as the search box asks.
pub fn search(text: &str) -> iquivity_store::AccountQuery {
    let mut query = iquivity_store::AccountQuery::all(100);
    query.search = Some(iquivity_store::TextSearch::plain(text));
    query
}

/// The display names `search(text)` finds in the workspace, sorted.
pub async fn names_matching(store: &dyn Store, workspace: WorkspaceId, text: &str) -> Vec<String> {
    let found = store.list_accounts(workspace, &search(text)).await.unwrap();
    let mut names: Vec<String> = found.into_iter().map(|a| a.display_name).collect();
    names.sort();
    names
}

/// Runs `n` copies of a task at once (the `i`th gets `i`) and answers their results in that order.
pub async fn concurrently<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(task(i))).collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("task finished"));
    }
    results
}

/// `workers` claimers at once, each named `worker-{n}`, claiming batches of at most `limit` from `store`
/// with `claim` until it hands out nothing: everything claimed, each with its claimer's name.
pub async fn drain<T, F, Fut>(
    store: &Arc<dyn Store>,
    workers: usize,
    limit: u32,
    claim: F,
) -> Vec<(String, T)>
where
    F: Fn(Arc<dyn Store>, String, u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<T>> + Send + 'static,
    T: Send + 'static,
{
    let claim = Arc::new(claim);
    let claimed = concurrently(workers, |worker| {
        let (claim, store) = (claim.clone(), store.clone());
        async move {
            let owner = format!("worker-{worker}");
            let mut claimed = Vec::new();
            loop {
                let batch = claim(store.clone(), owner.clone(), limit).await;
                if batch.is_empty() {
                    return claimed;
                }
                assert!(batch.len() <= limit as usize, "a batch over the limit");
                claimed.extend(batch.into_iter().map(|item| (owner.clone(), item)));
            }
        }
    })
    .await;
    claimed.into_iter().flatten().collect()
}

/// A pending invitation to `tenant`'s workspace for anyone (no email), made at `at`.
pub fn new_invitation(
    tenant: &Tenant,
    token_hash: &str,
    role: Role,
    at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> InvitationRecord {
    InvitationRecord {
        id: uuid::Uuid::now_v7(),
        token_hash: token_hash.to_string(),
        workspace_id: tenant.workspace,
        role,
        email: None,
        invited_by: tenant.user,
        created_at: at,
        expires_at,
        accepted_at: None,
    }
}

/// A flow started at `at` by `tenant`'s owner, authorizing for ten minutes, with no session, account to
/// reconnect or verifier.
pub fn new_flow(
    tenant: &Tenant,
    platform: Platform,
    state_hash: &str,
    at: DateTime<Utc>,
) -> FlowRecord {
    FlowRecord {
        id: uuid::Uuid::now_v7(),
        state_hash: state_hash.to_string(),
        workspace_id: tenant.workspace,
        user_id: tenant.user,
        session_hash: None,
        platform,
        reconnect_account_id: None,
        link_id: None,
        verifier: None,
        stage: FlowStage::Authorizing,
        candidates: None,
        error: None,
        connected: Vec::new(),
        created_at: at,
        expires_at: at + minutes(10),
        state_used_at: None,
    }
}
