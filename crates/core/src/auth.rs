//! Sign-up, sign-in, sessions, personal API tokens and invitations.

use crate::secrets::{digest, new_secret};
use crate::{Caller, Core, CoreError};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use iquivity_domain::{Email, Password, Role, UserId, ValidationError, WorkspaceId, WorkspaceName};
use iquivity_store::{
    ApiTokenRecord, InvitationRecord, NewUser, NewWorkspace, SessionRecord, UserRecord,
};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

pub const SESSION_PREFIX: &str = "iqs_";
pub const API_TOKEN_PREFIX: &str = "iqt_";
pub const INVITATION_PREFIX: &str = "iqi_";

/// A new sign-in: the session id goes into the cookie and nowhere else.
pub struct NewSession {
    pub id: SecretString,
    pub expires_at: DateTime<Utc>,
    pub caller: Caller,
}

pub struct SignUp<'a> {
    pub email: &'a str,
    pub password: &'a str,
    /// A new workspace to own; required unless joining through an invitation.
    pub workspace_name: Option<&'a str>,
    pub invitation: Option<&'a str>,
    /// The address the request came from (after trusted proxies), for the per-address limit; `None`
    /// (not through HTTP) is not limited.
    pub client: Option<IpAddr>,
}

/// Sign-in and sign-up outcomes since the start, for `/metrics`.
#[derive(Debug, Default)]
pub struct AuthCounts {
    /// Sign-ins whose password was right.
    signed_in: AtomicU64,
    /// Sign-ins whose password was checked and wrong (or whose email is unknown).
    bad_credentials: AtomicU64,
    /// Sign-ins refused without a check: too many attempts for the account.
    locked: AtomicU64,
    /// Sign-in answers delayed: too many attempts from the client address.
    slowed: AtomicU64,
    /// Sign-ups refused: too many from the client address.
    signups_limited: AtomicU64,
}

