//! The SQL behind [`crate::LifecycleStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

#[async_trait]
impl LifecycleStore for SqlStore<Db> {
    async fn schedule_account(
        &self,
        id: AccountId,
        next_refresh_at: Option<Option<DateTime<Utc>>>,
        next_check_at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET \
             next_refresh_at = CASE WHEN $1 THEN $2 ELSE next_refresh_at END, \
             next_check_at = COALESCE($3, next_check_at) WHERE id = $4",
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
        // One instance queues at a time, so what it reads as "no open job" includes every job another
        // instance queued before it; an instance that finds the lock taken leaves this round to the holder.
        if let Some(lock) = Db::TRY_ENQUEUE_LOCK {
            let locked: bool = sqlx::query_scalar(lock)
                .bind(ENQUEUE_LOCK)
                .fetch_one(&mut *tx)
                .await?;
            if !locked {
                return Ok(0);
            }
        }
        let mut queued = 0u32;
        for (kind, column) in [
            (JobKind::Refresh, "next_refresh_at"),
            (JobKind::HealthCheck, "next_check_at"),
        ] {
            let due = sqlx::query(&format!(
                "SELECT id, workspace_id, platform, {column} AS due FROM accounts \
                 WHERE {column} IS NOT NULL AND {column} <= $1 \
                 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = $2 AND j.account_id = accounts.id AND j.done_at IS NULL) \
                 ORDER BY {column} LIMIT $3"
            ))
            .bind(micros(now))
            .bind(kind.as_str())
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
            for row in due {
                let done = sqlx::query(
                    "INSERT INTO jobs (id, kind, account_id, workspace_id, platform, run_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
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
        changed_one(&self.pool, sqlx::query(
            "INSERT INTO jobs (id, kind, account_id, workspace_id, platform, payload_key_id, payload_blob, run_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(job.id.to_string())
        .bind(job.kind.as_str())
        .bind(job.account_id.to_string())
        .bind(job.workspace_id.to_string())
        .bind(job.platform.as_str())
        .bind(job.payload.as_ref().map(|p| p.key_id.clone()))
        .bind(job.payload.as_ref().map(|p| p.blob.clone()))
        .bind(micros(job.run_at))
        .bind(micros(job.created_at))).await
    }

    async fn claim_jobs(&self, claim: Claim<'_>) -> StoreResult<Vec<JobRecord>> {
        let sql = format!(
            "UPDATE jobs SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $3 \
                          AND (lease_until IS NULL OR lease_until <= $3) ORDER BY run_at, id LIMIT $4{}) \
             RETURNING *",
            Db::SKIP_LOCKED
        );
        let rows = claimed(&sql, claim).fetch_all(&self.pool).await?;
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
        changed_one(&self.pool, sqlx::query(
            "UPDATE jobs SET done_at = $1, payload_key_id = NULL, payload_blob = NULL, lease_owner = NULL, \
             lease_until = NULL WHERE id = $2 AND lease_owner = $3 AND done_at IS NULL",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(owner)).await
    }

    async fn retry_job(
        &self,
        id: uuid::Uuid,
        owner: &str,
        run_at: DateTime<Utc>,
        error: &str,
    ) -> StoreResult<bool> {
        changed_one(&self.pool, sqlx::query(
            "UPDATE jobs SET run_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL \
             WHERE id = $3 AND lease_owner = $4 AND done_at IS NULL",
        )
        .bind(micros(run_at))
        .bind(error)
        .bind(id.to_string())
        .bind(owner)).await
    }

    async fn take_refresh_lease(
        &self,
        account: AccountId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        changed_one(&self.pool, sqlx::query(
            "UPDATE accounts SET refresh_lease_owner = $1, refresh_lease_until = $2 WHERE id = $3 \
             AND (refresh_lease_until IS NULL OR refresh_lease_until <= $4 OR refresh_lease_owner = $5)",
        )
        .bind(owner)
        .bind(micros(until))
        .bind(account.to_string())
        .bind(micros(now))
        .bind(owner)).await
    }

    async fn release_refresh_lease(&self, account: AccountId, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE accounts SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = $1 AND refresh_lease_owner = $2",
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
        changed_one(&self.pool, sqlx::query(&format!(
            "UPDATE accounts SET refresh_lease_until = {}($1, COALESCE(refresh_lease_until, 0) + 1) \
             WHERE id = $2 AND refresh_lease_owner = $3",
            Db::GREATEST
        ))
        .bind(micros(until))
        .bind(account.to_string())
        .bind(owner)).await
    }

    async fn record_failure(
        &self,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<FailureRun> {
        let row = sqlx::query(
            "UPDATE accounts SET failure_count = failure_count + 1, failing_since = COALESCE(failing_since, $1) \
             WHERE id = $2 RETURNING failure_count, failing_since",
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
        sqlx::query("UPDATE accounts SET failure_count = 0, failing_since = NULL WHERE id = $1")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn metrics(&self, now: DateTime<Utc>) -> StoreResult<StoreMetrics> {
        let rows = sqlx::query("SELECT platform, status, CAST(SUM(count) AS BIGINT) AS count FROM account_counts GROUP BY platform, status")
            .fetch_all(&self.pool)
            .await?;
        let accounts = rows
            .iter()
            .map(count_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) AS open, MIN(CASE WHEN run_at <= $1 THEN run_at END) AS oldest_due \
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
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        Ok(StoreMetrics {
            accounts,
            jobs,
            pending_deliveries: u64::try_from(pending).unwrap_or(0),
            pool: PoolUsage {
                in_use: self.pool.size().saturating_sub(idle),
                idle,
                max: self.pool.options().get_max_connections(),
            },
        })
    }
}
