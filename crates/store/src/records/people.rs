//! Users, workspaces, sessions, API tokens and invitations.

use chrono::{DateTime, Utc};
use iquivity_domain::{Plan, Role, UserId, WorkspaceId};

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
