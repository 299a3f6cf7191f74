//! Posts and their targets: claiming for publishing, settling, retrying, cancelling, rewriting.

use crate::harness::*;
use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, AccountStatus, Plan, Platform, StatusReason, WorkspaceId};
use iquivity_store::{
    Claim, CommentResult, PostRecord, PostRewrite, QueueOwner, Store, StoreResult, TargetOutcome,
    TargetRecord, TargetState, ThreadProgress,
};
use std::collections::HashSet;
use std::sync::Arc;

fn published(id: &str) -> TargetOutcome {
    TargetOutcome::Published {
        platform_post_id: id.to_string(),
        url: Some(format!("https://social.example.test/p/{id}")),
    }
}

fn failed(class: &str) -> TargetOutcome {
    TargetOutcome::Failed {
        class: class.to_string(),
        message: format!("{class} by the platform"),
    }
}

/// Stores a post with no author, created at `created_at`, with a target on each account due at its time.
async fn schedule(
    store: &dyn Store,
    workspace: WorkspaceId,
    text: &str,
    targets: &[(AccountId, Platform, DateTime<Utc>)],
    created_at: DateTime<Utc>,
) -> PostRecord {
    let record = post(workspace, None, text, targets, created_at);
    store.create_post(&record).await.unwrap();
    record
}

/// The post as stored now.
async fn stored_post(store: &dyn Store, workspace: WorkspaceId, id: uuid::Uuid) -> PostRecord {
    let stored = store.post(workspace, id).await.unwrap();
    stored.expect("the post is stored")
}

/// What `owner` claims at `at` (up to 10 targets), leased until `until`.
async fn claim(
    store: &dyn Store,
    owner: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(TargetRecord, PostRecord)> {
    store
        .claim_due_targets(Claim::new(owner, at, until, 10))
        .await
        .unwrap()
}

/// The ids of the claimed targets.
fn claimed_ids(claimed: &[(TargetRecord, PostRecord)]) -> HashSet<uuid::Uuid> {
    claimed.iter().map(|(t, _)| t.id).collect()
}

/// Whether `owner` may send the target's request now.
async fn send(store: &dyn Store, target: uuid::Uuid, owner: &str, at: DateTime<Utc>) -> bool {
    store.start_sending_target(target, owner, at).await.unwrap()
}

/// Whether `owner` settled the target with `outcome`.
async fn finish(
    store: &dyn Store,
    target: uuid::Uuid,
    owner: &str,
    outcome: &TargetOutcome,
    at: DateTime<Utc>,
) -> bool {
    store
        .finish_target(target, owner, outcome, at)
        .await
        .unwrap()
}

/// Whether the abandoned target was settled with `outcome`.
async fn settle(
    store: &dyn Store,
    target: uuid::Uuid,
    outcome: &TargetOutcome,
    at: DateTime<Utc>,
) -> bool {
    store
        .settle_abandoned_target(target, outcome, at)
        .await
        .unwrap()
}

/// Whether the failed target went back on the schedule at `at`.
async fn retry(
    store: &dyn Store,
    workspace: WorkspaceId,
    post: uuid::Uuid,
    target: uuid::Uuid,
    at: DateTime<Utc>,
) -> bool {
    store
        .retry_target(workspace, post, target, at)
        .await
        .unwrap()
}

/// A rewrite of the text and time only: no link, the targets kept.
fn rewrite(text: &str, publish_at: DateTime<Utc>) -> PostRewrite<'_> {
    PostRewrite {
        text,
        link: None,
        publish_at,
        targets: None,
        variants: &[],
        first_comment: None,
    }
}

/// Rewrites the post at `t0`: whether it could still be rewritten.
async fn update(
    store: &dyn Store,
    workspace: WorkspaceId,
    post: uuid::Uuid,
    rewrite: &PostRewrite<'_>,
    t0: DateTime<Utc>,
) -> StoreResult<bool> {
    store
        .update_scheduled_post(workspace, post, rewrite, t0)
        .await
}

