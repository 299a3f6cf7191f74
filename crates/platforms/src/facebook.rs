//! Facebook Pages (and profiles, for identity only) and Instagram Business/Creator accounts reached through
//! Facebook Login (reference §2, §3.1). Both sit on the Graph API of [`crate::meta`].

use crate::error::{ErrorClass, PlatformError};
use crate::meta::{picture_url, Graph, Page};
use crate::{Grant, Identity, PlatformAdapter, PlatformSettings, Renewal, Target};
use async_trait::async_trait;
use iquivity_domain::{AccountKind, Platform, TokenSet};
use secrecy::SecretString;
use serde::Deserialize;

const FACEBOOK_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
    "read_insights",
];

const INSTAGRAM_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
];

fn authorize_url(
    settings: &PlatformSettings,
    scopes: &[&str],
    state: &str,
    redirect_uri: &str,
) -> String {
    let mut url = url::Url::parse(&settings.url(&settings.authorize_url)).unwrap_or_else(|_| {
        url::Url::parse("https://www.facebook.com/dialog/oauth").expect("static URL")
    });
    url.query_pairs_mut()
        .append_pair("client_id", &settings.client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", state)
        .append_pair("response_type", "code")
        .append_pair("scope", &scopes.join(","));
    url.to_string()
}

/// Code → short-lived user token → long-lived user token (about 60 days), and the scopes granted.
async fn grant(graph: &Graph, code: &str, redirect_uri: &str) -> Result<Grant, PlatformError> {
    let short = graph.exchange_code(code, redirect_uri).await?;
    let long = graph.long_lived(&short.token).await?;
    let scopes = graph.granted_scopes(&long.token).await?;
    Ok(Grant {
        tokens: TokenSet {
            access_token: long.token.clone(),
            refresh_token: None,
            expires_at: long.expires_at,
            refresh_expires_at: None,
            grant_token: Some(long.token),
            issued_at: Some(chrono::Utc::now()),
        },
        scopes,
    })
}

/// A Page's token, derived from a long-lived user token: it does not expire, and the user token behind it
/// is kept to renew it and to revoke the login.
fn page_tokens(page_token: String, user: &TokenSet) -> TokenSet {
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

fn no_grant(platform: &'static str) -> PlatformError {
    PlatformError::new(
        platform,
        ErrorClass::TokenRevoked,
        "this connection holds no user token to renew it with; reconnect the account",
    )
}

/// The user token to renew with, exchanged for a fresh long-lived one.
async fn renewed_user_tokens(graph: &Graph, tokens: &TokenSet) -> Result<TokenSet, PlatformError> {
    let grant_token = tokens
        .grant_token
        .as_ref()
        .ok_or_else(|| no_grant(graph.platform))?;
    let long = graph.long_lived(grant_token).await?;
    Ok(TokenSet {
        access_token: long.token.clone(),
        refresh_token: None,
        expires_at: long.expires_at,
        refresh_expires_at: None,
        grant_token: Some(long.token),
        issued_at: Some(chrono::Utc::now()),
    })
}

async fn scopes_of(graph: &Graph, tokens: &TokenSet) -> Option<Vec<String>> {
    let token = tokens.grant_token.as_ref().unwrap_or(&tokens.access_token);
    graph.granted_scopes(token).await.ok()
}

pub(crate) struct Facebook {
    graph: Graph,
}

impl Facebook {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        Facebook {
            graph: Graph {
                platform: "facebook",
                settings,
                client,
                known_scopes: FACEBOOK_SCOPES,
            },
        }
    }
}

fn page_target(page: Page, user: &TokenSet) -> Target {
    let unavailable = page.access_token.is_none().then(|| {
        format!(
            "Facebook did not give a Page token for “{}”: you need a role on the Page that can create content",
            page.name
        )
    });
    Target {
        kind: AccountKind::Page,
        platform_account_id: page.id,
        display_name: page.name,
        handle: page.username,
        avatar_url: picture_url(page.picture),
        tokens: page_tokens(page.access_token.unwrap_or_default(), user),
        publishable: true,
        unavailable,
    }
}

#[async_trait]
impl PlatformAdapter for Facebook {
    fn platform(&self) -> Platform {
        Platform::Facebook
    }

    fn settings(&self) -> &PlatformSettings {
        &self.graph.settings
    }

    fn requested_scopes(&self) -> &'static [&'static str] {
        FACEBOOK_SCOPES
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str, _: Option<&str>) -> String {
        authorize_url(&self.graph.settings, FACEBOOK_SCOPES, state, redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        grant(&self.graph, code, redirect_uri).await
    }

    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let me = self.graph.me(&grant.tokens.access_token).await?;
        let mut targets = vec![Target {
            kind: AccountKind::Profile,
            platform_account_id: me.id,
            display_name: me.name,
            handle: None,
            avatar_url: picture_url(me.picture),
            tokens: grant.tokens.clone(),
            publishable: false,
            unavailable: None,
        }];
        for page in self.graph.pages(&grant.tokens.access_token).await? {
            targets.push(page_target(page, &grant.tokens));
        }
        Ok(targets)
    }

    async fn renew(
        &self,
        kind: AccountKind,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Option<Renewal>, PlatformError> {
        let user = renewed_user_tokens(&self.graph, tokens).await?;
        let scopes = self.graph.granted_scopes(&user.access_token).await.ok();
        if kind == AccountKind::Profile {
            return Ok(Some(Renewal {
                tokens: user,
                scopes,
            }));
        }
        #[derive(Deserialize)]
        struct PageToken {
            access_token: Option<String>,
        }
        let page: PageToken = self
            .graph
            .get(&format!("/{id}?fields=access_token"), &user.access_token)
            .await?;
        let Some(token) = page.access_token else {
            let granted = scopes.clone().unwrap_or_default();
            return Err(PlatformError::new(
                "facebook",
                ErrorClass::MissingPermission {
                    scopes: crate::missing_scopes(&self.required_scopes(), &granted),
                },
                "Facebook no longer gives a token for this Page: a Page role or a permission was removed",
            ));
        };
        Ok(Some(Renewal {
            tokens: page_tokens(token, &user),
            scopes,
        }))
    }

    async fn identity(
        &self,
        kind: AccountKind,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Identity, PlatformError> {
        let (display_name, handle, avatar_url) = if kind == AccountKind::Profile {
            let me = self.graph.me(&tokens.access_token).await?;
            (me.name, None, picture_url(me.picture))
        } else {
            let page = self.graph.page(id, &tokens.access_token).await?;
            (page.name, page.username, picture_url(page.picture))
        };
        Ok(Identity {
            display_name,
            handle,
            avatar_url,
            scopes: scopes_of(&self.graph, tokens).await,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.graph
            .revoke(tokens.grant_token.as_ref().unwrap_or(&tokens.access_token))
            .await
    }
}

pub(crate) struct Instagram {
    graph: Graph,
}

impl Instagram {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        Instagram {
            graph: Graph {
                platform: "instagram",
                settings,
                client,
                known_scopes: INSTAGRAM_SCOPES,
            },
        }
    }

    async fn account(&self, ig_id: &str, token: &SecretString) -> Result<IgAccount, PlatformError> {
        self.graph
            .get(
                &format!("/{ig_id}?fields=id,username,name,profile_picture_url"),
                token,
            )
            .await
    }
}

#[derive(Deserialize)]
struct IgAccount {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
}

#[async_trait]
impl PlatformAdapter for Instagram {
    fn platform(&self) -> Platform {
        Platform::Instagram
    }

    fn settings(&self) -> &PlatformSettings {
        &self.graph.settings
    }

    fn requested_scopes(&self) -> &'static [&'static str] {
        INSTAGRAM_SCOPES
    }

    fn authorize_url(&self, state: &str, redirect_uri: &str, _: Option<&str>) -> String {
        authorize_url(&self.graph.settings, INSTAGRAM_SCOPES, state, redirect_uri)
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        grant(&self.graph, code, redirect_uri).await
    }

    /// The Instagram accounts linked to the user's Pages; a Page without one is listed as unavailable,
    /// with how to link one (the product's requirement "connected to a Facebook Page").
    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let mut targets = Vec::new();
        for page in self.graph.pages(&grant.tokens.access_token).await? {
            let Some(ig) = page.instagram_business_account else {
                targets.push(Target {
                    kind: AccountKind::Page,
                    platform_account_id: format!("page:{}", page.id),
                    display_name: page.name.clone(),
                    handle: page.username,
                    avatar_url: None,
                    tokens: grant.tokens.clone(),
                    publishable: false,
                    unavailable: Some(format!(
                        "The Facebook Page “{}” has no Instagram Business or Creator account linked. Switch the \
                         Instagram account to Business or Creator and link it to this Page (Page settings → \
                         Linked accounts → Instagram), then add the account again.",
                        page.name
                    )),
                });
                continue;
            };
            let page_token = page.access_token.clone().unwrap_or_default();
            let tokens = page_tokens(page_token, &grant.tokens);
            let account = self.account(&ig.id, &tokens.access_token).await?;
            targets.push(Target {
                kind: AccountKind::Business,
                display_name: account
                    .name
                    .clone()
                    .or(account.username.clone())
                    .unwrap_or_else(|| ig.id.clone()),
                platform_account_id: ig.id,
                handle: account.username,
                avatar_url: account.profile_picture_url,
                tokens,
                publishable: true,
                unavailable: None,
            });
        }
        Ok(targets)
    }

    async fn renew(
        &self,
        _: AccountKind,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Option<Renewal>, PlatformError> {
        let user = renewed_user_tokens(&self.graph, tokens).await?;
        let scopes = self.graph.granted_scopes(&user.access_token).await.ok();
        let pages = self.graph.pages(&user.access_token).await?;
        let page = pages
            .into_iter()
            .find(|p| {
                p.instagram_business_account
                    .as_ref()
                    .is_some_and(|ig| ig.id == id)
            })
            .ok_or_else(|| {
                PlatformError::new(
                    "instagram",
                    ErrorClass::MissingPermission { scopes: Vec::new() },
                    "this Instagram account is no longer linked to a Facebook Page you manage",
                )
            })?;
        Ok(Some(Renewal {
            tokens: page_tokens(page.access_token.unwrap_or_default(), &user),
            scopes,
        }))
    }

    async fn identity(
        &self,
        _: AccountKind,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Identity, PlatformError> {
        let account = self.account(id, &tokens.access_token).await?;
        Ok(Identity {
            display_name: account
                .name
                .clone()
                .or(account.username.clone())
                .unwrap_or_else(|| id.to_string()),
            handle: account.username,
            avatar_url: account.profile_picture_url,
            scopes: scopes_of(&self.graph, tokens).await,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.graph
            .revoke(tokens.grant_token.as_ref().unwrap_or(&tokens.access_token))
            .await
    }
}
