use super::SqliteStore;
use crate::list_query::list_query;
use crate::rows::*;
use crate::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use iquivity_domain::{Account, AccountId, Labels, Plan, Platform, Role, UserId, WorkspaceId};
use sqlx::{Row, SqliteConnection};

fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Records how an attempt ended: by its lease holder, or (with no owner) for a target left abandoned.
async fn settle_target(
    pool: &sqlx::SqlitePool,
    id: uuid::Uuid,
    owner: Option<&str>,
    outcome: &TargetOutcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let (state, post_id, url, class, message, run_at, published_at) = match outcome {
        TargetOutcome::Published {
            platform_post_id,
            url,
        } => (
            TargetState::Published,
            Some(platform_post_id.clone()),
            url.clone(),
            None,
            None,
            None,
            Some(now),
        ),
        TargetOutcome::Failed { class, message } => (
            TargetState::Failed,
            None,
            None,
            Some(class.clone()),
            Some(message.clone()),
            None,
            None,
        ),
        TargetOutcome::Retry { at, message } => (
            TargetState::Scheduled,
            None,
            None,
            None,
            Some(message.clone()),
            Some(*at),
            None,
        ),
    };
    // The lease holder settles its own attempt; with no owner, only an attempt whose lease ran out.
    let holder = match owner {
        Some(_) => "lease_owner = ?",
        None => "lease_until <= ?",
    };
    let sql = format!(
        "UPDATE post_targets SET state = ?, platform_post_id = COALESCE(?, platform_post_id), url = COALESCE(?, url), \
         error_class = ?, error_message = ?, run_at = COALESCE(?, run_at), published_at = COALESCE(?, published_at), \
         lease_owner = NULL, lease_until = NULL, sending_at = NULL, updated_at = ? \
         WHERE id = ? AND state = 'publishing' AND {holder}"
    );
    let done = sqlx::query(&sql)
        .bind(state.as_str())
        .bind(post_id)
        .bind(url)
        .bind(class)
        .bind(message)
        .bind(run_at.map(micros))
        .bind(published_at.map(micros))
        .bind(micros(now))
        .bind(id.to_string());
    let done = match owner {
        Some(owner) => done.bind(owner),
        None => done.bind(micros(now)),
    }
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn insert_event(conn: &mut SqliteConnection, event: &AuditEventRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, workspace_id, account_id, actor_id, kind, details, at) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(event.id.to_string())
    .bind(event.workspace_id.to_string())
    .bind(event.account_id.map(|a| a.to_string()))
    .bind(event.actor_id.map(|a| a.to_string()))
    .bind(event.kind.as_str())
    .bind(event.details.to_string())
    .bind(micros(event.at))
    .execute(conn)
    .await?;
    Ok(())
}

async fn insert_user(conn: &mut SqliteConnection, user: &NewUser) -> StoreResult<()> {
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)")
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(micros(user.created_at))
        .execute(conn)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Duplicate("a user with this email")
            } else {
                e.into()
            }
        })?;
    Ok(())
}

