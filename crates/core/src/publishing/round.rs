//! The publish round: claim due targets, publish them per account on the platform's slots, and settle
//! attempts lost mid-call by asking the platform, or as failed with an explanation.

use crate::engine::{join_all, per_account, PlatformSlots};
use crate::{Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{Account, AccountStatus, TokenSet};
use iquivity_platforms::{
    descriptor, ActingAs, ErrorClass, PostContent, PostLookup, PublishWindow,
};
use iquivity_store::{Claim, PostRecord, TargetOutcome, TargetRecord};
use tokio::task::JoinSet;

/// How many times a target is sent before a platform that keeps failing fails it.
const MAX_ATTEMPTS: u32 = 5;

/// The wait before attempt `attempt + 1`: two more minutes each time.
fn retry_delay(attempt: u32) -> Duration {
    Duration::minutes(i64::from(attempt) * 2)
}

/// An attempt that went out, as far as it is needed to look for what it made.
struct SentAttempt<'a> {
    account: &'a Account,
    tokens: &'a TokenSet,
    post: &'a PostRecord,
    /// From when the platform's list is read.
    since: DateTime<Utc>,
    /// Which attempt it was, counting from 1.
    attempt: u32,
    /// When to send it again if the platform has no such post.
    retry_at: DateTime<Utc>,
}

/// A target that may or may not be live, with what a person should do about it.
fn unknown_outcome(lost: &str, platform: &str, lookup_error: Option<&str>) -> TargetOutcome {
    let asked = match lookup_error {
        Some(error) => format!(", and {platform} could not be asked whether it went out ({error})"),
        None => String::new(),
    };
    TargetOutcome::Failed {
        class: "unknown_outcome".into(),
        message: format!(
            "{lost}{asked}; check the account on {platform} before retrying, so the post is not published twice"
        ),
    }
}

/// What one round's publishing did.
#[derive(Debug, Default)]
pub(crate) struct PublishRound {
    pub published: u32,
    pub failed: u32,
    /// A full batch of targets was claimed: more are probably due.
    pub full_batch: bool,
}

/// The attempt a target's next try would be.
fn attempt_of(target: &TargetRecord) -> u32 {
    target.attempts + 1
}

/// What is published to one account: the post, with the account's (or its platform's) own text.
fn content(post: &PostRecord, account: &Account) -> PostContent {
    PostContent {
        text: post.text_for(account.id, account.platform).to_string(),
        link: post
            .link_for(account.id, account.platform)
            .map(str::to_string),
        media: super::media_to_send(post.media_for(account.id, account.platform)),
        privacy_level: post.privacy_level.clone(),
    }
}

impl Core {
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
            .claim_due_targets(Claim::new(owner, now, now + settings.lease, settings.batch))
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
    /// it (its lease ran out). The lease outlasts any platform call, so the lost request cannot still land.
    async fn settle_lost_attempt(
        &self,
        target: &TargetRecord,
        post: &PostRecord,
        now: DateTime<Utc>,
    ) -> Result<TargetOutcome, CoreError> {
        let platform = target.platform.display_name();
        let lost = format!("the service stopped while publishing to {platform}");
        let Some(account) = self
            .store
            .account(post.workspace_id, target.account_id)
            .await?
        else {
            return Ok(unknown_outcome(&lost, platform, None));
        };
        let Some(tokens) = self.tokens_of(account.id).await? else {
            return Ok(unknown_outcome(&lost, platform, None));
        };
        // From a little before the attempt could have begun: the platform's times are whole seconds.
        let since = target.run_at - Duration::minutes(1);
        let sent = SentAttempt {
            account: &account,
            tokens: &tokens,
            post,
            since,
            attempt: target.attempts,
            // The lease outlasted the lost call: nothing can still land, so there is nothing to wait for.
            retry_at: now,
        };
        self.look_up_sent_post(sent, &lost).await
    }

