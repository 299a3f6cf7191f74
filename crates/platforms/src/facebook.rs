//! Facebook Pages (and profiles, for identity only) and Instagram Business/Creator accounts reached through
//! Facebook Login (docs/platforms/facebook.md §2,
//! docs/platforms/instagram.md §3.1). Both sit on the Graph API of [`crate::meta`].

use crate::descriptor::{
    permission, ContentRules, DemoAccount, Icon, MediaLimits, MediaRule, NotPublishable,
    PlatformDescriptor, PublishWindow, MB,
};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{MAX_POLLS, POLL_INTERVAL};
use crate::meta::{self, picture_url, Graph, IdOnly, Page};
use crate::{
    Grant, Identity, Media, MediaKind, PlatformAdapter, PlatformSettings, PostContent, PostLookup,
    Published, Renewal, Target,
};
use async_trait::async_trait;
use iquivity_domain::{AccountKind, Platform, TokenSet};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

const FACEBOOK_SCOPES: &[&str] = &[
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "business_management",
    "read_insights",
    "pages_manage_engagement",
];

const INSTAGRAM_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "instagram_manage_comments",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
];

/// Why a personal profile cannot be published to; a macro so the Platforms page's requirement can quote
/// it at compile time. Graph stopped taking posts to personal profiles in 2018 (publish_actions was
/// removed).
macro_rules! profiles_cannot_publish {
    () => {
        "Facebook does not let apps publish to personal profiles"
    };
}

pub(crate) const FACEBOOK: PlatformDescriptor = PlatformDescriptor {
    platform: Platform::Facebook,
    short_name: "Facebook",
    search_aliases: &["fb"],
    connects: "Facebook Pages and Profiles",
    requirements: &[
        "A Facebook Page (for businesses)",
        "Admin access to the Page",
        "A Facebook Business account",
        concat!(
            "Profiles can be connected for identity only: ",
            profiles_cannot_publish!()
        ),
    ],
    permissions: &[
        permission!("pages_manage_posts", "Publish to the Page", true),
        permission!("pages_read_engagement", "Read insights", true),
        permission!("pages_show_list", "List the Pages you administer", true),
        permission!(
            "business_management",
            "Reach Pages held in a business portfolio",
            false
        ),
        permission!("read_insights", "Page analytics", false),
        permission!(
            "pages_manage_engagement",
            "Add the first comment under the Page's posts",
            false
        ),
    ],
    endpoints: meta::ENDPOINTS,
    renewal: meta::RENEWAL,
    content: ContentRules {
        // The longest text a Page post takes, as publishers have long quoted it.
        max_text_chars: Some(63_206),
        counting: crate::TextCounting::CodePoints,
        max_hashtags: None,
        media: MediaRule::Optional,
        // Several photos attached to one Page post, or one video; Meta states no count for attached photos,
        // so ten, as Page composers allow (docs/platforms/facebook.md §2.6). Photos up to 10 MB and videos
        // up to 1 GB through `file_url`, as Meta's Page photo and video references state them.
        media_limits: MediaLimits {
            max_items: 10,
            max_videos: 1,
            mixed: false,
            max_image_bytes: 10 * MB,
            max_video_bytes: 1024 * MB,
            image_aspect: None,
            max_video_secs: Some(14_400),
            gif_alone: false,
        },
        takes_files: false,
    },
    publish_windows: &[],
    first_comment: true,
    threads: false,
    deletes_posts: true,
    not_publishable: &[NotPublishable {
        kind: AccountKind::Profile,
        what: "a personal Facebook profile",
        why: profiles_cannot_publish!(),
        instead: "a Page",
    }],
    login_family: meta::LOGIN_FAMILY,
    icon: Icon {
        background: "#1877f2",
        mark: r##"<path d="M13.5 21v-7h2.4l.4-2.8h-2.8V9.4c0-.8.3-1.4 1.4-1.4h1.5V5.5c-.3 0-1.2-.1-2.2-.1-2.2 0-3.6 1.3-3.6 3.7v2.1H8.2V14h2.4v7z" fill="#fff"/>"##,
    },
    demo_accounts: &[
        DemoAccount {
            person: "Mason Carter",
            kind: AccountKind::Page,
            label: "business",
        },
        DemoAccount {
            person: "Harbor Coffee",
            kind: AccountKind::Page,
            label: "client: Harbor Coffee",
        },
        DemoAccount {
            person: "Greenleaf Market",
            kind: AccountKind::Page,
            label: "client: Greenleaf",
        },
    ],
    adapter: |settings, client| std::sync::Arc::new(Facebook::new(settings, client)),
};

