//! The SQL behind [`crate::ConnectionStore`], compiled once per backend (see [`crate::sql`]).

use super::*;

#[async_trait]
impl ConnectionStore for SqlStore<Db> {
    async fn create_flow(&self, flow: &FlowRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO connection_flows (id, state_hash, workspace_id, user_id, session_hash, platform, \
             reconnect_account_id, verifier_key_id, verifier_blob, stage, created_at, expires_at, link_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(flow.id.to_string())
        .bind(&flow.state_hash)
        .bind(flow.workspace_id.to_string())
        .bind(flow.user_id.to_string())
        .bind(&flow.session_hash)
        .bind(flow.platform.as_str())
        .bind(flow.reconnect_account_id.map(|a| a.to_string()))
        .bind(flow.verifier.as_ref().map(|v| v.key_id.clone()))
        .bind(flow.verifier.as_ref().map(|v| v.blob.clone()))
        .bind(flow.stage.as_str())
        .bind(micros(flow.created_at))
        .bind(micros(flow.expires_at))
        .bind(flow.link_id.map(|l| l.to_string()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn flow_by_state(&self, state_hash: &str) -> StoreResult<Option<FlowRecord>> {
        let query =
            sqlx::query("SELECT * FROM connection_flows WHERE state_hash = $1").bind(state_hash);
        read_optional(&self.pool, query, flow_from_row).await
    }

    async fn flow(
        &self,
        workspace: WorkspaceId,
        id: uuid::Uuid,
    ) -> StoreResult<Option<FlowRecord>> {
        let query =
            sqlx::query("SELECT * FROM connection_flows WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.to_string())
                .bind(id.to_string());
        read_optional(&self.pool, query, flow_from_row).await
    }

    async fn claim_flow_state(&self, id: uuid::Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        changed_one(&self.pool, sqlx::query(
            "UPDATE connection_flows SET state_used_at = $1 WHERE id = $2 AND state_used_at IS NULL AND expires_at > $3",
        )
        .bind(micros(now))
        .bind(id.to_string())
        .bind(micros(now))).await
    }

    async fn advance_flow(&self, flow: &FlowRecord, from: FlowStage) -> StoreResult<bool> {
        let connected = to_json(&flow.connected)?;
        changed_one(&self.pool, sqlx::query(
            "UPDATE connection_flows SET stage = $1, candidates_key_id = $2, candidates_blob = $3, error = $4, \
             connected = $5, expires_at = $6, verifier_key_id = NULL, verifier_blob = NULL \
             WHERE id = $7 AND stage = $8",
        )
        .bind(flow.stage.as_str())
        .bind(flow.candidates.as_ref().map(|c| c.key_id.clone()))
        .bind(flow.candidates.as_ref().map(|c| c.blob.clone()))
        .bind(&flow.error)
        .bind(connected)
        .bind(micros(flow.expires_at))
        .bind(flow.id.to_string())
        .bind(from.as_str())).await
    }
}