pub async fn due_targets_are_claimed_once_and_finished_by_their_owner(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let one = account(s, &owner, Platform::X, "one").await;
    let two = account(s, &owner, Platform::Facebook, "two").await;
    let t0 = now();
    let due = t0 - minutes(1);
    let targets = [
        (one.id, Platform::X, due),
        (two.id, Platform::Facebook, due),
    ];
    let mut hello = post(ws, Some(owner.user), "Hello", &targets, t0 - minutes(10));
    hello.link = Some("https://example.test/article".to_string());
    hello.privacy_level = Some("PUBLIC_TO_EVERYONE".to_string());
    store.create_post(&hello).await.unwrap();
    let later = [(one.id, Platform::X, t0 + minutes(60))];
    let later = schedule(s, ws, "Later", &later, t0 - minutes(5)).await;
    let hello_targets: HashSet<_> = hello.targets.iter().map(|t| t.id).collect();

    let stored = stored_post(s, ws, hello.id).await;
    assert_eq!(stored.text, "Hello");
    assert_eq!(stored.author_id, Some(owner.user));
    assert_eq!(stored.link, hello.link);
    assert_eq!(stored.media, hello.media);
    assert_eq!(stored.privacy_level, hello.privacy_level);
    assert_eq!(stored.publish_at, due);
    assert_eq!(stored.created_at, t0 - minutes(10));
    assert_eq!(
        stored.targets.iter().map(|t| t.id).collect::<HashSet<_>>(),
        hello_targets
    );
    for target in &stored.targets {
        assert_eq!(target.post_id, hello.id);
        assert_eq!(target.state, TargetState::Scheduled);
        assert_eq!(target.attempts, 0);
        assert_eq!(target.run_at, due);
    }
    let elsewhere = store.post(WorkspaceId::new(), hello.id).await.unwrap();
    assert!(elsewhere.is_none());
    let listed = store.posts(ws, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.id, p.targets.len()))
            .collect::<Vec<_>>(),
        vec![(later.id, 1), (hello.id, 2)],
        "newest first, with their targets"
    );
    assert_eq!(store.posts(ws, 1).await.unwrap().len(), 1);

    // A takes both due targets; nobody takes them again.
    let claimed = claim(s, "A", t0, t0 + minutes(5)).await;
    assert_eq!(claimed_ids(&claimed), hello_targets);
    for (target, with_post) in &claimed {
        assert_eq!(target.state, TargetState::Publishing);
        assert_eq!(target.attempts, 0, "claimed, not sent yet");
        assert_eq!(target.sending_at, None);
        assert_eq!(with_post.id, hello.id);
        assert_eq!(with_post.text, "Hello");
        assert_eq!(with_post.link, hello.link);
    }
    // Only the holder sends, once; sending counts the attempt.
    for (target, _) in &claimed {
        assert!(!send(s, target.id, "B", t0).await);
        assert!(send(s, target.id, "A", t0).await);
        assert!(!send(s, target.id, "A", t0).await, "sent once");
        let stored = stored_target(s, ws, hello.id, target.id).await;
        assert_eq!(stored.sending_at, Some(t0));
        assert_eq!(stored.attempts, 1);
    }
    assert!(claim(s, "B", t0, t0 + minutes(5)).await.is_empty());
    assert!(
        claim(s, "B", t0 + minutes(30), t0 + minutes(35))
            .await
            .is_empty(),
        "a target being published is not due again, even after its lease"
    );

    let on_one = hello.targets[0].id;
    let on_two = hello.targets[1].id;
    let t1 = t0 + minutes(1);
    assert!(!finish(s, on_one, "B", &published("p-1"), t1).await);
    assert!(finish(s, on_one, "A", &published("p-1"), t1).await);
    let target = stored_target(s, ws, hello.id, on_one).await;
    assert_eq!(target.state, TargetState::Published);
    assert_eq!(target.platform_post_id.as_deref(), Some("p-1"));
    assert_eq!(
        target.url.as_deref(),
        Some("https://social.example.test/p/p-1")
    );
    assert_eq!(target.published_at, Some(t1));
    assert_eq!(target.error_class, None);
    assert!(
        !finish(s, on_one, "A", &published("p-1"), t1).await,
        "settled once"
    );

    // The first comment has its own result: failed, then added, and then never replaced.
    let comment_failed = CommentResult::Failed {
        message: "comments are off".into(),
    };
    let comment_added = CommentResult::Published {
        comment_id: "c-1".into(),
    };
    assert!(s.record_comment(on_one, &comment_failed, t1).await.unwrap());
    assert_eq!(
        stored_target(s, ws, hello.id, on_one).await.comment,
        Some(comment_failed.clone())
    );
    assert!(s.record_comment(on_one, &comment_added, t1).await.unwrap());
    assert!(
        !s.record_comment(on_one, &comment_failed, t1).await.unwrap(),
        "an added comment stays"
    );
    let target = stored_target(s, ws, hello.id, on_one).await;
    assert_eq!(target.comment, Some(comment_added));
    assert_eq!(
        target.state,
        TargetState::Published,
        "the post stays published"
    );
    assert!(
        !s.record_comment(on_two, &comment_failed, t1).await.unwrap(),
        "only under a published post"
    );

    // A thread's progress is kept as recorded, part by part, with why it stopped.
    let progress = ThreadProgress {
        published: vec!["r-2".into()],
        error: Some("stopped at part 3 of 3: refused".into()),
    };
    assert!(s
        .record_thread_progress(on_one, &progress, t1)
        .await
        .unwrap());
    assert_eq!(
        stored_target(s, ws, hello.id, on_one).await.thread,
        progress
    );
    assert!(!s
        .record_thread_progress(on_two, &progress, t1)
        .await
        .unwrap());
    assert_eq!(
        stored_target(s, ws, hello.id, on_two).await.thread,
        ThreadProgress::default()
    );

    assert!(finish(s, on_two, "A", &failed("rejected"), t1).await);
    let target = stored_target(s, ws, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Failed);
    assert_eq!(target.error_class.as_deref(), Some("rejected"));
    assert_eq!(
        target.error_message.as_deref(),
        Some("rejected by the platform")
    );
    assert_eq!(target.published_at, None);

    // Only a failed target can be retried, in its own workspace.
    let t2 = t0 + minutes(2);
    assert!(!retry(s, ws, hello.id, on_one, t2).await);
    assert!(!retry(s, WorkspaceId::new(), hello.id, on_two, t2).await);
    assert!(!retry(s, ws, later.id, on_two, t2).await);
    assert!(retry(s, ws, hello.id, on_two, t2).await);
    let target = stored_target(s, ws, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Scheduled);
    assert_eq!(target.run_at, t2);
    assert_eq!(target.error_class, None);
    assert_eq!(target.error_message, None);
    assert!(!retry(s, ws, hello.id, on_two, t2).await);

    // Claimed again; this time the platform asks to come back later.
    let claimed = claim(s, "C", t2, t2 + minutes(1)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, on_two);
    assert_eq!(claimed[0].0.attempts, 1);
    assert_eq!(claimed[0].0.sending_at, None, "settling cleared it");
    assert!(send(s, on_two, "C", t2).await);
    let come_back = TargetOutcome::Retry {
        at: t0 + minutes(10),
        message: "rate limited".to_string(),
    };
    assert!(finish(s, on_two, "C", &come_back, t2).await);
    let target = stored_target(s, ws, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Scheduled);
    assert_eq!(target.run_at, t0 + minutes(10));
    assert_eq!(target.error_message.as_deref(), Some("rate limited"));
    assert!(claim(s, "C", t0 + minutes(9), t0 + minutes(12))
        .await
        .is_empty());
    let claimed = claim(s, "C", t0 + minutes(10), t0 + minutes(12)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.attempts, 2);
    assert_eq!(claimed[0].0.sending_at, None);

    // What was published counts towards the account's rate limits.
    assert_eq!(store.published_since(one.id, t0).await.unwrap(), 1);
    assert_eq!(store.published_since(one.id, t1).await.unwrap(), 1);
    assert_eq!(store.published_since(one.id, t2).await.unwrap(), 0);
    assert_eq!(store.published_since(two.id, t0).await.unwrap(), 0);

    store.mark_account_used(one.id, t1).await.unwrap();
    assert_eq!(stored_account(s, ws, one.id).await.last_used_at, Some(t1));
}