pub(crate) const INSTAGRAM: PlatformDescriptor = PlatformDescriptor {
    platform: Platform::Instagram,
    short_name: "Instagram",
    search_aliases: &["ig", "insta"],
    connects: "Instagram Business or Creator accounts",
    requirements: &[
        "An Instagram Business or Creator account",
        "Connected to a Facebook Page",
        "Admin access to that Page",
    ],
    permissions: &[
        permission!("instagram_basic", "Basic profile access", true),
        permission!("instagram_content_publish", "Publish posts", true),
        permission!(
            "pages_show_list",
            "Find the Pages your Instagram accounts are linked to",
            true
        ),
        permission!("pages_read_engagement", "Read the linked Page", true),
        permission!("instagram_manage_insights", "View analytics", false),
        permission!(
            "instagram_manage_comments",
            "Add the first comment under posts",
            false
        ),
        permission!(
            "business_management",
            "Reach Pages held in a business portfolio",
            false
        ),
    ],
    endpoints: meta::ENDPOINTS,
    renewal: meta::RENEWAL,
    content: ContentRules {
        // A caption takes 2,200 characters and 30 hashtags (Instagram's own help; some schedulers now
        // quote 5 hashtags, which Meta's documentation does not state).
        max_text_chars: Some(2_200),
        counting: crate::TextCounting::CodePoints,
        max_hashtags: Some(30),
        media: MediaRule::Required("an image or a video"),
        // A carousel holds up to 10 images or videos, mixed; JPEG images up to 8 MB and videos up to
        // 300 MB (Instagram's content publishing reference; docs/platforms/instagram.md §3.3).
        media_limits: MediaLimits {
            max_items: 10,
            max_videos: 10,
            mixed: true,
            max_image_bytes: 8 * MB,
            max_video_bytes: 300 * MB,
            // Feed images from 4:5 to 1.91:1 (Instagram refuses others: error 2207009).
            image_aspect: Some((0.8, 1.91)),
            max_video_secs: Some(900),
            gif_alone: false,
        },
        takes_files: false,
    },
    // 50 published posts per 24 hours per account (docs/platforms/instagram.md §3.4).
    publish_windows: &[PublishWindow {
        minutes: 1440,
        posts: 50,
    }],
    first_comment: true,
    threads: false,
    deletes_posts: false,
    not_publishable: &[],
    login_family: meta::LOGIN_FAMILY,
    icon: Icon {
        background: "#d62976",
        mark: r##"<rect x="6" y="6" width="12" height="12" rx="3.5" fill="none" stroke="#fff" stroke-width="1.8"/><circle cx="12" cy="12" r="2.9" fill="none" stroke="#fff" stroke-width="1.8"/><circle cx="15.6" cy="8.4" r="1" fill="#fff"/>"##,
    },
    demo_accounts: &[
        DemoAccount {
            person: "Isabella Morgan",
            kind: AccountKind::Business,
            label: "business",
        },
        DemoAccount {
            person: "Sophia Reyes",
            kind: AccountKind::Business,
            label: "personal",
        },
        DemoAccount {
            person: "Lucas Hayes",
            kind: AccountKind::Business,
            label: "business",
        },
    ],
    adapter: |settings, client| std::sync::Arc::new(Instagram::new(settings, client)),
};

