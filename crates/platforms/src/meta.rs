//! The Graph API that Facebook and Instagram (with Facebook Login) share: token exchanges, permissions,
//! Pages, and Graph's error envelope (docs/platforms/facebook.md §2,
//! docs/platforms/instagram.md §3.1).

use crate::error::{ErrorClass, PlatformError};
use crate::http::{self, class_from_status, in_seconds, Answer};
use crate::settings::PlatformSettings;
use crate::{Grant, RegisteredApp, Renewal, TokenEndpoints};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use iquivity_domain::TokenSet;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeSet;

/// Where Facebook and Instagram (with Facebook Login) live: the same Graph API.
pub(crate) const ENDPOINTS: crate::Endpoints = crate::Endpoints {
    authorize: "https://www.facebook.com/{version}/dialog/oauth",
    token: "https://graph.facebook.com/{version}/oauth/access_token",
    revoke: "https://graph.facebook.com/{version}/me/permissions",
    api: "https://graph.facebook.com/{version}",
    api_version: "v24.0",
};

/// Renewal for both: the long-lived user token behind Page and Instagram tokens (about 60 days) is
/// re-exchanged a week before its end, since an expired one cannot be exchanged.
pub(crate) const RENEWAL: crate::RenewalPolicy = crate::RenewalPolicy {
    margin: chrono::TimeDelta::days(7),
    clock: crate::RenewalClock::UserToken,
    needs_refresh_token: false,
    rotates_refresh_token: false,
};

/// Facebook Login's consent for both, with each platform's scopes: comma-separated, no PKCE.
pub(crate) const fn consent(scopes: &'static [&'static str]) -> crate::descriptor::Consent {
    crate::descriptor::Consent {
        scopes,
        scope_separator: ",",
        pkce: false,
        client_id_field: "client_id",
    }
}

/// Meta revokes a whole login, not one Page or Instagram account.
pub(crate) const LOGIN_FAMILY: Option<&str> = Some("meta");

/// Page fields read everywhere a Page is listed.
const PAGE_FIELDS: &str = "id,name,username,access_token,picture,instagram_business_account";

pub(crate) struct Graph {
    pub platform: &'static str,
    pub settings: PlatformSettings,
    pub client: reqwest::Client,
    /// Scope names to look for in permission errors.
    pub known_scopes: &'static [&'static str],
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<i64>,
}

#[derive(Deserialize)]
pub(crate) struct Picture {
    pub data: PictureData,
}

#[derive(Deserialize)]
pub(crate) struct PictureData {
    pub url: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct IdOnly {
    pub id: String,
}

#[derive(Deserialize)]
pub(crate) struct Page {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub picture: Option<Picture>,
    #[serde(default)]
    pub instagram_business_account: Option<IdOnly>,
    #[serde(default)]
    pub followers_count: Option<u64>,
}

/// One page of a Graph list.
#[derive(Deserialize)]
pub(crate) struct Paged<T> {
    pub data: Vec<T>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Me {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub picture: Option<Picture>,
}

#[derive(Deserialize)]
struct Permission {
    permission: String,
    status: String,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    error_subcode: Option<i64>,
}

/// A user-level token and when it expires.
pub(crate) struct UserToken {
    pub token: SecretString,
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

impl UserToken {
    /// A long-lived user token as a connection keeps it: it acts for the user, and it is also the grant
    /// token that renews Page tokens and revokes the login. Meta gives no refresh token.
    pub fn into_tokens(self) -> TokenSet {
        TokenSet {
            access_token: self.token.clone(),
            refresh_token: None,
            expires_at: self.expires_at,
            refresh_expires_at: None,
            grant_token: Some(self.token),
            issued_at: Some(chrono::Utc::now()),
        }
    }
}

impl Graph {
    fn api(&self, path: &str) -> String {
        format!("{}{}", self.settings.url(&self.settings.api_url), path)
    }

