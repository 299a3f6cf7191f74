//! Sign-up, sign-in, sessions, personal API tokens (`sessions.rs`), invitations (`invitations.rs`) and the
//! limits on sign-in and sign-up attempts (`limits.rs`), and password reset by email (`reset.rs`).

use crate::secrets::new_secret;
use crate::{Caller, CoreError};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use iquivity_domain::Password;
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;

mod invitations;
pub(crate) mod limits;
mod reset;
mod sessions;

pub use invitations::{CreatedInvitation, InvitationPreview};
pub use limits::AuthCounts;
pub(crate) use reset::html_escape;
pub use reset::RESET_TTL_MINUTES;

pub const SESSION_PREFIX: &str = "iqs_";

pub const API_TOKEN_PREFIX: &str = "iqt_";

pub const INVITATION_PREFIX: &str = "iqi_";

pub const RESET_PREFIX: &str = "iqr_";

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

impl<'a> SignUp<'a> {
    /// A person who owns a new workspace, signed up from this process (the admin command, demo data,
    /// benchmarks) rather than through HTTP: no invitation, no client address to limit.
    pub fn owner(email: &'a str, password: &'a str, workspace_name: &'a str) -> Self {
        SignUp {
            email,
            password,
            workspace_name: Some(workspace_name),
            invitation: None,
            client: None,
        }
    }
}

pub struct CreatedToken {
    pub id: uuid::Uuid,
    pub name: String,
    pub token: SecretString,
    pub created_at: DateTime<Utc>,
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

pub(super) async fn verify_password(hash: String, password: &str) -> Result<bool, CoreError> {
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

pub(super) async fn decoy_hash() -> Result<String, CoreError> {
    if let Some(hash) = DECOY_HASH.get() {
        return Ok(hash.clone());
    }
    let random = new_secret("");
    let hash = hash_password(&Password::parse(random.expose_secret())?).await?;
    Ok(DECOY_HASH.get_or_init(|| hash).clone())
}

pub(super) fn caller(record: iquivity_store::CallerRecord) -> Caller {
    Caller {
        user_id: record.user_id,
        email: record.email,
        workspace_id: record.workspace_id,
        role: record.role,
    }
}

pub(super) fn email_taken(err: iquivity_store::StoreError) -> CoreError {
    match err {
        iquivity_store::StoreError::Duplicate(_) => {
            CoreError::Conflict("an account with this email already exists; sign in instead".into())
        }
        other => other.into(),
    }
}
