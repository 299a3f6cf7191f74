//! Posting queues: each account's posting times in its own time zone, and "Add to queue" taking the next
//! free one of each account, across a change of the clocks.

use crate::helpers::*;
use chrono::{DateTime, Utc};
use iquivity_domain::Platform;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

/// Each target's account and time.
fn times(post: &Value) -> Vec<(String, DateTime<Utc>)> {
    let mut found: Vec<(String, DateTime<Utc>)> = post["targets"]
        .as_array()
        .unwrap_or_else(|| panic!("{post}"))
        .iter()
        .map(|t| {
            (
                t["account_id"].as_str().unwrap().to_string(),
                t["run_at"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    found.sort();
    found
}

#[tokio::test]
async fn add_to_queue_takes_each_accounts_next_free_local_time_across_a_change_of_the_clocks() {
    // Friday 2026-03-27, 15:00 UTC: Berlin moves its clocks forward on Sunday the 29th.
    let (app, _) = spawn_app_on_clock(at("2026-03-27T15:00:00Z"), |_| {}).await;
    let owner = app.sign_up("queues@example.com", "Queues").await;
    let other = app
        .sign_up("elsewhere-queue@example.com", "Elsewhere")
        .await;
    let x = app
        .seed_account(&owner, Seed::new(Platform::X, "New York Desk"))
        .await
        .to_string();
    let linkedin = app
        .seed_account(&owner, Seed::new(Platform::Linkedin, "Berlin Desk"))
        .await
        .to_string();

    // Posting times are checked: the zone, each time and each day.
    for (body, field) in [
        (
            json!({"time_zone": "Mars/Olympus", "slots": [{"days": ["mon"], "time": "09:00"}]}),
            "time_zone",
        ),
        (
            json!({"time_zone": "Europe/Berlin", "slots": [{"days": ["mon"], "time": "9 am"}]}),
            "slots[0].time",
        ),
        (
            json!({"time_zone": "Europe/Berlin", "slots": [{"days": ["someday"], "time": "09:00"}]}),
            "slots[0].days",
        ),
        (json!({"time_zone": "Europe/Berlin", "slots": []}), "slots"),
    ] {
        let (status, problem) = app
            .send(
                &owner,
                reqwest::Method::PUT,
                &format!("/api/v1/accounts/{x}/queue"),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let weekdays = json!({"time_zone": "America/New_York",
        "slots": [{"days": ["mon", "tue", "wed", "thu", "fri"], "time": "09:00"}]});
    let (status, _) = app
        .send(
            &other,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{x}/queue"),
            Some(weekdays.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another workspace's account");

    // Without posting times an account cannot be queued to.
    let (status, problem) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Queued", "accounts": [x], "queue": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "accounts[0]", "{problem}");

    let (status, set) = app
        .send(
            &owner,
            reqwest::Method::PUT,
            &format!("/api/v1/accounts/{x}/queue"),
            Some(weekdays),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{set}");
    let weekend =
        json!({"time_zone": "Europe/Berlin", "slots": [{"days": ["sat", "sun"], "time": "09:00"}]});
    app.send(
        &owner,
        reqwest::Method::PUT,
        &format!("/api/v1/accounts/{linkedin}/queue"),
        Some(weekend),
    )
    .await;
    let (_, read) = app
        .get(&owner, &format!("/api/v1/accounts/{linkedin}/queue"))
        .await;
    assert_eq!(read["time_zone"], "Europe/Berlin");

    // First: New York's Monday 09:00 EDT; Berlin's Saturday 09:00 CET.
    let (status, first) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "First", "accounts": [x, linkedin], "queue": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let mut expected = vec![
        (x.clone(), at("2026-03-30T13:00:00Z")),
        (linkedin.clone(), at("2026-03-28T08:00:00Z")),
    ];
    expected.sort();
    assert_eq!(times(&first), expected);
    // Second: the next free times; Berlin's Sunday 09:00 is now CEST, an hour earlier in UTC.
    let (_, second) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Second", "accounts": [x, linkedin], "queue": true}),
        )
        .await;
    let mut expected = vec![
        (x.clone(), at("2026-03-31T13:00:00Z")),
        (linkedin.clone(), at("2026-03-29T07:00:00Z")),
    ];
    expected.sort();
    assert_eq!(times(&second), expected);

    // A queued post takes no time of its own; the calendar shows each account's.
    let (status, problem) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Both", "accounts": [x], "queue": true, "publish_at": "2026-04-01T10:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (_, calendar) = app
        .get(&owner, "/api/v1/calendar?from=2026-03-28&to=2026-04-01")
        .await;
    let shown: Vec<&str> = calendar["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["at"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 4, "{calendar}");
}

#[tokio::test]
async fn an_account_without_posting_times_takes_its_clients_and_its_own_win() {
    // Monday 2026-06-01, 06:00 UTC.
    let (app, _) = spawn_app_on_clock(at("2026-06-01T06:00:00Z"), |_| {}).await;
    let owner = app.sign_up("client-queue@example.com", "Agency").await;
    let other = app.sign_up("other-client-queue@example.com", "Other").await;
    app.set_plan(owner.workspace_id, iquivity_domain::Plan::Professional)
        .await;
    let client = app.add_client(&owner, "Harbor Coffee").await;
    let mut accounts = Vec::new();
    for (platform, name) in [
        (Platform::X, "Harbor on X"),
        (Platform::Linkedin, "Harbor on LinkedIn"),
        (Platform::X, "Freelance X"),
    ] {
        accounts.push(
            app.seed_account(&owner, Seed::new(platform, name))
                .await
                .to_string(),
        );
    }
    for account in &accounts[..2] {
        app.assign_client(&owner, account, &client).await;
    }
    let put = |path: String, body: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            app.send(owner, reqwest::Method::PUT, &path, Some(body))
                .await
        }
    };

    // The client's times: Tokyo mornings. Another workspace cannot read or set them.
    let tokyo = json!({"time_zone": "Asia/Tokyo", "slots": [{"days": ["mon", "tue", "wed", "thu", "fri"], "time": "09:00"}]});
    let (status, saved) = put(format!("/api/v1/clients/{client}/queue"), tokyo.clone()).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, _) = app
        .get(&other, &format!("/api/v1/clients/{client}/queue"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .send(
            &other,
            reqwest::Method::PUT,
            &format!("/api/v1/clients/{client}/queue"),
            Some(tokyo),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, read) = app
        .get(&owner, &format!("/api/v1/clients/{client}/queue"))
        .await;
    assert_eq!(read["time_zone"], "Asia/Tokyo");

    // The LinkedIn account has its own times (Berlin evenings), which win over its client's.
    let (status, _) = put(
        format!("/api/v1/accounts/{}/queue", accounts[1]),
        json!({"time_zone": "Europe/Berlin", "slots": [{"days": ["mon"], "time": "18:00"}]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // The account without a client or times of its own is named; nothing is stored.
    let (status, problem) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Queued", "accounts": [accounts[0], accounts[2]], "queue": true}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "accounts[1]", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nor has its client"),
        "{problem}"
    );

    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Queued", "accounts": [accounts[0], accounts[1]], "queue": true}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let mut expected = vec![
        // Tuesday 09:00 in Tokyo (Monday's has passed: 15:00 there).
        (accounts[0].clone(), at("2026-06-02T00:00:00Z")),
        // Monday 18:00 in Berlin (CEST).
        (accounts[1].clone(), at("2026-06-01T16:00:00Z")),
    ];
    expected.sort();
    assert_eq!(times(&post), expected);
}
