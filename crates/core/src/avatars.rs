//! Profile pictures, kept by the service and served from its own origin: the platforms' picture URLs
//! expire (Meta's CDN URLs are signed) and a sandbox's move with its port, and a page must not make a
//! request to another origin. A picture is fetched when the account is connected and when a health check
//! or refresh finds a different URL, through the same destination rules as webhooks, size-capped and
//! type-checked. Without one, the account's initials are drawn instead.

use crate::{Caller, Core, CoreError};
use iquivity_domain::{Account, AccountId};
use iquivity_store::AvatarRecord;
use std::time::Duration;

/// The largest picture kept: profile pictures are small, and a larger file is not one.
pub const MAX_AVATAR_BYTES: usize = 1024 * 1024;

const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// A picture to serve: the stored one, or the initials drawn.
pub struct Avatar {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
    /// Changes whenever the picture does (for `ETag`).
    pub version: String,
}

/// The image type the bytes are, whatever the server said: only these are kept and served.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The account's initials on a circle, for an account without a picture.
fn initials_svg(name: &str) -> Vec<u8> {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"72\" height=\"72\" viewBox=\"0 0 72 72\">\
         <circle cx=\"36\" cy=\"36\" r=\"36\" fill=\"#ddf4ff\"/>\
         <text x=\"36\" y=\"36\" dy=\".35em\" text-anchor=\"middle\" font-family=\"system-ui, sans-serif\" \
         font-size=\"28\" font-weight=\"700\" fill=\"#0a3069\">{}</text></svg>",
        xml_escape(&initials(name))
    )
    .into_bytes()
}

impl Core {
    /// Fetches and keeps the account's picture when its URL is new. A picture that cannot be had is
    /// logged and left: the initials stand in, and the connection or check goes on.
    pub(crate) async fn keep_avatar(&self, account: &Account) {
        let Some(url) = account.avatar_url.as_deref().filter(|u| !u.is_empty()) else {
            return;
        };
        match self.store.avatar(account.workspace_id, account.id).await {
            Ok(Some(stored)) if stored.source_url == url => return,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!(account_id = %account.id, error = %err, "cannot read the stored picture");
                return;
            }
        }
        let fetched = match self
            .avatars
            .fetch(url, MAX_AVATAR_BYTES, FETCH_TIMEOUT)
            .await
        {
            Ok(fetched) => fetched,
            Err(failure) => {
                // The URL may carry a signature: the log names the account and the failure only.
                tracing::warn!(account_id = %account.id, %failure, "profile picture not fetched");
                return;
            }
        };
        let Some(content_type) = image_type(&fetched.bytes) else {
            tracing::warn!(account_id = %account.id, "profile picture is not an image this service serves");
            return;
        };
        let record = AvatarRecord {
            account_id: account.id,
            workspace_id: account.workspace_id,
            content_type: content_type.to_string(),
            bytes: fetched.bytes,
            source_url: url.to_string(),
            fetched_at: self.clock.now(),
        };
        if let Err(err) = self.store.put_avatar(&record).await {
            tracing::warn!(account_id = %account.id, error = %err, "cannot keep the profile picture");
        }
    }

    /// The account's picture as the service keeps it, or its initials drawn.
    pub async fn avatar(&self, caller: &Caller, id: AccountId) -> Result<Avatar, CoreError> {
        let account = self.account(caller, id).await?;
        let stored = self.store.avatar(caller.workspace_id, id).await?;
        Ok(
            match stored.and_then(|s| image_type(&s.bytes).map(|t| (t, s))) {
                Some((content_type, stored)) => Avatar {
                    content_type,
                    version: format!("p{}", stored.fetched_at.timestamp_micros()),
                    bytes: stored.bytes,
                },
                None => Avatar {
                    content_type: "image/svg+xml",
                    version: initials(&account.display_name)
                        .bytes()
                        .fold("i".to_string(), |tag, b| format!("{tag}{b:02x}")),
                    bytes: initials_svg(&account.display_name),
                },
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_image_types_served_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(image_type(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a...."), Some("image/gif"));
        assert_eq!(image_type(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(image_type(b"<svg onload=alert(1)>"), None);
        assert_eq!(image_type(b"<html>"), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn the_initials_are_escaped_into_the_drawing() {
        let svg = String::from_utf8(initials_svg("<b> &co")).unwrap();
        assert!(svg.contains(">&lt;&amp;</text>"), "{svg}");
        assert!(String::from_utf8(initials_svg("Mason Carter"))
            .unwrap()
            .contains(">MC</text>"));
    }
}
