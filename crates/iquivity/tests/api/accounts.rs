use crate::helpers::*;
use chrono::{TimeZone, Utc};
use iquivity_domain::{AccountKind, Plan, Platform, StatusReason};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn at(y: i32, m: u32, d: u32, h: u32) -> Option<chrono::DateTime<Utc>> {
    Some(Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap())
}

/// A workspace with a spread of platforms, statuses, dates, owners and labels.
async fn agency(app: &TestApp) -> (User, User) {
    let owner = app.sign_up("owner@agency.example", "Agency").await;
    app.set_plan(owner.workspace_id, Plan::Enterprise).await;
    let code = app.invitation_code(&owner, "admin").await;
    let admin_client = client();
    let response = app
        .sign_up_invited(&admin_client, "admin@agency.example", &code)
        .await;
    let session: Value = response.json().await.unwrap();
    let admin = User {
        email: "admin@agency.example".into(),
        password: PASSWORD.into(),
        token: app.create_token(&admin_client).await,
        client: admin_client,
        user_id: session["user_id"].as_str().unwrap().parse().unwrap(),
        workspace_id: owner.workspace_id,
    };
    let seeds = [
        (
            &owner,
            Platform::Facebook,
            "Mason Carter",
            Some("masoncarter"),
            at(2025, 8, 25, 9),
            None,
            vec!["business"],
        ),
        (
            &owner,
            Platform::Instagram,
            "Isabella Morgan",
            Some("isabella.morgan"),
            at(2025, 8, 25, 10),
            None,
            vec!["business", "Client A"],
        ),
        (
            &admin,
            Platform::X,
            "Ethan Brooks",
            Some("ethanb"),
            at(2025, 9, 1, 12),
            Some(StatusReason::TokenExpired),
            vec!["personal"],
        ),
        (
            &admin,
            Platform::Linkedin,
            "Olivia Bennett",
            None,
            at(2025, 9, 15, 8),
            Some(StatusReason::MissingPermissions),
            vec![],
        ),
        (
            &owner,
            Platform::Tiktok,
            "Liam Foster",
            Some("liam_carterfan"),
            at(2025, 10, 2, 18),
            None,
            vec!["client a"],
        ),
        (
            &owner,
            Platform::Facebook,
            "Ávila Café",
            Some("avilacafe"),
            at(2025, 10, 20, 7),
            Some(StatusReason::TokenRevoked),
            vec![],
        ),
    ];
    for (user, platform, name, handle, created_at, reason, labels) in seeds {
        app.seed_account(
            user,
            Seed {
                handle,
                created_at,
                reason,
                labels,
                kind: AccountKind::Page,
                ..Seed::new(platform, name)
            },
        )
        .await;
    }
    (owner, admin)
}

