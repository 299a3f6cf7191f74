//! Users, workspaces, memberships and sign-in.

use crate::harness::*;
use chrono::{DateTime, Utc};
use iquivity_domain::{Plan, Role, UserId, WorkspaceId};
use iquivity_store::{ApiTokenRecord, InvitationRecord, SessionRecord, Store};
use std::sync::Arc;

/// When the invitation stored under `token_hash` was accepted, if it was.
async fn accepted_at(store: &dyn Store, token_hash: &str) -> Option<DateTime<Utc>> {
    store
        .invitation_by_hash(token_hash)
        .await
        .unwrap()
        .expect("the invitation is stored")
        .accepted_at
}

pub async fn users_and_workspaces_refuse_duplicate_emails(store: Arc<dyn Store>) {
    let t0 = now();
    let user = new_user("owner", t0);
    let workspace = new_workspace("Acme", Plan::Free, t0);
    store
        .create_user_with_workspace(&user, &workspace)
        .await
        .unwrap();

    let found = store
        .user_by_email(&user.email)
        .await
        .unwrap()
        .expect("user found by email");
    assert_eq!(found.id, user.id);
    assert_eq!(found.password_hash, user.password_hash);
    assert_eq!(found.created_at, t0);
    let by_id = store
        .user_by_id(user.id)
        .await
        .unwrap()
        .expect("user found by id");
    assert_eq!(by_id.email, user.email);
    assert!(store
        .user_by_email("nobody@example.test")
        .await
        .unwrap()
        .is_none());
    assert!(store.user_by_id(UserId::new()).await.unwrap().is_none());

    let stored = store
        .workspace(workspace.id)
        .await
        .unwrap()
        .expect("workspace");
    assert_eq!(stored.name, "Acme");
    assert_eq!(stored.plan, Plan::Free);
    assert_eq!(stored.created_at, t0);
    assert_eq!(
        store.membership(workspace.id, user.id).await.unwrap(),
        Some(Role::Owner)
    );

    // The same email again: refused as a duplicate, and the new workspace is not created either.
    let twin = new_user("twin", t0);
    let twin = iquivity_store::NewUser {
        email: user.email.clone(),
        ..twin
    };
    let second = new_workspace("Second", Plan::Free, t0);
    let refused = store.create_user_with_workspace(&twin, &second).await;
    assert_duplicate(refused, "a second user with the same email");
    assert!(store.workspace(second.id).await.unwrap().is_none());
    assert!(store.user_by_id(twin.id).await.unwrap().is_none());
    let refused = store.create_user(&twin).await;
    assert_duplicate(refused, "create_user with a taken email");

    // A user without a workspace, who then creates one.
    let loner = new_user("loner", t0);
    store.create_user(&loner).await.unwrap();
    assert!(store.memberships_of(loner.id).await.unwrap().is_empty());
    let own = new_workspace("Own", Plan::Starter, t0);
    store.create_workspace(&own, loner.id).await.unwrap();
    assert_eq!(
        store.membership(own.id, loner.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(
        store.membership(workspace.id, loner.id).await.unwrap(),
        None
    );

    assert!(store
        .set_plan(workspace.id, Plan::Professional)
        .await
        .unwrap());
    assert_eq!(
        store.workspace(workspace.id).await.unwrap().unwrap().plan,
        Plan::Professional
    );
    assert!(!store
        .set_plan(WorkspaceId::new(), Plan::Starter)
        .await
        .unwrap());
}

pub async fn memberships_and_members_are_oldest_first(store: Arc<dyn Store>) {
    let base = now() - minutes(180);
    let alice = new_user("alice", base);
    let bob = new_user("bob", base);
    let carol = new_user("carol", base);
    for user in [&alice, &bob, &carol] {
        store.create_user(user).await.unwrap();
    }
    // Alice owns A, then B; Bob owns C, created between them; Alice joins C last (add_member stamps the
    // present, later than all of these).
    let a = new_workspace("A", Plan::Free, base);
    let b = new_workspace("B", Plan::Free, base + minutes(60));
    let c = new_workspace("C", Plan::Free, base + minutes(30));
    store.create_workspace(&a, alice.id).await.unwrap();
    store.create_workspace(&b, alice.id).await.unwrap();
    store.create_workspace(&c, bob.id).await.unwrap();
    store.add_member(c.id, alice.id, Role::Admin).await.unwrap();
    store
        .add_member(c.id, carol.id, Role::Member)
        .await
        .unwrap();
    // Adding an existing member again changes nothing.
    store
        .add_member(c.id, alice.id, Role::Member)
        .await
        .unwrap();

    let mine: Vec<(WorkspaceId, String, Role)> = store
        .memberships_of(alice.id)
        .await
        .unwrap()
        .into_iter()
        .map(|(w, role)| (w.id, w.name, role))
        .collect();
    assert_eq!(
        mine,
        vec![
            (a.id, "A".to_string(), Role::Owner),
            (b.id, "B".to_string(), Role::Owner),
            (c.id, "C".to_string(), Role::Admin),
        ]
    );
    assert_eq!(
        store.membership(c.id, alice.id).await.unwrap(),
        Some(Role::Admin)
    );

    // Bob's membership is as old as C; Alice was added before Carol (and her id is older, should the two
    // stamps be equal).
    assert_eq!(
        store.members(c.id).await.unwrap(),
        vec![
            (bob.id, bob.email.clone(), Role::Owner),
            (alice.id, alice.email.clone(), Role::Admin),
            (carol.id, carol.email.clone(), Role::Member),
        ]
    );
    assert!(store
        .memberships_of(UserId::new())
        .await
        .unwrap()
        .is_empty());
    assert!(store.members(WorkspaceId::new()).await.unwrap().is_empty());
}

pub async fn sessions_expire_and_are_deleted(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let other = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let session = SessionRecord {
        id_hash: "session-hash-1".to_string(),
        user_id: owner.user,
        workspace_id: owner.workspace,
        created_at: t0,
        expires_at: t0 + minutes(60),
    };
    store.create_session(&session).await.unwrap();

    let caller_by = |hash: &'static str, at| {
        let store = store.clone();
        async move { store.caller_by_session(hash, at).await.unwrap() }
    };
    let caller = caller_by("session-hash-1", t0)
        .await
        .expect("an unexpired session");
    assert_eq!(caller.user_id, owner.user);
    assert_eq!(caller.email, owner.email);
    assert_eq!(caller.workspace_id, owner.workspace);
    assert_eq!(caller.role, Role::Owner);
    assert!(caller_by("session-hash-1", t0 + minutes(59))
        .await
        .is_some());
    assert!(
        caller_by("session-hash-1", t0 + minutes(60))
            .await
            .is_none(),
        "a session is over at its expiry"
    );
    assert!(caller_by("session-hash-1", t0 + minutes(120))
        .await
        .is_none());
    assert!(caller_by("unknown-hash", t0).await.is_none());

    // A session in a workspace the user does not belong to identifies nobody.
    let elsewhere = SessionRecord {
        id_hash: "session-hash-2".to_string(),
        workspace_id: other.workspace,
        ..session
    };
    store.create_session(&elsewhere).await.unwrap();
    assert!(caller_by("session-hash-2", t0).await.is_none());
    // ... until they join it; the role is read as of now.
    store
        .add_member(other.workspace, owner.user, Role::Member)
        .await
        .unwrap();
    let joined = caller_by("session-hash-2", t0).await.expect("member now");
    assert_eq!(joined.role, Role::Member);
    assert_eq!(joined.workspace_id, other.workspace);

    store.delete_session("session-hash-1").await.unwrap();
    assert!(caller_by("session-hash-1", t0).await.is_none());
    assert!(
        caller_by("session-hash-2", t0).await.is_some(),
        "deleting one session leaves the others"
    );
    store.delete_session("never-existed").await.unwrap();
}

pub async fn api_tokens_identify_their_holder_and_record_use(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let admin = new_user("admin", t0);
    store.create_user(&admin).await.unwrap();
    store
        .add_member(owner.workspace, admin.id, Role::Admin)
        .await
        .unwrap();
    let token = ApiTokenRecord {
        id: uuid::Uuid::now_v7(),
        token_hash: "token-hash-1".to_string(),
        user_id: admin.id,
        workspace_id: owner.workspace,
        name: "CI".to_string(),
        created_at: t0,
        last_used_at: None,
    };
    store.create_api_token(&token).await.unwrap();

    let (caller, usage) = store
        .caller_by_api_token("token-hash-1")
        .await
        .unwrap()
        .expect("token holder");
    assert_eq!(caller.user_id, admin.id);
    assert_eq!(caller.email, admin.email);
    assert_eq!(caller.workspace_id, owner.workspace);
    assert_eq!(caller.role, Role::Admin);
    assert_eq!(usage.id, token.id);
    assert_eq!(usage.last_used_at, None);

    // Each use is recorded, the latest kept.
    for used_at in [t0 + minutes(5), t0 + minutes(9)] {
        store.touch_api_token(token.id, used_at).await.unwrap();
        let holder = store.caller_by_api_token("token-hash-1").await.unwrap();
        assert_eq!(holder.unwrap().1.last_used_at, Some(used_at));
    }

    assert!(store
        .caller_by_api_token("token-hash-2")
        .await
        .unwrap()
        .is_none());
}

pub async fn invitations_are_accepted_once_and_not_after_expiry(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let guest = new_user("guest", t0);
    let late = new_user("late", t0);
    store.create_user(&guest).await.unwrap();
    store.create_user(&late).await.unwrap();

    let invitation = InvitationRecord {
        email: Some(guest.email.clone()),
        ..new_invitation(
            &owner,
            "invitation-hash-1",
            Role::Admin,
            t0,
            t0 + minutes(24 * 60),
        )
    };
    store.create_invitation(&invitation).await.unwrap();
    let stored = store
        .invitation_by_hash("invitation-hash-1")
        .await
        .unwrap()
        .expect("invitation by hash");
    assert_eq!(stored.id, invitation.id);
    assert_eq!(stored.workspace_id, owner.workspace);
    assert_eq!(stored.role, Role::Admin);
    assert_eq!(stored.email, Some(guest.email.clone()));
    assert_eq!(stored.invited_by, owner.user);
    assert_eq!(stored.created_at, t0);
    assert_eq!(stored.expires_at, t0 + minutes(24 * 60));
    assert_eq!(stored.accepted_at, None);
    assert!(store
        .invitation_by_hash("no-such-hash")
        .await
        .unwrap()
        .is_none());

    let accept = |invitation, user, at| {
        let store = store.clone();
        async move { store.accept_invitation(invitation, user, at).await.unwrap() }
    };
    let role_of = |user| {
        let store = store.clone();
        async move { store.membership(owner.workspace, user).await.unwrap() }
    };
    assert!(accept(invitation.id, guest.id, t0 + minutes(60)).await);
    assert_eq!(role_of(guest.id).await, Some(Role::Admin));
    assert!(
        !accept(invitation.id, late.id, t0 + minutes(61)).await,
        "an invitation is accepted once only"
    );
    assert_eq!(role_of(late.id).await, None);
    assert_eq!(
        accepted_at(store.as_ref(), "invitation-hash-1").await,
        Some(t0 + minutes(60))
    );

    let expiring = new_invitation(
        &owner,
        "invitation-hash-2",
        Role::Member,
        t0,
        t0 + minutes(60),
    );
    store.create_invitation(&expiring).await.unwrap();
    assert!(
        !accept(expiring.id, late.id, t0 + minutes(60)).await,
        "not at its expiry"
    );
    assert!(!accept(expiring.id, late.id, t0 + minutes(90)).await);
    assert_eq!(role_of(late.id).await, None);
    assert_eq!(accepted_at(store.as_ref(), "invitation-hash-2").await, None);
    assert!(!accept(uuid::Uuid::now_v7(), late.id, t0).await);
}

pub async fn login_attempts_are_counted_in_a_window_forgotten_and_cleared(store: Arc<dyn Store>) {
    let t0 = now();
    let window = minutes(15);
    let count = |key: &'static str, at: chrono::DateTime<chrono::Utc>| {
        let store = store.clone();
        async move {
            store
                .count_login_attempt(key, at - window, at)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("ip:192.0.2.1", t0).await, 1, "the first attempt");
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(5)).await, 2);
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(10)).await, 3);
    assert_eq!(count("ip:192.0.2.2", t0).await, 1, "keys count apart");
    assert_eq!(
        count("ip:192.0.2.1", t0 + minutes(15)).await,
        4,
        "the window includes its start"
    );
    // The window began at the first attempt; once it has run out the count starts again.
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(16)).await, 1);
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(17)).await, 2);
    assert_eq!(
        count("ip:192.0.2.1", t0 + minutes(31)).await,
        3,
        "the new window began at its first attempt, 16 minutes in"
    );

    store.forget_login_attempt("ip:192.0.2.1").await.unwrap();
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(31)).await, 3);
    for _ in 0..5 {
        store.forget_login_attempt("ip:192.0.2.2").await.unwrap();
    }
    assert_eq!(
        count("ip:192.0.2.2", t0 + minutes(1)).await,
        1,
        "forgetting stops at zero"
    );
    store.forget_login_attempt("never-counted").await.unwrap();

    store.clear_login_attempts("ip:192.0.2.1").await.unwrap();
    assert_eq!(count("ip:192.0.2.1", t0 + minutes(31)).await, 1);
    assert_eq!(
        count("ip:192.0.2.2", t0 + minutes(2)).await,
        2,
        "clearing one key leaves the others"
    );

    // Purging deletes the counts whose window began before the given time, and only those.
    assert_eq!(
        store.purge_login_attempts(t0 + minutes(10)).await.unwrap(),
        1
    );
    assert_eq!(
        count("ip:192.0.2.2", t0 + minutes(3)).await,
        1,
        "the purged count starts again"
    );
    assert_eq!(
        count("ip:192.0.2.1", t0 + minutes(32)).await,
        2,
        "a count in its window is kept"
    );
}