    /// Classifies Graph's error envelope (docs/platforms/facebook.md §2.7).
    pub fn classify(&self, answer: &Answer) -> PlatformError {
        let Ok(envelope) = serde_json::from_slice::<ErrorEnvelope>(&answer.body) else {
            return PlatformError::new(
                self.platform,
                class_from_status(answer.status),
                format!("the platform answered HTTP {}", answer.status.as_u16()),
            );
        };
        let e = envelope.error;
        let class = match (e.code, e.error_subcode) {
            (Some(190 | 102), Some(463)) => ErrorClass::TokenExpired,
            (Some(190 | 102), Some(458 | 459 | 460 | 464 | 467)) => ErrorClass::TokenRevoked,
            (Some(190 | 102), _) => ErrorClass::TokenRevoked,
            (Some(10), _) | (Some(200..=299), _) => ErrorClass::MissingPermission {
                scopes: self
                    .known_scopes
                    .iter()
                    .filter(|s| e.message.contains(*s))
                    .map(|s| s.to_string())
                    .collect(),
            },
            (Some(4 | 17 | 32 | 613 | 341), _) | (Some(80000..=80014), _) => {
                ErrorClass::RateLimited {
                    until: regain_access(answer),
                }
            }
            (Some(1 | 2), _) => ErrorClass::Unavailable,
            _ if answer.status.is_server_error() => ErrorClass::Unavailable,
            _ => ErrorClass::Rejected,
        };
        PlatformError::new(self.platform, class, e.message)
    }

    /// Sends a Graph call and reads its answer as `T`, failures classified by Graph's rules.
    async fn send_json<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, PlatformError> {
        http::send_json(self.platform, request, |a| self.classify(a)).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        token: &SecretString,
    ) -> Result<T, PlatformError> {
        self.send_json(self.client.get(url).bearer_auth(token.expose_secret()))
            .await
    }

    async fn token_request(&self, query: &[(&str, &str)]) -> Result<UserToken, PlatformError> {
        let url = self.settings.url(&self.settings.token_url);
        let token: TokenAnswer = self.send_json(self.client.get(url).query(query)).await?;
        Ok(UserToken {
            token: SecretString::from(token.access_token),
            expires_at: in_seconds(token.expires_in),
        })
    }

    /// The authorization code for a (short-lived) user token.
    async fn short_lived_token(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<UserToken, PlatformError> {
        self.token_request(&[
            ("client_id", &self.settings.client_id),
            ("redirect_uri", redirect_uri),
            ("client_secret", self.settings.client_secret.expose_secret()),
            ("code", code),
        ])
        .await
    }

    /// A user token for a long-lived one (about 60 days); an expired token cannot be exchanged.
    pub async fn long_lived(&self, token: &SecretString) -> Result<UserToken, PlatformError> {
        self.token_request(&[
            ("grant_type", "fb_exchange_token"),
            ("client_id", &self.settings.client_id),
            ("client_secret", self.settings.client_secret.expose_secret()),
            ("fb_exchange_token", token.expose_secret()),
        ])
        .await
    }

    pub async fn granted_scopes(&self, token: &SecretString) -> Result<Vec<String>, PlatformError> {
        let permissions: Paged<Permission> =
            self.get_json(&self.api("/me/permissions"), token).await?;
        Ok(permissions
            .data
            .into_iter()
            .filter(|p| p.status == "granted")
            .map(|p| p.permission)
            .collect())
    }

    pub async fn me(&self, token: &SecretString) -> Result<Me, PlatformError> {
        self.get_json(&self.api("/me?fields=id,name,picture"), token)
            .await
    }

    pub async fn page(&self, page_id: &str, token: &SecretString) -> Result<Page, PlatformError> {
        self.get_json(
            &self.api(&format!(
                "/{page_id}?fields=id,name,username,picture,followers_count"
            )),
            token,
        )
        .await
    }

    /// Follows `paging.next` to the end; only on the Graph origin, so a token is never sent elsewhere.
    async fn all_pages(
        &self,
        first: String,
        token: &SecretString,
    ) -> Result<Vec<Page>, PlatformError> {
        let origin = origin_of(&self.settings.url(&self.settings.api_url));
        let mut pages = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            if origin_of(&url) != origin {
                return Err(PlatformError::new(
                    self.platform,
                    ErrorClass::Unavailable,
                    "the platform's paging link points to another host",
                ));
            }
            let batch: Paged<Page> = self.get_json(&url, token).await?;
            pages.extend(batch.data);
            next = batch.paging.and_then(|p| p.next);
        }
        Ok(pages)
    }