#[tokio::test]
async fn the_list_is_newest_first_and_each_filter_narrows_it() {
    let app = spawn_app().await;
    let (owner, admin) = agency(&app).await;
    let list = |query: &str| {
        let path = format!("/api/v1/accounts{query}");
        let app = &app;
        let owner = &owner;
        async move {
            let (status, page) = app.get(owner, &path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {page}");
            names(&page)
        }
    };
    assert_eq!(
        list("").await,
        [
            "Ávila Café",
            "Liam Foster",
            "Olivia Bennett",
            "Ethan Brooks",
            "Isabella Morgan",
            "Mason Carter"
        ]
    );
    // Search: name or handle, any case, Unicode too.
    assert_eq!(list("?q=CARTER").await, ["Liam Foster", "Mason Carter"]);
    assert_eq!(list("?q=%C3%A1vila").await, ["Ávila Café"]);
    assert_eq!(list("?q=isabella.m").await, ["Isabella Morgan"]);
    assert_eq!(
        list("?q=%25").await,
        Vec::<String>::new(),
        "LIKE wildcards are literal"
    );
    // What people type: a handle with its @, platforms by alias, labels, words in any order, dates in part.
    assert_eq!(list("?q=%40ethanb").await, ["Ethan Brooks"]);
    assert_eq!(list("?q=twitter").await, ["Ethan Brooks"]);
    assert_eq!(list("?q=ig").await, ["Isabella Morgan"]);
    assert_eq!(list("?q=fb").await, ["Ávila Café", "Mason Carter"]);
    assert_eq!(list("?q=linkedin").await, ["Olivia Bennett"]);
    assert_eq!(
        list("?q=client%20a").await,
        ["Liam Foster", "Isabella Morgan"],
        "a label, by its words"
    );
    assert_eq!(list("?q=carter%20mason").await, ["Mason Carter"]);
    assert_eq!(list("?q=business%20ig").await, ["Isabella Morgan"]);
    assert_eq!(
        list("?q=Aug%2025").await,
        ["Isabella Morgan", "Mason Carter"],
        "a day of any year"
    );
    assert_eq!(
        list("?q=Sep%202025").await,
        ["Olivia Bennett", "Ethan Brooks"],
        "a month"
    );
    assert_eq!(list("?q=2025").await.len(), 6, "a year");
    assert!(list("?q=2024").await.is_empty());
    // Platform and status, each repeatable.
    assert_eq!(
        list("?platform=facebook").await,
        ["Ávila Café", "Mason Carter"]
    );
    assert_eq!(
        list("?platform=x&platform=linkedin").await,
        ["Olivia Bennett", "Ethan Brooks"]
    );
    assert_eq!(
        list("?status=inactive").await,
        ["Ávila Café", "Ethan Brooks"]
    );
    assert_eq!(list("?status=failed").await, ["Olivia Bennett"]);
    assert_eq!(
        list("?status=active&platform=facebook").await,
        ["Mason Carter"]
    );
    // Dates: a date covers the whole day; RFC 3339 is exact.
    assert_eq!(
        list("?created_from=2025-08-25&created_to=2025-08-25").await,
        ["Isabella Morgan", "Mason Carter"]
    );
    assert_eq!(
        list("?created_from=2025-09-01T12:00:00Z&created_to=2025-09-15").await,
        ["Olivia Bennett", "Ethan Brooks"]
    );
    assert_eq!(
        list("?created_to=2025-08-25T09:00:00Z").await,
        ["Mason Carter"]
    );
    // Owner by email or id, label case-insensitively.
    assert_eq!(
        list("?owner=admin@agency.example").await,
        ["Olivia Bennett", "Ethan Brooks"]
    );
    assert_eq!(
        list(&format!("?owner={}", admin.user_id)).await,
        ["Olivia Bennett", "Ethan Brooks"]
    );
    assert_eq!(
        list("?owner=stranger@example.com").await,
        Vec::<String>::new()
    );
    assert_eq!(
        list("?label=CLIENT%20A").await,
        ["Liam Foster", "Isabella Morgan"]
    );
    assert_eq!(
        list("?label=business&platform=instagram").await,
        ["Isabella Morgan"]
    );
    // By a label's beginning, in any case; not by its middle.
    assert_eq!(list("?label=cLi").await, ["Liam Foster", "Isabella Morgan"]);
    assert_eq!(list("?label=ent").await, Vec::<String>::new());
}

#[tokio::test]
async fn every_sort_in_both_directions() {
    let app = spawn_app().await;
    let (owner, _) = agency(&app).await;
    let sorted = |sort: &str| {
        let path = format!("/api/v1/accounts?sort={sort}");
        let app = &app;
        let owner = &owner;
        async move { app.get(owner, &path).await.1 }
    };
    let by_name = names(&sorted("name").await);
    // Lower-cased, then by code point: names that start with an accented letter come after z.
    assert_eq!(
        by_name,
        [
            "Ethan Brooks",
            "Isabella Morgan",
            "Liam Foster",
            "Mason Carter",
            "Olivia Bennett",
            "Ávila Café"
        ]
    );
    let mut reversed = by_name.clone();
    reversed.reverse();
    assert_eq!(names(&sorted("-name").await), reversed);
    assert_eq!(names(&sorted("created_at").await)[0], "Mason Carter");
    let platforms = |page: Value| -> Vec<String> { strings_at(&page["items"], "platform") };
    assert_eq!(
        platforms(sorted("platform").await),
        [
            "facebook",
            "facebook",
            "instagram",
            "linkedin",
            "tiktok",
            "x"
        ]
    );
    assert_eq!(
        platforms(sorted("-platform").await),
        [
            "x",
            "tiktok",
            "linkedin",
            "instagram",
            "facebook",
            "facebook"
        ]
    );
    let statuses = |page: Value| -> Vec<String> { strings_at(&page["items"], "status") };
    // By severity, the most urgent first: not the alphabet's order.
    assert_eq!(
        statuses(sorted("status").await),
        ["failed", "inactive", "inactive", "active", "active", "active"]
    );
    assert_eq!(
        statuses(sorted("-status").await),
        ["active", "active", "active", "inactive", "inactive", "failed"]
    );
}

#[tokio::test]
async fn cursor_pages_have_no_gaps_or_duplicates_while_rows_come_and_go() {
    let app = spawn_app().await;
    let owner = app.sign_up("pager@example.com", "Pager").await;
    app.set_plan(owner.workspace_id, Plan::Enterprise).await;
    let mut ids = Vec::new();
    for i in 0..25u32 {
        let id = app
            .seed_account(
                &owner,
                Seed {
                    created_at: at(2025, 1, 1 + i, 0),
                    ..Seed::new(Platform::X, format!("Account {i:02}"))
                },
            )
            .await;
        ids.push(id);
    }
    for sort in ["-created_at", "name", "-name", "platform", "status"] {
        let mut seen: Vec<String> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/api/v1/accounts?limit=7&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = app.get(&owner, &path).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            seen.extend(names(&page));
            pages += 1;
            if pages == 2 && sort == "-created_at" {
                // New rows sort before the cursor (newer); they must not shift what comes next.
                app.seed_account(&owner, Seed::new(Platform::X, "Newcomer"))
                    .await;
                // A row not yet seen is removed: it must simply not appear.
                let (status, _) = app
                    .delete(&owner, &format!("/api/v1/accounts/{}", ids[2]))
                    .await;
                assert_eq!(status, StatusCode::NO_CONTENT);
            }
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{sort}: duplicates in {seen:?}");
        if sort == "-created_at" {
            assert_eq!(
                seen.len(),
                24,
                "25 minus the removed one; the newcomer came before the cursor"
            );
            assert!(!seen.contains(&"Account 02".to_string()));
            assert!(!seen.contains(&"Newcomer".to_string()));
            assert_eq!(pages, 4);
        } else {
            assert_eq!(seen.len(), 25, "{sort}: 24 originals left + the newcomer");
        }
    }

    let (status, page) = app.get(&owner, "/api/v1/accounts?limit=3&sort=name").await;
    assert_eq!(status, StatusCode::OK);
    let cursor = page["next_cursor"].as_str().unwrap();
    let response = reqwest::Client::new()
        .get(app.url(&format!(
            "/api/v1/accounts?sort=-created_at&cursor={cursor}"
        )))
        .bearer_auth(&owner.token)
        .sent()
        .await;
    let body = expect_invalid(response).await;
    assert_eq!(body["errors"][0]["field"], "cursor");
}

#[tokio::test]
async fn the_summary_counts_statuses_and_platforms_and_shows_the_plan() {
    let app = spawn_app().await;
    let (owner, _) = agency(&app).await;
    let (status, summary) = app.get(&owner, "/api/v1/accounts/summary").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(summary["total"], 6);
    assert_eq!(summary["active"], 3);
    assert_eq!(summary["inactive"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(
        summary["per_platform"]["facebook"],
        json!({"total": 2, "active": 1, "inactive": 1, "failed": 0})
    );
    assert_eq!(summary["per_platform"]["linkedin"]["failed"], 1);
    assert_eq!(
        summary["plan"],
        json!({"name": "enterprise", "max_accounts": null, "max_accounts_per_platform": null, "used": 6})
    );

    let (_, deleted) = app.get(&owner, "/api/v1/accounts?platform=linkedin").await;
    let id = deleted["items"][0]["id"].as_str().unwrap();
    app.delete(&owner, &format!("/api/v1/accounts/{id}")).await;
    let (_, summary) = app.get(&owner, "/api/v1/accounts/summary").await;
    assert_eq!(summary["total"], 5);
    assert_eq!(summary["failed"], 0);
}

#[tokio::test]
async fn new_workspaces_start_on_the_configured_plan_and_its_limits_hold() {
    let app = spawn_app().await;
    let user = app.sign_up("free@example.com", "Free").await;
    let (_, summary) = app.get(&user, "/api/v1/accounts/summary").await;
    assert_eq!(
        summary["plan"],
        json!({"name": "free", "max_accounts": 3, "max_accounts_per_platform": 1, "used": 0})
    );
    app.seed_account(&user, Seed::new(Platform::X, "First X"))
        .await;
    let second_x = app
        .app
        .core
        .record_connection(
            &app.app.core.caller_from_token(&user.token).await.unwrap(),
            iquivity_core::accounts::NewConnection {
                platform: Platform::X,
                kind: AccountKind::Profile,
                platform_account_id: "second".into(),
                display_name: "Second X".into(),
                handle: None,
                avatar_url: None,
                scopes: vec![],
                labels: vec![],
                tokens: iquivity_domain::TokenSet::bearer(secrecy::SecretString::from(
                    "t".to_string(),
                )),
                sandbox: true,
            },
        )
        .await;
    match second_x {
        Err(iquivity_core::CoreError::PlanLimit(message)) => {
            assert!(message.contains("free plan allows 1 X"), "{message}")
        }
        other => panic!(
            "expected the plan limit, got {:?}",
            other.map(|o| o.account.id)
        ),
    }

    let app = spawn_app_with(|c| c.default_plan = Plan::Starter).await;
    let user = app.sign_up("starter@example.com", "Starter").await;
    let (_, summary) = app.get(&user, "/api/v1/accounts/summary").await;
    assert_eq!(summary["plan"]["name"], "starter");
    assert_eq!(summary["plan"]["max_accounts"], 10);
}

#[tokio::test]
async fn another_workspace_s_account_is_not_found_whatever_the_method() {
    let app = spawn_app().await;
    let (owner, _) = agency(&app).await;
    let stranger = app.sign_up("stranger@example.com", "Elsewhere").await;
    let (_, page) = app.get(&owner, "/api/v1/accounts?limit=1").await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/accounts/{id}");

    let (_, theirs) = app.get(&stranger, "/api/v1/accounts").await;
    assert_eq!(theirs["items"], json!([]));
    let (_, summary) = app.get(&stranger, "/api/v1/accounts/summary").await;
    assert_eq!(summary["total"], 0);
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"labels": ["mine now"]}))),
        (Method::DELETE, None),
    ] {
        let mut request = reqwest::Client::new()
            .request(method.clone(), app.url(&path))
            .bearer_auth(&stranger.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        expect_problem(
            request.sent().await,
            StatusCode::NOT_FOUND,
            "/problems/not-found",
        )
        .await;
    }
    let events = reqwest::Client::new()
        .get(app.url(&format!("{path}/events")))
        .bearer_auth(&stranger.token)
        .sent()
        .await;
    expect_problem(events, StatusCode::NOT_FOUND, "/problems/not-found").await;

    let (status, account) = app.get(&owner, &path).await;
    assert_eq!(status, StatusCode::OK, "the owner's account is untouched");
    assert_ne!(account["labels"], json!(["mine now"]));
}