pub async fn abandoned_targets_are_settled_only_after_their_lease_ran_out(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let t0 = now();
    let due = t0 - minutes(1);
    let targets = [
        (AccountId::new(), Platform::X, due),
        (AccountId::new(), Platform::Linkedin, due),
    ];
    let stuck = schedule(s, ws, "Stuck", &targets, t0 - minutes(2)).await;
    let (first, second) = (stuck.targets[0].id, stuck.targets[1].id);
    assert_eq!(claim(s, "A", t0, t0 + minutes(5)).await.len(), 2);
    // Both requests go out; then the worker is heard from no more.
    for id in [first, second] {
        assert!(send(s, id, "A", t0 + minutes(1)).await);
    }

    let unknown = failed("unknown_outcome");
    let abandoned = |at| {
        let store = store.clone();
        async move { store.abandoned_targets(at, 10).await.unwrap() }
    };
    assert!(abandoned(t0 + minutes(4)).await.is_empty());
    assert!(
        !settle(s, first, &unknown, t0 + minutes(4)).await,
        "its lease still runs"
    );
    assert_eq!(
        abandoned(t0 + minutes(5))
            .await
            .iter()
            .map(|(t, p)| (t.id, t.state.as_str(), p.id))
            .collect::<HashSet<_>>(),
        HashSet::from([
            (first, "publishing", stuck.id),
            (second, "publishing", stuck.id),
        ]),
        "abandoned targets come with their post"
    );
    assert!(settle(s, first, &unknown, t0 + minutes(5)).await);
    let target = stored_target(s, ws, stuck.id, first).await;
    assert_eq!(target.state, TargetState::Failed);
    assert_eq!(target.error_class.as_deref(), Some("unknown_outcome"));
    assert!(!settle(s, first, &unknown, t0 + minutes(6)).await);
    assert!(
        !finish(s, first, "A", &published("late"), t0 + minutes(6)).await,
        "settled already"
    );

    // The holder may still report its own attempt after the lease, until someone settles it.
    assert!(finish(s, second, "A", &published("p-2"), t0 + minutes(6)).await);
    assert!(!settle(s, second, &unknown, t0 + minutes(7)).await);
    let target = stored_target(s, ws, stuck.id, second).await;
    assert_eq!(target.state, TargetState::Published);
    assert!(abandoned(t0 + minutes(60)).await.is_empty());

    // An abandoned target can be put back on the schedule.
    let again = [(AccountId::new(), Platform::X, t0 + minutes(10))];
    let again = schedule(s, ws, "Again", &again, t0).await;
    let target = again.targets[0].id;
    assert_eq!(
        claim(s, "B", t0 + minutes(10), t0 + minutes(11))
            .await
            .len(),
        1
    );
    assert!(send(s, target, "B", t0 + minutes(10)).await);
    let come_back = TargetOutcome::Retry {
        at: t0 + minutes(20),
        message: "outcome unknown; checked and not published".to_string(),
    };
    assert!(settle(s, target, &come_back, t0 + minutes(11)).await);
    let claimed = claim(s, "C", t0 + minutes(20), t0 + minutes(21)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, target);
    assert_eq!(claimed[0].0.attempts, 1, "sent once so far");
}

