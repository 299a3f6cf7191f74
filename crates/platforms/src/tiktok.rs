//! TikTok (Login Kit v2): `client_key` instead of `client_id`, comma-separated scopes, rotating refresh
//! tokens, `open_id` as the account's id (docs/platforms/tiktok.md §6).

use crate::descriptor::{
    permission, Consent, ContentRules, DemoAccount, Endpoints, Icon, MediaLimits, MediaRule,
    PlatformDescriptor, PublishWindow, RenewalClock, RenewalPolicy, MB,
};
use crate::error::{Delivery, ErrorClass, PlatformError};
use crate::http::{self, class_from_status, Answer, MAX_POLLS, POLL_INTERVAL};
use crate::oauth::{ClientAuth, OAuthApp, OAuthError};
use crate::{
    ActingAs, Grant, Identity, Media, PlatformAdapter, PlatformSettings, PostContent, Published,
    RegisteredApp, Target,
};
use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use iquivity_domain::{AccountKind, Platform, TokenSet};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

const SCOPES: &[&str] = &[
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.publish",
];
const NAME: &str = "tiktok";

pub(crate) const DESCRIPTOR: PlatformDescriptor = PlatformDescriptor {
    platform: Platform::Tiktok,
    short_name: "TikTok",
    search_aliases: &["tt"],
    connects: "TikTok Business accounts",
    requirements: &[
        "A TikTok Business account",
        "A verified account",
        "A content creator or business profile",
    ],
    permissions: &[
        permission!("user.info.basic", "Profile information access", true),
        permission!("video.publish", "Video upload and publishing", true),
        permission!("user.info.profile", "Read your username", false),
        permission!("user.info.stats", "Analytics access", false),
    ],
    endpoints: Endpoints {
        authorize: "https://www.tiktok.com/v2/auth/authorize/",
        token: "https://open.tiktokapis.com/v2/oauth/token/",
        revoke: "https://open.tiktokapis.com/v2/oauth/revoke/",
        api: "https://open.tiktokapis.com",
        api_version: "",
    },
    consent: Consent {
        scopes: SCOPES,
        scope_separator: ",",
        pkce: false,
        client_id_field: "client_key",
    },
    // Access tokens live a day; the (rotating) refresh token renews them.
    renewal: RenewalPolicy {
        margin: TimeDelta::minutes(30),
        clock: RenewalClock::AccessToken,
        needs_refresh_token: false,
        rotates_refresh_token: true,
    },
    content: ContentRules {
        // A video's caption (`post_info.title`) takes 2,200 characters.
        max_text_chars: Some(2_200),
        counting: crate::TextCounting::CodePoints,
        max_hashtags: None,
        media: MediaRule::Required("a video or photos"),
        // One video, or a photo post of up to 35 photos, never both; photos up to 20 MB and videos up to
        // 4 GB (TikTok's Content Posting reference; docs/platforms/tiktok.md §6.6).
        media_limits: MediaLimits {
            max_items: 35,
            max_videos: 1,
            mixed: false,
            max_image_bytes: 20 * MB,
            max_video_bytes: 4096 * MB,
            image_aspect: None,
            max_video_secs: Some(600),
            gif_alone: false,
        },
        takes_files: false,
    },
    // 6 publish inits per minute per user token (docs/platforms/tiktok.md §6.8).
    publish_windows: &[PublishWindow {
        minutes: 1,
        posts: 6,
    }],
    first_comment: false,
    threads: false,
    deletes_posts: false,
    not_publishable: &[],
    login_family: None,
    icon: Icon {
        background: "#111111",
        mark: r##"<path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#25f4ee" transform="translate(-.5 .3)"/><path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#fe2c55" transform="translate(.5 -.3)"/><path d="M13.2 5.5h2.3c.2 1.6 1.2 2.7 2.8 2.9v2.3c-1.1 0-2-.3-2.8-.8v4.6a3.9 3.9 0 1 1-3.9-3.9c.2 0 .4 0 .6.1v2.4a1.6 1.6 0 1 0 1 1.5z" fill="#fff"/>"##,
    },
    demo_accounts: &[
        DemoAccount {
            person: "Liam Foster",
            kind: AccountKind::Business,
            label: "client: Foster & Co",
        },
        DemoAccount {
            person: "Ava Sullivan",
            kind: AccountKind::Business,
            label: "personal",
        },
        DemoAccount {
            person: "Chloe Ramirez",
            kind: AccountKind::Business,
            label: "client: Ramirez Fitness",
        },
    ],
    adapter: |settings, client| std::sync::Arc::new(Tiktok::new(settings, client)),
};
/// A photo post's title is at most 90 characters; the whole text goes into its description.
const PHOTO_TITLE_CHARS: usize = 90;

pub(crate) struct Tiktok {
    app: OAuthApp,
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
    #[serde(default)]
    follower_count: Option<u64>,
}

