use chrono::{DateTime, Utc};
use secrecy::SecretString;

/// The tokens of one connection. Debug never shows them; they exist in plain text only in memory.
pub struct TokenSet {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    /// The user-level token a target's token was derived from (Meta: the long-lived user token behind a
    /// Page token). It renews the Page token and revokes the login.
    pub grant_token: Option<SecretString>,
    /// When the token was issued, where a platform's rules depend on its age.
    pub issued_at: Option<DateTime<Utc>>,
}

impl TokenSet {
    /// A bare access token with nothing else known about it.
    pub fn bearer(access_token: SecretString) -> Self {
        TokenSet {
            access_token,
            refresh_token: None,
            expires_at: None,
            refresh_expires_at: None,
            grant_token: None,
            issued_at: None,
        }
    }
}

impl Clone for TokenSet {
    fn clone(&self) -> Self {
        TokenSet {
            access_token: self.access_token.clone(),
            refresh_token: self.refresh_token.clone(),
            expires_at: self.expires_at,
            refresh_expires_at: self.refresh_expires_at,
            grant_token: self.grant_token.clone(),
            issued_at: self.issued_at,
        }
    }
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |t: &Option<SecretString>| t.as_ref().map(|_| "[redacted]");
        f.debug_struct("TokenSet")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &redacted(&self.refresh_token))
            .field("grant_token", &redacted(&self.grant_token))
            .field("expires_at", &self.expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("issued_at", &self.issued_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_which_tokens_exist_and_when_they_end_but_never_a_token() {
        let expires_at = DateTime::parse_from_rfc3339("2025-09-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let tokens = TokenSet {
            refresh_token: Some(SecretString::from("refresh-secret")),
            expires_at: Some(expires_at),
            ..TokenSet::bearer(SecretString::from("access-secret"))
        };
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.starts_with("TokenSet {"), "{shown}");
        assert!(
            shown.contains(r#"refresh_token: Some("[redacted]")"#),
            "{shown}"
        );
        assert!(shown.contains("grant_token: None"), "{shown}");
        assert!(shown.contains("2025-09-01T12:00:00Z"), "{shown}");
    }
}