pub async fn unsent_targets_go_back_on_the_schedule_when_their_lease_ends(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let t0 = now();
    let due = t0 - minutes(1);
    let targets = [0, 1, 2].map(|_| (AccountId::new(), Platform::Linkedin, due));
    let held = schedule(s, ws, "Held", &targets, t0 - minutes(2)).await;
    let [sent, waiting, late] = [0, 1, 2].map(|i| held.targets[i].id);
    assert_eq!(claim(s, "A", t0, t0 + minutes(5)).await.len(), 3);
    // One request goes out; one target is still waiting for a slot when the lease runs out, and can no
    // longer be sent; the last never got a slot.
    assert!(send(s, sent, "A", t0 + minutes(1)).await);
    assert!(
        !send(s, waiting, "A", t0 + minutes(5)).await,
        "not sent once its lease ran out"
    );

    let release = |at| {
        let store = store.clone();
        async move { store.release_unsent_targets(at).await.unwrap() }
    };
    assert_eq!(release(t0 + minutes(4)).await, 0);
    assert_eq!(release(t0 + minutes(5)).await, 2);
    for id in [waiting, late] {
        let target = stored_target(s, ws, held.id, id).await;
        assert_eq!(target.state, TargetState::Scheduled);
        assert_eq!(target.attempts, 0);
        assert_eq!(target.sending_at, None);
        assert_eq!(target.run_at, due, "due as before");
        assert_eq!(target.error_class, None);
    }
    assert_eq!(
        store
            .abandoned_targets(t0 + minutes(5), 10)
            .await
            .unwrap()
            .iter()
            .map(|(t, _)| t.id)
            .collect::<Vec<_>>(),
        vec![sent],
        "only what was sent has an unknown outcome"
    );
    let target = stored_target(s, ws, held.id, sent).await;
    assert_eq!(target.state, TargetState::Publishing);
    assert!(!send(s, waiting, "A", t0 + minutes(5)).await);
    assert!(
        !finish(s, waiting, "A", &published("late"), t0 + minutes(5)).await,
        "the old holder has nothing left to settle"
    );

    // Another worker takes them and publishes each once.
    let claimed = claim(s, "B", t0 + minutes(5), t0 + minutes(10)).await;
    assert_eq!(claimed_ids(&claimed), HashSet::from([waiting, late]));
    for id in [waiting, late] {
        assert!(send(s, id, "B", t0 + minutes(6)).await);
        let outcome = published(&id.to_string());
        assert!(finish(s, id, "B", &outcome, t0 + minutes(6)).await);
        let target = stored_target(s, ws, held.id, id).await;
        assert_eq!(target.state, TargetState::Published);
        assert_eq!(target.attempts, 1);
        assert_eq!(target.sending_at, None, "cleared when settled");
    }
    assert_eq!(release(t0 + minutes(60)).await, 0);
}

pub async fn a_post_has_one_target_per_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let (a, b, c) = (AccountId::new(), AccountId::new(), AccountId::new());
    let t0 = now();
    let later = t0 + minutes(60);

    // Inserting a second target for one account fails, and nothing of the post is stored.
    let twice = [
        (a, Platform::X, later),
        (b, Platform::X, later),
        (a, Platform::X, later),
    ];
    let twice = post(ws, None, "Twice", &twice, t0);
    assert_duplicate(
        store.create_post(&twice).await,
        "a second target on one account",
    );
    assert!(store.post(ws, twice.id).await.unwrap().is_none());
    assert!(store.posts(ws, 10).await.unwrap().is_empty());

    // A rewrite can change the accounts: kept ones keep their target, others are removed or added.
    let draft = [(a, Platform::X, later), (b, Platform::Facebook, later)];
    let draft = schedule(s, ws, "Draft", &draft, t0).await;
    let on_b = draft.targets[1].id;
    let replacement = [(b, Platform::Facebook, t0), (c, Platform::Linkedin, t0)];
    let replacement = post(ws, None, "ignored", &replacement, t0).targets;
    let edit = PostRewrite {
        targets: Some(&replacement),
        ..rewrite("Edited", later + minutes(5))
    };
    assert!(update(s, ws, draft.id, &edit, t0).await.unwrap());
    let stored = stored_post(s, ws, draft.id).await;
    let mut targets: Vec<(AccountId, uuid::Uuid, TargetState)> = stored
        .targets
        .iter()
        .map(|t| (t.account_id, t.id, t.state))
        .collect();
    targets.sort_by_key(|(account, id, _)| (*account, *id));
    let mut expected = vec![
        (b, on_b, TargetState::Scheduled),
        (c, replacement[1].id, TargetState::Scheduled),
    ];
    expected.sort_by_key(|(account, id, _)| (*account, *id));
    assert_eq!(targets, expected);
    assert!(stored
        .targets
        .iter()
        .all(|t| t.run_at == later + minutes(5)));
    assert!(stored.targets.iter().all(|t| t.post_id == draft.id));

    // A rewrite naming an account twice fails as a whole.
    let doubled = [(a, Platform::X, t0), (a, Platform::X, t0)];
    let doubled = post(ws, None, "ignored", &doubled, t0).targets;
    let edit = PostRewrite {
        targets: Some(&doubled),
        ..rewrite("Doubled", later)
    };
    let doubled = update(s, ws, draft.id, &edit, t0).await;
    assert_duplicate(doubled, "a rewrite naming an account twice");
    let stored = stored_post(s, ws, draft.id).await;
    assert_eq!(stored.text, "Edited");
    assert_eq!(stored.targets.len(), 2);
}

