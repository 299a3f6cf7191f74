//! The SQL behind [`crate::PublishingStore`], compiled once per backend (see [`crate::sql`]).

use super::posts::{settle_target, take_publish_lock};
use super::*;

#[async_trait]
impl PublishingStore for SqlStore<Db> {
    async fn claim_due_targets(
        &self,
        claim: Claim<'_>,
    ) -> StoreResult<Vec<(TargetRecord, PostRecord)>> {
        let mut tx = self.begin_write().await?;
        // Claims take turns (they last milliseconds), so each one's statement, reading after the lock,
        // sees every target an earlier claim moved to publishing; an account with one is left alone.
        take_publish_lock(&mut tx).await?;
        let sql = format!(
            "UPDATE post_targets SET state = 'publishing', lease_owner = $1, lease_until = $2, \
             sending_at = NULL, updated_at = $3 \
             WHERE id IN (SELECT id FROM post_targets t WHERE state = 'scheduled' AND run_at <= $3 \
                          AND NOT EXISTS (SELECT 1 FROM post_targets p WHERE p.account_id = t.account_id \
                                          AND p.state = 'publishing') \
                          ORDER BY run_at, id LIMIT $4{}) \
             RETURNING *",
            Db::SKIP_LOCKED
        );
        let rows = claimed(&sql, claim).fetch_all(&mut *tx).await?;
        tx.commit().await?;
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
        // One statement: a concurrent release of the same target (its lease just ran out) either sees it
        // sent or has put it back first, never both.
        changed_one(&self.pool, sqlx::query(
            "UPDATE post_targets SET sending_at = $1, attempts = attempts + 1, updated_at = $1 \
             WHERE id = $2 AND state = 'publishing' AND lease_owner = $3 AND lease_until > $1 \
             AND sending_at IS NULL",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(owner)).await
    }

    async fn release_unsent_targets(&self, now: DateTime<Utc>) -> StoreResult<u32> {
        let done = sqlx::query(
            "UPDATE post_targets SET state = 'scheduled', lease_owner = NULL, lease_until = NULL, updated_at = $1 \
             WHERE state = 'publishing' AND sending_at IS NULL AND lease_until <= $1",
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
            "SELECT * FROM post_targets WHERE state = 'publishing' AND sending_at IS NOT NULL AND lease_until <= $1 \
             ORDER BY lease_until LIMIT $2",
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
        changed_one(&self.pool, sqlx::query(
            "UPDATE post_targets SET state = 'scheduled', run_at = $1, error_class = NULL, error_message = NULL, updated_at = $2 \
             WHERE id = $3 AND post_id = $4 AND workspace_id = $5 AND state = 'failed'",
        )
        .bind(micros(now))
        .bind(micros(now))
        .bind(target.to_string())
        .bind(post.to_string())
        .bind(workspace.to_string())).await
    }

    async fn mark_account_used(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE accounts SET last_used_at = $1 WHERE id = $2")
            .bind(micros(now))
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn published_since(&self, account: AccountId, since: DateTime<Utc>) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM post_targets WHERE account_id = $1 AND state = 'published' AND published_at >= $2",
        )
        .bind(account.to_string())
        .bind(micros(since))
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }
}
