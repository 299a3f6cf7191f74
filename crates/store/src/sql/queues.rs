//! The SQL behind [`crate::QueueStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

#[async_trait]
impl QueueStore for SqlStore<Db> {
    async fn set_queue(&self, queue: &QueueRecord) -> StoreResult<bool> {
        let (owners, table, column, id) = queue_place(queue.owner);
        let mut tx = self.begin_write().await?;
        let owned = sqlx::query(&format!(
            "SELECT id FROM {owners} WHERE workspace_id = $1 AND id = $2"
        ))
        .bind(queue.workspace_id.to_string())
        .bind(&id)
        .fetch_optional(&mut *tx)
        .await?;
        if owned.is_none() {
            return Ok(false);
        }
        sqlx::query(&format!(
            "INSERT INTO {table} ({column}, workspace_id, time_zone, slots, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT ({column}) DO UPDATE SET time_zone = excluded.time_zone, slots = excluded.slots, \
             updated_at = excluded.updated_at"
        ))
        .bind(&id)
        .bind(queue.workspace_id.to_string())
        .bind(&queue.time_zone)
        .bind(to_json(&queue.slots)?)
        .bind(micros(queue.updated_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn queue(
        &self,
        workspace: WorkspaceId,
        owner: QueueOwner,
    ) -> StoreResult<Option<QueueRecord>> {
        let (_, table, column, id) = queue_place(owner);
        let sql = format!("SELECT * FROM {table} WHERE workspace_id = $1 AND {column} = $2");
        let query = sqlx::query(&sql).bind(workspace.to_string()).bind(&id);
        read_optional(&self.pool, query, |row| {
            Ok(QueueRecord {
                owner,
                workspace_id: parsed(row, "workspace_id")?,
                time_zone: row.try_get("time_zone")?,
                slots: json_column(row, "slots")?,
                updated_at: from_micros(row.try_get("updated_at")?),
            })
        })
        .await
    }
}

/// Where an owner's posting times are kept: the table of owners, the queue's table and key column, and the
/// owner's id.
fn queue_place(owner: QueueOwner) -> (&'static str, &'static str, &'static str, String) {
    match owner {
        QueueOwner::Account(id) => ("accounts", "posting_queues", "account_id", id.to_string()),
        QueueOwner::Client(id) => ("clients", "client_queues", "client_id", id.to_string()),
    }
}
