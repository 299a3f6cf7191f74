//! Drafts: saved without being scheduled, never taken by the engine, checked in full when scheduled, and
//! duplicated from any post.

use crate::lifecycle::rig;
use iquivity_domain::{Platform, StatusReason};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_draft_is_never_published_until_it_is_scheduled_and_then_is_checked_in_full() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Draft Writer").await;
    let linkedin = rig.connect(Platform::Linkedin, "Draft Reader").await;

    // Saved as a draft: no targets, nothing reserved; the engine passes it by.
    let (status, draft) = rig
        .create_post(json!({"text": "Later, maybe", "accounts": [x, linkedin], "status": "draft"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["targets"], json!([]));
    assert_eq!(draft["draft_accounts"].as_array().unwrap().len(), 2);
    let id = draft["id"].as_str().unwrap().to_string();
    rig.clock.advance(chrono::Duration::hours(2));
    rig.round().await;
    let (_, still) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(still["status"], "draft", "{still}");
    assert_eq!(still["targets"], json!([]));

    // Edited as a draft: no platform check yet, even for an account that is not Active.
    rig.app
        .app
        .core
        .change_account_status(
            rig.user.workspace_id,
            linkedin,
            Some(StatusReason::TokenRevoked),
            None,
        )
        .await
        .unwrap();
    let (status, edited) = rig
        .patch(
            &format!("/api/v1/posts/{id}"),
            json!({"text": "Launch day"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["text"], "Launch day");

    // Scheduling runs every check: the inactive account is refused and nothing changes.
    let (status, refused) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused.to_string().contains("refresh it before posting"),
        "{refused}"
    );
    let (_, unchanged) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(unchanged["status"], "draft");

    // Only the X account: scheduled now, published by the next round, once.
    let (status, _) = rig
        .patch(&format!("/api/v1/posts/{id}"), json!({"accounts": [x]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, scheduled) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{scheduled}");
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(
        scheduled["id"],
        id.as_str(),
        "the draft itself is scheduled"
    );
    rig.round().await;
    let (_, published) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(published["targets"][0]["state"], "published", "{published}");
    let (status, again) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Duplicated: a new draft with the same text and accounts.
    let (status, copy) = rig
        .post_bare(&format!("/api/v1/posts/{id}/duplicate"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["text"], "Launch day");
    assert_eq!(copy["draft_accounts"], json!([x.to_string()]));
    assert_ne!(copy["id"], published["id"]);

    // A draft deleted is gone; a wrong status is refused.
    let copy_id = copy["id"].as_str().unwrap();
    let (status, _) = rig.delete(&format!("/api/v1/posts/{copy_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rig.get(&format!("/api/v1/posts/{copy_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = rig
        .create_post(json!({"text": "x", "accounts": [x], "status": "someday"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}
