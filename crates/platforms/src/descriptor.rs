//! What is true of one platform apart from how to talk to it: what the Platforms page says about it, the
//! permissions it needs, where it lives, when its credentials are renewed, what a post to it may hold, how
//! fast one account may publish, which kinds of account cannot publish, its icon and the demo accounts it
//! contributes. Each adapter module declares its platform's [`PlatformDescriptor`]; [`crate::descriptor`]
//! is the registry that the rest of the service reads, so that nothing outside this crate matches on a
//! platform.

use crate::{PlatformAdapter, PlatformSettings};
use chrono::{DateTime, TimeDelta, Utc};
use iquivity_domain::{AccountKind, PermissionInfo, Platform, PlatformInfo, TokenSet};
use std::sync::Arc;

/// Everything the service knows about one platform besides its API calls.
#[derive(Debug)]
pub struct PlatformDescriptor {
    pub platform: Platform,
    /// The platform's name inside a sentence ("X allows 280 characters"); pages and titles use
    /// [`Platform::display_name`], which the domain and the sandbox share.
    pub short_name: &'static str,
    /// What people type for the platform in a search besides its names, lower case ("fb", "twitter").
    pub search_aliases: &'static [&'static str],
    /// What can be connected, e.g. "Facebook Pages".
    pub connects: &'static str,
    /// What a person needs before connecting, as the Platforms page lists it.
    pub requirements: &'static [&'static str],
    /// The permissions asked for, as the platform names them; `required` ones make an account usable.
    pub permissions: &'static [PermissionInfo],
    /// The real platform's endpoints, the defaults of [`PlatformSettings`].
    pub endpoints: Endpoints,
    pub consent: Consent,
    pub renewal: RenewalPolicy,
    pub content: ContentRules,
    /// How many posts one account may publish per window; waiting for a window beats being refused.
    pub publish_windows: &'static [PublishWindow],
    /// Whether the platform takes a comment under a post the account published (a "first comment"); on X
    /// it is a reply.
    pub first_comment: bool,
    /// Whether a post may go on as a thread: parts published in order, each a reply to the one before.
    pub threads: bool,
    /// Whether the platform lets apps delete a post they published (through [`PlatformAdapter::delete_post`]).
    pub deletes_posts: bool,
    /// Kinds of account that can be connected but never published to.
    pub not_publishable: &'static [NotPublishable],
    /// Platforms of one family share one login (Meta: Facebook and Instagram), and revoking it withdraws
    /// every account reached through it; `None` when each account's access stands alone.
    pub login_family: Option<&'static str>,
    pub icon: Icon,
    /// The accounts `iquivity demo-data` connects on this platform through the sandbox.
    pub demo_accounts: &'static [DemoAccount],
    /// Builds the adapter that talks to the platform.
    pub(crate) adapter: fn(PlatformSettings, reqwest::Client) -> Arc<dyn PlatformAdapter>,
}

/// The real platform's URLs; each may contain `{version}`, replaced by `api_version`.
#[derive(Debug, Clone, Copy)]
pub struct Endpoints {
    pub authorize: &'static str,
    pub token: &'static str,
    pub revoke: &'static str,
    pub api: &'static str,
    pub api_version: &'static str,
}

/// How the platform's consent screen is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Consent {
    /// The scopes asked for, as the platform names them; they include every required permission.
    pub scopes: &'static [&'static str],
    /// How the authorization request joins the scopes: a space as RFC 6749 writes it, a comma at Meta
    /// and TikTok.
    pub scope_separator: &'static str,
    /// Whether the authorization request carries a PKCE challenge (S256) and the code exchange its
    /// verifier.
    pub pkce: bool,
    /// The name the app's id goes under, in the authorization request and in token requests' forms
    /// (`client_id` in RFC 6749; TikTok's `client_key`).
    pub client_id_field: &'static str,
}

impl Consent {
    /// The `scope` parameter of the authorization request.
    pub fn scope_parameter(&self) -> String {
        self.scopes.join(self.scope_separator)
    }
}

/// When the service renews an account's credentials without the person.
#[derive(Debug, Clone, Copy)]
pub struct RenewalPolicy {
    /// How long before the credentials run out they are renewed.
    pub margin: TimeDelta,
    pub clock: RenewalClock,
    /// Renewal needs a refresh token; without one only the person can renew (LinkedIn hands out refresh
    /// tokens only to some apps).
    pub needs_refresh_token: bool,
    /// A renewal spends the refresh token it presents (X, TikTok): the one that comes back must be stored,
    /// or the account needs the person's consent again; so only one instance may renew it at a time.
    pub rotates_refresh_token: bool,
}

