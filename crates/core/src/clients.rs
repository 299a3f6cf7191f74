//! Clients: the customers an agency manages accounts for. Owners and admins create, rename, recolour and
//! remove them; everyone in the workspace sees them. Removing a client keeps its accounts, unassigned.

use crate::accounts::StatusCounts;
use crate::{Caller, Core, CoreError};
use iquivity_domain::{Client, ClientId, ClientName, Colour, ValidationError};
use iquivity_store::StoreError;

/// A client with how many accounts it has, in all and in each status.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ClientSummary {
    #[serde(flatten)]
    pub client: Client,
    pub accounts: u32,
    pub active: u32,
    pub inactive: u32,
    pub failed: u32,
}

impl ClientSummary {
    pub fn counts(&self) -> StatusCounts {
        StatusCounts {
            total: self.accounts,
            active: self.active,
            inactive: self.inactive,
            failed: self.failed,
        }
    }
}

/// A change to a client; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct ClientPatch {
    pub name: Option<String>,
    /// `Some(None)` clears the colour.
    pub colour: Option<Option<String>>,
}

/// A duplicate name is the person's mistake, said next to the field.
fn named_twice(err: StoreError, name: &ClientName) -> CoreError {
    match err {
        StoreError::Duplicate(_) => CoreError::invalid(
            "name",
            format!("a client named {:?} already exists", name.as_str()),
        ),
        other => other.into(),
    }
}

impl Core {
    pub async fn create_client(
        &self,
        caller: &Caller,
        name: &str,
        colour: Option<&str>,
    ) -> Result<Client, CoreError> {
        caller.require_manage_accounts()?;
        let mut errors = Vec::new();
        let name = ClientName::parse(name).map_err(|e| errors.push(e)).ok();
        let colour = colour
            .map(Colour::parse)
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let Some(name) = name.filter(|_| errors.is_empty()) else {
            return Err(CoreError::Validation(errors));
        };
        let client = Client {
            id: ClientId::new(),
            workspace_id: caller.workspace_id,
            name,
            colour,
            created_at: self.clock.now(),
        };
        self.store
            .create_client(&client)
            .await
            .map_err(|e| named_twice(e, &client.name))?;
        Ok(client)
    }

    pub async fn clients(&self, caller: &Caller) -> Result<Vec<ClientSummary>, CoreError> {
        Ok(self
            .store
            .clients(caller.workspace_id)
            .await?
            .into_iter()
            .map(|(client, tally)| ClientSummary {
                client,
                accounts: tally.total(),
                active: tally.active,
                inactive: tally.inactive,
                failed: tally.failed,
            })
            .collect())
    }

    pub async fn client(&self, caller: &Caller, id: ClientId) -> Result<Client, CoreError> {
        self.store
            .client(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("client"))
    }

    pub async fn update_client(
        &self,
        caller: &Caller,
        id: ClientId,
        patch: &ClientPatch,
    ) -> Result<Client, CoreError> {
        // Existence first: another workspace's client is a 404 whatever the role.
        self.client(caller, id).await?;
        caller.require_manage_accounts()?;
        let mut errors: Vec<ValidationError> = Vec::new();
        let name = patch
            .name
            .as_deref()
            .map(ClientName::parse)
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten();
        let colour = match &patch.colour {
            Some(Some(raw)) => Colour::parse(raw)
                .map(Some)
                .map_err(|e| errors.push(e))
                .ok(),
            Some(None) => Some(None),
            None => None,
        };
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let updated = self
            .store
            .update_client(
                caller.workspace_id,
                id,
                name.as_ref(),
                colour.as_ref().map(Option::as_ref),
            )
            .await;
        let updated = match (updated, &name) {
            (Err(err), Some(name)) => return Err(named_twice(err, name)),
            (other, _) => other?,
        };
        updated.ok_or(CoreError::NotFound("client"))
    }

    pub async fn delete_client(&self, caller: &Caller, id: ClientId) -> Result<(), CoreError> {
        self.client(caller, id).await?;
        caller.require_manage_accounts()?;
        if self.store.delete_client(caller.workspace_id, id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("client"))
        }
    }
}
