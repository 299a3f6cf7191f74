//! Clients: created, renamed and removed by owners and admins, seen by everyone in the workspace; accounts
//! assigned to one client at most, filtered by client (or by none), and kept, unassigned, when their client
//! is removed. Another workspace's clients cannot be touched or assigned.

use crate::helpers::*;
use iquivity_domain::{Plan, Platform};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn create(app: &TestApp, user: &User, body: Value) -> (StatusCode, Value) {
    app.post(user, "/api/v1/clients", body).await
}

/// The names of the accounts a list query answers.
async fn listed(app: &TestApp, user: &User, query: &str) -> Vec<String> {
    let (status, page) = app.get(user, &format!("/api/v1/accounts?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {page}");
    let mut names = names(&page);
    names.sort();
    names
}

#[tokio::test]
async fn clients_are_named_once_per_workspace_and_only_owners_and_admins_change_them() {
    let app = spawn_app().await;
    let owner = app.sign_up("clients@example.com", "Agency").await;
    let (status, acme) = create(
        &app,
        &owner,
        json!({"name": " Acme Bakery ", "colour": "#1F6FEB"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{acme}");
    assert_eq!(acme["name"], "Acme Bakery");
    assert_eq!(acme["colour"], "#1f6feb");
    let acme_id = acme["id"].as_str().unwrap().to_string();

    // Mistakes are named next to their field, and nothing is stored.
    for (body, field) in [
        (json!({"name": "ACME bakery"}), "name"),
        (json!({"name": "  "}), "name"),
        (json!({"name": "Zed", "colour": "blue"}), "colour"),
    ] {
        let (status, problem) = create(&app, &owner, body.clone()).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let (status, zed) = create(&app, &owner, json!({"name": "Zed Studio"})).await;
    assert_eq!(status, StatusCode::CREATED, "{zed}");
    let (_, list) = app.get(&owner, "/api/v1/clients").await;
    assert_eq!(
        list.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].clone())
            .collect::<Vec<_>>(),
        vec![json!("Acme Bakery"), json!("Zed Studio")],
        "by name: {list}"
    );
    assert_eq!(list[0]["accounts"], 0);

    // Renaming to a name taken in another case is refused; recolouring and clearing the colour work.
    let path = format!("/api/v1/clients/{acme_id}");
    let (status, problem) = app
        .patch(&owner, &path, json!({"name": "zed studio"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "name");
    let (status, renamed) = app
        .patch(
            &owner,
            &path,
            json!({"name": "Acme Bakeries", "colour": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(renamed["name"], "Acme Bakeries");
    assert!(renamed["colour"].is_null());

    // A member sees the clients but cannot change them.
    let code = app.invitation_code(&owner, "member").await;
    let member_client = client();
    app.sign_up_invited(&member_client, "member@example.com", &code)
        .await;
    let member = app.user_of(member_client, "member@example.com").await;
    let (status, seen) = app.get(&member, "/api/v1/clients").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen.as_array().unwrap().len(), 2);
    let (status, _) = create(&app, &member, json!({"name": "Mine"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.patch(&member, &path, json!({"name": "Mine"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.delete(&member, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another workspace cannot see or touch them.
    let stranger = app.sign_up("stranger@example.com", "Other").await;
    let (_, theirs) = app.get(&stranger, "/api/v1/clients").await;
    assert_eq!(theirs, json!([]));
    let (status, _) = app.patch(&stranger, &path, json!({"name": "Taken"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.delete(&stranger, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = app.get(&owner, "/api/v1/clients").await;
    assert_eq!(list[0]["name"], "Acme Bakeries", "unchanged: {list}");
    let (status, _) = app.delete(&owner, "/api/v1/clients/not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn accounts_belong_to_one_client_are_filtered_by_it_and_outlive_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("assign@example.com", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    let mut ids = Vec::new();
    for (platform, name) in [
        (Platform::X, "Acme on X"),
        (Platform::Facebook, "Acme on Facebook"),
        (Platform::Linkedin, "Zed on LinkedIn"),
        (Platform::Tiktok, "Nobody's"),
    ] {
        ids.push(app.seed_account(&owner, Seed::new(platform, name)).await);
    }
    let (_, acme) = create(&app, &owner, json!({"name": "Acme"})).await;
    let (_, zed) = create(&app, &owner, json!({"name": "Zed"})).await;
    let acme = acme["id"].as_str().unwrap().to_string();
    let zed = zed["id"].as_str().unwrap().to_string();
    for (account, client) in [(&ids[0], &acme), (&ids[1], &acme), (&ids[2], &zed)] {
        app.assign_client(&owner, account, client).await;
    }

    assert_eq!(
        listed(&app, &owner, &format!("client={acme}")).await,
        ["Acme on Facebook", "Acme on X"]
    );
    assert_eq!(
        listed(&app, &owner, &format!("client={zed}&client=none")).await,
        ["Nobody's", "Zed on LinkedIn"]
    );
    assert_eq!(listed(&app, &owner, "client=none").await, ["Nobody's"]);
    let (status, problem) = app.get(&owner, "/api/v1/accounts?client=acme").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["errors"][0]["field"], "client");
    let (_, list) = app.get(&owner, "/api/v1/clients").await;
    assert_eq!(list[0]["accounts"], 2, "{list}");

    // Another workspace's client cannot be assigned; the account keeps its client.
    let stranger = app.sign_up("other@example.com", "Other").await;
    let (_, foreign) = create(&app, &stranger, json!({"name": "Foreign"})).await;
    let (status, problem) = app
        .patch(
            &owner,
            &format!("/api/v1/accounts/{}", ids[0]),
            json!({"client_id": foreign["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["field"], "client_id");
    let (_, account) = app
        .get(&owner, &format!("/api/v1/accounts/{}", ids[0]))
        .await;
    assert_eq!(account["client_id"], acme.as_str());

    // Unassigning, and the history records each change.
    let (status, view) = app
        .patch(
            &owner,
            &format!("/api/v1/accounts/{}", ids[1]),
            json!({"client_id": null}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert!(view["client_id"].is_null());
    let (_, events) = app
        .get(&owner, &format!("/api/v1/accounts/{}/events", ids[1]))
        .await;
    let kinds: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "client_changed").count(),
        2,
        "{events}"
    );

    // Removing a client keeps its accounts, without a client.
    let (status, _) = app.delete(&owner, &format!("/api/v1/clients/{acme}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, account) = app
        .get(&owner, &format!("/api/v1/accounts/{}", ids[0]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(account["client_id"].is_null(), "{account}");
    assert_eq!(
        listed(&app, &owner, "client=none").await,
        ["Acme on Facebook", "Acme on X", "Nobody's"]
    );
}

/// The accounts page shows each account's client and filters by client without JavaScript.
#[tokio::test]
async fn the_accounts_page_shows_clients_and_filters_by_them() {
    let app = spawn_app().await;
    let (owner, _csrf) = app.browser_sign_up("page@example.com", "Agency").await;
    let acme_account = app
        .seed_account(&owner, Seed::new(Platform::X, "Acme Tweets"))
        .await;
    app.seed_account(&owner, Seed::new(Platform::Facebook, "Unassigned Page"))
        .await;
    let (_, acme) = create(&app, &owner, json!({"name": "Acme", "colour": "#cf222e"})).await;
    let acme = acme["id"].as_str().unwrap().to_string();
    app.assign_client(&owner, &acme_account, &acme).await;

    let page = owner.client.get(app.url("/")).text_body().await;
    assert!(page.contains("Client: Acme"), "the row names its client");
    assert!(
        page.contains(&format!("<option value=\"{acme}\">Acme</option>")),
        "the filter offers it"
    );
    let filtered = owner
        .client
        .get(app.url(&format!("/?client={acme}")))
        .text_body()
        .await;
    assert!(filtered.contains("Acme Tweets") && !filtered.contains("Unassigned Page"));
    assert!(
        filtered.contains(&format!("<option value=\"{acme}\" selected>Acme</option>")),
        "the choice is kept"
    );
    let none = owner.client.get(app.url("/?client=none")).text_body().await;
    assert!(none.contains("Unassigned Page") && !none.contains("Acme Tweets"));
}

/// The search box finds a client's accounts by the client's name, with other words in any order.
#[tokio::test]
async fn the_search_finds_accounts_by_their_clients_name() {
    let app = spawn_app().await;
    let owner = app.sign_up("client-search@example.com", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    let (_, harbor) = create(&app, &owner, json!({"name": "Harbor Coffee"})).await;
    let harbor = harbor["id"].as_str().unwrap().to_string();
    for (platform, name, client) in [
        (Platform::X, "Ann", Some(&harbor)),
        (Platform::Tiktok, "Ben", Some(&harbor)),
        (Platform::X, "Cat", None),
    ] {
        let id = app.seed_account(&owner, Seed::new(platform, name)).await;
        if let Some(client) = client {
            app.assign_client(&owner, &id, client).await;
        }
    }
    assert_eq!(listed(&app, &owner, "q=harbor").await, ["Ann", "Ben"]);
    assert_eq!(listed(&app, &owner, "q=x%20coffee").await, ["Ann"]);
    assert_eq!(listed(&app, &owner, "q=coffee%20tiktok").await, ["Ben"]);
}
