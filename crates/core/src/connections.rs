//! Connecting accounts: start an OAuth flow, finish it when the platform sends the person back, let them
//! choose Pages / organisations, and the Refresh action of docs/product.md#refresh (renew, or send the person
//! back to consent).

use crate::accounts::NewConnection;
use crate::credentials::{open_bytes, seal, seal_bytes};
use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError, ErrorChain};
use chrono::{DateTime, Utc};
use iquivity_domain::{Account, AccountId, AccountKind, Platform, TokenSet};
use iquivity_platforms::{
    missing_scopes, pkce, ErrorClass, PlatformAdapter, PlatformError, Target,
};
use iquivity_store::{AccountRefresh, FlowRecord, FlowStage};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use zeroize::Zeroize;

pub struct StartedConnection {
    pub id: uuid::Uuid,
    pub platform: Platform,
    pub authorize_url: String,
    pub expires_at: DateTime<Utc>,
}

/// What the platform's redirect carried.
pub struct Callback<'a> {
    pub platform: Platform,
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    pub error: Option<&'a str>,
    pub error_description: Option<&'a str>,
}

/// A connectable (or not) target as the selection step shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub platform_account_id: String,
    pub kind: AccountKind,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub publishable: bool,
    /// Why it cannot be connected and how to fix it; `null` when it can.
    pub unavailable: Option<String>,
    /// The account this target already is in the workspace (selecting it updates that account).
    pub connected_account_id: Option<AccountId>,
}

/// A flow as the server shows it (the API's JSON is the server's view of it).
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub id: uuid::Uuid,
    pub platform: Platform,
    pub stage: FlowStage,
    /// What went wrong, in words a person can act on (stage `failed`).
    pub error: Option<String>,
    pub candidates: Vec<Candidate>,
    pub connected: Vec<AccountId>,
    pub expires_at: DateTime<Utc>,
}

/// Why a renewal did not go through: the platform's answer, or this service's own part (its database or
/// its vault failed, or it declined to spend a refresh token it could not store the replacement of),
/// which says nothing about the platform and must never be counted against it.
#[derive(Debug)]
pub(crate) enum RenewError {
    Platform(PlatformError),
    Internal(CoreError),
}

impl From<CoreError> for RenewError {
    fn from(err: CoreError) -> Self {
        RenewError::Internal(err)
    }
}

impl From<iquivity_store::StoreError> for RenewError {
    fn from(err: iquivity_store::StoreError) -> Self {
        RenewError::Internal(err.into())
    }
}

pub enum RefreshOutcome {
    Refreshed(Account),
    /// Only the person can fix it: consent again through `authorize_url`, which reconnects this account.
    NeedsUser {
        account: Account,
        authorize_url: String,
        connection_id: uuid::Uuid,
    },
}

/// A target with its tokens, as sealed into the flow between consent and selection.
#[derive(Serialize, Deserialize)]
struct SealedTarget {
    kind: AccountKind,
    platform_account_id: String,
    display_name: String,
    handle: Option<String>,
    avatar_url: Option<String>,
    publishable: bool,
    unavailable: Option<String>,
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    refresh_expires_at: Option<DateTime<Utc>>,
    grant_token: Option<String>,
    issued_at: Option<DateTime<Utc>>,
}

impl Drop for SealedTarget {
    fn drop(&mut self) {
        self.access_token.zeroize();
        for token in [self.refresh_token.as_mut(), self.grant_token.as_mut()]
            .into_iter()
            .flatten()
        {
            token.zeroize();
        }
    }
}

#[derive(Serialize, Deserialize)]
struct SealedCandidates {
    scopes: Vec<String>,
    targets: Vec<SealedTarget>,
}

impl SealedTarget {
    fn from_target(t: &Target) -> Self {
        SealedTarget {
            kind: t.kind,
            platform_account_id: t.platform_account_id.clone(),
            display_name: t.display_name.clone(),
            handle: t.handle.clone(),
            avatar_url: t.avatar_url.clone(),
            publishable: t.publishable,
            unavailable: t.unavailable.clone(),
            access_token: t.tokens.access_token.expose_secret().to_string(),
            refresh_token: t
                .tokens
                .refresh_token
                .as_ref()
                .map(|s| s.expose_secret().to_string()),
            expires_at: t.tokens.expires_at,
            refresh_expires_at: t.tokens.refresh_expires_at,
            grant_token: t
                .tokens
                .grant_token
                .as_ref()
                .map(|s| s.expose_secret().to_string()),
            issued_at: t.tokens.issued_at,
        }
    }

