//! The SQL behind [`crate::LinkStore`], compiled once per backend (see [`crate::sql`]).

use super::accounts::fetch_account;
use super::*;
use iquivity_domain::{ClientId, LinkId, LinkKind, LinkNote};

type DbRow = <Db as sqlx::Database>::Row;

#[async_trait]
impl LinkStore for SqlStore<Db> {
    async fn create_link(&self, link: &LinkRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO links (id, workspace_id, kind, token_hash, client_id, account_id, platforms, note, \
             max_uses, uses, created_by, created_at, expires_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(link.id.to_string())
        .bind(link.workspace_id.to_string())
        .bind(link.kind.as_str())
        .bind(&link.token_hash)
        .bind(link.client_id.map(|c| c.to_string()))
        .bind(link.account_id.map(|a| a.to_string()))
        .bind(to_json(&link.platforms)?)
        .bind(link.note.as_ref().map(LinkNote::as_str))
        .bind(link.max_uses.map(i64::from))
        .bind(i64::from(link.uses))
        .bind(link.created_by.to_string())
        .bind(micros(link.created_at))
        .bind(micros(link.expires_at))
        .bind(link.revoked_at.map(micros))
        .execute(&self.pool)
        .await
        .map_err(duplicate("link"))?;
        Ok(())
    }

    async fn link_by_token(&self, token_hash: &str) -> StoreResult<Option<LinkRecord>> {
        let query = sqlx::query("SELECT * FROM links WHERE token_hash = $1").bind(token_hash);
        read_optional(&self.pool, query, link_from_row).await
    }

    async fn link(&self, workspace: WorkspaceId, id: LinkId) -> StoreResult<Option<LinkRecord>> {
        let query = sqlx::query("SELECT * FROM links WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string());
        read_optional(&self.pool, query, link_from_row).await
    }

    async fn links(&self, workspace: WorkspaceId) -> StoreResult<Vec<LinkRecord>> {
        let query = sqlx::query(
            "SELECT * FROM links WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(workspace.to_string());
        read_all(&self.pool, query, link_from_row).await
    }

    async fn revoke_link(
        &self,
        workspace: WorkspaceId,
        id: LinkId,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE links SET revoked_at = $1 WHERE workspace_id = $2 AND id = $3 AND revoked_at IS NULL",
            )
            .bind(micros(now))
            .bind(workspace.to_string())
            .bind(id.to_string()),
        )
        .await
    }

    async fn claim_link_use(&self, id: LinkId, now: DateTime<Utc>) -> StoreResult<bool> {
        changed_one(
            &self.pool,
            sqlx::query(
                "UPDATE links SET uses = uses + 1 WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2 \
                 AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(id.to_string())
            .bind(micros(now)),
        )
        .await
    }

    async fn release_link_use(&self, id: LinkId) -> StoreResult<()> {
        sqlx::query("UPDATE links SET uses = uses - 1 WHERE id = $1 AND uses > 0")
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn record_link_use(&self, entry: &LinkUseRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO link_uses (id, link_id, at, outcome, platform, accounts, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.id.to_string())
        .bind(entry.link_id.to_string())
        .bind(micros(entry.at))
        .bind(entry.outcome.as_str())
        .bind(entry.platform.map(Platform::as_str))
        .bind(to_json(&entry.accounts)?)
        .bind(&entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn link_uses(&self, id: LinkId) -> StoreResult<Vec<LinkUseRecord>> {
        let query = sqlx::query("SELECT * FROM link_uses WHERE link_id = $1 ORDER BY at, id")
            .bind(id.to_string());
        read_all(&self.pool, query, link_use_from_row).await
    }

    async fn mark_connected_via_link(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        link: LinkId,
        client: Option<ClientId>,
    ) -> StoreResult<Option<Account>> {
        let mut tx = self.begin_write().await?;
        // The client must be the workspace's own (it may also have been removed since the link was made).
        let client = match client {
            Some(client) => {
                sqlx::query_scalar::<_, String>(
                    "SELECT id FROM clients WHERE workspace_id = $1 AND id = $2",
                )
                .bind(workspace.to_string())
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?
            }
            None => None,
        };
        sqlx::query(
            "UPDATE accounts SET connected_via_link = $1, client_id = COALESCE(client_id, $2) \
             WHERE workspace_id = $3 AND id = $4",
        )
        .bind(link.to_string())
        .bind(client)
        .bind(workspace.to_string())
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
        let updated = fetch_account(&mut tx, workspace, account).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

fn named<T>(row: &DbRow, column: &str, parse: impl Fn(&str) -> Option<T>) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{column} holds {text:?}")))
}

fn count(row: &DbRow, column: &str) -> StoreResult<Option<u32>> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|n| u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} holds {n}"))))
        .transpose()
}

fn link_from_row(row: &DbRow) -> StoreResult<LinkRecord> {
    let note: Option<String> = row.try_get("note")?;
    Ok(LinkRecord {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        kind: named(row, "kind", LinkKind::parse)?,
        token_hash: row.try_get("token_hash")?,
        client_id: opt_parsed(row, "client_id")?,
        account_id: opt_parsed(row, "account_id")?,
        platforms: json_column(row, "platforms")?,
        note: note.map(LinkNote::stored),
        max_uses: count(row, "max_uses")?,
        uses: count(row, "uses")?.unwrap_or(0),
        created_by: parsed(row, "created_by")?,
        created_at: from_micros(row.try_get("created_at")?),
        expires_at: from_micros(row.try_get("expires_at")?),
        revoked_at: opt_from_micros(row.try_get("revoked_at")?),
    })
}

fn link_use_from_row(row: &DbRow) -> StoreResult<LinkUseRecord> {
    Ok(LinkUseRecord {
        id: parsed(row, "id")?,
        link_id: parsed(row, "link_id")?,
        at: from_micros(row.try_get("at")?),
        outcome: named(row, "outcome", LinkOutcome::parse)?,
        platform: opt_parsed(row, "platform")?,
        accounts: json_column(row, "accounts")?,
        detail: row.try_get("detail")?,
    })
}