/// Whose expiry the renewal races.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalClock {
    /// The access token's own expiry.
    AccessToken,
    /// Meta: a Page or Instagram token does not expire, but the long-lived user token behind it (about 60
    /// days) must be re-exchanged before its end, since an expired one cannot be; a profile's token is that
    /// user token itself.
    UserToken,
}

impl RenewalPolicy {
    /// When to renew, ahead of the expiry by the margin; `None` when the platform offers no renewal without
    /// the person or the credentials do not expire.
    pub fn due(&self, kind: AccountKind, tokens: &TokenSet) -> Option<DateTime<Utc>> {
        if self.needs_refresh_token {
            tokens.refresh_token.as_ref()?;
        }
        let expiry = match self.clock {
            RenewalClock::AccessToken => tokens.expires_at,
            RenewalClock::UserToken if kind == AccountKind::Profile => tokens.expires_at,
            RenewalClock::UserToken => tokens.refresh_expires_at.or(tokens.expires_at),
        };
        Some(expiry? - self.margin)
    }
}

/// What a post to this platform may hold, checked for each account before anything is scheduled.
#[derive(Debug, Clone, Copy)]
pub struct ContentRules {
    /// The most characters the text (with the link after it) may have, counted as `counting` says;
    /// `None`: only the service's own limit applies.
    pub max_text_chars: Option<usize>,
    /// How the platform counts them.
    pub counting: crate::TextCounting,
    /// The most hashtags (`#` and a letter or digit, at the start of a word) the text may have.
    pub max_hashtags: Option<usize>,
    pub media: MediaRule,
    /// How many images and videos one post may carry, and how large the platform takes them.
    pub media_limits: MediaLimits,
    /// The platform takes media as uploaded files (the service reads them and sends the bytes) rather than
    /// fetching their URLs itself.
    pub takes_files: bool,
}

/// One megabyte (MiB), as platforms state their file size limits.
pub const MB: u64 = 1024 * 1024;

/// What media one post may carry: counts and kinds checked before scheduling, file sizes where the file's
/// size is known (an upload, or when the platform's adapter reads the file).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediaLimits {
    /// Images and videos together.
    pub max_items: usize,
    pub max_videos: usize,
    /// Whether one post may hold images and a video together.
    pub mixed: bool,
    pub max_image_bytes: u64,
    pub max_video_bytes: u64,
    /// The narrowest and widest image (width over height) the platform publishes; `None`: any.
    pub image_aspect: Option<(f64, f64)>,
    /// The longest video, in seconds; `None`: no limit the service checks.
    pub max_video_secs: Option<u32>,
    /// An animated GIF goes alone in a post (as a video would).
    pub gif_alone: bool,
}

/// What the service knows of a media file before scheduling (for its own uploads): its size, and an
/// image's pixel size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFacts {
    pub bytes: u64,
    pub dimensions: Option<(u32, u32)>,
    /// A video's length, in seconds, where its file says it (an MP4's movie header).
    pub duration_secs: Option<u32>,
}

impl MediaLimits {
    /// For a platform that takes no media yet.
    pub const NONE: MediaLimits = MediaLimits {
        max_items: 0,
        max_videos: 0,
        mixed: false,
        max_image_bytes: 0,
        max_video_bytes: 0,
        image_aspect: None,
        max_video_secs: None,
        gif_alone: false,
    };

    /// What is wrong with one media file (the `n`-th) of a post, in words, when its size or shape is
    /// known; `None` when it fits or nothing is known.
    pub fn file_refusal(
        &self,
        name: &str,
        n: usize,
        kind: crate::MediaKind,
        facts: &FileFacts,
    ) -> Option<String> {
        let (max, what) = match kind {
            crate::MediaKind::Image => (self.max_image_bytes, "images"),
            crate::MediaKind::Video => (self.max_video_bytes, "videos"),
        };
        if max > 0 && facts.bytes > max {
            return Some(format!(
                "{name} takes {what} up to {} (media {n} is {})",
                megabytes(max),
                megabytes(facts.bytes)
            ));
        }
        if let (crate::MediaKind::Video, Some(max), Some(secs)) =
            (kind, self.max_video_secs, facts.duration_secs)
        {
            if secs > max {
                return Some(format!(
                    "{name} takes videos up to {} long (media {n} is {})",
                    minutes(max),
                    minutes(secs)
                ));
            }
        }
        let ((low, high), (width, height)) = (self.image_aspect?, facts.dimensions?);
        if kind != crate::MediaKind::Image || height == 0 {
            return None;
        }
        let ratio = f64::from(width) / f64::from(height);
        (ratio < low - 0.005 || ratio > high + 0.005).then(|| {
            format!(
                "{name} takes images from {low:.2}:1 to {high:.2}:1, width to height (media {n} is {width}×{height}, {ratio:.2}:1)"
            )
        })
    }