    /// The Pages the user administers: those granted in the dialog, and those reached through the
    /// user's business portfolios (which the dialog's selection may leave out).
    pub async fn pages(&self, user_token: &SecretString) -> Result<Vec<Page>, PlatformError> {
        let mut pages = self
            .all_pages(
                self.api(&format!("/me/accounts?fields={PAGE_FIELDS}&limit=100")),
                user_token,
            )
            .await?;
        let businesses = match self
            .get_json::<Paged<IdOnly>>(&self.api("/me/businesses?fields=id"), user_token)
            .await
        {
            Ok(b) => b.data,
            // Without business_management the portfolios are out of reach; the dialog's Pages still are.
            Err(e) if matches!(e.class, ErrorClass::MissingPermission { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        for business in businesses {
            for edge in ["owned_pages", "client_pages"] {
                let url = self.api(&format!(
                    "/{}/{edge}?fields={PAGE_FIELDS}&limit=100",
                    business.id
                ));
                pages.extend(self.all_pages(url, user_token).await?);
            }
        }
        let mut seen = BTreeSet::new();
        pages.retain(|p| seen.insert(p.id.clone()));
        Ok(pages)
    }

    pub async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        token: &SecretString,
    ) -> Result<T, PlatformError> {
        self.get_json(&self.api(path), token).await
    }

    /// A POST with a form body; Graph takes the same fields as form, JSON or query parameters.
    pub async fn post_form<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        token: &SecretString,
    ) -> Result<T, PlatformError> {
        let request = self.client.post(self.api(path)).form(form);
        self.send_json(request.bearer_auth(token.expose_secret()))
            .await
    }

    /// A DELETE of a node; Graph answers `{"success": true}`.
    pub async fn delete(&self, path: &str, token: &SecretString) -> Result<(), PlatformError> {
        #[derive(serde::Deserialize)]
        struct Success {
            success: bool,
        }
        let request = self
            .client
            .delete(self.api(path))
            .bearer_auth(token.expose_secret());
        let answer: Success = self.send_json(request).await?;
        if answer.success {
            Ok(())
        } else {
            Err(PlatformError::new(
                self.platform,
                ErrorClass::Rejected,
                "the platform answered that nothing was deleted",
            ))
        }
    }

    /// `POST /{object-id}/comments {message}`: the token's Page or Instagram account comments under its own
    /// post; the comment's id.
    pub async fn comment(
        &self,
        object_id: &str,
        text: &str,
        token: &SecretString,
    ) -> Result<String, PlatformError> {
        let made: IdOnly = self
            .post_form(
                &format!("/{object_id}/comments"),
                &[("message", text)],
                token,
            )
            .await?;
        Ok(made.id)
    }

    /// A POST with a JSON body, for fields that are lists of objects (`attached_media`).
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
        token: &SecretString,
    ) -> Result<T, PlatformError> {
        let request = self.client.post(self.api(path)).json(body);
        self.send_json(request.bearer_auth(token.expose_secret()))
            .await
    }
}

// --- Facebook Login, the same for Facebook Pages and Instagram -----------------------------------------

impl RegisteredApp for Graph {
    fn settings(&self) -> &PlatformSettings {
        &self.settings
    }
}

/// Facebook Login's token endpoints, the same for Facebook Pages and Instagram.
#[async_trait]
impl TokenEndpoints for Graph {
    /// Code → short-lived user token → long-lived user token (about 60 days), and the scopes granted.
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        let short = self.short_lived_token(code, redirect_uri).await?;
        let long = self.long_lived(&short.token).await?;
        let scopes = self.granted_scopes(&long.token).await?;
        Ok(Grant {
            tokens: long.into_tokens(),
            scopes,
        })
    }

    /// The user token, exchanged for a fresh long-lived one; each platform derives its accounts' tokens
    /// from it.
    async fn renew(&self, tokens: &TokenSet) -> Result<Option<Renewal>, PlatformError> {
        renewed_user(self, tokens).await.map(Some)
    }

