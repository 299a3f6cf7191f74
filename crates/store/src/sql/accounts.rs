//! The SQL behind [`crate::AccountStore`], compiled once per backend (see [`crate::sql`]).

use super::credentials::put_credential;
use super::*;

pub(super) async fn insert_event(conn: &mut Conn, event: &AuditEventRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (id, workspace_id, account_id, actor_id, kind, details, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
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

pub(super) async fn fetch_account(
    conn: &mut Conn,
    workspace: WorkspaceId,
    id: AccountId,
) -> StoreResult<Option<Account>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE workspace_id = $1 AND id = $2"
    ))
    .bind(workspace.to_string())
    .bind(id.to_string())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(account_from_row).transpose()
}

impl SqlStore<Db> {
    /// For a plain text search, the accounts (in every workspace) whose text contains it, from the trigram
    /// index, when they are few enough to fetch one by one; `None` means: scan in sort order instead, which
    /// for a common text stops after a page's worth.
    async fn search_keys(&self, query: &AccountQuery) -> StoreResult<Option<Vec<i64>>> {
        let Some(text) = search_probe(query) else {
            return Ok(None);
        };
        let keys: Vec<i64> = sqlx::query_scalar(Db::SEARCH_KEYS)
            .bind(Db::search_keys_match(text))
            .bind(SEARCH_PROBE_FEW + 1)
            .fetch_all(&self.pool)
            .await?;
        Ok((keys.len() as i64 <= SEARCH_PROBE_FEW).then_some(keys))
    }
}