    fn tokens(&self) -> TokenSet {
        TokenSet {
            access_token: SecretString::from(self.access_token.clone()),
            refresh_token: self.refresh_token.clone().map(SecretString::from),
            expires_at: self.expires_at,
            refresh_expires_at: self.refresh_expires_at,
            grant_token: self.grant_token.clone().map(SecretString::from),
            issued_at: self.issued_at,
        }
    }
}

fn platform_message(platform: Platform, err: &PlatformError) -> String {
    let name = platform.display_name();
    match &err.class {
        ErrorClass::Unavailable => format!(
            "{name} is unavailable right now ({}). Nothing was connected; try again in a few minutes, and check {name}'s status page if it persists.",
            err.message
        ),
        ErrorClass::RateLimited { .. } => format!(
            "{name} is limiting requests right now. Nothing was connected; try again in a few minutes."
        ),
        ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => format!(
            "{name} did not grant the permission(s) {}. Add the account again and allow every requested permission.",
            scopes.join(", ")
        ),
        _ => format!("{name} refused the connection: {}. Nothing was connected; try again.", err.message),
    }
}

/// What a failed connection tells the person: the error itself when it is meant for them; for a failure of
/// this service only that, since its details (a database's or the vault's words) are for the log.
fn told(err: CoreError) -> String {
    match err {
        CoreError::Internal { .. } => {
            tracing::error!(error = %ErrorChain(&err), "a connection failed on this service's side");
            "Something went wrong on our side, so nothing was connected. Try again in a moment; if it keeps happening, the administrator will find the details in the service's log.".into()
        }
        CoreError::PlanLimit(message) => message,
        other => other.to_string(),
    }
}

impl Core {
    pub(crate) fn adapter(
        &self,
        platform: Platform,
    ) -> Result<Arc<dyn PlatformAdapter>, CoreError> {
        self.platforms.get(platform).ok_or_else(|| {
            CoreError::invalid(
                "platform",
                format!(
                    "{} is not configured on this server",
                    platform.display_name()
                ),
            )
        })
    }

    pub fn redirect_uri(&self, platform: Platform) -> String {
        format!(
            "{}/oauth/{}/callback",
            self.settings.callback_base.trim_end_matches('/'),
            platform
        )
    }

    /// Whether accounts of this platform are connected through the local sandbox.
    pub fn is_sandbox(&self, platform: Platform) -> bool {
        self.platforms
            .get(platform)
            .is_some_and(|a| a.settings().sandbox)
    }

    /// Starts "Add New Account" (or, with `reconnect`, the consent that repairs one account).
    pub async fn start_connection(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        platform: Platform,
        reconnect: Option<AccountId>,
    ) -> Result<StartedConnection, CoreError> {
        match reconnect {
            Some(account) => {
                self.account(caller, account).await?;
            }
            None => caller.require_manage_accounts()?,
        }
        let adapter = self.adapter(platform)?;
        let id = uuid::Uuid::now_v7();
        let state = new_secret("");
        let verifier = adapter.uses_pkce().then(pkce::new_verifier);
        let challenge = verifier
            .as_ref()
            .map(|v| pkce::challenge(v.expose_secret()));
        let sealed_verifier = verifier
            .as_ref()
            .map(|v| seal_bytes(&self.vault, &id.to_string(), v.expose_secret().as_bytes()))
            .transpose()?;
        let now = Utc::now();
        let flow = FlowRecord {
            id,
            state_hash: digest(state.expose_secret()),
            workspace_id: caller.workspace_id,
            user_id: caller.user_id,
            session_hash: session_id.map(digest),
            platform,
            reconnect_account_id: reconnect,
            verifier: sealed_verifier,
            stage: FlowStage::Authorizing,
            candidates: None,
            error: None,
            connected: Vec::new(),
            created_at: now,
            expires_at: now + self.settings.connection_ttl,
            state_used_at: None,
        };
        self.store.create_flow(&flow).await?;
        tracing::info!(connection_id = %id, %platform, workspace_id = %caller.workspace_id, "connection started");
        Ok(StartedConnection {
            id,
            platform,
            authorize_url: adapter.authorize_url(
                state.expose_secret(),
                &self.redirect_uri(platform),
                challenge.as_deref(),
            ),
            expires_at: flow.expires_at,
        })
    }

