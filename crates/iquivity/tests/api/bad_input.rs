//! Every kind of bad input answers a 4xx problem+json that says what was wrong, and changes nothing.

use crate::helpers::*;
use iquivity_domain::Platform;
use reqwest::StatusCode;
use serde_json::json;

async fn field_of(response: reqwest::Response, status: StatusCode, kind: &str) -> String {
    let body = expect_problem(response, status, kind).await;
    body["errors"][0]["field"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn bad_list_parameters_name_the_parameter() {
    let app = spawn_app().await;
    let user = app.sign_up("q@example.com", "Q").await;
    let cases = [
        ("platform=myspace", "platform"),
        ("status=sleeping", "status"),
        ("created_from=2025-13-01", "created_from"),
        ("created_to=yesterday", "created_to"),
        (
            "created_from=2025-09-02&created_to=2025-09-01",
            "created_from",
        ),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-3", "limit"),
        ("limit=ten", "limit"),
        ("sort=colour", "sort"),
        ("cursor=not-a-cursor", "cursor"),
        ("owner=nobody", "owner"),
        ("colour=blue", "colour"),
        ("tz=900", "tz"),
    ];
    let long = format!("q={}", "a".repeat(201));
    for (query, field) in cases.into_iter().chain([(long.as_str(), "q")]) {
        let response = reqwest::Client::new()
            .get(app.url(&format!("/api/v1/accounts?{query}")))
            .bearer_auth(&user.token)
            .sent()
            .await;
        assert_eq!(
            field_of(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "/problems/validation"
            )
            .await,
            field,
            "{query}"
        );
    }
}

#[tokio::test]
async fn bad_bodies_are_refused_and_leave_the_account_as_it_was() {
    let app = spawn_app().await;
    let user = app.sign_up("b@example.com", "B").await;
    let id = app
        .seed_account(
            &user,
            Seed::new(Platform::X, "Steady").labels(vec!["original"]),
        )
        .await;
    let path = format!("/api/v1/accounts/{id}");
    let patch = |body: Vec<u8>, content_type: &'static str| {
        let request = reqwest::Client::new()
            .patch(app.url(&path))
            .bearer_auth(&user.token)
            .header("content-type", content_type)
            .body(body);
        async move { request.sent().await }
    };

    let r = patch(b"{\"labels\": [".to_vec(), "application/json").await;
    expect_problem(r, StatusCode::BAD_REQUEST, "/problems/malformed-json").await;
    let r = patch(
        b"{\"labels\": [\"a\"], \"colour\": 1}".to_vec(),
        "application/json",
    )
    .await;
    let body = expect_invalid(r).await;
    assert!(
        body["detail"].as_str().unwrap().contains("colour"),
        "{body}"
    );
    let r = patch(b"{\"labels\": \"vip\"}".to_vec(), "application/json").await;
    assert_eq!(
        field_of(r, StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation").await,
        "labels"
    );
    let r = patch(b"{\"labels\": [\"ok\", 7]}".to_vec(), "application/json").await;
    assert_eq!(
        field_of(r, StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation").await,
        "labels[1]"
    );
    let r = patch(
        serde_json::to_vec(&json!({"labels": ["x".repeat(41)]})).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(
        field_of(r, StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation").await,
        "labels"
    );
    let r = patch(
        serde_json::to_vec(&json!({"display_name": "n".repeat(101)})).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(
        field_of(r, StatusCode::UNPROCESSABLE_ENTITY, "/problems/validation").await,
        "display_name"
    );
    let r = patch(serde_json::to_vec(&json!({})).unwrap(), "application/json").await;
    expect_invalid(r).await;
    let r = patch(b"labels=vip".to_vec(), "application/x-www-form-urlencoded").await;
    expect_problem(
        r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "/problems/unsupported-media-type",
    )
    .await;
    let huge = serde_json::to_vec(&json!({"labels": ["y".repeat(1024 * 1024 + 10)]})).unwrap();
    let r = patch(huge, "application/json").await;
    expect_problem(
        r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "/problems/payload-too-large",
    )
    .await;

    let (status, account) = app.get(&user, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["labels"], json!(["original"]));
    assert_eq!(account["display_name"], "Steady");

    let r = reqwest::Client::new()
        .get(app.url("/api/v1/accounts/42"))
        .bearer_auth(&user.token)
        .sent()
        .await;
    assert_eq!(
        field_of(r, StatusCode::BAD_REQUEST, "/problems/bad-request").await,
        "id"
    );
    let r = reqwest::Client::new()
        .put(app.url(&path))
        .bearer_auth(&user.token)
        .sent()
        .await;
    expect_problem(
        r,
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
    )
    .await;
    let r = reqwest::get(app.url("/api/v1/nothing-here")).await.unwrap();
    expect_problem(r, StatusCode::NOT_FOUND, "/problems/not-found").await;
}

#[tokio::test]
async fn bad_sign_up_input_lists_every_field_at_fault() {
    let app = spawn_app().await;
    let response = app.post_as_guest("/api/v1/auth/signup", json!({"email": "not-an-email", "password": "short", "workspace_name": "w".repeat(101)})).await;
    let body = expect_invalid(response).await;
    let fields = strings_at(&body["errors"], "field");
    assert_eq!(fields, ["email", "password", "workspace_name"]);

    // One field at fault each: too long, of the wrong type, missing.
    let cases = [
        (
            json!({"email": "a@example.com", "password": "p".repeat(129), "workspace_name": "W"}),
            "password",
        ),
        (json!({"email": 5, "password": PASSWORD}), "email"),
        (
            json!({"email": "a@example.com", "password": PASSWORD}),
            "workspace_name",
        ),
    ];
    for (input, field) in cases {
        let response = app.post_as_guest("/api/v1/auth/signup", input).await;
        let body = expect_invalid(response).await;
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }

    let user = app.sign_up("valid@example.com", "Valid").await;
    let (status, body) = app
        .post(&user, "/api/v1/invitations", json!({"role": "owner"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = app
        .post(&user, "/api/v1/invitations", json!({"role": "boss"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["field"], "role");
}