pub async fn cancelling_touches_only_scheduled_targets(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let one = account(s, &owner, Platform::X, "one").await;
    let two = account(s, &owner, Platform::Facebook, "two").await;
    let three = account(s, &owner, Platform::Linkedin, "three").await;
    let t0 = now();
    let mixed = [
        (one.id, Platform::X, t0 - minutes(2)),
        (two.id, Platform::Facebook, t0 + minutes(60)),
        (three.id, Platform::Linkedin, t0 - minutes(1)),
    ];
    let mixed = schedule(s, ws, "Mixed", &mixed, t0 - minutes(5)).await;
    let [on_one, on_two, on_three] = [0, 1, 2].map(|i| mixed.targets[i].id);
    let claimed = claim(s, "A", t0, t0 + minutes(5)).await;
    assert_eq!(claimed_ids(&claimed), HashSet::from([on_one, on_three]));
    assert!(finish(s, on_one, "A", &published("p-1"), t0).await);
    assert!(finish(s, on_three, "A", &failed("rejected"), t0).await);

    let cancel = |workspace| {
        let store = store.clone();
        let post = mixed.id;
        async move { store.cancel_post(workspace, post, t0).await.unwrap() }
    };
    assert_eq!(
        cancel(WorkspaceId::new()).await,
        0,
        "not from another workspace"
    );
    assert_eq!(cancel(ws).await, 1);
    let states: Vec<(uuid::Uuid, TargetState)> = stored_post(s, ws, mixed.id)
        .await
        .targets
        .into_iter()
        .map(|t| (t.id, t.state))
        .collect();
    let state_of = |id| states.iter().find(|(t, _)| *t == id).unwrap().1;
    assert_eq!(state_of(on_one), TargetState::Published);
    assert_eq!(state_of(on_two), TargetState::Cancelled);
    assert_eq!(state_of(on_three), TargetState::Failed);
    assert_eq!(cancel(ws).await, 0);
    assert!(!retry(s, ws, mixed.id, on_two, t0).await);

    // Removing an account cancels what is scheduled on it, not what is under way or on other accounts.
    let later = [
        (one.id, Platform::X, t0 + minutes(120)),
        (two.id, Platform::Facebook, t0 + minutes(180)),
    ];
    let later = schedule(s, ws, "Later", &later, t0).await;
    let sooner = [(one.id, Platform::X, t0 + minutes(60))];
    let sooner = schedule(s, ws, "Sooner", &sooner, t0).await;
    let running = [(one.id, Platform::X, t0 - minutes(1))];
    let running = schedule(s, ws, "Running", &running, t0).await;
    let claimed = claim(s, "B", t0, t0 + minutes(5)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, running.targets[0].id);

    let scheduled_on = |account| {
        let store = store.clone();
        async move { store.scheduled_for_account(ws, account).await.unwrap() }
    };
    assert_eq!(
        scheduled_on(one.id)
            .await
            .iter()
            .map(|(t, p)| (t.id, p.id, p.text.clone()))
            .collect::<Vec<_>>(),
        vec![
            (sooner.targets[0].id, sooner.id, "Sooner".to_string()),
            (later.targets[0].id, later.id, "Later".to_string()),
        ],
        "soonest first, with their posts"
    );
    assert!(store
        .scheduled_for_account(WorkspaceId::new(), one.id)
        .await
        .unwrap()
        .is_empty());

    let cancel_on_one = || {
        let store = store.clone();
        async move { store.cancel_targets_for_account(one.id, t0).await.unwrap() }
    };
    assert_eq!(cancel_on_one().await, 2);
    assert!(scheduled_on(one.id).await.is_empty());
    let cancelled = stored_target(s, ws, later.id, later.targets[0].id).await;
    assert_eq!(cancelled.state, TargetState::Cancelled);
    assert!(
        cancelled.error_message.is_some(),
        "says why it was cancelled"
    );
    for (post, target, state) in [
        (&later, later.targets[1].id, TargetState::Scheduled),
        (&running, running.targets[0].id, TargetState::Publishing),
        (&mixed, on_one, TargetState::Published),
    ] {
        assert_eq!(stored_target(s, ws, post.id, target).await.state, state);
    }
    assert_eq!(cancel_on_one().await, 0);
    assert_eq!(scheduled_on(two.id).await.len(), 1);
}