    /// What is wrong with a post carrying these media, in words; `None` when it fits.
    fn refusal(&self, name: &str, media: &[crate::MediaKind]) -> Option<String> {
        let videos = media
            .iter()
            .filter(|k| **k == crate::MediaKind::Video)
            .count();
        let images = media.len() - videos;
        if media.len() > self.max_items {
            Some(format!(
                "{name} takes at most {} images or videos in one post (this post has {})",
                self.max_items,
                media.len()
            ))
        } else if videos > 0 && self.max_videos == 0 {
            Some(format!(
                "{name} takes images only for now (this post has {videos} video{})",
                if videos == 1 { "" } else { "s" }
            ))
        } else if videos > self.max_videos {
            Some(format!(
                "{name} takes at most {} video in one post (this post has {videos})",
                self.max_videos
            ))
        } else if !self.mixed && videos > 0 && images > 0 {
            Some(format!(
                "{name} takes either images or a video in one post, not both"
            ))
        } else {
            None
        }
    }
}

/// Whether a post may, or must, carry media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaRule {
    /// Publishing media to this platform is not built yet.
    NotSupported,
    Optional,
    /// A post needs media: what it needs, in words ("an image or a video").
    Required(&'static str),
}

/// At most `posts` posts per `minutes` minutes for one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishWindow {
    pub minutes: i64,
    pub posts: u32,
}

/// A kind of account that can be connected (for identity) but not published to.
#[derive(Debug, Clone, Copy)]
pub struct NotPublishable {
    pub kind: AccountKind,
    /// What such an account is, in words: "a personal Facebook profile".
    pub what: &'static str,
    /// Why it cannot be published to: "Facebook does not let apps publish to personal profiles".
    pub why: &'static str,
    /// What to publish to instead: "a Page".
    pub instead: &'static str,
}

/// The platform's icon, drawn for this project: a mark in the platform's colour.
#[derive(Debug, Clone, Copy)]
pub struct Icon {
    /// The background colour, `#rrggbb`.
    pub background: &'static str,
    /// SVG elements drawn on a 24×24 canvas.
    pub mark: &'static str,
}

/// One demo account: who signs in on the sandbox, which kind of their targets to connect, and its label.
#[derive(Debug, Clone, Copy)]
pub struct DemoAccount {
    pub person: &'static str,
    pub kind: AccountKind,
    pub label: &'static str,
}

/// A permission literal; a macro rather than a `const fn` so the arrays are promoted to `'static`.
macro_rules! permission {
    ($scope:literal, $purpose:literal, $required:literal) => {
        iquivity_domain::PermissionInfo {
            scope: $scope,
            purpose: $purpose,
            required: $required,
        }
    };
}
pub(crate) use permission;

impl PlatformDescriptor {
    /// What the Platforms page tells a person about the platform before they connect it.
    pub fn info(&self) -> PlatformInfo {
        PlatformInfo {
            platform: self.platform,
            display_name: self.platform.display_name(),
            connects: self.connects,
            requirements: self.requirements,
            permissions: self.permissions,
        }
    }