    /// Finishes consent. Problems with the state itself are errors (there is no flow to attach them to);
    /// anything after that ends the flow `failed` with a message, storing no account.
    pub async fn finish_connection(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        callback: Callback<'_>,
    ) -> Result<FlowRecord, CoreError> {
        let invalid = |message: &str| CoreError::invalid("state", message);
        let state = callback.state.ok_or_else(|| {
            invalid("the platform sent you back without a state; start again from Add New Account")
        })?;
        let mut flow = self
            .store
            .flow_by_state(&digest(state))
            .await?
            .filter(|f| f.platform == callback.platform)
            .ok_or_else(|| invalid("this sign-in link is not one this service issued (it may have been altered); start again from Add New Account"))?;
        let same_session = match (&flow.session_hash, session_id) {
            (Some(expected), Some(current)) => *expected == digest(current),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if flow.user_id != caller.user_id
            || flow.workspace_id != caller.workspace_id
            || !same_session
        {
            return Err(invalid(
                "this sign-in was started by another session; start again from Add New Account",
            ));
        }
        if !self.store.claim_flow_state(flow.id, Utc::now()).await? {
            return Err(if flow.state_used_at.is_some() {
                invalid("this sign-in link was already used; start again from Add New Account")
            } else {
                invalid("this sign-in took longer than 10 minutes and expired; start again from Add New Account")
            });
        }
        let outcome = self.complete_consent(caller, &flow, &callback).await;
        match outcome {
            Ok(next) => flow = next,
            Err(message) => {
                tracing::info!(connection_id = %flow.id, platform = %flow.platform, "connection failed: {message}");
                flow.stage = FlowStage::Failed;
                flow.error = Some(message);
                flow.candidates = None;
            }
        }
        self.store
            .advance_flow(&flow, FlowStage::Authorizing)
            .await?;
        Ok(flow)
    }

    /// Consent given: exchange the code, check the grants, list the targets; connect at once when there is
    /// one obvious target (or this is a reconnect), else wait for the person's choice.
    async fn complete_consent(
        &self,
        caller: &Caller,
        flow: &FlowRecord,
        callback: &Callback<'_>,
    ) -> Result<FlowRecord, String> {
        let platform = flow.platform;
        let name = platform.display_name();
        if let Some(error) = callback.error {
            return Err(if error == "access_denied" {
                format!("You declined the request on {name}, so nothing was connected. Add the account again and choose Allow to connect it.")
            } else {
                format!(
                    "{name} ended the sign-in with an error: {}. Nothing was connected.",
                    callback.error_description.unwrap_or(error)
                )
            });
        }
        let code = callback
            .code
            .ok_or_else(|| format!("{name} sent you back without an authorization code. Nothing was connected; try again."))?;
        let adapter = self.adapter(platform).map_err(told)?;
        let verifier = match &flow.verifier {
            Some(sealed) => Some(
                open_bytes(&self.vault, &flow.id.to_string(), sealed)
                    .and_then(|b| {
                        String::from_utf8(b.to_vec())
                            .map_err(|e| CoreError::internal_from("flow verifier", e))
                    })
                    .map_err(told)?,
            ),
            None => None,
        };
        let grant = adapter
            .exchange_code(code, &self.redirect_uri(platform), verifier.as_deref())
            .await
            .map_err(|e| platform_message(platform, &e))?;
        let missing = missing_scopes(&adapter.required_scopes(), &grant.scopes);
        if !missing.is_empty() {
            return Err(format!(
                "{name} did not grant the permission(s) {}, which are needed to publish. Nothing was connected: add the account again and allow every requested permission.",
                missing.join(", ")
            ));
        }
        let targets = adapter
            .targets(&grant)
            .await
            .map_err(|e| platform_message(platform, &e))?;
        let mut next = flow.clone();
        if let Some(account_id) = flow.reconnect_account_id {
            let account = self.account(caller, account_id).await.map_err(told)?;
            let target = targets
                .into_iter()
                .find(|t| t.platform_account_id == account.platform_account_id && t.unavailable.is_none())
                .ok_or_else(|| {
                    format!(
                        "You signed in to {name} as an account that does not give access to “{}”. Sign in to {name} as the account that manages it and try again; nothing was changed.",
                        account.display_name
                    )
                })?;
            let connected = self
                .connect_target(caller, platform, target, grant.scopes.clone(), true)
                .await
                .map_err(told)?;
            next.stage = FlowStage::Done;
            next.connected = vec![connected];
            return Ok(next);
        }
        let available: Vec<&Target> = targets.iter().filter(|t| t.unavailable.is_none()).collect();
        if targets.len() == 1 && available.len() == 1 {
            let target = targets.into_iter().next().ok_or("no target")?;
            let connected = self
                .connect_target(caller, platform, target, grant.scopes.clone(), false)
                .await
                .map_err(told)?;
            next.stage = FlowStage::Done;
            next.connected = vec![connected];
            return Ok(next);
        }
        if available.is_empty() {
            let reasons: Vec<String> = targets
                .iter()
                .filter_map(|t| t.unavailable.clone())
                .collect();
            return Err(if reasons.is_empty() {
                format!(
                    "{name} gave access to nothing that can be connected. Nothing was connected."
                )
            } else {
                reasons.join(" ")
            });
        }
        let sealed = SealedCandidates {
            scopes: grant.scopes,
            targets: targets.iter().map(SealedTarget::from_target).collect(),
        };
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec(&sealed)
                .map_err(|e| told(CoreError::internal_from("flow candidates", e)))?,
        );
        next.candidates =
            Some(seal_bytes(&self.vault, &flow.id.to_string(), &bytes).map_err(told)?);
        next.stage = FlowStage::Selecting;
        next.expires_at = Utc::now() + self.settings.selection_ttl;
        Ok(next)
    }

