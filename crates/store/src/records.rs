use chrono::{DateTime, Utc};
use iquivity_domain::{
    named_enum, Account, AccountId, AccountKind, AccountStatus, Plan, Platform, Role, StatusReason,
    UserId, WorkspaceId,
};
use serde::{Deserialize, Serialize};

// Enums stored (and answered) as text are declared with their stored names by `named_enum!`.

pub struct NewUser {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewWorkspace {
    pub id: WorkspaceId,
    pub name: String,
    pub plan: Plan,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct WorkspaceRecord {
    pub id: WorkspaceId,
    pub name: String,
    pub plan: Plan,
    pub created_at: DateTime<Utc>,
}

/// A sign-in session; only the SHA-256 of the session id is kept.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id_hash: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The person behind a session or token, as of now: membership is re-read on every request.
#[derive(Debug, Clone)]
pub struct CallerRecord {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
}

#[derive(Debug, Clone, Copy)]
pub struct TokenUse {
    pub id: uuid::Uuid,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A personal API token; only its SHA-256 is kept.
#[derive(Debug, Clone)]
pub struct ApiTokenRecord {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub user_id: UserId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct InvitationRecord {
    pub id: uuid::Uuid,
    pub token_hash: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub email: Option<String>,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// What a connection (or reconnection) writes about an account.
#[derive(Debug, Clone)]
pub struct AccountUpsert {
    /// Used only when the account is new; a reconnect keeps the stored id.
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub platform: Platform,
    pub kind: AccountKind,
    pub platform_account_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub scopes: Vec<String>,
    pub status: AccountStatus,
    pub status_reason: Option<StatusReason>,
    pub status_message: Option<String>,
    pub labels: Vec<String>,
    pub connected_by: Option<UserId>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub sandbox: bool,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct UpsertOutcome {
    pub account: Account,
    /// False when an existing account was updated (a reconnect).
    pub created: bool,
    /// On a reconnect, the status the account had before it.
    pub previous_status: Option<AccountStatus>,
}

named_enum! {
    pub enum SortKey {
        CreatedAt = "created_at",
        Name = "name",
        Platform = "platform",
        Status = "status",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountSort {
    pub key: SortKey,
    pub descending: bool,
}

/// The value of the sort column at the last row of a page, and that row's id: where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub key: SortKey,
    pub descending: bool,
    pub value: CursorValue,
    pub id: AccountId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    Micros(i64),
    Text(String),
}

/// A search: an account matches when each word does (in any order), or when it was created at a time the
/// whole text denotes.
#[derive(Debug, Clone, Default)]
pub struct TextSearch {
    pub words: Vec<SearchWord>,
    /// Half-open UTC ranges `[from, to)`.
    pub created: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One word of a search. An account matches it when its name, handle or a label contains the word, when
/// it is on a platform the word names, or when it belongs to a client whose name contains the word.
#[derive(Debug, Clone, Default)]
pub struct SearchWord {
    /// Lower case.
    pub text: String,
    pub platforms: Vec<Platform>,
    pub clients: Vec<iquivity_domain::ClientId>,
}

impl TextSearch {
    /// The words of `text` matched against names, handles and labels only.
    pub fn plain(text: &str) -> TextSearch {
        TextSearch {
            words: text
                .to_lowercase()
                .split_whitespace()
                .map(|word| SearchWord {
                    text: word.to_string(),
                    ..SearchWord::default()
                })
                .collect(),
            created: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccountQuery {
    /// What the search box matches: any of its alternatives.
    pub search: Option<TextSearch>,
    pub platforms: Vec<Platform>,
    pub statuses: Vec<AccountStatus>,
    pub created_from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub created_before: Option<DateTime<Utc>>,
    pub connected_by: Option<UserId>,
    /// A label's beginning, compared case-insensitively (`cli` finds `Client A`).
    pub label: Option<String>,
    /// Accounts of any of these clients, and (with `without_client`) those of none.
    pub clients: Vec<iquivity_domain::ClientId>,
    pub without_client: bool,
    pub sort: AccountSort,
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl AccountQuery {
    pub fn all(limit: u32) -> Self {
        AccountQuery {
            search: None,
            platforms: Vec::new(),
            statuses: Vec::new(),
            created_from: None,
            created_before: None,
            connected_by: None,
            label: None,
            clients: Vec::new(),
            without_client: false,
            sort: AccountSort {
                key: SortKey::CreatedAt,
                descending: true,
            },
            limit,
            after: None,
        }
    }
}

/// The cursor that continues after `account` in `sort` order.
pub fn cursor_after(account: &Account, sort: AccountSort) -> Cursor {
    let value = match sort.key {
        SortKey::CreatedAt => CursorValue::Micros(account.created_at.timestamp_micros()),
        SortKey::Name => CursorValue::Text(account.display_name.to_lowercase()),
        SortKey::Platform => CursorValue::Text(account.platform.as_str().to_string()),
        SortKey::Status => CursorValue::Micros(account.status.severity_rank()),
    };
    Cursor {
        key: sort.key,
        descending: sort.descending,
        value,
        id: account.id,
    }
}

/// A new status for an account, with what a person should read about it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: AccountStatus,
    pub reason: Option<StatusReason>,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformStatusCount {
    pub platform: Platform,
    pub status: AccountStatus,
    pub count: u32,
}

/// A credential as the vault sealed it.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredential {
    pub key_id: String,
    pub blob: Vec<u8>,
}

impl std::fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredCredential")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// What happened to an account, who did it and when. `details` never holds a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEventRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub account_id: Option<AccountId>,
    pub actor_id: Option<UserId>,
    pub kind: AuditKind,
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

named_enum! {
    pub enum AuditKind {
        Connected = "connected",
        Reconnected = "reconnected",
        Refreshed = "refreshed",
        StatusChanged = "status_changed",
        LabelsChanged = "labels_changed",
        Renamed = "renamed",
        ClientChanged = "client_changed",
        Removed = "removed",
    }
}

named_enum! {
    pub enum FlowStage {
        /// Waiting for the platform to send the user back.
        Authorizing = "authorizing",
        /// Consent given; the user chooses which Pages / organisations to connect.
        Selecting = "selecting",
        Done = "done",
        Failed = "failed",
    }
}

/// An OAuth connection in progress.
#[derive(Debug, Clone)]
pub struct FlowRecord {
    pub id: uuid::Uuid,
    pub state_hash: String,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub session_hash: Option<String>,
    pub platform: Platform,
    pub reconnect_account_id: Option<AccountId>,
    /// The link the sign-in was started from: it belongs to that link, not to a session.
    pub link_id: Option<iquivity_domain::LinkId>,
    pub verifier: Option<StoredCredential>,
    pub stage: FlowStage,
    pub candidates: Option<StoredCredential>,
    pub error: Option<String>,
    pub connected: Vec<AccountId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state_used_at: Option<DateTime<Utc>>,
}

/// What a refresh learned about an account: new credentials, and its face and grants as the platform
/// reports them now. `None` fields stay as they are.
#[derive(Debug, Clone)]
pub struct AccountRefresh {
    pub credential: Option<StoredCredential>,
    pub token_expires_at: Option<Option<DateTime<Utc>>>,
    pub scopes: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub handle: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub followers: Option<u64>,
    pub refreshed: bool,
    pub now: DateTime<Utc>,
}

named_enum! {
    pub enum JobKind {
        /// Renew an account's credentials ahead of their expiry.
        Refresh = "refresh",
        /// A cheap identity call: does the token still work, which scopes, which name and picture.
        HealthCheck = "health_check",
        /// Withdraw a removed account's access on the platform.
        Revoke = "revoke",
    }
}

/// A durable unit of background work.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: uuid::Uuid,
    pub kind: JobKind,
    pub account_id: AccountId,
    pub workspace_id: WorkspaceId,
    pub platform: Platform,
    pub payload: Option<StoredCredential>,
    pub run_at: DateTime<Utc>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// An account's run of failed platform calls, as the lifecycle engine counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRun {
    pub count: u32,
    pub since: DateTime<Utc>,
}

/// Something a person should know about an account, once per incident.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub account_id: Option<AccountId>,
    pub kind: iquivity_domain::AlertKind,
    pub dedupe_key: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub secret: StoredCredential,
    pub created_at: DateTime<Utc>,
    /// The event types it takes; none means every type, those added later included.
    pub events: Option<Vec<iquivity_domain::AlertKind>>,
    /// The secret before the last rotation, which still signs deliveries until its `until`.
    pub previous_secret: Option<PreviousSecret>,
    /// Since the first failed attempt after its last successful one.
    pub failing_since: Option<DateTime<Utc>>,
    /// Set while disabled: no deliveries are queued or sent until it is enabled again.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl WebhookRecord {
    /// Whether deliveries of alerts of this kind are queued for it.
    pub fn takes(&self, kind: iquivity_domain::AlertKind) -> bool {
        self.disabled_at.is_none() && self.events.as_ref().is_none_or(|e| e.contains(&kind))
    }

    /// The previous secret while it still signs deliveries.
    pub fn previous_secret_at(&self, now: DateTime<Utc>) -> Option<&StoredCredential> {
        self.previous_secret
            .as_ref()
            .filter(|p| p.until > now)
            .map(|p| &p.secret)
    }
}

#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub secret: StoredCredential,
    pub until: DateTime<Utc>,
}

/// A change to a webhook's settings; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// `Some(None)`: every event type.
    pub events: Option<Option<Vec<iquivity_domain::AlertKind>>>,
    /// Enabling clears the failure streak; disabling stamps `disabled_at` with `now`.
    pub enabled: Option<bool>,
    pub now: DateTime<Utc>,
}

/// What a delivery attempt told about a webhook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookHealth {
    Succeeded,
    /// Failed; the webhook is disabled when it has been failing since `disable_if_failing_since` or before.
    Failed {
        disable_if_failing_since: DateTime<Utc>,
    },
}

named_enum! {
    pub enum DeliveryState {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

named_enum! {
    /// Why the last attempt of a delivery failed. Only the class is kept: error text would tell whoever reads
    /// the log which hosts and ports around the service exist.
    pub enum FailureClass {
        /// The destination is not allowed (an internal address, a port or scheme not allowed).
        RefusedDestination = "refused_destination",
        ConnectionFailed = "connection_failed",
        Timeout = "timeout",
        /// The endpoint answered with a redirect (its status in `last_status`), which is not followed.
        Redirect = "redirect",
        /// The endpoint answered with another non-2xx status (in `last_status`).
        HttpStatus = "http_status",
    }
}

/// One attempt history of sending one alert to one webhook.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: uuid::Uuid,
    pub webhook_id: uuid::Uuid,
    pub alert_id: uuid::Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if one got that far.
    pub last_status: Option<u16>,
    /// Why the last attempt failed; none once delivered.
    pub failure_class: Option<FailureClass>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub state: DeliveryState,
    pub status: Option<u16>,
    pub failure: Option<FailureClass>,
    pub next_attempt_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Figures for `/metrics`, across all workspaces.
#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    pub accounts: Vec<PlatformStatusCount>,
    /// Unfinished jobs by kind: how many, and how long the oldest due one has waited (seconds).
    pub jobs: Vec<(JobKind, u64, f64)>,
    pub pending_deliveries: u64,
    pub pool: PoolUsage,
}

/// The database connection pool, as the metrics were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}

named_enum! {
    pub enum TargetState {
        Scheduled = "scheduled",
        Publishing = "publishing",
        Published = "published",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    pub url: String,
    /// `image` or `video`.
    pub kind: String,
}

/// A post written once for several accounts.
#[derive(Debug, Clone)]
pub struct PostRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub author_id: Option<UserId>,
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<MediaRecord>,
    pub privacy_level: Option<String>,
    pub publish_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<TargetRecord>,
    /// For a draft, the accounts it is meant for: a draft has no targets, so the engine never takes it
    /// and it reserves nothing. `None` for a post that was scheduled.
    pub draft_accounts: Option<Vec<AccountId>>,
    /// Its own text for one network or one account.
    pub variants: Vec<PostVariant>,
    /// Added as a comment under the post once it is published, where the platform takes comments.
    pub first_comment: Option<String>,
    /// On a platform that takes threads (X): the parts after the post itself, published in order as
    /// replies.
    pub thread: Vec<ThreadPart>,
}

/// One part of a thread after its first: its text and its own media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPart {
    pub text: String,
    #[serde(default)]
    pub media: Vec<MediaRecord>,
}

/// How far one target's thread went: the ids of the parts published after the post itself, in order, and
/// why it stopped when it did (a retry continues from the next part).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadProgress {
    pub published: Vec<String>,
    pub error: Option<String>,
}

/// A post's text for one network (every account of that platform) or one account, instead of the post's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostVariant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    pub text: String,
    /// Its own link, instead of the post's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Its own media, instead of the post's; an empty list publishes no media there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MediaRecord>>,
}

impl PostRecord {
    /// The version that applies to an account: its own, else its platform's.
    pub fn variant_for(&self, account: AccountId, platform: Platform) -> Option<&PostVariant> {
        self.variants
            .iter()
            .find(|v| v.account == Some(account))
            .or_else(|| self.variants.iter().find(|v| v.platform == Some(platform)))
    }

