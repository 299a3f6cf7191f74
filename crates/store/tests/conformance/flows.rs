//! OAuth connection flows.

use crate::harness::*;
use iquivity_domain::{AccountId, Plan, Platform, WorkspaceId};
use iquivity_store::{FlowRecord, FlowStage, Store};
use std::sync::Arc;

/// The flow as stored now.
async fn stored_flow(store: &dyn Store, workspace: WorkspaceId, id: uuid::Uuid) -> FlowRecord {
    let stored = store.flow(workspace, id).await.unwrap();
    stored.expect("the flow is stored")
}

pub async fn flow_state_is_claimed_once_and_stages_advance_in_order(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let other = tenant(store.as_ref(), Plan::Free).await;
    let s = store.as_ref();
    let t0 = now();
    let flow = FlowRecord {
        session_hash: Some("session-hash".to_string()),
        reconnect_account_id: Some(AccountId::new()),
        verifier: Some(credential("key-1", "pkce-verifier")),
        ..new_flow(&owner, Platform::Facebook, "state-hash-1", t0)
    };
    store.create_flow(&flow).await.unwrap();

    let stored = store
        .flow_by_state("state-hash-1")
        .await
        .unwrap()
        .expect("flow by state");
    assert_eq!(stored.id, flow.id);
    assert_eq!(stored.workspace_id, owner.workspace);
    assert_eq!(stored.user_id, owner.user);
    assert_eq!(stored.session_hash.as_deref(), Some("session-hash"));
    assert_eq!(stored.platform, Platform::Facebook);
    assert_eq!(stored.reconnect_account_id, flow.reconnect_account_id);
    assert_eq!(stored.verifier, flow.verifier);
    assert_eq!(stored.stage, FlowStage::Authorizing);
    assert_eq!(stored.created_at, t0);
    assert_eq!(stored.expires_at, t0 + minutes(10));
    assert_eq!(stored.state_used_at, None);
    assert!(store.flow_by_state("state-hash-2").await.unwrap().is_none());
    assert_eq!(stored_flow(s, owner.workspace, flow.id).await.id, flow.id);
    assert!(
        store
            .flow(other.workspace, flow.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace does not see the flow"
    );

    // The state is used once.
    let claim = |flow, at| {
        let store = store.clone();
        async move { store.claim_flow_state(flow, at).await.unwrap() }
    };
    let advance = |next: &FlowRecord, from| {
        let (store, next) = (store.clone(), next.clone());
        async move { store.advance_flow(&next, from).await.unwrap() }
    };
    assert!(claim(flow.id, t0 + minutes(1)).await);
    assert!(!claim(flow.id, t0 + minutes(2)).await);
    assert_eq!(
        stored_flow(s, owner.workspace, flow.id).await.state_used_at,
        Some(t0 + minutes(1))
    );

    // ... and not once it has expired.
    let late = FlowRecord {
        id: uuid::Uuid::now_v7(),
        state_hash: "state-hash-3".to_string(),
        verifier: None,
        reconnect_account_id: None,
        ..flow.clone()
    };
    store.create_flow(&late).await.unwrap();
    assert!(!claim(late.id, t0 + minutes(10)).await);
    assert!(!claim(late.id, t0 + minutes(11)).await);
    assert_eq!(
        stored_flow(s, owner.workspace, late.id).await.state_used_at,
        None
    );
    assert!(!claim(uuid::Uuid::now_v7(), t0).await);

    // Authorizing -> Selecting: candidates stored, the verifier dropped, the expiry moved.
    let selecting = FlowRecord {
        stage: FlowStage::Selecting,
        candidates: Some(credential("key-1", "candidates")),
        expires_at: t0 + minutes(30),
        ..flow.clone()
    };
    assert!(advance(&selecting, FlowStage::Authorizing).await);
    let stored = stored_flow(s, owner.workspace, flow.id).await;
    assert_eq!(stored.stage, FlowStage::Selecting);
    assert_eq!(stored.candidates, Some(credential("key-1", "candidates")));
    assert_eq!(stored.verifier, None);
    assert_eq!(stored.expires_at, t0 + minutes(30));
    assert!(
        !advance(&selecting, FlowStage::Authorizing).await,
        "a second request finds it no longer authorizing"
    );

    // Selecting -> Done with the accounts connected.
    let connected = vec![AccountId::new(), AccountId::new()];
    let done = FlowRecord {
        stage: FlowStage::Done,
        candidates: None,
        connected: connected.clone(),
        ..selecting.clone()
    };
    assert!(!advance(&done, FlowStage::Authorizing).await);
    assert!(advance(&done, FlowStage::Selecting).await);
    let stored = stored_flow(s, owner.workspace, flow.id).await;
    assert_eq!(stored.stage, FlowStage::Done);
    assert_eq!(stored.connected, connected);
    assert_eq!(stored.candidates, None);
    let failed = FlowRecord {
        stage: FlowStage::Failed,
        error: Some("too late".to_string()),
        ..done.clone()
    };
    assert!(!advance(&failed, FlowStage::Selecting).await);
    assert_eq!(
        stored_flow(s, owner.workspace, flow.id).await.stage,
        FlowStage::Done
    );

    // Authorizing -> Failed with the error.
    let refused = FlowRecord {
        stage: FlowStage::Failed,
        error: Some("access_denied".to_string()),
        ..late.clone()
    };
    assert!(advance(&refused, FlowStage::Authorizing).await);
    let stored = stored_flow(s, owner.workspace, late.id).await;
    assert_eq!(stored.stage, FlowStage::Failed);
    assert_eq!(stored.error.as_deref(), Some("access_denied"));
}

pub async fn concurrent_callbacks_claim_the_state_once(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let flow = new_flow(&owner, Platform::X, "raced-state", t0);
    store.create_flow(&flow).await.unwrap();
    let won = concurrently(8, |_| {
        let store = store.clone();
        async move { store.claim_flow_state(flow.id, t0).await.unwrap() }
    })
    .await;
    assert_eq!(
        won.iter().filter(|w| **w).count(),
        1,
        "the state is used once"
    );

    // Likewise, of several requests advancing the same stage, one moves it.
    let moved = concurrently(8, |i| {
        let store = store.clone();
        let next = FlowRecord {
            stage: FlowStage::Selecting,
            error: Some(format!("request {i}")),
            ..flow.clone()
        };
        async move {
            store
                .advance_flow(&next, FlowStage::Authorizing)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(moved.iter().filter(|m| **m).count(), 1);
    assert_eq!(
        stored_flow(store.as_ref(), owner.workspace, flow.id)
            .await
            .stage,
        FlowStage::Selecting
    );
}
