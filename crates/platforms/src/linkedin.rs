//! LinkedIn: the member profile and the organisations the member administers (docs/platforms/linkedin.md §5).
//! Scopes are space-separated, credentials go in the form body (no HTTP Basic), no PKCE on the web flow.

use crate::descriptor::{
    permission, Consent, ContentRules, DemoAccount, Endpoints, Icon, MediaLimits, MediaRule,
    PlatformDescriptor, RenewalClock, RenewalPolicy, MB,
};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{class_from_status, Answer};
use crate::oauth::{ClientAuth, OAuthApp, OAuthError};
use crate::{
    ActingAs, Grant, Identity, PlatformAdapter, PlatformSettings, PostContent, PostLookup,
    Published, RegisteredApp, Renewal, Target, TokenEndpoints,
};
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use iquivity_domain::{AccountKind, Platform, TokenSet};
use reqwest::{Method, RequestBuilder};
use serde::Deserialize;

mod media;
mod posts;

use posts::escape_commentary;

const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "w_member_social",
    "w_organization_social",
    "r_organization_social",
    "rw_organization_admin",
];
const NAME: &str = "linkedin";

pub(crate) const DESCRIPTOR: PlatformDescriptor = PlatformDescriptor {
    platform: Platform::Linkedin,
    short_name: "LinkedIn",
    search_aliases: &["li"],
    connects: "LinkedIn profiles and company pages",
    requirements: &[
        "A LinkedIn account or Company Page",
        "Admin rights (for company pages)",
    ],
    permissions: &[
        permission!("w_member_social", "Share content", true),
        permission!("openid", "Sign in with LinkedIn", true),
        permission!("profile", "Read profile data", true),
        permission!(
            "r_organization_social",
            "Company page access (if applicable)",
            false
        ),
        permission!(
            "w_organization_social",
            "Post as a company page (if applicable)",
            false
        ),
        permission!(
            "rw_organization_admin",
            "List the pages you administer",
            false
        ),
    ],
    endpoints: Endpoints {
        authorize: "https://www.linkedin.com/oauth/v2/authorization",
        token: "https://www.linkedin.com/oauth/v2/accessToken",
        revoke: "https://www.linkedin.com/oauth/v2/revoke",
        api: "https://api.linkedin.com",
        api_version: "202601",
    },
    consent: Consent {
        scopes: SCOPES,
        scope_separator: " ",
        pkce: false,
        client_id_field: "client_id",
    },
    // Access tokens live 60 days; only apps LinkedIn approved for it get refresh tokens, and without one
    // only the person can renew.
    renewal: RenewalPolicy {
        margin: TimeDelta::days(7),
        clock: RenewalClock::AccessToken,
        needs_refresh_token: true,
        rotates_refresh_token: false,
    },
    content: ContentRules {
        max_text_chars: Some(3000),
        counting: crate::TextCounting::CodePoints,
        max_hashtags: None,
        media: MediaRule::Optional,
        // One image, a multi-image post of 2 to 20, or one video (docs/platforms/linkedin.md §5.6).
        // LinkedIn states a pixel count rather than a file size for images: 8 MB bounds it here (⚠);
        // videos up to 500 MB (⚠).
        media_limits: MediaLimits {
            max_items: 20,
            max_videos: 1,
            mixed: false,
            max_image_bytes: 8 * MB,
            max_video_bytes: 500 * MB,
            image_aspect: None,
            max_video_secs: Some(1_800),
            gif_alone: false,
        },
        takes_files: true,
    },
    publish_windows: &[],
    first_comment: true,
    threads: false,
    deletes_posts: true,
    not_publishable: &[],
    login_family: None,
    icon: Icon {
        background: "#0a66c2",
        mark: r##"<rect x="6.3" y="10" width="2.6" height="7.7" fill="#fff"/><circle cx="7.6" cy="7.4" r="1.5" fill="#fff"/><path d="M10.8 10h2.5v1.1c.4-.7 1.3-1.3 2.6-1.3 2.4 0 2.8 1.5 2.8 3.5v4.4h-2.6v-3.9c0-.9 0-2.1-1.3-2.1s-1.5 1-1.5 2v4h-2.5z" fill="#fff"/>"##,
    },
    demo_accounts: &[
        DemoAccount {
            person: "Olivia Bennett",
            kind: AccountKind::Profile,
            label: "personal",
        },
        DemoAccount {
            person: "Brightline",
            kind: AccountKind::Organization,
            label: "client: Brightline",
        },
        DemoAccount {
            person: "Northwind",
            kind: AccountKind::Organization,
            label: "business",
        },
    ],
    adapter: |settings, client| std::sync::Arc::new(Linkedin::new(settings, client)),
};
/// Roles that may post as the organisation.
const POSTING_ROLES: [&str; 2] = ["ADMINISTRATOR", "CONTENT_ADMINISTRATOR"];

