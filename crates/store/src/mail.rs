use crate::prelude::*;
use iquivity_domain::{AlertEmail, AlertKind};

/// A message waiting in the outbox, sealed by the vault: its recipient, subject and bodies are read only
/// when it is sent (a reset link in it is a secret).
#[derive(Debug, Clone)]
pub struct MailRecord {
    pub id: uuid::Uuid,
    /// What it is (`password_reset`, `invitation`, ...), for the log and the metrics.
    pub kind: String,
    pub sealed: StoredCredential,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// How one sending attempt ended.
#[derive(Debug, Clone)]
pub enum MailAttempt {
    Sent,
    /// Tried again at the time given; the error's class (never the message, which may echo an address).
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Given up after too many attempts.
    GaveUp {
        error: String,
    },
}

/// A password reset link as stored: the digest of its token, whose it is, and until when.
#[derive(Debug, Clone)]
pub struct PasswordResetRecord {
    pub token_hash: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A member whose daily digest may be due: until when it last covered the alerts (`None`: never started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestMark {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub sent_until: Option<DateTime<Utc>>,
}

/// The outbox, the password reset links, and who is emailed about which alerts.
#[async_trait]
pub trait MailStore {
    async fn queue_mail(&self, mail: &MailRecord, now: DateTime<Utc>) -> StoreResult<()>;
    /// Claims up to `limit` messages due at `now` for `owner` until `lease_until`; each claim counts as an
    /// attempt, so a message whose sender dies mid-send is tried again after the lease.
    async fn claim_mail(&self, claim: Claim<'_>) -> StoreResult<Vec<MailRecord>>;
    /// Records how an attempt ended; `false` when `owner` no longer holds the message.
    async fn record_mail_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        attempt: &MailAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn create_password_reset(&self, reset: &PasswordResetRecord) -> StoreResult<()>;
    /// Marks the reset link used, once, if it is still valid at `now`: whose it was.
    async fn use_password_reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;
    /// The choices the workspace's members made, per kind; kinds not listed take the default.
    async fn alert_email_choices(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<(UserId, AlertKind, AlertEmail)>>;
    async fn set_alert_email_choice(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        kind: AlertKind,
        choice: AlertEmail,
    ) -> StoreResult<()>;
    /// Members whose digest never started or last covered up to `before` or earlier, at most `limit`.
    async fn due_digests(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DigestMark>>;
    /// Moves a member's digest mark from `mark.sent_until` (as read) to `to`; false when another instance
    /// moved it first, which then sends that digest.
    async fn advance_digest(&self, mark: &DigestMark, to: DateTime<Utc>) -> StoreResult<bool>;
    /// Sets a user's password; with `sign_out_everywhere`, ends every session and API token of the user.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        sign_out_everywhere: bool,
    ) -> StoreResult<()>;
}
