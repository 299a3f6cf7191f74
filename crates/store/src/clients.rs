use crate::prelude::*;
use iquivity_domain::{Client, ClientId, ClientName, Colour};

/// A workspace's clients, and which client each account belongs to.
#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Fails with [`StoreError::Duplicate`] when the workspace has a client of that name (in any case).
    async fn create_client(&self, client: &Client) -> StoreResult<()>;
    /// The workspace's clients by name, each with how many of its accounts are in each status.
    async fn clients(&self, workspace: WorkspaceId) -> StoreResult<Vec<(Client, StatusTally)>>;
    /// The workspace's clients' ids and names only: what the search box compares words with.
    async fn client_names(&self, workspace: WorkspaceId) -> StoreResult<Vec<(ClientId, String)>>;
    async fn client(&self, workspace: WorkspaceId, id: ClientId) -> StoreResult<Option<Client>>;
    /// Renames or recolours a client (`colour: Some(None)` clears it); `None` when there is no such client.
    async fn update_client(
        &self,
        workspace: WorkspaceId,
        id: ClientId,
        name: Option<&ClientName>,
        colour: Option<Option<&Colour>>,
    ) -> StoreResult<Option<Client>>;
    /// Removes a client; its accounts stay, without a client.
    async fn delete_client(&self, workspace: WorkspaceId, id: ClientId) -> StoreResult<bool>;
    /// Assigns an account to a client of the same workspace, or to none, recording `event`; `None` when
    /// the account is not in the workspace, or the client is not.
    async fn set_account_client(
        &self,
        workspace: WorkspaceId,
        account: AccountId,
        client: Option<ClientId>,
        event: &AuditEventRecord,
    ) -> StoreResult<Option<Account>>;
}
