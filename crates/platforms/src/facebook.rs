//! Facebook Pages (and profiles, for identity only) reached through Facebook Login
//! (docs/platforms/facebook.md §2), on the Graph API of [`crate::meta`] that Instagram shares.

use crate::descriptor::{
    permission, ContentRules, DemoAccount, Icon, MediaLimits, MediaRule, NotPublishable,
    PlatformDescriptor, MB,
};
use crate::error::{ErrorClass, PlatformError};
use crate::meta::{
    self, page_tokens, picture_url, rejected, renewed_user, scopes_of, Graph, IdOnly, Page,
};
use crate::{
    ActingAs, Grant, Identity, Media, PlatformAdapter, PlatformSettings, PostContent, PostLookup,
    Published, RegisteredApp, Renewal, Target,
};
use async_trait::async_trait;
use iquivity_domain::{AccountKind, Platform, TokenSet};
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
    consent: meta::consent(FACEBOOK_SCOPES),
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

    fn app(&self) -> &dyn RegisteredApp {
        &self.graph
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
        ActingAs { kind, id, tokens }: ActingAs<'_>,
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
        ActingAs { kind, id, tokens }: ActingAs<'_>,
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

    /// A Page post with the Page's token (docs/platforms/facebook.md §2.6): text and link on `/feed`; images
    /// uploaded unpublished to `/photos` and attached to one `/feed` post; a video through `/videos`.
    async fn publish(
        &self,
        ActingAs {
            kind,
            id: page_id,
            tokens,
        }: ActingAs<'_>,
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
        ActingAs { tokens, .. }: ActingAs<'_>,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        self.graph
            .comment(platform_post_id, text, &tokens.access_token)
            .await
    }

    /// `DELETE /{post-id}` with the Page's token.
    async fn delete_post(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
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
        ActingAs {
            id: page_id,
            tokens,
            ..
        }: ActingAs<'_>,
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