fn authorize_url(
    settings: &PlatformSettings,
    scopes: &[&str],
    state: &str,
    redirect_uri: &str,
) -> String {
    settings.authorize_url_with(&[
        ("client_id", &settings.client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("response_type", "code"),
        ("scope", &scopes.join(",")),
    ])
}

/// Code → short-lived user token → long-lived user token (about 60 days), and the scopes granted.
async fn grant(graph: &Graph, code: &str, redirect_uri: &str) -> Result<Grant, PlatformError> {
    let short = graph.exchange_code(code, redirect_uri).await?;
    let long = graph.long_lived(&short.token).await?;
    let scopes = graph.granted_scopes(&long.token).await?;
    Ok(Grant {
        tokens: long.into_tokens(),
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

/// The user token to renew with, exchanged for a fresh long-lived one, and the scopes it holds now (unknown
/// if they cannot be read).
async fn renewed_user(graph: &Graph, tokens: &TokenSet) -> Result<Renewal, PlatformError> {
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
            publishable: FACEBOOK.publishes_to(AccountKind::Profile),
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
        let user = renewed_user(&self.graph, tokens).await?;
        if kind == AccountKind::Profile {
            return Ok(Some(user));
        }
        #[derive(Deserialize)]
        struct PageToken {
            access_token: Option<String>,
        }
        let page: PageToken = self
            .graph
            .get(
                &format!("/{id}?fields=access_token"),
                &user.tokens.access_token,
            )
            .await?;
        let Some(token) = page.access_token else {
            let granted = user.scopes.unwrap_or_default();
            return Err(PlatformError::new(
                "facebook",
                ErrorClass::MissingPermission {
                    scopes: crate::missing_scopes(&self.required_scopes(), &granted),
                },
                "Facebook no longer gives a token for this Page: a Page role or a permission was removed",
            ));
        };
        Ok(Some(Renewal {
            tokens: page_tokens(token, &user.tokens),
            scopes: user.scopes,
        }))
    }

    async fn identity(
        &self,
        kind: AccountKind,
        id: &str,
        tokens: &TokenSet,
    ) -> Result<Identity, PlatformError> {
        let (display_name, handle, avatar_url, followers) = if kind == AccountKind::Profile {
            let me = self.graph.me(&tokens.access_token).await?;
            (me.name, None, picture_url(me.picture), None)
        } else {
            let page = self.graph.page(id, &tokens.access_token).await?;
            (
                page.name,
                page.username,
                picture_url(page.picture),
                page.followers_count,
            )
        };
        Ok(Identity {
            display_name,
            handle,
            avatar_url,
            scopes: scopes_of(&self.graph, tokens).await,
            followers,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.graph.revoke(tokens).await
    }

    /// A Page post with the Page's token (docs/platforms/facebook.md §2.6): text and link on `/feed`; images
    /// uploaded unpublished to `/photos` and attached to one `/feed` post; a video through `/videos`.
    async fn publish(
        &self,
        kind: AccountKind,
        page_id: &str,
        tokens: &TokenSet,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        if let Some(no) = FACEBOOK.not_publishable(kind) {
            return Err(rejected(
                "facebook",
                &format!("{}; publish to {} instead", no.why, no.instead),
            ));
        }
        let token = &tokens.access_token;
        let videos: Vec<&Media> = post.videos().collect();
        let images: Vec<&Media> = post.images().collect();
        let id = match (videos.as_slice(), images.is_empty()) {
            ([], true) => {
                let mut body = json!({ "message": post.text });
                if let Some(link) = &post.link {
                    body["link"] = json!(link);
                }
                let created: IdOnly = self
                    .graph
                    .post_json(&format!("/{page_id}/feed"), &body, token)
                    .await?;
                created.id
            }
            ([], false) => {
                let mut attached = Vec::new();
                for image in images {
                    let photo: IdOnly = self
                        .graph
                        .post_json(
                            &format!("/{page_id}/photos"),
                            &json!({ "url": image.url, "published": false }),
                            token,
                        )
                        .await?;
                    attached.push(json!({ "media_fbid": photo.id }));
                }
                // Graph ignores `link` beside attached media, so the link goes into the message.
                let body = json!({ "message": post.text_with_link(), "attached_media": attached });
                let created: IdOnly = self
                    .graph
                    .post_json(&format!("/{page_id}/feed"), &body, token)
                    .await?;
                created.id
            }
            ([video], true) => {
                let body = json!({
                    "file_url": video.url,
                    "description": post.text_with_link(),
                    "published": true,
                });
                let created: IdOnly = self
                    .graph
                    .post_json(&format!("/{page_id}/videos"), &body, token)
                    .await?;
                created.id
            }
            _ => {
                return Err(rejected(
                    "facebook",
                    "a Facebook post takes either one video or images, not both or several videos",
                ))
            }
        };
        Ok(published(id))
    }

    /// `POST /{post-id}/comments {message}` with the Page's token: the Page comments under its post.
    async fn comment(
        &self,
        _: AccountKind,
        _: &str,
        tokens: &TokenSet,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let made: IdOnly = self
            .graph
            .post_form(
                &format!("/{platform_post_id}/comments"),
                &[("message", text)],
                &tokens.access_token,
            )
            .await?;
        Ok(made.id)
    }

    /// `DELETE /{post-id}` with the Page's token.
    async fn delete_post(
        &self,
        _: AccountKind,
        _: &str,
        tokens: &TokenSet,
        platform_post_id: &str,
    ) -> Result<(), PlatformError> {
        self.graph
            .delete(&format!("/{platform_post_id}"), &tokens.access_token)
            .await
    }

    /// Reads the Page's own posts since `since` (`GET /{page-id}/published_posts`,
    /// docs/platforms/facebook.md §2.9) and looks for one with the text that was sent.
    async fn find_post(
        &self,
        _: AccountKind,
        page_id: &str,
        tokens: &TokenSet,
        post: &PostContent,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        let path = format!(
            "/{page_id}/published_posts?fields=id,message,created_time&since={}&limit=100",
            since.timestamp()
        );
        let posts: meta::Paged<PagePost> = self.graph.get(&path, &tokens.access_token).await?;
        // Text posts carry the link in its own field; media posts carry it in the message.
        let with_link = post.text_with_link();
        let sent = [post.text.as_str(), &with_link].map(str::trim_end);
        Ok(posts
            .data
            .into_iter()
            .filter(|p| meta::at_or_after(p.created_time.as_deref(), since))
            .find(|p| sent.contains(&p.message.as_deref().unwrap_or_default().trim_end()))
            .map(|found| published(found.id))
            .into())
    }
}

/// One of a Page's posts, as `published_posts` lists it.
#[derive(Deserialize)]
struct PagePost {
    id: String,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
}

/// A Page post, with its address on Facebook.
fn published(id: String) -> Published {
    Published {
        url: Some(format!("https://www.facebook.com/{id}")),
        platform_post_id: id,
    }
}

fn rejected(platform: &'static str, message: &str) -> PlatformError {
    PlatformError::new(platform, ErrorClass::Rejected, message)
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

    /// Waits until Instagram has fetched and processed a container's media (docs/platforms/instagram.md §3.3
    /// step 3).
    async fn processed(
        &self,
        container: &str,
        token: &SecretString,
    ) -> Result<ContainerState, PlatformError> {
        for attempt in 0..MAX_POLLS {
            if attempt > 0 {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            let status: ContainerStatus = self
                .graph
                .get(&format!("/{container}?fields=status_code,status"), token)
                .await?;
            match status.status_code.as_str() {
                "FINISHED" => return Ok(ContainerState::Ready),
                "PUBLISHED" => return Ok(ContainerState::AlreadyPublished),
                "ERROR" | "EXPIRED" => {
                    let detail = status.status.unwrap_or(status.status_code);
                    return Err(rejected(
                        "instagram",
                        &format!("Instagram could not process the media: {detail}"),
                    ));
                }
                _ => {}
            }
        }
        Err(PlatformError::new(
            "instagram",
            ErrorClass::Unavailable,
            "Instagram was still processing the media after several seconds; nothing was published",
        ))
    }

    /// One media container; `carousel_item` for a child of a carousel (docs/platforms/instagram.md §3.3 steps
    /// 1 and 2).
    async fn container(
        &self,
        ig_id: &str,
        media: &Media,
        caption: Option<&str>,
        carousel_item: bool,
        token: &SecretString,
    ) -> Result<String, PlatformError> {
        let mut form = match (media.kind, carousel_item) {
            (MediaKind::Image, _) => vec![("image_url", media.url.as_str())],
            // Since July 2023 a single feed video is a reel; inside a carousel it stays a VIDEO.
            (MediaKind::Video, false) => {
                vec![("video_url", media.url.as_str()), ("media_type", "REELS")]
            }
            (MediaKind::Video, true) => {
                vec![("video_url", media.url.as_str()), ("media_type", "VIDEO")]
            }
        };
        if carousel_item {
            form.push(("is_carousel_item", "true"));
        }
        if let Some(caption) = caption {
            form.push(("caption", caption));
        }
        let created: IdOnly = self
            .graph
            .post_form(&format!("/{ig_id}/media"), &form, token)
            .await?;
        Ok(created.id)
    }

    async fn account(&self, ig_id: &str, token: &SecretString) -> Result<IgAccount, PlatformError> {
        self.graph
            .get(
                &format!("/{ig_id}?fields=id,username,name,profile_picture_url,followers_count"),
                token,
            )
            .await
    }
}

#[derive(Deserialize)]
struct ContainerStatus {
    status_code: String,
    #[serde(default)]
    status: Option<String>,
}

enum ContainerState {
    Ready,
    /// Published by an earlier attempt whose answer was lost: publishing again would fail.
    AlreadyPublished,
}

#[derive(Deserialize)]
struct Permalink {
    #[serde(default)]
    permalink: Option<String>,
}

#[derive(Deserialize)]
struct IgAccount {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    profile_picture_url: Option<String>,
    #[serde(default)]
    followers_count: Option<u64>,
}

impl IgAccount {
    /// The name shown: the account's name, else its username, else its id.
    fn display_name(&self, id: &str) -> String {
        self.name
            .clone()
            .or(self.username.clone())
            .unwrap_or_else(|| id.to_string())
    }
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
                display_name: account.display_name(&ig.id),
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
        let user = renewed_user(&self.graph, tokens).await?;
        let pages = self.graph.pages(&user.tokens.access_token).await?;
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
            tokens: page_tokens(page.access_token.unwrap_or_default(), &user.tokens),
            scopes: user.scopes,
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
            display_name: account.display_name(id),
            handle: account.username,
            avatar_url: account.profile_picture_url,
            scopes: scopes_of(&self.graph, tokens).await,
            followers: account.followers_count,
        })
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.graph.revoke(tokens).await
    }

    /// The container flow (docs/platforms/instagram.md §3.3): a container per media (children and a carousel
    /// for several), wait until processed, publish, then read the permalink.
    async fn publish(
        &self,
        _: AccountKind,
        ig_id: &str,
        tokens: &TokenSet,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        let token = &tokens.access_token;
        // Links are not clickable in captions, but dropping one would lose part of the post.
        let caption = post.text_with_link();
        let container = match post.media.as_slice() {
            [] => return Err(rejected("instagram", "Instagram needs an image or a video")),
            [media] => {
                self.container(ig_id, media, Some(&caption), false, token)
                    .await?
            }
            several => {
                let mut children = Vec::new();
                for media in several {
                    let child = self.container(ig_id, media, None, true, token).await?;
                    // A carousel can only be made of children that are ready.
                    self.processed(&child, token).await?;
                    children.push(child);
                }
                let children = children.join(",");
                let form = [
                    ("media_type", "CAROUSEL"),
                    ("children", children.as_str()),
                    ("caption", caption.as_str()),
                ];
                let created: IdOnly = self
                    .graph
                    .post_form(&format!("/{ig_id}/media"), &form, token)
                    .await?;
                created.id
            }
        };
        if let ContainerState::AlreadyPublished = self.processed(&container, token).await? {
            // The container does not tell which media it became, so its id stands in for the post's.
            return Ok(Published {
                platform_post_id: container,
                url: None,
            });
        }
        let media: IdOnly = self
            .graph
            .post_form(
                &format!("/{ig_id}/media_publish?creation_id={container}"),
                &[],
                token,
            )
            .await?;
        // The post is live from here on: failing now would have it published a second time on retry.
        let url = match self
            .graph
            .get::<Permalink>(&format!("/{}?fields=permalink", media.id), token)
            .await
        {
            Ok(link) => link.permalink,
            Err(e) => {
                tracing::warn!(error = %e, "published to Instagram, but its permalink could not be read");
                None
            }
        };
        Ok(Published {
            platform_post_id: media.id,
            url,
        })
    }

    /// `POST /{ig-media-id}/comments {message}`: the account comments under its own media
    /// (instagram_manage_comments).
    async fn comment(
        &self,
        _: AccountKind,
        _: &str,
        tokens: &TokenSet,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let made: IdOnly = self
            .graph
            .post_form(
                &format!("/{platform_post_id}/comments"),
                &[("message", text)],
                &tokens.access_token,
            )
            .await?;
        Ok(made.id)
    }

    /// Reads the account's latest media (`GET /{ig-user-id}/media`, docs/platforms/instagram.md §3.5) and
    /// looks for one made since `since` with the caption that was sent.
    async fn find_post(
        &self,
        _: AccountKind,
        ig_id: &str,
        tokens: &TokenSet,
        post: &PostContent,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        let path = format!("/{ig_id}/media?fields=id,caption,timestamp,permalink&limit=50");
        let media: meta::Paged<IgMedia> = self.graph.get(&path, &tokens.access_token).await?;
        let caption = post.text_with_link();
        Ok(media
            .data
            .into_iter()
            .filter(|m| meta::at_or_after(m.timestamp.as_deref(), since))
            .find(|m| m.caption.as_deref().unwrap_or_default().trim_end() == caption.trim_end())
            .map(|found| Published {
                platform_post_id: found.id,
                url: found.permalink,
            })
            .into())
    }
}

/// One of an Instagram account's media, as `/media` lists it.
#[derive(Deserialize)]
struct IgMedia {
    id: String,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    permalink: Option<String>,
}
