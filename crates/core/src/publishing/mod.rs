//! Posts: written once, published to many accounts now or at a set time, with a result per account.
//! A target is claimed (moved to `publishing` under a lease) before it waits for a slot on its platform,
//! and marked as sending (`sending_at`) right before its request goes out, so it is never published twice:
//! a worker that dies mid-call leaves it sending, and it is then settled by asking the platform or as failed
//! with an explanation rather than retried blindly; one that dies before sending leaves a target that
//! simply goes back on the schedule when the lease runs out.
//!
//! This module holds composing and editing with its checks; the publish round is in `round.rs`.

use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, AccountStatus, ValidationError};
use iquivity_platforms::{descriptor, FileFacts, MediaKind};
use iquivity_store::{
    MediaRecord, PostRecord, PostRewrite, PostVariant, TargetRecord, TargetState, ThreadPart,
};
use std::collections::HashMap;

mod calendar;
mod comments;
mod deletion;
mod drafts;
mod queue;
mod round;
mod threads;

pub use queue::{next_free_slot, QueueSpec};

pub use calendar::{Calendar, CalendarItem, CalendarQuery, MAX_CALENDAR_DAYS, MAX_CALENDAR_ITEMS};

pub const MAX_TEXT_CHARS: usize = 5000;

/// What a person asks to publish.
pub struct NewPost {
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<MediaRecord>,
    pub privacy_level: Option<String>,
    pub accounts: Vec<AccountId>,
    /// `None`: now.
    pub publish_at: Option<DateTime<Utc>>,
    /// Its own text for some networks or accounts.
    pub variants: Vec<PostVariant>,
    /// Added as a comment under the post once it is published, where the platform takes comments.
    pub first_comment: Option<String>,
    /// On a platform that takes threads (X): the parts after the post, each with its own media.
    pub thread: Vec<ThreadPart>,
}

/// What a person changes in a post that is not published yet; `None` leaves a part as it is.
#[derive(Default)]
pub struct PostEdit {
    pub text: Option<String>,
    /// `Some(None)` removes the link.
    pub link: Option<Option<String>>,
    pub publish_at: Option<DateTime<Utc>>,
    /// The accounts the post goes to, instead of its current ones.
    pub accounts: Option<Vec<AccountId>>,
    /// Its versions for networks or accounts, instead of its current ones.
    pub variants: Option<Vec<PostVariant>>,
    /// `Some(None)` removes the first comment.
    pub first_comment: Option<Option<String>>,
}

/// The media as a platform adapter takes them, to be fetched by their URLs.
pub(crate) fn media_to_send(media: &[MediaRecord]) -> Vec<iquivity_platforms::Media> {
    media
        .iter()
        .map(|m| iquivity_platforms::Media {
            url: m.url.clone(),
            kind: media_kind(m),
            file: None,
        })
        .collect()
}

/// A stored media item's kind as the platforms take it.
pub(crate) fn media_kind(media: &MediaRecord) -> MediaKind {
    if media.kind == "video" {
        MediaKind::Video
    } else {
        MediaKind::Image
    }
}

