//! X (Twitter), OAuth 2.0 Authorization Code with PKCE (S256), confidential client with HTTP Basic,
//! rotating refresh tokens (docs/platforms/x.md §4).

use crate::descriptor::{
    permission, Consent, ContentRules, DemoAccount, Endpoints, Icon, MediaLimits, MediaRule,
    PlatformDescriptor, PublishWindow, RenewalClock, RenewalPolicy, MB,
};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{class_from_status, Answer};
use crate::oauth::{ClientAuth, OAuthApp, OAuthError};
use crate::{
    ActingAs, Grant, Identity, PlatformAdapter, PlatformSettings, PostContent, PostLookup,
    Published, RegisteredApp, Target,
};
use async_trait::async_trait;
use chrono::{TimeDelta, TimeZone, Utc};
use iquivity_domain::{AccountKind, Platform, TokenSet};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::Deserialize;

mod media;

const SCOPES: &[&str] = &[
    "tweet.read",
    "tweet.write",
    "users.read",
    "offline.access",
    "media.write",
];
const NAME: &str = "x";

pub(crate) const DESCRIPTOR: PlatformDescriptor = PlatformDescriptor {
    platform: Platform::X,
    short_name: "X",
    search_aliases: &["twitter", "tw"],
    connects: "X profiles",
    requirements: &["An X account", "A verified email address"],
    permissions: &[
        permission!("tweet.read", "Read posts", true),
        permission!("tweet.write", "Publish posts", true),
        permission!("users.read", "Read your profile", true),
        permission!(
            "offline.access",
            "Stay connected without signing in again",
            true
        ),
        permission!("media.write", "Attach images and videos to posts", false),
        permission!("dm.read", "Direct message access (optional)", false),
    ],
    endpoints: Endpoints {
        authorize: "https://x.com/i/oauth2/authorize",
        token: "https://api.x.com/2/oauth2/token",
        revoke: "https://api.x.com/2/oauth2/revoke",
        api: "https://api.x.com",
        api_version: "",
    },
    consent: Consent {
        scopes: SCOPES,
        scope_separator: " ",
        pkce: true,
        client_id_field: "client_id",
    },
    // Access tokens live two hours; the refresh token renews them.
    renewal: RenewalPolicy {
        margin: TimeDelta::minutes(10),
        clock: RenewalClock::AccessToken,
        needs_refresh_token: false,
        rotates_refresh_token: true,
    },
    content: ContentRules {
        max_text_chars: Some(280),
        // Weighted: CJK and emoji count 2, a URL 23 (twitter-text's configuration v3).
        counting: crate::TextCounting::XWeighted,
        max_hashtags: None,
        media: MediaRule::Optional,
        // Up to 4 images, or one video or GIF; images up to 5 MB, videos up to 512 MB (X's media upload
        // reference; docs/platforms/x.md §4.6).
        media_limits: MediaLimits {
            max_items: 4,
            max_videos: 1,
            mixed: false,
            max_image_bytes: 5 * MB,
            max_video_bytes: 512 * MB,
            image_aspect: None,
            max_video_secs: Some(140),
            gif_alone: true,
        },
        takes_files: true,
    },
    // 200 posts per 15 minutes, 300 per 3 hours and (Basic tier) 100 per day per user (docs/platforms/x.md §4.8).
    publish_windows: &[
        PublishWindow {
            minutes: 15,
            posts: 200,
        },
        PublishWindow {
            minutes: 180,
            posts: 300,
        },
        PublishWindow {
            minutes: 1440,
            posts: 100,
        },
    ],
    first_comment: true,
    threads: true,
    deletes_posts: true,
    not_publishable: &[],
    login_family: None,
    icon: Icon {
        background: "#000000",
        mark: r##"<path d="M6.5 6h3.2l8 12h-3.2z" fill="#fff"/><path d="M16.8 6h1.3l-5.2 5.9-.7-1zM6.4 18l5.3-6 .7 1L7.7 18z" fill="#fff"/>"##,
    },
    demo_accounts: &[
        DemoAccount {
            person: "Ethan Brooks",
            kind: AccountKind::Profile,
            label: "personal",
        },
        DemoAccount {
            person: "Noah Whitaker",
            kind: AccountKind::Profile,
            label: "business",
        },
        DemoAccount {
            person: "Mia Donovan",
            kind: AccountKind::Profile,
            label: "client: Donovan Law",
        },
    ],
    adapter: |settings, client| std::sync::Arc::new(X::new(settings, client)),
};

