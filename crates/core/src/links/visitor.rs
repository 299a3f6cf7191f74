//! The owner's side of a link, reached with its token and no sign-in: see what the link is for, go
//! through the platform's consent, choose what to connect, and (on a client's access page) read what the
//! agency holds, reconnect an account or ask that it be removed.
//!
//! Every refusal of a token is the same `NotFound("link")`: a stranger cannot tell an unknown link from an
//! expired, revoked or used-up one. The agency can, in the link's log.

use super::LinkState;
use crate::accounts::{ListAccounts, MAX_PAGE};
use crate::auth::limits::{address_key, seconds};
use crate::connections::{Callback, ConnectionView, FailureKind, StartedConnection};
use crate::secrets::digest;
use crate::{Caller, Core, CoreError};
use iquivity_domain::{Account, AccountId, AlertKind, Client, LinkKind, PermissionInfo, Platform};
use iquivity_store::{
    AccountSort, FlowRecord, FlowStage, LinkOutcome, LinkRecord, LinkUseRecord, LinkedAccount,
    SortKey,
};
use std::net::IpAddr;

/// A usable link as its page shows it.
pub struct LinkVisit {
    pub link: LinkRecord,
    pub workspace_name: String,
    pub client_name: Option<String>,
    /// The account a reconnect link is for.
    pub account: Option<Account>,
    /// What a connect link offers: its platforms that this server has, or all of those.
    pub platforms: Vec<Platform>,
}

/// A sign-in started from a link, as its holder's page shows it.
pub struct LinkFlowView {
    pub view: ConnectionView,
    /// The room the plan has left on the flow's platform (`None`: no limit).
    pub room: Option<u32>,
    pub workspace_name: String,
    /// The names of the accounts connected, once it is done.
    pub connected: Vec<String>,
    /// Whether the holder came from a client's access page (which shows what is held).
    pub access_page_offered: bool,
}

/// A client's access page: its accounts, with what was granted and by whom.
pub struct AccessView {
    pub workspace_name: String,
    pub client: Client,
    pub accounts: Vec<AccessAccount>,
}

pub struct AccessAccount {
    pub account: Account,
    /// Who connected it: a member's email, or its owner through a link.
    pub connected_by: String,
    /// Each permission the platform is asked for, what it is used for, and whether it was granted.
    pub permissions: Vec<(PermissionInfo, bool)>,
}

/// Why a link-started sign-in connected nothing before consent was even looked at.
const LINK_GONE: &str = "This link has already been used, or has expired or been withdrawn, so nothing was connected. Ask the agency for a new link.";

impl Core {
    /// Counts a request to a link page from `client`; refused past the address's allowance.
    pub async fn count_link_request(&self, client: Option<IpAddr>) -> Result<(), CoreError> {
        let Some(client) = client else {
            return Ok(());
        };
        let now = chrono::Utc::now();
        let window = self.settings.login_window;
        let requests = self
            .store
            .count_login_attempt(&address_key("link-ip", client), now - window, now)
            .await?;
        if requests > self.settings.link_requests_per_address {
            tracing::warn!(client = %client, "link page refused: too many requests from this address");
            return Err(CoreError::RateLimited {
                retry_after_secs: seconds(window),
            });
        }
        Ok(())
    }

    /// Adds to a link's log.
    async fn log_link(
        &self,
        link: &LinkRecord,
        outcome: LinkOutcome,
        platform: Option<Platform>,
        accounts: Vec<LinkedAccount>,
        detail: Option<String>,
    ) -> Result<(), CoreError> {
        self.store
            .record_link_use(&LinkUseRecord {
                id: uuid::Uuid::now_v7(),
                link_id: link.id,
                at: self.clock.now(),
                outcome,
                platform,
                accounts,
                detail,
            })
            .await?;
        Ok(())
    }

    /// The name of the link's workspace, as its pages show it.
    async fn link_workspace_name(&self, link: &LinkRecord) -> Result<String, CoreError> {
        Ok(self
            .store
            .workspace(link.workspace_id)
            .await?
            .map(|w| w.name)
            .unwrap_or_default())
    }

