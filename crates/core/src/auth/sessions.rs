//! Sign-up, sign-in and sessions, and the personal API tokens that stand in for a session.

use super::invitations::invitation_gone;
use super::limits::{address_key, seconds, AuthCounts};
use super::{
    caller, decoy_hash, email_taken, hash_password, verify_password, CreatedToken, NewSession,
    SignUp, API_TOKEN_PREFIX, SESSION_PREFIX,
};
use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError};
use chrono::Utc;
use iquivity_domain::{Email, Password, UserId, ValidationError, WorkspaceId, WorkspaceName};
use iquivity_store::{ApiTokenRecord, NewUser, NewWorkspace, SessionRecord, UserRecord};
use secrecy::ExposeSecret;
use std::net::IpAddr;

impl Core {
    /// Creates a user and either a workspace they own or, through an invitation, a membership.
    pub async fn sign_up(&self, input: SignUp<'_>) -> Result<NewSession, CoreError> {
        let mut errors = Vec::new();
        let email = Email::parse(input.email).map_err(|e| errors.push(e)).ok();
        let password = Password::parse(input.password)
            .map_err(|e| errors.push(e))
            .ok();
        let workspace_name = match (input.workspace_name, input.invitation) {
            (Some(name), _) => WorkspaceName::parse(name).map_err(|e| errors.push(e)).ok(),
            (None, Some(_)) => None,
            (None, None) => {
                errors.push(ValidationError::new(
                    "workspace_name",
                    "is required unless you sign up through an invitation",
                ));
                None
            }
        };
        let (Some(email), Some(password)) = (email, password) else {
            return Err(CoreError::Validation(errors));
        };
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        // Counted once the input is well formed: from here on the answer tells whether the email is
        // registered.
        if let Some(client) = input.client {
            let now = Utc::now();
            let attempts = self
                .store
                .count_login_attempt(
                    &address_key("signup-ip", client),
                    now - self.settings.signup_window,
                    now,
                )
                .await?;
            if attempts > self.settings.signups_per_address {
                AuthCounts::add(&self.auth_counts.signups_limited);
                tracing::warn!(client = %client, "sign-up refused: too many from this address");
                return Err(CoreError::RateLimited {
                    retry_after_secs: seconds(self.settings.signup_window),
                });
            }
        }
        let invitation = match input.invitation {
            Some(code) => Some(self.usable_invitation(code, &email).await?),
            None => None,
        };
        let now = Utc::now();
        let user = NewUser {
            id: UserId::new(),
            email: email.as_str().to_string(),
            password_hash: hash_password(&password).await?,
            created_at: now,
        };
        let own_workspace = workspace_name.map(|name| NewWorkspace {
            id: WorkspaceId::new(),
            name: name.as_str().to_string(),
            plan: self.settings.default_plan,
            created_at: now,
        });
        let workspace = match (invitation, own_workspace) {
            // The user and the membership are made together: a sign-up that loses the invitation to
            // another leaves no user behind, and its email free.
            (Some(invitation), own) => {
                if !self
                    .store
                    .create_user_with_invitation(&user, own.as_ref(), invitation.id, now)
                    .await
                    .map_err(email_taken)?
                {
                    return Err(invitation_gone());
                }
                Some(invitation.workspace_id)
            }
            (None, Some(own)) => {
                self.store
                    .create_user_with_workspace(&user, &own)
                    .await
                    .map_err(email_taken)?;
                None
            }
            (None, None) => {
                return Err(CoreError::invalid(
                    "workspace_name",
                    "is required unless you sign up through an invitation",
                ))
            }
        };
        tracing::info!(user_id = %user.id, "user signed up");
        let record = self
            .store
            .user_by_id(user.id)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        self.open_session(&record, workspace).await
    }