/// Marks the invitation accepted by `user` and adds them as a member, once: false when it was already
/// used or has expired. Concurrent claims of one invitation wait on its row; one of them wins.
async fn claim_invitation(
    conn: &mut SqliteConnection,
    id: uuid::Uuid,
    user: UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let claimed = sqlx::query(
        "UPDATE invitations SET accepted_at = ?, accepted_by = ? \
         WHERE id = ? AND accepted_at IS NULL AND expires_at > ? RETURNING workspace_id, role",
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
    let workspace: WorkspaceId =
        parse_stored("workspace_id", &row.try_get::<String, _>("workspace_id")?)?;
    let role: Role = parse_stored("role", &row.try_get::<String, _>("role")?)?;
    insert_member(conn, workspace, user, role, now).await?;
    Ok(true)
}

async fn insert_workspace(
    conn: &mut SqliteConnection,
    workspace: &NewWorkspace,
    owner: UserId,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO workspaces (id, name, plan, created_at) VALUES (?, ?, ?, ?)")
        .bind(workspace.id.to_string())
        .bind(&workspace.name)
        .bind(workspace.plan.as_str())
        .bind(micros(workspace.created_at))
        .execute(&mut *conn)
        .await?;
    insert_member(conn, workspace.id, owner, Role::Owner, workspace.created_at).await
}

async fn insert_member(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    user: UserId,
    role: Role,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (workspace_id, user_id, role, created_at) VALUES (?, ?, ?, ?) \
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

async fn fetch_account(
    conn: &mut SqliteConnection,
    workspace: WorkspaceId,
    id: AccountId,
) -> StoreResult<Option<Account>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE workspace_id = ? AND id = ?"
    ))
    .bind(workspace.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

async fn put_credential(
    conn: &mut SqliteConnection,
    account: AccountId,
    credential: &StoredCredential,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO account_credentials (account_id, key_id, blob, updated_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (account_id) DO UPDATE SET key_id = excluded.key_id, blob = excluded.blob, \
         updated_at = excluded.updated_at",
    )
    .bind(account.to_string())
    .bind(&credential.key_id)
    .bind(&credential.blob)
    .bind(micros(at))
    .execute(conn)
    .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
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

    async fn create_user(&self, user: &NewUser) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, user).await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE email = ?")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn create_workspace(&self, workspace: &NewWorkspace, owner: UserId) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_workspace(&mut tx, workspace, owner).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn workspace(&self, id: WorkspaceId) -> StoreResult<Option<WorkspaceRecord>> {
        let row = sqlx::query("SELECT * FROM workspaces WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(workspace_from_row).transpose()
    }

    async fn set_plan(&self, id: WorkspaceId, plan: Plan) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE workspaces SET plan = ? WHERE id = ?")
            .bind(plan.as_str())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn add_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_member(&mut conn, workspace, user, role, Utc::now()).await
    }

    async fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Role>> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE workspace_id = ? AND user_id = ?",
        )
        .bind(workspace.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        role.map(|r| parse_stored("role", &r)).transpose()
    }

    async fn members(&self, workspace: WorkspaceId) -> StoreResult<Vec<(UserId, String, Role)>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.workspace_id = ? ORDER BY m.created_at, u.id",
        )
        .bind(workspace.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_stored("users.id", &row.try_get::<String, _>("id")?)?,
                    row.try_get("email")?,
                    parse_stored("role", &row.try_get::<String, _>("role")?)?,
                ))
            })
            .collect()
    }

    async fn memberships_of(&self, user: UserId) -> StoreResult<Vec<(WorkspaceRecord, Role)>> {
        let rows = sqlx::query(
            "SELECT w.*, m.role FROM memberships m JOIN workspaces w ON w.id = m.workspace_id \
             WHERE m.user_id = ? ORDER BY m.created_at, w.id",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    workspace_from_row(row)?,
                    parse_stored("role", &row.try_get::<String, _>("role")?)?,
                ))
            })
            .collect()
    }

    async fn create_session(&self, session: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, workspace_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
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
        let row = sqlx::query(
            "SELECT s.user_id, u.email, s.workspace_id, m.role FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             JOIN memberships m ON m.workspace_id = s.workspace_id AND m.user_id = s.user_id \
             WHERE s.id_hash = ? AND s.expires_at > ?",
        )
        .bind(id_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(caller_from_row).transpose()
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_api_token(&self, token: &ApiTokenRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, token_hash, user_id, workspace_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?)",
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
        let row = sqlx::query(
            "SELECT t.id, t.last_used_at, t.user_id, u.email, t.workspace_id, m.role FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             JOIN memberships m ON m.workspace_id = t.workspace_id AND m.user_id = t.user_id \
             WHERE t.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                caller_from_row(&row)?,
                TokenUse {
                    id: parse_stored("api_tokens.id", &row.try_get::<String, _>("id")?)?,
                    last_used_at: opt_from_micros(row.try_get("last_used_at")?),
                },
            ))
        })
        .transpose()
    }

    async fn touch_api_token(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
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
            "INSERT INTO login_attempts (key, window_start, attempts) VALUES (?1, ?3, 1) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_attempts.window_start < ?2 THEN 1 ELSE login_attempts.attempts + 1 END, \
             window_start = CASE WHEN login_attempts.window_start < ?2 THEN ?3 ELSE login_attempts.window_start END \
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
            "UPDATE login_attempts SET attempts = attempts - 1 WHERE key = ? AND attempts > 0",
        )
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn clear_login_attempts(&self, key: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM login_attempts WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn purge_login_attempts(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM login_attempts WHERE window_start < ?")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn create_invitation(&self, invitation: &InvitationRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, workspace_id, role, email, invited_by, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        let row = sqlx::query("SELECT * FROM invitations WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(InvitationRecord {
                id: parse_stored("invitations.id", &row.try_get::<String, _>("id")?)?,
                token_hash: row.try_get("token_hash")?,
                workspace_id: parse_stored(
                    "workspace_id",
                    &row.try_get::<String, _>("workspace_id")?,
                )?,
                role: parse_stored("role", &row.try_get::<String, _>("role")?)?,
                email: row.try_get("email")?,
                invited_by: parse_stored("invited_by", &row.try_get::<String, _>("invited_by")?)?,
                created_at: from_micros(row.try_get("created_at")?),
                expires_at: from_micros(row.try_get("expires_at")?),
                accepted_at: opt_from_micros(row.try_get("accepted_at")?),
            })
        })
        .transpose()
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

    async fn upsert_account(
        &self,
        up: &AccountUpsert,
        seal: Option<Sealer<'_>>,
    ) -> StoreResult<UpsertOutcome> {
        let mut tx = self.begin_write().await?;
        let workspace = up.workspace_id.to_string();
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM accounts WHERE workspace_id = ? AND platform = ? AND platform_account_id = ?",
        )
        .bind(&workspace)
        .bind(up.platform.as_str())
        .bind(&up.platform_account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let scopes =
            serde_json::to_string(&up.scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let now = micros(up.now);
        let (id, created) = match existing {
            Some(id) => {
                let id: AccountId = parse_stored("accounts.id", &id)?;
                // The override is the team's; keep it in the search text.
                let override_name: Option<String> =
                    sqlx::query_scalar("SELECT display_name_override FROM accounts WHERE id = ?")
                        .bind(id.to_string())
                        .fetch_one(&mut *tx)
                        .await?;
                let shown = override_name.as_deref().unwrap_or(&up.display_name);
                sqlx::query(
                    "UPDATE accounts SET kind = ?, platform_display_name = ?, sort_name = ?, search_text = ?, handle = ?, \
                     avatar_url = ?, scopes = ?, \
                     status_since = CASE WHEN status = ? THEN status_since ELSE ? END, \
                     status = ?, status_reason = ?, status_message = ?, \
                     token_expires_at = ?, last_refreshed_at = ?, last_checked_at = ?, sandbox = ? WHERE id = ?",
                )
                .bind(up.kind.as_str())
                .bind(&up.display_name)
                .bind(shown.to_lowercase())
                .bind(search_text(shown, up.handle.as_deref()))
                .bind(&up.handle)
                .bind(&up.avatar_url)
                .bind(&scopes)
                .bind(up.status.as_str())
                .bind(now)
                .bind(up.status.as_str())
                .bind(up.status_reason.map(|r| r.as_str()))
                .bind(&up.status_message)
                .bind(up.token_expires_at.map(micros))
                .bind(now)
                .bind(now)
                .bind(up.sandbox)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                (id, false)
            }
            None => {
                let plan: String = sqlx::query_scalar("SELECT plan FROM workspaces WHERE id = ?")
                    .bind(&workspace)
                    .fetch_one(&mut *tx)
                    .await?;
                let plan: Plan = parse_stored("plan", &plan)?;
                let (total, on_platform): (i64, i64) = sqlx::query_as(
                    "SELECT COALESCE(SUM(count), 0), COALESCE(SUM(CASE WHEN platform = ? THEN count END), 0) \
                     FROM account_counts WHERE workspace_id = ?",
                )
                .bind(up.platform.as_str())
                .bind(&workspace)
                .fetch_one(&mut *tx)
                .await?;
                plan.check_room(
                    up.platform,
                    u32::try_from(total).unwrap_or(u32::MAX),
                    u32::try_from(on_platform).unwrap_or(u32::MAX),
                )
                .map_err(StoreError::PlanLimit)?;
                let labels = serde_json::to_string(&up.labels)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO accounts (search_key, id, workspace_id, platform, kind, platform_account_id, \
                     platform_display_name, sort_name, search_text, handle, avatar_url, status, status_reason, \
                     status_message, status_since, scopes, labels, label_keys, created_at, connected_by, token_expires_at, \
                     last_refreshed_at, last_checked_at, sandbox) \
                     VALUES ((SELECT COALESCE(MAX(search_key), 0) + 1 FROM accounts), \
                     ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(up.id.to_string())
                .bind(&workspace)
                .bind(up.platform.as_str())
                .bind(up.kind.as_str())
                .bind(&up.platform_account_id)
                .bind(&up.display_name)
                .bind(up.display_name.to_lowercase())
                .bind(search_text(&up.display_name, up.handle.as_deref()))
                .bind(&up.handle)
                .bind(&up.avatar_url)
                .bind(up.status.as_str())
                .bind(up.status_reason.map(|r| r.as_str()))
                .bind(&up.status_message)
                .bind(now)
                .bind(&scopes)
                .bind(&labels)
                .bind(label_keys(&up.labels)?)
                .bind(now)
                .bind(up.connected_by.map(|u| u.to_string()))
                .bind(up.token_expires_at.map(micros))
                .bind(now)
                .bind(now)
                .bind(up.sandbox)
                .execute(&mut *tx)
                .await?;
                (up.id, true)
            }
        };
        if let Some(seal) = seal {
            let credential = seal(id).map_err(StoreError::Seal)?;
            put_credential(&mut tx, id, &credential, up.now).await?;
        }
        insert_event(
            &mut tx,
            &AuditEventRecord {
                id: uuid::Uuid::now_v7(),
                workspace_id: up.workspace_id,
                account_id: Some(id),
                actor_id: up.connected_by,
                kind: if created {
                    AuditKind::Connected
                } else {
                    AuditKind::Reconnected
                },
                details: serde_json::json!({
                    "platform": up.platform,
                    "platform_account_id": up.platform_account_id,
                    "scopes": up.scopes,
                }),
                at: up.now,
            },
        )
        .await?;
        let account = fetch_account(&mut tx, up.workspace_id, id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("account vanished inside its transaction".into()))?;
        tx.commit().await?;
        Ok(UpsertOutcome { account, created })
    }

    async fn account(&self, workspace: WorkspaceId, id: AccountId) -> StoreResult<Option<Account>> {
        let mut conn = self.pool.acquire().await?;
        fetch_account(&mut conn, workspace, id).await
    }

    async fn list_accounts(
        &self,
        workspace: WorkspaceId,
        query: &AccountQuery,
    ) -> StoreResult<Vec<Account>> {
        let workspace = workspace.to_string();
        let keys = self.search_keys(query).await?;
        let rows = list_query(&workspace, query, keys.as_deref())
            .build()
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn account_counts(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<PlatformStatusCount>> {
        let rows = sqlx::query(
            "SELECT platform, status, count FROM account_counts WHERE workspace_id = ? AND count > 0",
        )
        .bind(workspace.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PlatformStatusCount {
                    platform: parse_stored("platform", &row.try_get::<String, _>("platform")?)?,
                    status: parse_stored("status", &row.try_get::<String, _>("status")?)?,
                    count: u32::try_from(row.try_get::<i64, _>("count")?).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn update_account_profile(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        labels: Option<&Labels>,
        name_override: Option<Option<&str>>,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>> {
        let mut tx = self.begin_write().await?;
        let Some(current) = fetch_account(&mut tx, workspace, id).await? else {
            return Ok(None);
        };
        if let Some(labels) = labels {
            let json = serde_json::to_string(&labels.to_strings())
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query("UPDATE accounts SET labels = ?, label_keys = ? WHERE id = ?")
                .bind(json)
                .bind(label_keys(&labels.to_strings())?)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name_override) = name_override {
            let shown = name_override.unwrap_or(&current.platform_display_name);
            sqlx::query(
                "UPDATE accounts SET display_name_override = ?, sort_name = ?, search_text = ? WHERE id = ?",
            )
            .bind(name_override)
            .bind(shown.to_lowercase())
            .bind(search_text(shown, current.handle.as_deref()))
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        insert_event(&mut tx, event).await?;
        let updated = fetch_account(&mut tx, workspace, id).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn set_account_status(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        change: &StatusChange,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>> {
        let mut tx = self.begin_write().await?;
        let Some(current) = fetch_account(&mut tx, workspace, id).await? else {
            return Ok(None);
        };
        let changed = current.status != change.status || current.status_reason != change.reason;
        sqlx::query(
            "UPDATE accounts SET status = ?, status_reason = ?, status_message = ?, status_since = ? \
             WHERE workspace_id = ? AND id = ?",
        )
        .bind(change.status.as_str())
        .bind(change.reason.map(|r| r.as_str()))
        .bind(&change.message)
        .bind(micros(if changed { change.at } else { current.status_since }))
        .bind(workspace.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if changed {
            insert_event(&mut tx, event).await?;
        }
        let account = fetch_account(&mut tx, workspace, id).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn delete_account(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        event: &AuditEventRecord,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM account_credentials WHERE account_id = (SELECT id FROM accounts WHERE workspace_id = ? AND id = ?)")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM accounts WHERE workspace_id = ? AND id = ?")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn record_account_refresh(
        &self,
        workspace: WorkspaceId,
        id: AccountId,
        refresh: &AccountRefresh,
    ) -> StoreResult<Option<Account>> {
        let mut tx = self.begin_write().await?;
        let Some(current) = fetch_account(&mut tx, workspace, id).await? else {
            return Ok(None);
        };
        if let Some(credential) = &refresh.credential {
            put_credential(&mut tx, id, credential, refresh.now).await?;
        }
        let name = refresh
            .display_name
            .clone()
            .unwrap_or(current.platform_display_name.clone());
        let handle = refresh.handle.clone().unwrap_or(current.handle.clone());
        let shown = current
            .display_name_override
            .clone()
            .unwrap_or(name.clone());
        let scopes = match &refresh.scopes {
            Some(scopes) => {
                serde_json::to_string(scopes).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => serde_json::to_string(&current.scopes)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        };
        sqlx::query(
            "UPDATE accounts SET platform_display_name = ?, sort_name = ?, search_text = ?, handle = ?, \
             avatar_url = ?, scopes = ?, token_expires_at = ?, last_checked_at = ?, followers = COALESCE(?, followers), \
             last_refreshed_at = CASE WHEN ? THEN ? ELSE last_refreshed_at END WHERE id = ?",
        )
        .bind(&name)
        .bind(shown.to_lowercase())
        .bind(search_text(&shown, handle.as_deref()))
        .bind(&handle)
        .bind(refresh.avatar_url.clone().unwrap_or(current.avatar_url.clone()))
        .bind(scopes)
        .bind(refresh.token_expires_at.unwrap_or(current.token_expires_at).map(micros))
        .bind(micros(refresh.now))
        .bind(refresh.followers.and_then(|f| i64::try_from(f).ok()))
        .bind(refresh.refreshed)
        .bind(micros(refresh.now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if refresh.refreshed {
            insert_event(
                &mut tx,
                &AuditEventRecord {
                    id: uuid::Uuid::now_v7(),
                    workspace_id: workspace,
                    account_id: Some(id),
                    actor_id: None,
                    kind: AuditKind::Refreshed,
                    details: serde_json::json!({ "token_expires_at": refresh.token_expires_at.flatten() }),
                    at: refresh.now,
                },
            )
            .await?;
        }
        let account = fetch_account(&mut tx, workspace, id).await?;
        tx.commit().await?;
        Ok(account)
    }

    async fn account_by_platform_id(
        &self,
        workspace: WorkspaceId,
        platform: Platform,
        platform_account_id: &str,
    ) -> StoreResult<Option<Account>> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE workspace_id = ? AND platform = ? AND platform_account_id = ?"
        ))
        .bind(workspace.to_string())
        .bind(platform.as_str())
        .bind(platform_account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn create_flow(&self, flow: &FlowRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connection_flows (id, state_hash, workspace_id, user_id, session_hash, platform, \
             reconnect_account_id, verifier_key_id, verifier_blob, stage, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(flow.id.to_string())
        .bind(&flow.state_hash)
        .bind(flow.workspace_id.to_string())
        .bind(flow.user_id.to_string())
        .bind(&flow.session_hash)
        .bind(flow.platform.as_str())
        .bind(flow.reconnect_account_id.map(|a| a.to_string()))
        .bind(flow.verifier.as_ref().map(|v| v.key_id.clone()))
        .bind(flow.verifier.as_ref().map(|v| v.blob.clone()))
        .bind(flow.stage.as_str())
        .bind(micros(flow.created_at))
        .bind(micros(flow.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn flow_by_state(&self, state_hash: &str) -> StoreResult<Option<FlowRecord>> {
        let row = sqlx::query("SELECT * FROM connection_flows WHERE state_hash = ?")
            .bind(state_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    async fn flow(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<FlowRecord>> {
        let row = sqlx::query("SELECT * FROM connection_flows WHERE workspace_id = ? AND id = ?")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    async fn claim_flow_state(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE connection_flows SET state_used_at = ? WHERE id = ? AND state_used_at IS NULL AND expires_at > ?",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn advance_flow(&self, flow: &FlowRecord, from: FlowStage) -> StoreResult<bool> {
        let connected = serde_json::to_string(&flow.connected)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let done = sqlx::query(
            "UPDATE connection_flows SET stage = ?, candidates_key_id = ?, candidates_blob = ?, error = ?, \
             connected = ?, expires_at = ?, verifier_key_id = NULL, verifier_blob = NULL \
             WHERE id = ? AND stage = ?",
        )
        .bind(flow.stage.as_str())
        .bind(flow.candidates.as_ref().map(|c| c.key_id.clone()))
        .bind(flow.candidates.as_ref().map(|c| c.blob.clone()))
        .bind(&flow.error)
        .bind(connected)
        .bind(micros(flow.expires_at))
        .bind(flow.id.to_string())
        .bind(from.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn count_accounts(
        &self,
        workspace: WorkspaceId,
        platform: Option<Platform>,
    ) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(count), 0) FROM account_counts WHERE workspace_id = ? AND (?2 IS NULL OR platform = ?2)",
        )
        .bind(workspace.to_string())
        .bind(platform.map(|p| p.as_str()))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    async fn schedule_account(
        &self,
        id: AccountId,
        next_refresh_at: Option<Option<DateTime<Utc>>>,
        next_check_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET \
             next_refresh_at = CASE WHEN ?1 THEN ?2 ELSE next_refresh_at END, \
             next_check_at = COALESCE(?3, next_check_at) WHERE id = ?4",
        )
        .bind(next_refresh_at.is_some())
        .bind(next_refresh_at.flatten().map(micros))
        .bind(next_check_at.map(micros))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn enqueue_due_jobs(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<u32> {
        let mut tx = self.begin_write().await?;
        let mut queued = 0u32;
        for (kind, column) in [
            (JobKind::Refresh, "next_refresh_at"),
            (JobKind::HealthCheck, "next_check_at"),
        ] {
            let due = sqlx::query(&format!(
                "SELECT id, workspace_id, platform, {column} AS due FROM accounts \
                 WHERE {column} IS NOT NULL AND {column} <= ?1 \
                 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = ?2 AND j.account_id = accounts.id AND j.done_at IS NULL) \
                 ORDER BY {column} LIMIT ?3"
            ))
            .bind(micros(now))
            .bind(kind.as_str())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            for row in due {
                let done = sqlx::query(
                    "INSERT INTO jobs (id, kind, account_id, workspace_id, platform, run_at, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                )
                .bind(uuid::Uuid::now_v7().to_string())
                .bind(kind.as_str())
                .bind(row.try_get::<String, _>("id")?)
                .bind(row.try_get::<String, _>("workspace_id")?)
                .bind(row.try_get::<String, _>("platform")?)
                .bind(row.try_get::<i64, _>("due")?)
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
                queued += u32::try_from(done.rows_affected()).unwrap_or(0);
            }
        }
        tx.commit().await?;
        Ok(queued)
    }

    async fn enqueue_job(&self, job: &JobRecord) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO jobs (id, kind, account_id, workspace_id, platform, payload_key_id, payload_blob, run_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(job.kind.as_str())
        .bind(job.account_id.to_string())
        .bind(job.workspace_id.to_string())
        .bind(job.platform.as_str())
        .bind(job.payload.as_ref().map(|p| p.key_id.clone()))
        .bind(job.payload.as_ref().map(|p| p.blob.clone()))
        .bind(micros(job.run_at))
        .bind(micros(job.created_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<JobRecord>> {
        let rows = sqlx::query(
            "UPDATE jobs SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= ?3 \
                          AND (lease_until IS NULL OR lease_until <= ?3) ORDER BY run_at, id LIMIT ?4) \
             RETURNING *",
        )
        .bind(owner)
        .bind(micros(lease_until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING gives no order: hand them out oldest due first, in the order they were queued.
        let mut jobs = rows
            .iter()
            .map(job_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    async fn finish_job(
        &self,
        id: uuid::Uuid,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET done_at = ?, payload_key_id = NULL, payload_blob = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id = ? AND lease_owner = ? AND done_at IS NULL",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn retry_job(
        &self,
        id: uuid::Uuid,
        owner: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL \
             WHERE id = ? AND lease_owner = ? AND done_at IS NULL",
        )
        .bind(micros(run_at))
        .bind(error)
        .bind(id.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn jobs_for_account(&self, account: AccountId) -> StoreResult<Vec<JobRecord>> {
        let rows = sqlx::query("SELECT * FROM jobs WHERE account_id = ? ORDER BY created_at, id")
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    async fn take_refresh_lease(
        &self,
        account: AccountId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET refresh_lease_owner = ?, refresh_lease_until = ? WHERE id = ? \
             AND (refresh_lease_until IS NULL OR refresh_lease_until <= ? OR refresh_lease_owner = ?)",
        )
        .bind(owner)
        .bind(micros(until))
        .bind(account.to_string())
        .bind(micros(now))
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_refresh_lease(&self, account: AccountId, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = ? AND refresh_lease_owner = ?",
        )
        .bind(account.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn probe_write(
        &self,
        account: AccountId,
        owner: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE accounts SET refresh_lease_until = MAX(?, COALESCE(refresh_lease_until, 0) + 1) \
             WHERE id = ? AND refresh_lease_owner = ?",
        )
        .bind(micros(until))
        .bind(account.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_failure(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<FailureRun> {
        let row = sqlx::query(
            "UPDATE accounts SET failure_count = failure_count + 1, failing_since = COALESCE(failing_since, ?) \
             WHERE id = ? RETURNING failure_count, failing_since",
        )
        .bind(micros(now))
        .bind(account.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(FailureRun {
            count: u32::try_from(row.try_get::<i64, _>("failure_count")?).unwrap_or(u32::MAX),
            since: from_micros(row.try_get("failing_since")?),
        })
    }

    async fn clear_failures(&self, account: AccountId) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET failure_count = 0, failing_since = NULL WHERE id = ?")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_alert(&self, alert: &AlertRecord) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, workspace_id, account_id, kind, dedupe_key, payload, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(alert.id.to_string())
        .bind(alert.workspace_id.to_string())
        .bind(alert.account_id.map(|a| a.to_string()))
        .bind(alert.kind.as_str())
        .bind(&alert.dedupe_key)
        .bind(alert.payload.to_string())
        .bind(micros(alert.created_at))
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            return Ok(false);
        }
        let hooks: Vec<String> =
            sqlx::query_scalar("SELECT id FROM webhooks WHERE workspace_id = ?")
                .bind(alert.workspace_id.to_string())
                .fetch_all(&mut *tx)
                .await?;
        for hook in hooks {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, alert_id, state, run_at, created_at) \
                 VALUES (?, ?, ?, 'pending', ?, ?)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(hook)
            .bind(alert.id.to_string())
            .bind(micros(alert.created_at))
            .bind(micros(alert.created_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn alerts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<AlertRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM alerts WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    async fn mark_alerts_read(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE alerts SET read_at = ? WHERE workspace_id = ? AND read_at IS NULL")
            .bind(micros(now))
            .bind(workspace.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, workspace_id, url, secret_key_id, secret_blob, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(webhook.id.to_string())
        .bind(webhook.workspace_id.to_string())
        .bind(&webhook.url)
        .bind(&webhook.secret.key_id)
        .bind(&webhook.secret.blob)
        .bind(micros(webhook.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhooks(&self, workspace: WorkspaceId) -> StoreResult<Vec<WebhookRecord>> {
        let rows =
            sqlx::query("SELECT * FROM webhooks WHERE workspace_id = ? ORDER BY created_at, id")
                .bind(workspace.to_string())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| webhook_from_row(r, "")).collect()
    }

    async fn delete_webhook(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE workspace_id = ? AND id = ?")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        webhook: uuid::Uuid,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let rows = sqlx::query(
            "SELECT d.* FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE w.workspace_id = ? AND d.webhook_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?",
        )
        .bind(workspace.to_string())
        .bind(webhook.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn claim_deliveries(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(DeliveryRecord, WebhookRecord, AlertRecord)>> {
        let claimed: Vec<String> = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET lease_owner = ?1, lease_until = ?2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND run_at <= ?3 \
                          AND (lease_until IS NULL OR lease_until <= ?3) ORDER BY run_at, id LIMIT ?4) RETURNING id",
        )
        .bind(owner)
        .bind(micros(lease_until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(claimed.len());
        for id in claimed {
            let row = sqlx::query(
                "SELECT d.*, w.id AS w_id, w.workspace_id AS w_workspace_id, w.url AS w_url, \
                 w.secret_key_id AS w_secret_key_id, w.secret_blob AS w_secret_blob, w.created_at AS w_created_at \
                 FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?",
            )
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
            let delivery = delivery_from_row(&row)?;
            let webhook = webhook_from_row(&row, "w_")?;
            let alert = sqlx::query("SELECT * FROM alerts WHERE id = ?")
                .bind(delivery.alert_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            out.push((delivery, webhook, alert_from_row(&alert)?));
        }
        Ok(out)
    }

    async fn record_delivery_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        attempt: &DeliveryAttempt,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = ?, last_status = ?, failure_class = ?, run_at = ?, \
             delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END, lease_owner = NULL, lease_until = NULL \
             WHERE id = ? AND lease_owner = ?",
        )
        .bind(attempt.state.as_str())
        .bind(attempt.status.map(i64::from))
        .bind(attempt.failure.map(FailureClass::as_str))
        .bind(micros(attempt.next_attempt_at))
        .bind(attempt.state.as_str())
        .bind(micros(attempt.now))
        .bind(id.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn accounts_expiring_unrenewable(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Account>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE token_expires_at IS NOT NULL AND token_expires_at < ? \
             AND next_refresh_at IS NULL AND status = 'active' LIMIT ?"
        ))
        .bind(micros(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from_row).collect()
    }

    async fn workspace_events(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_id = ? ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn metrics(&self, now: DateTime<Utc>) -> StoreResult<StoreMetrics> {
        let rows = sqlx::query("SELECT platform, status, SUM(count) AS count FROM account_counts GROUP BY platform, status")
            .fetch_all(&self.pool)
            .await?;
        let accounts = rows
            .iter()
            .map(|row| {
                Ok(PlatformStatusCount {
                    platform: parse_stored("platform", &row.try_get::<String, _>("platform")?)?,
                    status: parse_stored("status", &row.try_get::<String, _>("status")?)?,
                    count: u32::try_from(row.try_get::<i64, _>("count")?).unwrap_or(0),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS open, MIN(CASE WHEN run_at <= ?1 THEN run_at END) AS oldest_due \
             FROM jobs WHERE done_at IS NULL GROUP BY kind",
        )
        .bind(micros(now))
        .fetch_all(&self.pool)
        .await?;
        let mut jobs = Vec::new();
        for row in rows {
            let kind: String = row.try_get("kind")?;
            let oldest: Option<i64> = row.try_get("oldest_due")?;
            let age = oldest.map_or(0.0, |at| {
                (now - from_micros(at)).num_milliseconds().max(0) as f64 / 1000.0
            });
            if let Some(kind) = JobKind::parse(&kind) {
                jobs.push((
                    kind,
                    u64::try_from(row.try_get::<i64, _>("open")?).unwrap_or(0),
                    age,
                ));
            }
        }
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
                .fetch_one(&self.pool)
                .await?;
        Ok(StoreMetrics {
            accounts,
            jobs,
            pending_deliveries: u64::try_from(pending).unwrap_or(0),
        })
    }

    async fn create_post(&self, post: &PostRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let media =
            serde_json::to_string(&post.media).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO posts (id, workspace_id, author_id, text, link, media, privacy_level, publish_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(post.id.to_string())
        .bind(post.workspace_id.to_string())
        .bind(post.author_id.map(|a| a.to_string()))
        .bind(&post.text)
        .bind(&post.link)
        .bind(media)
        .bind(&post.privacy_level)
        .bind(micros(post.publish_at))
        .bind(micros(post.created_at))
        .execute(&mut *tx)
        .await?;
        for target in &post.targets {
            sqlx::query(
                "INSERT INTO post_targets (id, post_id, workspace_id, account_id, platform, state, run_at, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(target.id.to_string())
            .bind(post.id.to_string())
            .bind(post.workspace_id.to_string())
            .bind(target.account_id.to_string())
            .bind(target.platform.as_str())
            .bind(target.state.as_str())
            .bind(micros(target.run_at))
            .bind(micros(post.created_at))
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Duplicate("a target for this account in this post")
                } else {
                    e.into()
                }
            })?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn posts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<PostRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM posts WHERE workspace_id = ? ORDER BY created_at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut posts = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id")?;
            let targets = self.targets_of(&id).await?;
            posts.push(post_from_row(&row, targets)?);
        }
        Ok(posts)
    }

    async fn post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<PostRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM posts WHERE workspace_id = ? AND id = ?")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let targets = self.targets_of(&id.to_string()).await?;
        post_from_row(&row, targets).map(Some)
    }

    async fn cancel_post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let done = sqlx::query(
            "UPDATE post_targets SET state = 'cancelled', updated_at = ? \
             WHERE post_id = ? AND workspace_id = ? AND state = 'scheduled'",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(workspace.to_string())
        .execute(&self.pool)
        .await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(0))
    }

    async fn claim_due_targets(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let rows = sqlx::query(
            "UPDATE post_targets SET state = 'publishing', lease_owner = ?1, lease_until = ?2, \
             sending_at = NULL, updated_at = ?3 \
             WHERE id IN (SELECT id FROM post_targets t WHERE state = 'scheduled' AND run_at <= ?3 \
                          AND NOT EXISTS (SELECT 1 FROM post_targets p WHERE p.account_id = t.account_id \
                                          AND p.state = 'publishing') \
                          ORDER BY run_at, id LIMIT ?4) \
             RETURNING *",
        )
        .bind(owner)
        .bind(micros(lease_until))
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        // RETURNING gives no order: oldest due first, then in the order they were made.
        let mut claimed = self.with_posts(rows).await?;
        claimed.sort_by_key(|(target, _)| (target.run_at, target.id));
        Ok(claimed)
    }

    async fn finish_target(
        &self,
        id: uuid::Uuid,
        owner: &str,
        outcome: &TargetOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = settle_target(&self.pool, id, Some(owner), outcome, now).await?;
        Ok(done)
    }

    async fn start_sending_target(
        &self,
        id: uuid::Uuid,
        owner: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE post_targets SET sending_at = ?1, attempts = attempts + 1, updated_at = ?1 \
             WHERE id = ?2 AND state = 'publishing' AND lease_owner = ?3 AND lease_until > ?1 \
             AND sending_at IS NULL",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_unsent_targets(&self, now: DateTime<Utc>) -> StoreResult<u32> {
        let done = sqlx::query(
            "UPDATE post_targets SET state = 'scheduled', lease_owner = NULL, lease_until = NULL, updated_at = ?1 \
             WHERE state = 'publishing' AND sending_at IS NULL AND lease_until <= ?1",
        )
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(u32::MAX))
    }

    async fn abandoned_targets(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let rows = sqlx::query(
            "SELECT * FROM post_targets WHERE state = 'publishing' AND sending_at IS NOT NULL AND lease_until <= ? \
             ORDER BY lease_until LIMIT ?",
        )
        .bind(micros(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        self.with_posts(rows).await
    }

    async fn settle_abandoned_target(
        &self,
        id: uuid::Uuid,
        outcome: &TargetOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        settle_target(&self.pool, id, None, outcome, now).await
    }

    async fn retry_target(
        &self,
        workspace: WorkspaceId,
        post: uuid::Uuid,
        target: uuid::Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE post_targets SET state = 'scheduled', run_at = ?, error_class = NULL, error_message = NULL, updated_at = ? \
             WHERE id = ? AND post_id = ? AND workspace_id = ? AND state = 'failed'",
        )
        .bind(micros(now))
        .bind(micros(now))
        .bind(target.to_string())
        .bind(post.to_string())
        .bind(workspace.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn scheduled_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let rows = sqlx::query(
            "SELECT * FROM post_targets WHERE workspace_id = ? AND account_id = ? AND state = 'scheduled' ORDER BY run_at",
        )
        .bind(workspace.to_string())
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        self.with_posts(rows).await
    }

    async fn cancel_targets_for_account(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<u32> {
        let done = sqlx::query(
            "UPDATE post_targets SET state = 'cancelled', error_message = 'the account was removed', updated_at = ? \
             WHERE account_id = ? AND state = 'scheduled'",
        )
        .bind(micros(now))
        .bind(account.to_string())
        .execute(&self.pool)
        .await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(0))
    }

    async fn accounts_with_posts_at_risk(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(Account, u32)>> {
        let columns = ACCOUNT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT {columns}, COUNT(t.id) AS at_risk FROM accounts a JOIN post_targets t ON t.account_id = a.id \
             WHERE a.status <> 'active' AND t.state = 'scheduled' AND t.run_at < ? GROUP BY a.id LIMIT ?"
        ))
        .bind(micros(before))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    account_from_row(row)?,
                    u32::try_from(row.try_get::<i64, _>("at_risk")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    async fn post_counts(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(AccountId, u32, u32)>> {
        let rows = sqlx::query(
            "SELECT account_id, SUM(state = 'scheduled') AS scheduled, \
             SUM(state = 'published' AND published_at >= ?) AS published \
             FROM post_targets WHERE workspace_id = ? GROUP BY account_id",
        )
        .bind(micros(since))
        .bind(workspace.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_stored("account_id", &row.try_get::<String, _>("account_id")?)?,
                    u32::try_from(row.try_get::<i64, _>("scheduled")?).unwrap_or(0),
                    u32::try_from(row.try_get::<i64, _>("published")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    async fn update_scheduled_post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        rewrite: &PostRewrite<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let started: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM post_targets WHERE post_id = ? AND workspace_id = ? AND state IN ('publishing', 'published')",
        )
        .bind(id.to_string())
        .bind(workspace.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if started > 0 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE posts SET text = ?, link = ?, publish_at = ? WHERE id = ? AND workspace_id = ?",
        )
        .bind(rewrite.text)
        .bind(rewrite.link)
        .bind(micros(rewrite.publish_at))
        .bind(id.to_string())
        .bind(workspace.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(targets) = rewrite.targets {
            let existing: Vec<(String, String)> =
                sqlx::query_as("SELECT id, account_id FROM post_targets WHERE post_id = ?")
                    .bind(id.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
            let wanted: std::collections::HashSet<String> =
                targets.iter().map(|t| t.account_id.to_string()).collect();
            for (target, account) in &existing {
                if !wanted.contains(account) {
                    sqlx::query("DELETE FROM post_targets WHERE id = ?")
                        .bind(target)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let kept: std::collections::HashSet<&str> = existing
                .iter()
                .map(|(_, account)| account.as_str())
                .collect();
            for target in targets {
                if kept.contains(target.account_id.to_string().as_str()) {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO post_targets (id, post_id, workspace_id, account_id, platform, state, run_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?)",
                )
                .bind(target.id.to_string())
                .bind(id.to_string())
                .bind(workspace.to_string())
                .bind(target.account_id.to_string())
                .bind(target.platform.as_str())
                .bind(micros(rewrite.publish_at))
                .bind(micros(now))
                .execute(&mut *tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        StoreError::Duplicate("a target for this account in this post")
                    } else {
                        e.into()
                    }
                })?;
            }
        }
        sqlx::query(
            "UPDATE post_targets SET run_at = ?, updated_at = ? WHERE post_id = ? AND state = 'scheduled'",
        )
        .bind(micros(rewrite.publish_at))
        .bind(micros(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn published_since(&self, account: AccountId, since: DateTime<Utc>) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM post_targets WHERE account_id = ? AND state = 'published' AND published_at >= ?",
        )
        .bind(account.to_string())
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn mark_account_used(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET last_used_at = ? WHERE id = ?")
            .bind(micros(now))
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn credential(&self, account: AccountId) -> StoreResult<Option<StoredCredential>> {
        let row = sqlx::query("SELECT key_id, blob FROM account_credentials WHERE account_id = ?")
            .bind(account.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(StoredCredential {
                key_id: row.try_get("key_id")?,
                blob: row.try_get("blob")?,
            })
        })
        .transpose()
    }

    async fn credentials_not_under_key(
        &self,
        key_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, StoredCredential)>> {
        let rows = sqlx::query(
            "SELECT account_id, key_id, blob FROM account_credentials WHERE key_id <> ? LIMIT ?",
        )
        .bind(key_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parse_stored("account_id", &row.try_get::<String, _>("account_id")?)?,
                    StoredCredential {
                        key_id: row.try_get("key_id")?,
                        blob: row.try_get("blob")?,
                    },
                ))
            })
            .collect()
    }

    async fn replace_credential_if_unchanged(
        &self,
        account: AccountId,
        expected: &StoredCredential,
        replacement: &StoredCredential,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE account_credentials SET key_id = ?, blob = ?, updated_at = ? \
             WHERE account_id = ? AND key_id = ? AND blob = ?",
        )
        .bind(&replacement.key_id)
        .bind(&replacement.blob)
        .bind(micros(Utc::now()))
        .bind(account.to_string())
        .bind(&expected.key_id)
        .bind(&expected.blob)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn credential_key_ids(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT key_id FROM account_credentials ORDER BY key_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn checkpoint(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn append_event(&self, event: &AuditEventRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_event(&mut conn, event).await
    }

    async fn events_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_id = ? AND account_id = ? ORDER BY at DESC, id DESC LIMIT ?",
        )
        .bind(workspace.to_string())
        .bind(account.to_string())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
