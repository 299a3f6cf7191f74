//! TikTok (Login Kit v2): `client_key` instead of `client_id`, comma-separated scopes, rotating refresh
//! tokens, `open_id` as the account's id (reference §6).

use crate::error::{ErrorClass, PlatformError};
use crate::http::{self, class_from_status, Answer};
use crate::oauth::{OAuthError, TokenAnswer};
use crate::{Grant, Identity, PlatformAdapter, PlatformSettings, Renewal, Target};
use async_trait::async_trait;
use chrono::Utc;
use iquivity_domain::{AccountKind, Platform, TokenSet};
use secrecy::ExposeSecret;
use serde::Deserialize;

const SCOPES: &[&str] = &[
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.publish",
];
const NAME: &str = "tiktok";

pub(crate) struct Tiktok {
    settings: PlatformSettings,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: Option<T>,
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct UserData {
    user: User,
}

#[derive(Deserialize)]
struct User {
    open_id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

impl Tiktok {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        Tiktok { settings, client }
    }

    /// TikTok's `{"error":{"code",…}}` envelope, and OAuth errors (reference §6.7).
    fn classify(&self, answer: &Answer, renewing: bool) -> PlatformError {
        if let Some(oauth) = OAuthError::parse(&answer.body) {
            let class = match oauth.error.as_str() {
                "invalid_grant" | "invalid_request" if renewing => ErrorClass::RefreshRejected,
                _ => ErrorClass::Rejected,
            };
            return PlatformError::new(NAME, class, oauth.describe());
        }
        let error = serde_json::from_slice::<Envelope<serde_json::Value>>(&answer.body)
            .ok()
            .and_then(|e| e.error);
        let Some(error) = error else {
            return PlatformError::new(
                NAME,
                class_from_status(answer.status),
                format!("HTTP {}", answer.status.as_u16()),
            );
        };
        let class = match error.code.as_str() {
            "access_token_invalid" => ErrorClass::TokenExpired,
            "scope_not_authorized" | "scope_permission_missed" => {
                ErrorClass::MissingPermission { scopes: Vec::new() }
            }
            "rate_limit_exceeded"
            | "spam_risk_too_many_posts"
            | "spam_risk_too_many_pending_share" => ErrorClass::RateLimited {
                until: Some(Utc::now() + chrono::Duration::minutes(1)),
            },
            "internal_error" => ErrorClass::Unavailable,
            _ if answer.status.is_server_error() => ErrorClass::Unavailable,
            _ => ErrorClass::Rejected,
        };
        let message = if error.message.is_empty() {
            error.code
        } else {
            error.message
        };
        PlatformError::new(NAME, class, message)
    }

    async fn token_call(
        &self,
        form: &[(&str, &str)],
        renewing: bool,
    ) -> Result<TokenAnswer, PlatformError> {
        http::send_ok(
            NAME,
            self.client.post(&self.settings.token_url).form(form),
            |a| self.classify(a, renewing),
        )
        .await?
        .json(NAME)
    }

    async fn user(&self, tokens: &TokenSet) -> Result<User, PlatformError> {
        let url = format!(
            "{}/v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username",
            self.settings.api_url
        );
        let answer = http::send(
            NAME,
            self.client
                .get(url)
                .bearer_auth(tokens.access_token.expose_secret()),
        )
        .await?;
        let envelope: Option<Envelope<UserData>> = serde_json::from_slice(&answer.body).ok();
        let failed = envelope
            .as_ref()
            .and_then(|e| e.error.as_ref())
            .is_some_and(|e| e.code != "ok");
        if !answer.status.is_success() || failed {
            return Err(self.classify(&answer, false));
        }
        envelope
            .and_then(|e| e.data)
            .map(|d| d.user)
            .ok_or_else(|| {
                PlatformError::new(
                    NAME,
                    ErrorClass::Unavailable,
                    "the user info answer had no user",
                )
            })
    }
}

#[async_trait]
impl PlatformAdapter for Tiktok {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn settings(&self) -> &PlatformSettings {
        &self.settings
    }