    /// The text published to an account: its version's, else the post's.
    pub fn text_for(&self, account: AccountId, platform: Platform) -> &str {
        self.variant_for(account, platform)
            .map_or(self.text.as_str(), |v| v.text.as_str())
    }

    /// The media published to an account: its version's, else the post's.
    pub fn media_for(&self, account: AccountId, platform: Platform) -> &[MediaRecord] {
        self.variant_for(account, platform)
            .and_then(|v| v.media.as_deref())
            .unwrap_or(&self.media)
    }

    /// The link published to an account: its version's, else the post's.
    pub fn link_for(&self, account: AccountId, platform: Platform) -> Option<&str> {
        self.variant_for(account, platform)
            .and_then(|v| v.link.as_deref())
            .or(self.link.as_deref())
    }
}

/// Whose posting times: an account's own, or a client's, which every account of the client without times
/// of its own takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOwner {
    Account(AccountId),
    Client(iquivity_domain::ClientId),
}

/// Posting times in their own time zone: "Add to queue" schedules at the next free one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    pub owner: QueueOwner,
    pub workspace_id: WorkspaceId,
    /// An IANA name (`Europe/Berlin`).
    pub time_zone: String,
    pub slots: Vec<QueueSlot>,
    pub updated_at: DateTime<Utc>,
}

/// Some days of the week at one time of day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSlot {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, 24 hours.
    pub time: String,
}

/// A target as the calendar shows it: with its post's text and publishing time.
#[derive(Debug, Clone)]
pub struct CalendarTarget {
    pub post_id: uuid::Uuid,
    pub text: String,
    pub publish_at: DateTime<Utc>,
    pub target: TargetRecord,
}

/// The post on one account, and how that went.
#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: uuid::Uuid,
    pub post_id: uuid::Uuid,
    pub account_id: AccountId,
    pub platform: Platform,
    pub state: TargetState,
    /// How many times its request was sent to the platform.
    pub attempts: u32,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    /// The error class of a failure (`token_expired`, `rejected`, ...).
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// While `publishing`: when the request to the platform went out; empty while the target still waits
    /// for a free slot on its platform (nothing was sent yet).
    pub sending_at: Option<DateTime<Utc>>,
    pub run_at: DateTime<Utc>,
    /// When the published post was deleted on its platform through the service.
    pub deleted_at: Option<DateTime<Utc>>,
    /// How the post's first comment went here; `None` until it was tried (or without one).
    pub comment: Option<CommentResult>,
    /// How far the post's thread went here.
    pub thread: ThreadProgress,
}

