//! The token endpoint answer of the platforms that follow RFC 6749 closely (X, LinkedIn, TikTok).

use crate::error::{ErrorClass, PlatformError};
use crate::http::{in_seconds, split_scopes};
use crate::{Grant, Renewal};
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

    /// A consent's answer: no scope list there means none can be counted on.
    pub fn into_grant(self) -> Grant {
        let scopes = self.scopes().unwrap_or_default();
        Grant {
            tokens: self.into_tokens(),
            scopes,
        }
    }

    /// A renewal's answer: no scope list there means the scopes are unknown, not gone.
    pub fn into_renewal(self) -> Renewal {
        let scopes = self.scopes();
        Renewal {
            tokens: self.into_tokens(),
            scopes,
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

    /// The OAuth error in `body`, if it is one, classified as X, LinkedIn and TikTok agree: a refresh token
    /// the platform no longer takes is "refresh rejected", anything else about the request is "rejected".
    pub fn classify(platform: &'static str, body: &[u8], renewing: bool) -> Option<PlatformError> {
        let oauth = Self::parse(body)?;
        let class = match oauth.error.as_str() {
            "invalid_grant" | "invalid_request" if renewing => ErrorClass::RefreshRejected,
            _ => ErrorClass::Rejected,
        };
        Some(PlatformError::new(platform, class, oauth.describe()))
    }

    pub fn describe(&self) -> String {
        match &self.error_description {
            Some(d) if !d.is_empty() => format!("{} ({})", d, self.error),
            _ => self.error.clone(),
        }
    }
}
