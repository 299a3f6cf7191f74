//! Instagram Business and Creator accounts reached through Facebook Login (docs/platforms/instagram.md
//! §3.1): their Pages' Instagram accounts, published through media containers on the Graph API of
//! [`crate::meta`].

use crate::descriptor::{
    permission, ContentRules, DemoAccount, Icon, MediaLimits, MediaRule, PlatformDescriptor,
    PublishWindow, MB,
};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{MAX_POLLS, POLL_INTERVAL};
use crate::meta::{self, page_tokens, rejected, renewed_user, scopes_of, Graph, IdOnly};
use crate::{
    ActingAs, Grant, Identity, Media, MediaKind, PlatformAdapter, PlatformSettings, PostContent,
    PostLookup, Published, RegisteredApp, Renewal, Target,
};
use async_trait::async_trait;
use iquivity_domain::{AccountKind, Platform};
use secrecy::SecretString;
use serde::Deserialize;

const INSTAGRAM_SCOPES: &[&str] = &[
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "instagram_manage_comments",
    "pages_show_list",
    "pages_read_engagement",
    "business_management",
];

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
    consent: meta::consent(INSTAGRAM_SCOPES),
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

    fn app(&self) -> &dyn RegisteredApp {
        &self.graph
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
        ActingAs { id, tokens, .. }: ActingAs<'_>,
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
        ActingAs { id, tokens, .. }: ActingAs<'_>,
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

    /// The container flow (docs/platforms/instagram.md §3.3): a container per media (children and a carousel
    /// for several), wait until processed, publish, then read the permalink.
    async fn publish(
        &self,
        ActingAs {
            id: ig_id, tokens, ..
        }: ActingAs<'_>,
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
        ActingAs { tokens, .. }: ActingAs<'_>,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        self.graph
            .comment(platform_post_id, text, &tokens.access_token)
            .await
    }

    /// Reads the account's latest media (`GET /{ig-user-id}/media`, docs/platforms/instagram.md §3.5) and
    /// looks for one made since `since` with the caption that was sent.
    async fn find_post(
        &self,
        ActingAs {
            id: ig_id, tokens, ..
        }: ActingAs<'_>,
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