    fn requested_scopes(&self) -> &'static [&'static str] {
        SCOPES
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str, _: Option<&str>) -> String {
        let mut url = url::Url::parse(&self.settings.authorize_url).unwrap_or_else(|_| {
            url::Url::parse("https://www.tiktok.com/v2/auth/authorize/").expect("static URL")
        });
        url.query_pairs_mut()
            .append_pair("client_key", &self.settings.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", &SCOPES.join(","))
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        url.to_string()
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        let answer = self
            .token_call(
                &[
                    ("client_key", &self.settings.client_id),
                    ("client_secret", self.settings.client_secret.expose_secret()),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                    ("redirect_uri", redirect_uri),
                ],
                false,
            )
            .await?;
        let scopes = answer.scopes().unwrap_or_default();
        Ok(Grant {
            tokens: answer.into_tokens(),
            scopes,
        })
    }

    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let user = self.user(&grant.tokens).await?;
        Ok(vec![Target {
            kind: AccountKind::Business,
            display_name: user
                .display_name
                .clone()
                .or(user.username.clone())
                .unwrap_or_else(|| user.open_id.clone()),
            platform_account_id: user.open_id,
            handle: user.username,
            avatar_url: user.avatar_url,
            tokens: grant.tokens.clone(),
            publishable: true,
            unavailable: None,
        }])
    }

    /// Refresh tokens rotate: the previous one stops working once this answers.
    async fn renew(
        &self,
        _: AccountKind,
        _: &str,
        tokens: &TokenSet,
    ) -> Result<Option<Renewal>, PlatformError> {
        let Some(refresh) = &tokens.refresh_token else {
            return Ok(None);
        };
        let answer = self
            .token_call(
                &[
                    ("client_key", &self.settings.client_id),
                    ("client_secret", self.settings.client_secret.expose_secret()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.expose_secret()),
                ],
                true,
            )
            .await?;
        let scopes = answer.scopes();
        Ok(Some(Renewal {
            tokens: answer.into_tokens(),
            scopes,
        }))
    }

    async fn identity(
        &self,
        _: AccountKind,
        _: &str,
        tokens: &TokenSet,
    ) -> Result<Identity, PlatformError> {
        let user = self.user(tokens).await?;
        Ok(Identity {
            display_name: user
                .display_name
                .clone()
                .or(user.username.clone())
                .unwrap_or(user.open_id),
            handle: user.username,
            avatar_url: user.avatar_url,
            scopes: None,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let request = self.client.post(&self.settings.revoke_url).form(&[
            ("client_key", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose_secret()),
            ("token", tokens.access_token.expose_secret()),
        ]);
        http::send_ok(NAME, request, |a| self.classify(a, false))
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::canned;
    use reqwest::header::HeaderMap;

    #[test]
    fn classifies_the_documented_errors() {
        let t = Tiktok::new(
            PlatformSettings::real(Platform::Tiktok),
            reqwest::Client::new(),
        );
        let cases = [
            (
                401,
                r#"{"data":{},"error":{"code":"access_token_invalid","message":"The access token is invalid","log_id":"1"}}"#,
                false,
                ErrorClass::TokenExpired,
            ),
            (
                401,
                r#"{"data":{},"error":{"code":"scope_not_authorized","message":"no scope","log_id":"1"}}"#,
                false,
                ErrorClass::MissingPermission { scopes: vec![] },
            ),
            (
                500,
                r#"{"data":{},"error":{"code":"internal_error","message":"oops","log_id":"1"}}"#,
                false,
                ErrorClass::Unavailable,
            ),
            (
                400,
                r#"{"data":{},"error":{"code":"invalid_params","message":"bad","log_id":"1"}}"#,
                false,
                ErrorClass::Rejected,
            ),
            (
                400,
                r#"{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"1"}"#,
                true,
                ErrorClass::RefreshRejected,
            ),
        ];
        for (status, body, renewing, class) in cases {
            assert_eq!(
                t.classify(&canned(status, body, HeaderMap::new()), renewing)
                    .class,
                class,
                "{body}"
            );
        }
        let limited = t.classify(&canned(429, r#"{"data":{},"error":{"code":"rate_limit_exceeded","message":"slow down","log_id":"1"}}"#, HeaderMap::new()), false);
        assert!(matches!(
            limited.class,
            ErrorClass::RateLimited { until: Some(_) }
        ));
    }

    #[test]
    fn the_authorize_url_uses_client_key_and_commas() {
        let t = Tiktok::new(
            PlatformSettings::real(Platform::Tiktok),
            reqwest::Client::new(),
        );
        let url = url::Url::parse(&t.authorize_url("s", "https://a/cb", None)).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(
            q["scope"],
            "user.info.basic,user.info.profile,user.info.stats,video.publish"
        );
        assert!(q.contains_key("client_key") && !q.contains_key("client_id"));
    }
}
