//! The SQL behind [`crate::PeopleStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

pub(super) async fn insert_user(conn: &mut Conn, user: &NewUser) -> StoreResult<()> {
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(micros(user.created_at))
        .execute(conn)
        .await
        .map_err(duplicate("a user with this email"))?;
    Ok(())
}

/// Marks the invitation accepted by `user` and adds them as a member, once: false when it was already
/// used or has expired. Concurrent claims of one invitation wait on its row; one of them wins.
pub(super) async fn claim_invitation(
    conn: &mut Conn,
    id: uuid::Uuid,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let claimed = sqlx::query(
        "UPDATE invitations SET accepted_at = $1, accepted_by = $2 \
         WHERE id = $3 AND accepted_at IS NULL AND expires_at > $4 RETURNING workspace_id, role",
    )
    .bind(micros(now))
    .bind(user.to_string())
    .bind(id.to_string())
    .bind(micros(now))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = claimed else {
        return Ok(false);
    };
    let workspace: WorkspaceId = parsed(&row, "workspace_id")?;
    let role: Role = parsed(&row, "role")?;
    insert_member(conn, workspace, user, role, now).await?;
    Ok(true)
}

pub(super) async fn insert_workspace(
    conn: &mut Conn,
    workspace: &NewWorkspace,
    owner: UserId,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO workspaces (id, name, plan, created_at) VALUES ($1, $2, $3, $4)")
        .bind(workspace.id.to_string())
        .bind(&workspace.name)
        .bind(workspace.plan.as_str())
        .bind(micros(workspace.created_at))
        .execute(&mut *conn)
        .await?;
    insert_member(conn, workspace.id, owner, Role::Owner, workspace.created_at).await
}

pub(super) async fn insert_member(
    conn: &mut Conn,
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (workspace_id, user_id) DO NOTHING",
    )
    .bind(workspace.to_string())
    .bind(user.to_string())
    .bind(role.as_str())
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl PeopleStore for SqlStore<Db> {
    async fn create_user_with_workspace(
        &self,
        user: &NewUser,
        workspace: &NewWorkspace,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_user(&mut tx, user).await?;
        insert_workspace(&mut tx, workspace, user.id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let query = sqlx::query("SELECT * FROM users WHERE email = $1").bind(email);
        read_optional(&self.pool, query, user_from_row).await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let query = sqlx::query("SELECT * FROM users WHERE id = $1").bind(id.to_string());
        read_optional(&self.pool, query, user_from_row).await
    }

    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRecord>> {
        let query = sqlx::query("SELECT * FROM workspaces WHERE id = $1").bind(id.to_string());
        read_optional(&self.pool, query, workspace_from_row).await
    }

    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query("UPDATE workspaces SET plan = $1 WHERE id = $2")
                .bind(plan.as_str())
                .bind(id.to_string()),
        )
        .await
    }

    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<(UserId, String, Role)>> {
        let query = sqlx::query(
            "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = $1 ORDER BY m.created_at, u.id",
        )
        .bind(workspace.to_string());
        read_all(&self.pool, query, |row| {
            Ok((
                parsed(row, "id")?,
                row.try_get("email")?,
                parsed(row, "role")?,
            ))
        })
        .await
    }

    async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<(WorkspaceRecord, Role)>> {
        let query = sqlx::query(
            "SELECT w.*, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = $1 ORDER BY m.created_at, w.id",
        )
        .bind(user.to_string());
        read_all(&self.pool, query, |row| {
            Ok((workspace_from_row(row)?, parsed(row, "role")?))
        })
        .await
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, workspace_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_hash)
        .bind(session.user_id.to_string())
        .bind(session.workspace_id.to_string())
        .bind(micros(session.created_at))
        .bind(micros(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn caller_by_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<CallerRecord>> {
        let query = sqlx::query(
            "SELECT s.user_id, u.email, s.workspace_id, m.role FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(id_hash)
        .bind(micros(now));
        read_optional(&self.pool, query, caller_from_row).await
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, workspace_id, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id.to_string())
        .bind(&token.token_hash)
        .bind(token.user_id.to_string())
        .bind(token.workspace_id.to_string())
        .bind(&token.name)
        .bind(micros(token.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn caller_by_api_token(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<(CallerRecord, TokenUse)>> {
        let query = sqlx::query(
            "SELECT t.id, t.last_used_at, t.user_id, u.email, t.workspace_id, m.role FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             JOIN memberships m ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id \
             WHERE t.token_hash = $1",
        )
        .bind(token_hash);
        read_optional(&self.pool, query, |row| {
            Ok((
                caller_from_row(row)?,
                TokenUse {
                    id: parsed(row, "id")?,
                    last_used_at: opt_from_micros(row.try_get("last_used_at")?),
                },
            ))
        })
        .await
    }

    async fn touch_api_token(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(micros(now))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn count_login_attempt(
        &self,
        key: &str,
        window_start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<u32> {
        // The SET expressions read the row as it was before this update.
        let count: i32 = sqlx::query_scalar(
            "INSERT INTO login_attempts (key, window_start, attempts) VALUES ($1, $3, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_attempts.window_start < $2 THEN 1 ELSE login_attempts.attempts + 1 END, \
             window_start = CASE WHEN login_attempts.window_start < $2 THEN $3 ELSE login_attempts.window_start END \
             RETURNING attempts",
        )
        .bind(key)
        .bind(micros(window_start))
        .bind(micros(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    async fn forget_login_attempt(&self, key: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE login_attempts SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_login_attempts(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_login_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE window_start < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, workspace_id, role, email, invited_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invitation.id.to_string())
        .bind(&invitation.token_hash)
        .bind(invitation.workspace_id.to_string())
        .bind(invitation.role.as_str())
        .bind(&invitation.email)
        .bind(invitation.invited_by.to_string())
        .bind(micros(invitation.created_at))
        .bind(micros(invitation.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn invitation_by_hash(&self, token_hash: &str) -> StoreResult<Option<InvitationRecord>> {
        let query = sqlx::query("SELECT * FROM invitations WHERE token_hash = $1").bind(token_hash);
        read_optional(&self.pool, query, |row| {
            Ok(InvitationRecord {
                id: parsed(row, "id")?,
                token_hash: row.try_get("token_hash")?,
                workspace_id: parsed(row, "workspace_id")?,
                role: parsed(row, "role")?,
                email: row.try_get("email")?,
                invited_by: parsed(row, "invited_by")?,
                created_at: from_micros(row.try_get("created_at")?),
                expires_at: from_micros(row.try_get("expires_at")?),
                accepted_at: opt_from_micros(row.try_get("accepted_at")?),
            })
        })
        .await
    }

    async fn accept_invitation(
        &self,
        id: uuid::Uuid,
        user: UserId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        if !claim_invitation(&mut tx, id, user, now).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn create_user_with_invitation(
        &self,
        user: &NewUser,
        own_workspace: Option<&NewWorkspace>,
        invitation: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // The user first: the invitation names who accepted it. A refused claim drops the transaction,
        // and the user with it.
        insert_user(&mut tx, user).await?;
        if let Some(workspace) = own_workspace {
            insert_workspace(&mut tx, workspace, user.id).await?;
        }
        if !claim_invitation(&mut tx, invitation, user.id, now).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}