#[tokio::test]
async fn members_view_but_cannot_relabel_or_remove() {
    let app = spawn_app().await;
    let (owner, admin) = agency(&app).await;
    let code = app.invitation_code(&owner, "member").await;
    let member_client = client();
    app.sign_up_invited(&member_client, "member@agency.example", &code)
        .await;
    let member_token = app.create_token(&member_client).await;
    let (_, page) = app.get(&owner, "/api/v1/accounts?limit=1").await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/accounts/{id}");

    let view = reqwest::Client::new()
        .get(app.url(&path))
        .bearer_auth(&member_token)
        .sent()
        .await;
    assert_eq!(view.status(), StatusCode::OK);
    let relabel = reqwest::Client::new()
        .patch(app.url(&path))
        .bearer_auth(&member_token)
        .json(&json!({"labels": ["x"]}))
        .sent()
        .await;
    expect_problem(relabel, StatusCode::FORBIDDEN, "/problems/forbidden").await;
    let remove = reqwest::Client::new()
        .delete(app.url(&path))
        .bearer_auth(&member_token)
        .sent()
        .await;
    expect_problem(remove, StatusCode::FORBIDDEN, "/problems/forbidden").await;

    // An admin may do both.
    let (status, account) = app
        .patch(&admin, &path, json!({"labels": ["Client B", " vip "]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["labels"], json!(["Client B", "vip"]));
    let (status, _) = app.delete(&admin, &path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.get(&owner, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn renaming_relabelling_and_removing_are_recorded_in_the_history() {
    let app = spawn_app().await;
    let owner = app.sign_up("history@example.com", "History").await;
    let id = app
        .seed_account(
            &owner,
            Seed::new(Platform::Tiktok, "Original Name").handle("orig"),
        )
        .await;
    let path = format!("/api/v1/accounts/{id}");

    let (status, account) = app
        .patch(&owner, &path, json!({"display_name": "Client Z — TikTok"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["display_name"], "Client Z — TikTok");
    assert_eq!(account["platform_display_name"], "Original Name");
    let (_, found) = app.get(&owner, "/api/v1/accounts?q=client%20z").await;
    assert_eq!(names(&found), ["Client Z — TikTok"]);

    let (_, account) = app
        .patch(
            &owner,
            &path,
            json!({"display_name": null, "labels": ["personal"]}),
        )
        .await;
    assert_eq!(account["display_name"], "Original Name");
    assert_eq!(account["labels"], json!(["personal"]));

    app.app
        .core
        .change_account_status(
            owner.workspace_id,
            id,
            Some(StatusReason::TokenExpired),
            None,
        )
        .await
        .unwrap();
    let (_, account) = app.get(&owner, &path).await;
    assert_eq!(account["status"], "inactive");
    assert_eq!(account["status_reason"], "token_expired");
    assert_eq!(account["status_message"], "The connection expired.");
    assert!(account["status_advice"]
        .as_str()
        .unwrap()
        .contains("Refresh"));

    let (_, events) = app.get(&owner, &format!("{path}/events")).await;
    let kinds = strings_at(&events, "kind");
    assert_eq!(
        kinds,
        ["status_changed", "labels_changed", "renamed", "connected"]
    );
    assert_eq!(events[3]["actor_id"], owner.user_id.to_string());
}

#[tokio::test]
async fn reconnecting_the_same_platform_account_updates_it_instead_of_duplicating() {
    let app = spawn_app().await;
    let owner = app.sign_up("again@example.com", "Again").await;
    let first = app
        .seed_account(
            &owner,
            Seed::new(Platform::Facebook, "Old Name")
                .platform_account_id("page-1")
                .labels(vec!["keep me"]),
        )
        .await;
    let second = app
        .seed_account(
            &owner,
            Seed::new(Platform::Facebook, "New Name").platform_account_id("page-1"),
        )
        .await;
    assert_eq!(first, second);
    let (_, page) = app.get(&owner, "/api/v1/accounts").await;
    assert_eq!(names(&page), ["New Name"]);
    assert_eq!(page["items"][0]["labels"], json!(["keep me"]));
}

#[tokio::test]
async fn the_platforms_and_the_api_description_are_served() {
    let app = spawn_app().await;
    let platforms: Value = reqwest::get(app.url("/api/v1/platforms"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids = strings_at(&platforms, "platform");
    assert_eq!(ids, ["facebook", "instagram", "x", "linkedin", "tiktok"]);
    assert_eq!(
        platforms[1]["connects"],
        "Instagram Business or Creator accounts"
    );
    assert!(platforms[0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["scope"] == "pages_manage_posts"));

    let doc = app.openapi().await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/accounts",
        "/api/v1/accounts/summary",
        "/api/v1/accounts/{id}",
        "/api/v1/auth/signup",
        "/api/v1/tokens",
        "/api/v1/platforms",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let health = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_describes_every_error_as_a_problem_and_enums_by_their_wire_names() {
    let app = spawn_app().await;
    let doc = app.openapi().await;
    let shared = &doc["components"]["responses"];
    for name in [
        "BadRequest",
        "Unauthorized",
        "NotFound",
        "Unprocessable",
        "ServerError",
    ] {
        assert_eq!(
            shared[name]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "{name}"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let answers = operation["responses"].as_object().unwrap();
            for (status, answer) in answers {
                // The readiness probe's 503 is its own report (which check failed), not a problem.
                let probe = path == "/readyz" && status == "503";
                if (status.starts_with('4') || status.starts_with('5')) && !probe {
                    assert!(
                        answer["$ref"]
                            .as_str()
                            .is_some_and(|r| r.starts_with("#/components/responses/")),
                        "{method} {path} {status} is not a shared problem answer: {answer}"
                    );
                }
            }
            for status in ["400", "422", "500"] {
                assert!(
                    answers.contains_key(status),
                    "{method} {path} lacks {status}"
                );
            }
            let public = [
                "/healthz",
                "/readyz",
                "/api/v1/openapi.json",
                "/api/v1/auth/signup",
                "/api/v1/auth/login",
            ];
            if !public.contains(&path.as_str()) {
                assert!(answers.contains_key("401"), "{method} {path} lacks 401");
                assert!(answers.contains_key("403"), "{method} {path} lacks 403");
            }
            if path.contains('{') {
                assert!(answers.contains_key("404"), "{method} {path} lacks 404");
            }
            if operation.get("requestBody").is_some() {
                assert!(answers.contains_key("415"), "{method} {path} lacks 415");
            }
        }
    }
    let media = &doc["paths"]["/api/v1/media"]["post"]["requestBody"]["content"];
    for kind in ["image/jpeg", "image/png", "video/mp4"] {
        assert!(media.get(kind).is_some(), "upload takes {kind}");
    }
    // The names on the wire, not the Rust variant names.
    assert_eq!(
        doc["components"]["schemas"]["Platform"]["enum"],
        json!(["facebook", "instagram", "x", "linkedin", "tiktok"])
    );
    assert_eq!(
        doc["components"]["schemas"]["Role"]["enum"],
        json!(["owner", "admin", "member"])
    );
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
}
