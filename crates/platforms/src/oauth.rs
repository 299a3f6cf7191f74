//! The app's side of the platforms that follow RFC 6749 closely (X, LinkedIn, TikTok): their token and
//! revocation calls, the token endpoint's answer and the OAuth error body.

use crate::error::{ErrorClass, PlatformError};
use crate::http::{self, in_seconds, split_scopes, Answer};
use crate::{Grant, PlatformSettings, RegisteredApp, Renewal, TokenEndpoints};
use async_trait::async_trait;
use iquivity_domain::TokenSet;
use reqwest::{Method, RequestBuilder};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// How the app proves itself to the token and revocation endpoints: besides the name of the id's field,
/// the one point where X, LinkedIn and TikTok differ there.
pub(crate) enum ClientAuth {
    /// HTTP Basic with the id and secret, and the id in the form too (X's confidential clients).
    Basic,
    /// The id and the secret (`client_secret`) in the form.
    Form,
}

/// One platform's registered app and how its failures read: the code exchange, renewal and revocation as
/// RFC 6749 writes them, with the app's credentials where the platform wants them.
pub(crate) struct OAuthApp {
    pub name: &'static str,
    pub settings: PlatformSettings,
    pub client: reqwest::Client,
    pub client_auth: ClientAuth,
    /// The form field the app's id goes under: the descriptor's [`crate::descriptor::Consent`] says.
    pub client_id_field: &'static str,
    /// The platform's reading of a failed answer; `renewing` says whether a refresh token was presented.
    pub classify: fn(&Answer, bool) -> PlatformError,
}

impl OAuthApp {
    /// A POST to one of the OAuth endpoints.
    fn post(&self, url: &str) -> RequestBuilder {
        let request = self.client.post(url);
        match self.client_auth {
            ClientAuth::Basic => request.basic_auth(
                &self.settings.client_id,
                Some(self.settings.client_secret.expose_secret()),
            ),
            ClientAuth::Form => request,
        }
    }

    /// `form` with the app's credentials added as the platform wants them in the body.
    fn with_credentials<'a>(
        &'a self,
        mut form: Vec<(&'a str, &'a str)>,
    ) -> Vec<(&'a str, &'a str)> {
        form.push((self.client_id_field, &self.settings.client_id));
        if let ClientAuth::Form = self.client_auth {
            form.push(("client_secret", self.settings.client_secret.expose_secret()));
        }
        form
    }

    async fn tokens(
        &self,
        form: &[(&str, &str)],
        renewing: bool,
    ) -> Result<TokenAnswer, PlatformError> {
        let request = self.post(&self.settings.token_url).form(form);
        http::send_json(self.name, request, |a| (self.classify)(a, renewing)).await
    }

    /// Revokes what `form` names (the token, and a hint where the platform takes one).
    pub async fn revoke_with(&self, form: Vec<(&str, &str)>) -> Result<(), PlatformError> {
        let form = self.with_credentials(form);
        let request = self.post(&self.settings.revoke_url).form(&form);
        self.send_ok(request).await.map(|_| ())
    }

    /// A call to `path` of the platform's API as the account whose tokens these are.
    pub fn api(&self, method: Method, path: &str, tokens: &TokenSet) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.settings.api_url))
            .bearer_auth(tokens.access_token.expose_secret())
    }

    /// Sends an API call and demands a success.
    pub async fn send_ok(&self, request: RequestBuilder) -> Result<Answer, PlatformError> {
        http::send_ok(self.name, request, |a| (self.classify)(a, false)).await
    }

    /// Sends an API call, demands a success and reads the body as `T`.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, PlatformError> {
        self.send_ok(request).await?.json(self.name)
    }
}

impl RegisteredApp for OAuthApp {
    fn settings(&self) -> &PlatformSettings {
        &self.settings
    }
}

#[async_trait]
impl TokenEndpoints for OAuthApp {
    /// Exchanges an authorization code, with the PKCE verifier where the flow used one.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        form.extend(verifier.map(|verifier| ("code_verifier", verifier)));
        let form = self.with_credentials(form);
        Ok(self.tokens(&form, false).await?.into_grant())
    }

    /// Presents the refresh token; `None` when the account has none to present.
    async fn renew(&self, tokens: &TokenSet) -> Result<Option<Renewal>, PlatformError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Ok(None);
        };
        let form = self.with_credentials(vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose_secret()),
        ]);
        Ok(Some(self.tokens(&form, true).await?.into_renewal()))
    }

    /// Revokes the access token.
    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.revoke_with(vec![("token", tokens.access_token.expose_secret())])
            .await
    }
}

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
