//! The checks a post passes before anything of it is stored: the service's own limits on its text, media,
//! versions and thread, then each account's platform's rules on what that account would get.

use super::{media_kind, MAX_TEXT_CHARS};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, AccountStatus, ValidationError};
use iquivity_platforms::{descriptor, FileFacts, MediaKind};
use iquivity_store::{MediaRecord, PostVariant, ThreadPart};
use std::collections::HashMap;

/// A post as each account gets it: its version for the account or the platform, or its own.
pub(super) struct Versions<'a> {
    pub(super) text: &'a str,
    pub(super) link: Option<&'a String>,
    pub(super) media: &'a [MediaRecord],
    pub(super) variants: &'a [PostVariant],
    /// What is known of the media files that are this service's uploads, by URL.
    pub(super) files: &'a HashMap<String, FileFacts>,
    /// The comment added under the post once it is published.
    pub(super) first_comment: Option<&'a str>,
    /// The parts after the post, where the platform takes threads.
    pub(super) thread: &'a [ThreadPart],
}

impl Versions<'_> {
    fn variant_for(&self, account: &iquivity_domain::Account) -> Option<&PostVariant> {
        self.variants
            .iter()
            .find(|v| v.account == Some(account.id))
            .or_else(|| {
                self.variants
                    .iter()
                    .find(|v| v.platform == Some(account.platform))
            })
    }

    /// The text with the link after a space, as the platform counts it.
    fn published_text_for(&self, account: &iquivity_domain::Account) -> String {
        let variant = self.variant_for(account);
        let text = variant.map_or(self.text, |v| v.text.as_str());
        let link = variant.and_then(|v| v.link.as_ref()).or(self.link);
        match link {
            Some(link) => format!("{text} {link}"),
            None => text.to_string(),
        }
    }

    fn media_for(&self, account: &iquivity_domain::Account) -> &[MediaRecord] {
        self.variant_for(account)
            .and_then(|v| v.media.as_deref())
            .unwrap_or(self.media)
    }

    fn media_kinds_for(&self, account: &iquivity_domain::Account) -> Vec<MediaKind> {
        self.media_for(account).iter().map(media_kind).collect()
    }
}

