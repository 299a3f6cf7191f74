//! Posts through LinkedIn's Posts API (docs/platforms/linkedin.md §5.6): the post's body for a text, an
//! article, images or a video, as the member or the organisation, and an organisation's posts read back.

use super::{Linkedin, NAME};
use crate::error::{Delivery, ErrorClass, PlatformError};
use crate::{ActingAs, MediaKind, PostContent, PostLookup, Published};
use iquivity_domain::AccountKind;
use reqwest::Method;
use serde::Deserialize;

/// A post on LinkedIn, with its address in the feed.
fn published(urn: String) -> Published {
    Published {
        url: Some(format!("https://www.linkedin.com/feed/update/{urn}")),
        platform_post_id: urn,
    }
}

/// Commentary is LinkedIn's "little text" format, where these characters are markup (mentions,
/// hashtags, emphasis); escaped, the text appears exactly as written (docs/platforms/linkedin.md §5.6).
pub(super) fn escape_commentary(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '<'
                | '>'
                | '#'
                | '~'
                | '_'
                | '|'
                | '['
                | ']'
                | '*'
                | '('
                | ')'
                | '{'
                | '}'
                | '@'
        ) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

impl Linkedin {
    /// `POST /rest/posts` as the member or the organisation; a link is an article.
    pub(super) async fn publish_post(
        &self,
        ActingAs { kind, id, tokens }: ActingAs<'_>,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        let author = match kind {
            AccountKind::Profile => format!("urn:li:person:{id}"),
            AccountKind::Organization => format!("urn:li:organization:{id}"),
            other => {
                return Err(PlatformError::new(
                    NAME,
                    ErrorClass::Rejected,
                    format!(
                        "a LinkedIn {} account cannot be published to",
                        other.as_str()
                    ),
                ))
            }
        };
        let mut images = Vec::with_capacity(post.media.len());
        let mut video = None;
        for (i, media) in post.media.iter().enumerate() {
            match media.kind {
                MediaKind::Image => {
                    images.push(self.upload_image(tokens, &author, media, i + 1).await?)
                }
                MediaKind::Video if video.is_none() && post.media.len() == 1 => {
                    video = Some(self.upload_video(tokens, &author, media, i + 1).await?);
                }
                MediaKind::Video => {
                    return Err(PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        "a LinkedIn post takes one video alone, or images",
                    ))
                }
            }
        }
        // A post shows either a link's card or media: with media, the link goes into the text.
        let commentary = if images.is_empty() && video.is_none() {
            post.text.clone()
        } else {
            post.text_with_link()
        };
        let mut body = serde_json::json!({
            "author": author,
            "commentary": escape_commentary(&commentary),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": false,
        });
        match (images.as_slice(), &post.link) {
            _ if video.is_some() => {
                body["content"] = serde_json::json!({ "media": { "id": video } });
            }
            ([], Some(link)) => {
                // LinkedIn asks for a title with an article; the link itself is the one thing known to fit.
                body["content"] =
                    serde_json::json!({ "article": { "source": link, "title": link } });
            }
            ([], None) => {}
            ([image], _) => body["content"] = serde_json::json!({ "media": { "id": image } }),
            (several, _) => {
                let images: Vec<_> = several
                    .iter()
                    .map(|id| serde_json::json!({ "id": id }))
                    .collect();
                body["content"] = serde_json::json!({ "multiImage": { "images": images } });
            }
        }
        let request = self.rest(Method::POST, "/rest/posts", tokens).json(&body);
        let answer = self.app.send_ok(request).await?;
        let urn = answer
            .headers
            .get("x-restli-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                // It said yes: the post is live, only its id is missing.
                PlatformError::undelivered(
                    NAME,
                    Delivery::Accepted,
                    "LinkedIn accepted the post but did not say its id (no x-restli-id header)",
                )
            })?
            .to_string();
        Ok(published(urn))
    }

    /// The organisation's post with this text, published since `since`.
    pub(super) async fn find_authored(
        &self,
        ActingAs { kind, id, tokens }: ActingAs<'_>,
        post: &PostContent,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        if kind != AccountKind::Organization {
            return Ok(PostLookup::Unsupported);
        }
        let author = format!("urn:li:organization:{id}");
        let request = self.rest(Method::GET, "/rest/posts", tokens).query(&[
            ("q", "author"),
            ("author", author.as_str()),
            ("count", "50"),
            ("sortBy", "CREATED"),
        ]);
        let posts: AuthorPosts = self.app.send_json(request).await?;
        let sent = escape_commentary(&post.text);
        let since_ms = since.timestamp_millis();
        Ok(posts
            .elements
            .into_iter()
            .filter(|p| p.created_at.is_none_or(|at| at >= since_ms))
            .find(|p| p.commentary.as_deref().unwrap_or_default() == sent)
            .map(|found| published(found.id))
            .into())
    }
}

/// A page of an author's posts.
#[derive(Deserialize)]
struct AuthorPosts {
    #[serde(default)]
    elements: Vec<AuthoredPost>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthoredPost {
    id: String,
    #[serde(default)]
    commentary: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    created_at: Option<i64>,
}
