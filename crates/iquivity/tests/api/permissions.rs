//! Who may do what: every action that changes a workspace, tried by a member, an admin and the owner,
//! through the API and through the pages' forms. The refused get 403 problem+json from the API (the form
//! again with the reason, or the error page, from the pages) and change nothing; the allowed get the
//! action's own success status. (API clients and connect links do not exist yet, so they have no rows.)

use crate::helpers::*;
use chrono::{Duration, Utc};
use iquivity_domain::{AccountId, Plan, Platform, Role};
use iquivity_store::{Claim, TargetOutcome};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// One action a person can take, as a row of the table below.
#[derive(Clone, Copy, Debug)]
enum Action {
    AddWebhook,
    DeleteWebhook,
    PublishNow,
    SchedulePost,
    EditScheduledPost,
    CancelPost,
    RetryFailedTarget,
    StartConnection,
    UploadMedia,
    RelabelAccount,
    RemoveAccount,
    Invite,
    RefreshAccount,
    RefreshAllInactive,
    MarkNotificationsRead,
}

const OWNER_ADMIN: &[Role] = &[Role::Owner, Role::Admin];
const OWNER: &[Role] = &[Role::Owner];
const EVERYONE: &[Role] = &[Role::Owner, Role::Admin, Role::Member];

/// An action, who may take it, the status they get, and whether its effect shows in what `prepare`
/// watches (refreshing a healthy workspace, for one, changes nothing there).
struct Row(Action, &'static [Role], StatusCode, Shows);

#[derive(PartialEq)]
enum Shows {
    Change,
    Nothing,
}

#[rustfmt::skip]
const TABLE: &[Row] = &[
    Row(Action::AddWebhook, OWNER_ADMIN, StatusCode::CREATED, Shows::Change),
    Row(Action::DeleteWebhook, OWNER_ADMIN, StatusCode::NO_CONTENT, Shows::Change),
    Row(Action::PublishNow, OWNER_ADMIN, StatusCode::CREATED, Shows::Change),
    Row(Action::SchedulePost, OWNER_ADMIN, StatusCode::CREATED, Shows::Change),
    Row(Action::EditScheduledPost, OWNER_ADMIN, StatusCode::OK, Shows::Change),
    Row(Action::CancelPost, OWNER_ADMIN, StatusCode::OK, Shows::Change),
    Row(Action::RetryFailedTarget, OWNER_ADMIN, StatusCode::OK, Shows::Change),
    Row(Action::StartConnection, OWNER_ADMIN, StatusCode::CREATED, Shows::Change),
    Row(Action::UploadMedia, OWNER_ADMIN, StatusCode::CREATED, Shows::Change),
    Row(Action::RelabelAccount, OWNER_ADMIN, StatusCode::OK, Shows::Change),
    Row(Action::RemoveAccount, OWNER_ADMIN, StatusCode::NO_CONTENT, Shows::Change),
    Row(Action::Invite, OWNER, StatusCode::CREATED, Shows::Change),
    // Members view and refresh accounts (README, Endpoints): these stay open to them.
    Row(Action::RefreshAccount, EVERYONE, StatusCode::OK, Shows::Nothing),
    Row(Action::RefreshAllInactive, EVERYONE, StatusCode::ACCEPTED, Shows::Nothing),
    Row(Action::MarkNotificationsRead, EVERYONE, StatusCode::NO_CONTENT, Shows::Nothing),
];

/// An owner, an admin and a member of one workspace.
struct Team {
    owner: User,
    admin: User,
    member: User,
}

impl Team {
    fn as_role(&self, role: Role) -> &User {
        match role {
            Role::Owner => &self.owner,
            Role::Admin => &self.admin,
            Role::Member => &self.member,
        }
    }
}

/// Someone who joins `owner`'s workspace through an invitation as `role`.
/// A workspace on the Enterprise plan with an owner, an admin and a member (`<role>@<domain>.example`)
/// and one X account named `account`. No engine rounds run: what a refused request leaves must be exactly
/// what was there before it. Webhooks may point at port 9 on this machine, where nothing answers.
async fn team_with_an_account(domain: &str, account: &str) -> (TestApp, Team, AccountId) {
    let app = spawn_app_with(|c| {
        c.run_lifecycle = false;
        c.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        c.webhook_allowed_ports = vec![9];
    })
    .await;
    let owner = app
        .sign_up(&format!("owner@{domain}.example"), domain)
        .await;
    app.set_plan(owner.workspace_id, Plan::Enterprise).await;
    let team = Team {
        admin: join(&app, &owner, "admin", &format!("admin@{domain}.example")).await,
        member: join(&app, &owner, "member", &format!("member@{domain}.example")).await,
        owner,
    };
    let account = app
        .seed_account(&team.owner, Seed::new(Platform::X, account))
        .await;
    (app, team, account)
}

async fn join(app: &TestApp, owner: &User, role: &str, email: &str) -> User {
    let (status, invitation) = app
        .post(owner, "/api/v1/invitations", json!({ "role": role }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invitation}");
    let joined = client();
    let response = joined
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": PASSWORD, "invitation": invitation["code"]}))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let user = app.user_of(joined, email).await;
    assert_eq!(user.workspace_id, owner.workspace_id);
    user
}

/// The request an action sends, and the owner's view that shows whether it changed anything.
struct Attempt {
    method: Method,
    path: String,
    body: Body,
    watch: Watch,
}

enum Body {
    None,
    Json(Value),
    Bytes(&'static str, Vec<u8>),
}

enum Watch {
    /// What the owner reads at this API path.
    Api(String),
    /// How many rows the table holds (nothing in the API lists them).
    Rows(&'static str),
    /// The uploaded files.
    MediaFiles,
}

/// Makes, as the owner, whatever the action needs to exist, and answers the request to try.
async fn prepare(app: &TestApp, team: &Team, action: Action, account: AccountId) -> Attempt {
    let owner = &team.owner;
    let tomorrow = (Utc::now() + Duration::days(1)).to_rfc3339();
    let scheduled = || async {
        let (status, post) = app
            .post(
                owner,
                "/api/v1/posts",
                json!({"text": "Planned", "accounts": [account], "publish_at": tomorrow}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{post}");
        post
    };
    let account_path = format!("/api/v1/accounts/{account}");
    let attempt = |method, path: String, body, watch| Attempt {
        method,
        path,
        body,
        watch,
    };
    match action {
        Action::AddWebhook => attempt(
            Method::POST,
            "/api/v1/webhooks".into(),
            Body::Json(json!({"url": "http://127.0.0.1:9/hook"})),
            Watch::Api("/api/v1/webhooks".into()),
        ),
        Action::DeleteWebhook => {
            let (status, webhook) = app
                .post(
                    owner,
                    "/api/v1/webhooks",
                    json!({"url": "http://127.0.0.1:9/hook"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{webhook}");
            attempt(
                Method::DELETE,
                format!("/api/v1/webhooks/{}", webhook["id"].as_str().unwrap()),
                Body::None,
                Watch::Api("/api/v1/webhooks".into()),
            )
        }
        Action::PublishNow => attempt(
            Method::POST,
            "/api/v1/posts".into(),
            Body::Json(json!({"text": "Now", "accounts": [account]})),
            Watch::Api("/api/v1/posts".into()),
        ),
        Action::SchedulePost => attempt(
            Method::POST,
            "/api/v1/posts".into(),
            Body::Json(json!({"text": "Later", "accounts": [account], "publish_at": tomorrow})),
            Watch::Api("/api/v1/posts".into()),
        ),
        Action::EditScheduledPost => {
            let path = format!(
                "/api/v1/posts/{}",
                scheduled().await["id"].as_str().unwrap()
            );
            attempt(
                Method::PATCH,
                path.clone(),
                Body::Json(json!({"text": "Planned, edited"})),
                Watch::Api(path),
            )
        }
        Action::CancelPost => {
            let path = format!(
                "/api/v1/posts/{}",
                scheduled().await["id"].as_str().unwrap()
            );
            attempt(Method::DELETE, path.clone(), Body::None, Watch::Api(path))
        }
        Action::RetryFailedTarget => {
            let (post, target) = failed_target(app, owner).await;
            attempt(
                Method::POST,
                format!("/api/v1/posts/{post}/targets/{target}/retry"),
                Body::None,
                Watch::Api(format!("/api/v1/posts/{post}")),
            )
        }
        Action::StartConnection => attempt(
            Method::POST,
            "/api/v1/connections".into(),
            Body::Json(json!({"platform": "tiktok"})),
            Watch::Rows("connection_flows"),
        ),
        Action::UploadMedia => attempt(
            Method::POST,
            "/api/v1/media".into(),
            Body::Bytes("image/png", b"\x89PNG\r\n\x1a\nbytes".to_vec()),
            Watch::MediaFiles,
        ),
        Action::RelabelAccount => {
            let (status, _) = app.patch(owner, &account_path, json!({"labels": []})).await;
            assert_eq!(status, StatusCode::OK);
            attempt(
                Method::PATCH,
                account_path.clone(),
                Body::Json(json!({"labels": ["relabelled"]})),
                Watch::Api(account_path),
            )
        }
        Action::RemoveAccount => {
            let doomed = app
                .seed_account(owner, Seed::new(Platform::Linkedin, "Doomed"))
                .await;
            let path = format!("/api/v1/accounts/{doomed}");
            let accounts = Watch::Api("/api/v1/accounts".into());
            attempt(Method::DELETE, path, Body::None, accounts)
        }
        Action::Invite => attempt(
            Method::POST,
            "/api/v1/invitations".into(),
            Body::Json(json!({"role": "member"})),
            Watch::Rows("invitations"),
        ),
        Action::RefreshAccount => attempt(
            Method::POST,
            format!("{account_path}/refresh"),
            Body::None,
            Watch::Api(account_path),
        ),
        Action::RefreshAllInactive => attempt(
            Method::POST,
            "/api/v1/accounts/refresh-inactive".into(),
            Body::None,
            Watch::Rows("jobs"),
        ),
        Action::MarkNotificationsRead => attempt(
            Method::POST,
            "/api/v1/notifications/read".into(),
            Body::None,
            Watch::Api("/api/v1/notifications".into()),
        ),
    }
}

/// A post whose only target, on an account of its own, failed on the platform: claimed and finished as
/// failed, as a round would have.
async fn failed_target(app: &TestApp, owner: &User) -> (String, String) {
    let account = app
        .seed_account(owner, Seed::new(Platform::Linkedin, "Refusing"))
        .await;
    let (status, post) = app
        .post(
            owner,
            "/api/v1/posts",
            json!({"text": "Bound to fail", "accounts": [account]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let post_id = post["id"].as_str().unwrap().to_string();
    let target_id = post["targets"][0]["id"].as_str().unwrap().to_string();
    let store = &app.app.store;
    let now = Utc::now();
    // The engine is off, so earlier rows' posts are due too: take them all, finish only this one.
    let claimed = store
        .claim_due_targets(Claim::new(
            "permissions-test",
            now,
            now + Duration::minutes(5),
            100,
        ))
        .await
        .unwrap();
    let ours = claimed
        .iter()
        .find(|(target, _)| target.id.to_string() == target_id)
        .expect("this post's target is due");
    let failed = TargetOutcome::Failed {
        class: "invalid_content".into(),
        message: "refused by the platform".into(),
    };
    assert!(store
        .finish_target(ours.0.id, "permissions-test", &failed, now)
        .await
        .unwrap());
    (post_id, target_id)
}

async fn observe(app: &TestApp, team: &Team, watch: &Watch) -> Value {
    match watch {
        Watch::Api(path) => {
            let (status, body) = app.get(&team.owner, path).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            body
        }
        Watch::Rows(table) => json!(rows_in(app, table).await),
        Watch::MediaFiles => {
            let dir = &app.app.core.settings.media_dir;
            let mut files: Vec<String> = match std::fs::read_dir(dir) {
                Ok(entries) => entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => panic!("cannot list {}: {e}", dir.display()),
            };
            files.sort();
            json!(files)
        }
    }
}

/// The number of rows in `table` of the app's database.
async fn rows_in(app: &TestApp, table: &str) -> i64 {
    use sqlx::Connection;
    let count = format!("SELECT COUNT(*) FROM {table}");
    match &app.database_url {
        Some(url) => {
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(&count)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        None => {
            let file = app.data_dir.path().join("data/iquivity.db");
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
                .await
                .unwrap();
            sqlx::query_scalar(&count)
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    }
}

async fn send(app: &TestApp, user: &User, attempt: &Attempt) -> reqwest::Response {
    let request = reqwest::Client::new()
        .request(attempt.method.clone(), app.url(&attempt.path))
        .bearer_auth(&user.token);
    let request = match &attempt.body {
        Body::None => request,
        Body::Json(body) => request.json(body),
        Body::Bytes(content_type, bytes) => request
            .header("content-type", *content_type)
            .body(bytes.clone()),
    };
    request.sent().await
}

#[tokio::test]
async fn every_privileged_action_is_refused_to_the_roles_without_the_right_and_changes_nothing() {
    let (app, team, account) = team_with_an_account("roles", "Shared Account").await;

    for Row(action, allowed, success, shows) in TABLE {
        // The refused first, so that what they must not change is still as it was prepared.
        for role in [Role::Member, Role::Admin, Role::Owner] {
            let attempt = prepare(&app, &team, *action, account).await;
            let before = observe(&app, &team, &attempt.watch).await;
            let response = send(&app, team.as_role(role), &attempt).await;
            let what = format!("{action:?} as {role}");
            if allowed.contains(&role) {
                let status = response.status();
                let body = response.text().await.unwrap();
                assert_eq!(status, *success, "{what}: {body}");
                if *shows == Shows::Change {
                    // Shows that what is watched would show a refused request that went through.
                    let after = observe(&app, &team, &attempt.watch).await;
                    assert_ne!(before, after, "{what} succeeded, yet the watch saw nothing");
                }
            } else {
                assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
                let problem =
                    expect_problem(response, StatusCode::FORBIDDEN, "/problems/forbidden").await;
                let after = observe(&app, &team, &attempt.watch).await;
                assert_eq!(before, after, "{what} was refused ({problem}) yet changed");
            }
        }
    }
}

/// The same rights through the pages' forms, which answer a refusal in the page (the form again with the
/// reason, or the error page) rather than as problem+json.
#[derive(Clone, Copy, Debug)]
enum PageAction {
    Invite,
    AddWebhook,
    DeleteWebhook,
    ComposePost,
    RemoveAccount,
    ConnectAccount,
    RefreshAccount,
    RefreshAllInactive,
}

/// The action, who may take it, the status they get, the status of those refused, and whether its effect
/// shows in what `prepare_page` watches.
struct PageRow(PageAction, &'static [Role], StatusCode, StatusCode, Shows);

const REFUSED_IN_FORM: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

#[rustfmt::skip]
const PAGE_TABLE: &[PageRow] = &[
    PageRow(PageAction::Invite, OWNER, StatusCode::OK, REFUSED_IN_FORM, Shows::Change),
    PageRow(PageAction::AddWebhook, OWNER_ADMIN, StatusCode::OK, REFUSED_IN_FORM, Shows::Change),
    PageRow(PageAction::DeleteWebhook, OWNER_ADMIN, StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, Shows::Change),
    PageRow(PageAction::ComposePost, OWNER_ADMIN, StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, Shows::Change),
    PageRow(PageAction::RemoveAccount, OWNER_ADMIN, StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, Shows::Change),
    PageRow(PageAction::ConnectAccount, OWNER_ADMIN, StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, Shows::Change),
    // The seeded account's token is unknown to the platform: Refresh answers the page that explains consent.
    PageRow(PageAction::RefreshAccount, EVERYONE, StatusCode::OK, StatusCode::FORBIDDEN, Shows::Nothing),
    PageRow(PageAction::RefreshAllInactive, EVERYONE, StatusCode::SEE_OTHER, StatusCode::FORBIDDEN, Shows::Nothing),
];

/// A browser signed in as `user`, and the CSRF token of its pages.
async fn browser_of(app: &TestApp, user: &User) -> (reqwest::Client, String) {
    let browser = browser_client();
    let login = browser
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .sent()
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let csrf = csrf_of(&browser.get(app.url("/")).text_body().await);
    (browser, csrf)
}

/// Makes what the page action needs, as the owner; answers the method, path, form fields and what to watch.
async fn prepare_page(
    app: &TestApp,
    team: &Team,
    action: PageAction,
    account: AccountId,
) -> (Method, String, Vec<(&'static str, String)>, Watch) {
    let owner = &team.owner;
    let webhooks = || Watch::Api("/api/v1/webhooks".into());
    match action {
        PageAction::Invite => (
            Method::POST,
            "/settings/invitations".into(),
            vec![("role", "member".into()), ("email", String::new())],
            Watch::Rows("invitations"),
        ),
        PageAction::AddWebhook => (
            Method::POST,
            "/settings/webhooks".into(),
            vec![("url", "http://127.0.0.1:9/hook".into())],
            webhooks(),
        ),
        PageAction::DeleteWebhook => {
            let (status, webhook) = app
                .post(
                    owner,
                    "/api/v1/webhooks",
                    json!({"url": "http://127.0.0.1:9/hook"}),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{webhook}");
            let id = webhook["id"].as_str().unwrap();
            (
                Method::POST,
                format!("/settings/webhooks/{id}/delete"),
                Vec::new(),
                webhooks(),
            )
        }
        PageAction::ComposePost => (
            Method::POST,
            "/posts".into(),
            vec![
                ("text", "From the form".into()),
                ("accounts", account.to_string()),
            ],
            Watch::Api("/api/v1/posts".into()),
        ),
        PageAction::RemoveAccount => {
            let doomed = app
                .seed_account(owner, Seed::new(Platform::Linkedin, "Doomed Too"))
                .await;
            (
                Method::POST,
                format!("/accounts/{doomed}/remove"),
                Vec::new(),
                Watch::Api("/api/v1/accounts".into()),
            )
        }
        PageAction::ConnectAccount => (
            Method::GET,
            "/connect/tiktok".into(),
            Vec::new(),
            Watch::Rows("connection_flows"),
        ),
        PageAction::RefreshAccount => (
            Method::POST,
            format!("/accounts/{account}/refresh"),
            Vec::new(),
            Watch::Api(format!("/api/v1/accounts/{account}")),
        ),
        PageAction::RefreshAllInactive => (
            Method::POST,
            "/accounts/refresh-inactive".into(),
            Vec::new(),
            Watch::Rows("jobs"),
        ),
    }
}

#[tokio::test]
async fn every_privileged_form_is_refused_to_the_roles_without_the_right_and_changes_nothing() {
    let (app, team, account) = team_with_an_account("forms", "Form Account").await;
    let mut browsers = Vec::new();
    for role in [Role::Member, Role::Admin, Role::Owner] {
        browsers.push((role, browser_of(&app, team.as_role(role)).await));
    }

    for PageRow(action, allowed, success, refusal, shows) in PAGE_TABLE {
        for (role, (browser, csrf)) in &browsers {
            let (method, path, mut fields, watch) =
                prepare_page(&app, &team, *action, account).await;
            let before = observe(&app, &team, &watch).await;
            let mut request = browser.request(method.clone(), app.url(&path));
            if method == Method::POST {
                fields.push(("csrf", csrf.clone()));
                request = request.form(&fields);
            }
            let response = request.sent().await;
            let status = response.status();
            let body = response.text().await.unwrap();
            let what = format!("{action:?} as {role}");
            let after = observe(&app, &team, &watch).await;
            if allowed.contains(role) {
                assert_eq!(status, *success, "{what}: {body}");
                if *shows == Shows::Change {
                    assert_ne!(before, after, "{what} succeeded, yet the watch saw nothing");
                }
            } else {
                assert_eq!(status, *refusal, "{what}: {body}");
                assert_eq!(before, after, "{what} was refused yet changed");
            }
        }
    }
}
