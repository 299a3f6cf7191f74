//! Where each platform lives and who we are to it. Every URL defaults to the real platform's and can be
//! overridden (by the config file and `IQUIVITY_<PLATFORM>_<KEY>`), which is how the sandbox is reached.

use crate::descriptor::Consent;
use iquivity_domain::Platform;
use secrecy::SecretString;

/// The settings of one platform. URLs may contain `{version}`, replaced by `api_version`.
#[derive(Clone)]
pub struct PlatformSettings {
    pub client_id: String,
    pub client_secret: SecretString,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub api_url: String,
    /// Graph API version (`v24.0`) for Facebook and Instagram, `LinkedIn-Version` (`YYYYMM`) for LinkedIn.
    pub api_version: String,
    /// Talking to the local sandbox rather than the real platform; accounts are marked so.
    pub sandbox: bool,
}

impl std::fmt::Debug for PlatformSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformSettings")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("authorize_url", &self.authorize_url)
            .field("token_url", &self.token_url)
            .field("revoke_url", &self.revoke_url)
            .field("api_url", &self.api_url)
            .field("api_version", &self.api_version)
            .field("sandbox", &self.sandbox)
            .finish()
    }
}

/// The setting keys, as in `iquivity.toml` `[platforms.<platform>]` and `IQUIVITY_<PLATFORM>_<KEY>`.
pub const SETTING_KEYS: [&str; 7] = [
    "client_id",
    "client_secret",
    "authorize_url",
    "token_url",
    "revoke_url",
    "api_url",
    "api_version",
];

impl PlatformSettings {
    /// The real platform's endpoints, without credentials.
    pub fn real(platform: Platform) -> Self {
        let endpoints = crate::descriptor(platform).endpoints;
        PlatformSettings {
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            authorize_url: endpoints.authorize.into(),
            token_url: endpoints.token.into(),
            revoke_url: endpoints.revoke.into(),
            api_url: endpoints.api.into(),
            api_version: endpoints.api_version.into(),
            sandbox: false,
        }
    }

    /// The real platform's paths on a sandbox at `origin`, with the app registered there.
    pub fn sandboxed(
        platform: Platform,
        client_id: &str,
        client_secret: &str,
        origin: &str,
    ) -> Self {
        let mut settings = PlatformSettings::real(platform).rebased(origin);
        settings.client_id = client_id.to_string();
        settings.client_secret = SecretString::from(client_secret.to_string());
        settings.sandbox = true;
        settings
    }

    /// The same paths on another origin (scheme, host and port), e.g. a local sandbox server.
    pub fn rebased(mut self, origin: &str) -> Self {
        let origin = origin.trim_end_matches('/');
        for url in [
            &mut self.authorize_url,
            &mut self.token_url,
            &mut self.revoke_url,
            &mut self.api_url,
        ] {
            let path_start = url
                .find("://")
                .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
                .unwrap_or(url.len());
            *url = format!("{origin}{}", &url[path_start..]);
        }
        self
    }

    /// Whether credentials are configured (otherwise the platform runs against the sandbox).
    pub fn has_credentials(&self) -> bool {
        !self.client_id.is_empty()
    }

    pub(crate) fn url(&self, template: &str) -> String {
        template.replace("{version}", &self.api_version)
    }

    /// The consent address (RFC 6749 §4.1.1): the configured authorize URL with the app, the scopes, where
    /// to come back and the state, and the PKCE challenge where the platform takes one.
    pub(crate) fn consent_url(
        &self,
        consent: &Consent,
        state: &str,
        redirect_uri: &str,
        pkce_challenge: Option<&str>,
    ) -> String {
        let base = self.url(&self.authorize_url);
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs([
            ("response_type", "code"),
            (consent.client_id_field, &self.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", &consent.scope_parameter()),
            ("state", state),
        ]);
        if let Some(challenge) = pkce_challenge.filter(|_| consent.pkce) {
            query.extend_pairs([
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ]);
        }
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}{}", query.finish())
    }

    /// Sets one key by name; used by the configuration loader.
    pub fn set(&mut self, key: &str, value: String) -> Result<(), String> {
        if key.ends_with("_url") && url::Url::parse(&value).is_err() {
            return Err(format!(
                "{key} must be an absolute URL like https://example.com/path (got {value:?})"
            ));
        }
        match key {
            "client_id" => self.client_id = value,
            "client_secret" => self.client_secret = SecretString::from(value),
            "authorize_url" => self.authorize_url = value,
            "token_url" => self.token_url = value,
            "revoke_url" => self.revoke_url = value,
            "api_url" => self.api_url = value,
            "api_version" => self.api_version = value,
            other => {
                return Err(format!(
                    "unknown platform setting {other:?}; expected one of {}",
                    SETTING_KEYS.join(", ")
                ))
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebasing_keeps_paths_and_swaps_the_origin() {
        let s = PlatformSettings::real(Platform::Facebook).rebased("http://127.0.0.1:4000/");
        assert_eq!(
            s.url(&s.authorize_url),
            "http://127.0.0.1:4000/v24.0/dialog/oauth"
        );
        assert_eq!(s.url(&s.api_url), "http://127.0.0.1:4000/v24.0");
        let x = PlatformSettings::real(Platform::X).rebased("http://127.0.0.1:5000");
        assert_eq!(x.token_url, "http://127.0.0.1:5000/2/oauth2/token");
        assert_eq!(x.api_url, "http://127.0.0.1:5000");
    }
}
