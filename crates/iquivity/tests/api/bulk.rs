//! Bulk actions: one action on many accounts, chosen by id or by a list filter; each account acted on by
//! itself and reported by itself, with roles and workspaces applied per account.

use crate::helpers::*;
use iquivity_domain::{Plan, Platform};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;

async fn bulk(app: &TestApp, user: &User, body: Value) -> (StatusCode, Value) {
    app.post(user, "/api/v1/accounts/bulk", body).await
}

/// Each account's outcome, by id.
fn outcomes(report: &Value) -> BTreeMap<String, String> {
    report["results"]
        .as_array()
        .unwrap_or_else(|| panic!("a report: {report}"))
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_string(),
                r["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn labels_of(app: &TestApp, user: &User, id: &str) -> Vec<String> {
    let (_, account) = app.get(user, &format!("/api/v1/accounts/{id}")).await;
    strings(&account["labels"])
}

fn strings(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn labels_are_added_and_removed_per_account_and_other_workspaces_ids_are_not_found() {
    let app = spawn_app().await;
    let owner = app.sign_up("bulk-labels@example.com", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    let other = app.sign_up("bulk-other@example.com", "Other").await;
    let a = app
        .seed_account(&owner, Seed::new(Platform::X, "Ann"))
        .await;
    let b = app
        .seed_account(
            &owner,
            Seed::new(Platform::Tiktok, "Ben").labels(vec!["VIP"]),
        )
        .await;
    let foreign = app
        .seed_account(&other, Seed::new(Platform::X, "Not yours"))
        .await;
    let unknown = iquivity_domain::AccountId::new();

    let (status, report) = bulk(
        &app,
        &owner,
        json!({"action": "add_label", "label": "vip",
               "ids": [a.to_string(), b.to_string(), foreign.to_string(), unknown.to_string(), a.to_string()]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        outcomes(&report),
        BTreeMap::from([
            (a.to_string(), "labelled".to_string()),
            (b.to_string(), "unchanged".to_string()),
            (foreign.to_string(), "not_found".to_string()),
            (unknown.to_string(), "not_found".to_string()),
        ]),
        "each account once; the label compared in any case; another workspace's is not found"
    );
    assert_eq!(
        report["results"][2]["display_name"],
        Value::Null,
        "nothing of another workspace's account is told"
    );
    assert_eq!(labels_of(&app, &owner, &a.to_string()).await, ["vip"]);
    assert!(
        labels_of(&app, &other, &foreign.to_string())
            .await
            .is_empty(),
        "the other workspace's account is untouched"
    );

    let (_, report) = bulk(
        &app,
        &owner,
        json!({"action": "remove_label", "label": "VIP", "ids": [a.to_string(), b.to_string()]}),
    )
    .await;
    assert_eq!(
        outcomes(&report).values().collect::<Vec<_>>(),
        ["unlabelled", "unlabelled"]
    );
    assert!(labels_of(&app, &owner, &b.to_string()).await.is_empty());

    // Mistakes are named by field, and nothing changes.
    for (body, field) in [
        (
            json!({"action": "add_label", "ids": [a.to_string()]}),
            "label",
        ),
        (json!({"action": "refresh"}), "ids"),
        (
            json!({"action": "refresh", "ids": [a.to_string()], "filter": "platform=x"}),
            "ids",
        ),
        (json!({"action": "refresh", "ids": ["nope"]}), "ids"),
        (json!({"action": "refresh", "ids": []}), "ids"),
        (
            json!({"action": "refresh", "filter": "colour=blue"}),
            "colour",
        ),
        (
            json!({"action": "assign_client", "ids": [a.to_string()]}),
            "client_id",
        ),
        (
            json!({"action": "assign_client", "client_id": uuid::Uuid::now_v7(), "ids": [a.to_string()]}),
            "client_id",
        ),
        (
            json!({"action": "add_label", "label": "x".repeat(41), "ids": [a.to_string()]}),
            "labels",
        ),
    ] {
        let (status, problem) = bulk(&app, &owner, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let (status, problem) = bulk(&app, &owner, json!({"action": "paint"})).await;
    assert!(status.is_client_error(), "{problem}");
}

#[tokio::test]
async fn a_filter_selects_every_matching_account_across_pages_and_clients_are_assigned() {
    let app = spawn_app().await;
    let owner = app.sign_up("bulk-filter@example.com", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Enterprise).await;
    let mut xs = Vec::new();
    for n in 0..60 {
        xs.push(
            app.seed_account(&owner, Seed::new(Platform::X, format!("X {n:02}")))
                .await,
        );
    }
    let tiktok = app
        .seed_account(&owner, Seed::new(Platform::Tiktok, "Dancer"))
        .await;
    let acme_id = &app.add_client(&owner, "Acme").await;

    // More than one page of the list (50 by default): every match is taken.
    let (status, report) = bulk(
        &app,
        &owner,
        json!({"action": "assign_client", "client_id": acme_id, "filter": "platform=x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let done = outcomes(&report);
    assert_eq!(done.len(), 60);
    assert!(done.values().all(|o| o == "assigned"), "{report}");
    assert!(!done.contains_key(&tiktok.to_string()));
    let (_, page) = app
        .get(
            &owner,
            &format!("/api/v1/accounts?client={acme_id}&limit=200"),
        )
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 60);

    // And back to no client.
    let (_, report) = bulk(
        &app,
        &owner,
        json!({"action": "assign_client", "client_id": null, "ids": [xs[0].to_string(), tiktok.to_string()]}),
    )
    .await;
    assert_eq!(
        outcomes(&report),
        BTreeMap::from([
            (xs[0].to_string(), "assigned".to_string()),
            (tiktok.to_string(), "unchanged".to_string()),
        ])
    );
}

#[tokio::test]
async fn members_may_refresh_in_bulk_but_not_remove_or_relabel() {
    let app = spawn_app().await;
    let owner = app.sign_up("bulk-roles@example.com", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    let account = app
        .seed_account(&owner, Seed::new(Platform::X, "Shared"))
        .await;
    let code = app.invitation_code(&owner, "member").await;
    let client = browser_client();
    let response = app
        .sign_up_invited(&client, "bulk-member@example.com", &code)
        .await;
    assert!(response.status().is_success());
    let member = app.user_of(client, "bulk-member@example.com").await;

    for action in [
        json!({"action": "remove"}),
        json!({"action": "add_label", "label": "mine"}),
        json!({"action": "assign_client", "client_id": null}),
    ] {
        let mut body = action.clone();
        body["ids"] = json!([account.to_string()]);
        let (status, report) = bulk(&app, &member, body).await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["results"][0]["outcome"], "forbidden", "{action}");
        assert!(report["results"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("owners and admins"));
    }
    let (_, still) = app
        .get(&owner, &format!("/api/v1/accounts/{account}"))
        .await;
    assert_eq!(still["display_name"], "Shared", "not removed");
    assert!(strings(&still["labels"]).is_empty(), "not relabelled");

    let (_, report) = bulk(
        &app,
        &member,
        json!({"action": "refresh", "ids": [account.to_string()]}),
    )
    .await;
    assert_ne!(report["results"][0]["outcome"], "forbidden", "{report}");
}

#[tokio::test]
async fn a_bulk_refresh_reports_each_outcome_and_a_bulk_removal_counts_the_posts_it_cancels() {
    let app = spawn_app().await;
    let demo = iquivity::demo::create(&app.app).await.unwrap();
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    // An account whose token the platform does not know: only its owner's consent can repair it.
    let stranger = app
        .seed_account(&owner, Seed::new(Platform::X, "Token Lost"))
        .await;

    let (status, report) = bulk(
        &app,
        &owner,
        json!({"action": "refresh", "filter": "platform=x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let done = outcomes(&report);
    assert_eq!(done[&stranger.to_string()], "needs_consent", "{report}");
    let refreshed = done.values().filter(|o| *o == "refreshed").count();
    assert_eq!(refreshed, done.len() - 1, "the others refreshed: {report}");
    assert!(refreshed >= 2);

    // Schedule a post to one X account, then preview and remove the X accounts.
    let (_, page) = app
        .get(&owner, "/api/v1/accounts?platform=x&status=active")
        .await;
    let first = page["items"][0]["id"].as_str().unwrap().to_string();
    let at = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Later", "accounts": [first], "publish_at": at}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (_, preview) = bulk(
        &app,
        &owner,
        json!({"action": "remove", "filter": "platform=x", "preview": true}),
    )
    .await;
    let scheduled: u64 = preview["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "would_remove");
            r["scheduled_posts"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(scheduled, 1, "{preview}");
    let (_, still) = app.get(&owner, "/api/v1/accounts?platform=x").await;
    assert_eq!(
        still["items"].as_array().unwrap().len(),
        done.len(),
        "a preview removes nothing"
    );

    let (_, removal) = bulk(
        &app,
        &owner,
        json!({"action": "remove", "filter": "platform=x"}),
    )
    .await;
    assert!(
        outcomes(&removal).values().all(|o| o == "removed"),
        "{removal}"
    );
    let (_, gone) = app.get(&owner, "/api/v1/accounts?platform=x").await;
    assert!(gone["items"].as_array().unwrap().is_empty());
    let (_, left) = app.get(&owner, "/api/v1/accounts/summary").await;
    assert_eq!(
        left["total"].as_u64().unwrap() as usize,
        demo.accounts + 1 - done.len()
    );
}