    /// Revokes the whole login, with the user token behind a Page or Instagram token where there is one.
    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let token = tokens.grant_token.as_ref().unwrap_or(&tokens.access_token);
        let url = self.settings.url(&self.settings.revoke_url);
        let request = self.client.delete(url).bearer_auth(token.expose_secret());
        http::send_ok(self.platform, request, |a| self.classify(a))
            .await
            .map(|_| ())
    }
}

/// A Page's token, derived from a long-lived user token: it does not expire, and the user token behind it
/// is kept to renew it and to revoke the login.
pub(crate) fn page_tokens(page_token: String, user: &TokenSet) -> TokenSet {
    TokenSet {
        access_token: SecretString::from(page_token),
        refresh_token: None,
        expires_at: None,
        refresh_expires_at: user.expires_at,
        grant_token: user
            .grant_token
            .clone()
            .or_else(|| Some(user.access_token.clone())),
        issued_at: Some(chrono::Utc::now()),
    }
}

pub(crate) fn no_grant(platform: &'static str) -> PlatformError {
    PlatformError::new(
        platform,
        ErrorClass::TokenRevoked,
        "this connection holds no user token to renew it with; reconnect the account",
    )
}

/// The user token to renew with, exchanged for a fresh long-lived one, and the scopes it holds now (unknown
/// if they cannot be read).
pub(crate) async fn renewed_user(
    graph: &Graph,
    tokens: &TokenSet,
) -> Result<Renewal, PlatformError> {
    let grant_token = tokens
        .grant_token
        .as_ref()
        .ok_or_else(|| no_grant(graph.platform))?;
    let user = graph.long_lived(grant_token).await?.into_tokens();
    let scopes = graph.granted_scopes(&user.access_token).await.ok();
    Ok(Renewal {
        tokens: user,
        scopes,
    })
}

pub(crate) async fn scopes_of(graph: &Graph, tokens: &TokenSet) -> Option<Vec<String>> {
    let token = tokens.grant_token.as_ref().unwrap_or(&tokens.access_token);
    graph.granted_scopes(token).await.ok()
}

pub(crate) fn rejected(platform: &'static str, message: &str) -> PlatformError {
    PlatformError::new(platform, ErrorClass::Rejected, message)
}

fn origin_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// `X-Business-Use-Case-Usage` carries minutes until access returns (docs/platforms/facebook.md §2.8).
fn regain_access(answer: &Answer) -> Option<chrono::DateTime<Utc>> {
    let header = answer
        .headers
        .get("x-business-use-case-usage")?
        .to_str()
        .ok()?;
    let usage: serde_json::Value = serde_json::from_str(header).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(|v| v.as_array())
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access")?.as_i64())
        .max()?;
    Some(Utc::now() + chrono::Duration::minutes(minutes.max(1)))
}

/// Whether a Graph time (`2026-12-05T10:00:00+0000`) is at or after `since`; a missing or unreadable one
/// is kept, since dropping it could hide the post looked for.
pub(crate) fn at_or_after(time: Option<&str>, since: DateTime<Utc>) -> bool {
    time.and_then(|t| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%z").ok())
        .is_none_or(|t| t >= since)
}

pub(crate) fn picture_url(picture: Option<Picture>) -> Option<String> {
    picture.and_then(|p| p.data.url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::canned;
    use iquivity_domain::Platform;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn graph() -> Graph {
        Graph {
            platform: "facebook",
            settings: PlatformSettings::real(Platform::Facebook),
            client: reqwest::Client::new(),
            known_scopes: &["pages_manage_posts", "pages_show_list"],
        }
    }

    fn class(body: &str) -> ErrorClass {
        graph().classify(&canned(400, body, HeaderMap::new())).class
    }

    #[test]
    fn classifies_the_documented_graph_errors() {
        assert_eq!(
            class(
                r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"A"}}"#
            ),
            ErrorClass::TokenExpired
        );
        for subcode in [458, 459, 460, 464, 467] {
            assert_eq!(
                class(&format!(
                    r#"{{"error":{{"message":"x","type":"OAuthException","code":190,"error_subcode":{subcode}}}}}"#
                )),
                ErrorClass::TokenRevoked
            );
        }
        assert_eq!(
            class(r#"{"error":{"message":"invalid","code":190}}"#),
            ErrorClass::TokenRevoked
        );
        assert_eq!(
            class(
                r#"{"error":{"message":"(#200) Requires pages_manage_posts permission to manage the object","type":"OAuthException","code":200}}"#
            ),
            ErrorClass::MissingPermission {
                scopes: vec!["pages_manage_posts".into()]
            }
        );
        assert!(matches!(
            class(r#"{"error":{"message":"(#10) Permission denied","code":10}}"#),
            ErrorClass::MissingPermission { .. }
        ));
        assert_eq!(
            class(r#"{"error":{"message":"Duplicate status message","code":506}}"#),
            ErrorClass::Rejected
        );
        assert_eq!(
            class(r#"{"error":{"message":"An unknown error occurred","code":1}}"#),
            ErrorClass::Unavailable
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-business-use-case-usage",
            HeaderValue::from_static(r#"{"123":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":7}]}"#),
        );
        let limited = graph().classify(&canned(
            400,
            r#"{"error":{"message":"(#32) Page request limit reached","code":32}}"#,
            headers,
        ));
        match limited.class {
            ErrorClass::RateLimited { until: Some(until) } => {
                let minutes = (until - Utc::now()).num_minutes();
                assert!((6..=7).contains(&minutes), "{minutes}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            graph()
                .classify(&canned(503, "upstream down", HeaderMap::new()))
                .class,
            ErrorClass::Unavailable
        );
    }
}
