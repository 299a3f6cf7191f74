use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn sign_up_log_out_and_log_in_again() {
    let app = spawn_app().await;
    let user = app.sign_up("ann@example.com", "Ann's Agency").await;

    let me: Value = user.client.get(app.url("/api/v1/me")).json_body().await;
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["role"], "owner");

    let out = user
        .client
        .post(app.url("/api/v1/auth/logout"))
        .sent()
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = user.client.get(app.url("/api/v1/me")).sent().await;
    expect_problem(after, StatusCode::UNAUTHORIZED, "/problems/unauthenticated").await;

    let response = user
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "ANN@example.com", "password": PASSWORD}))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http must not set Secure: {cookie}"
    );
    let me = user.client.get(app.url("/api/v1/me")).sent().await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_https() {
    let app = spawn_app_with(|c| c.public_url = Some("https://social.example.com".into())).await;
    let response = app
        .post_as_guest(
            "/api/v1/auth/signup",
            json!({"email": "s@example.com", "password": PASSWORD, "workspace_name": "S"}),
        )
        .await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn signing_up_twice_with_one_email_is_a_conflict() {
    let app = spawn_app().await;
    app.sign_up("dup@example.com", "One").await;
    let response = app
        .post_as_guest(
            "/api/v1/auth/signup",
            json!({"email": "Dup@Example.com", "password": PASSWORD, "workspace_name": "Two"}),
        )
        .await;
    expect_problem(response, StatusCode::CONFLICT, "/problems/conflict").await;
}

#[tokio::test]
async fn bearer_tokens_work_and_bad_ones_do_not() {
    let app = spawn_app().await;
    let user = app.sign_up("bob@example.com", "Bob").await;
    assert!(user.token.starts_with("iqt_"));
    let (status, me) = app.get(&user, "/api/v1/me").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "bob@example.com");

    let response = reqwest::Client::new()
        .get(app.url("/api/v1/accounts"))
        .bearer_auth("iqt_not-a-real-token")
        .sent()
        .await;
    expect_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "/problems/unauthenticated",
    )
    .await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/accounts"))
        .sent()
        .await;
    expect_problem(
        response,
        StatusCode::UNAUTHORIZED,
        "/problems/unauthenticated",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_which_part_was_wrong() {
    let app = spawn_app().await;
    app.sign_up("cat@example.com", "Cat").await;
    for email in ["cat@example.com", "nobody@example.com"] {
        let response = app
            .post_as_guest(
                "/api/v1/auth/login",
                json!({"email": email, "password": "not the password"}),
            )
            .await;
        let body = expect_problem(
            response,
            StatusCode::UNAUTHORIZED,
            "/problems/bad-credentials",
        )
        .await;
        assert_eq!(body["detail"], "the email or password is wrong");
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while_even_with_the_right_password() {
    let app = spawn_app().await;
    app.sign_up("dan@example.com", "Dan").await;
    let login = |password: &'static str| {
        let url = app.url("/api/v1/auth/login");
        async move {
            client()
                .post(url)
                .json(&json!({"email": "dan@example.com", "password": password}))
                .sent()
                .await
        }
    };
    for _ in 0..5 {
        assert_eq!(
            login("wrong password!").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let response = login(PASSWORD).await;
    expect_rate_limited(response).await;
}

#[tokio::test]
async fn owners_invite_members_once_and_members_cannot_invite() {
    let app = spawn_app().await;
    let owner = app.sign_up("owner@example.com", "Agency").await;
    let (status, invitation) = app
        .post(&owner, "/api/v1/invitations", json!({"role": "member"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let code = invitation["code"].as_str().unwrap().to_string();
    assert!(invitation["url"].as_str().unwrap().ends_with(&code));

    let member_client = client();
    let response = app
        .sign_up_invited(&member_client, "member@example.com", &code)
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["workspace_id"], owner.workspace_id.to_string());
    assert_eq!(session["role"], "member");

    let again = app
        .post_as_guest(
            "/api/v1/auth/signup",
            json!({"email": "second@example.com", "password": PASSWORD, "invitation": code}),
        )
        .await;
    let body = expect_invalid(again).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already been used"),
        "{body}"
    );

    let member_token = app.create_token(&member_client).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/invitations"))
        .bearer_auth(member_token)
        .json(&json!({"role": "member"}))
        .sent()
        .await;
    expect_problem(response, StatusCode::FORBIDDEN, "/problems/forbidden").await;
}

#[tokio::test]
async fn an_existing_user_accepts_an_invitation_meant_for_them_only() {
    let app = spawn_app().await;
    let owner = app.sign_up("o@example.com", "Agency").await;
    let other = app.sign_up("other@example.com", "Other").await;
    let invited = app.sign_up("invited@example.com", "Invited's own").await;
    let (_, invitation) = app
        .post(
            &owner,
            "/api/v1/invitations",
            json!({"role": "admin", "email": "invited@example.com"}),
        )
        .await;
    let code = invitation["code"].as_str().unwrap();

    let response = other
        .client
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"code": code}))
        .sent()
        .await;
    expect_invalid(response).await;

    let response = invited
        .client
        .post(app.url("/api/v1/invitations/accept"))
        .json(&json!({"code": code}))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = invited.client.get(app.url("/api/v1/me")).json_body().await;
    assert_eq!(me["workspace_id"], owner.workspace_id.to_string());
    assert_eq!(me["role"], "admin");
}