pub(crate) struct X {
    app: OAuthApp,
}

impl X {
    /// `POST /2/tweets` (docs/platforms/x.md §4.6) with the post's media uploaded first; a reply when
    /// `in_reply_to` names a post. X has no link field, so the link is part of the text.
    async fn create(
        &self,
        tokens: &TokenSet,
        post: &PostContent,
        in_reply_to: Option<&str>,
    ) -> Result<Published, PlatformError> {
        let mut media_ids = Vec::with_capacity(post.media.len());
        for (i, media) in post.media.iter().enumerate() {
            media_ids.push(self.upload(tokens, media, i + 1).await?);
        }
        let mut body = serde_json::json!({ "text": post.text_with_link() });
        if !media_ids.is_empty() {
            body["media"] = serde_json::json!({ "media_ids": media_ids });
        }
        if let Some(parent) = in_reply_to {
            body["reply"] = serde_json::json!({ "in_reply_to_tweet_id": parent });
        }
        let request = self.app.api(Method::POST, "/2/tweets", tokens).json(&body);
        let created: Created = self.app.send_json(request).await?;
        Ok(published(created.data.id))
    }
}

#[derive(Deserialize)]
struct Problem {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}

#[derive(Deserialize)]
struct Created {
    data: CreatedPost,
}

#[derive(Deserialize)]
struct CreatedPost {
    id: String,
}

/// `DELETE /2/tweets/:id`'s answer.
#[derive(Deserialize)]
struct Deleted {
    data: DeletedFlag,
}

#[derive(Deserialize)]
struct DeletedFlag {
    deleted: bool,
}

/// A page of a user's timeline; `data` is absent when there are no posts.
#[derive(Deserialize)]
struct Timeline {
    #[serde(default)]
    data: Vec<TimelinePost>,
}

#[derive(Deserialize)]
struct TimelinePost {
    id: String,
    text: String,
}

/// Whether a post read back from X is the one sent. X rewrites every URL in a post as a t.co link, so a
/// post sent with a link matches on the text before it.
fn is_same_post(sent: &PostContent, found: &str) -> bool {
    let full = sent.text_with_link();
    if found == full {
        return true;
    }
    sent.link.is_some() && {
        let text = sent.text.trim_end();
        found.starts_with(text)
            && found[text.len()..]
                .trim_start()
                .starts_with("https://t.co/")
    }
}

#[derive(Deserialize)]
struct Me {
    data: User,
}

#[derive(Deserialize)]
struct User {
    id: String,
    name: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    profile_image_url: Option<String>,
    #[serde(default)]
    public_metrics: Option<PublicMetrics>,
}

#[derive(Deserialize)]
struct PublicMetrics {
    followers_count: u64,
}

/// A post on X, with its address there.
fn published(id: String) -> Published {
    Published {
        url: Some(format!("https://x.com/i/web/status/{id}")),
        platform_post_id: id,
    }
}

