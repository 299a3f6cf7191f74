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
use iquivity_platforms::{descriptor, MediaKind};
use iquivity_store::{
    MediaRecord, PostRecord, PostRewrite, PostVariant, TargetRecord, TargetState, ThreadPart,
};
use std::collections::HashMap;

mod calendar;
mod checks;
mod comments;
mod deletion;
mod drafts;
mod queue;
mod round;
mod threads;

pub use checks::MAX_SCHEDULE_AHEAD_DAYS;
use checks::{
    check_publish_at, check_target, first_comment_of, media_errors, normalised_thread,
    normalised_variants, text_errors, thread_errors, variant_errors, Versions,
};
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

/// The refusal of what follows a post on a platform (`what`: its thread, its first comment) while the post
/// is not published there.
fn not_published_yet(what: &str) -> CoreError {
    CoreError::Conflict(format!(
        "the post is not published there yet: {what} follows it"
    ))
}

/// One target of one post: the pair every action on a target names, in one value so the two ids cannot be
/// swapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub post: uuid::Uuid,
    pub target: uuid::Uuid,
}

/// An edit refused because part of the post went out meanwhile (or before).
fn published_already() -> CoreError {
    CoreError::Conflict(
        "part of this post is already published; cancel it and write a new one".into(),
    )
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
        at: TargetRef,
    ) -> Result<(PostRecord, TargetRecord), CoreError> {
        let current = self.post(caller, at.post).await?;
        caller.require_manage_accounts()?;
        let found = current.targets.iter().find(|t| t.id == at.target).cloned();
        let found = found.ok_or(CoreError::NotFound("target"))?;
        Ok((current, found))
    }

    /// Puts a failed target back on the schedule, now.
    pub async fn retry_target(
        &self,
        caller: &Caller,
        at: TargetRef,
    ) -> Result<PostRecord, CoreError> {
        let (_, t) = self.target_to_manage(caller, at).await?;
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
            .retry_target(caller.workspace_id, at.post, at.target, self.clock.now())
            .await?
        {
            return Err(CoreError::Conflict(
                "only a failed target can be retried".into(),
            ));
        }
        self.post(caller, at.post).await
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