#[derive(Deserialize)]
struct CreatorInfo {
    #[serde(default)]
    privacy_level_options: Vec<String>,
    #[serde(default)]
    creator_username: Option<String>,
    #[serde(default)]
    comment_disabled: bool,
    #[serde(default)]
    duet_disabled: bool,
    #[serde(default)]
    stitch_disabled: bool,
}

#[derive(Deserialize)]
struct PublishStarted {
    publish_id: String,
}

#[derive(Deserialize)]
struct PublishStatus {
    status: String,
    /// Spelled as TikTok spells it; numbers on the wire, empty for posts only the creator sees.
    #[serde(default)]
    publicaly_available_post_id: Vec<Value>,
    #[serde(default)]
    fail_reason: Option<String>,
}

impl User {
    /// The name shown is the display name, else the username, else the open id.
    fn face(self) -> Identity {
        Identity {
            display_name: self
                .display_name
                .or(self.username.clone())
                .unwrap_or(self.open_id),
            handle: self.username,
            avatar_url: self.avatar_url,
            scopes: None,
            followers: self.follower_count,
        }
    }
}

/// What a publish is made of, checked before any call.
enum Upload<'a> {
    Video(&'a Media),
    Photos(Vec<&'a Media>),
}

/// TikTok's `{"error":{"code",…}}` envelope, and OAuth errors (docs/platforms/tiktok.md §6.7).
fn classify(answer: &Answer, renewing: bool) -> PlatformError {
    if let Some(error) = OAuthError::classify(NAME, &answer.body, renewing) {
        return error;
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
        "rate_limit_exceeded" | "spam_risk_too_many_posts" | "spam_risk_too_many_pending_share" => {
            ErrorClass::RateLimited {
                until: Some(Utc::now() + chrono::Duration::minutes(1)),
            }
        }
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

impl Tiktok {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        Tiktok {
            app: OAuthApp {
                name: NAME,
                settings,
                client,
                // TikTok takes the app's credentials in the form body (`client_key`, `client_secret`).
                client_auth: ClientAuth::Form,
                client_id_field: DESCRIPTOR.consent.client_id_field,
                classify,
            },
        }
    }

    /// One API call: TikTok can answer 200 with an error in the envelope, so both are checked.
    async fn call<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, PlatformError> {
        let answer = http::send(NAME, request).await?;
        let envelope: Option<Envelope<T>> = serde_json::from_slice(&answer.body).ok();
        let failed = envelope
            .as_ref()
            .and_then(|e| e.error.as_ref())
            .is_some_and(|e| e.code != "ok");
        if !answer.status.is_success() || failed {
            return Err(classify(&answer, false));
        }
        // A success that cannot be read: TikTok acted on the request, but what it made is unknown.
        envelope.and_then(|e| e.data).ok_or_else(|| {
            PlatformError::undelivered(
                NAME,
                Delivery::Accepted,
                "the platform answered success without the data it should carry",
            )
        })
    }

    async fn user(&self, tokens: &TokenSet) -> Result<User, PlatformError> {
        let data: UserData = self
            .call(self.app.api(
                Method::GET,
                "/v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username,follower_count",
                tokens,
            ))
            .await?;
        Ok(data.user)
    }

    /// A Content Posting API call (docs/platforms/tiktok.md §6.6).
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&Value>,
        tokens: &TokenSet,
    ) -> Result<T, PlatformError> {
        let mut request = self.app.api(Method::POST, path, tokens).header(
            reqwest::header::CONTENT_TYPE,
            "application/json; charset=UTF-8",
        );
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        self.call(request).await
    }

    /// Polls until the publish ends; the post's public id, if it has one.
    async fn finished(
        &self,
        publish_id: &str,
        tokens: &TokenSet,
    ) -> Result<Option<String>, PlatformError> {
        let body = json!({ "publish_id": publish_id });
        for attempt in 0..MAX_POLLS {
            if attempt > 0 {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            let status: PublishStatus = match self
                .post("/v2/post/publish/status/fetch/", Some(&body), tokens)
                .await
            {
                Ok(status) => status,
                // Reading the status changes nothing, so a failed read is simply asked again.
                Err(err) if err.class == ErrorClass::Unavailable => {
                    tracing::debug!(error = %err, "TikTok's publish status could not be read; asking again");
                    continue;
                }
                Err(err) => return Err(err),
            };
            match status.status.as_str() {
                "PUBLISH_COMPLETE" => {
                    return Ok(status
                        .publicaly_available_post_id
                        .first()
                        .map(|id| match id {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        }))
                }
                "FAILED" => {
                    return Err(PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        format!(
                            "TikTok could not publish the post: {}",
                            status.fail_reason.as_deref().unwrap_or("no reason given")
                        ),
                    ))
                }
                "SEND_TO_USER_INBOX" => {
                    return Err(PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        "TikTok sent the post to the creator's inbox as a draft instead of publishing it",
                    ))
                }
                _ => {}
            }
        }
        // TikTok has the post: sending it again could publish it twice.
        Err(PlatformError::undelivered(
            NAME,
            Delivery::Accepted,
            "TikTok took the post but was still processing it after several seconds; it may still appear",
        ))
    }
}