pub async fn scheduled_posts_can_be_rewritten_until_publishing_starts(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let (a, b) = (AccountId::new(), AccountId::new());
    let t0 = now();
    let draft = [
        (a, Platform::X, t0 + minutes(60)),
        (b, Platform::Facebook, t0 + minutes(60)),
    ];
    let draft = schedule(s, ws, "Draft", &draft, t0).await;
    assert!(
        !s.mark_target_deleted(ws, stored_post(s, ws, draft.id).await.targets[0].id, t0)
            .await
            .unwrap(),
        "only a published target is marked deleted"
    );
    let parts = vec![iquivity_store::ThreadPart {
        text: "2/2".into(),
        media: Vec::new(),
    }];
    let mut threaded = post(ws, None, "1/2", &[], t0);
    threaded.thread = parts.clone();
    s.create_post(&threaded).await.unwrap();
    assert_eq!(stored_post(s, ws, threaded.id).await.thread, parts);
    let versions = [iquivity_store::PostVariant {
        platform: Some(Platform::X),
        account: None,
        text: "Edited, for X".into(),
        link: None,
        media: Some(Vec::new()),
    }];
    let edit = PostRewrite {
        link: Some("https://example.test/edited"),
        variants: &versions,
        first_comment: Some("More in the comments"),
        ..rewrite("Edited", t0 + minutes(120))
    };
    assert!(update(s, ws, draft.id, &edit, t0).await.unwrap());
    let stored = stored_post(s, ws, draft.id).await;
    assert_eq!(stored.text, "Edited");
    assert_eq!(stored.variants, versions);
    assert_eq!(
        stored.first_comment.as_deref(),
        Some("More in the comments")
    );
    assert_eq!(stored.link.as_deref(), Some("https://example.test/edited"));
    assert_eq!(stored.publish_at, t0 + minutes(120));
    assert!(stored.targets.iter().all(|t| t.run_at == t0 + minutes(120)));
    let hijack = rewrite("Hijacked", t0);
    assert!(!update(s, WorkspaceId::new(), draft.id, &hijack, t0)
        .await
        .unwrap());
    let nothing = rewrite("Nothing", t0);
    assert!(!update(s, ws, uuid::Uuid::now_v7(), &nothing, t0)
        .await
        .unwrap());
    assert_eq!(stored_post(s, ws, draft.id).await.text, "Edited");

    // Once a target is being published, or has been, the post is what it is.
    let due = t0 - minutes(1);
    let going = [(a, Platform::X, due), (b, Platform::Facebook, due)];
    let going = schedule(s, ws, "Going out", &going, t0).await;
    assert_eq!(claim(s, "A", t0, t0 + minutes(5)).await.len(), 2);
    let rewritten = |text: &'static str| {
        let store = store.clone();
        let id = going.id;
        async move {
            let edit = rewrite(text, t0 + minutes(30));
            update(store.as_ref(), ws, id, &edit, t0).await.unwrap()
        }
    };
    assert!(!rewritten("While publishing").await);
    assert!(finish(s, going.targets[0].id, "A", &failed("rejected"), t0).await);
    assert!(!rewritten("One still publishing").await);
    assert!(finish(s, going.targets[1].id, "A", &published("p-1"), t0).await);
    assert!(!rewritten("After publishing").await);
    let stored = stored_post(s, ws, going.id).await;
    assert_eq!(stored.text, "Going out");
    assert_eq!(stored.publish_at, due);

    // A failed target does not count as started: the post can be fixed, and only its scheduled targets move.
    let partly = [
        (a, Platform::X, due),
        (b, Platform::Facebook, t0 + minutes(60)),
    ];
    let partly = schedule(s, ws, "Partly", &partly, t0).await;
    assert_eq!(claim(s, "B", t0, t0 + minutes(5)).await.len(), 1);
    assert!(finish(s, partly.targets[0].id, "B", &failed("rejected"), t0).await);
    let fix = rewrite("Fixed", t0 + minutes(180));
    assert!(update(s, ws, partly.id, &fix, t0).await.unwrap());
    let failed_target = stored_target(s, ws, partly.id, partly.targets[0].id).await;
    assert_eq!(failed_target.state, TargetState::Failed);
    assert_eq!(failed_target.run_at, due);
    let moved = stored_target(s, ws, partly.id, partly.targets[1].id).await;
    assert_eq!(moved.state, TargetState::Scheduled);
    assert_eq!(moved.run_at, t0 + minutes(180));
    let stored = stored_post(s, ws, partly.id).await;
    assert_eq!(stored.text, "Fixed");
    assert_eq!(stored.link, None);
}

/// The counts sorted, so that they compare whatever order the store answered in.
fn sorted<T: Ord>(mut counts: Vec<T>) -> Vec<T> {
    counts.sort();
    counts
}

