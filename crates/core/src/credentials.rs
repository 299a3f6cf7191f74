//! Platform credentials: what a connection holds, sealed by the vault with the account id as associated data.

use crate::CoreError;
use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, TokenSet};
use iquivity_store::StoredCredential;
use iquivity_vault::{Sealed, Vault};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// The plaintext layout of tokens inside a ciphertext (a credential, or a flow's candidates); zeroed when
/// dropped.
#[derive(Serialize, Deserialize)]
pub(crate) struct PlainTokens {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    refresh_expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    grant_token: Option<String>,
    #[serde(default)]
    issued_at: Option<DateTime<Utc>>,
}

impl Drop for PlainTokens {
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

impl PlainTokens {
    pub(crate) fn from_tokens(tokens: &TokenSet) -> Self {
        PlainTokens {
            access_token: tokens.access_token.expose_secret().to_string(),
            refresh_token: tokens
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            expires_at: tokens.expires_at,
            refresh_expires_at: tokens.refresh_expires_at,
            grant_token: tokens
                .grant_token
                .as_ref()
                .map(|t| t.expose_secret().to_string()),
            issued_at: tokens.issued_at,
        }
    }

    pub(crate) fn tokens(&self) -> TokenSet {
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

pub fn seal(
    vault: &Vault,
    account: AccountId,
    tokens: &TokenSet,
) -> Result<StoredCredential, CoreError> {
    let plain = PlainTokens::from_tokens(tokens);
    let bytes = zeroize::Zeroizing::new(
        serde_json::to_vec(&plain)
            .map_err(|e| CoreError::internal_from("credential encoding", e))?,
    );
    let sealed = vault.seal(&bytes, account.to_string().as_bytes())?;
    Ok(StoredCredential {
        key_id: sealed.key_id,
        blob: sealed.blob,
    })
}

pub fn open(
    vault: &Vault,
    account: AccountId,
    stored: &StoredCredential,
) -> Result<TokenSet, CoreError> {
    let bytes = vault.open(
        &Sealed {
            key_id: stored.key_id.clone(),
            blob: stored.blob.clone(),
        },
        account.to_string().as_bytes(),
    )?;
    tokens_from_bytes(&bytes)
}

/// The tokens in an opened credential.
pub fn tokens_from_bytes(bytes: &[u8]) -> Result<TokenSet, CoreError> {
    let plain: PlainTokens = serde_json::from_slice(bytes)
        .map_err(|e| CoreError::internal_from("credential decoding", e))?;
    Ok(plain.tokens())
}

/// Seals any secret-bearing bytes (a PKCE verifier, a flow's candidate tokens) bound to `associated_data`.
pub fn seal_bytes(
    vault: &Vault,
    associated_data: &str,
    bytes: &[u8],
) -> Result<StoredCredential, CoreError> {
    let sealed = vault.seal(bytes, associated_data.as_bytes())?;
    Ok(StoredCredential {
        key_id: sealed.key_id,
        blob: sealed.blob,
    })
}

pub fn open_bytes(
    vault: &Vault,
    associated_data: &str,
    stored: &StoredCredential,
) -> Result<zeroize::Zeroizing<Vec<u8>>, CoreError> {
    Ok(vault.open(
        &Sealed {
            key_id: stored.key_id.clone(),
            blob: stored.blob.clone(),
        },
        associated_data.as_bytes(),
    )?)
}
