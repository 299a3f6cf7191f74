//! Removing Facebook and Instagram accounts: Meta revokes a whole login, so the grant is left alone while
//! another Meta account of the workspace remains and withdrawn when the last one goes; every removal is
//! alerted.

use crate::lifecycle::{rig, Rig};
use chrono::Duration;
use iquivity_domain::{AccountId, Platform};
use iquivity_store::JobKind;
use reqwest::StatusCode;
use serde_json::Value;

/// Calls that withdraw the login on the platform's sandbox: what it counted as revoked, and the
/// requests it received on the permissions edge (`DELETE /{version}/me/permissions` revokes; a
/// connection reads the grants there too, so tests compare counts).
async fn revocations(rig: &Rig, platform: Platform) -> (u64, u64) {
    let state = rig.sandbox_state(platform).await;
    let requests = state["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with("/me/permissions"))
        .map(|(_, count)| count.as_u64().unwrap())
        .sum();
    (state["revocations"].as_u64().unwrap(), requests)
}

/// Removes the account, then lets the engine run whatever the removal queued.
async fn remove_and_settle(rig: &Rig, id: AccountId) {
    let (status, body) = rig.delete(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    for _ in 0..3 {
        rig.round().await;
        rig.clock.advance(Duration::minutes(2));
    }
}

/// The `account.removed` alerts in the app, by account id.
async fn removal_alerts(rig: &Rig) -> Vec<String> {
    let (_, notifications) = rig.get("/api/v1/notifications").await;
    notifications["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "account.removed")
        .map(|a| a["account_id"].as_str().unwrap().to_string())
        .collect()
}

fn revoke_jobs(jobs: &[iquivity_store::JobRecord]) -> usize {
    jobs.iter().filter(|j| j.kind == JobKind::Revoke).count()
}

#[tokio::test]
async fn meta_access_is_revoked_only_when_the_last_meta_account_is_removed() {
    let rig = rig().await;
    let page = rig.connect(Platform::Facebook, "Harbor Coffee").await;
    let instagram = rig.connect(Platform::Instagram, "Harbor Coffee").await;
    let x = rig.connect(Platform::X, "Harbor Coffee").await;

    let facebook = revocations(&rig, Platform::Facebook).await;
    let instagram_before = revocations(&rig, Platform::Instagram).await;
    assert_eq!((facebook.0, instagram_before.0), (0, 0));

    // The Page goes; the Instagram account hangs off the same Meta login and would lose its access.
    remove_and_settle(&rig, page).await;
    let jobs = rig.app.app.store.jobs_for_account(page).await.unwrap();
    assert_eq!(revoke_jobs(&jobs), 0, "no revocation queued: {jobs:#?}");
    assert_eq!(
        revocations(&rig, Platform::Facebook).await,
        facebook,
        "Meta was not asked to revoke while Instagram remains"
    );
    assert_eq!(
        revocations(&rig, Platform::Instagram).await,
        instagram_before
    );
    assert_eq!(removal_alerts(&rig).await, [page.to_string()]);
    let kept: Value = rig.account(instagram).await;
    assert_eq!(kept["status"], "active", "{kept}");

    // Another platform's account does not hold Meta's login: the Instagram account is the last of it.
    remove_and_settle(&rig, instagram).await;
    assert_eq!(
        revocations(&rig, Platform::Instagram).await,
        (1, instagram_before.1 + 1),
        "the last Meta account's removal withdraws the login, once"
    );
    assert_eq!(revocations(&rig, Platform::Facebook).await, facebook);
    let jobs = rig.app.app.store.jobs_for_account(instagram).await.unwrap();
    assert_eq!(revoke_jobs(&jobs), 1, "{jobs:#?}");
    let mut alerted = removal_alerts(&rig).await;
    alerted.sort();
    let mut expected = vec![page.to_string(), instagram.to_string()];
    expected.sort();
    assert_eq!(alerted, expected, "one account.removed alert per removal");
    assert_eq!(rig.account(x).await["status"], "active");
}
