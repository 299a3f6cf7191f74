//! When the engine acts, on the clock the tests move: Meta's renewal a week before the long-lived token
//! ends, and the rule that a failing platform marks an account Failed only after 3 failures over at least
//! an hour. (The backoff table and the spread of health checks are pure: unit tests in core's engine.)

use crate::lifecycle::{rig, Rig};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, Platform};

/// The times the account was renewed, as its events tell.
async fn renewals(rig: &Rig, id: AccountId) -> usize {
    rig.events(id)
        .await
        .iter()
        .filter(|e| e["kind"] == "refreshed")
        .count()
}

/// Requests to Meta's token endpoint (the code exchange and each re-exchange of the user token).
async fn token_exchanges(rig: &Rig) -> u64 {
    let state = rig.sandbox_state(Platform::Facebook).await;
    state["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with("/oauth/access_token"))
        .map(|(_, count)| count.as_u64().unwrap())
        .sum()
}

fn at(value: &serde_json::Value) -> DateTime<Utc> {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_meta_page_is_renewed_7_days_before_its_60_day_login_ends() {
    let rig = rig().await;
    let start = rig.clock_now();
    let page = rig.connect(Platform::Facebook, "Harbor Coffee").await;
    let exchanges = token_exchanges(&rig).await;
    let renew_at = at(&rig.account(page).await["next_refresh_at"]);
    // The long-lived user token behind the Page lasts 60 days from its exchange, a moment after `start`.
    assert!(
        renew_at >= start + Duration::days(53) && renew_at < start + Duration::days(53) + Duration::hours(1),
        "renewal planned 53 days after connecting, 7 before the 60-day token ends: {renew_at} (connected about {start})"
    );

    rig.clock.advance(Duration::days(52));
    rig.round().await;
    assert_eq!(renewals(&rig, page).await, 0, "52 days in: too early");
    assert_eq!(token_exchanges(&rig).await, exchanges);

    // An hour before, the health check that has come due runs (and is next due hours later, so none
    // runs at the edges below to put the renewal off by its minute's margin).
    rig.clock
        .advance(renew_at - rig.clock_now() - Duration::hours(1));
    rig.round().await;
    assert_eq!(renewals(&rig, page).await, 0, "an hour before it is due");
    // A second before the renewal is due, then the moment it is.
    rig.clock
        .advance(renew_at - rig.clock_now() - Duration::seconds(1));
    rig.round().await;
    assert_eq!(renewals(&rig, page).await, 0, "a second before it is due");
    rig.clock.advance(Duration::seconds(1));
    rig.round().await;
    assert_eq!(
        renewals(&rig, page).await,
        1,
        "renewed when due, 53 days in"
    );
    assert!(
        token_exchanges(&rig).await > exchanges,
        "the user token was exchanged again"
    );
    let renewed = rig.account(page).await;
    assert_eq!(renewed["status"], "active", "{renewed}");
}

/// A TikTok account whose identity calls fail from now on; its health check is due at once. Answers
/// the account and when its first failure happens (the rig's time).
async fn failing_account(rig: &Rig) -> (AccountId, DateTime<Utc>) {
    let id = rig.connect(Platform::Tiktok, "Flaky Creator").await;
    rig.fault(Platform::Tiktok, "server_error", 1000, "/v2/user/info/")
        .await;
    // Past the latest health check (6 hours + 25%), before the token's renewal (23.5 hours), on a whole
    // second so that the database (microseconds) keeps the first failure's time exactly.
    let nanos = i64::from(rig.clock_now().timestamp_subsec_nanos());
    rig.clock
        .advance(Duration::hours(8) + Duration::nanoseconds(1_000_000_000 - nanos));
    (id, rig.clock_now())
}

/// Moves the clock to `first + offset` and runs a round there: one more failure of the account's check,
/// whose retry (1, then 5 minutes, plus a fifth at most) is due by then.
async fn fail_at(rig: &Rig, first: DateTime<Utc>, offset: Duration) {
    rig.clock.advance(first + offset - rig.clock_now());
    let report = rig.round().await;
    assert_eq!(
        report.retried, 1,
        "one more failure at +{offset}: {report:?}"
    );
}

async fn status(rig: &Rig, id: AccountId) -> String {
    rig.account(id).await["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn three_failures_within_less_than_an_hour_leave_the_account_active() {
    let rig = rig().await;
    let (id, first) = failing_account(&rig).await;
    for offset in [0, 2, 59] {
        fail_at(&rig, first, Duration::minutes(offset)).await;
    }
    assert_eq!(
        status(&rig, id).await,
        "active",
        "3 failures over 59 minutes are a blip"
    );
}

#[tokio::test]
async fn three_failures_over_an_hour_fail_the_account_but_two_do_not() {
    let rig = rig().await;
    let (id, first) = failing_account(&rig).await;
    fail_at(&rig, first, Duration::zero()).await;
    fail_at(&rig, first, Duration::minutes(60)).await;
    assert_eq!(
        status(&rig, id).await,
        "active",
        "2 failures an hour apart are not yet 3"
    );

    let rig = crate::lifecycle::rig().await;
    let (id, first) = failing_account(&rig).await;
    for offset in [0, 2, 60] {
        fail_at(&rig, first, Duration::minutes(offset)).await;
    }
    let failed = rig.account(id).await;
    assert_eq!(
        failed["status"], "failed",
        "the third failure, an hour after the first: {failed}"
    );
    assert_eq!(failed["status_reason"], "platform_unavailable");
}

/// `expiring_soon` in the API: an Active account whose token ends within 7 days and that nothing renews.
/// The API reads the real time, so the edges are an hour either side of the 7 days (the exact edges are
/// the domain's unit test).
#[tokio::test]
async fn expiring_soon_shows_a_token_ending_within_7_days_that_nothing_renews() {
    use crate::helpers::{spawn_app_with, Seed};
    let app = spawn_app_with(|c| c.run_lifecycle = false).await;
    let user = app.sign_up("expiring@example.com", "Expiring").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Enterprise)
        .await;
    let week = Duration::days(7);
    let ending = |name: &str, in_: Duration| {
        Seed::new(Platform::Linkedin, name).token_expires_at(Utc::now() + in_)
    };
    let inside = app
        .seed_account(&user, ending("Inside", week - Duration::hours(1)))
        .await;
    let outside = app
        .seed_account(&user, ending("Outside", week + Duration::hours(1)))
        .await;
    let never = app
        .seed_account(&user, Seed::new(Platform::Linkedin, "Never"))
        .await;
    let broken = app
        .seed_account(
            &user,
            ending("Broken", week - Duration::hours(1))
                .reason(iquivity_domain::StatusReason::TokenExpired),
        )
        .await;
    for (id, expected) in [
        (inside, true),
        (outside, false),
        (never, false),
        (broken, false),
    ] {
        let (_, account) = app.get(&user, &format!("/api/v1/accounts/{id}")).await;
        assert_eq!(account["expiring_soon"], expected, "{account}");
    }
}
