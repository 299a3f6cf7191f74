use crate::prelude::*;

/// Users, workspaces and their members, sign-in (sessions, API tokens, counted attempts) and invitations.
#[async_trait]
pub trait PeopleStore: Send + Sync {
    async fn create_user_with_workspace(
        &self,
        user: &NewUser,
        workspace: &NewWorkspace,
    ) -> StoreResult<()>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRecord>>;
    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<bool>;
    /// The members of a workspace with their email and role, oldest first.
    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<(UserId, String, Role)>>;
    /// The workspaces a user belongs to, oldest membership first.
    async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<(WorkspaceRecord, Role)>>;
    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()>;
    /// Who holds an unexpired session, with their current role (one query: it runs on every request).
    async fn caller_by_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CallerRecord>>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    async fn create_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()>;
    /// Who holds an API token, with their current role and when the token was last used (one query).
    async fn caller_by_api_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(CallerRecord, TokenUse)>>;
    async fn touch_api_token(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// Counts one more sign-in or sign-up attempt under `key` and answers the count including it, in one
    /// statement: concurrent attempts each get their own count, so no more than a limit of them can ever
    /// pass a check of it, across instances too. A count whose window began before `window_start` has run
    /// out and starts again at 1, its window beginning `now`.
    async fn count_login_attempt(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u32>;
    /// Takes back one counted attempt of `key` (one that turned out to be the right password), never
    /// below zero.
    async fn forget_login_attempt(&self, key: &str) -> StoreResult<()>;
    /// Forgets every counted attempt of `key`.
    async fn clear_login_attempts(&self, key: &str) -> StoreResult<()>;
    /// Deletes the counts whose window began before `before` (they no longer limit anything); answers how
    /// many.
    async fn purge_login_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn create_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()>;
    async fn invitation_by_hash(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>>;
    /// Marks the invitation used and adds the member, once: false when it was already used or has expired.
    async fn accept_invitation(
        &self,
        id: uuid::Uuid,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Creates the user (with a workspace of their own, when given) and accepts the invitation for them,
    /// in one transaction: false, with nothing created (the email stays free), when the invitation was
    /// already used or has expired; `Duplicate` when the email is taken.
    async fn create_user_with_invitation(
        &self,
        user: &NewUser,
        own_workspace: Option<&NewWorkspace>,
        invitation: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
