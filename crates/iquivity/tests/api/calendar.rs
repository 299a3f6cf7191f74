//! The calendar's API: a bounded range of posts, one item per account, filtered, with the at-risk mark.

use crate::helpers::*;
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{Plan, Platform, StatusReason};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn schedule(
    app: &TestApp,
    owner: &User,
    text: &str,
    accounts: &[&str],
    at: DateTime<Utc>,
) -> String {
    let (status, post) = app
        .post(
            owner,
            "/api/v1/posts",
            json!({"text": text, "accounts": accounts, "publish_at": at.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    post["id"].as_str().unwrap().to_string()
}

fn range(from: DateTime<Utc>, days: i64) -> String {
    let encode = |at: DateTime<Utc>| {
        url::form_urlencoded::byte_serialize(at.to_rfc3339().as_bytes()).collect::<String>()
    };
    format!(
        "/api/v1/calendar?from={}&to={}",
        encode(from),
        encode(from + Duration::days(days))
    )
}

/// (text, account name, state, at risk) of each item, in the answer's order.
fn items(calendar: &Value) -> Vec<(String, String, String, bool)> {
    calendar["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{calendar}"))
        .iter()
        .map(|i| {
            (
                i["text"].as_str().unwrap().to_string(),
                i["account_name"].as_str().unwrap().to_string(),
                i["state"].as_str().unwrap().to_string(),
                i["at_risk"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_calendar_answers_a_range_by_time_per_account_filtered_and_marked_at_risk() {
    let app = spawn_app_with(|c| c.run_lifecycle = false).await;
    let owner = app.sign_up("calendar@example.com", "Calendar Agency").await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    let client = app.add_client(&owner, "Bakery").await;
    let ann = app
        .seed_account(&owner, Seed::new(Platform::X, "Ann"))
        .await
        .to_string();
    let ben = app
        .seed_account(&owner, Seed::new(Platform::Linkedin, "Ben"))
        .await
        .to_string();
    app.assign_client(&owner, &ann, &client).await;
    let start = Utc::now() + Duration::hours(1);
    schedule(
        &app,
        &owner,
        "Both",
        &[&ann, &ben],
        start + Duration::days(3),
    )
    .await;
    let moved = schedule(
        &app,
        &owner,
        "Ann only",
        &[&ann],
        start + Duration::days(10),
    )
    .await;
    schedule(&app, &owner, "Later", &[&ben], start + Duration::days(40)).await;

    let (status, month) = app.get(&owner, &range(start, 30)).await;
    assert_eq!(status, StatusCode::OK, "{month}");
    let got = items(&month);
    assert_eq!(got.len(), 3, "{month}");
    assert_eq!(got[2].0, "Ann only", "in time order");
    assert!(got[..2]
        .iter()
        .all(|i| i.0 == "Both" && i.2 == "scheduled" && !i.3));
    assert_eq!(month["truncated"], false);

    // Filters: a client, an account, a platform.
    let (_, bakery) = app
        .get(&owner, &format!("{}&client={client}", range(start, 30)))
        .await;
    assert!(items(&bakery).iter().all(|i| i.1 == "Ann"), "{bakery}");
    assert_eq!(items(&bakery).len(), 2);
    let (_, bens) = app
        .get(&owner, &format!("{}&account={ben}", range(start, 62)))
        .await;
    let texts: Vec<String> = items(&bens).into_iter().map(|i| i.0).collect();
    assert_eq!(texts, ["Both", "Later"]);
    let (_, linkedin) = app
        .get(
            &owner,
            &format!("{}&platform=linkedin&platform=", range(start, 30)),
        )
        .await;
    assert_eq!(
        items(&linkedin).len(),
        1,
        "an empty value means any: {linkedin}"
    );

    // An account that is not Active puts its scheduled posts at risk.
    app.app
        .core
        .change_account_status(
            owner.workspace_id,
            ben.parse().unwrap(),
            Some(StatusReason::TokenRevoked),
            None,
        )
        .await
        .unwrap();
    let (_, risky) = app.get(&owner, &range(start, 30)).await;
    let at_risk: Vec<(String, bool)> = items(&risky).into_iter().map(|i| (i.1, i.3)).collect();
    assert!(
        at_risk.contains(&("Ben".to_string(), true))
            && at_risk.contains(&("Ann".to_string(), false))
    );

    // Moved through the posts API: the calendar follows.
    let (status, _) = app
        .patch(
            &owner,
            &format!("/api/v1/posts/{moved}"),
            json!({"publish_at": (start + Duration::days(35)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, after) = app.get(&owner, &range(start, 30)).await;
    assert!(!items(&after).iter().any(|i| i.0 == "Ann only"), "{after}");

    // A removed account's posts stay, by the name it had, cancelled.
    app.delete(&owner, &format!("/api/v1/accounts/{ben}")).await;
    let (_, removed) = app.get(&owner, &range(start, 30)).await;
    assert!(
        items(&removed).contains(&(
            "Both".to_string(),
            "Ben (removed)".to_string(),
            "cancelled".to_string(),
            false
        )),
        "{removed}"
    );
}

#[tokio::test]
async fn a_calendar_range_is_bounded_and_another_workspace_sees_none_of_it() {
    let app = spawn_app_with(|c| c.run_lifecycle = false).await;
    let owner = app.sign_up("bounds@example.com", "Bounds").await;
    let other = app.sign_up("elsewhere@example.com", "Elsewhere").await;
    let ann = app
        .seed_account(&owner, Seed::new(Platform::X, "Ann"))
        .await
        .to_string();
    let start = Utc::now() + Duration::hours(1);
    schedule(&app, &owner, "Ours", &[&ann], start + Duration::days(1)).await;
    for (path, field) in [
        (range(start, 63), "to"),
        (range(start, 0), "to"),
        ("/api/v1/calendar?to=2026-12-01".to_string(), "from"),
        (
            "/api/v1/calendar?from=yesterday&to=2026-12-01".to_string(),
            "from",
        ),
        (format!("{}&platform=myspace", range(start, 7)), "platform"),
    ] {
        let (status, problem) = app.get(&owner, &path).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{path}: {problem}");
    }
    let (status, days) = app
        .get(
            &owner,
            &format!(
                "/api/v1/calendar?from={}&to={}",
                start.format("%Y-%m-%d"),
                (start + Duration::days(7)).format("%Y-%m-%d")
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "dates mean midnight UTC: {days}");
    assert_eq!(items(&days).len(), 1);
    let (_, theirs) = app.get(&other, &range(start, 30)).await;
    assert_eq!(theirs["items"], json!([]));
}
