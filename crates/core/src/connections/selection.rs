//! Choosing what to connect after consent: the Pages / organisations the login can manage, within the
//! plan's room.

use super::{Candidate, ConnectionView, SealedCandidates};
use crate::accounts::NewConnection;
use crate::credentials::open_bytes;
use crate::{Caller, Core, CoreError};
use iquivity_domain::{Account, AccountId, Platform};
use iquivity_platforms::Target;
use iquivity_store::{FlowRecord, FlowStage, LinkRecord};

impl Core {
    pub(super) async fn connect_target(
        &self,
        caller: &Caller,
        flow: &FlowRecord,
        target: Target,
        scopes: Vec<String>,
        reconnect: bool,
    ) -> Result<AccountId, CoreError> {
        let platform = flow.platform;
        let connection = NewConnection {
            platform,
            kind: target.kind,
            platform_account_id: target.platform_account_id,
            display_name: target.display_name,
            handle: target.handle,
            avatar_url: target.avatar_url,
            scopes,
            labels: Vec::new(),
            tokens: target.tokens,
            sandbox: self.is_sandbox(platform),
        };
        let outcome = match self.link_of(flow).await? {
            Some(link) => {
                self.record_link_connection(caller, connection, &link)
                    .await?
            }
            None if reconnect => self.record_reconnection(caller, connection).await?,
            None => self.record_connection(caller, connection).await?,
        };
        Ok(outcome.account.id)
    }

    /// The link a flow was started from, if it was.
    pub(crate) async fn link_of(&self, flow: &FlowRecord) -> Result<Option<LinkRecord>, CoreError> {
        match flow.link_id {
            Some(id) => Ok(self.store.link(flow.workspace_id, id).await?),
            None => Ok(None),
        }
    }

