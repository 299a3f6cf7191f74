//! Posts and their targets: claiming for publishing, settling, retrying, cancelling, rewriting.

use crate::harness::*;
use iquivity_domain::{AccountId, AccountStatus, Plan, Platform, StatusReason, WorkspaceId};
use iquivity_store::{
    AuditKind, PostRewrite, StatusChange, Store, StoreError, TargetOutcome, TargetState,
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

async fn set_status(
    store: &dyn Store,
    workspace: WorkspaceId,
    account: AccountId,
    status: AccountStatus,
    reason: StatusReason,
) {
    let at = now();
    store
        .set_account_status(
            workspace,
            account,
            &StatusChange {
                status,
                reason: Some(reason),
                message: None,
                at,
            },
            &event(workspace, Some(account), AuditKind::StatusChanged, at),
        )
        .await
        .unwrap()
        .expect("account exists");
}

pub async fn due_targets_are_claimed_once_and_finished_by_their_owner(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let one = account(s, &owner, Platform::X, "one").await;
    let two = account(s, &owner, Platform::Facebook, "two").await;
    let t0 = now();
    let mut hello = post(
        owner.workspace,
        Some(owner.user),
        "Hello",
        &[
            (one.id, Platform::X, t0 - minutes(1)),
            (two.id, Platform::Facebook, t0 - minutes(1)),
        ],
        t0 - minutes(10),
    );
    hello.link = Some("https://example.test/article".to_string());
    hello.privacy_level = Some("PUBLIC_TO_EVERYONE".to_string());
    let later = post(
        owner.workspace,
        None,
        "Later",
        &[(one.id, Platform::X, t0 + minutes(60))],
        t0 - minutes(5),
    );
    store.create_post(&hello).await.unwrap();
    store.create_post(&later).await.unwrap();

    let stored = store
        .post(owner.workspace, hello.id)
        .await
        .unwrap()
        .expect("post");
    assert_eq!(stored.text, "Hello");
    assert_eq!(stored.author_id, Some(owner.user));
    assert_eq!(stored.link, hello.link);
    assert_eq!(stored.media, hello.media);
    assert_eq!(stored.privacy_level, hello.privacy_level);
    assert_eq!(stored.publish_at, t0 - minutes(1));
    assert_eq!(stored.created_at, t0 - minutes(10));
    assert_eq!(
        stored.targets.iter().map(|t| t.id).collect::<HashSet<_>>(),
        hello.targets.iter().map(|t| t.id).collect::<HashSet<_>>()
    );
    for target in &stored.targets {
        assert_eq!(target.post_id, hello.id);
        assert_eq!(target.state, TargetState::Scheduled);
        assert_eq!(target.attempts, 0);
        assert_eq!(target.run_at, t0 - minutes(1));
    }
    assert!(store
        .post(WorkspaceId::new(), hello.id)
        .await
        .unwrap()
        .is_none());
    let listed = store.posts(owner.workspace, 10).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|p| (p.id, p.targets.len()))
            .collect::<Vec<_>>(),
        vec![(later.id, 1), (hello.id, 2)],
        "newest first, with their targets"
    );
    assert_eq!(store.posts(owner.workspace, 1).await.unwrap().len(), 1);

    // A takes both due targets; nobody takes them again.
    let claimed = store
        .claim_due_targets("A", t0, t0 + minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|(t, _)| t.id).collect::<HashSet<_>>(),
        hello.targets.iter().map(|t| t.id).collect::<HashSet<_>>()
    );
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
        assert!(!store
            .start_sending_target(target.id, "B", t0)
            .await
            .unwrap());
        assert!(store
            .start_sending_target(target.id, "A", t0)
            .await
            .unwrap());
        assert!(
            !store
                .start_sending_target(target.id, "A", t0)
                .await
                .unwrap(),
            "sent once"
        );
        let stored = stored_target(s, owner.workspace, hello.id, target.id).await;
        assert_eq!(stored.sending_at, Some(t0));
        assert_eq!(stored.attempts, 1);
    }
    assert!(store
        .claim_due_targets("B", t0, t0 + minutes(5), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(
        store
            .claim_due_targets("B", t0 + minutes(30), t0 + minutes(35), 10)
            .await
            .unwrap()
            .is_empty(),
        "a target being published is not due again, even after its lease"
    );

    let on_one = hello.targets[0].id;
    let on_two = hello.targets[1].id;
    let t1 = t0 + minutes(1);
    assert!(!store
        .finish_target(on_one, "B", &published("p-1"), t1)
        .await
        .unwrap());
    assert!(store
        .finish_target(on_one, "A", &published("p-1"), t1)
        .await
        .unwrap());
    let target = stored_target(s, owner.workspace, hello.id, on_one).await;
    assert_eq!(target.state, TargetState::Published);
    assert_eq!(target.platform_post_id.as_deref(), Some("p-1"));
    assert_eq!(
        target.url.as_deref(),
        Some("https://social.example.test/p/p-1")
    );
    assert_eq!(target.published_at, Some(t1));
    assert_eq!(target.error_class, None);
    assert!(
        !store
            .finish_target(on_one, "A", &published("p-1"), t1)
            .await
            .unwrap(),
        "settled once"
    );

    assert!(store
        .finish_target(on_two, "A", &failed("rejected"), t1)
        .await
        .unwrap());
    let target = stored_target(s, owner.workspace, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Failed);
    assert_eq!(target.error_class.as_deref(), Some("rejected"));
    assert_eq!(
        target.error_message.as_deref(),
        Some("rejected by the platform")
    );
    assert_eq!(target.published_at, None);

    // Only a failed target can be retried, in its own workspace.
    let t2 = t0 + minutes(2);
    assert!(!store
        .retry_target(owner.workspace, hello.id, on_one, t2)
        .await
        .unwrap());
    assert!(!store
        .retry_target(WorkspaceId::new(), hello.id, on_two, t2)
        .await
        .unwrap());
    assert!(!store
        .retry_target(owner.workspace, later.id, on_two, t2)
        .await
        .unwrap());
    assert!(store
        .retry_target(owner.workspace, hello.id, on_two, t2)
        .await
        .unwrap());
    let target = stored_target(s, owner.workspace, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Scheduled);
    assert_eq!(target.run_at, t2);
    assert_eq!(target.error_class, None);
    assert_eq!(target.error_message, None);
    assert!(!store
        .retry_target(owner.workspace, hello.id, on_two, t2)
        .await
        .unwrap());

    // Claimed again; this time the platform asks to come back later.
    let claimed = store
        .claim_due_targets("C", t2, t2 + minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, on_two);
    assert_eq!(claimed[0].0.attempts, 1);
    assert_eq!(claimed[0].0.sending_at, None, "settling cleared it");
    assert!(store.start_sending_target(on_two, "C", t2).await.unwrap());
    let retry = TargetOutcome::Retry {
        at: t0 + minutes(10),
        message: "rate limited".to_string(),
    };
    assert!(store.finish_target(on_two, "C", &retry, t2).await.unwrap());
    let target = stored_target(s, owner.workspace, hello.id, on_two).await;
    assert_eq!(target.state, TargetState::Scheduled);
    assert_eq!(target.run_at, t0 + minutes(10));
    assert_eq!(target.error_message.as_deref(), Some("rate limited"));
    assert!(store
        .claim_due_targets("C", t0 + minutes(9), t0 + minutes(12), 10)
        .await
        .unwrap()
        .is_empty());
    let claimed = store
        .claim_due_targets("C", t0 + minutes(10), t0 + minutes(12), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.attempts, 2);
    assert_eq!(claimed[0].0.sending_at, None);

    // What was published counts towards the account's rate limits.
    assert_eq!(store.published_since(one.id, t0).await.unwrap(), 1);
    assert_eq!(store.published_since(one.id, t1).await.unwrap(), 1);
    assert_eq!(store.published_since(one.id, t2).await.unwrap(), 0);
    assert_eq!(store.published_since(two.id, t0).await.unwrap(), 0);

    store.mark_account_used(one.id, t1).await.unwrap();
    assert_eq!(
        store
            .account(owner.workspace, one.id)
            .await
            .unwrap()
            .unwrap()
            .last_used_at,
        Some(t1)
    );
}

pub async fn abandoned_targets_are_settled_only_after_their_lease_ran_out(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let stuck = post(
        owner.workspace,
        None,
        "Stuck",
        &[
            (AccountId::new(), Platform::X, t0 - minutes(1)),
            (AccountId::new(), Platform::Linkedin, t0 - minutes(1)),
        ],
        t0 - minutes(2),
    );
    store.create_post(&stuck).await.unwrap();
    let (first, second) = (stuck.targets[0].id, stuck.targets[1].id);
    assert_eq!(
        store
            .claim_due_targets("A", t0, t0 + minutes(5), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    // Both requests go out; then the worker is heard from no more.
    for id in [first, second] {
        assert!(store
            .start_sending_target(id, "A", t0 + minutes(1))
            .await
            .unwrap());
    }

    let unknown = failed("unknown_outcome");
    assert!(store
        .abandoned_targets(t0 + minutes(4), 10)
        .await
        .unwrap()
        .is_empty());
    assert!(
        !store
            .settle_abandoned_target(first, &unknown, t0 + minutes(4))
            .await
            .unwrap(),
        "its lease still runs"
    );
    assert_eq!(
        store
            .abandoned_targets(t0 + minutes(5), 10)
            .await
            .unwrap()
            .iter()
            .map(|(t, p)| (t.id, t.state.as_str(), p.id))
            .collect::<HashSet<_>>(),
        HashSet::from([
            (first, "publishing", stuck.id),
            (second, "publishing", stuck.id),
        ]),
        "abandoned targets come with their post"
    );
    assert!(store
        .settle_abandoned_target(first, &unknown, t0 + minutes(5))
        .await
        .unwrap());
    let target = stored_target(s, owner.workspace, stuck.id, first).await;
    assert_eq!(target.state, TargetState::Failed);
    assert_eq!(target.error_class.as_deref(), Some("unknown_outcome"));
    assert!(!store
        .settle_abandoned_target(first, &unknown, t0 + minutes(6))
        .await
        .unwrap());
    assert!(
        !store
            .finish_target(first, "A", &published("late"), t0 + minutes(6))
            .await
            .unwrap(),
        "settled already"
    );

    // The holder may still report its own attempt after the lease, until someone settles it.
    assert!(store
        .finish_target(second, "A", &published("p-2"), t0 + minutes(6))
        .await
        .unwrap());
    assert!(!store
        .settle_abandoned_target(second, &unknown, t0 + minutes(7))
        .await
        .unwrap());
    assert_eq!(
        stored_target(s, owner.workspace, stuck.id, second)
            .await
            .state,
        TargetState::Published
    );
    assert!(store
        .abandoned_targets(t0 + minutes(60), 10)
        .await
        .unwrap()
        .is_empty());

    // An abandoned target can be put back on the schedule.
    let again = post(
        owner.workspace,
        None,
        "Again",
        &[(AccountId::new(), Platform::X, t0 + minutes(10))],
        t0,
    );
    store.create_post(&again).await.unwrap();
    let target = again.targets[0].id;
    assert_eq!(
        store
            .claim_due_targets("B", t0 + minutes(10), t0 + minutes(11), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store
        .start_sending_target(target, "B", t0 + minutes(10))
        .await
        .unwrap());
    let retry = TargetOutcome::Retry {
        at: t0 + minutes(20),
        message: "outcome unknown; checked and not published".to_string(),
    };
    assert!(store
        .settle_abandoned_target(target, &retry, t0 + minutes(11))
        .await
        .unwrap());
    let claimed = store
        .claim_due_targets("C", t0 + minutes(20), t0 + minutes(21), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].0.id, target);
    assert_eq!(claimed[0].0.attempts, 1, "sent once so far");
}

pub async fn unsent_targets_go_back_on_the_schedule_when_their_lease_ends(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let due = t0 - minutes(1);
    let held = post(
        owner.workspace,
        None,
        "Held",
        &[
            (AccountId::new(), Platform::Linkedin, due),
            (AccountId::new(), Platform::Linkedin, due),
            (AccountId::new(), Platform::Linkedin, due),
        ],
        t0 - minutes(2),
    );
    store.create_post(&held).await.unwrap();
    let [sent, waiting, late] = [0, 1, 2].map(|i| held.targets[i].id);
    assert_eq!(
        store
            .claim_due_targets("A", t0, t0 + minutes(5), 10)
            .await
            .unwrap()
            .len(),
        3
    );
    // One request goes out; one target is still waiting for a slot when the lease runs out, and can no
    // longer be sent; the last never got a slot.
    assert!(store
        .start_sending_target(sent, "A", t0 + minutes(1))
        .await
        .unwrap());
    assert!(
        !store
            .start_sending_target(waiting, "A", t0 + minutes(5))
            .await
            .unwrap(),
        "not sent once its lease ran out"
    );

    assert_eq!(
        store.release_unsent_targets(t0 + minutes(4)).await.unwrap(),
        0
    );
    assert_eq!(
        store.release_unsent_targets(t0 + minutes(5)).await.unwrap(),
        2
    );
    for id in [waiting, late] {
        let target = stored_target(s, owner.workspace, held.id, id).await;
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
    assert_eq!(
        stored_target(s, owner.workspace, held.id, sent).await.state,
        TargetState::Publishing
    );
    assert!(!store
        .start_sending_target(waiting, "A", t0 + minutes(5))
        .await
        .unwrap());
    assert!(
        !store
            .finish_target(waiting, "A", &published("late"), t0 + minutes(5))
            .await
            .unwrap(),
        "the old holder has nothing left to settle"
    );

    // Another worker takes them and publishes each once.
    let claimed = store
        .claim_due_targets("B", t0 + minutes(5), t0 + minutes(10), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|(t, _)| t.id).collect::<HashSet<_>>(),
        HashSet::from([waiting, late])
    );
    for id in [waiting, late] {
        assert!(store
            .start_sending_target(id, "B", t0 + minutes(6))
            .await
            .unwrap());
        assert!(store
            .finish_target(id, "B", &published(&id.to_string()), t0 + minutes(6))
            .await
            .unwrap());
        let target = stored_target(s, owner.workspace, held.id, id).await;
        assert_eq!(target.state, TargetState::Published);
        assert_eq!(target.attempts, 1);
        assert_eq!(target.sending_at, None, "cleared when settled");
    }
    assert_eq!(
        store
            .release_unsent_targets(t0 + minutes(60))
            .await
            .unwrap(),
        0
    );
}

pub async fn a_post_has_one_target_per_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let (a, b, c) = (AccountId::new(), AccountId::new(), AccountId::new());
    let t0 = now();
    let later = t0 + minutes(60);

    // Inserting a second target for one account fails, and nothing of the post is stored.
    let twice = post(
        owner.workspace,
        None,
        "Twice",
        &[
            (a, Platform::X, later),
            (b, Platform::X, later),
            (a, Platform::X, later),
        ],
        t0,
    );
    assert!(matches!(
        store.create_post(&twice).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(store
        .post(owner.workspace, twice.id)
        .await
        .unwrap()
        .is_none());
    assert!(store.posts(owner.workspace, 10).await.unwrap().is_empty());

    // A rewrite can change the accounts: kept ones keep their target, others are removed or added.
    let draft = post(
        owner.workspace,
        None,
        "Draft",
        &[(a, Platform::X, later), (b, Platform::Facebook, later)],
        t0,
    );
    store.create_post(&draft).await.unwrap();
    let on_b = draft.targets[1].id;
    let replacement = post(
        owner.workspace,
        None,
        "ignored",
        &[(b, Platform::Facebook, t0), (c, Platform::Linkedin, t0)],
        t0,
    )
    .targets;
    assert!(store
        .update_scheduled_post(
            owner.workspace,
            draft.id,
            &PostRewrite {
                text: "Edited",
                link: None,
                publish_at: later + minutes(5),
                targets: Some(&replacement),
            },
            t0,
        )
        .await
        .unwrap());
    let stored = store
        .post(owner.workspace, draft.id)
        .await
        .unwrap()
        .unwrap();
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
    let doubled = post(
        owner.workspace,
        None,
        "ignored",
        &[(a, Platform::X, t0), (a, Platform::X, t0)],
        t0,
    )
    .targets;
    assert!(matches!(
        store
            .update_scheduled_post(
                owner.workspace,
                draft.id,
                &PostRewrite {
                    text: "Doubled",
                    link: None,
                    publish_at: later,
                    targets: Some(&doubled),
                },
                t0,
            )
            .await,
        Err(StoreError::Duplicate(_))
    ));
    let stored = store
        .post(owner.workspace, draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, "Edited");
    assert_eq!(stored.targets.len(), 2);
}

pub async fn cancelling_touches_only_scheduled_targets(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let one = account(s, &owner, Platform::X, "one").await;
    let two = account(s, &owner, Platform::Facebook, "two").await;
    let three = account(s, &owner, Platform::Linkedin, "three").await;
    let t0 = now();
    let mixed = post(
        owner.workspace,
        None,
        "Mixed",
        &[
            (one.id, Platform::X, t0 - minutes(2)),
            (two.id, Platform::Facebook, t0 + minutes(60)),
            (three.id, Platform::Linkedin, t0 - minutes(1)),
        ],
        t0 - minutes(5),
    );
    store.create_post(&mixed).await.unwrap();
    let [on_one, on_two, on_three] = [0, 1, 2].map(|i| mixed.targets[i].id);
    let claimed = store
        .claim_due_targets("A", t0, t0 + minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed.iter().map(|(t, _)| t.id).collect::<HashSet<_>>(),
        HashSet::from([on_one, on_three])
    );
    assert!(store
        .finish_target(on_one, "A", &published("p-1"), t0)
        .await
        .unwrap());
    assert!(store
        .finish_target(on_three, "A", &failed("rejected"), t0)
        .await
        .unwrap());

    assert_eq!(
        store
            .cancel_post(WorkspaceId::new(), mixed.id, t0)
            .await
            .unwrap(),
        0,
        "not from another workspace"
    );
    assert_eq!(
        store
            .cancel_post(owner.workspace, mixed.id, t0)
            .await
            .unwrap(),
        1
    );
    let states: Vec<(uuid::Uuid, TargetState)> = store
        .post(owner.workspace, mixed.id)
        .await
        .unwrap()
        .unwrap()
        .targets
        .into_iter()
        .map(|t| (t.id, t.state))
        .collect();
    let state_of = |id| states.iter().find(|(t, _)| *t == id).unwrap().1;
    assert_eq!(state_of(on_one), TargetState::Published);
    assert_eq!(state_of(on_two), TargetState::Cancelled);
    assert_eq!(state_of(on_three), TargetState::Failed);
    assert_eq!(
        store
            .cancel_post(owner.workspace, mixed.id, t0)
            .await
            .unwrap(),
        0
    );
    assert!(!store
        .retry_target(owner.workspace, mixed.id, on_two, t0)
        .await
        .unwrap());

    // Removing an account cancels what is scheduled on it, not what is under way or on other accounts.
    let later = post(
        owner.workspace,
        None,
        "Later",
        &[
            (one.id, Platform::X, t0 + minutes(120)),
            (two.id, Platform::Facebook, t0 + minutes(180)),
        ],
        t0,
    );
    let sooner = post(
        owner.workspace,
        None,
        "Sooner",
        &[(one.id, Platform::X, t0 + minutes(60))],
        t0,
    );
    let running = post(
        owner.workspace,
        None,
        "Running",
        &[(one.id, Platform::X, t0 - minutes(1))],
        t0,
    );
    for p in [&later, &sooner, &running] {
        store.create_post(p).await.unwrap();
    }
    assert_eq!(
        store
            .claim_due_targets("B", t0, t0 + minutes(5), 10)
            .await
            .unwrap()
            .iter()
            .map(|(t, _)| t.id)
            .collect::<Vec<_>>(),
        vec![running.targets[0].id]
    );

    let scheduled = store
        .scheduled_for_account(owner.workspace, one.id)
        .await
        .unwrap();
    assert_eq!(
        scheduled
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

    assert_eq!(
        store.cancel_targets_for_account(one.id, t0).await.unwrap(),
        2
    );
    assert!(store
        .scheduled_for_account(owner.workspace, one.id)
        .await
        .unwrap()
        .is_empty());
    let cancelled = stored_target(s, owner.workspace, later.id, later.targets[0].id).await;
    assert_eq!(cancelled.state, TargetState::Cancelled);
    assert!(
        cancelled.error_message.is_some(),
        "says why it was cancelled"
    );
    assert_eq!(
        stored_target(s, owner.workspace, later.id, later.targets[1].id)
            .await
            .state,
        TargetState::Scheduled
    );
    assert_eq!(
        stored_target(s, owner.workspace, running.id, running.targets[0].id)
            .await
            .state,
        TargetState::Publishing
    );
    assert_eq!(
        stored_target(s, owner.workspace, mixed.id, on_one)
            .await
            .state,
        TargetState::Published
    );
    assert_eq!(
        store.cancel_targets_for_account(one.id, t0).await.unwrap(),
        0
    );
    assert_eq!(
        store
            .scheduled_for_account(owner.workspace, two.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn scheduled_posts_can_be_rewritten_until_publishing_starts(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let (a, b) = (AccountId::new(), AccountId::new());
    let t0 = now();
    let draft = post(
        owner.workspace,
        None,
        "Draft",
        &[
            (a, Platform::X, t0 + minutes(60)),
            (b, Platform::Facebook, t0 + minutes(60)),
        ],
        t0,
    );
    store.create_post(&draft).await.unwrap();
    assert!(store
        .update_scheduled_post(
            owner.workspace,
            draft.id,
            &PostRewrite {
                text: "Edited",
                link: Some("https://example.test/edited"),
                publish_at: t0 + minutes(120),
                targets: None
            },
            t0,
        )
        .await
        .unwrap());
    let stored = store
        .post(owner.workspace, draft.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, "Edited");
    assert_eq!(stored.link.as_deref(), Some("https://example.test/edited"));
    assert_eq!(stored.publish_at, t0 + minutes(120));
    assert!(stored.targets.iter().all(|t| t.run_at == t0 + minutes(120)));
    assert!(!store
        .update_scheduled_post(
            WorkspaceId::new(),
            draft.id,
            &PostRewrite {
                text: "Hijacked",
                link: None,
                publish_at: t0,
                targets: None
            },
            t0,
        )
        .await
        .unwrap());
    assert!(!store
        .update_scheduled_post(
            owner.workspace,
            uuid::Uuid::now_v7(),
            &PostRewrite {
                text: "Nothing",
                link: None,
                publish_at: t0,
                targets: None
            },
            t0,
        )
        .await
        .unwrap());
    assert_eq!(
        store
            .post(owner.workspace, draft.id)
            .await
            .unwrap()
            .unwrap()
            .text,
        "Edited"
    );

    // Once a target is being published, or has been, the post is what it is.
    let going = post(
        owner.workspace,
        None,
        "Going out",
        &[
            (a, Platform::X, t0 - minutes(1)),
            (b, Platform::Facebook, t0 - minutes(1)),
        ],
        t0,
    );
    store.create_post(&going).await.unwrap();
    assert_eq!(
        store
            .claim_due_targets("A", t0, t0 + minutes(5), 10)
            .await
            .unwrap()
            .len(),
        2
    );
    let rewrite = |text: &'static str| {
        let store = store.clone();
        let (workspace, id) = (owner.workspace, going.id);
        async move {
            store
                .update_scheduled_post(
                    workspace,
                    id,
                    &PostRewrite {
                        text,
                        link: None,
                        publish_at: t0 + minutes(30),
                        targets: None,
                    },
                    t0,
                )
                .await
                .unwrap()
        }
    };
    assert!(!rewrite("While publishing").await);
    assert!(store
        .finish_target(going.targets[0].id, "A", &failed("rejected"), t0)
        .await
        .unwrap());
    assert!(!rewrite("One still publishing").await);
    assert!(store
        .finish_target(going.targets[1].id, "A", &published("p-1"), t0)
        .await
        .unwrap());
    assert!(!rewrite("After publishing").await);
    let stored = store
        .post(owner.workspace, going.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, "Going out");
    assert_eq!(stored.publish_at, t0 - minutes(1));

    // A failed target does not count as started: the post can be fixed, and only its scheduled targets move.
    let partly = post(
        owner.workspace,
        None,
        "Partly",
        &[
            (a, Platform::X, t0 - minutes(1)),
            (b, Platform::Facebook, t0 + minutes(60)),
        ],
        t0,
    );
    store.create_post(&partly).await.unwrap();
    let claimed = store
        .claim_due_targets("B", t0, t0 + minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store
        .finish_target(partly.targets[0].id, "B", &failed("rejected"), t0)
        .await
        .unwrap());
    assert!(store
        .update_scheduled_post(
            owner.workspace,
            partly.id,
            &PostRewrite {
                text: "Fixed",
                link: None,
                publish_at: t0 + minutes(180),
                targets: None
            },
            t0,
        )
        .await
        .unwrap());
    let failed_target = stored_target(s, owner.workspace, partly.id, partly.targets[0].id).await;
    assert_eq!(failed_target.state, TargetState::Failed);
    assert_eq!(failed_target.run_at, t0 - minutes(1));
    let moved = stored_target(s, owner.workspace, partly.id, partly.targets[1].id).await;
    assert_eq!(moved.state, TargetState::Scheduled);
    assert_eq!(moved.run_at, t0 + minutes(180));
    let stored = store
        .post(owner.workspace, partly.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.text, "Fixed");
    assert_eq!(stored.link, None);
}

pub async fn post_counts_and_accounts_at_risk(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let s = store.as_ref();
    let active = account(s, &owner, Platform::X, "active").await;
    let expired = account(s, &owner, Platform::Facebook, "expired").await;
    let broken = account(s, &owner, Platform::Linkedin, "broken").await;
    let foreign = account(s, &other, Platform::X, "foreign").await;
    set_status(
        s,
        owner.workspace,
        expired.id,
        AccountStatus::Inactive,
        StatusReason::TokenExpired,
    )
    .await;
    set_status(
        s,
        owner.workspace,
        broken.id,
        AccountStatus::Failed,
        StatusReason::MissingPermissions,
    )
    .await;
    set_status(
        s,
        other.workspace,
        foreign.id,
        AccountStatus::Inactive,
        StatusReason::TokenRevoked,
    )
    .await;

    let t0 = now();
    let day = minutes(24 * 60);
    let week = post(
        owner.workspace,
        None,
        "This week",
        &[
            (active.id, Platform::X, t0 + minutes(60)),
            (expired.id, Platform::Facebook, t0 + minutes(60)),
            (broken.id, Platform::Linkedin, t0 + day * 3),
        ],
        t0,
    );
    let now_post = post(
        owner.workspace,
        None,
        "Now",
        &[(active.id, Platform::X, t0 - minutes(1))],
        t0,
    );
    let soon = post(
        owner.workspace,
        None,
        "Soon",
        &[(expired.id, Platform::Facebook, t0 + minutes(120))],
        t0,
    );
    let elsewhere = post(
        other.workspace,
        None,
        "Elsewhere",
        &[(foreign.id, Platform::X, t0 + minutes(60))],
        t0,
    );
    for p in [&week, &now_post, &soon, &elsewhere] {
        store.create_post(p).await.unwrap();
    }
    let claimed = store
        .claim_due_targets("A", t0, t0 + minutes(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(store
        .finish_target(now_post.targets[0].id, "A", &published("p-1"), t0)
        .await
        .unwrap());

    let counts = |since| {
        let store = store.clone();
        let workspace = owner.workspace;
        async move {
            let mut counts = store.post_counts(workspace, since).await.unwrap();
            counts.sort();
            counts
        }
    };
    let mut expected = vec![(active.id, 1, 1), (expired.id, 2, 0), (broken.id, 1, 0)];
    expected.sort();
    assert_eq!(counts(t0 - minutes(60)).await, expected);
    let mut expected = vec![(active.id, 1, 0), (expired.id, 2, 0), (broken.id, 1, 0)];
    expected.sort();
    assert_eq!(
        counts(t0 + minutes(1)).await,
        expected,
        "published before `since` is not counted"
    );
    assert_eq!(
        store.post_counts(other.workspace, t0).await.unwrap(),
        vec![(foreign.id, 1, 0)]
    );

    let at_risk = |before| {
        let store = store.clone();
        async move {
            let mut found: Vec<(AccountId, AccountStatus, u32)> = store
                .accounts_with_posts_at_risk(before, 10)
                .await
                .unwrap()
                .into_iter()
                .map(|(a, n)| (a.id, a.status, n))
                .collect();
            found.sort_by_key(|(id, _, _)| *id);
            found
        }
    };
    let mut expected = vec![
        (expired.id, AccountStatus::Inactive, 2),
        (foreign.id, AccountStatus::Inactive, 1),
    ];
    expected.sort_by_key(|(id, _, _)| *id);
    assert_eq!(
        at_risk(t0 + day).await,
        expected,
        "active accounts are not at risk"
    );
    let mut expected = vec![
        (expired.id, AccountStatus::Inactive, 2),
        (broken.id, AccountStatus::Failed, 1),
        (foreign.id, AccountStatus::Inactive, 1),
    ];
    expected.sort_by_key(|(id, _, _)| *id);
    assert_eq!(at_risk(t0 + day * 4).await, expected);
    assert_eq!(
        store
            .accounts_with_posts_at_risk(t0 + day * 4, 1)
            .await
            .unwrap()
            .len(),
        1
    );

    assert_eq!(
        store
            .cancel_post(owner.workspace, soon.id, t0)
            .await
            .unwrap(),
        1
    );
    let mut expected = vec![
        (expired.id, AccountStatus::Inactive, 1),
        (foreign.id, AccountStatus::Inactive, 1),
    ];
    expected.sort_by_key(|(id, _, _)| *id);
    assert_eq!(
        at_risk(t0 + day).await,
        expected,
        "cancelled targets are not at risk"
    );
}

pub async fn concurrent_claimers_publish_each_target_exactly_once(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let mut expected = HashSet::new();
    for p in 0..15 {
        let targets: Vec<(AccountId, Platform, chrono::DateTime<chrono::Utc>)> = (0..10)
            .map(|i| {
                (
                    AccountId::new(),
                    Platform::X,
                    t0 - chrono::Duration::milliseconds(p * 10 + i),
                )
            })
            .collect();
        let record = post(owner.workspace, None, &format!("Post {p}"), &targets, t0);
        expected.extend(record.targets.iter().map(|t| (t.id, record.id)));
        store.create_post(&record).await.unwrap();
    }
    assert_eq!(expected.len(), 150);

    let claimer = store.clone();
    let all = drain(4, 6, move |owner, limit| {
        let store = claimer.clone();
        async move {
            store
                .claim_due_targets(&owner, t0, t0 + minutes(10), limit)
                .await
                .unwrap()
        }
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
        .claim_due_targets("late", t0, t0 + minutes(10), 1000)
        .await
        .unwrap()
        .is_empty());

    // Each is now its claimer's to settle, and no one else's.
    let (target, _, claimer) = all[0].clone();
    assert!(!store
        .finish_target(target, "late", &published("p"), t0)
        .await
        .unwrap());
    assert!(store
        .finish_target(target, &claimer, &published("p"), t0)
        .await
        .unwrap());
}

pub async fn one_worker_at_a_time_publishes_to_an_account(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let accounts: Vec<AccountId> = (0..6).map(|_| AccountId::new()).collect();
    for p in 0..8 {
        let targets: Vec<(AccountId, Platform, chrono::DateTime<chrono::Utc>)> = accounts
            .iter()
            .map(|a| (*a, Platform::X, t0 - chrono::Duration::milliseconds(p)))
            .collect();
        let record = post(owner.workspace, None, &format!("Post {p}"), &targets, t0);
        store.create_post(&record).await.unwrap();
    }
    let mut published_ids = HashSet::new();
    for round in 0.. {
        assert!(round < 100, "publishing never finished");
        let claims = (0..3).map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = format!("publisher-{worker}");
                let batch = store
                    .claim_due_targets(&owner, t0, t0 + minutes(10), 4)
                    .await
                    .unwrap();
                (owner, batch)
            })
        });
        let mut claimed = Vec::new();
        for claim in claims.collect::<Vec<_>>() {
            claimed.push(claim.await.unwrap());
        }
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
                let done = store
                    .finish_target(target.id, &owner, &published(&target.id.to_string()), t0)
                    .await
                    .unwrap();
                assert!(done);
            }
        }
    }
    assert_eq!(published_ids.len(), 48, "every target published once");
}