pub(crate) struct Linkedin {
    app: OAuthApp,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "serviceErrorCode")]
    service_error_code: Option<i64>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    name: String,
    #[serde(default)]
    picture: Option<String>,
}

#[derive(Deserialize)]
struct Acls {
    elements: Vec<Acl>,
}

#[derive(Deserialize)]
struct Acl {
    organization: String,
    role: String,
    #[serde(default)]
    state: Option<String>,
}

#[derive(Deserialize)]
struct Organization {
    #[serde(rename = "localizedName")]
    localized_name: String,
    #[serde(default, rename = "vanityName")]
    vanity_name: Option<String>,
}

// LinkedIn reports followers to neither (its follower statistics are a separate, gated API).
impl UserInfo {
    fn face(self) -> Identity {
        Identity {
            display_name: self.name,
            handle: None,
            avatar_url: self.picture,
            scopes: None,
            followers: None,
        }
    }
}

impl Organization {
    fn face(self) -> Identity {
        Identity {
            display_name: self.localized_name,
            handle: self.vanity_name,
            avatar_url: None,
            scopes: None,
            followers: None,
        }
    }
}

/// LinkedIn's `{status, serviceErrorCode, code, message}` and OAuth errors (docs/platforms/linkedin.md
/// §5.7).
fn classify(answer: &Answer, renewing: bool) -> PlatformError {
    if let Some(error) = OAuthError::classify(NAME, &answer.body, renewing) {
        return error;
    }
    let error: Option<ApiError> = serde_json::from_slice(&answer.body).ok();
    let message = error
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| format!("HTTP {}", answer.status.as_u16()));
    let code = error
        .as_ref()
        .and_then(|e| e.code.clone())
        .unwrap_or_default();
    let service = error.as_ref().and_then(|e| e.service_error_code);
    let class = match (answer.status.as_u16(), service, code.as_str()) {
        (401, Some(65601), _) | (401, _, "REVOKED_ACCESS_TOKEN") => ErrorClass::TokenRevoked,
        (401, _, _) => ErrorClass::TokenExpired,
        // The daily counters reset at midnight UTC (docs/platforms/linkedin.md §5.8).
        (429, _, _) => ErrorClass::RateLimited {
            until: Utc::now()
                .date_naive()
                .succ_opt()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc()),
        },
        (status, _, _) => {
            class_from_status(reqwest::StatusCode::from_u16(status).unwrap_or_default())
        }
    };
    PlatformError::new(NAME, class, message)
}

impl Linkedin {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        Linkedin {
            app: OAuthApp {
                name: NAME,
                settings,
                client,
                // LinkedIn takes the app's credentials in the form body only.
                client_auth: ClientAuth::Form,
                client_id_field: DESCRIPTOR.consent.client_id_field,
                classify,
            },
        }
    }

    /// A call to `path` of LinkedIn's versioned Rest.li API as the member, with the headers it requires.
    fn rest(&self, method: Method, path: &str, tokens: &TokenSet) -> RequestBuilder {
        self.app
            .api(method, path, tokens)
            .header("LinkedIn-Version", &self.app.settings.api_version)
            .header("X-Restli-Protocol-Version", "2.0.0")
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        tokens: &TokenSet,
    ) -> Result<T, PlatformError> {
        self.app
            .send_json(self.rest(Method::GET, path, tokens))
            .await
    }

    async fn organization(
        &self,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Organization, PlatformError> {
        self.get(&format!("/rest/organizations/{id}"), tokens).await
    }
}

