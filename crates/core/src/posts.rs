//! Posts: written once, published to many accounts now or at a set time, with a result per account.
//! A target is claimed (moved to `publishing` under a lease) before it waits for a slot on its platform,
//! and marked as sending (`sending_at`) right before its request goes out, so it is never published twice:
//! a worker that dies mid-call leaves it sending, and it is then settled by asking the platform or as failed
//! with an explanation rather than retried blindly; one that dies before sending leaves a target that
//! simply goes back on the schedule when the lease runs out.

use crate::lifecycle::{join_all, per_account, PlatformSlots};
use crate::{Caller, Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, AccountStatus, ValidationError};
use iquivity_platforms::{
    descriptor, ErrorClass, Media, MediaKind, PostContent, PostLookup, PublishWindow,
};
use iquivity_store::{
    MediaRecord, PostRecord, PostRewrite, TargetOutcome, TargetRecord, TargetState,
};
use std::collections::HashMap;
use tokio::task::JoinSet;

pub const MAX_TEXT_CHARS: usize = 5000;

/// What one round's publishing did.
#[derive(Debug, Default)]
pub(crate) struct PublishRound {
    pub published: u32,
    pub failed: u32,
    /// A full batch of targets was claimed: more are probably due.
    pub full_batch: bool,
}

/// What a person asks to publish.
pub struct NewPost {
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<MediaRecord>,
    pub privacy_level: Option<String>,
    pub accounts: Vec<AccountId>,
    /// `None`: now.
    pub publish_at: Option<DateTime<Utc>>,
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
}

/// The platform's own limits and needs, checked per account before anything is scheduled.
fn check_target(
    account: &iquivity_domain::Account,
    text_chars: usize,
    media: &[MediaRecord],
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
        .check_content(text_chars, !media.is_empty())
        .or_else(fail)
}

/// How far ahead a post can be scheduled: a plan's horizon, and a bound that keeps a mistyped year or a
/// broken time zone from parking a post for centuries.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 2 * 365;

/// A publishing time must be now (give or take a minute of clock skew) or within the horizon.
fn check_publish_at(publish_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<ValidationError> {
    if publish_at < now - Duration::minutes(1) {
        Some(ValidationError::new("publish_at", "is in the past"))
    } else if publish_at > now + Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
        Some(ValidationError::new(
            "publish_at",
            "must be within 2 years from now",
        ))
    } else {
        None
    }
}

fn content(post: &PostRecord) -> PostContent {
    PostContent {
        text: post.text.clone(),
        link: post.link.clone(),
        media: post
            .media
            .iter()
            .map(|m| Media {
                url: m.url.clone(),
                kind: if m.kind == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Image
                },
            })
            .collect(),
        privacy_level: post.privacy_level.clone(),
    }
}

impl Core {
    pub async fn create_post(
        &self,
        caller: &Caller,
        new: NewPost,
    ) -> Result<PostRecord, CoreError> {
        caller.require_manage_accounts()?;
        let mut errors = Vec::new();
        let text = new.text.trim().to_string();
        if text.is_empty() {
            errors.push(ValidationError::new("text", "must not be empty"));
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            errors.push(ValidationError::new(
                "text",
                format!("must be at most {MAX_TEXT_CHARS} characters"),
            ));
        }
        for (i, media) in new.media.iter().enumerate() {
            let public =
                url::Url::parse(&media.url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
            if !public {
                errors.push(ValidationError::new(
                    format!("media[{i}].url"),
                    "must be an http(s) URL the platform can fetch",
                ));
            }
            if media.kind != "image" && media.kind != "video" {
                errors.push(ValidationError::new(
                    format!("media[{i}].kind"),
                    "must be image or video",
                ));
            }
        }
        if new.accounts.is_empty() {
            errors.push(ValidationError::new(
                "accounts",
                "choose at least one account",
            ));
        }
        let now = self.clock.now();
        let publish_at = new.publish_at.unwrap_or(now);
        errors.extend(check_publish_at(publish_at, now));
        let text_chars =
            text.chars().count() + new.link.as_ref().map_or(0, |l| l.chars().count() + 1);
        let targets = self
            .check_accounts(
                caller,
                &new.accounts,
                text_chars,
                &new.media,
                publish_at,
                &mut errors,
            )
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
            targets: targets
                .into_iter()
                .map(|t| TargetRecord { post_id: id, ..t })
                .collect(),
        };
        self.store.create_post(&post).await?;
        Ok(post)
    }