fn rejected(message: impl Into<String>) -> PlatformError {
    PlatformError::new(NAME, ErrorClass::Rejected, message)
}

/// The post's media as TikTok takes it: one video, or photos.
fn upload_of(post: &PostContent) -> Result<Upload<'_>, PlatformError> {
    let videos: Vec<&Media> = post.videos().collect();
    let images: Vec<&Media> = post.images().collect();
    match (videos.as_slice(), images.is_empty()) {
        ([], true) => Err(rejected("TikTok needs a video or photos")),
        ([video], true) => Ok(Upload::Video(video)),
        ([], false) => Ok(Upload::Photos(images)),
        _ => Err(rejected(
            "a TikTok post takes either one video or photos, not both or several videos",
        )),
    }
}

#[async_trait]
impl PlatformAdapter for Tiktok {
    fn platform(&self) -> Platform {
        Platform::Tiktok
    }

    fn app(&self) -> &dyn RegisteredApp {
        &self.app
    }

    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let user = self.user(&grant.tokens).await?;
        Ok(vec![Target::publishable(
            AccountKind::Business,
            user.open_id.clone(),
            user.face(),
            grant.tokens.clone(),
        )])
    }

    async fn identity(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
    ) -> Result<Identity, PlatformError> {
        Ok(self.user(tokens).await?.face())
    }

    /// Creator info, then a direct post pulled from the media's URL, then the status until it ends
    /// (docs/platforms/tiktok.md §6.6).
    async fn publish(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        let upload = upload_of(post)?;
        let creator: CreatorInfo = self
            .post("/v2/post/publish/creator_info/query/", None, tokens)
            .await?;
        let privacy_level = match &post.privacy_level {
            Some(level) if creator.privacy_level_options.contains(level) => level.clone(),
            None if !creator.privacy_level_options.is_empty() => {
                creator.privacy_level_options[0].clone()
            }
            _ => {
                return Err(rejected(format!(
                    "the privacy level must be one of this creator's options: {}",
                    creator.privacy_level_options.join(", ")
                )))
            }
        };
        // Links are not clickable in captions, but dropping one would lose part of the post.
        let text = post.text_with_link();
        let (path, body) = match &upload {
            Upload::Video(video) => (
                "/v2/post/publish/video/init/",
                json!({
                    "post_info": {
                        "title": text,
                        "privacy_level": privacy_level,
                        // What the creator turned off in the app stays off (TikTok's posting rules).
                        "disable_duet": creator.duet_disabled,
                        "disable_comment": creator.comment_disabled,
                        "disable_stitch": creator.stitch_disabled,
                        "video_cover_timestamp_ms": 0,
                    },
                    "source_info": { "source": "PULL_FROM_URL", "video_url": video.url },
                }),
            ),
            Upload::Photos(photos) => (
                "/v2/post/publish/content/init/",
                json!({
                    "media_type": "PHOTO",
                    "post_mode": "DIRECT_POST",
                    "post_info": {
                        "title": text.chars().take(PHOTO_TITLE_CHARS).collect::<String>(),
                        "description": text,
                        "privacy_level": privacy_level,
                        "disable_comment": creator.comment_disabled,
                    },
                    "source_info": {
                        "source": "PULL_FROM_URL",
                        "photo_images": photos.iter().map(|p| p.url.as_str()).collect::<Vec<_>>(),
                        "photo_cover_index": 0,
                    },
                }),
            ),
        };
        let started: PublishStarted = self.post(path, Some(&body), tokens).await?;
        let Some(post_id) = self.finished(&started.publish_id, tokens).await? else {
            // A post only its creator may see has no public id; the publish id is what identifies it.
            return Ok(Published {
                platform_post_id: started.publish_id,
                url: None,
            });
        };
        let kind = match upload {
            Upload::Video(_) => "video",
            Upload::Photos(_) => "photo",
        };
        Ok(Published {
            url: creator
                .creator_username
                .map(|user| format!("https://www.tiktok.com/@{user}/{kind}/{post_id}")),
            platform_post_id: post_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::canned;
    use reqwest::header::HeaderMap;

    #[test]
    fn classifies_the_documented_errors() {
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
                classify(&canned(status, body, HeaderMap::new()), renewing).class,
                class,
                "{body}"
            );
        }
        let limited = classify(
            &canned(
                429,
                r#"{"data":{},"error":{"code":"rate_limit_exceeded","message":"slow down","log_id":"1"}}"#,
                HeaderMap::new(),
            ),
            false,
        );
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