    /// The link's creator as the caller its uses act as, while they may still manage accounts there.
    async fn link_caller(&self, link: &LinkRecord) -> Result<Caller, CoreError> {
        let role = self
            .store
            .memberships_of(link.created_by)
            .await?
            .into_iter()
            .find(|(workspace, _)| workspace.id == link.workspace_id)
            .map(|(_, role)| role);
        let user = self.store.user_by_id(link.created_by).await?;
        match (role, user) {
            (Some(role), Some(user)) if role.can_manage_accounts() => Ok(Caller {
                user_id: user.id,
                email: user.email,
                workspace_id: link.workspace_id,
                role,
            }),
            _ => {
                tracing::info!(link_id = %link.id, "link refused: its creator may no longer manage accounts");
                Err(CoreError::NotFound("link"))
            }
        }
    }

    /// The link a token opens, if it can still be used; a refusal of a known link goes to its log.
    async fn usable_link(&self, token: &str) -> Result<(LinkRecord, Caller), CoreError> {
        let link = self
            .store
            .link_by_token(&digest(token))
            .await?
            .ok_or(CoreError::NotFound("link"))?;
        if let Some(refused) = link.refusal(self.clock.now()) {
            self.log_link(&link, refused, None, Vec::new(), None)
                .await?;
            return Err(CoreError::NotFound("link"));
        }
        let caller = self.link_caller(&link).await?;
        Ok((link, caller))
    }

    /// What a link's page shows.
    pub async fn visit_link(&self, token: &str) -> Result<LinkVisit, CoreError> {
        let (link, caller) = self.usable_link(token).await?;
        let workspace_name = self.link_workspace_name(&link).await?;
        let client_name = match link.client_id {
            Some(id) => self
                .store
                .client(link.workspace_id, id)
                .await?
                .map(|c| c.name.as_str().to_string()),
            None => None,
        };
        let account = match link.account_id {
            Some(id) => Some(self.account(&caller, id).await?),
            None => None,
        };
        let platforms = if link.platforms.is_empty() {
            Platform::ALL
                .into_iter()
                .filter(|p| self.platforms.get(*p).is_some())
                .collect()
        } else {
            link.platforms.clone()
        };
        Ok(LinkVisit {
            link,
            workspace_name,
            client_name,
            account,
            platforms,
        })
    }

    /// Sends the link's holder to the platform's consent: for a connect link, on one of its platforms
    /// (refused here when the plan has no room, before any consent); for a reconnect link, as its account;
    /// on an access page, to reconnect one of the client's accounts.
    pub async fn start_link_connection(
        &self,
        token: &str,
        platform: Platform,
        account: Option<AccountId>,
    ) -> Result<StartedConnection, CoreError> {
        let visit = self.visit_link(token).await?;
        let link = &visit.link;
        let caller = self.link_caller(link).await?;
        let reconnect = match link.kind {
            LinkKind::Connect => {
                if !visit.platforms.contains(&platform) {
                    return Err(CoreError::invalid(
                        "platform",
                        format!("this link does not offer {}", platform.display_name()),
                    ));
                }
                if let Some(why) = self.room_on(&caller, platform).await?.why_full {
                    return Err(CoreError::PlanLimit(why));
                }
                None
            }
            LinkKind::Reconnect => visit.account.as_ref().map(|a| a.id),
            LinkKind::Access => {
                let id = account.ok_or(CoreError::NotFound("account"))?;
                let account = self.account(&caller, id).await?;
                if account.client_id != link.client_id {
                    return Err(CoreError::NotFound("account"));
                }
                Some(account.id)
            }
        };
        if let Some(id) = reconnect {
            let account = self.account(&caller, id).await?;
            if account.platform != platform {
                return Err(CoreError::NotFound("account"));
            }
        }
        self.begin_flow(&caller, None, platform, reconnect, Some(link.id))
            .await
    }

