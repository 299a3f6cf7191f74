//! The token endpoint answer of the platforms that follow RFC 6749 closely (X, LinkedIn, TikTok).

use crate::http::{in_seconds, split_scopes};
use iquivity_domain::TokenSet;
use secrecy::SecretString;
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_token_expires_in: Option<i64>,
    #[serde(default)]
    pub refresh_expires_in: Option<i64>,
    #[serde(default)]
    pub scope: Option<String>,
}

impl TokenAnswer {
    pub fn scopes(&self) -> Option<Vec<String>> {
        self.scope.as_deref().map(split_scopes)
    }

    pub fn into_tokens(self) -> TokenSet {
        TokenSet {
            access_token: SecretString::from(self.access_token),
            refresh_token: self.refresh_token.map(SecretString::from),
            expires_at: in_seconds(self.expires_in),
            refresh_expires_at: in_seconds(
                self.refresh_token_expires_in.or(self.refresh_expires_in),
            ),
            grant_token: None,
            issued_at: Some(chrono::Utc::now()),
        }
    }
}

/// The OAuth error body (`{"error","error_description"}`), which X, LinkedIn and TikTok share.
#[derive(Deserialize)]
pub(crate) struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

impl OAuthError {
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }

    pub fn describe(&self) -> String {
        match &self.error_description {
            Some(d) if !d.is_empty() => format!("{} ({})", d, self.error),
            _ => self.error.clone(),
        }
    }
}
