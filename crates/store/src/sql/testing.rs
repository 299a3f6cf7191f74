//! The SQL behind [`crate::TestSupport`], compiled once per backend (see [`crate::sql`]).

use super::accounts::insert_event;
use super::people::{insert_member, insert_user, insert_workspace};
use super::*;

#[async_trait]
impl TestSupport for SqlStore<Db> {
    async fn create_user(&self, user: &NewUser) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_user(&mut conn, user).await
    }

    async fn create_workspace(&self, workspace: &NewWorkspace, owner: UserId) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        insert_workspace(&mut tx, workspace, owner).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_member(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        role: Role,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_member(&mut conn, workspace, user, role, Utc::now()).await
    }

    async fn membership(&self, workspace: WorkspaceId, user: UserId) -> StoreResult<Option<Role>> {
        let role: Option<String> = sqlx::query_scalar(
            "SELECT role FROM memberships WHERE workspace_id = $1 AND user_id = $2",
        )
        .bind(workspace.to_string())
        .bind(user.to_string())
        .fetch_optional(&self.pool)
        .await?;
        role.map(|r| parse_stored("role", &r)).transpose()
    }

    async fn jobs_for_account(&self, account: AccountId) -> StoreResult<Vec<JobRecord>> {
        let query = sqlx::query("SELECT * FROM jobs WHERE account_id = $1 ORDER BY created_at, id")
            .bind(account.to_string());
        read_all(&self.pool, query, job_from_row).await
    }

    async fn checkpoint(&self) -> StoreResult<()> {
        if let Some(checkpoint) = Db::CHECKPOINT {
            sqlx::query(checkpoint).execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn append_event(&self, event: &AuditEventRecord) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await?;
        insert_event(&mut conn, event).await
    }
}