    fn open_candidates(&self, flow: &FlowRecord) -> Result<Option<SealedCandidates>, CoreError> {
        let Some(sealed) = &flow.candidates else {
            return Ok(None);
        };
        let bytes = open_bytes(&self.vault, &flow.id.to_string(), sealed)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CoreError::internal_from("flow candidates", e))
    }

    pub async fn connection(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<ConnectionView, CoreError> {
        let flow = self
            .store
            .flow(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("connection"))?;
        let mut candidates = Vec::new();
        if flow.stage == FlowStage::Selecting {
            if let Some(sealed) = self.open_candidates(&flow)? {
                for t in &sealed.targets {
                    let existing = self
                        .store
                        .account_by_platform_id(
                            caller.workspace_id,
                            flow.platform,
                            &t.platform_account_id,
                        )
                        .await?;
                    candidates.push(Candidate {
                        platform_account_id: t.platform_account_id.clone(),
                        kind: t.kind,
                        display_name: t.display_name.clone(),
                        handle: t.handle.clone(),
                        avatar_url: t.avatar_url.clone(),
                        publishable: t.publishable,
                        unavailable: t.unavailable.clone(),
                        connected_account_id: existing.map(|a| a.id),
                    });
                }
            }
        }
        Ok(ConnectionView {
            id: flow.id,
            platform: flow.platform,
            stage: flow.stage,
            error: flow.error,
            candidates,
            connected: flow.connected,
            expires_at: flow.expires_at,
        })
    }

    /// Connects the chosen targets. New ones must fit the plan (checked again per insert, atomically);
    /// ones already in the workspace are updated and never count against it.
    pub async fn select_targets(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
        chosen: &[String],
    ) -> Result<Vec<Account>, CoreError> {
        caller.require_manage_accounts()?;
        let mut flow = self
            .store
            .flow(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("connection"))?;
        if flow.user_id != caller.user_id {
            return Err(CoreError::Forbidden(
                "only the person who signed in to the platform can choose what to connect".into(),
            ));
        }
        match flow.stage {
            FlowStage::Selecting if flow.expires_at > self.clock.now() => {}
            FlowStage::Selecting => {
                return Err(CoreError::invalid(
                    "connection",
                    "the choice expired; add the account again",
                ));
            }
            _ => {
                return Err(CoreError::invalid(
                    "connection",
                    "this connection is not waiting for a choice",
                ));
            }
        }
        if chosen.is_empty() {
            return Err(CoreError::invalid(
                "targets",
                "choose at least one to connect",
            ));
        }
        let sealed = self
            .open_candidates(&flow)?
            .ok_or(CoreError::NotFound("connection"))?;
        let mut picked = Vec::new();
        for wanted in chosen {
            let target = sealed
                .targets
                .iter()
                .find(|t| &t.platform_account_id == wanted)
                .ok_or_else(|| {
                    CoreError::invalid("targets", format!("{wanted:?} is not one of the choices"))
                })?;
            if let Some(reason) = &target.unavailable {
                return Err(CoreError::invalid("targets", reason.clone()));
            }
            picked.push(target);
        }
        let mut new = 0u32;
        for target in &picked {
            if self
                .store
                .account_by_platform_id(
                    caller.workspace_id,
                    flow.platform,
                    &target.platform_account_id,
                )
                .await?
                .is_none()
            {
                new += 1;
            }
        }
        self.check_room_for(caller, flow.platform, new).await?;
        let link = self.link_of(&flow).await?;
        let mut accounts = Vec::new();
        for target in picked {
            let connection = NewConnection {
                platform: flow.platform,
                kind: target.kind,
                platform_account_id: target.platform_account_id.clone(),
                display_name: target.display_name.clone(),
                handle: target.handle.clone(),
                avatar_url: target.avatar_url.clone(),
                scopes: sealed.scopes.clone(),
                labels: Vec::new(),
                tokens: target.tokens(),
                sandbox: self.is_sandbox(flow.platform),
            };
            let outcome = match &link {
                Some(link) => {
                    self.record_link_connection(caller, connection, link)
                        .await?
                }
                None => self.record_connection(caller, connection).await?,
            };
            accounts.push(outcome.account);
        }
        flow.stage = FlowStage::Done;
        flow.candidates = None;
        flow.connected = accounts.iter().map(|a| a.id).collect();
        if !self.store.advance_flow(&flow, FlowStage::Selecting).await? {
            tracing::warn!(connection_id = %flow.id, "connection finished twice at once");
        }
        Ok(accounts)
    }

    /// Refuses a selection that cannot fit before anything is stored, naming the limit and the plan that lifts it.
    async fn check_room_for(
        &self,
        caller: &Caller,
        platform: Platform,
        new: u32,
    ) -> Result<(), CoreError> {
        if new == 0 {
            return Ok(());
        }
        let room = self.room_on(caller, platform).await?;
        match room.left {
            Some(0) => Err(CoreError::PlanLimit(room.why_full.unwrap_or_default())),
            Some(left) if new > left => Err(CoreError::PlanLimit(format!(
                "The {} plan has room for {left} more {} account(s) and {new} were chosen: untick {}, or change the plan.",
                room.plan.as_str(),
                platform.display_name(),
                new - left
            ))),
            _ => Ok(()),
        }
    }

    /// How many more accounts on `platform` the workspace's plan takes (`None`: no limit), and why not
    /// when it takes none.
    pub async fn room_on(&self, caller: &Caller, platform: Platform) -> Result<Room, CoreError> {
        let workspace = self
            .store
            .workspace(caller.workspace_id)
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        let total = self.store.count_accounts(caller.workspace_id, None).await?;
        let on_platform = self
            .store
            .count_accounts(caller.workspace_id, Some(platform))
            .await?;
        let limits = workspace.plan.limits();
        let left = [
            limits.max_accounts.map(|max| max.saturating_sub(total)),
            limits
                .max_accounts_per_platform
                .map(|max| max.saturating_sub(on_platform)),
        ]
        .into_iter()
        .flatten()
        .min();
        Ok(Room {
            plan: workspace.plan,
            left,
            why_full: workspace
                .plan
                .check_room(platform, total, on_platform)
                .err(),
        })
    }
}

/// What a workspace's plan has room for on one platform.
#[derive(Debug, Clone)]
pub struct Room {
    pub plan: iquivity_domain::Plan,
    /// More accounts it takes; `None`: no limit.
    pub left: Option<u32>,
    /// Why it takes none, when it does not.
    pub why_full: Option<String>,
}
