//! The SQL behind [`crate::CredentialStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

pub(super) async fn put_credential(
    conn: &mut Conn,
    account: AccountId,
    credential: &StoredCredential,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO account_credentials (account_id, key_id, blob, updated_at) VALUES ($1, $2, $3, $4) \
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
impl CredentialStore for SqlStore<Db> {
    async fn credential(&self, account: AccountId) -> StoreResult<Option<StoredCredential>> {
        let query =
            sqlx::query("SELECT key_id, blob FROM account_credentials WHERE account_id = $1")
                .bind(account.to_string());
        read_optional(&self.pool, query, |row| {
            Ok(StoredCredential {
                key_id: row.try_get("key_id")?,
                blob: row.try_get("blob")?,
            })
        })
        .await
    }

    async fn credentials_not_under_key(
        &self,
        key_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, StoredCredential)>> {
        let query = sqlx::query(
            "SELECT account_id, key_id, blob FROM account_credentials WHERE key_id <> $1 LIMIT $2",
        )
        .bind(key_id)
        .bind(i64::from(limit));
        read_all(&self.pool, query, |row| {
            Ok((
                parsed(row, "account_id")?,
                StoredCredential {
                    key_id: row.try_get("key_id")?,
                    blob: row.try_get("blob")?,
                },
            ))
        })
        .await
    }

    async fn replace_credential_if_unchanged(
        &self,
        account: AccountId,
        expected: &StoredCredential,
        replacement: &StoredCredential,
    ) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE account_credentials SET key_id = $1, blob = $2, updated_at = $3 \
             WHERE account_id = $4 AND key_id = $5 AND blob = $6",
            )
            .bind(&replacement.key_id)
            .bind(&replacement.blob)
            .bind(micros(Utc::now()))
            .bind(account.to_string())
            .bind(&expected.key_id)
            .bind(&expected.blob),
        )
        .await
    }

    async fn credential_key_ids(&self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT DISTINCT key_id FROM account_credentials ORDER BY key_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