    /// The targets a post to `accounts` would have, each account checked against its platform's rules;
    /// what is wrong goes to `errors`, by `accounts[i]`.
    async fn check_accounts(
        &self,
        caller: &Caller,
        accounts: &[AccountId],
        text_chars: usize,
        media: &[MediaRecord],
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
                Some(account) => match check_target(&account, text_chars, media, &field) {
                    Err(e) => errors.push(e),
                    Ok(()) => targets.push(TargetRecord {
                        id: uuid::Uuid::now_v7(),
                        post_id: uuid::Uuid::nil(),
                        account_id: account.id,
                        platform: account.platform,
                        state: TargetState::Scheduled,
                        attempts: 0,
                        platform_post_id: None,
                        url: None,
                        error_class: None,
                        error_message: None,
                        published_at: None,
                        sending_at: None,
                        run_at: publish_at,
                    }),
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

    /// Names of the workspace's accounts, to show beside post results.
    pub async fn account_names(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(AccountId, String)>, CoreError> {
        let accounts = self
            .store
            .list_accounts(
                caller.workspace_id,
                &iquivity_store::AccountQuery::all(crate::accounts::MAX_PAGE),
            )
            .await?;
        Ok(accounts
            .into_iter()
            .map(|a| (a.id, a.display_name))
            .collect())
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
        let text = edit
            .text
            .map(|t| t.trim().to_string())
            .unwrap_or(current.text.clone());
        let link = edit.link.unwrap_or(current.link.clone());
        let publish_at = edit.publish_at.unwrap_or(current.publish_at);
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
        errors.extend(check_publish_at(publish_at, self.clock.now()));
        let text_chars = text.chars().count() + link.as_ref().map_or(0, |l| l.chars().count() + 1);
        let targets = match &edit.accounts {
            Some(accounts) => {
                if accounts.is_empty() {
                    errors.push(ValidationError::new(
                        "accounts",
                        "choose at least one account",
                    ));
                }
                let targets = self
                    .check_accounts(
                        caller,
                        accounts,
                        text_chars,
                        &current.media,
                        publish_at,
                        &mut errors,
                    )
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
                        if let Err(e) = check_target(
                            &account,
                            text_chars,
                            &current.media,
                            &format!("targets[{i}]"),
                        ) {
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
                },
                self.clock.now(),
            )
            .await?
        {
            return Err(CoreError::Conflict(
                "part of this post is already published; cancel it and write a new one".into(),
            ));
        }
        self.post(caller, id).await
    }

    /// Cancels what is still scheduled; what was published stays published.
    pub async fn cancel_post(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<PostRecord, CoreError> {
        self.post(caller, id).await?;
        caller.require_manage_accounts()?;
        self.store
            .cancel_post(caller.workspace_id, id, self.clock.now())
            .await?;
        self.post(caller, id).await
    }

    /// Puts a failed target back on the schedule, now.
    pub async fn retry_target(
        &self,
        caller: &Caller,
        post: uuid::Uuid,
        target: uuid::Uuid,
    ) -> Result<PostRecord, CoreError> {
        let current = self.post(caller, post).await?;
        caller.require_manage_accounts()?;
        let Some(t) = current.targets.iter().find(|t| t.id == target) else {
            return Err(CoreError::NotFound("target"));
        };
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

    /// Publishes due targets as `owner`, puts back what a dead worker claimed but never sent, and settles
    /// what it sent without seeing the answer. Targets run
    /// side by side within each platform's slots, but one account's targets one after another, so that
    /// each sees what the one before it published when checking the account's rate windows.
    pub(crate) async fn publish_due(
        &self,
        owner: &str,
        slots: &PlatformSlots,
    ) -> Result<PublishRound, CoreError> {
        let now = self.clock.now();
        let settings = &self.settings.lifecycle;
        let released = self.store.release_unsent_targets(now).await?;
        if released > 0 {
            tracing::info!(
                released,
                "targets claimed but never sent went back on the schedule"
            );
        }
        for (target, post) in self.store.abandoned_targets(now, 100).await? {
            let outcome = self.settle_lost_attempt(&target, &post, now).await?;
            self.store
                .settle_abandoned_target(target.id, &outcome, now)
                .await?;
        }
        let claimed = self
            .store
            .claim_due_targets(owner, now, now + settings.lease, settings.batch)
            .await?;
        let full_batch = claimed.len() >= usize::try_from(settings.batch).unwrap_or(usize::MAX);
        // As for jobs: a target still waiting for a slot this late is put back rather than sent so near
        // the end of its lease that the lease could run out during the platform call.
        let start_by = now + settings.lease / 2;
        let mut tasks = JoinSet::new();
        for queue in per_account(claimed, |(target, _)| target.account_id) {
            let (core, owner, slots) = (self.clone(), owner.to_string(), slots.clone());
            tasks.spawn(async move {
                core.publish_account_targets(queue, &owner, &slots, start_by)
                    .await
            });
        }
        let mut round = PublishRound {
            full_batch,
            ..PublishRound::default()
        };
        for (published, failed) in join_all(tasks).await? {
            round.published += published;
            round.failed += failed;
        }
        Ok(round)
    }

    /// The outcome of an attempt whose request went out but whose answer was lost with the instance making
    /// it (its lease ran out).
    /// Where the platform can list the account's posts, it is asked: a post found was published; none
    /// found means it was never made and can safely be made now, since the lease outlasts any platform
    /// call, so the lost request cannot still land. Elsewhere, and when the platform cannot be asked,
    /// the target fails as `unknown_outcome` for a person to check, rather than risk posting twice.
    async fn settle_lost_attempt(
        &self,
        target: &TargetRecord,
        post: &PostRecord,
        now: DateTime<Utc>,
    ) -> Result<TargetOutcome, CoreError> {
        let platform = target.platform.display_name();
        let unknown = |why: String| {
            TargetOutcome::Failed {
            class: "unknown_outcome".into(),
            message: format!(
                "the service stopped while publishing to {platform}{why}; check the account on {platform} before retrying, so the post is not published twice"
            ),
        }
        };
        let Some(account) = self
            .store
            .account(post.workspace_id, target.account_id)
            .await?
        else {
            return Ok(unknown(String::new()));
        };
        let Some(tokens) = self.tokens_of(account.id).await? else {
            return Ok(unknown(String::new()));
        };
        let adapter = self.adapter(account.platform)?;
        // From a little before the attempt could have begun: the platform's times are whole seconds.
        let since = target.run_at - Duration::minutes(1);
        let lookup = adapter
            .find_post(
                account.kind,
                &account.platform_account_id,
                &tokens,
                &content(post),
                since,
            )
            .await;
        Ok(match lookup {
            Ok(PostLookup::Found(published)) => {
                tracing::info!(target_id = %target.id, "a lost publishing attempt had been published");
                TargetOutcome::Published {
                    platform_post_id: published.platform_post_id,
                    url: published.url,
                }
            }
            Ok(PostLookup::NotFound) => TargetOutcome::Retry {
                at: now,
                message: format!(
                    "the service stopped while publishing to {platform}, which has no such post: publishing again"
                ),
            },
            Ok(PostLookup::Unsupported) => unknown(String::new()),
            Err(err) => unknown(format!(" (and could not be asked: {})", err.message)),
        })
    }

    /// Publishes one account's claimed targets in order, each in a slot of its platform. Answers how many
    /// were published and how many failed.
    async fn publish_account_targets(
        &self,
        targets: Vec<(TargetRecord, PostRecord)>,
        owner: &str,
        slots: &PlatformSlots,
        start_by: DateTime<Utc>,
    ) -> Result<(u32, u32), CoreError> {
        let (mut published, mut failed) = (0, 0);
        for (target, post) in targets {
            let slot = slots.take(target.platform).await?;
            let outcome = if self.clock.now() > start_by {
                TargetOutcome::Retry {
                    at: self.clock.now(),
                    message: "waited too long for a free slot on the platform".into(),
                }
            } else {
                match self.publish_target(&target, &post, owner).await {
                    Ok(Some(outcome)) => outcome,
                    Ok(None) => {
                        // Nothing was sent: the target is back on the schedule, or another worker has it.
                        tracing::warn!(target_id = %target.id, "target not sent: its lease ran out while it waited");
                        continue;
                    }
                    // This service failed (its database or vault) before the request went out, not the
                    // platform: the target is tried again soon, and no attempt at the platform is counted.
                    Err(err) => {
                        tracing::error!(target_id = %target.id, account_id = %target.account_id, error = %ErrorChain(&err), "publishing failed on this service's side; trying again");
                        TargetOutcome::Retry {
                            at: self.clock.now() + Duration::minutes(1),
                            message: format!(
                                "something went wrong on our side before anything was sent to {}; trying again",
                                target.platform.display_name()
                            ),
                        }
                    }
                }
            };
            drop(slot);
            match &outcome {
                TargetOutcome::Published { .. } => published += 1,
                TargetOutcome::Failed { .. } => failed += 1,
                TargetOutcome::Retry { .. } => {}
            }
            self.store
                .finish_target(target.id, owner, &outcome, self.clock.now())
                .await?;
        }
        Ok((published, failed))
    }

    /// One attempt at a claimed target: its checks, then its request. `None` when the request may not go
    /// out because `owner` no longer holds the target. An error is this service failing before the request
    /// went out; once it has, the platform's answer decides the outcome, whatever this service fails at.
    async fn publish_target(
        &self,
        target: &TargetRecord,
        post: &PostRecord,
        owner: &str,
    ) -> Result<Option<TargetOutcome>, CoreError> {
        let now = self.clock.now();
        let failed = |class: &str, message: String| TargetOutcome::Failed {
            class: class.into(),
            message,
        };
        let Some(account) = self
            .store
            .account(post.workspace_id, target.account_id)
            .await?
        else {
            return Ok(Some(failed(
                "account_removed",
                "the account was removed".into(),
            )));
        };
        if account.status != AccountStatus::Active {
            return Ok(Some(failed(
                "account_inactive",
                format!(
                    "{} is {}: refresh the account, then retry",
                    account.display_name,
                    account.status.as_str()
                ),
            )));
        }
        let Some(tokens) = self.tokens_of(account.id).await? else {
            return Ok(Some(failed(
                "account_inactive",
                "the account has no credentials: refresh it, then retry".into(),
            )));
        };
        // Waiting for the platform's window beats being refused by the platform.
        for &PublishWindow {
            minutes,
            posts: limit,
        } in descriptor(account.platform).publish_windows
        {
            let window = Duration::minutes(minutes);
            // An account's targets are settled one after another, so what this round published for it
            // already counts here.
            if self.store.published_since(account.id, now - window).await? >= limit {
                return Ok(Some(TargetOutcome::Retry {
                    at: now + window,
                    message: format!(
                        "rate limited: {} allows {limit} posts per {minutes} minutes for one account",
                        account.platform.display_name()
                    ),
                }));
            }
        }
        let adapter = self.adapter(account.platform)?;
        // The last step before the request goes out: from here on, losing the answer (this instance dying)
        // leaves an unknown outcome; before it, the target simply goes back on the schedule.
        if !self
            .store
            .start_sending_target(target.id, owner, self.clock.now())
            .await?
        {
            return Ok(None);
        }
        // This attempt is counted now; the claimed record holds the count before it.
        let attempt = target.attempts + 1;
        let outcome = match adapter.publish(account.kind, &account.platform_account_id, &tokens, &content(post)).await {
            Ok(published) => {
                // Bookkeeping only: the post is live, and failing here would publish it again.
                if let Err(err) = self.store.mark_account_used(account.id, now).await {
                    tracing::warn!(account_id = %account.id, error = %err, "cannot record the account's use");
                }
                TargetOutcome::Published {
                    platform_post_id: published.platform_post_id,
                    url: published.url,
                }
            }
            Err(err) => match &err.class {
                ErrorClass::RateLimited { until } => TargetOutcome::Retry {
                    at: until.filter(|u| *u > now).unwrap_or(now + Duration::minutes(1)),
                    message: format!("rate limited: {}", err.message),
                },
                // Only a platform that could not be reached, or answered with an error status, is sure not to
                // have published; a call that timed out after sending may have, so it is not retried blindly.
                ErrorClass::Unavailable if err.may_have_taken_effect() => failed(
                    "unknown_outcome",
                    format!(
                        "{} did not answer in time, so the post may or may not be live; check the account before retrying",
                        account.platform.display_name()
                    ),
                ),
                ErrorClass::Unavailable if attempt < 5 => TargetOutcome::Retry {
                    at: now + Duration::minutes(i64::from(attempt) * 2),
                    message: err.message,
                },
                ErrorClass::Unavailable => failed("unavailable", format!("{} kept failing: {}", account.platform.display_name(), err.message)),
                ErrorClass::Rejected => failed("rejected", err.message),
                class => {
                    let reason = class.status_reason().unwrap_or(iquivity_domain::StatusReason::AuthenticationFailed);
                    // The target fails either way; the account's status follows at its next check if not now.
                    if let Err(status) = self.change_account_status(account.workspace_id, account.id, Some(reason), Some(err.message.clone())).await {
                        tracing::error!(account_id = %account.id, error = %ErrorChain(&status), "cannot mark the account after the platform refused its credentials");
                    }
                    failed(class.label(), "the platform refused the account's credentials: refresh the account, then retry".into())
                }
            },
        };
        Ok(Some(outcome))
    }
}
