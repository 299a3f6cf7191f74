//! The SQL behind [`crate::MailStore`], compiled once per backend (see [`crate::sql`]).

use super::*;
use iquivity_domain::{AlertEmail, AlertKind};

#[async_trait]
impl MailStore for SqlStore<Db> {
    async fn queue_mail(&self, mail: &MailRecord, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO mail_outbox (id, kind, key_id, sealed, state, attempts, run_at, created_at) \
             VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6)",
        )
        .bind(mail.id.to_string())
        .bind(&mail.kind)
        .bind(&mail.sealed.key_id)
        .bind(&mail.sealed.blob)
        .bind(micros(now))
        .bind(micros(mail.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn claim_mail(&self, claim: Claim<'_>) -> StoreResult<Vec<MailRecord>> {
        let sql = format!(
            "UPDATE mail_outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM mail_outbox WHERE state = 'pending' AND run_at <= $3 \
                          AND (lease_until IS NULL OR lease_until <= $3) \
                          ORDER BY run_at, id LIMIT $4{}) \
             RETURNING id, kind, key_id, sealed, attempts, created_at",
            Db::SKIP_LOCKED
        );
        let query = claimed(&sql, claim);
        read_all(&self.pool, query, |row| {
            Ok(MailRecord {
                id: parsed(row, "id")?,
                kind: row.try_get("kind")?,
                sealed: StoredCredential {
                    key_id: row.try_get("key_id")?,
                    blob: row.try_get("sealed")?,
                },
                attempts: row
                    .try_get::<i64, _>("attempts")?
                    .try_into()
                    .unwrap_or(u32::MAX),
                created_at: from_micros(row.try_get("created_at")?),
            })
        })
        .await
    }

    async fn record_mail_attempt(
        &self,
        id: uuid::Uuid,
        owner: &str,
        attempt: &MailAttempt,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (state, run_at, error) = match attempt {
            MailAttempt::Sent => ("sent", None, None),
            MailAttempt::Retry { at, error } => {
                ("pending", Some(micros(*at)), Some(error.as_str()))
            }
            MailAttempt::GaveUp { error } => ("failed", None, Some(error.as_str())),
        };
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE mail_outbox SET state = $1, run_at = COALESCE($2, run_at), last_error = $3, \
                 sent_at = CASE WHEN $1 = 'sent' THEN $4 ELSE NULL END, lease_owner = NULL, lease_until = NULL \
                 WHERE id = $5 AND lease_owner = $6",
            )
            .bind(state)
            .bind(run_at)
            .bind(error)
            .bind(micros(now))
            .bind(id.to_string())
            .bind(owner),
        )
        .await
    }

    async fn create_password_reset(&self, reset: &PasswordResetRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&reset.token_hash)
        .bind(reset.user_id.to_string())
        .bind(micros(reset.created_at))
        .bind(micros(reset.expires_at))
        .execute(&self.pool)
        .await
        .map_err(duplicate("password reset"))?;
        Ok(())
    }

    async fn use_password_reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        let query = sqlx::query(
            "UPDATE password_resets SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(micros(now))
        .bind(token_hash);
        read_optional(&self.pool, query, |row| parsed(row, "user_id")).await
    }

    async fn alert_email_choices(
        &self,
        workspace: WorkspaceId,
    ) -> StoreResult<Vec<(UserId, AlertKind, AlertEmail)>> {
        let query = sqlx::query(
            "SELECT user_id, kind, choice FROM alert_email_choices WHERE workspace_id = $1",
        )
        .bind(workspace.to_string());
        read_all(&self.pool, query, |row| {
            let kind: String = row.try_get("kind")?;
            let choice: String = row.try_get("choice")?;
            Ok((
                parsed(row, "user_id")?,
                AlertKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("alert kind {kind:?}")))?,
                AlertEmail::parse(&choice)
                    .ok_or_else(|| StoreError::Corrupt(format!("alert email choice {choice:?}")))?,
            ))
        })
        .await
    }

    async fn set_alert_email_choice(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        kind: AlertKind,
        choice: AlertEmail,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO alert_email_choices (workspace_id, user_id, kind, choice) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (workspace_id, user_id, kind) DO UPDATE SET choice = excluded.choice",
        )
        .bind(workspace.to_string())
        .bind(user.to_string())
        .bind(kind.as_str())
        .bind(choice.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn due_digests(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<Vec<DigestMark>> {
        let query = sqlx::query(
            "SELECT m.workspace_id, m.user_id, d.sent_until FROM memberships m \
             LEFT JOIN alert_digests d ON d.workspace_id = m.workspace_id AND d.user_id = m.user_id \
             WHERE d.sent_until IS NULL OR d.sent_until <= $1 \
             ORDER BY m.workspace_id, m.user_id LIMIT $2",
        )
        .bind(micros(before))
        .bind(i64::from(limit));
        read_all(&self.pool, query, |row| {
            Ok(DigestMark {
                workspace_id: parsed(row, "workspace_id")?,
                user_id: parsed(row, "user_id")?,
                sent_until: row
                    .try_get::<Option<i64>, _>("sent_until")?
                    .map(from_micros),
            })
        })
        .await
    }

    async fn advance_digest(&self, mark: &DigestMark, to: DateTime<Utc>) -> StoreResult<bool> {
        let query = sqlx::query(match mark.sent_until {
            None => {
                "INSERT INTO alert_digests (workspace_id, user_id, sent_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (workspace_id, user_id) DO NOTHING"
            }
            Some(_) => {
                "UPDATE alert_digests SET sent_until = $3 \
                 WHERE workspace_id = $1 AND user_id = $2 AND sent_until = $4"
            }
        })
        .bind(mark.workspace_id.to_string())
        .bind(mark.user_id.to_string())
        .bind(micros(to));
        let query = match mark.sent_until {
            Some(from) => query.bind(micros(from)),
            None => query,
        };
        changed_one(&self.pool, query).await
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        sign_out_everywhere: bool,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if sign_out_everywhere {
            for table in ["sessions", "api_tokens"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
