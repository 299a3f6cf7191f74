//! Links for account owners: found by their token's digest, used within their allowance (one guarded
//! update, so racing holders of a single-use link get one use), revoked once, logged; and the accounts they
//! bring naming them.

use crate::harness::*;
use iquivity_domain::{Client, ClientId, ClientName, LinkId, LinkKind, Plan, Platform};
use iquivity_store::{LinkOutcome, LinkRecord, LinkUseRecord, LinkedAccount, Store};
use std::sync::Arc;

fn link(tenant: &Tenant, digest: &str, max_uses: Option<u32>, ends_in: i64) -> LinkRecord {
    LinkRecord {
        id: LinkId::new(),
        workspace_id: tenant.workspace,
        kind: LinkKind::Connect,
        token_hash: digest.to_string(),
        client_id: None,
        account_id: None,
        platforms: vec![Platform::X],
        note: None,
        max_uses,
        uses: 0,
        created_by: tenant.user,
        created_at: now(),
        expires_at: now() + minutes(ends_in),
        revoked_at: None,
    }
}

pub async fn links_are_used_within_their_allowance_revoked_once_and_logged(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let other = tenant(store.as_ref(), Plan::Enterprise).await;
    let single = link(&owner, &format!("digest-{}", LinkId::new()), Some(1), 60);
    store.create_link(&single).await.unwrap();
    assert_duplicate(
        store
            .create_link(&link(&owner, &single.token_hash, None, 60))
            .await,
        "a digest is one link's",
    );
    let found = store
        .link_by_token(&single.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.platforms.clone()),
        (single.id, vec![Platform::X])
    );
    assert!(
        store
            .link(other.workspace, single.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace's"
    );

    // One use; given back; taken again; none left.
    assert!(store.claim_link_use(single.id, now()).await.unwrap());
    assert!(!store.claim_link_use(single.id, now()).await.unwrap());
    store.release_link_use(single.id).await.unwrap();
    assert!(store.claim_link_use(single.id, now()).await.unwrap());
    assert_eq!(
        store
            .link(owner.workspace, single.id)
            .await
            .unwrap()
            .unwrap()
            .uses,
        1
    );

    // Expired and revoked links give none; a revocation happens once.
    let ended = link(&owner, &format!("digest-{}", LinkId::new()), None, 1);
    store.create_link(&ended).await.unwrap();
    assert!(!store
        .claim_link_use(ended.id, now() + minutes(2))
        .await
        .unwrap());
    assert!(store.claim_link_use(ended.id, now()).await.unwrap());
    assert!(!store
        .revoke_link(other.workspace, ended.id, now())
        .await
        .unwrap());
    assert!(store
        .revoke_link(owner.workspace, ended.id, now())
        .await
        .unwrap());
    assert!(!store
        .revoke_link(owner.workspace, ended.id, now())
        .await
        .unwrap());
    assert!(!store.claim_link_use(ended.id, now()).await.unwrap());
    let listed: Vec<LinkId> = store
        .links(owner.workspace)
        .await
        .unwrap()
        .iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(listed, [ended.id, single.id], "newest first");

    // The log, oldest first.
    for (outcome, name) in [(LinkOutcome::Connected, "Ann"), (LinkOutcome::UsedUp, "")] {
        let accounts = if name.is_empty() {
            Vec::new()
        } else {
            vec![LinkedAccount {
                id: iquivity_domain::AccountId::new(),
                display_name: name.into(),
            }]
        };
        store
            .record_link_use(&LinkUseRecord {
                id: uuid::Uuid::now_v7(),
                link_id: single.id,
                at: now(),
                outcome,
                platform: Some(Platform::X),
                accounts,
                detail: None,
            })
            .await
            .unwrap();
    }
    let log = store.link_uses(single.id).await.unwrap();
    let outcomes: Vec<LinkOutcome> = log.iter().map(|u| u.outcome).collect();
    assert_eq!(outcomes, [LinkOutcome::Connected, LinkOutcome::UsedUp]);
    assert_eq!(log[0].accounts[0].display_name, "Ann");

    // An account that came through a link names it, and joins its client unless it has one.
    let client = Client {
        id: ClientId::new(),
        workspace_id: owner.workspace,
        name: ClientName::parse("Bakery").unwrap(),
        colour: None,
        created_at: now(),
    };
    store.create_client(&client).await.unwrap();
    let brought = account(store.as_ref(), &owner, Platform::X, "Brought").await;
    let marked = store
        .mark_connected_via_link(owner.workspace, brought.id, single.id, Some(client.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (marked.connected_via_link, marked.client_id),
        (Some(single.id), Some(client.id))
    );
    let elsewhere = store
        .mark_connected_via_link(other.workspace, brought.id, single.id, None)
        .await
        .unwrap();
    assert!(
        elsewhere.is_none(),
        "another workspace's account is not marked"
    );
}

pub async fn racing_holders_of_a_single_use_link_get_one_use(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Enterprise).await;
    let single = link(&owner, &format!("digest-{}", LinkId::new()), Some(1), 60);
    store.create_link(&single).await.unwrap();
    let claims = concurrently(8, |_| {
        let store = store.clone();
        async move { store.claim_link_use(single.id, now()).await.unwrap() }
    })
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
}