    /// Finishes a consent started from a link, when the state is a link's (`None` otherwise: the
    /// signed-in path takes it). The use is counted before anything is connected, so of two holders of a
    /// single-use link only one connects; a consent that connects nothing gives the use back.
    pub async fn finish_link_connection(
        &self,
        callback: &Callback<'_>,
    ) -> Result<Option<FlowRecord>, CoreError> {
        let Some(state) = callback.state else {
            return Ok(None);
        };
        let Some(flow) = self.store.flow_by_state(&digest(state)).await? else {
            return Ok(None);
        };
        let (Some(link_id), true) = (flow.link_id, flow.platform == callback.platform) else {
            return Ok(None);
        };
        let link = self
            .store
            .link(flow.workspace_id, link_id)
            .await?
            .ok_or(CoreError::NotFound("link"))?;
        let caller = self.link_caller(&link).await?;
        let now = self.clock.now();
        if !self.store.claim_link_use(link.id, now).await? {
            let outcome = link.refusal(now).unwrap_or(LinkOutcome::UsedUp);
            self.log_link(&link, outcome, Some(flow.platform), Vec::new(), None)
                .await?;
            let mut refused = flow;
            refused.stage = FlowStage::Failed;
            refused.error = Some(LINK_GONE.into());
            self.store
                .advance_flow(&refused, FlowStage::Authorizing)
                .await?;
            return Ok(Some(refused));
        }
        let outcome = match self.consent_given(&caller, flow, callback).await {
            Ok(outcome) => outcome,
            Err(err) => {
                self.store.release_link_use(link.id).await?;
                return Err(err);
            }
        };
        match outcome.flow.stage {
            FlowStage::Done => {
                self.log_connected(
                    &link,
                    &caller,
                    &outcome.flow.connected,
                    outcome.flow.platform,
                )
                .await?;
            }
            FlowStage::Failed => {
                self.store.release_link_use(link.id).await?;
                if outcome.failed_as == Some(FailureKind::WrongAccount) {
                    self.log_link(
                        &link,
                        LinkOutcome::WrongAccount,
                        Some(outcome.flow.platform),
                        Vec::new(),
                        outcome.flow.error.clone(),
                    )
                    .await?;
                }
            }
            FlowStage::Selecting | FlowStage::Authorizing => {}
        }
        Ok(Some(outcome.flow))
    }

    async fn log_connected(
        &self,
        link: &LinkRecord,
        caller: &Caller,
        connected: &[AccountId],
        platform: Platform,
    ) -> Result<(), CoreError> {
        let mut accounts = Vec::new();
        for id in connected {
            let account = self.account(caller, *id).await?;
            accounts.push(LinkedAccount {
                id: account.id,
                display_name: account.display_name,
            });
        }
        self.log_link(link, LinkOutcome::Connected, Some(platform), accounts, None)
            .await
    }

    /// The link and the flow it started, for the holder's browser that carries the link's token. The
    /// outcome stays readable after the link is used up; a revoked link shows nothing more.
    async fn link_flow(
        &self,
        token: &str,
        flow_id: uuid::Uuid,
    ) -> Result<(LinkRecord, Caller), CoreError> {
        let link = self
            .store
            .link_by_token(&digest(token))
            .await?
            .filter(|l| l.revoked_at.is_none())
            .ok_or(CoreError::NotFound("connection"))?;
        let flow = self
            .store
            .flow(link.workspace_id, flow_id)
            .await?
            .filter(|f| f.link_id == Some(link.id))
            .ok_or(CoreError::NotFound("connection"))?;
        let caller = self.link_caller(&link).await?;
        debug_assert_eq!(flow.workspace_id, caller.workspace_id);
        Ok((link, caller))
    }

    /// A link-started flow as its holder sees it: the outcome, or the choice of what to connect.
    pub async fn link_connection(
        &self,
        token: &str,
        flow_id: uuid::Uuid,
    ) -> Result<LinkFlowView, CoreError> {
        let (link, caller) = self.link_flow(token, flow_id).await?;
        let view = self.connection(&caller, flow_id).await?;
        let room = self.room_on(&caller, view.platform).await?.left;
        let mut connected = Vec::new();
        for id in &view.connected {
            if let Some(account) = self.store.account(link.workspace_id, *id).await? {
                connected.push(account.display_name);
            }
        }
        Ok(LinkFlowView {
            workspace_name: self.link_workspace_name(&link).await?,
            access_page_offered: link.kind == LinkKind::Access,
            view,
            room,
            connected,
        })
    }