/// A post as each account gets it: its version for the account or the platform, or its own.
struct Versions<'a> {
    text: &'a str,
    link: Option<&'a String>,
    media: &'a [MediaRecord],
    variants: &'a [PostVariant],
    /// What is known of the media files that are this service's uploads, by URL.
    files: &'a HashMap<String, FileFacts>,
    /// The comment added under the post once it is published.
    first_comment: Option<&'a str>,
    /// The parts after the post, where the platform takes threads.
    thread: &'a [ThreadPart],
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
fn text_errors(text: &str) -> Vec<ValidationError> {
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
pub(crate) fn first_comment_of(comment: Option<String>) -> Option<String> {
    comment
        .map(|c| c.replace("\r\n", "\n").trim().to_string())
        .filter(|c| !c.is_empty())
}

/// A first comment must fit each network that takes comments, as a post's text must.
fn comment_errors(
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

/// An edit refused because part of the post went out meanwhile (or before).
fn published_already() -> CoreError {
    CoreError::Conflict(
        "part of this post is already published; cancel it and write a new one".into(),
    )
}

/// Versions as they are checked and kept: each text with one character per line break, trimmed.
fn normalised_variants(variants: Vec<PostVariant>) -> Vec<PostVariant> {
    variants
        .into_iter()
        .map(|v| PostVariant {
            text: v.text.replace("\r\n", "\n").trim().to_string(),
            ..v
        })
        .collect()
}

/// Each media item must be on a public URL the platform can fetch, and an image or a video.
fn media_errors(field: &str, media: &[MediaRecord]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, item) in media.iter().enumerate() {
        let public =
            url::Url::parse(&item.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        if !public {
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
fn variant_errors(variants: &[PostVariant], accounts: &[AccountId]) -> Vec<ValidationError> {
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
        let public = |link: &str| {
            url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        };
        if variant.link.as_deref().is_some_and(|l| !public(l)) {
            errors.push(ValidationError::new(
                format!("{field}.link"),
                "must be an http(s) URL",
            ));
        }
        if let Some(media) = &variant.media {
            errors.extend(media_errors(&format!("{field}.media"), media));
        }
        let text = variant.text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            errors.push(ValidationError::new(
                format!("{field}.text"),
                format!("must be 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
    }
    errors
}

/// The platform's own limits and needs, checked per account before anything is scheduled.
fn check_target(
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
fn thread_errors(thread: &[ThreadPart]) -> Vec<ValidationError> {
    let mut errors = Vec::new();
    for (i, part) in thread.iter().enumerate() {
        let text = part.text.trim();
        if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
            errors.push(ValidationError::new(
                format!("thread[{i}].text"),
                format!("must be 1 to {MAX_TEXT_CHARS} characters"),
            ));
        }
        errors.extend(media_errors(&format!("thread[{i}].media"), &part.media));
    }
    errors
}

/// Thread parts as they are checked and kept: each text with one character per line break, trimmed.
pub(crate) fn normalised_thread(thread: Vec<ThreadPart>) -> Vec<ThreadPart> {
    thread
        .into_iter()
        .map(|p| ThreadPart {
            text: p.text.replace("\r\n", "\n").trim().to_string(),
            ..p
        })
        .collect()
}

/// How far ahead a post can be scheduled: a plan's horizon, and a bound that keeps a mistyped year or a
/// broken time zone from parking a post for centuries.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 2 * 365;

/// A publishing time must be now (give or take a minute of clock skew) or within the horizon.
fn check_publish_at(publish_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<ValidationError> {
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

impl Core {
    pub async fn create_post(
        &self,
        caller: &Caller,
        new: NewPost,
    ) -> Result<PostRecord, CoreError> {
        let post = self.checked_post(caller, new).await?;
        self.store.create_post(&post).await?;
        Ok(post)
    }

    /// A post as it would be stored, once every check has passed: the text, the media, the time, and each
    /// account against its platform.
    async fn checked_post(&self, caller: &Caller, new: NewPost) -> Result<PostRecord, CoreError> {
        caller.require_manage_accounts()?;
        let mut errors = Vec::new();
        // Browsers send a text area's line breaks as CRLF; what is counted and published is one character
        // per line break, as the page's counter counts it.
        let text = new.text.replace("\r\n", "\n").trim().to_string();
        errors.extend(text_errors(&text));
        errors.extend(media_errors("media", &new.media));
        if new.accounts.is_empty() {
            errors.push(ValidationError::new(
                "accounts",
                "choose at least one account",
            ));
        }
        let now = self.clock.now();
        let publish_at = new.publish_at.unwrap_or(now);
        errors.extend(check_publish_at(publish_at, now));
        let variants = normalised_variants(new.variants);
        errors.extend(variant_errors(&variants, &new.accounts));
        let files = self
            .file_facts(
                new.media
                    .iter()
                    .chain(variants.iter().flat_map(|v| v.media.iter().flatten())),
            )
            .await;
        let first_comment = first_comment_of(new.first_comment);
        let thread = normalised_thread(new.thread);
        errors.extend(thread_errors(&thread));
        let versions = Versions {
            text: &text,
            link: new.link.as_ref(),
            media: &new.media,
            variants: &variants,
            files: &files,
            first_comment: first_comment.as_deref(),
            thread: &thread,
        };
        let targets = self
            .check_accounts(caller, &new.accounts, &versions, publish_at, &mut errors)
            .await?;
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        let id = uuid::Uuid::now_v7();
        let post = PostRecord {
            id,
            workspace_id: caller.workspace_id,
            author_id: Some(caller.user_id),
            text,
            link: new.link,
            media: new.media,
            privacy_level: new.privacy_level,
            publish_at,
            created_at: now,
            draft_accounts: None,
            variants,
            first_comment,
            thread,
            targets: targets
                .into_iter()
                .map(|t| TargetRecord { post_id: id, ..t })
                .collect(),
        };
        Ok(post)
    }

    /// The targets a post to `accounts` would have, each account checked against its platform's rules;
    /// what is wrong goes to `errors`, by `accounts[i]`.
    async fn check_accounts(
        &self,
        caller: &Caller,
        accounts: &[AccountId],
        versions: &Versions<'_>,
        publish_at: DateTime<Utc>,
        errors: &mut Vec<ValidationError>,
    ) -> Result<Vec<TargetRecord>, CoreError> {
        let mut targets = Vec::new();
        // A post goes to an account once: a repeated account is refused rather than folded, so that what
        // was asked for and what is published never differ silently.
        let mut listed: HashMap<AccountId, usize> = HashMap::new();
        for (i, id) in accounts.iter().enumerate() {
            let field = format!("accounts[{i}]");
            if let Some(first) = listed.get(id) {
                let name = match self.store.account(caller.workspace_id, *id).await? {
                    Some(account) => account.display_name,
                    None => id.to_string(),
                };
                errors.push(ValidationError::new(
                    field,
                    format!("{name} is already listed as accounts[{first}]; a post goes to each account once"),
                ));
                continue;
            }
            listed.insert(*id, i);
            match self.store.account(caller.workspace_id, *id).await? {
                None => errors.push(ValidationError::new(
                    field,
                    "no such account in this workspace",
                )),
                Some(account) => match check_target(&account, versions, &field) {
                    Err(e) => errors.push(e),
                    Ok(()) => targets.push(TargetRecord::scheduled(
                        uuid::Uuid::nil(),
                        account.id,
                        account.platform,
                        publish_at,
                    )),
                },
            }
        }
        Ok(targets)
    }

    /// The accounts a post can go to now: active, and not a Facebook personal profile.
    pub async fn postable_accounts(
        &self,
        caller: &Caller,
    ) -> Result<Vec<iquivity_domain::Account>, CoreError> {
        let mut query = iquivity_store::AccountQuery::all(crate::accounts::MAX_PAGE);
        query.statuses = vec![AccountStatus::Active];
        query.sort = iquivity_store::AccountSort {
            key: iquivity_store::SortKey::Name,
            descending: false,
        };
        let accounts = self
            .store
            .list_accounts(caller.workspace_id, &query)
            .await?;
        Ok(accounts
            .into_iter()
            .filter(|a| descriptor(a.platform).publishes_to(a.kind))
            .collect())
    }

    /// The name of each account the posts went to. A removed account keeps the name it had, from its
    /// removal in the history, marked "(removed)".
    pub async fn target_account_names(
        &self,
        caller: &Caller,
        posts: &[PostRecord],
    ) -> Result<Vec<(AccountId, String)>, CoreError> {
        let mut ids: Vec<AccountId> = posts
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.account_id))
            .collect();
        ids.sort_by_key(|id| id.to_string());
        ids.dedup();
        let mut names = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(account) = self.store.account(caller.workspace_id, id).await? {
                names.push((id, account.display_name));
                continue;
            }
            let removed = self
                .store
                .events_for_account(caller.workspace_id, id, 50)
                .await?
                .into_iter()
                .find(|e| e.kind == iquivity_store::AuditKind::Removed)
                .and_then(|e| e.details["display_name"].as_str().map(str::to_string));
            if let Some(name) = removed {
                names.push((id, format!("{name} (removed)")));
            }
        }
        Ok(names)
    }

    /// Per account: posts still scheduled to it, and posts published to it in the last 30 days.
    pub async fn post_counts(
        &self,
        caller: &Caller,
    ) -> Result<std::collections::HashMap<AccountId, (u32, u32)>, CoreError> {
        let since = self.clock.now() - Duration::days(30);
        Ok(self
            .store
            .post_counts(caller.workspace_id, since)
            .await?
            .into_iter()
            .map(|(id, scheduled, published)| (id, (scheduled, published)))
            .collect())
    }

    pub async fn posts(&self, caller: &Caller) -> Result<Vec<PostRecord>, CoreError> {
        Ok(self.store.posts(caller.workspace_id, 100).await?)
    }

    pub async fn post(&self, caller: &Caller, id: uuid::Uuid) -> Result<PostRecord, CoreError> {
        self.store
            .post(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("post"))
    }

    /// Changes a post's text, link, time or accounts while nothing of it has been published yet; every
    /// account it will go to is checked against its platform's rules again.
    pub async fn update_post(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
        edit: PostEdit,
    ) -> Result<PostRecord, CoreError> {
        let current = self.post(caller, id).await?;
        caller.require_manage_accounts()?;
        if current.draft_accounts.is_some() {
            return self.update_draft(caller, current, edit).await;
        }
        let started = current
            .targets
            .iter()
            .any(|t| matches!(t.state, TargetState::Publishing | TargetState::Published));
        if started {
            return Err(published_already());
        }
        let text = edit
            .text
            .map(|t| t.replace("\r\n", "\n").trim().to_string())
            .unwrap_or(current.text.clone());
        let link = edit.link.unwrap_or(current.link.clone());
        let publish_at = edit.publish_at.unwrap_or(current.publish_at);
        let mut errors = Vec::new();
        errors.extend(text_errors(&text));
        errors.extend(check_publish_at(publish_at, self.clock.now()));
        let variants = edit
            .variants
            .map(normalised_variants)
            .unwrap_or(current.variants.clone());
        let accounts: Vec<AccountId> = edit
            .accounts
            .clone()
            .unwrap_or_else(|| current.targets.iter().map(|t| t.account_id).collect());
        errors.extend(variant_errors(&variants, &accounts));
        let files = self
            .file_facts(
                current
                    .media
                    .iter()
                    .chain(variants.iter().flat_map(|v| v.media.iter().flatten())),
            )
            .await;
        let first_comment = edit
            .first_comment
            .map(first_comment_of)
            .unwrap_or(current.first_comment.clone());
        let versions = Versions {
            text: &text,
            link: link.as_ref(),
            media: &current.media,
            variants: &variants,
            files: &files,
            first_comment: first_comment.as_deref(),
            thread: &current.thread,
        };
        let targets = match &edit.accounts {
            Some(accounts) => {
                if accounts.is_empty() {
                    errors.push(ValidationError::new(
                        "accounts",
                        "choose at least one account",
                    ));
                }
                let targets = self
                    .check_accounts(caller, accounts, &versions, publish_at, &mut errors)
                    .await?;
                Some(
                    targets
                        .into_iter()
                        .map(|t| TargetRecord { post_id: id, ..t })
                        .collect::<Vec<_>>(),
                )
            }
            None => {
                for (i, target) in current
                    .targets
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.state == TargetState::Scheduled)
                {
                    if let Some(account) = self
                        .store
                        .account(caller.workspace_id, target.account_id)
                        .await?
                    {
                        if let Err(e) = check_target(&account, &versions, &format!("targets[{i}]"))
                        {
                            errors.push(e);
                        }
                    }
                }
                None
            }
        };
        if !errors.is_empty() {
            return Err(CoreError::Validation(errors));
        }
        if !self
            .store
            .update_scheduled_post(
                caller.workspace_id,
                id,
                &PostRewrite {
                    text: &text,
                    link: link.as_deref(),
                    publish_at,
                    targets: targets.as_deref(),
                    variants: &variants,
                    first_comment: first_comment.as_deref(),
                },
                self.clock.now(),
            )
            .await?
        {
            return Err(published_already());
        }
        self.post(caller, id).await
    }

    /// Cancels what is still scheduled; what was published stays published.
    pub async fn cancel_post(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<PostRecord, CoreError> {
        let current = self.post(caller, id).await?;
        caller.require_manage_accounts()?;
        if current.draft_accounts.is_some() {
            // A draft has nothing scheduled to cancel: cancelling it throws it away.
            self.store.delete_draft(caller.workspace_id, id).await?;
            return Ok(current);
        }
        self.store
            .cancel_post(caller.workspace_id, id, self.clock.now())
            .await?;
        self.post(caller, id).await
    }

    /// The post and one of its targets, for a member who may act on it.
    pub(crate) async fn target_to_manage(
        &self,
        caller: &Caller,
        post: uuid::Uuid,
        target: uuid::Uuid,
    ) -> Result<(PostRecord, TargetRecord), CoreError> {
        let current = self.post(caller, post).await?;
        caller.require_manage_accounts()?;
        let found = current.targets.iter().find(|t| t.id == target).cloned();
        let found = found.ok_or(CoreError::NotFound("target"))?;
        Ok((current, found))
    }

    /// Puts a failed target back on the schedule, now.
    pub async fn retry_target(
        &self,
        caller: &Caller,
        post: uuid::Uuid,
        target: uuid::Uuid,
    ) -> Result<PostRecord, CoreError> {
        let (_, t) = self.target_to_manage(caller, post, target).await?;
        if let Some(account) = self
            .store
            .account(caller.workspace_id, t.account_id)
            .await?
        {
            if account.status != AccountStatus::Active {
                return Err(CoreError::Conflict(format!(
                    "{} is {}; refresh the account, then retry",
                    account.display_name,
                    account.status.as_str()
                )));
            }
        }
        if !self
            .store
            .retry_target(caller.workspace_id, post, target, self.clock.now())
            .await?
        {
            return Err(CoreError::Conflict(
                "only a failed target can be retried".into(),
            ));
        }
        self.post(caller, post).await
    }

    /// The scheduled posts that removing this account would cancel.
    pub async fn removal_impact(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<Vec<PostRecord>, CoreError> {
        self.account(caller, account).await?;
        Ok(self
            .store
            .scheduled_for_account(caller.workspace_id, account)
            .await?
            .into_iter()
            .map(|(target, post)| PostRecord {
                targets: vec![target],
                ..post
            })
            .collect())
    }
}
