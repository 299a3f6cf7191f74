//! The SQL behind [`crate::ClientStore`], compiled once per backend (see [`crate::sql`]).

use super::accounts::{fetch_account, insert_event};
use super::*;
use iquivity_domain::{Client, ClientId, ClientName, Colour};

#[async_trait]
impl ClientStore for SqlStore<Db> {
    async fn create_client(&self, client: &Client) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO clients (id, workspace_id, name, name_key, colour, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(client.id.to_string())
        .bind(client.workspace_id.to_string())
        .bind(client.name.as_str())
        .bind(client.name.key())
        .bind(client.colour.as_ref().map(Colour::as_str))
        .bind(micros(client.created_at))
        .execute(&self.pool)
        .await
        .map_err(duplicate("client"))?;
        Ok(())
    }

    async fn clients(&self, workspace: WorkspaceId) -> StoreResult<Vec<(Client, StatusTally)>> {
        let query = sqlx::query(
            "SELECT c.*, \
             (SELECT COUNT(*) FROM accounts a WHERE a.workspace_id = c.workspace_id AND a.client_id = c.id AND a.status = 'active') AS active, \
             (SELECT COUNT(*) FROM accounts a WHERE a.workspace_id = c.workspace_id AND a.client_id = c.id AND a.status = 'inactive') AS inactive, \
             (SELECT COUNT(*) FROM accounts a WHERE a.workspace_id = c.workspace_id AND a.client_id = c.id AND a.status = 'failed') AS failed \
             FROM clients c WHERE c.workspace_id = $1 ORDER BY c.name_key, c.id",
        )
        .bind(workspace.to_string());
        read_all(&self.pool, query, |row| {
            let count = |column: &str| -> StoreResult<u32> {
                let n: i64 = row.try_get(column)?;
                Ok(u32::try_from(n).unwrap_or(0))
            };
            let tally = StatusTally {
                active: count("active")?,
                inactive: count("inactive")?,
                failed: count("failed")?,
            };
            Ok((client_from_row(row)?, tally))
        })
        .await
    }

    async fn client_names(&self, workspace: WorkspaceId) -> StoreResult<Vec<(ClientId, String)>> {
        let query = sqlx::query("SELECT id, name FROM clients WHERE workspace_id = $1")
            .bind(workspace.to_string());
        read_all(&self.pool, query, |row| {
            let id: String = row.try_get("id")?;
            Ok((parse_stored("clients.id", &id)?, row.try_get("name")?))
        })
        .await
    }

    async fn client(&self, workspace: WorkspaceId, id: ClientId) -> StoreResult<Option<Client>> {
        let query = sqlx::query("SELECT * FROM clients WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string());
        read_optional(&self.pool, query, client_from_row).await
    }

    async fn update_client(
        &self,
        workspace: WorkspaceId,
        id: ClientId,
        name: Option<&ClientName>,
        colour: Option<Option<&Colour>>,
    ) -> StoreResult<Option<Client>> {
        let mut tx = self.begin_write().await?;
        if let Some(name) = name {
            sqlx::query(
                "UPDATE clients SET name = $1, name_key = $2 WHERE workspace_id = $3 AND id = $4",
            )
            .bind(name.as_str())
            .bind(name.key())
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await
            .map_err(duplicate("client"))?;
        }
        if let Some(colour) = colour {
            sqlx::query("UPDATE clients SET colour = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(colour.map(Colour::as_str))
                .bind(workspace.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let updated = sqlx::query("SELECT * FROM clients WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .as_ref()
            .map(client_from_row)
            .transpose()?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_client(&self, workspace: WorkspaceId, id: ClientId) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        // Said here rather than left to the foreign key, so that it holds whether or not the database
        // enforces foreign keys.
        sqlx::query(
            "UPDATE accounts SET client_id = NULL WHERE workspace_id = $1 AND client_id = $2",
        )
        .bind(workspace.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM clients WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn set_account_client(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        client: Option<ClientId>,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>> {
        let mut tx = self.begin_write().await?;
        if let Some(client) = client {
            let owned = sqlx::query("SELECT id FROM clients WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.to_string())
                .bind(client.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            if owned.is_none() {
                return Ok(None);
            }
        }
        let changed =
            sqlx::query("UPDATE accounts SET client_id = $1 WHERE workspace_id = $2 AND id = $3")
                .bind(client.map(|c| c.to_string()))
                .bind(workspace.to_string())
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        if changed.rows_affected() != 1 {
            return Ok(None);
        }
        insert_event(&mut tx, event).await?;
        let updated = fetch_account(&mut tx, workspace, account).await?;
        tx.commit().await?;
        Ok(updated)
    }
}

fn client_from_row(row: &<Db as sqlx::Database>::Row) -> StoreResult<Client> {
    let name: String = row.try_get("name")?;
    let colour: Option<String> = row.try_get("colour")?;
    Ok(Client {
        id: parse_stored("clients.id", &row.try_get::<String, _>("id")?)?,
        workspace_id: parse_stored(
            "clients.workspace_id",
            &row.try_get::<String, _>("workspace_id")?,
        )?,
        name: ClientName::parse(&name).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        colour: colour
            .map(|c| Colour::parse(&c))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: from_micros(row.try_get("created_at")?),
    })
}
