//! The SQL behind [`crate::AlertStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

#[async_trait]
impl AlertStore for SqlStore<Db> {
    async fn record_alert(&self, alert: &AlertRecord) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO alerts (id, workspace_id, account_id, kind, dedupe_key, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
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
        let hooks = sqlx::query("SELECT * FROM webhooks WHERE workspace_id = $1")
            .bind(alert.workspace_id.to_string())
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(webhook_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        for hook in hooks.iter().filter(|hook| hook.takes(alert.kind)) {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, webhook_id, alert_id, state, run_at, created_at) \
                 VALUES ($1, $2, $3, 'pending', $4, $5)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(hook.id.to_string())
            .bind(alert.id.to_string())
            .bind(micros(alert.created_at))
            .bind(micros(alert.created_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn alerts(
        &self,
        workspace: WorkspaceId,
        before: Option<AlertPosition>,
        limit: u32,
    ) -> StoreResult<Vec<AlertRecord>> {
        // Without a position, a time later than any alert's: one query serves the first page and the next.
        let (at, id) = match before {
            Some(position) => (micros(position.created_at), position.id.to_string()),
            None => (i64::MAX, String::new()),
        };
        let query = sqlx::query(
            "SELECT * FROM alerts WHERE workspace_id = $1 \
             AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
             ORDER BY created_at DESC, id DESC LIMIT $4",
        )
        .bind(workspace.to_string())
        .bind(at)
        .bind(id)
        .bind(i64::from(limit));
        read_all(&self.pool, query, alert_from_row).await
    }

    async fn unread_alerts(&self, workspace: WorkspaceId) -> StoreResult<u32> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM alerts WHERE workspace_id = $1 AND read_at IS NULL",
        )
        .bind(workspace.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn mark_alerts_read(
        &self,
        workspace: WorkspaceId,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE alerts SET read_at = $1 WHERE workspace_id = $2 AND read_at IS NULL")
            .bind(micros(now))
            .bind(workspace.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn create_webhook(&self, webhook: &WebhookRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webhooks (id, workspace_id, url, secret_key_id, secret_blob, created_at, events) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(webhook.id.to_string())
        .bind(webhook.workspace_id.to_string())
        .bind(&webhook.url)
        .bind(&webhook.secret.key_id)
        .bind(&webhook.secret.blob)
        .bind(micros(webhook.created_at))
        .bind(webhook.events.as_deref().map(event_list))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn webhooks(&self, workspace: WorkspaceId) -> StoreResult<Vec<WebhookRecord>> {
        let query =
            sqlx::query("SELECT * FROM webhooks WHERE workspace_id = $1 ORDER BY created_at, id")
                .bind(workspace.to_string());
        read_all(&self.pool, query, webhook_from_row).await
    }

    async fn webhook(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<WebhookRecord>> {
        let query = sqlx::query("SELECT * FROM webhooks WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string());
        read_optional(&self.pool, query, webhook_from_row).await
    }

    async fn update_webhook(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        change: &WebhookChange,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        let found = sqlx::query("SELECT id FROM webhooks WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !found {
            return Ok(false);
        }
        if let Some(events) = &change.events {
            sqlx::query("UPDATE webhooks SET events = $1 WHERE id = $2")
                .bind(events.as_deref().map(event_list))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        match change.enabled {
            Some(true) => {
                sqlx::query(
                    "UPDATE webhooks SET disabled_at = NULL, failing_since = NULL WHERE id = $1",
                )
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            Some(false) => {
                sqlx::query(
                    "UPDATE webhooks SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL",
                )
                .bind(micros(change.now))
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
            }
            None => {}
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn rotate_webhook_secret(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
        secret: &StoredCredential,
        previous_until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // Every right-hand side reads the row as it was, so the old secret moves to `previous_*`.
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE webhooks SET previous_secret_key_id = secret_key_id, \
                 previous_secret_blob = secret_blob, previous_secret_until = $1, \
                 secret_key_id = $2, secret_blob = $3 WHERE workspace_id = $4 AND id = $5",
            )
            .bind(micros(previous_until))
            .bind(&secret.key_id)
            .bind(&secret.blob)
            .bind(workspace.to_string())
            .bind(id.to_string()),
        )
        .await
    }

    async fn record_webhook_health(
        &self,
        id: uuid::Uuid,
        now: DateTime<Utc>,
        health: WebhookHealth,
    ) -> StoreResult<bool> {
        match health {
            WebhookHealth::Succeeded => {
                sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(false)
            }
            WebhookHealth::Failed {
                disable_if_failing_since,
            } => {
                sqlx::query(
                    "UPDATE webhooks SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL",
                )
                .bind(micros(now))
                .bind(id.to_string())
                .execute(&self.pool)
                .await?;
                changed_one(
                    &self.pool,
                    sqlx::query(
                        "UPDATE webhooks SET disabled_at = $1 \
                         WHERE id = $2 AND disabled_at IS NULL AND failing_since <= $3",
                    )
                    .bind(micros(now))
                    .bind(id.to_string())
                    .bind(micros(disable_if_failing_since)),
                )
                .await
            }
        }
    }

    async fn delete_webhook(&self, workspace: WorkspaceId, id: uuid::Uuid) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query("DELETE FROM webhooks WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.to_string())
                .bind(id.to_string()),
        )
        .await
    }

    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        webhook: uuid::Uuid,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        let query = sqlx::query(
            "SELECT d.* FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
             WHERE w.workspace_id = $1 AND d.webhook_id = $2 ORDER BY d.created_at DESC, d.id DESC LIMIT $3",
        )
        .bind(workspace.to_string())
        .bind(webhook.to_string())
        .bind(i64::from(limit));
        read_all(&self.pool, query, delivery_from_row).await
    }

    async fn claim_deliveries(
        &self,
        claim: Claim<'_>,
    ) -> StoreResult<Vec<(DeliveryRecord, WebhookRecord, AlertRecord)>> {
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM webhook_deliveries WHERE state = 'pending' AND run_at <= $3 \
                          AND (lease_until IS NULL OR lease_until <= $3) \
                          AND webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL) \
                          ORDER BY run_at, id LIMIT $4{}) \
             RETURNING id",
            Db::SKIP_LOCKED
        );
        let claimed = claimed(&sql, claim).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(claimed.len());
        for claimed in claimed {
            let id: String = claimed.try_get("id")?;
            let row = sqlx::query("SELECT * FROM webhook_deliveries WHERE id = $1")
                .bind(&id)
                .fetch_one(&self.pool)
                .await?;
            let delivery = delivery_from_row(&row)?;
            let webhook = sqlx::query("SELECT * FROM webhooks WHERE id = $1")
                .bind(delivery.webhook_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            let webhook = webhook_from_row(&webhook)?;
            let alert = sqlx::query("SELECT * FROM alerts WHERE id = $1")
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
        changed_one(&self.pool, sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, last_status = $2, failure_class = $3, run_at = $4, \
             delivered_at = CASE WHEN $5 = 'delivered' THEN $6 ELSE delivered_at END, lease_owner = NULL, lease_until = NULL \
             WHERE id = $7 AND lease_owner = $8",
        )
        .bind(attempt.state.as_str())
        .bind(attempt.status.map(i64::from))
        .bind(attempt.failure.map(FailureClass::as_str))
        .bind(micros(attempt.next_attempt_at))
        .bind(attempt.state.as_str())
        .bind(micros(attempt.now))
        .bind(id.to_string())
        .bind(owner)).await
    }
}