    /// Connects what the link's holder chose (within the plan, checked again as each is stored).
    pub async fn select_link_targets(
        &self,
        token: &str,
        flow_id: uuid::Uuid,
        chosen: &[String],
    ) -> Result<Vec<Account>, CoreError> {
        let (link, caller) = self.link_flow(token, flow_id).await?;
        if LinkState::of(&link, self.clock.now()) == LinkState::Expired {
            return Err(CoreError::NotFound("connection"));
        }
        let accounts = self.select_targets(&caller, flow_id, chosen).await?;
        let ids: Vec<AccountId> = accounts.iter().map(|a| a.id).collect();
        if let Some(first) = accounts.first() {
            self.log_connected(&link, &caller, &ids, first.platform)
                .await?;
        }
        Ok(accounts)
    }

    /// An access link's page: the client's accounts, each with what was granted and by whom.
    pub async fn access_view(&self, token: &str) -> Result<(LinkRecord, AccessView), CoreError> {
        let (link, caller) = self.usable_link(token).await?;
        let client_id = match (link.kind, link.client_id) {
            (LinkKind::Access, Some(client)) => client,
            _ => return Err(CoreError::NotFound("link")),
        };
        let client = self
            .store
            .client(link.workspace_id, client_id)
            .await?
            .ok_or(CoreError::NotFound("link"))?;
        let workspace_name = self.link_workspace_name(&link).await?;
        let members = self.store.members(link.workspace_id).await?;
        let mut accounts = Vec::new();
        for account in self.client_accounts(&caller, client.id).await? {
            let connected_by = match (account.connected_via_link, account.connected_by) {
                (Some(_), _) => "You, through a link from the agency".to_string(),
                (None, Some(user)) => members
                    .iter()
                    .find(|(id, _, _)| *id == user)
                    .map(|(_, email, _)| email.clone())
                    .unwrap_or_else(|| "A former member of the agency".into()),
                (None, None) => "The agency".into(),
            };
            let permissions = iquivity_platforms::descriptor(account.platform)
                .info()
                .permissions
                .iter()
                .map(|p| (p.clone(), account.scopes.iter().any(|s| s == p.scope)))
                .collect();
            accounts.push(AccessAccount {
                account,
                connected_by,
                permissions,
            });
        }
        Ok((
            link,
            AccessView {
                workspace_name,
                client,
                accounts,
            },
        ))
    }

    async fn client_accounts(
        &self,
        caller: &Caller,
        client: iquivity_domain::ClientId,
    ) -> Result<Vec<Account>, CoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list_accounts(
                    caller,
                    ListAccounts {
                        q: None,
                        platforms: Vec::new(),
                        statuses: Vec::new(),
                        created_from: None,
                        created_before: None,
                        owner: None,
                        label: None,
                        clients: vec![client],
                        without_client: false,
                        sort: AccountSort {
                            key: SortKey::Name,
                            descending: false,
                        },
                        limit: MAX_PAGE,
                        cursor,
                        tz_offset_minutes: 0,
                    },
                )
                .await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// "Ask to remove" on the access page: the workspace is told (in-app and by webhook) and the request
    /// is in the link's log; removing stays the agency's act.
    pub async fn request_removal(
        &self,
        token: &str,
        account: AccountId,
    ) -> Result<Account, CoreError> {
        let (link, view) = self.access_view(token).await?;
        let account = view
            .accounts
            .into_iter()
            .map(|a| a.account)
            .find(|a| a.id == account)
            .ok_or(CoreError::NotFound("account"))?;
        self.alert(&account, AlertKind::RemovalRequested, None)
            .await?;
        self.log_link(
            &link,
            LinkOutcome::RemovalRequested,
            Some(account.platform),
            vec![LinkedAccount {
                id: account.id,
                display_name: account.display_name.clone(),
            }],
            None,
        )
        .await?;
        tracing::info!(link_id = %link.id, account_id = %account.id, "removal requested through an access link");
        Ok(account)
    }
}
