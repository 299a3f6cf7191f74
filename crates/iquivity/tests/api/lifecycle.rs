//! The lifecycle engine against the sandbox's fault controls, with a clock the tests move.

use crate::helpers::*;
use chrono::Duration;
use iquivity_core::lifecycle::ManualClock;
use iquivity_domain::{AccountId, Platform, WorkspaceId};
use iquivity_sandbox::Consent;
use iquivity_store::{Claim, JobKind};
use serde_json::{json, Value};
use std::sync::Arc;

pub(crate) struct Rig {
    pub app: TestApp,
    pub clock: Arc<ManualClock>,
    pub user: User,
}

pub(crate) async fn rig() -> Rig {
    rig_with(|_| {}).await
}

/// A rig whose configuration `adjust` changes further (the engine stays the test's to run).
pub(crate) async fn rig_with(adjust: impl FnOnce(&mut iquivity::Config)) -> Rig {
    let (app, clock) = spawn_app_on_clock(chrono::Utc::now(), adjust).await;
    let user = app.sign_up("life@example.com", "Lifecycle").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Enterprise)
        .await;
    Rig { app, clock, user }
}

impl Rig {
    /// Connects through the sandbox's consent; picks the first connectable candidate where there is a choice.
    pub(crate) async fn connect(&self, platform: Platform, person: &str) -> AccountId {
        let client = browser_client();
        client
            .post(self.app.url("/api/v1/auth/login"))
            .json(&json!({"email": self.user.email, "password": PASSWORD}))
            .sent()
            .await;
        let started: Value = client
            .post(self.app.url("/api/v1/connections"))
            .json(&json!({"platform": platform}))
            .json_body()
            .await;
        let consent = Consent {
            user: Some(person.into()),
            ..Consent::default()
        };
        let redirect =
            iquivity_sandbox::consent(started["authorize_url"].as_str().unwrap(), &consent)
                .await
                .unwrap();
        client.get(&redirect).sent().await;
        let connection: Value = client
            .get(self.app.url(&format!(
                "/api/v1/connections/{}",
                started["id"].as_str().unwrap()
            )))
            .json_body()
            .await;
        if connection["stage"] == "selecting" {
            let pick = connection["candidates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["unavailable"].is_null() && c["kind"] != "profile")
                .unwrap()["platform_account_id"]
                .clone();
            let selected: Value = client
                .post(self.app.url(&format!(
                    "/api/v1/connections/{}/select",
                    connection["id"].as_str().unwrap()
                )))
                .json(&json!({"targets": [pick]}))
                .json_body()
                .await;
            return selected["accounts"][0]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
        }
        connection["connected"][0]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    pub(crate) async fn round(&self) -> iquivity_core::lifecycle::RoundReport {
        self.app
            .app
            .core
            .run_lifecycle_round("test-worker")
            .await
            .unwrap()
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
        self.app.post(&self.user, path, body).await
    }

    pub(crate) async fn post_bare(&self, path: &str) -> (reqwest::StatusCode, Value) {
        self.app.post_bare(&self.user, path).await
    }

    pub(crate) async fn patch(&self, path: &str, body: Value) -> (reqwest::StatusCode, Value) {
        self.app.patch(&self.user, path, body).await
    }

    pub(crate) async fn delete(&self, path: &str) -> (reqwest::StatusCode, Value) {
        self.app.delete(&self.user, path).await
    }

    pub(crate) async fn get(&self, path: &str) -> (reqwest::StatusCode, Value) {
        self.app.get(&self.user, path).await
    }

    /// `POST /api/v1/posts` with `body`.
    pub(crate) async fn create_post(&self, body: Value) -> (reqwest::StatusCode, Value) {
        self.post("/api/v1/posts", body).await
    }

    pub(crate) async fn account(&self, id: AccountId) -> Value {
        let (_, account) = self
            .app
            .get(&self.user, &format!("/api/v1/accounts/{id}"))
            .await;
        account
    }

    pub(crate) fn sandbox(&self, platform: Platform, path: &str) -> String {
        self.app.sandbox_url(platform, path)
    }

    pub(crate) async fn control(&self, platform: Platform, path: &str, body: Value) {
        self.app.sandbox_control(platform, path, body).await
    }

    /// Makes the platform's sandbox fail its next `count` requests under `path_prefix` in the way `mode`
    /// names (one of the sandbox's fault modes).
    pub(crate) async fn fault(
        &self,
        platform: Platform,
        mode: &str,
        count: u32,
        path_prefix: &str,
    ) {
        let fault = json!({"mode": mode, "count": count, "path_prefix": path_prefix});
        self.control(platform, "/_sandbox/faults", fault).await
    }

    /// Sets the platform sandbox's clock to this rig's, so that the times it announces (a rate limit's
    /// reset) are reckoned from the time the service believes it is.
    pub(crate) async fn sync_sandbox_clock(&self, platform: Platform) {
        self.control(
            platform,
            "/_sandbox/clock",
            json!({ "now": self.clock_now() }),
        )
        .await
    }

    pub(crate) async fn sandbox_state(&self, platform: Platform) -> Value {
        reqwest::get(self.sandbox(platform, "/_sandbox/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The posts the platform's sandbox recorded, oldest first.
    pub(crate) async fn sandbox_posts(&self, platform: Platform) -> Vec<Value> {
        self.sandbox_state(platform).await["posts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The texts of the posts the platform's sandbox recorded, oldest first.
    pub(crate) async fn posted_texts(&self, platform: Platform) -> Vec<String> {
        self.sandbox_posts(platform)
            .await
            .iter()
            .map(|p| p["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    async fn requests_to(&self, platform: Platform, path: &str) -> u64 {
        let state = self.sandbox_state(platform).await;
        state["requests"]
            .get(path)
            .and_then(Value::as_u64)
            .unwrap_or(0)
    }

    fn workspace(&self) -> WorkspaceId {
        self.user.workspace_id
    }

    pub(crate) async fn events(&self, id: AccountId) -> Vec<Value> {
        let (_, events) = self
            .app
            .get(&self.user, &format!("/api/v1/accounts/{id}/events"))
            .await;
        events.as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_token_is_renewed_before_it_expires_with_no_one_acting() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Ethan Brooks").await;
    let before = rig.account(id).await;
    assert_eq!(
        rig.round().await.done,
        0,
        "nothing is due right after connecting"
    );

    rig.clock.advance(Duration::minutes(111));
    let report = rig.round().await;
    assert_eq!(report.done, 1, "{report:?}");
    let after = rig.account(id).await;
    assert_eq!(after["status"], "active");
    assert_ne!(after["last_refreshed_at"], before["last_refreshed_at"]);
    assert!(before["followers"].is_null(), "not read yet at connection");
    assert!(
        after["followers"].is_u64(),
        "the check after renewal reads the follower count: {after}"
    );
    assert!(rig
        .events(id)
        .await
        .iter()
        .any(|e| e["kind"] == "refreshed"));
    assert_eq!(
        rig.requests_to(Platform::X, "/2/oauth2/token").await,
        2,
        "the code exchange and one refresh"
    );
    assert_eq!(rig.round().await.done, 0, "a finished job is not run again");
}

#[tokio::test]
async fn a_rotated_refresh_token_survives_a_crash_right_after_the_platform_answered() {
    let rig = rig().await;
    let id = rig.connect(Platform::Tiktok, "Liam Foster").await;
    // The identity call after the renewal fails, as if the process died between the platform's answer and
    // the rest of the work: the rotated token must already be stored. (The health check, due too by then,
    // meets the other failure.)
    rig.fault(Platform::Tiktok, "server_error", 2, "/v2/user/info/")
        .await;
    rig.clock.advance(Duration::hours(24));
    assert_eq!(rig.round().await.retried, 2);
    assert_eq!(
        rig.sandbox_state(Platform::Tiktok).await["tokens"]["rotated"],
        1
    );

    let clock = rig.clock.clone();
    let user = rig.user;
    let app = restart(
        rig.app,
        |c| c.run_lifecycle = false,
        move |core| core.clock = clock.clone(),
    )
    .await;
    let rig = Rig {
        app,
        clock: rig.clock,
        user,
    };
    rig.clock.advance(Duration::minutes(10));
    let report = rig.round().await;
    let jobs = rig.app.app.store.jobs_for_account(id).await.unwrap();
    assert_eq!(
        report.done, 2,
        "the retried refresh keeps the renewal it made and checks with the rotated token: {report:?} {jobs:#?} now {}",
        rig.clock_now()
    );
    assert_eq!(rig.account(id).await["status"], "active");
    let state = rig.sandbox_state(Platform::Tiktok).await;
    assert_eq!(
        state["tokens"]["rotated"], 1,
        "the retry does not spend another refresh token: {state}"
    );
    assert_eq!(
        state["requests"]["/v2/user/info/"], 2,
        "since the restart, the retried refresh and the health check each read the account with the stored, rotated token: {state}"
    );
}

#[tokio::test]
async fn two_workers_never_refresh_one_account_at_once() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Noah Whitaker").await;
    rig.clock.advance(Duration::minutes(115));
    let (a, b) = tokio::join!(
        rig.app.app.core.run_lifecycle_round("worker-a"),
        rig.app.app.core.run_lifecycle_round("worker-b")
    );
    assert_eq!(a.unwrap().done + b.unwrap().done, 1);
    assert_eq!(
        rig.requests_to(Platform::X, "/2/oauth2/token").await,
        2,
        "one refresh, not two"
    );
    assert_eq!(rig.account(id).await["status"], "active");
}

#[tokio::test]
async fn a_rate_limit_waits_for_the_reset_and_changes_no_status() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Mia Donovan").await;
    rig.fault(Platform::X, "rate_limit", 1, "/2/oauth2/token")
        .await;
    rig.clock.advance(Duration::minutes(115));
    // X announces its reset (15 minutes ahead, in whole seconds) from the service's own time.
    rig.sync_sandbox_clock(Platform::X).await;
    let reset =
        chrono::DateTime::from_timestamp((rig.clock_now() + Duration::minutes(15)).timestamp(), 0)
            .unwrap();
    let report = rig.round().await;
    assert_eq!(report.retried, 1);
    assert_eq!(rig.account(id).await["status"], "active");
    let jobs = rig.app.app.store.jobs_for_account(id).await.unwrap();
    let refresh = jobs
        .iter()
        .find(|j| j.kind == JobKind::Refresh && j.done_at.is_none())
        .unwrap();
    assert_eq!(
        refresh.run_at, reset,
        "waits until the reset X announced, not the one-minute fallback: {refresh:?}"
    );
    assert!(refresh
        .last_error
        .as_deref()
        .unwrap()
        .contains("rate limited"));
    // Counted as the platform's limit, not as any retry.
    let metrics = rig.app.metrics().await;
    assert!(
        metrics.contains("iquivity_jobs_total{kind=\"refresh\",outcome=\"rate_limited\"} 1"),
        "{metrics}"
    );
    rig.clock.advance(Duration::minutes(2));
    assert_eq!(rig.round().await.done, 0, "still before the reset");
    rig.clock.advance(Duration::minutes(13));
    assert_eq!(rig.round().await.done, 1);
}

impl Rig {
    pub(crate) fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use iquivity_core::lifecycle::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_short_outage_changes_nothing_a_long_one_fails_the_account_until_it_recovers() {
    let rig = rig().await;
    let id = rig.connect(Platform::Tiktok, "Ava Sullivan").await;
    rig.fault(Platform::Tiktok, "server_error", 1000, "/v2/user/info/")
        .await;
    rig.clock.advance(Duration::hours(8));
    let mut elapsed = Duration::zero();
    while elapsed < Duration::minutes(20) {
        rig.round().await;
        rig.clock.advance(Duration::minutes(2));
        elapsed += Duration::minutes(2);
    }
    assert_eq!(
        rig.account(id).await["status"],
        "active",
        "a 20-minute outage is a blip"
    );
    while elapsed < Duration::hours(2) {
        rig.round().await;
        rig.clock.advance(Duration::minutes(5));
        elapsed += Duration::minutes(5);
    }
    let failed = rig.account(id).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["status_reason"], "platform_unavailable");
    assert!(failed["status_advice"]
        .as_str()
        .unwrap()
        .contains("status page"));

    reqwest::Client::new()
        .delete(rig.sandbox(Platform::Tiktok, "/_sandbox/faults"))
        .sent()
        .await;
    rig.clock
        .advance(Duration::hours(1) + Duration::minutes(15));
    rig.round().await;
    assert_eq!(rig.account(id).await["status"], "active");
    let recoveries = rig
        .events(id)
        .await
        .iter()
        .filter(|e| e["details"]["recovered"] == true)
        .count();
    assert_eq!(recoveries, 1, "one recovery for one incident");
    let failures = rig
        .events(id)
        .await
        .iter()
        .filter(|e| e["details"]["status"] == "failed")
        .count();
    assert_eq!(
        failures, 1,
        "one status change for one incident, not one per failed attempt"
    );
}

#[tokio::test]
async fn a_revoked_grant_makes_the_account_inactive_with_the_advice_to_refresh() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Olivia Bennett").await;
    rig.app.revoke_grant(&rig.account(id).await).await;
    rig.clock.advance(Duration::hours(8));
    rig.round().await;
    rig.round().await;
    let after = rig.account(id).await;
    assert_eq!(after["status"], "inactive", "{after}");
    assert!(after["status_advice"].as_str().unwrap().contains("Refresh"));
}

#[tokio::test]
async fn a_removed_scope_fails_the_account_naming_it() {
    let rig = rig().await;
    let id = rig.connect(Platform::Facebook, "Harbor Coffee").await;
    rig.app
        .remove_sandbox_scope(Platform::Facebook, "Harbor Coffee", "pages_read_engagement")
        .await;
    rig.clock.advance(Duration::hours(8));
    rig.round().await;
    let after = rig.account(id).await;
    assert_eq!(after["status"], "failed", "{after}");
    assert_eq!(after["status_reason"], "missing_permissions");
    assert!(after["status_message"]
        .as_str()
        .unwrap()
        .contains("pages_read_engagement"));
}

#[tokio::test]
async fn revocation_after_removal_is_retried_until_the_platform_answers() {
    let rig = rig().await;
    let id = rig.connect(Platform::Tiktok, "Chloe Ramirez").await;
    rig.fault(Platform::Tiktok, "server_error", 2, "/v2/oauth/revoke/")
        .await;
    let (status, _) = rig.delete(&format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, reqwest::StatusCode::NO_CONTENT);
    assert!(
        rig.app.app.store.credential(id).await.unwrap().is_none(),
        "destroyed locally at once"
    );
    for _ in 0..3 {
        rig.round().await;
        rig.clock.advance(Duration::minutes(20));
    }
    let state = rig.sandbox_state(Platform::Tiktok).await;
    assert_eq!(state["revocations"], 1, "{state}");
    let jobs = rig.app.app.store.jobs_for_account(id).await.unwrap();
    let revoke = jobs.iter().find(|j| j.kind == JobKind::Revoke).unwrap();
    assert!(revoke.done_at.is_some());
    assert!(revoke.payload.is_none(), "the tokens are gone once revoked");
    assert_eq!(revoke.attempts, 3);
    assert_eq!(
        (revoke.workspace_id, revoke.platform),
        (rig.workspace(), Platform::Tiktok),
        "the revocation is the removed account's, in its workspace"
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_once_its_lease_runs_out() {
    let rig = rig().await;
    let id = rig.connect(Platform::X, "Lucas Hayes").await;
    rig.clock.advance(Duration::minutes(115));
    let now = rig.clock_now();
    let store = &rig.app.app.store;
    assert_eq!(store.enqueue_due_jobs(now, 10).await.unwrap(), 1);
    let taken = store
        .claim_jobs(Claim::new(
            "dead-worker",
            now,
            now + Duration::minutes(5),
            10,
        ))
        .await
        .unwrap();
    assert_eq!(
        taken.len(),
        1,
        "the dead worker took the job and never finished it"
    );
    assert_eq!(rig.round().await.done, 0, "its lease still holds");
    rig.clock.advance(Duration::minutes(6));
    assert_eq!(rig.round().await.done, 1, "taken over after the lease");
    assert!(
        !store
            .finish_job(taken[0].id, "dead-worker", rig.clock_now())
            .await
            .unwrap(),
        "the dead worker cannot finish it twice"
    );
    assert_eq!(rig.account(id).await["status"], "active");
}

#[tokio::test]
async fn refresh_all_inactive_repairs_what_a_renewal_can_and_metrics_show_the_work() {
    let rig = rig().await;
    let tiktok = rig.connect(Platform::Tiktok, "Bulk One").await;
    let x = rig.connect(Platform::X, "Bulk Two").await;
    for id in [tiktok, x] {
        rig.app
            .app
            .core
            .change_account_status(
                rig.workspace(),
                id,
                Some(iquivity_domain::StatusReason::TokenExpired),
                None,
            )
            .await
            .unwrap();
    }
    let (status, body) = rig.post_bare("/api/v1/accounts/refresh-inactive").await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED);
    assert_eq!(body["queued"], 2);
    rig.round().await;
    assert_eq!(rig.account(tiktok).await["status"], "active");
    assert_eq!(rig.account(x).await["status"], "active");

    let (_, activity) = rig.get("/api/v1/activity").await;
    let kinds = strings_at(&activity, "kind");
    assert!(
        kinds.iter().any(|n| n == "refreshed")
            && kinds.iter().any(|n| n == "connected")
            && kinds.iter().any(|n| n == "status_changed"),
        "{kinds:?}"
    );

    let metrics = rig.app.metrics().await;
    assert!(
        metrics.contains("iquivity_accounts{platform=\"tiktok\",status=\"active\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("iquivity_jobs_total{kind=\"refresh\",outcome=\"done\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics
            .contains("iquivity_platform_call_seconds_count{platform=\"tiktok\",outcome=\"ok\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("# TYPE iquivity_platform_call_seconds histogram"));
}