impl AuthCounts {
    fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(outcome, count)` of sign-ins: signed_in, bad_credentials, locked.
    pub fn logins(&self) -> [(&'static str, u64); 3] {
        [
            ("signed_in", self.signed_in.load(Ordering::Relaxed)),
            (
                "bad_credentials",
                self.bad_credentials.load(Ordering::Relaxed),
            ),
            ("locked", self.locked.load(Ordering::Relaxed)),
        ]
    }

    pub fn slowed(&self) -> u64 {
        self.slowed.load(Ordering::Relaxed)
    }

    pub fn signups_limited(&self) -> u64 {
        self.signups_limited.load(Ordering::Relaxed)
    }
}

/// The key a client address is counted under. An IPv6 client usually holds a whole /64, so that is
/// what is counted: otherwise every attempt could come from a fresh address.
fn address_key(prefix: &str, ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("{prefix}:{v4}"),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{prefix}:{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

/// How long to wait before answering the `attempts`-th attempt from one address: nothing up to `limit`,
/// then `start`, doubling with each further attempt, up to `cap`.
fn slowdown(
    attempts: u32,
    limit: u32,
    start: std::time::Duration,
    cap: std::time::Duration,
) -> Option<std::time::Duration> {
    let doublings = attempts.checked_sub(limit)?.checked_sub(1)?.min(31);
    Some(start.saturating_mul(1u32 << doublings).min(cap))
}

/// Whole seconds of a window, for `Retry-After`.
fn seconds(window: chrono::Duration) -> u64 {
    u64::try_from(window.num_seconds()).unwrap_or(0).max(1)
}

pub struct CreatedToken {
    pub id: uuid::Uuid,
    pub name: String,
    pub token: SecretString,
    pub created_at: DateTime<Utc>,
}

pub struct CreatedInvitation {
    pub id: uuid::Uuid,
    pub code: SecretString,
    pub role: Role,
    pub email: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Hashes a password with argon2id on a blocking thread: it is deliberately slow.
pub async fn hash_password(password: &Password) -> Result<String, CoreError> {
    let plain = SecretString::from(password.expose().to_string());
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(plain.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| CoreError::internal_from("password hashing failed", e))
    })
    .await
    .map_err(|e| CoreError::internal_from("password hashing task failed", e))?
}

async fn verify_password(hash: String, password: &str) -> Result<bool, CoreError> {
    let plain = SecretString::from(password.to_string());
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| CoreError::internal_from("stored password hash is not valid", e))?;
        Ok(Argon2::default()
            .verify_password(plain.expose_secret().as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| CoreError::internal_from("password check task failed", e))?
}

/// A hash of a random password, verified against when the email is unknown so that the answer takes as
/// long as for a known email and does not reveal who has an account.
static DECOY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

async fn decoy_hash() -> Result<String, CoreError> {
    if let Some(hash) = DECOY_HASH.get() {
        return Ok(hash.clone());
    }
    let random = new_secret("");
    let hash = hash_password(&Password::parse(random.expose_secret())?).await?;
    Ok(DECOY_HASH.get_or_init(|| hash).clone())
}

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

    fn login_slowdown(&self, attempts: u32) -> Option<std::time::Duration> {
        slowdown(
            attempts,
            self.settings.login_attempts_per_address,
            self.settings.login_slowdown_start,
            self.settings.login_slowdown_cap,
        )
    }

    async fn open_session(
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

    /// Deletes attempt counts that no longer limit anything: one row per email or address ever tried
    /// would otherwise grow without bound.
    pub(crate) async fn purge_login_attempts(&self, now: DateTime<Utc>) -> Result<(), CoreError> {
        let longest = self.settings.login_window.max(self.settings.signup_window);
        self.store.purge_login_attempts(now - longest).await?;
        Ok(())
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

    /// An owner invites someone into the workspace as admin or member; the code works once, until it expires.
    pub async fn invite(
        &self,
        caller: &Caller,
        role: &str,
        email: Option<&str>,
    ) -> Result<CreatedInvitation, CoreError> {
        if !caller.role.can_invite() {
            return Err(CoreError::Forbidden(
                "only workspace owners can invite people".into(),
            ));
        }
        let role: Role = role.parse()?;
        if role == Role::Owner {
            return Err(CoreError::invalid(
                "role",
                "invitations are for admins or members",
            ));
        }
        let email = email.map(Email::parse).transpose()?;
        let code = new_secret(INVITATION_PREFIX);
        let now = Utc::now();
        let record = InvitationRecord {
            id: uuid::Uuid::now_v7(),
            token_hash: digest(code.expose_secret()),
            workspace_id: caller.workspace_id,
            role,
            email: email.map(|e| e.as_str().to_string()),
            invited_by: caller.user_id,
            created_at: now,
            expires_at: now + self.settings.invitation_ttl,
            accepted_at: None,
        };
        self.store.create_invitation(&record).await?;
        Ok(CreatedInvitation {
            id: record.id,
            code,
            role,
            email: record.email,
            expires_at: record.expires_at,
        })
    }

    /// A signed-in user accepts an invitation; their session moves to the workspace they joined.
    pub async fn accept_invitation(
        &self,
        user_id: UserId,
        code: &str,
    ) -> Result<NewSession, CoreError> {
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let email = Email::parse(&user.email)?;
        let invitation = self.usable_invitation(code, &email).await?;
        self.claim_invitation(&invitation, user.id, Utc::now())
            .await?;
        self.open_session(&user, Some(invitation.workspace_id))
            .await
    }

    async fn usable_invitation(
        &self,
        code: &str,
        email: &Email,
    ) -> Result<InvitationRecord, CoreError> {
        let invitation = self
            .store
            .invitation_by_hash(&digest(code))
            .await?
            .ok_or_else(|| CoreError::invalid("invitation", "this invitation link is not valid"))?;
        if invitation.accepted_at.is_some() {
            return Err(CoreError::invalid(
                "invitation",
                "this invitation has already been used",
            ));
        }
        if invitation.expires_at <= Utc::now() {
            return Err(CoreError::invalid(
                "invitation",
                "this invitation has expired; ask for a new one",
            ));
        }
        if let Some(invited) = &invitation.email {
            if invited != email.as_str() {
                return Err(CoreError::invalid(
                    "invitation",
                    "this invitation is for another email address",
                ));
            }
        }
        Ok(invitation)
    }

    async fn claim_invitation(
        &self,
        invitation: &InvitationRecord,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        if self
            .store
            .accept_invitation(invitation.id, user, now)
            .await?
        {
            Ok(())
        } else {
            Err(invitation_gone())
        }
    }
}

/// Someone else accepted the invitation first, or it expired meanwhile.
fn invitation_gone() -> CoreError {
    CoreError::invalid(
        "invitation",
        "this invitation has already been used or has expired",
    )
}

fn caller(record: iquivity_store::CallerRecord) -> Caller {
    Caller {
        user_id: record.user_id,
        email: record.email,
        workspace_id: record.workspace_id,
        role: record.role,
    }
}

fn email_taken(err: iquivity_store::StoreError) -> CoreError {
    match err {
        iquivity_store::StoreError::Duplicate(_) => {
            CoreError::Conflict("an account with this email already exists; sign in instead".into())
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_slow_down_past_the_limit_doubling_up_to_the_cap() {
        let delay = |attempts| {
            slowdown(
                attempts,
                20,
                Duration::from_secs(1),
                Duration::from_secs(10),
            )
        };
        assert_eq!(delay(1), None);
        assert_eq!(delay(20), None);
        assert_eq!(delay(21), Some(Duration::from_secs(1)));
        assert_eq!(delay(22), Some(Duration::from_secs(2)));
        assert_eq!(delay(23), Some(Duration::from_secs(4)));
        assert_eq!(delay(24), Some(Duration::from_secs(8)));
        assert_eq!(delay(25), Some(Duration::from_secs(10)));
        assert_eq!(delay(u32::MAX), Some(Duration::from_secs(10)));
    }

    #[test]
    fn addresses_are_counted_per_ipv4_address_and_per_ipv6_64() {
        let key = |ip: &str| address_key("ip", ip.parse().unwrap());
        assert_eq!(key("192.0.2.1"), "ip:192.0.2.1");
        assert_eq!(key("::ffff:192.0.2.1"), "ip:192.0.2.1");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