    /// The scopes without which an account cannot be used.
    pub fn required_scopes(&self) -> Vec<&'static str> {
        self.permissions
            .iter()
            .filter(|p| p.required)
            .map(|p| p.scope)
            .collect()
    }

    /// Why an account of this kind cannot be published to; `None` when it can.
    pub fn not_publishable(&self, kind: AccountKind) -> Option<&'static NotPublishable> {
        self.not_publishable.iter().find(|n| n.kind == kind)
    }

    /// Whether posts can be published to an account of this kind.
    pub fn publishes_to(&self, kind: AccountKind) -> bool {
        self.not_publishable(kind).is_none()
    }

    /// Whether a post's text length and media fit this platform; the reason, in words, when not.
    /// Checks a post's text as it will be published (with the link after it) and the kinds of its media.
    pub fn check_content(&self, text: &str, media: &[crate::MediaKind]) -> Result<(), String> {
        self.check_text(text)?;
        let has_media = !media.is_empty();
        let name = self.short_name;
        match self.content.media {
            MediaRule::NotSupported if has_media => Err(format!(
                "attaching media to {name} posts is not supported yet"
            )),
            MediaRule::Required(what) if !has_media => Err(format!("{name} needs {what}")),
            _ => self
                .content
                .media_limits
                .refusal(name, media)
                .map_or(Ok(()), Err),
        }
    }

    /// Whether a text fits this platform: its length as the platform counts it, and its hashtags.
    pub fn check_text(&self, text: &str) -> Result<(), String> {
        let name = self.short_name;
        if let Some(max) = self.content.max_text_chars {
            let text_chars = self.content.counting.count(text);
            if text_chars > max {
                return Err(format!(
                    "{name} allows {} characters (this post has {text_chars})",
                    thousands(max)
                ));
            }
        }
        if let Some(max) = self.content.max_hashtags {
            let tags = crate::hashtags(text);
            if tags > max {
                return Err(format!(
                    "{name} allows {max} hashtags (this post has {tags})"
                ));
            }
        }
        Ok(())
    }

    /// Whether the accounts of `other` share logins with this platform's (itself included).
    pub fn shares_login_with(&self, other: Platform) -> bool {
        self.platform == other
            || (self.login_family.is_some()
                && self.login_family == crate::descriptor(other).login_family)
    }
}

/// A length in seconds as minutes and seconds, as limits are written ("2:20").
fn minutes(secs: u32) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// A size in megabytes, as limits are written ("8 MB", "9.5 MB").
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / MB as f64;
    if (mb - mb.round()).abs() < 0.05 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

