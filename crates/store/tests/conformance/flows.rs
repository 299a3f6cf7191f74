//! OAuth connection flows.

use crate::harness::*;
use iquivity_domain::{AccountId, Plan, Platform};
use iquivity_store::{FlowRecord, FlowStage, Store};
use std::sync::Arc;

pub async fn flow_state_is_claimed_once_and_stages_advance_in_order(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let other = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let flow = FlowRecord {
        id: uuid::Uuid::now_v7(),
        state_hash: "state-hash-1".to_string(),
        workspace_id: owner.workspace,
        user_id: owner.user,
        session_hash: Some("session-hash".to_string()),
        platform: Platform::Facebook,
        reconnect_account_id: Some(AccountId::new()),
        verifier: Some(credential("key-1", "pkce-verifier")),
        stage: FlowStage::Authorizing,
        candidates: None,
        error: None,
        connected: Vec::new(),
        created_at: t0,
        expires_at: t0 + minutes(10),
        state_used_at: None,
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
    assert!(store
        .flow(owner.workspace, flow.id)
        .await
        .unwrap()
        .is_some());
    assert!(
        store
            .flow(other.workspace, flow.id)
            .await
            .unwrap()
            .is_none(),
        "another workspace does not see the flow"
    );

    // The state is used once.
    assert!(store
        .claim_flow_state(flow.id, t0 + minutes(1))
        .await
        .unwrap());
    assert!(!store
        .claim_flow_state(flow.id, t0 + minutes(2))
        .await
        .unwrap());
    assert_eq!(
        store
            .flow_by_state("state-hash-1")
            .await
            .unwrap()
            .unwrap()
            .state_used_at,
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
    assert!(!store
        .claim_flow_state(late.id, t0 + minutes(10))
        .await
        .unwrap());
    assert!(!store
        .claim_flow_state(late.id, t0 + minutes(11))
        .await
        .unwrap());
    assert_eq!(
        store
            .flow(owner.workspace, late.id)
            .await
            .unwrap()
            .unwrap()
            .state_used_at,
        None
    );
    assert!(!store
        .claim_flow_state(uuid::Uuid::now_v7(), t0)
        .await
        .unwrap());

    // Authorizing -> Selecting: candidates stored, the verifier dropped, the expiry moved.
    let selecting = FlowRecord {
        stage: FlowStage::Selecting,
        candidates: Some(credential("key-1", "candidates")),
        expires_at: t0 + minutes(30),
        ..flow.clone()
    };
    assert!(store
        .advance_flow(&selecting, FlowStage::Authorizing)
        .await
        .unwrap());
    let stored = store.flow(owner.workspace, flow.id).await.unwrap().unwrap();
    assert_eq!(stored.stage, FlowStage::Selecting);
    assert_eq!(stored.candidates, Some(credential("key-1", "candidates")));
    assert_eq!(stored.verifier, None);
    assert_eq!(stored.expires_at, t0 + minutes(30));
    assert!(
        !store
            .advance_flow(&selecting, FlowStage::Authorizing)
            .await
            .unwrap(),
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
    assert!(!store
        .advance_flow(&done, FlowStage::Authorizing)
        .await
        .unwrap());
    assert!(store
        .advance_flow(&done, FlowStage::Selecting)
        .await
        .unwrap());
    let stored = store.flow(owner.workspace, flow.id).await.unwrap().unwrap();
    assert_eq!(stored.stage, FlowStage::Done);
    assert_eq!(stored.connected, connected);
    assert_eq!(stored.candidates, None);
    let failed = FlowRecord {
        stage: FlowStage::Failed,
        error: Some("too late".to_string()),
        ..done.clone()
    };
    assert!(!store
        .advance_flow(&failed, FlowStage::Selecting)
        .await
        .unwrap());
    assert_eq!(
        store
            .flow(owner.workspace, flow.id)
            .await
            .unwrap()
            .unwrap()
            .stage,
        FlowStage::Done
    );

    // Authorizing -> Failed with the error.
    let refused = FlowRecord {
        stage: FlowStage::Failed,
        error: Some("access_denied".to_string()),
        ..late.clone()
    };
    assert!(store
        .advance_flow(&refused, FlowStage::Authorizing)
        .await
        .unwrap());
    let stored = store.flow(owner.workspace, late.id).await.unwrap().unwrap();
    assert_eq!(stored.stage, FlowStage::Failed);
    assert_eq!(stored.error.as_deref(), Some("access_denied"));
}

pub async fn concurrent_callbacks_claim_the_state_once(store: Arc<dyn Store>) {
    let owner = tenant(store.as_ref(), Plan::Free).await;
    let t0 = now();
    let flow = FlowRecord {
        id: uuid::Uuid::now_v7(),
        state_hash: "raced-state".to_string(),
        workspace_id: owner.workspace,
        user_id: owner.user,
        session_hash: None,
        platform: Platform::X,
        reconnect_account_id: None,
        verifier: None,
        stage: FlowStage::Authorizing,
        candidates: None,
        error: None,
        connected: Vec::new(),
        created_at: t0,
        expires_at: t0 + minutes(10),
        state_used_at: None,
    };
    store.create_flow(&flow).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.claim_flow_state(flow.id, t0).await.unwrap()
        }));
    }
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }
    assert_eq!(won, 1, "the state is used once");

    // Likewise, of several requests advancing the same stage, one moves it.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let next = FlowRecord {
            stage: FlowStage::Selecting,
            error: Some(format!("request {i}")),
            ..flow.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .advance_flow(&next, FlowStage::Authorizing)
                .await
                .unwrap()
        }));
    }
    let mut moved = 0;
    for task in tasks {
        moved += usize::from(task.await.unwrap());
    }
    assert_eq!(moved, 1);
    assert_eq!(
        store
            .flow(owner.workspace, flow.id)
            .await
            .unwrap()
            .unwrap()
            .stage,
        FlowStage::Selecting
    );
}
