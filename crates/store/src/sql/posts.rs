//! The SQL behind [`crate::PostStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

/// Records how an attempt ended: by its lease holder, or (with no owner) for a target left abandoned.
pub(super) async fn settle_target(
    pool: &sqlx::Pool<Db>,
    id: uuid::Uuid,
    owner: Option<&str>,
    outcome: &TargetOutcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    // What each outcome sets; the rest is kept as it is (COALESCE) or cleared.
    let (state, class, message) = match outcome {
        TargetOutcome::Published { .. } => (TargetState::Published, None, None),
        TargetOutcome::Failed { class, message } => {
            (TargetState::Failed, Some(class), Some(message))
        }
        TargetOutcome::Retry { message, .. } => (TargetState::Scheduled, None, Some(message)),
    };
    let (post_id, url) = match outcome {
        TargetOutcome::Published {
            platform_post_id,
            url,
        } => (Some(platform_post_id), url.as_ref()),
        _ => (None, None),
    };
    let run_at = match outcome {
        TargetOutcome::Retry { at, .. } => Some(micros(*at)),
        _ => None,
    };
    let published_at = (state == TargetState::Published).then(|| micros(now));
    // The lease holder settles its own attempt; with no owner, only an attempt whose lease ran out.
    let holder = match owner {
        Some(_) => "lease_owner = $10",
        None => "lease_until <= $10",
    };
    let sql = format!(
        "UPDATE post_targets SET state = $1, platform_post_id = COALESCE($2, platform_post_id), url = COALESCE($3, url), \
         error_class = $4, error_message = $5, run_at = COALESCE($6, run_at), published_at = COALESCE($7, published_at), \
         lease_owner = NULL, lease_until = NULL, sending_at = NULL, updated_at = $8 \
         WHERE id = $9 AND state = 'publishing' AND {holder}"
    );
    let done = sqlx::query(&sql)
        .bind(state.as_str())
        .bind(post_id)
        .bind(url)
        .bind(class)
        .bind(message)
        .bind(run_at)
        .bind(published_at)
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

/// Takes [`PUBLISH_LOCK`] for the transaction, where the database has one.
pub(super) async fn take_publish_lock(conn: &mut Conn) -> StoreResult<()> {
    if let Some(lock) = Db::PUBLISH_LOCK {
        sqlx::query(lock).bind(PUBLISH_LOCK).execute(conn).await?;
    }
    Ok(())
}

impl SqlStore<Db> {
    /// A post's targets.
    pub(super) async fn targets_of(&self, post_id: &str) -> StoreResult<Vec<TargetRecord>> {
        let query =
            sqlx::query("SELECT * FROM post_targets WHERE post_id = $1 ORDER BY id").bind(post_id);
        read_all(&self.pool, query, target_from_row).await
    }

    /// Target rows, each with its post (without the post's other targets).
    pub(super) async fn with_posts(
        &self,
        rows: Vec<<Db as sqlx::Database>::Row>,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let target = target_from_row(&row)?;
            let post_row = sqlx::query("SELECT * FROM posts WHERE id = $1")
                .bind(target.post_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            out.push((target, post_from_row(&post_row, Vec::new())?));
        }
        Ok(out)
    }
}

#[async_trait]
impl PostStore for SqlStore<Db> {
    async fn create_post(&self, post: &PostRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let media = to_json(&post.media)?;
        sqlx::query(
            "INSERT INTO posts (id, workspace_id, author_id, text, link, media, privacy_level, publish_at, created_at, draft_accounts, variants, first_comment, thread) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(post.draft_accounts.as_ref().map(to_json).transpose()?)
        .bind(to_json(&post.variants)?)
        .bind(&post.first_comment)
        .bind(to_json(&post.thread)?)
        .execute(&mut *tx)
        .await?;
        insert_targets(&mut tx, post).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish_draft(&self, post: &PostRecord) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE posts SET draft_accounts = NULL, text = $1, link = $2, media = $3, privacy_level = $4, publish_at = $5, \
             variants = $8 WHERE workspace_id = $6 AND id = $7 AND draft_accounts IS NOT NULL",
        )
        .bind(&post.text)
        .bind(&post.link)
        .bind(to_json(&post.media)?)
        .bind(&post.privacy_level)
        .bind(micros(post.publish_at))
        .bind(post.workspace_id.to_string())
        .bind(post.id.to_string())
        .bind(to_json(&post.variants)?)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() != 1 {
            return Ok(false);
        }
        insert_targets(&mut tx, post).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn update_draft(&self, post: &PostRecord) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE posts SET text = $1, link = $2, media = $3, privacy_level = $4, publish_at = $5, draft_accounts = $6, \
                 variants = $9, first_comment = $10, thread = $11 WHERE workspace_id = $7 AND id = $8 AND draft_accounts IS NOT NULL",
            )
            .bind(&post.text)
            .bind(&post.link)
            .bind(to_json(&post.media)?)
            .bind(&post.privacy_level)
            .bind(micros(post.publish_at))
            .bind(to_json(post.draft_accounts.as_deref().unwrap_or_default())?)
            .bind(post.workspace_id.to_string())
            .bind(post.id.to_string())
            .bind(to_json(&post.variants)?)
            .bind(&post.first_comment)
            .bind(to_json(&post.thread)?),
        )
        .await
    }

    async fn record_comment(
        &self,
        target: uuid::Uuid,
        result: &CommentResult,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (state, id, error) = match result {
            CommentResult::Published { comment_id } => {
                ("published", Some(comment_id.as_str()), None)
            }
            CommentResult::Failed { message } => ("failed", None, Some(message.as_str())),
        };
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE post_targets SET comment_state = $1, comment_id = $2, comment_error = $3, updated_at = $4 \
                 WHERE id = $5 AND state = 'published' AND (comment_state IS NULL OR comment_state = 'failed')",
            )
            .bind(state)
            .bind(id)
            .bind(error)
            .bind(micros(now))
            .bind(target.to_string()),
        )
        .await
    }

    async fn record_thread_progress(
        &self,
        target: uuid::Uuid,
        progress: &ThreadProgress,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE post_targets SET thread_ids = $1, thread_error = $2, updated_at = $3 \
                 WHERE id = $4 AND state = 'published'",
            )
            .bind(to_json(&progress.published)?)
            .bind(&progress.error)
            .bind(micros(now))
            .bind(target.to_string()),
        )
        .await
    }

    async fn mark_target_deleted(
        &self,
        workspace: WorkspaceId,
        target: uuid::Uuid,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE post_targets SET deleted_at = $1, updated_at = $1 \
                 WHERE id = $2 AND workspace_id = $3 AND state = 'published' AND deleted_at IS NULL",
            )
            .bind(micros(at))
            .bind(target.to_string())
            .bind(workspace.to_string()),
        )
        .await
    }

    async fn delete_draft(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "DELETE FROM posts WHERE workspace_id = $1 AND id = $2 AND draft_accounts IS NOT NULL",
            )
            .bind(workspace.to_string())
            .bind(id.to_string()),
        )
        .await
    }

    async fn posts(&self, workspace: WorkspaceId, limit: u32) -> StoreResult<Vec<PostRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM posts WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
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

    async fn targets_between(
        &self,
        workspace: WorkspaceId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<CalendarTarget>> {
        let query = sqlx::query(
            "SELECT t.*, p.text AS post_text, p.publish_at AS post_publish_at FROM posts p \
             JOIN post_targets t ON t.post_id = p.id \
             WHERE t.workspace_id = $1 AND t.run_at >= $2 AND t.run_at < $3 \
             ORDER BY t.run_at, p.id, t.id LIMIT $4",
        )
        .bind(workspace.to_string())
        .bind(micros(from))
        .bind(micros(to))
        .bind(i64::from(limit));
        read_all(&self.pool, query, |row| {
            Ok(CalendarTarget {
                post_id: parsed(row, "post_id")?,
                text: row.try_get("post_text")?,
                publish_at: from_micros(row.try_get("post_publish_at")?),
                target: target_from_row(row)?,
            })
        })
        .await
    }

    async fn post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<PostRecord>> {
        let Some(row) = sqlx::query("SELECT * FROM posts WHERE workspace_id = $1 AND id = $2")
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
            "UPDATE post_targets SET state = 'cancelled', updated_at = $1 \
             WHERE post_id = $2 AND workspace_id = $3 AND state = 'scheduled'",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(workspace.to_string())
        .execute(&self.pool)
        .await?;
        Ok(u32::try_from(done.rows_affected()).unwrap_or(0))
    }

    async fn scheduled_for_account(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let rows = sqlx::query(
            "SELECT * FROM post_targets WHERE workspace_id = $1 AND account_id = $2 AND state = 'scheduled' ORDER BY run_at",
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
            "UPDATE post_targets SET state = 'cancelled', error_message = 'the account was removed', updated_at = $1 \
             WHERE account_id = $2 AND state = 'scheduled'",
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
        let sql = format!(
            "SELECT {columns}, COUNT(t.id) AS at_risk FROM accounts a JOIN post_targets t ON t.account_id = a.id \
             WHERE a.status <> 'active' AND t.state = 'scheduled' AND t.run_at < $1 GROUP BY a.id LIMIT $2"
        );
        let query = sqlx::query(&sql)
            .bind(micros(before))
            .bind(i64::from(limit));
        read_all(&self.pool, query, |row| {
            Ok((
                account_from_row(row)?,
                u32::try_from(row.try_get::<i64, _>("at_risk")?).unwrap_or(0),
            ))
        })
        .await
    }

    async fn post_counts(
        &self,
        workspace: WorkspaceId,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<(AccountId, u32, u32)>> {
        let query = sqlx::query(
            "SELECT account_id, COUNT(*) FILTER (WHERE state = 'scheduled') AS scheduled, \
             COUNT(*) FILTER (WHERE state = 'published' AND published_at >= $1) AS published \
             FROM post_targets WHERE workspace_id = $2 GROUP BY account_id",
        )
        .bind(micros(since))
        .bind(workspace.to_string());
        read_all(&self.pool, query, |row| {
            Ok((
                parsed(row, "account_id")?,
                u32::try_from(row.try_get::<i64, _>("scheduled")?).unwrap_or(0),
                u32::try_from(row.try_get::<i64, _>("published")?).unwrap_or(0),
            ))
        })
        .await
    }

    async fn update_scheduled_post(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        rewrite: &PostRewrite<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // Claims wait for this rewrite (and it for them), so no target starts publishing between the check
        // below and the changes after it.
        take_publish_lock(&mut tx).await?;
        let started: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM post_targets WHERE post_id = $1 AND workspace_id = $2 AND state IN ('publishing', 'published')",
        )
        .bind(id.to_string())
        .bind(workspace.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if started > 0 {
            return Ok(false);
        }
        let done = sqlx::query(
            "UPDATE posts SET text = $1, link = $2, publish_at = $3, variants = $6, first_comment = $7 WHERE id = $4 AND workspace_id = $5",
        )
        .bind(rewrite.text)
        .bind(rewrite.link)
        .bind(micros(rewrite.publish_at))
        .bind(id.to_string())
        .bind(workspace.to_string())
        .bind(to_json(rewrite.variants)?)
        .bind(rewrite.first_comment)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some(targets) = rewrite.targets {
            let existing: Vec<(String, String)> =
                sqlx::query_as("SELECT id, account_id FROM post_targets WHERE post_id = $1")
                    .bind(id.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
            let wanted: std::collections::HashSet<String> =
                targets.iter().map(|t| t.account_id.to_string()).collect();
            for (target, account) in &existing {
                if !wanted.contains(account) {
                    sqlx::query("DELETE FROM post_targets WHERE id = $1")
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
                     VALUES ($1, $2, $3, $4, $5, 'scheduled', $6, $7)",
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
                .map_err(duplicate("a target for this account in this post"))?;
            }
        }
        sqlx::query(
            "UPDATE post_targets SET run_at = $1, updated_at = $2 WHERE post_id = $3 AND state = 'scheduled'",
        )
        .bind(micros(rewrite.publish_at))
        .bind(micros(now))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Inserts a post's targets in the transaction that stores (or schedules) the post.
async fn insert_targets(tx: &mut Conn, post: &PostRecord) -> StoreResult<()> {
    for target in &post.targets {
        sqlx::query(
                "INSERT INTO post_targets (id, post_id, workspace_id, account_id, platform, state, run_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
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
            .map_err(duplicate("a target for this account in this post"))?;
    }
    Ok(())
}