/// Classifies X's problem bodies, legacy `errors` bodies and OAuth errors (docs/platforms/x.md §4.7).
fn classify(answer: &Answer, renewing: bool) -> PlatformError {
    if let Some(error) = OAuthError::classify(NAME, &answer.body, renewing) {
        return error;
    }
    let problem: Option<Problem> = serde_json::from_slice(&answer.body).ok();
    let detail = problem
        .as_ref()
        .and_then(|p| p.detail.clone().or(p.title.clone()))
        .unwrap_or_else(|| format!("HTTP {}", answer.status.as_u16()));
    let class = match answer.status.as_u16() {
        403 if detail.contains("duplicate") => ErrorClass::Rejected,
        429 => ErrorClass::RateLimited {
            until: answer
                .headers
                .get("x-rate-limit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|epoch| Utc.timestamp_opt(epoch, 0).single()),
        },
        _ => class_from_status(answer.status),
    };
    PlatformError::new(NAME, class, detail)
}

impl X {
    pub fn new(settings: PlatformSettings, client: reqwest::Client) -> Self {
        X {
            app: OAuthApp {
                name: NAME,
                settings,
                client,
                // X's OAuth endpoints authenticate a confidential client with HTTP Basic.
                client_auth: ClientAuth::Basic,
                client_id_field: DESCRIPTOR.consent.client_id_field,
                classify,
            },
        }
    }

    async fn me(&self, tokens: &TokenSet) -> Result<User, PlatformError> {
        let request = self.app.api(
            Method::GET,
            "/2/users/me?user.fields=profile_image_url,username,name,verified,public_metrics",
            tokens,
        );
        let me: Me = self.app.send_json(request).await?;
        Ok(me.data)
    }
}

impl User {
    fn face(self) -> Identity {
        Identity {
            display_name: self.name,
            handle: self.username,
            avatar_url: self.profile_image_url,
            scopes: None,
            followers: self.public_metrics.map(|m| m.followers_count),
        }
    }
}

#[async_trait]
impl PlatformAdapter for X {
    fn platform(&self) -> Platform {
        Platform::X
    }

    fn app(&self) -> &dyn RegisteredApp {
        &self.app
    }

    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError> {
        let user = self.me(&grant.tokens).await?;
        Ok(vec![Target::publishable(
            AccountKind::Profile,
            user.id.clone(),
            user.face(),
            grant.tokens.clone(),
        )])
    }

    async fn identity(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
    ) -> Result<Identity, PlatformError> {
        Ok(self.me(tokens).await?.face())
    }

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let (token, hint) = match &tokens.refresh_token {
            Some(refresh) => (refresh, "refresh_token"),
            None => (&tokens.access_token, "access_token"),
        };
        self.app
            .revoke_with(vec![
                ("token", token.expose_secret()),
                ("token_type_hint", hint),
            ])
            .await
    }

    /// `POST /2/tweets` (docs/platforms/x.md §4.6); X has no link field, so the link is part of the text.
    async fn publish(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        self.create(tokens, post, None).await
    }

    /// The next part of a thread: a post replying to the one before.
    async fn reply(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        in_reply_to: &str,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        self.create(tokens, post, Some(in_reply_to)).await
    }

    /// A reply to the post (`POST /2/tweets` with `reply.in_reply_to_tweet_id`, docs/platforms/x.md §4.6).
    async fn comment(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        platform_post_id: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        let request = self
            .app
            .api(Method::POST, "/2/tweets", tokens)
            .json(&serde_json::json!({
                "text": text,
                "reply": { "in_reply_to_tweet_id": platform_post_id },
            }));
        let created: Created = self.app.send_json(request).await?;
        Ok(created.data.id)
    }

    /// `DELETE /2/tweets/:id` (X API v2, Manage Posts): the author's own post.
    async fn delete_post(
        &self,
        ActingAs { tokens, .. }: ActingAs<'_>,
        platform_post_id: &str,
    ) -> Result<(), PlatformError> {
        let path = format!("/2/tweets/{platform_post_id}");
        let request = self.app.api(Method::DELETE, &path, tokens);
        let answer: Deleted = self.app.send_json(request).await?;
        if answer.data.deleted {
            Ok(())
        } else {
            Err(PlatformError::new(
                NAME,
                ErrorClass::Rejected,
                "X answered that the post was not deleted",
            ))
        }
    }

    /// Reads the account's timeline (`GET /2/users/:id/tweets`, X API v2; docs/platforms/x.md §4.9) from
    /// `since` on, up to 100 posts.
    async fn find_post(
        &self,
        ActingAs {
            id: platform_account_id,
            tokens,
            ..
        }: ActingAs<'_>,
        post: &PostContent,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        let path = format!("/2/users/{platform_account_id}/tweets");
        let request = self.app.api(Method::GET, &path, tokens).query(&[
            (
                "start_time",
                since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            ("max_results", "100".to_string()),
        ]);
        let timeline: Timeline = self.app.send_json(request).await?;
        Ok(timeline
            .data
            .into_iter()
            .find(|p| is_same_post(post, &p.text))
            .map(|found| published(found.id))
            .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::canned;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn x() -> X {
        X::new(PlatformSettings::real(Platform::X), reqwest::Client::new())
    }

    #[test]
    fn a_post_read_back_matches_what_was_sent_despite_t_co_links() {
        let plain = PostContent {
            text: "Launch day".into(),
            ..PostContent::default()
        };
        assert!(is_same_post(&plain, "Launch day"));
        assert!(!is_same_post(&plain, "Launch day!"));
        let linked = PostContent {
            text: "Launch day".into(),
            link: Some("https://example.com/launch".into()),
            ..PostContent::default()
        };
        assert!(is_same_post(
            &linked,
            "Launch day https://example.com/launch"
        ));
        assert!(is_same_post(&linked, "Launch day https://t.co/AbC123"));
        assert!(!is_same_post(&linked, "Launch day"));
        assert!(!is_same_post(&linked, "Launch daytime https://t.co/AbC123"));
    }

    #[test]
    fn classifies_the_documented_errors() {
        let unauthorized = canned(
            401,
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
            HeaderMap::new(),
        );
        assert_eq!(
            classify(&unauthorized, false).class,
            ErrorClass::TokenExpired
        );
        let forbidden = canned(
            403,
            r#"{"title":"Forbidden","type":"about:blank","status":403,"detail":"You are not permitted to perform this action."}"#,
            HeaderMap::new(),
        );
        assert!(matches!(
            classify(&forbidden, false).class,
            ErrorClass::MissingPermission { .. }
        ));
        let duplicate = canned(
            403,
            r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","status":403,"title":"Forbidden","type":"about:blank"}"#,
            HeaderMap::new(),
        );
        assert_eq!(classify(&duplicate, false).class, ErrorClass::Rejected);
        let mut headers = HeaderMap::new();
        headers.insert("x-rate-limit-reset", HeaderValue::from_static("1900000000"));
        let limited = canned(
            429,
            r#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#,
            headers,
        );
        assert_eq!(
            classify(&limited, false).class,
            ErrorClass::RateLimited {
                until: Utc.timestamp_opt(1_900_000_000, 0).single()
            }
        );
        let spent = canned(
            400,
            r#"{"error":"invalid_request","error_description":"Value passed for the token was invalid."}"#,
            HeaderMap::new(),
        );
        assert_eq!(classify(&spent, true).class, ErrorClass::RefreshRejected);
        let down = canned(503, "<html>", HeaderMap::new());
        assert_eq!(classify(&down, false).class, ErrorClass::Unavailable);
    }

    #[test]
    fn the_authorize_url_carries_pkce_and_space_separated_scopes() {
        let url = x().authorize_url("st", "https://app.example/oauth/x/callback", Some("chal"));
        let parsed = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(
            q["scope"],
            "tweet.read tweet.write users.read offline.access media.write"
        );
        assert_eq!(q["code_challenge"], "chal");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["response_type"], "code");
        assert!(url.starts_with("https://x.com/i/oauth2/authorize?"));
    }
}