/// The first comment under one target's published post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentResult {
    /// Its id on the platform.
    Published { comment_id: String },
    /// Why the platform did not take it; it can be tried again without posting again.
    Failed { message: String },
}

impl TargetRecord {
    /// A new target of `post` on the account, waiting for `run_at`, never tried.
    pub fn scheduled(
        post_id: uuid::Uuid,
        account_id: AccountId,
        platform: Platform,
        run_at: DateTime<Utc>,
    ) -> TargetRecord {
        TargetRecord {
            id: uuid::Uuid::now_v7(),
            post_id,
            account_id,
            platform,
            state: TargetState::Scheduled,
            attempts: 0,
            platform_post_id: None,
            url: None,
            error_class: None,
            error_message: None,
            published_at: None,
            sending_at: None,
            run_at,
            deleted_at: None,
            comment: None,
            thread: ThreadProgress::default(),
        }
    }
}

/// A scheduled post rewritten: its text, link and time, and optionally the targets it should have.
pub struct PostRewrite<'a> {
    pub text: &'a str,
    pub link: Option<&'a str>,
    pub publish_at: DateTime<Utc>,
    /// The post's targets from now on, one per account: a target already on the post for one of these
    /// accounts stays as it is (moved to the new time while scheduled), targets on other accounts are
    /// removed, and the rest are added. `None` keeps the targets.
    pub targets: Option<&'a [TargetRecord]>,
    /// Its versions for networks or accounts from now on.
    pub variants: &'a [PostVariant],
    pub first_comment: Option<&'a str>,
}

/// How one publishing attempt ended.
#[derive(Debug, Clone)]
pub enum TargetOutcome {
    Published {
        platform_post_id: String,
        url: Option<String>,
    },
    Failed {
        class: String,
        message: String,
    },
    /// Back to scheduled, for another attempt at `at`.
    Retry {
        at: DateTime<Utc>,
        message: String,
    },
}

/// Where a page of the alert history ends: the next page starts after this alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPosition {
    pub created_at: DateTime<Utc>,
    pub id: uuid::Uuid,
}

/// How many accounts are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusTally {
    pub active: u32,
    pub inactive: u32,
    pub failed: u32,
}

impl StatusTally {
    pub fn total(&self) -> u32 {
        self.active + self.inactive + self.failed
    }
}

/// An account's profile picture as the service fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarRecord {
    pub account_id: AccountId,
    pub workspace_id: WorkspaceId,
    /// One of the image types the service accepts (checked against the bytes).
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Where it was fetched from: a different URL from the platform means a new picture.
    pub source_url: String,
    pub fetched_at: DateTime<Utc>,
}