fn org_id(urn: &str) -> Option<&str> {
    urn.strip_prefix("urn:li:organization:")
}

#[async_trait]
impl PlatformAdapter for Linkedin {
    fn platform(&self) -> Platform {
        Platform::Linkedin
    }

    fn app(&self) -> &dyn RegisteredApp {
        &self.app
    }

    /// The member, then the organisations where the member may post (ADMINISTRATOR or CONTENT_ADMINISTRATOR).
    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let me: UserInfo = self.get("/v2/userinfo", &grant.tokens).await?;
        let mut targets = vec![Target::publishable(
            AccountKind::Profile,
            me.sub.clone(),
            me.face(),
            grant.tokens.clone(),
        )];
        let can_list_orgs = grant
            .scopes
            .iter()
            .any(|s| s == "rw_organization_admin" || s == "r_organization_admin");
        if !can_list_orgs {
            return Ok(targets);
        }
        let acls: Acls = self
            .get(
                "/rest/organizationAcls?q=roleAssignee&state=APPROVED",
                &grant.tokens,
            )
            .await?;
        let can_post_as_org = grant.scopes.iter().any(|s| s == "w_organization_social");
        for acl in acls.elements {
            if !POSTING_ROLES.contains(&acl.role.as_str())
                || acl.state.as_deref().is_some_and(|s| s != "APPROVED")
            {
                continue;
            }
            let Some(id) = org_id(&acl.organization) else {
                continue;
            };
            let org = self.organization(id, &grant.tokens).await?;
            targets.push(Target {
                publishable: can_post_as_org,
                unavailable: (!can_post_as_org).then(|| {
                    "posting as an organisation needs the w_organization_social permission; add the account again and grant it".to_string()
                }),
                ..Target::publishable(
                    AccountKind::Organization,
                    id.to_string(),
                    org.face(),
                    grant.tokens.clone(),
                )
            });
        }
        Ok(targets)
    }

    /// Only apps approved for programmatic refresh get a refresh token; its own expiry does not move.
    async fn renew(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
    ) -> Result<Option<Renewal>, PlatformError> {
        let Some(mut renewed) = self.app.renew(tokens).await? else {
            return Ok(None);
        };
        if renewed.tokens.refresh_token.is_none() {
            renewed.tokens.refresh_token = tokens.refresh_token.clone();
            renewed.tokens.refresh_expires_at = tokens.refresh_expires_at;
        }
        Ok(Some(renewed))
    }

    async fn identity(
        &self,
        ActingAs { kind, id, tokens }: ActingAs<'_>,
    ) -> Result<Identity, PlatformError> {
        if kind == AccountKind::Organization {
            return Ok(self.organization(id, tokens).await?.face());
        }
        let me: UserInfo = self.get("/v2/userinfo", tokens).await?;
        Ok(me.face())
    }

    /// `POST /rest/posts` as the member or the organisation (docs/platforms/linkedin.md §5.6); a link is an
    /// article.
    async fn publish(
        &self,
        account: ActingAs<'_>,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        self.publish_post(account, post).await
    }

    /// `POST /rest/socialActions/{urn}/comments {actor, object, message: {text}}` as the post's author
    /// (docs/platforms/linkedin.md §5.6); the comment's URN from `x-restli-id`, else its answer's `id`.
    async fn comment(
        &self,
        ActingAs { kind, id, tokens }: ActingAs<'_>,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let actor = match kind {
            AccountKind::Organization => format!("urn:li:organization:{id}"),
            _ => format!("urn:li:person:{id}"),
        };
        let urn: String =
            url::form_urlencoded::byte_serialize(platform_post_id.as_bytes()).collect();
        let path = format!("/rest/socialActions/{urn}/comments");
        let request = self
            .rest(Method::POST, &path, tokens)
            .json(&serde_json::json!({
                "actor": actor,
                "object": platform_post_id,
                "message": { "text": escape_commentary(text) },
            }));
        let answer = self.app.send_ok(request).await?;
        let from_header = answer
            .headers
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        match from_header {
            Some(id) => Ok(id),
            None => {
                #[derive(serde::Deserialize)]
                struct Made {
                    id: String,
                }
                Ok(answer.json::<Made>(NAME)?.id)
            }
        }
    }

    /// `DELETE /rest/posts/{urn}` (the URN URL-encoded), by the post's author or an admin of its
    /// organisation; LinkedIn answers 204.
    async fn delete_post(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        platform_post_id: &str,
    ) -> Result<(), PlatformError> {
        let urn: String =
            url::form_urlencoded::byte_serialize(platform_post_id.as_bytes()).collect();
        let request = self.rest(Method::DELETE, &format!("/rest/posts/{urn}"), tokens);
        self.app.send_ok(request).await.map(|_| ())
    }

    /// An organisation's posts by author (`GET /rest/posts?q=author`, docs/platforms/linkedin.md §5.9), with
    /// r_organization_social. A member's own posts need r_member_social, which LinkedIn grants to few apps,
    /// so a member's post cannot be looked up.
    async fn find_post(
        &self,
        account: ActingAs<'_>,
        post: &PostContent,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        self.find_authored(account, post, since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::canned;
    use reqwest::header::HeaderMap;

    #[test]
    fn classifies_the_documented_errors() {
        let revoked = canned(
            401,
            r#"{"status":401,"serviceErrorCode":65601,"code":"REVOKED_ACCESS_TOKEN","message":"The token used in the request has been revoked by the user"}"#,
            HeaderMap::new(),
        );
        assert_eq!(classify(&revoked, false).class, ErrorClass::TokenRevoked);
        let expired = canned(
            401,
            r#"{"status":401,"serviceErrorCode":65600,"code":"EXPIRED_ACCESS_TOKEN","message":"The token used in the request has expired"}"#,
            HeaderMap::new(),
        );
        assert_eq!(classify(&expired, false).class, ErrorClass::TokenExpired);
        let denied = canned(
            403,
            r#"{"status":403,"serviceErrorCode":100,"code":"ACCESS_DENIED","message":"Not enough permissions"}"#,
            HeaderMap::new(),
        );
        assert!(matches!(
            classify(&denied, false).class,
            ErrorClass::MissingPermission { .. }
        ));
        assert!(matches!(
            classify(&canned(429, "{}", HeaderMap::new()), false).class,
            ErrorClass::RateLimited { until: Some(_) }
        ));
        assert_eq!(
            classify(&canned(502, "", HeaderMap::new()), false).class,
            ErrorClass::Unavailable
        );
        let sunset = canned(
            426,
            r#"{"status":426,"code":"NONEXISTENT_VERSION","message":"Requested version 202001 is not active"}"#,
            HeaderMap::new(),
        );
        assert_eq!(classify(&sunset, false).class, ErrorClass::Rejected);
        let bad_refresh = canned(
            400,
            r#"{"error":"invalid_grant","error_description":"refresh token expired"}"#,
            HeaderMap::new(),
        );
        assert_eq!(
            classify(&bad_refresh, true).class,
            ErrorClass::RefreshRejected
        );
    }

    #[test]
    fn commentary_escapes_little_text_markup() {
        assert_eq!(
            escape_commentary(r"Hi @ann #launch (see [docs]) a_b *c* ~d~ |e| {f} <g> \h"),
            r"Hi \@ann \#launch \(see \[docs\]\) a\_b \*c\* \~d\~ \|e\| \{f\} \<g\> \\h"
        );
        assert_eq!(escape_commentary("plain text, é!"), "plain text, é!");
    }

    #[test]
    fn scopes_are_space_separated_and_there_is_no_pkce() {
        let li = Linkedin::new(
            PlatformSettings::real(Platform::Linkedin),
            reqwest::Client::new(),
        );
        let url = url::Url::parse(&li.authorize_url("s", "https://a/cb", None)).unwrap();
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["scope"], SCOPES.join(" "));
        assert!(!q.contains_key("code_challenge"));
    }
}