pub async fn concurrent_login_attempts_each_get_their_own_count(store: Arc<dyn Store>) {
    let t0 = now();
    let mut counts = concurrently(40, |_| {
        let store = store.clone();
        async move {
            store
                .count_login_attempt("email:shared@example.test", t0 - minutes(15), t0)
                .await
                .unwrap()
        }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=40).collect::<Vec<u32>>(),
        "no two concurrent attempts see the same count, so at most a limit of them pass it"
    );
}

pub async fn a_user_created_through_an_invitation_exists_only_with_the_membership(
    store: Arc<dyn Store>,
) {
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let invitation = new_invitation(
        &owner,
        "sign-up-invitation",
        Role::Member,
        t0,
        t0 + minutes(60),
    );
    store.create_invitation(&invitation).await.unwrap();

    // A taken email: refused as a duplicate, and the invitation stays usable.
    let twin = iquivity_store::NewUser {
        email: owner.email.clone(),
        ..new_user("twin", t0)
    };
    let refused = store
        .create_user_with_invitation(&twin, None, invitation.id, t0)
        .await;
    assert_duplicate(refused, "a taken email");
    assert_eq!(
        accepted_at(store.as_ref(), "sign-up-invitation").await,
        None
    );

    // Ten at once: one user is created, as a member; the others leave nothing behind.
    let attempts = concurrently(10, |i| {
        let store = store.clone();
        let user = new_user(&format!("joiner{i}"), t0);
        async move {
            let joined = store
                .create_user_with_invitation(&user, None, invitation.id, t0)
                .await
                .unwrap();
            (user, joined)
        }
    })
    .await;
    let (joined, refused): (Vec<_>, Vec<_>) = attempts.into_iter().partition(|(_, ok)| *ok);
    let joined: Vec<_> = joined.into_iter().map(|(user, _)| user).collect();
    let refused: Vec<_> = refused.into_iter().map(|(user, _)| user).collect();
    assert_eq!(joined.len(), 1, "one sign-up takes the invitation");
    assert_eq!(
        store
            .membership(owner.workspace, joined[0].id)
            .await
            .unwrap(),
        Some(Role::Member)
    );
    assert!(store
        .user_by_email(&joined[0].email)
        .await
        .unwrap()
        .is_some());
    for user in &refused {
        assert!(
            store.user_by_email(&user.email).await.unwrap().is_none(),
            "a refused sign-up creates no user"
        );
        assert!(store.user_by_id(user.id).await.unwrap().is_none());
        // ... so the email is free for a sign-up of its own.
        store.create_user(user).await.unwrap();
    }
    assert_eq!(store.members(owner.workspace).await.unwrap().len(), 2);

    // An expired invitation creates nothing either.
    let expired = new_invitation(
        &owner,
        "expired-invitation",
        Role::Member,
        t0,
        t0 - minutes(1),
    );
    store.create_invitation(&expired).await.unwrap();
    let late = new_user("late", t0);
    let own = new_workspace("Late's own", Plan::Free, t0);
    assert!(!store
        .create_user_with_invitation(&late, Some(&own), expired.id, t0)
        .await
        .unwrap());
    assert!(store.user_by_id(late.id).await.unwrap().is_none());
    assert!(
        store.workspace(own.id).await.unwrap().is_none(),
        "nor the workspace of their own"
    );

    // A user with a workspace of their own who also joins through an invitation.
    let both = InvitationRecord {
        id: uuid::Uuid::now_v7(),
        token_hash: "both-invitation".to_string(),
        ..invitation.clone()
    };
    store.create_invitation(&both).await.unwrap();
    assert!(store
        .create_user_with_invitation(&late, Some(&own), both.id, t0)
        .await
        .unwrap());
    assert_eq!(
        store.membership(own.id, late.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert_eq!(
        store.membership(owner.workspace, late.id).await.unwrap(),
        Some(Role::Member)
    );
}

pub async fn concurrent_acceptances_admit_one_member(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Starter).await;
    let t0 = now();
    let invitation = new_invitation(
        &owner,
        "shared-invitation",
        Role::Member,
        t0,
        t0 + minutes(60),
    );
    store.create_invitation(&invitation).await.unwrap();
    let mut users = Vec::new();
    for i in 0..8 {
        let user = new_user(&format!("taker{i}"), t0);
        store.create_user(&user).await.unwrap();
        users.push(user.id);
    }
    let outcomes = concurrently(users.len(), |i| {
        let store = store.clone();
        let user = users[i];
        async move {
            let accepted = store
                .accept_invitation(invitation.id, user, t0)
                .await
                .unwrap();
            (user, accepted)
        }
    })
    .await;
    let admitted: Vec<UserId> = outcomes
        .into_iter()
        .filter_map(|(user, accepted)| accepted.then_some(user))
        .collect();
    assert_eq!(admitted.len(), 1, "one acceptance wins");
    for user in users {
        let expected = (user == admitted[0]).then_some(Role::Member);
        assert_eq!(
            store.membership(owner.workspace, user).await.unwrap(),
            expected
        );
    }
    assert_eq!(store.members(owner.workspace).await.unwrap().len(), 2);
}
