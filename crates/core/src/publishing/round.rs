//! The publish round: claim due targets, publish them per account on the platform's slots, and settle
//! attempts lost mid-call by asking the platform, or as failed with an explanation.

use crate::engine::{join_all, per_account, PlatformSlots};
use crate::{Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::AccountStatus;
use iquivity_platforms::{
    descriptor, ErrorClass, Media, MediaKind, PostContent, PostLookup, PublishWindow,
};
use iquivity_store::{PostRecord, TargetOutcome, TargetRecord};
use tokio::task::JoinSet;

/// What one round's publishing did.
#[derive(Debug, Default)]
pub(crate) struct PublishRound {
    pub published: u32,
    pub failed: u32,
    /// A full batch of targets was claimed: more are probably due.
    pub full_batch: bool,
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
