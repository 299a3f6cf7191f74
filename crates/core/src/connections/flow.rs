//! The OAuth flow: start it, and finish it when the platform sends the person back with consent.

use super::{
    platform_message, told, Callback, ConsentFailure, ConsentOutcome, FailureKind,
    SealedCandidates, SealedTarget, StartedConnection,
};
use crate::credentials::{open_bytes, seal_bytes};
use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError};
use iquivity_domain::{AccountId, LinkId, Platform};
use iquivity_platforms::{descriptor, missing_scopes, pkce, Target};
use iquivity_store::{FlowRecord, FlowStage};
use secrecy::ExposeSecret;

impl Core {
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
            None => {
                caller.require_manage_accounts()?;
                // Refused before the person goes through the platform's consent, not after.
                if let Some(why) = self.room_on(caller, platform).await?.why_full {
                    return Err(CoreError::PlanLimit(why));
                }
            }
        }
        self.begin_flow(caller, session_id, platform, reconnect, None)
            .await
    }

    /// Creates the flow and the platform's consent address: bound to the session that started it, or (for
    /// an account's owner coming through a link) to that link.
    pub(crate) async fn begin_flow(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        platform: Platform,
        reconnect: Option<AccountId>,
        link: Option<LinkId>,
    ) -> Result<StartedConnection, CoreError> {
        let adapter = self.adapter(platform)?;
        let id = uuid::Uuid::now_v7();
        let state = new_secret("");
        let verifier = descriptor(platform).consent.pkce.then(pkce::new_verifier);
        let challenge = verifier
            .as_ref()
            .map(|v| pkce::challenge(v.expose_secret()));
        let sealed_verifier = verifier
            .as_ref()
            .map(|v| seal_bytes(&self.vault, &id.to_string(), v.expose_secret().as_bytes()))
            .transpose()?;
        // The engine's clock, so that a sign-in's 10 minutes run on the same time as everything else.
        let now = self.clock.now();
        let flow = FlowRecord {
            id,
            state_hash: digest(state.expose_secret()),
            workspace_id: caller.workspace_id,
            user_id: caller.user_id,
            session_hash: session_id.map(digest),
            platform,
            reconnect_account_id: reconnect,
            link_id: link,
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
        let flow = self
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
        Ok(self.consent_given(caller, flow, &callback).await?.flow)
    }

    /// Claims the flow's state (once, before it expires), then completes consent; the flow ends `done`,
    /// `selecting` or `failed`, and is stored so.
    pub(crate) async fn consent_given(
        &self,
        caller: &Caller,
        mut flow: FlowRecord,
        callback: &Callback<'_>,
    ) -> Result<ConsentOutcome, CoreError> {
        let invalid = |message: &str| CoreError::invalid("state", message);
        if !self
            .store
            .claim_flow_state(flow.id, self.clock.now())
            .await?
        {
            return Err(if flow.state_used_at.is_some() {
                invalid("this sign-in link was already used; start again from Add New Account")
            } else {
                invalid("this sign-in took longer than 10 minutes and expired; start again from Add New Account")
            });
        }
        let outcome = self.complete_consent(caller, &flow, callback).await;
        let mut failed_as = None;
        match outcome {
            Ok(next) => flow = next,
            Err(failure) => {
                tracing::info!(connection_id = %flow.id, platform = %flow.platform, "connection failed: {}", failure.message);
                flow.stage = FlowStage::Failed;
                flow.error = Some(failure.message);
                flow.candidates = None;
                failed_as = Some(failure.kind);
            }
        }
        self.store
            .advance_flow(&flow, FlowStage::Authorizing)
            .await?;
        Ok(ConsentOutcome { flow, failed_as })
    }

    /// Consent given: exchange the code, check the grants, list the targets; connect at once when there is
    /// one obvious target (or this is a reconnect), else wait for the person's choice.
    async fn complete_consent(
        &self,
        caller: &Caller,
        flow: &FlowRecord,
        callback: &Callback<'_>,
    ) -> Result<FlowRecord, ConsentFailure> {
        let platform = flow.platform;
        let name = platform.display_name();
        if let Some(error) = callback.error {
            return Err(ConsentFailure::from(if error == "access_denied" {
                format!("You declined the request on {name}, so nothing was connected. Add the account again and choose Allow to connect it.")
            } else {
                format!(
                    "{name} ended the sign-in with an error: {}. Nothing was connected.",
                    callback.error_description.unwrap_or(error)
                )
            }));
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
            )
            .into());
        }
        let mut targets = adapter
            .targets(&grant)
            .await
            .map_err(|e| platform_message(platform, &e))?;
        let mut next = flow.clone();
        // A reconnection connects the account it is for; a grant with one target that can be connected
        // connects that one without asking.
        let at_once = match flow.reconnect_account_id {
            Some(account_id) => {
                let account = self.account(caller, account_id).await.map_err(told)?;
                let found = targets
                    .iter()
                    .position(|t| t.platform_account_id == account.platform_account_id && t.unavailable.is_none())
                    .ok_or_else(|| ConsentFailure {
                        message: format!(
                            "You signed in to {name} as an account that does not give access to “{}”. Sign in to {name} as the account that manages it and try again; nothing was changed.",
                            account.display_name
                        ),
                        kind: FailureKind::WrongAccount,
                    })?;
                Some((targets.swap_remove(found), true))
            }
            None if targets.len() == 1 && targets[0].unavailable.is_none() => {
                targets.pop().map(|target| (target, false))
            }
            None => None,
        };
        if let Some((target, reconnect)) = at_once {
            let connected = self
                .connect_target(caller, flow, target, grant.scopes.clone(), reconnect)
                .await
                .map_err(told)?;
            next.stage = FlowStage::Done;
            next.connected = vec![connected];
            return Ok(next);
        }
        let available: Vec<&Target> = targets.iter().filter(|t| t.unavailable.is_none()).collect();
        if available.is_empty() {
            let reasons: Vec<String> = targets
                .iter()
                .filter_map(|t| t.unavailable.clone())
                .collect();
            return Err(ConsentFailure::from(if reasons.is_empty() {
                format!(
                    "{name} gave access to nothing that can be connected. Nothing was connected."
                )
            } else {
                reasons.join(" ")
            }));
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
        next.expires_at = self.clock.now() + self.settings.selection_ttl;
        Ok(next)
    }
}
