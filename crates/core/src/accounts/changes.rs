//! Changes to an account: labels and name, status, and recording a finished connection.

use super::{AccountPatch, NewConnection};
use crate::credentials::seal;
use crate::{Caller, Core, CoreError};
use chrono::Utc;
use iquivity_domain::{Account, AccountId, AccountStatus, AlertKind, Labels, NameOverride};
use iquivity_store::{
    AccountUpsert, AuditEventRecord, AuditKind, LinkRecord, StoredCredential, UpsertOutcome,
};

impl Core {
    pub async fn update_account(
        &self,
        caller: &Caller,
        id: AccountId,
        patch: AccountPatch,
    ) -> Result<Account, CoreError> {
        // Existence first: another workspace's account is a 404 for everyone, whatever their role.
        let current = self.account(caller, id).await?;
        caller.require_manage_accounts()?;
        let mut errors = Vec::new();
        let labels = match &patch.labels {
            Some(raw) => Labels::parse(raw).map_err(|e| errors.push(e)).ok(),
            None => None,
        };
        let name = match &patch.display_name {
            Some(Some(raw)) => NameOverride::parse(raw)
                .map(Some)
                .map_err(|e| errors.push(e))
                .ok(),
            Some(None) => Some(None),
            None => None,
        };
        if let Some(Some(client)) = patch.client_id {
            if self
                .store
                .client(caller.workspace_id, client)
                .await?
                .is_none()
            {
                errors.push(iquivity_domain::ValidationError::new(
                    "client_id",
                    "no such client in this workspace",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        if labels.is_none() && name.is_none() && patch.client_id.is_none() {
            return Err(CoreError::invalid(
                "body",
                "give labels, display_name and/or client_id to change",
            ));
        }
        let mut updated = current.clone();
        if labels.is_some() || name.is_some() {
            let kind = if labels.is_some() {
                AuditKind::LabelsChanged
            } else {
                AuditKind::Renamed
            };
            let event = self.account_event(caller, id, kind, serde_json::json!({
                "labels": labels.as_ref().map(Labels::to_strings),
                "previous_labels": labels.as_ref().map(|_| current.labels.to_strings()),
                "display_name": name.as_ref().map(|n| n.as_ref().map(|n| n.as_str().to_string())),
            }));
            let name_ref = name.as_ref().map(|n| n.as_ref().map(NameOverride::as_str));
            updated = self
                .store
                .update_account_profile(caller.workspace_id, id, labels.as_ref(), name_ref, &event)
                .await?
                .ok_or(CoreError::NotFound("account"))?;
        }
        if let Some(client) = patch.client_id {
            let event = self.account_event(
                caller,
                id,
                AuditKind::ClientChanged,
                serde_json::json!({ "client_id": client, "previous_client_id": current.client_id }),
            );
            updated = self
                .store
                .set_account_client(caller.workspace_id, id, client, &event)
                .await?
                .ok_or_else(|| {
                    // The client was removed between the check above and now.
                    CoreError::invalid("client_id", "no such client in this workspace")
                })?;
        }
        Ok(updated)
    }

    /// An audit event about one account, by the caller, now.
    fn account_event(
        &self,
        caller: &Caller,
        id: AccountId,
        kind: AuditKind,
        details: serde_json::Value,
    ) -> AuditEventRecord {
        AuditEventRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: caller.workspace_id,
            account_id: Some(id),
            actor_id: Some(caller.user_id),
            kind,
            details,
            at: Utc::now(),
        }
    }

    /// Records a new status for an account, with an audit event when it actually changes.
    pub async fn change_account_status(
        &self,
        workspace: iquivity_domain::WorkspaceId,
        id: AccountId,
        reason: Option<iquivity_domain::StatusReason>,
        message: Option<String>,
    ) -> Result<Account, CoreError> {
        let status = reason.map_or(AccountStatus::Active, |r| r.status());
        let now = self.clock.now();
        let before = self
            .store
            .account(workspace, id)
            .await?
            .ok_or(CoreError::NotFound("account"))?;
        let recovered = status == AccountStatus::Active && before.status != AccountStatus::Active;
        let event = AuditEventRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: workspace,
            account_id: Some(id),
            actor_id: None,
            kind: AuditKind::StatusChanged,
            details: serde_json::json!({
                "status": status,
                "reason": reason,
                "message": message,
                "previous": before.status,
                "recovered": recovered,
            }),
            at: now,
        };
        let change = iquivity_store::StatusChange {
            status,
            reason,
            message,
            at: now,
        };
        let after = self
            .store
            .set_account_status(workspace, id, &change, &event)
            .await?
            .ok_or(CoreError::NotFound("account"))?;
        if before.status != after.status || before.status_reason != after.status_reason {
            let kind = if recovered {
                AlertKind::Recovered
            } else {
                AlertKind::StatusChanged
            };
            self.alert(&after, kind, None).await?;
        }
        Ok(after)
    }

    /// Stores a finished connection: a new account (within the plan) or an update of the same platform
    /// account, with its tokens sealed in the same transaction.
    pub async fn record_connection(
        &self,
        caller: &Caller,
        connection: NewConnection,
    ) -> Result<UpsertOutcome, CoreError> {
        caller.require_manage_accounts()?;
        self.store_connection(caller, connection, None).await
    }

    /// Stores fresh consent for an account already in the workspace: part of Refresh, which members may do.
    pub(crate) async fn record_reconnection(
        &self,
        caller: &Caller,
        connection: NewConnection,
    ) -> Result<UpsertOutcome, CoreError> {
        self.store_connection(caller, connection, None).await
    }

    /// Stores a connection (or reconnection) made by an account's owner through `link`: the account names
    /// the link and joins the link's client unless it has one.
    pub(crate) async fn record_link_connection(
        &self,
        caller: &Caller,
        connection: NewConnection,
        link: &LinkRecord,
    ) -> Result<UpsertOutcome, CoreError> {
        self.store_connection(caller, connection, Some(link)).await
    }

    async fn store_connection(
        &self,
        caller: &Caller,
        connection: NewConnection,
        via_link: Option<&LinkRecord>,
    ) -> Result<UpsertOutcome, CoreError> {
        let upsert = AccountUpsert {
            id: AccountId::new(),
            workspace_id: caller.workspace_id,
            platform: connection.platform,
            kind: connection.kind,
            platform_account_id: connection.platform_account_id,
            display_name: connection.display_name,
            handle: connection.handle,
            avatar_url: connection.avatar_url,
            scopes: connection.scopes,
            status: AccountStatus::Active,
            status_reason: None,
            status_message: None,
            labels: Labels::parse(&connection.labels)?.to_strings(),
            connected_by: Some(caller.user_id),
            token_expires_at: connection.tokens.expires_at,
            sandbox: connection.sandbox,
            now: Utc::now(),
        };
        let vault = self.vault.clone();
        let tokens = connection.tokens;
        let schedule_with = tokens.clone();
        let sealer = move |account: AccountId| -> Result<StoredCredential, String> {
            seal(&vault, account, &tokens).map_err(|e| e.to_string())
        };
        let mut outcome = self.store.upsert_account(&upsert, Some(&sealer)).await?;
        if let Some(link) = via_link {
            outcome.account = self
                .store
                .mark_connected_via_link(
                    caller.workspace_id,
                    outcome.account.id,
                    link.id,
                    link.client_id,
                )
                .await?
                .ok_or(CoreError::NotFound("account"))?;
        }
        tracing::info!(
            account_id = %outcome.account.id,
            workspace_id = %caller.workspace_id,
            platform = %upsert.platform,
            created = outcome.created,
            "account connected"
        );
        self.store.clear_failures(outcome.account.id).await?;
        self.schedule(&outcome.account, &schedule_with).await?;
        self.keep_avatar(&outcome.account).await;
        if outcome.created {
            self.alert(&outcome.account, AlertKind::Connected, None)
                .await?;
        } else if outcome
            .previous_status
            .is_some_and(|before| before != AccountStatus::Active)
        {
            // Reconnected through consent: the newest notification must not keep saying it failed.
            self.alert(&outcome.account, AlertKind::Recovered, None)
                .await?;
        }
        Ok(outcome)
    }
}