/// What any post's text must be: not empty, and within the service's own limit.
pub(super) fn text_errors(text: &str) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    if text.is_empty() {
        errors.push(ValidationError::new("text", "must not be empty"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        errors.push(ValidationError::new(
            "text",
            format!("must be at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    errors
}

/// A first comment as kept: one character per line break, trimmed; an empty one is none.
pub(super) fn first_comment_of(comment: Option<String>) -> Option<String> {
    comment.map(|c| tidied(&c)).filter(|c| !c.is_empty())
}

/// A text as it is checked and kept: one character per line break, trimmed.
fn tidied(text: &str) -> String {
    text.replace("\r\n", "\n").trim().to_string()
}

/// A URL the platforms can fetch or link to.
fn is_web_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// A version's or a thread part's text: not empty, and within the service's own limit.
fn part_text_error(field: String, text: &str) -> Option<ValidationError> {
    let text = text.trim();
    (text.is_empty() || text.chars().count() > MAX_TEXT_CHARS)
        .then(|| ValidationError::new(field, format!("must be 1 to {MAX_TEXT_CHARS} characters")))
}

/// A first comment must fit each network that takes comments, as a post's text must.
pub(super) fn comment_errors(
    comment: Option<&str>,
    account: &iquivity_domain::Account,
    field: &str,
) -> Option<ValidationError> {
    let comment = comment?;
    let platform = descriptor(account.platform);
    if !platform.first_comment {
        return None;
    }
    platform.check_text(comment).err().map(|why| {
        ValidationError::new(
            field,
            format!("{}: the first comment: {why}", account.display_name),
        )
    })
}

/// Versions as they are checked and kept: each text with one character per line break, trimmed.
pub(super) fn normalised_variants(variants: Vec<PostVariant>) -> Vec<PostVariant> {
    variants
        .into_iter()
        .map(|v| PostVariant {
            text: tidied(&v.text),
            ..v
        })
        .collect()
}

/// Each media item must be on a public URL the platform can fetch, and an image or a video.
pub(super) fn media_errors(field: &str, media: &[MediaRecord]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, item) in media.iter().enumerate() {
        if !is_web_url(&item.url) {
            errors.push(ValidationError::new(
                format!("{field}[{i}].url"),
                "must be an http(s) URL the platform can fetch",
            ));
        }
        if item.kind != "image" && item.kind != "video" {
            errors.push(ValidationError::new(
                format!("{field}[{i}].kind"),
                "must be image or video",
            ));
        }
    }
    errors
}

/// Each version must name one network or one account the post goes to, once, and have a text.
pub(super) fn variant_errors(
    variants: &[PostVariant],
    accounts: &[AccountId],
) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, variant) in variants.iter().enumerate() {
        let field = format!("variants[{i}]");
        match (variant.platform, variant.account) {
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push(ValidationError::new(
                &field,
                "name either a platform or an account",
            )),
        }
        if variant.account.is_some_and(|a| !accounts.contains(&a)) {
            errors.push(ValidationError::new(
                &field,
                "the account is not one the post goes to",
            ));
        }
        let repeated = variants[..i]
            .iter()
            .any(|other| other.platform == variant.platform && other.account == variant.account);
        if repeated {
            errors.push(ValidationError::new(
                &field,
                "a network or an account has one version at most",
            ));
        }
        if variant.link.as_deref().is_some_and(|l| !is_web_url(l)) {
            errors.push(ValidationError::new(
                format!("{field}.link"),
                "must be an http(s) URL",
            ));
        }
        if let Some(media) = &variant.media {
            errors.extend(media_errors(&format!("{field}.media"), media));
        }
        errors.extend(part_text_error(format!("{field}.text"), &variant.text));
    }
    errors
}

/// The platform's own limits and needs, checked per account before anything is scheduled.
pub(super) fn check_target(
    account: &iquivity_domain::Account,
    versions: &Versions,
    field: &str,
) -> Result<(), ValidationError> {
    let name = &account.display_name;
    let fail = |why: String| Err(ValidationError::new(field, format!("{name}: {why}")));
    if account.status != AccountStatus::Active {
        return fail(format!(
            "the account is {}; refresh it before posting to it",
            account.status.as_str()
        ));
    }
    let platform = descriptor(account.platform);
    if let Some(no) = platform.not_publishable(account.kind) {
        return fail(format!("{}; choose {}", no.why, no.instead));
    }
    platform
        .check_content(
            &versions.published_text_for(account),
            &versions.media_kinds_for(account),
        )
        .or_else(fail)?;
    for (i, item) in versions.media_for(account).iter().enumerate() {
        let refusal = versions.files.get(&item.url).and_then(|facts| {
            platform.content.media_limits.file_refusal(
                platform.short_name,
                i + 1,
                media_kind(item),
                facts,
            )
        });
        if let Some(why) = refusal {
            return fail(why);
        }
    }
    let media = versions.media_for(account);
    let gif = |m: &&MediaRecord| m.url.to_lowercase().ends_with(".gif");
    if platform.content.media_limits.gif_alone && media.len() > 1 && media.iter().any(|m| gif(&m)) {
        return fail(format!(
            "{} takes an animated GIF alone in a post (this post has {} media)",
            platform.short_name,
            media.len()
        ));
    }
    if let Some(error) = comment_errors(versions.first_comment, account, field) {
        return Err(error);
    }
    if platform.threads {
        for (i, part) in versions.thread.iter().enumerate() {
            let kinds: Vec<MediaKind> = part.media.iter().map(media_kind).collect();
            if let Err(why) = platform.check_content(&part.text, &kinds) {
                return fail(format!("part {} of the thread: {why}", i + 2));
            }
        }
    }
    Ok(())
}

/// Each part of a thread must have a text, within the service's own limit, and media it can fetch.
pub(super) fn thread_errors(thread: &[ThreadPart]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, part) in thread.iter().enumerate() {
        errors.extend(part_text_error(format!("thread[{i}].text"), &part.text));
        errors.extend(media_errors(&format!("thread[{i}].media"), &part.media));
    }
    errors
}

/// Thread parts as they are checked and kept: each text with one character per line break, trimmed.
pub(super) fn normalised_thread(thread: Vec<ThreadPart>) -> Vec<ThreadPart> {
    thread
        .into_iter()
        .map(|p| ThreadPart {
            text: tidied(&p.text),
            ..p
        })
        .collect()
}

/// How far ahead a post can be scheduled: a plan's horizon, and a bound that keeps a mistyped year or a
/// broken time zone from parking a post for centuries.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 2 * 365;

/// A publishing time must be now (give or take a minute of clock skew) or within the horizon.
pub(super) fn check_publish_at(
    publish_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<ValidationError> {
    if publish_at < now - Duration::minutes(1) {
        Some(ValidationError::new(
            "publish_at",
            "the publish time is in the past; choose a time from now on",
        ))
    } else if publish_at > now + Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
        Some(ValidationError::new(
            "publish_at",
            "must be within 2 years from now",
        ))
    } else {
        None
    }
}