#[async_trait]
impl AccountStore for SqlStore<Db> {
    async fn upsert_account(
        &self,
        up: &AccountUpsert,
        seal: Option<Sealer<'_>>,
    ) -> StoreResult<UpsertOutcome> {
        let mut tx = self.begin_write().await?;
        let workspace = up.workspace_id.to_string();
        // One connection at a time per workspace (SQLite's write lock gives that by itself): two arrivals of
        // one platform account then find each other (one creates, the other reconnects), and two new ones
        // cannot both pass the plan's limit.
        let lock = format!(
            "SELECT plan FROM workspaces WHERE id = $1{}",
            Db::LOCK_WORKSPACE
        );
        let plan: String = sqlx::query_scalar(&lock)
            .bind(&workspace)
            .fetch_one(&mut *tx)
            .await?;
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT id FROM accounts WHERE workspace_id = $1 AND platform = $2 AND platform_account_id = $3",
        )
        .bind(&workspace)
        .bind(up.platform.as_str())
        .bind(&up.platform_account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let scopes = to_json(&up.scopes)?;
        let now = micros(up.now);
        let (id, previous_status) = match existing {
            Some(id) => {
                let id: AccountId = parse_stored("accounts.id", &id)?;
                // The override and the labels are the team's; keep them in the search text. The status
                // before tells whether this reconnect is a recovery.
                let team_side = sqlx::query(
                    "SELECT display_name_override, labels, status FROM accounts WHERE id = $1",
                )
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let override_name: Option<String> = team_side.try_get("display_name_override")?;
                let labels_json: String = team_side.try_get("labels")?;
                let status: String = team_side.try_get("status")?;
                let previous: iquivity_domain::AccountStatus =
                    parse_stored("accounts.status", &status)?;
                let labels: Vec<String> = serde_json::from_str(&labels_json)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let shown = override_name.as_deref().unwrap_or(&up.display_name);
                sqlx::query(
                    "UPDATE accounts SET kind = $1, platform_display_name = $2, sort_name = $3, search_text = $4, handle = $5, \
                     avatar_url = $6, scopes = $7, \
                     status_since = CASE WHEN status = $8 THEN status_since ELSE $9 END, \
                     status = $10, status_reason = $11, status_message = $12, \
                     token_expires_at = $13, last_refreshed_at = $14, last_checked_at = $15, sandbox = $16 WHERE id = $17",
                )
                .bind(up.kind.as_str())
                .bind(&up.display_name)
                .bind(shown.to_lowercase())
                .bind(search_text(shown, up.handle.as_deref(), &labels))
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
                (id, Some(previous))
            }
            None => {
                let plan: Plan = parse_stored("plan", &plan)?;
                let (total, on_platform): (i64, i64) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT), CAST(COALESCE(SUM(CASE WHEN platform = $1 THEN count END), 0) AS BIGINT) \
                     FROM account_counts WHERE workspace_id = $2",
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
                let labels = to_json(&up.labels)?;
                let (key_column, key) = match Db::NEXT_SEARCH_KEY {
                    Some(key) => ("search_key, ", format!("{key}, ")),
                    None => ("", String::new()),
                };
                sqlx::query(&format!(
                    "INSERT INTO accounts ({key_column}id, workspace_id, platform, kind, platform_account_id, \
                     platform_display_name, sort_name, search_text, handle, avatar_url, status, status_reason, \
                     status_message, status_since, scopes, labels, label_keys, created_at, connected_by, token_expires_at, \
                     last_refreshed_at, last_checked_at, sandbox) \
                     VALUES ({key}$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
                ))
                .bind(up.id.to_string())
                .bind(&workspace)
                .bind(up.platform.as_str())
                .bind(up.kind.as_str())
                .bind(&up.platform_account_id)
                .bind(&up.display_name)
                .bind(up.display_name.to_lowercase())
                .bind(search_text(&up.display_name, up.handle.as_deref(), &up.labels))
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
                (up.id, None)
            }
        };
        let created = previous_status.is_none();
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
        Ok(UpsertOutcome {
            account,
            created,
            previous_status,
        })
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
        let mut list = list_query(&workspace, query, keys.as_deref());
        read_all(&self.pool, list.build(), account_from_row).await
    }

    async fn account_counts(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<PlatformStatusCount>> {
        let query = sqlx::query(
            "SELECT platform, status, count FROM account_counts WHERE workspace_id = $1 AND count > 0",
        )
        .bind(workspace.to_string());
        read_all(&self.pool, query, count_from_row).await
    }

    async fn put_avatar(&self, avatar: &AvatarRecord) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // Only an account of that workspace that still exists: a picture fetched while it was removed
        // is dropped.
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1 AND workspace_id = $2")
                .bind(avatar.account_id.to_string())
                .bind(avatar.workspace_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Ok(false);
        }
        sqlx::query("DELETE FROM account_avatars WHERE account_id = $1")
            .bind(avatar.account_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO account_avatars (account_id, workspace_id, content_type, bytes, source_url, fetched_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(avatar.account_id.to_string())
        .bind(avatar.workspace_id.to_string())
        .bind(&avatar.content_type)
        .bind(&avatar.bytes)
        .bind(&avatar.source_url)
        .bind(micros(avatar.fetched_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn avatar(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> StoreResult<Option<AvatarRecord>> {
        let query = sqlx::query(
            "SELECT * FROM account_avatars WHERE account_id = $1 AND workspace_id = $2",
        )
        .bind(account.to_string())
        .bind(workspace.to_string());
        read_optional(&self.pool, query, |row| -> StoreResult<AvatarRecord> {
            Ok(AvatarRecord {
                account_id: account,
                workspace_id: workspace,
                content_type: row.try_get("content_type")?,
                bytes: row.try_get("bytes")?,
                source_url: row.try_get("source_url")?,
                fetched_at: from_micros(row.try_get("fetched_at")?),
            })
        })
        .await
    }

    async fn labels_in_use(&self, workspace: WorkspaceId) -> StoreResult<Vec<String>> {
        let sets: Vec<String> =
            sqlx::query_scalar("SELECT DISTINCT labels FROM accounts WHERE workspace_id = $1")
                .bind(workspace.to_string())
                .fetch_all(&self.pool)
                .await?;
        let mut by_key = std::collections::BTreeMap::new();
        for set in sets {
            let labels: Vec<String> =
                serde_json::from_str(&set).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            for label in labels {
                by_key.entry(label.to_lowercase()).or_insert(label);
            }
        }
        Ok(by_key.into_values().collect())
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
            let json = to_json(&labels.to_strings())?;
            sqlx::query("UPDATE accounts SET labels = $1, label_keys = $2 WHERE id = $3")
                .bind(json)
                .bind(label_keys(&labels.to_strings())?)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name_override) = name_override {
            let shown = name_override.unwrap_or(&current.platform_display_name);
            sqlx::query(
                "UPDATE accounts SET display_name_override = $1, sort_name = $2 WHERE id = $3",
            )
            .bind(name_override)
            .bind(shown.to_lowercase())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        if labels.is_some() || name_override.is_some() {
            let shown = match name_override {
                Some(name_override) => name_override.unwrap_or(&current.platform_display_name),
                None => &current.display_name,
            };
            let labels = labels.map_or_else(|| current.labels.to_strings(), Labels::to_strings);
            sqlx::query("UPDATE accounts SET search_text = $1 WHERE id = $2")
                .bind(search_text(shown, current.handle.as_deref(), &labels))
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
            "UPDATE accounts SET status = $1, status_reason = $2, status_message = $3, status_since = $4 \
             WHERE workspace_id = $5 AND id = $6",
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
        sqlx::query("DELETE FROM account_credentials WHERE account_id = (SELECT id FROM accounts WHERE workspace_id = $1 AND id = $2)")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM accounts WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        insert_event(&mut tx, event).await?;
        tx.commit().await?;
        // secure_delete zeroes the credential in the new version of its page, but with a write-ahead log
        // the old version stays on disk (in the log, or in the database file until the log is folded in).
        // Folding the log in now, and truncating it, leaves only the zeroed version.
        if let Some(checkpoint) = Db::CHECKPOINT {
            if let Err(err) = sqlx::query(checkpoint).execute(&self.pool).await {
                // The removal itself is committed; the old page is then overwritten at a later checkpoint.
                tracing::warn!(account_id = %id, error = %err, "could not fold the write-ahead log in after removing an account");
            }
        }
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
        let scopes = to_json(refresh.scopes.as_ref().unwrap_or(&current.scopes))?;
        sqlx::query(
            "UPDATE accounts SET platform_display_name = $1, sort_name = $2, search_text = $3, handle = $4, \
             avatar_url = $5, scopes = $6, token_expires_at = $7, last_checked_at = $8, followers = COALESCE($9, followers), \
             last_refreshed_at = CASE WHEN $10 THEN $11 ELSE last_refreshed_at END WHERE id = $12",
        )
        .bind(&name)
        .bind(shown.to_lowercase())
        .bind(search_text(
            &shown,
            handle.as_deref(),
            &current.labels.to_strings(),
        ))
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
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE workspace_id = $1 AND platform = $2 AND platform_account_id = $3"
        );
        let query = sqlx::query(&sql)
            .bind(workspace.to_string())
            .bind(platform.as_str())
            .bind(platform_account_id);
        read_optional(&self.pool, query, account_from_row).await
    }

    async fn count_accounts(
        &self,
        workspace: WorkspaceId,
        platform: Option<Platform>,
    ) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM account_counts WHERE workspace_id = $1 AND (CAST($2 AS TEXT) IS NULL OR platform = $2)",
        )
        .bind(workspace.to_string())
        .bind(platform.map(|p| p.as_str()))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(0))
    }

    async fn accounts_expiring_unrenewable(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<Account>> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE token_expires_at IS NOT NULL AND token_expires_at < $1 \
             AND next_refresh_at IS NULL AND status = 'active' LIMIT $2"
        );
        let query = sqlx::query(&sql)
            .bind(micros(before))
            .bind(i64::from(limit));
        read_all(&self.pool, query, account_from_row).await
    }

    async fn workspace_events(
        &self,
        workspace: WorkspaceId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>> {
        let query = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(workspace.to_string())
        .bind(i64::from(limit));
        read_all(&self.pool, query, event_from_row).await
    }

    async fn events_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        limit: u32,
    ) -> StoreResult<Vec<AuditEventRecord>> {
        let query = sqlx::query(
            "SELECT * FROM audit_events WHERE workspace_id = $1 AND account_id = $2 ORDER BY at DESC, id DESC LIMIT $3",
        )
        .bind(workspace.to_string())
        .bind(account.to_string())
        .bind(i64::from(limit));
        read_all(&self.pool, query, event_from_row).await
    }
}