pub async fn post_counts_and_accounts_at_risk(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let (s, ws) = (store.as_ref(), owner.workspace);
    let active = account(s, &owner, Platform::X, "active").await;
    let expired = account(s, &owner, Platform::Facebook, "expired").await;
    let broken = account(s, &owner, Platform::Linkedin, "broken").await;
    let foreign = account(s, &other, Platform::X, "foreign").await;
    use AccountStatus::{Failed, Inactive};
    for (workspace, account, status, reason) in [
        (ws, &expired, Inactive, StatusReason::TokenExpired),
        (ws, &broken, Failed, StatusReason::MissingPermissions),
        (
            other.workspace,
            &foreign,
            Inactive,
            StatusReason::TokenRevoked,
        ),
    ] {
        let change = status_change(status, Some(reason), now());
        let changed = change_status(s, workspace, account.id, &change).await;
        changed.expect("account exists");
    }

    let t0 = now();
    let day = minutes(24 * 60);
    let week = [
        (active.id, Platform::X, t0 + minutes(60)),
        (expired.id, Platform::Facebook, t0 + minutes(60)),
        (broken.id, Platform::Linkedin, t0 + day * 3),
    ];
    schedule(s, ws, "This week", &week, t0).await;
    let now_post = [(active.id, Platform::X, t0 - minutes(1))];
    let now_post = schedule(s, ws, "Now", &now_post, t0).await;
    let soon = [(expired.id, Platform::Facebook, t0 + minutes(120))];
    let soon = schedule(s, ws, "Soon", &soon, t0).await;
    let elsewhere = [(foreign.id, Platform::X, t0 + minutes(60))];
    schedule(s, other.workspace, "Elsewhere", &elsewhere, t0).await;
    assert_eq!(claim(s, "A", t0, t0 + minutes(5)).await.len(), 1);
    assert!(finish(s, now_post.targets[0].id, "A", &published("p-1"), t0).await);

    let counts = |since| {
        let store = store.clone();
        async move { sorted(store.post_counts(ws, since).await.unwrap()) }
    };
    let expected = vec![(active.id, 1, 1), (expired.id, 2, 0), (broken.id, 1, 0)];
    assert_eq!(counts(t0 - minutes(60)).await, sorted(expected));
    let expected = vec![(active.id, 1, 0), (expired.id, 2, 0), (broken.id, 1, 0)];
    assert_eq!(
        counts(t0 + minutes(1)).await,
        sorted(expected),
        "published before `since` is not counted"
    );
    assert_eq!(
        store.post_counts(other.workspace, t0).await.unwrap(),
        vec![(foreign.id, 1, 0)]
    );

    let at_risk = |before| {
        let store = store.clone();
        async move {
            let found = store.accounts_with_posts_at_risk(before, 10).await.unwrap();
            sorted(
                found
                    .into_iter()
                    .map(|(a, n)| (a.id, a.status, n))
                    .collect(),
            )
        }
    };
    let expected = vec![(expired.id, Inactive, 2), (foreign.id, Inactive, 1)];
    assert_eq!(
        at_risk(t0 + day).await,
        sorted(expected),
        "active accounts are not at risk"
    );
    let expected = vec![
        (expired.id, Inactive, 2),
        (broken.id, Failed, 1),
        (foreign.id, Inactive, 1),
    ];
    assert_eq!(at_risk(t0 + day * 4).await, sorted(expected));
    assert_eq!(
        store
            .accounts_with_posts_at_risk(t0 + day * 4, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(store.cancel_post(ws, soon.id, t0).await.unwrap(), 1);
    let expected = vec![(expired.id, Inactive, 1), (foreign.id, Inactive, 1)];
    assert_eq!(
        at_risk(t0 + day).await,
        sorted(expected),
        "cancelled targets are not at risk"
    );
}

pub async fn concurrent_claimers_publish_each_target_exactly_once(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let mut expected = HashSet::new();
    for p in 0..15 {
        let targets: Vec<_> = (0..10)
            .map(|i| {
                let due = t0 - chrono::Duration::milliseconds(p * 10 + i);
                (AccountId::new(), Platform::X, due)
            })
            .collect();
        let record = schedule(s, owner.workspace, &format!("Post {p}"), &targets, t0).await;
        expected.extend(record.targets.iter().map(|t| (t.id, record.id)));
    }
    assert_eq!(expected.len(), 150);

    let all = drain(&store, 4, 6, move |store, owner, limit| async move {
        store
            .claim_due_targets(Claim::new(&owner, t0, t0 + minutes(10), limit))
            .await
            .unwrap()
    })
    .await;
    let all: Vec<(uuid::Uuid, uuid::Uuid, String)> = all
        .into_iter()
        .map(|(owner, (target, with_post))| {
            assert_eq!(target.state, TargetState::Publishing);
            assert_eq!(target.attempts, 0, "claimed, not sent: {target:?}");
            assert_eq!(target.post_id, with_post.id);
            (target.id, with_post.id, owner)
        })
        .collect();
    let unique: HashSet<(uuid::Uuid, uuid::Uuid)> = all.iter().map(|(t, p, _)| (*t, *p)).collect();
    assert_eq!(all.len(), unique.len(), "no target claimed twice");
    assert_eq!(unique, expected, "every target claimed");
    assert!(store
        .claim_due_targets(Claim::new("late", t0, t0 + minutes(10), 1000))
        .await
        .unwrap()
        .is_empty());

    // Each is now its claimer's to settle, and no one else's.
    let (target, _, claimer) = all[0].clone();
    assert!(!finish(s, target, "late", &published("p"), t0).await);
    assert!(finish(s, target, &claimer, &published("p"), t0).await);
}

pub async fn one_worker_at_a_time_publishes_to_an_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let accounts: Vec<AccountId> = (0..6).map(|_| AccountId::new()).collect();
    for p in 0..8 {
        let due = t0 - chrono::Duration::milliseconds(p);
        let targets: Vec<_> = accounts.iter().map(|a| (*a, Platform::X, due)).collect();
        schedule(s, owner.workspace, &format!("Post {p}"), &targets, t0).await;
    }
    let mut published_ids = HashSet::new();
    for round in 0.. {
        assert!(round < 100, "publishing never finished");
        let claimed = concurrently(3, |worker| {
            let store = store.clone();
            async move {
                let owner = format!("publisher-{worker}");
                let batch = store
                    .claim_due_targets(Claim::new(&owner, t0, t0 + minutes(10), 4))
                    .await
                    .unwrap();
                (owner, batch)
            }
        })
        .await;
        if claimed.iter().all(|(_, batch)| batch.is_empty()) {
            break;
        }
        // No account has targets in the hands of two workers at once.
        let mut holder = std::collections::HashMap::new();
        for (owner, batch) in &claimed {
            for (target, _) in batch {
                let first = holder.entry(target.account_id).or_insert(owner.clone());
                assert_eq!(first, owner, "two workers publish to one account");
            }
        }
        for (owner, batch) in claimed {
            for (target, _) in batch {
                assert!(published_ids.insert(target.id), "claimed twice");
                let outcome = published(&target.id.to_string());
                assert!(finish(s, target.id, &owner, &outcome, t0).await);
            }
        }
    }
    assert_eq!(published_ids.len(), 48, "every target published once");
}

/// Drafts (no targets until scheduled, once), posting queues (per account of the workspace), versions
/// read back, and the calendar's read by each target's own time.
pub async fn drafts_queues_versions_and_the_calendar_read(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let x = account(store.as_ref(), &owner, Platform::X, "Drafted").await;
    let mut draft = post(owner.workspace, Some(owner.user), "Later", &[], now());
    draft.draft_accounts = Some(vec![x.id]);
    draft.media = vec![iquivity_store::MediaRecord {
        url: "https://cdn.example.com/spring.jpg".into(),
        kind: "image".into(),
    }];
    draft.variants = vec![iquivity_store::PostVariant {
        platform: Some(Platform::X),
        account: None,
        text: "Later, on X".into(),
        link: Some("https://example.com/x".into()),
        media: Some(Vec::new()),
    }];
    store.create_post(&draft).await.unwrap();
    let stored = store
        .post(owner.workspace, draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.draft_accounts, Some(vec![x.id]));
    assert_eq!(stored.variants, draft.variants);
    assert_eq!(
        stored.link_for(x.id, Platform::X),
        Some("https://example.com/x")
    );
    assert!(
        stored.media_for(x.id, Platform::X).is_empty(),
        "a version without media keeps none"
    );
    assert_eq!(
        stored.media_for(AccountId::new(), Platform::Facebook),
        draft.media
    );

    draft.text = "Sooner".into();
    assert!(store.update_draft(&draft).await.unwrap());
    let due = now() + minutes(90);
    let scheduled = PostRecord {
        draft_accounts: None,
        targets: vec![TargetRecord::scheduled(draft.id, x.id, Platform::X, due)],
        ..draft.clone()
    };
    assert!(store.publish_draft(&scheduled).await.unwrap());
    assert!(
        !store.publish_draft(&scheduled).await.unwrap(),
        "scheduled once"
    );
    assert!(
        !store.update_draft(&draft).await.unwrap(),
        "no longer a draft"
    );
    assert!(!store.delete_draft(owner.workspace, draft.id).await.unwrap());
    let live = store
        .post(owner.workspace, draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            live.text.as_str(),
            live.draft_accounts.clone(),
            live.targets.len()
        ),
        ("Sooner", None, 1)
    );

    // The calendar reads each target at its own time, within the range only.
    let shown = store
        .targets_between(owner.workspace, due - minutes(1), due + minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(
        (shown[0].post_id, shown[0].text.as_str()),
        (draft.id, "Sooner")
    );
    assert!(store
        .targets_between(owner.workspace, due + minutes(1), due + minutes(60), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store
        .targets_between(other.workspace, due - minutes(1), due + minutes(1), 10)
        .await
        .unwrap()
        .is_empty());

    // Posting times: set, replaced, read back; never on another workspace's account.
    let mut queue = iquivity_store::QueueRecord {
        owner: QueueOwner::Account(x.id),
        workspace_id: owner.workspace,
        time_zone: "Europe/Berlin".into(),
        slots: vec![iquivity_store::QueueSlot {
            days: vec!["mon".into()],
            time: "09:00".into(),
        }],
        updated_at: now(),
    };
    assert!(store.set_queue(&queue).await.unwrap());
    queue.time_zone = "America/New_York".into();
    assert!(store.set_queue(&queue).await.unwrap());
    assert_eq!(
        store
            .queue(owner.workspace, QueueOwner::Account(x.id))
            .await
            .unwrap(),
        Some(queue.clone())
    );
    let foreign = iquivity_store::QueueRecord {
        workspace_id: other.workspace,
        ..queue
    };
    assert!(!store.set_queue(&foreign).await.unwrap());
    assert!(store
        .queue(other.workspace, QueueOwner::Account(x.id))
        .await
        .unwrap()
        .is_none());

    // A client's posting times are kept apart from its accounts'; never on another workspace's client.
    let client = crate::clients::client(owner.workspace, "Harbor");
    store.create_client(&client).await.unwrap();
    assert!(store
        .queue(owner.workspace, QueueOwner::Client(client.id))
        .await
        .unwrap()
        .is_none());
    let of_client = iquivity_store::QueueRecord {
        owner: QueueOwner::Client(client.id),
        time_zone: "Asia/Tokyo".into(),
        ..foreign.clone()
    };
    assert!(
        !store.set_queue(&of_client).await.unwrap(),
        "another workspace"
    );
    let of_client = iquivity_store::QueueRecord {
        workspace_id: owner.workspace,
        ..of_client
    };
    assert!(store.set_queue(&of_client).await.unwrap());
    assert_eq!(
        store
            .queue(owner.workspace, QueueOwner::Client(client.id))
            .await
            .unwrap(),
        Some(of_client)
    );
    assert_eq!(
        store
            .queue(owner.workspace, QueueOwner::Account(x.id))
            .await
            .unwrap()
            .map(|q| q.time_zone),
        Some("America/New_York".to_string())
    );
}