    /// Checks the password and opens a session. Each attempt is counted before its password is checked,
    /// atomically: per account, past the limit the attempt is refused unchecked (so no more than the
    /// limit are ever checked, however many arrive at once); per client address, past the limit the
    /// answer is delayed but the password still checked, so that someone sharing an attacker's address
    /// still gets in.
    pub async fn log_in(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
        workspace: Option<WorkspaceId>,
    ) -> Result<NewSession, CoreError> {
        let email = Email::parse(email)?;
        let now = Utc::now();
        let window_start = now - self.settings.login_window;
        let account_key = format!("email:{}", email.as_str());
        let attempts = self
            .store
            .count_login_attempt(&account_key, window_start, now)
            .await?;
        if attempts > self.settings.login_attempts_per_account {
            AuthCounts::add(&self.auth_counts.locked);
            tracing::warn!("login refused: too many attempts for this account");
            return Err(CoreError::RateLimited {
                retry_after_secs: seconds(self.settings.login_window),
            });
        }
        // Attempts refused above are not counted against the address: no password was checked.
        let address_key = client.map(|ip| address_key("ip", ip));
        if let Some(key) = &address_key {
            let from_address = self
                .store
                .count_login_attempt(key, window_start, now)
                .await?;
            if let Some(delay) = self.login_slowdown(from_address) {
                AuthCounts::add(&self.auth_counts.slowed);
                tracing::warn!(client = %key, delay_ms = delay.as_millis(), "login slowed: many attempts from this address");
                tokio::time::sleep(delay).await;
            }
        }
        let user = self.store.user_by_email(email.as_str()).await?;
        let verified = match &user {
            Some(user) => verify_password(user.password_hash.clone(), password).await?,
            None => {
                verify_password(decoy_hash().await?, password).await?;
                false
            }
        };
        let (true, Some(user)) = (verified, user) else {
            AuthCounts::add(&self.auth_counts.bad_credentials);
            tracing::info!("login failed");
            return Err(CoreError::BadCredentials);
        };
        // The owner got in: the account starts afresh, and the address no longer holds this attempt.
        self.store.clear_login_attempts(&account_key).await?;
        if let Some(key) = &address_key {
            self.store.forget_login_attempt(key).await?;
        }
        AuthCounts::add(&self.auth_counts.signed_in);
        tracing::info!(user_id = %user.id, "user logged in");
        self.open_session(&user, workspace).await
    }

    pub(super) async fn open_session(
        &self,
        user: &UserRecord,
        workspace: Option<WorkspaceId>,
    ) -> Result<NewSession, CoreError> {
        let memberships = self.store.memberships_of(user.id).await?;
        let (workspace, role) = match workspace {
            Some(wanted) => memberships
                .into_iter()
                .find(|(w, _)| w.id == wanted)
                .ok_or_else(|| {
                    CoreError::Forbidden("you are not a member of that workspace".into())
                })?,
            None => memberships.into_iter().next().ok_or_else(|| {
                CoreError::Forbidden("you are not a member of any workspace".into())
            })?,
        };
        let id = new_secret(SESSION_PREFIX);
        let now = Utc::now();
        let expires_at = now + self.settings.session_ttl;
        self.store
            .create_session(&SessionRecord {
                id_hash: digest(id.expose_secret()),
                user_id: user.id,
                workspace_id: workspace.id,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(NewSession {
            id,
            expires_at,
            caller: Caller {
                user_id: user.id,
                email: user.email.clone(),
                workspace_id: workspace.id,
                role,
            },
        })
    }

    pub async fn log_out(&self, session_id: &str) -> Result<(), CoreError> {
        self.store.delete_session(&digest(session_id)).await?;
        Ok(())
    }

    /// The caller behind a session cookie.
    pub async fn caller_from_session(&self, session_id: &str) -> Result<Caller, CoreError> {
        let record = self
            .store
            .caller_by_session(&digest(session_id), Utc::now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        Ok(caller(record))
    }

    /// The caller behind an `Authorization: Bearer` API token. Its last use is recorded at most once a
    /// minute, so that reads do not turn into a database write each.
    pub async fn caller_from_token(&self, token: &str) -> Result<Caller, CoreError> {
        let (record, usage) = self
            .store
            .caller_by_api_token(&digest(token))
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let now = Utc::now();
        if usage
            .last_used_at
            .is_none_or(|at| now - at > chrono::Duration::minutes(1))
        {
            // Bookkeeping only: a database that refuses writes (a full disk) must not refuse every API
            // call with it, reads above all.
            if let Err(err) = self.store.touch_api_token(usage.id, now).await {
                tracing::warn!(token_id = %usage.id, error = %err, "cannot record an API token's use");
            }
        }
        Ok(caller(record))
    }

    /// Issues a personal API token for the caller in the caller's workspace. The token is returned once.
    pub async fn create_api_token(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<CreatedToken, CoreError> {
        let name = iquivity_domain::WorkspaceName::parse(name)
            .map_err(|e| ValidationError::new("name", e.message))?;
        let token = new_secret(API_TOKEN_PREFIX);
        let record = ApiTokenRecord {
            id: uuid::Uuid::now_v7(),
            token_hash: digest(token.expose_secret()),
            user_id: caller.user_id,
            workspace_id: caller.workspace_id,
            name: name.as_str().to_string(),
            created_at: Utc::now(),
            last_used_at: None,
        };
        self.store.create_api_token(&record).await?;
        tracing::info!(user_id = %caller.user_id, workspace_id = %caller.workspace_id, token_id = %record.id, "API token created");
        Ok(CreatedToken {
            id: record.id,
            name: record.name,
            token,
            created_at: record.created_at,
        })
    }
}
