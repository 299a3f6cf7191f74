//! Accounts: what a connection writes, how lists are sorted, searched and paged, status changes,
//! credentials, the audit trail, and pictures.

use chrono::{DateTime, Utc};
use iquivity_domain::{
    named_enum, Account, AccountId, AccountKind, AccountStatus, Platform, StatusReason, UserId,
    WorkspaceId,
};
use serde::{Deserialize, Serialize};

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