    async fn connect_target(
        &self,
        caller: &Caller,
        platform: Platform,
        target: Target,
        scopes: Vec<String>,
        reconnect: bool,
    ) -> Result<AccountId, CoreError> {
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
        let outcome = if reconnect {
            self.record_reconnection(caller, connection).await?
        } else {
            self.record_connection(caller, connection).await?
        };
        Ok(outcome.account.id)
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
            FlowStage::Selecting if flow.expires_at > Utc::now() => {}
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
        let mut accounts = Vec::new();
        for target in picked {
            let outcome = self
                .record_connection(
                    caller,
                    NewConnection {
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
                    },
                )
                .await?;
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
        for extra in 0..new {
            workspace
                .plan
                .check_room(platform, total + extra, on_platform + extra)
                .map_err(CoreError::PlanLimit)?;
        }
        Ok(())
    }

    /// Refresh (docs/product.md#refresh): renew through the platform where it can, re-read identity and
    /// grants, and update the status; where only the person can fix it, hand back a consent link that
    /// repairs this account.
    pub async fn refresh_account(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        id: AccountId,
    ) -> Result<RefreshOutcome, CoreError> {
        // Answers 404 for an account that is not the caller's before waiting for anything.
        self.account(caller, id).await?;
        // The engine's lease, in the database: one renewal at a time per account across every instance,
        // so a rotating refresh token is never spent twice. One in progress usually ends within seconds.
        let owner = format!("manual-{}", uuid::Uuid::now_v7());
        let mut tries = 0;
        while !self.take_refresh_lease(id, &owner).await? {
            tries += 1;
            if tries == 50 {
                return Err(CoreError::Conflict(
                    "this account is being refreshed right now; try again in a minute".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let outcome = self
            .refresh_under_lease(caller, session_id, id, &owner)
            .await;
        let released = self.release_refresh_lease(id, &owner).await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    async fn refresh_under_lease(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        id: AccountId,
        owner: &str,
    ) -> Result<RefreshOutcome, CoreError> {
        // Read after taking the lease: a refresh that just finished may have rotated the tokens.
        let account = self.account(caller, id).await?;
        let adapter = self.adapter(account.platform)?;
        let tokens = self
            .tokens_of(id)
            .await?
            .ok_or_else(|| CoreError::internal(format!("account {id} has no stored credential")))?;
        match self
            .renew_and_check(&*adapter, &account, tokens, true, owner)
            .await
        {
            Ok(renewed) => {
                self.after_success(&account, &renewed).await?;
                Ok(RefreshOutcome::Refreshed(renewed))
            }
            // This service failed, not the platform: an internal error (logged, with the request id for
            // the person), and the account's status stays as it was.
            Err(RenewError::Internal(err)) => Err(err),
            Err(RenewError::Platform(err)) => {
                let Some(reason) = err.class.status_reason() else {
                    return Err(match err.class {
                        ErrorClass::RateLimited { until } => CoreError::Conflict(format!(
                            "{} is limiting requests; try again{}",
                            account.platform.display_name(),
                            until
                                .map(|u| format!(" after {}", u.format("%H:%M UTC")))
                                .unwrap_or_default()
                        )),
                        _ => CoreError::Conflict(platform_message(account.platform, &err)),
                    });
                };
                let message = match &err.class {
                    ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => {
                        format!(
                            "The permission(s) {} are no longer granted.",
                            scopes.join(", ")
                        )
                    }
                    _ => format!("{}: {}", reason.default_message(), err.message),
                };
                let account = self
                    .change_account_status(caller.workspace_id, id, Some(reason), Some(message))
                    .await?;
                let started = self
                    .start_connection(caller, session_id, account.platform, Some(id))
                    .await?;
                Ok(RefreshOutcome::NeedsUser {
                    account,
                    authorize_url: started.authorize_url,
                    connection_id: started.id,
                })
            }
        }
    }

    /// Renews when `renew` (saving rotated tokens at once), re-reads identity and grants, and marks the
    /// account active. The caller holds the account's refresh lease as `lease_owner`.
    pub(crate) async fn renew_and_check(
        &self,
        adapter: &dyn PlatformAdapter,
        account: &Account,
        tokens: TokenSet,
        renew: bool,
        lease_owner: &str,
    ) -> Result<Account, RenewError> {
        let renewal = if renew {
            self.ready_to_renew(adapter, account, lease_owner).await?;
            adapter
                .renew(account.kind, &account.platform_account_id, &tokens)
                .await
                .map_err(RenewError::Platform)?
        } else {
            None
        };
        let (tokens, renewed_scopes) = match renewal {
            Some(renewal) => {
                self.store_renewal(account, &renewal.tokens, renewal.scopes.clone())
                    .await?;
                (renewal.tokens, renewal.scopes)
            }
            None => (tokens, None),
        };
        let identity = adapter
            .identity(account.kind, &account.platform_account_id, &tokens)
            .await
            .map_err(RenewError::Platform)?;
        let scopes = identity.scopes.clone().or(renewed_scopes);
        if let Some(granted) = &scopes {
            let missing = missing_scopes(&adapter.required_scopes(), granted);
            if !missing.is_empty() {
                return Err(RenewError::Platform(PlatformError::new(
                    adapter.platform().as_str(),
                    ErrorClass::MissingPermission { scopes: missing },
                    "required permissions were removed",
                )));
            }
        }
        self.store
            .record_account_refresh(
                account.workspace_id,
                account.id,
                &AccountRefresh {
                    credential: None,
                    token_expires_at: None,
                    scopes,
                    display_name: Some(identity.display_name),
                    handle: Some(identity.handle),
                    avatar_url: Some(identity.avatar_url),
                    followers: identity.followers,
                    refreshed: false,
                    now: self.clock.now(),
                },
            )
            .await?;
        Ok(self
            .change_account_status(account.workspace_id, account.id, None, None)
            .await?)
    }

    /// Refuses to renew while the renewal's tokens could not be stored: while tokens renewed before still
    /// wait to be saved, and, where renewing spends the refresh token, while the database does not take
    /// a write (or the lease is no longer this caller's). Nothing has been spent at the platform then.
    async fn ready_to_renew(
        &self,
        adapter: &dyn PlatformAdapter,
        account: &Account,
        lease_owner: &str,
    ) -> Result<(), RenewError> {
        if self.has_unsaved_tokens(account.id) {
            return Err(RenewError::Internal(CoreError::internal(format!(
                "account {}: tokens renewed earlier are not stored yet; not renewing again",
                account.id
            ))));
        }
        if adapter.rotates_refresh_tokens() {
            let until = self.clock.now() + self.settings.lifecycle.lease;
            if !self
                .store
                .probe_write(account.id, lease_owner, until)
                .await?
            {
                return Err(RenewError::Internal(CoreError::Conflict(
                    "this account is being refreshed right now; try again in a minute".into(),
                )));
            }
        }
        Ok(())
    }

    /// Stores renewed tokens at once. When the database refuses them they are kept in memory, sealed, and
    /// saved as soon as it takes writes again; the renewal still ends as an internal error.
    async fn store_renewal(
        &self,
        account: &Account,
        tokens: &TokenSet,
        scopes: Option<Vec<String>>,
    ) -> Result<(), RenewError> {
        let credential = seal(&self.vault, account.id, tokens).inspect_err(|err| {
            tracing::error!(account_id = %account.id, error = %ErrorChain(err), "renewed tokens could not be sealed; they are lost");
        })?;
        let refresh = AccountRefresh {
            credential: Some(credential),
            token_expires_at: Some(tokens.expires_at),
            scopes,
            display_name: None,
            handle: None,
            avatar_url: None,
            followers: None,
            refreshed: true,
            now: self.clock.now(),
        };
        if let Err(err) = self
            .store
            .record_account_refresh(account.workspace_id, account.id, &refresh)
            .await
        {
            tracing::error!(account_id = %account.id, platform = %account.platform, error = %err, "renewed tokens could not be stored; kept in memory until the database takes them");
            self.keep_unsaved_tokens(account.workspace_id, account.id, refresh);
            return Err(err.into());
        }
        Ok(())
    }
}