    /// Settles an attempt that went out without an answer saying what it did. Where the platform can list
    /// the account's posts, it is asked: a post found was published; none found means it was never made
    /// and can be made again, within the attempts allowed. Elsewhere, and when the platform cannot be
    /// asked, the target fails as `unknown_outcome` for a person to check, rather than risk posting twice.
    async fn look_up_sent_post(
        &self,
        sent: SentAttempt<'_>,
        lost: &str,
    ) -> Result<TargetOutcome, CoreError> {
        let account = sent.account;
        let platform = account.platform.display_name();
        let lookup = self
            .adapter(account.platform)?
            .find_post(
                ActingAs::account(account, sent.tokens),
                &content(sent.post, account),
                sent.since,
            )
            .await;
        Ok(match lookup {
            Ok(PostLookup::Found(published)) => {
                tracing::info!(account_id = %account.id, "a publishing attempt whose answer was lost had been published");
                TargetOutcome::Published {
                    platform_post_id: published.platform_post_id,
                    url: published.url,
                }
            }
            Ok(PostLookup::NotFound) if sent.attempt < MAX_ATTEMPTS => TargetOutcome::Retry {
                at: sent.retry_at,
                message: format!("{lost}, and {platform} has no such post: publishing again"),
            },
            Ok(PostLookup::NotFound) => TargetOutcome::Failed {
                class: "unavailable".into(),
                message: format!(
                    "{lost}, and {platform} has no such post after {} attempts; try again later",
                    sent.attempt
                ),
            },
            Ok(PostLookup::Unsupported) => unknown_outcome(lost, platform, None),
            Err(err) => {
                // Whichever call finds the credentials refused, the account's status says so at once.
                if let Some(reason) = err.class.status_reason() {
                    self.mark_refused_credentials(account, reason, &err.message)
                        .await;
                }
                unknown_outcome(lost, platform, Some(&err.message))
            }
        })
    }

    /// The account's status after the platform refused its credentials; the target fails either way, and
    /// a status that cannot be written now follows at the account's next check.
    async fn mark_refused_credentials(
        &self,
        account: &Account,
        reason: iquivity_domain::StatusReason,
        platform_words: &str,
    ) {
        if let Err(status) = self
            .change_account_status(
                account.workspace_id,
                account.id,
                Some(reason),
                Some(crate::renewal::status_message(reason, platform_words)),
            )
            .await
        {
            tracing::error!(account_id = %account.id, error = %ErrorChain(&status), "cannot mark the account after the platform refused its credentials");
        }
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
            let recorded = self
                .store
                .finish_target(target.id, owner, &outcome, self.clock.now())
                .await?;
            if let (
                true,
                TargetOutcome::Published {
                    platform_post_id, ..
                },
            ) = (recorded, &outcome)
            {
                // The post is out whatever becomes of its thread and comment: a failure here is theirs alone.
                if let Err(err) = self
                    .continue_thread(&target, &post, platform_post_id, target.thread.clone())
                    .await
                {
                    tracing::error!(target_id = %target.id, error = %ErrorChain(&err), "the thread could not be continued");
                }
                if let Err(err) = self
                    .send_first_comment(&target, &post, platform_post_id)
                    .await
                {
                    tracing::error!(target_id = %target.id, error = %ErrorChain(&err), "the first comment could not be sent");
                }
            }
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
        let mut content = content(post, &account);
        let rules = &descriptor(account.platform).content;
        if rules.takes_files {
            if let Err((passing, why)) = self
                .read_media_files(&mut content, &rules.media_limits)
                .await
            {
                return Ok(Some(if passing && attempt_of(target) < MAX_ATTEMPTS {
                    TargetOutcome::Retry {
                        at: now + retry_delay(attempt_of(target)),
                        message: why,
                    }
                } else {
                    failed("rejected", why)
                }));
            }
        }
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
        let sent_at = self.clock.now();
        let outcome = match adapter
            .publish(ActingAs::account(&account, &tokens), &content)
            .await
        {
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
                    at: until
                        .filter(|u| *u > now)
                        .unwrap_or(now + Duration::minutes(1)),
                    message: format!("rate limited: {}", err.message),
                },
                // The request went out and no answer says what it did: the platform may have published.
                // It is asked, never simply sent again.
                ErrorClass::Unavailable if err.may_have_taken_effect() => {
                    let lost = format!(
                        "the answer from {} was lost after the post was sent ({})",
                        account.platform.display_name(),
                        err.message
                    );
                    let sent = SentAttempt {
                        account: &account,
                        tokens: &tokens,
                        post,
                        since: sent_at - Duration::minutes(1),
                        attempt,
                        retry_at: now + retry_delay(attempt),
                    };
                    return self.look_up_sent_post(sent, &lost).await.map(Some);
                }
                // Not reached, or answered with an error: nothing was published, so it is tried again.
                ErrorClass::Unavailable if attempt < MAX_ATTEMPTS => TargetOutcome::Retry {
                    at: now + retry_delay(attempt),
                    message: err.message,
                },
                ErrorClass::Unavailable => failed(
                    "unavailable",
                    format!(
                        "{} kept failing: {}",
                        account.platform.display_name(),
                        err.message
                    ),
                ),
                ErrorClass::Rejected => failed("rejected", err.message),
                class => {
                    let reason = class
                        .status_reason()
                        .unwrap_or(iquivity_domain::StatusReason::AuthenticationFailed);
                    self.mark_refused_credentials(&account, reason, &err.message)
                        .await;
                    failed(class.label(), "the platform refused the account's credentials: refresh the account, then retry".into())
                }
            },
        };
        Ok(Some(outcome))
    }
}