/// `3000` as "3,000", as the limits are written for people.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_registered_platform_has_a_complete_descriptor() {
        for platform in Platform::ALL {
            let d = crate::descriptor(platform);
            assert_eq!(
                d.platform, platform,
                "{platform}: registered under its own name"
            );
            assert!(!d.short_name.is_empty(), "{platform}: short name");
            assert!(!d.connects.is_empty(), "{platform}: what it connects");
            assert!(!d.requirements.is_empty(), "{platform}: requirements");
            assert!(
                !d.required_scopes().is_empty(),
                "{platform}: required permissions"
            );
            let scopes: BTreeSet<_> = d.permissions.iter().map(|p| p.scope).collect();
            assert_eq!(
                scopes.len(),
                d.permissions.len(),
                "{platform}: a scope listed twice"
            );
            for url in [
                d.endpoints.authorize,
                d.endpoints.token,
                d.endpoints.revoke,
                d.endpoints.api,
            ] {
                assert!(url.starts_with("https://"), "{platform}: endpoint {url}");
            }
            assert!(
                d.renewal.margin > TimeDelta::zero(),
                "{platform}: renewal margin"
            );
            for w in d.publish_windows {
                assert!(
                    w.minutes > 0 && w.posts > 0,
                    "{platform}: publish window {w:?}"
                );
            }
            assert!(
                d.icon.background.len() == 7 && d.icon.background.starts_with('#'),
                "{platform}: icon colour"
            );
            assert!(
                d.icon.mark.trim_start().starts_with('<'),
                "{platform}: icon mark"
            );
            assert!(!d.demo_accounts.is_empty(), "{platform}: demo accounts");
            for n in d.not_publishable {
                assert!(!d.publishes_to(n.kind), "{platform}: {n:?}");
            }
            let adapter = (d.adapter)(PlatformSettings::real(platform), reqwest::Client::new());
            assert_eq!(adapter.platform(), platform, "{platform}: its adapter");
        }
    }

    #[test]
    fn limits_are_written_with_thousands_separators() {
        assert_eq!(thousands(280), "280");
        assert_eq!(thousands(3000), "3,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn content_checks_name_the_limit_and_the_missing_media() {
        let x = crate::descriptor(Platform::X);
        assert_eq!(x.check_content(&"a".repeat(280), &[]), Ok(()));
        assert_eq!(
            x.check_content(&"a".repeat(281), &[]).unwrap_err(),
            "X allows 280 characters (this post has 281)"
        );
        assert_eq!(
            x.check_content(&"日".repeat(141), &[]).unwrap_err(),
            "X allows 280 characters (this post has 282)"
        );
        assert_eq!(
            crate::descriptor(Platform::Instagram)
                .check_content("Hello", &[])
                .unwrap_err(),
            "Instagram needs an image or a video"
        );
    }

    #[test]
    fn media_checks_name_the_count_and_the_mix() {
        use crate::MediaKind::{Image, Video};
        let instagram = crate::descriptor(Platform::Instagram);
        assert_eq!(instagram.check_content("Hi", &[Image; 10]), Ok(()));
        assert_eq!(instagram.check_content("Hi", &[Image, Video]), Ok(()));
        assert_eq!(
            instagram.check_content("Hi", &[Image; 12]).unwrap_err(),
            "Instagram takes at most 10 images or videos in one post (this post has 12)"
        );
        let facts = |bytes, dimensions| FileFacts {
            bytes,
            dimensions,
            duration_secs: None,
        };
        let long = FileFacts {
            bytes: MB,
            dimensions: None,
            duration_secs: Some(185),
        };
        assert_eq!(
            crate::descriptor(Platform::X)
                .content
                .media_limits
                .file_refusal("X", 1, Video, &long)
                .unwrap(),
            "X takes videos up to 2:20 long (media 1 is 3:05)"
        );
        let limits = &instagram.content.media_limits;
        assert_eq!(
            limits
                .file_refusal("Instagram", 2, Image, &facts(9 * MB + MB / 2, None))
                .unwrap(),
            "Instagram takes images up to 8 MB (media 2 is 9.5 MB)"
        );
        assert_eq!(
            limits
                .file_refusal("Instagram", 1, Image, &facts(MB, Some((1080, 1920))))
                .unwrap(),
            "Instagram takes images from 0.80:1 to 1.91:1, width to height (media 1 is 1080×1920, 0.56:1)"
        );
        for fits in [(1080, 1350), (1080, 1080), (1080, 566)] {
            assert_eq!(
                limits.file_refusal("Instagram", 1, Image, &facts(MB, Some(fits))),
                None,
                "{fits:?}"
            );
        }
        let tiktok = crate::descriptor(Platform::Tiktok);
        assert_eq!(tiktok.check_content("Hi", &[Image; 35]), Ok(()));
        assert_eq!(
            tiktok.check_content("Hi", &[Image, Video]).unwrap_err(),
            "TikTok takes either images or a video in one post, not both"
        );
        assert_eq!(
            crate::descriptor(Platform::Facebook)
                .check_content("Hi", &[Video, Video])
                .unwrap_err(),
            "Facebook takes at most 1 video in one post (this post has 2)"
        );
        let x = crate::descriptor(Platform::X);
        assert_eq!(x.check_content("Hi", &[Image; 4]), Ok(()));
        assert_eq!(
            x.check_content("Hi", &[Video, Video]).unwrap_err(),
            "X takes at most 1 video in one post (this post has 2)"
        );
        let linkedin = crate::descriptor(Platform::Linkedin);
        assert_eq!(linkedin.check_content("Hi", &[Image; 20]), Ok(()));
        assert_eq!(linkedin.check_content("Hi", &[Video]), Ok(()));
        assert_eq!(
            linkedin.check_content("Hi", &[Image, Video]).unwrap_err(),
            "LinkedIn takes either images or a video in one post, not both"
        );
        assert_eq!(
            crate::descriptor(Platform::Instagram)
                .check_content("Hi", &[])
                .unwrap_err(),
            "Instagram needs an image or a video"
        );
        let none = MediaLimits {
            max_videos: 0,
            ..linkedin.content.media_limits
        };
        assert_eq!(
            none.refusal("LinkedIn", &[Video]).unwrap(),
            "LinkedIn takes images only for now (this post has 1 video)"
        );
    }

    #[test]
    fn only_meta_platforms_share_logins() {
        let facebook = crate::descriptor(Platform::Facebook);
        assert!(facebook.shares_login_with(Platform::Instagram));
        assert!(!facebook.shares_login_with(Platform::X));
        assert!(crate::descriptor(Platform::X).shares_login_with(Platform::X));
        assert!(!crate::descriptor(Platform::X).shares_login_with(Platform::Linkedin));
    }
}
