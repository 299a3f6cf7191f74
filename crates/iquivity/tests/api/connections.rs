//! Connecting accounts through each platform's OAuth flow, against the sandbox, over real sockets.

use crate::helpers::*;
use iquivity_domain::{Plan, Platform};
use iquivity_sandbox::Consent;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A browser-like client: keeps cookies, does not follow redirects (so tests can look at them).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Person {
    client: reqwest::Client,
    user: User,
}

async fn person(app: &TestApp, email: &str, plan: Plan) -> Person {
    let client = browser();
    let response = client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": email, "password": PASSWORD, "workspace_name": "Agency"}))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().await.unwrap();
    let token = app.create_token(&client).await;
    let user = User {
        email: email.into(),
        password: PASSWORD.into(),
        client: client.clone(),
        token,
        user_id: session["user_id"].as_str().unwrap().parse().unwrap(),
        workspace_id: session["workspace_id"].as_str().unwrap().parse().unwrap(),
    };
    app.set_plan(user.workspace_id, plan).await;
    Person { client, user }
}

impl Person {
    async fn start(&self, app: &TestApp, platform: Platform) -> String {
        let response = self
            .client
            .post(app.url("/api/v1/connections"))
            .json(&json!({"platform": platform}))
            .sent()
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let started: Value = response.json().await.unwrap();
        started["authorize_url"].as_str().unwrap().to_string()
    }

    /// Follows the platform's redirect back to the service; answers the final response.
    async fn come_back(&self, redirect: &str) -> reqwest::Response {
        self.client.get(redirect).sent().await
    }

    /// Consent on the sandbox and come back; answers the connection as the API shows it.
    async fn connect(&self, app: &TestApp, platform: Platform, consent: Consent) -> Value {
        let authorize_url = self.start(app, platform).await;
        let redirect = iquivity_sandbox::consent(&authorize_url, &consent)
            .await
            .unwrap();
        let back = self.come_back(&redirect).await;
        assert_eq!(
            back.status(),
            StatusCode::SEE_OTHER,
            "{}",
            back.text().await.unwrap()
        );
        let location = back.headers()["location"].to_str().unwrap().to_string();
        self.connection(app, &connection_id(&location)).await
    }

    async fn connection(&self, app: &TestApp, id: &str) -> Value {
        self.client
            .get(app.url(&format!("/api/v1/connections/{id}")))
            .json_body()
            .await
    }

    async fn select(
        &self,
        app: &TestApp,
        connection: &Value,
        targets: &[&str],
    ) -> (StatusCode, Value) {
        let response = self
            .client
            .post(app.url(&format!(
                "/api/v1/connections/{}/select",
                connection["id"].as_str().unwrap()
            )))
            .json(&json!({"targets": targets}))
            .sent()
            .await;
        let status = response.status();
        (status, response.json().await.unwrap())
    }

    async fn accounts(&self, app: &TestApp, query: &str) -> Vec<Value> {
        let (_, page) = app
            .get(&self.user, &format!("/api/v1/accounts{query}"))
            .await;
        page["items"].as_array().unwrap().clone()
    }
}

/// The connection a redirect after consent is about: the connection page, or the Platforms page showing
/// what was connected.
fn connection_id(location: &str) -> String {
    if let Some(id) = location.strip_prefix("/connections/") {
        return id.to_string();
    }
    let url = url::Url::parse(&format!("http://host{location}")).unwrap();
    let id = url
        .query_pairs()
        .find(|(k, _)| k == "connection")
        .map(|(_, v)| v.into_owned());
    id.unwrap_or_else(|| panic!("no connection in the redirect {location}"))
}

fn as_user(name: &str) -> Consent {
    Consent {
        user: Some(name.to_string()),
        ..Consent::default()
    }
}

fn sandbox_url(app: &TestApp, platform: Platform, path: &str) -> String {
    app.sandbox_url(platform, path)
}

async fn sandbox_user_id(app: &TestApp, platform: Platform, name: &str) -> Value {
    reqwest::get(sandbox_url(
        app,
        platform,
        &format!("/_sandbox/users/by-name/{name}"),
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap()
}

async fn sandbox_control(app: &TestApp, platform: Platform, path: &str, body: Value) {
    app.sandbox_control(platform, path, body).await
}

/// The candidate with this name that is not the person's own profile (a Facebook profile and Page can share a name).
fn candidate<'a>(connection: &'a Value, name: &str) -> &'a Value {
    connection["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["display_name"] == name
                && (c["kind"] != "profile" || connection["platform"] != "facebook")
        })
        .unwrap_or_else(|| panic!("no candidate {name} in {connection}"))
}

#[tokio::test]
async fn x_and_tiktok_connect_straight_away_with_their_tokens_sealed() {
    let app = spawn_app().await;
    let ann = person(&app, "ann@example.com", Plan::Starter).await;
    for (platform, name, kind) in [
        (Platform::X, "Ethan Brooks", "profile"),
        (Platform::Tiktok, "Liam Foster", "business"),
    ] {
        let connection = ann.connect(&app, platform, as_user(name)).await;
        assert_eq!(connection["stage"], "done", "{connection}");
        let accounts = ann.accounts(&app, &format!("?platform={platform}")).await;
        assert_eq!(accounts.len(), 1);
        let account = &accounts[0];
        assert_eq!(account["display_name"], name);
        assert_eq!(account["kind"], kind);
        assert_eq!(account["status"], "active");
        assert_eq!(account["sandbox"], true);
        assert_eq!(account["connected_by"], ann.user.user_id.to_string());
        let expected = sandbox_user_id(&app, platform, name).await;
        assert_eq!(
            account["platform_account_id"], expected["id"],
            "X user id / TikTok open_id"
        );
        assert!(account["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "video.publish" || s == "tweet.write"));
        let id = account["id"].as_str().unwrap().parse().unwrap();
        let stored = app
            .app
            .store
            .credential(id)
            .await
            .unwrap()
            .expect("credential stored");
        let tokens = iquivity_core::credentials::open(&app.app.core.vault, id, &stored).unwrap();
        assert!(
            tokens.refresh_token.is_some(),
            "offline access gives a refresh token"
        );
    }
}

#[tokio::test]
async fn facebook_pages_are_chosen_including_ones_in_business_portfolios() {
    let app = spawn_app().await;
    let ann = person(&app, "fb@example.com", Plan::Starter).await;
    let connection = ann
        .connect(&app, Platform::Facebook, as_user("Mason Carter"))
        .await;
    assert_eq!(connection["stage"], "selecting", "{connection}");
    let names = strings_at(&connection["candidates"], "display_name");
    for expected in ["Mason Carter", "Mason Carter Studio", "Mason Carter Shop"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let profile = connection["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "profile")
        .unwrap();
    assert_eq!(
        profile["publishable"], false,
        "a personal profile cannot receive posts"
    );

    // The sandbox pages /me/accounts two at a time: the adapter must have followed paging.next.
    let state: Value = reqwest::get(sandbox_url(&app, Platform::Facebook, "/_sandbox/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let account_calls: u64 = state["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, _)| p.ends_with("/me/accounts"))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum();
    assert!(account_calls >= 2, "paging.next not followed: {state}");

    let page = candidate(&connection, "Mason Carter")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let shop = candidate(&connection, "Mason Carter Shop")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, selected) = ann.select(&app, &connection, &[&page, &shop]).await;
    assert_eq!(status, StatusCode::OK, "{selected}");
    let accounts = ann.accounts(&app, "?sort=name").await;
    let names: Vec<&str> = accounts
        .iter()
        .map(|a| a["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mason Carter", "Mason Carter Shop"]);
    assert!(accounts
        .iter()
        .all(|a| a["kind"] == "page" && a["publishable"] == true));

    // The choice is single-use.
    let (status, again) = ann.select(&app, &connection, &[&page]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{again}");

    // Connecting again marks what is already there and updates it instead of adding rows.
    let again = ann
        .connect(&app, Platform::Facebook, as_user("Mason Carter"))
        .await;
    assert!(candidate(&again, "Mason Carter")["connected_account_id"].is_string());
    assert!(candidate(&again, "Mason Carter Studio")["connected_account_id"].is_null());
    let (status, _) = ann.select(&app, &again, &[&page]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ann.accounts(&app, "").await.len(),
        2,
        "a reconnect never duplicates"
    );
    let (_, events) = app
        .get(
            &ann.user,
            &format!(
                "/api/v1/accounts/{}/events",
                accounts[0]["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(events[0]["kind"], "reconnected");
}

#[tokio::test]
async fn instagram_lists_linked_accounts_and_explains_pages_without_one() {
    let app = spawn_app().await;
    let ann = person(&app, "ig@example.com", Plan::Starter).await;
    let connection = ann
        .connect(&app, Platform::Instagram, as_user("Isabella Morgan"))
        .await;
    assert_eq!(connection["stage"], "selecting", "{connection}");
    let studio = candidate(&connection, "Isabella Morgan Studio");
    let why = studio["unavailable"].as_str().unwrap();
    assert!(
        why.contains("no Instagram Business or Creator account linked")
            && why.contains("Linked accounts"),
        "{why}"
    );
    let ig = connection["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["handle"] == "isabellamorgan")
        .unwrap();
    assert_eq!(ig["kind"], "business");
    let (status, refused) = ann
        .select(
            &app,
            &connection,
            &[studio["platform_account_id"].as_str().unwrap()],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, _) = ann
        .select(
            &app,
            &connection,
            &[ig["platform_account_id"].as_str().unwrap()],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let accounts = ann.accounts(&app, "").await;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["handle"], "isabellamorgan");
}

#[tokio::test]
async fn linkedin_offers_the_member_and_only_organisations_they_can_post_as() {
    let app = spawn_app().await;
    let ann = person(&app, "li@example.com", Plan::Starter).await;
    let connection = ann
        .connect(&app, Platform::Linkedin, as_user("Olivia Bennett"))
        .await;
    assert_eq!(connection["stage"], "selecting", "{connection}");
    let names = strings_at(&connection["candidates"], "display_name");
    assert!(names.iter().any(|n| n == "Olivia Bennett"));
    assert!(
        names.iter().any(|n| n == "Olivia Bennett Company"),
        "ADMINISTRATOR"
    );
    assert!(
        names.iter().any(|n| n == "Olivia Bennett Labs"),
        "CONTENT_ADMINISTRATOR"
    );
    assert!(
        !names.iter().any(|n| n == "Olivia Bennett Partners"),
        "an ANALYST cannot post as the organisation"
    );
    let member = candidate(&connection, "Olivia Bennett")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let company = candidate(&connection, "Olivia Bennett Company")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = ann.select(&app, &connection, &[&member, &company]).await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<String> = ann
        .accounts(&app, "?sort=name")
        .await
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["profile", "organization"]);
}

#[tokio::test]
async fn a_declined_consent_connects_nothing_and_says_so() {
    let app = spawn_app().await;
    let ann = person(&app, "no@example.com", Plan::Starter).await;
    let connection = ann
        .connect(
            &app,
            Platform::Tiktok,
            Consent {
                deny: true,
                ..Consent::default()
            },
        )
        .await;
    assert_eq!(connection["stage"], "failed");
    assert!(
        connection["error"]
            .as_str()
            .unwrap()
            .contains("You declined"),
        "{connection}"
    );
    assert!(ann.accounts(&app, "").await.is_empty());
    let page = ann
        .client
        .get(app.url(&format!(
            "/connections/{}",
            connection["id"].as_str().unwrap()
        )))
        .sent()
        .await;
    let html = page.text().await.unwrap();
    assert!(html.contains("You declined") && html.contains("Try again"));
}

#[tokio::test]
async fn a_grant_missing_required_scopes_names_them_and_stores_nothing() {
    let app = spawn_app().await;
    let ann = person(&app, "scopes@example.com", Plan::Starter).await;
    let consent = Consent {
        scopes: Some(vec![
            "tweet.read".into(),
            "users.read".into(),
            "offline.access".into(),
        ]),
        ..Consent::default()
    };
    let connection = ann.connect(&app, Platform::X, consent).await;
    assert_eq!(connection["stage"], "failed");
    let error = connection["error"].as_str().unwrap();
    assert!(
        error.contains("tweet.write") && error.contains("add the account again"),
        "{error}"
    );
    assert!(ann.accounts(&app, "").await.is_empty());
}

#[tokio::test]
async fn tampered_replayed_and_expired_states_are_refused() {
    // Expiry on a clock the test moves: the valid callbacks below are never late, however slow the machine.
    let clock = std::sync::Arc::new(iquivity_core::lifecycle::ManualClock::new(
        chrono::Utc::now(),
    ));
    let engine = clock.clone();
    let app = spawn_app_tuned(|_| {}, move |core| core.clock = engine).await;
    let ann = person(&app, "state@example.com", Plan::Starter).await;

    let authorize_url = ann.start(&app, Platform::X).await;
    let redirect = iquivity_sandbox::consent(&authorize_url, &Consent::default())
        .await
        .unwrap();
    let tampered = redirect.replace("state=", "state=x");
    let response = ann.come_back(&tampered).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("not one this service issued"));

    let first = ann.come_back(&redirect).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let replay = ann.come_back(&redirect).await;
    assert_eq!(replay.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(replay.text().await.unwrap().contains("already used"));

    // Another person's session cannot finish this person's sign-in.
    let authorize_url = ann.start(&app, Platform::Tiktok).await;
    let redirect = iquivity_sandbox::consent(&authorize_url, &Consent::default())
        .await
        .unwrap();
    let bob = person(&app, "bob@example.com", Plan::Starter).await;
    let stolen = bob.come_back(&redirect).await;
    assert_eq!(stolen.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bob.accounts(&app, "").await.is_empty());

    let authorize_url = ann.start(&app, Platform::Linkedin).await;
    let redirect = iquivity_sandbox::consent(&authorize_url, &Consent::default())
        .await
        .unwrap();
    clock.advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    let late = ann.come_back(&redirect).await;
    assert_eq!(late.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.text().await.unwrap().contains("expired"));
    assert_eq!(
        ann.accounts(&app, "").await.len(),
        1,
        "only the X account from the valid callback"
    );
}

#[tokio::test]
async fn two_connections_finishing_together_cannot_exceed_the_plan() {
    let app = spawn_app().await;
    let ann = person(&app, "race@example.com", Plan::Free).await;
    let first = iquivity_sandbox::consent(
        &ann.start(&app, Platform::X).await,
        &as_user("First Person"),
    )
    .await
    .unwrap();
    let second = iquivity_sandbox::consent(
        &ann.start(&app, Platform::X).await,
        &as_user("Second Person"),
    )
    .await
    .unwrap();
    let (a, b) = tokio::join!(ann.come_back(&first), ann.come_back(&second));
    let mut outcomes = Vec::new();
    for response in [a, b] {
        let location = response.headers()["location"].to_str().unwrap().to_string();
        outcomes.push(ann.connection(&app, &connection_id(&location)).await);
    }
    let stages: Vec<&str> = outcomes
        .iter()
        .map(|c| c["stage"].as_str().unwrap())
        .collect();
    assert!(
        stages.contains(&"done") && stages.contains(&"failed"),
        "{stages:?}"
    );
    let failed = outcomes.iter().find(|c| c["stage"] == "failed").unwrap();
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("free plan allows 1 X"), "{error}");
    assert_eq!(ann.accounts(&app, "").await.len(), 1);

    // A selection that cannot fit is refused before anything is stored, with the problem type.
    let connection = ann
        .connect(&app, Platform::Facebook, as_user("Mason Carter"))
        .await;
    let page = candidate(&connection, "Mason Carter")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let shop = candidate(&connection, "Mason Carter Shop")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, problem) = ann.select(&app, &connection, &[&page, &shop]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(problem["type"], "/problems/plan-limit-reached");
    assert!(
        problem["detail"].as_str().unwrap().contains("untick 1"),
        "{problem}"
    );
    assert_eq!(ann.accounts(&app, "").await.len(), 1);
}

#[tokio::test]
async fn refresh_rotates_tokens_and_stores_the_new_refresh_token_before_reuse() {
    let app = spawn_app().await;
    let ann = person(&app, "rotate@example.com", Plan::Starter).await;
    for platform in [Platform::X, Platform::Tiktok] {
        ann.connect(&app, platform, as_user("Rotating Person"))
            .await;
        let account = ann
            .accounts(&app, &format!("?platform={platform}"))
            .await
            .remove(0);
        let id: iquivity_domain::AccountId = account["id"].as_str().unwrap().parse().unwrap();
        let before = iquivity_core::credentials::open(
            &app.app.core.vault,
            id,
            &app.app.store.credential(id).await.unwrap().unwrap(),
        )
        .unwrap();
        for round in 0..2 {
            let (status, body) = app
                .post_bare(&ann.user, &format!("/api/v1/accounts/{id}/refresh"))
                .await;
            assert_eq!(status, StatusCode::OK, "{platform} round {round}: {body}");
            assert_eq!(body["outcome"], "refreshed");
            assert_eq!(body["account"]["status"], "active");
            assert!(body["account"]["last_refreshed_at"].is_string());
        }
        let after = iquivity_core::credentials::open(
            &app.app.core.vault,
            id,
            &app.app.store.credential(id).await.unwrap().unwrap(),
        )
        .unwrap();
        use secrecy::ExposeSecret;
        assert_ne!(
            before.refresh_token.as_ref().unwrap().expose_secret(),
            after.refresh_token.as_ref().unwrap().expose_secret(),
            "{platform}: the rotated refresh token was stored"
        );
    }
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_account_recovers() {
    let app = spawn_app().await;
    let ann = person(&app, "expire@example.com", Plan::Starter).await;
    ann.connect(&app, Platform::Tiktok, as_user("Ava Sullivan"))
        .await;
    let account = ann.accounts(&app, "").await.remove(0);
    let sandbox_id = account["platform_account_id"].as_str().unwrap();
    sandbox_control(
        &app,
        Platform::Tiktok,
        &format!("/_sandbox/users/{sandbox_id}/expire"),
        json!({}),
    )
    .await;
    let (status, body) = app.refresh(&ann.user, &account).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "refreshed");
    assert_eq!(body["account"]["status"], "active");
}

#[tokio::test]
async fn a_revoked_account_goes_back_through_consent_and_only_the_same_account_repairs_it() {
    let app = spawn_app().await;
    let ann = person(&app, "revoked@example.com", Plan::Starter).await;
    ann.connect(&app, Platform::X, as_user("Noah Whitaker"))
        .await;
    let account = ann.accounts(&app, "").await.remove(0);
    let id = account["id"].as_str().unwrap().to_string();
    app.revoke_grant(&account).await;

    let response = ann
        .client
        .post(app.url(&format!("/api/v1/accounts/{id}/refresh")))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["outcome"], "needs_consent", "{body}");
    assert_eq!(body["account"]["status"], "inactive");
    assert!(body["account"]["status_advice"]
        .as_str()
        .unwrap()
        .contains("Refresh"));
    let authorize_url = body["authorize_url"].as_str().unwrap();

    // Signing in as somebody else does not attach another X account to this one.
    let redirect = iquivity_sandbox::consent(authorize_url, &as_user("Somebody Else"))
        .await
        .unwrap();
    let back = ann.come_back(&redirect).await;
    let location = back.headers()["location"].to_str().unwrap().to_string();
    let flow = ann.connection(&app, &connection_id(&location)).await;
    assert_eq!(flow["stage"], "failed");
    assert!(
        flow["error"]
            .as_str()
            .unwrap()
            .contains("does not give access"),
        "{flow}"
    );
    let (_, still) = app.get(&ann.user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(still["status"], "inactive");
    assert_eq!(still["platform_account_id"], account["platform_account_id"]);

    let response = ann
        .client
        .post(app.url(&format!("/api/v1/accounts/{id}/refresh")))
        .sent()
        .await;
    let body: Value = response.json().await.unwrap();
    let redirect = iquivity_sandbox::consent(
        body["authorize_url"].as_str().unwrap(),
        &as_user("Noah Whitaker"),
    )
    .await
    .unwrap();
    let back = ann.come_back(&redirect).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let (_, repaired) = app.get(&ann.user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(repaired["status"], "active", "{repaired}");
    assert_eq!(ann.accounts(&app, "").await.len(), 1);
    // The newest notification says it works again, not that it failed.
    let (_, notifications) = app.get(&ann.user, "/api/v1/notifications").await;
    assert_eq!(
        notifications["items"][0]["kind"], "account.recovered",
        "{notifications}"
    );
}

#[tokio::test]
async fn a_removed_permission_fails_the_account_and_names_the_scope() {
    let app = spawn_app().await;
    let ann = person(&app, "perm@example.com", Plan::Starter).await;
    let connection = ann
        .connect(&app, Platform::Facebook, as_user("Greenleaf Market"))
        .await;
    let page = candidate(&connection, "Greenleaf Market")["platform_account_id"]
        .as_str()
        .unwrap()
        .to_string();
    ann.select(&app, &connection, &[&page]).await;
    let account = ann.accounts(&app, "").await.remove(0);
    app.remove_sandbox_scope(Platform::Facebook, "Greenleaf Market", "pages_manage_posts")
        .await;
    let (status, body) = app.refresh(&ann.user, &account).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "needs_consent");
    assert_eq!(body["account"]["status"], "failed");
    assert_eq!(body["account"]["status_reason"], "missing_permissions");
    assert!(
        body["account"]["status_message"]
            .as_str()
            .unwrap()
            .contains("pages_manage_posts"),
        "{body}"
    );
}

#[tokio::test]
async fn an_unreachable_platform_is_named_as_unavailable_and_nothing_is_stored() {
    // A real X configuration (credentials set, so no built-in sandbox) whose token endpoint points at a
    // port where nothing listens; consent itself happens on a separately started sandbox.
    let placeholder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = placeholder.local_addr().unwrap();
    drop(placeholder);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let sandbox = iquivity_sandbox::Sandbox::start(
        vec![(
            Platform::X,
            iquivity_sandbox::SandboxApp {
                client_id: "real-looking-client".into(),
                client_secret: "real-looking-secret".into(),
                redirect_uris: vec![format!("http://{addr}/oauth/x/callback")],
            },
        )],
        iquivity_sandbox::SandboxOptions::default(),
    )
    .await
    .unwrap();
    let base = sandbox.base_url(Platform::X).unwrap();
    let app = spawn_app_at(addr, |config| {
        let x = config.platforms.get_mut(&Platform::X).unwrap();
        *x = iquivity_platforms::PlatformSettings::real(Platform::X).rebased(&base);
        x.client_id = "real-looking-client".into();
        x.client_secret = secrecy::SecretString::from("real-looking-secret".to_string());
        x.token_url = format!("http://{dead}/2/oauth2/token");
    })
    .await;
    let ann = person(&app, "down@example.com", Plan::Starter).await;
    let connection = ann.connect(&app, Platform::X, Consent::default()).await;
    assert_eq!(connection["stage"], "failed");
    let error = connection["error"].as_str().unwrap();
    assert!(
        error.contains("X (Twitter) is unavailable") && error.contains("Nothing was connected"),
        "{error}"
    );
    assert!(ann.accounts(&app, "").await.is_empty());
}

/// At the plan's limit, adding an account is refused before the platform's consent, not after it; and
/// the choice of Pages pre-ticks only as many new ones as the plan has room for.
#[tokio::test]
async fn the_plan_is_checked_before_consent_and_the_picker_ticks_what_fits() {
    let app = spawn_app().await;
    let ann = person(&app, "room@example.com", Plan::Free).await;
    // Facebook offers several Pages; the free plan takes one Facebook account.
    let flow = ann
        .connect(&app, Platform::Facebook, as_user("Mason Carter"))
        .await;
    let id = flow["id"].as_str().unwrap();
    let page = ann
        .client
        .get(app.url(&format!("/connections/{id}")))
        .text_body()
        .await;
    assert_eq!(page.matches(" checked").count(), 1, "{page}");
    assert!(
        page.contains("room for 1 more Facebook account(s)"),
        "{page}"
    );
    let offered: Vec<String> = flow["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["unavailable"].is_null() && c["publishable"] == true)
        .map(|c| c["platform_account_id"].as_str().unwrap().to_string())
        .collect();
    assert!(offered.len() >= 2, "{flow}");
    let refs: Vec<&str> = offered.iter().map(String::as_str).collect();
    let (status, refused) = ann.select(&app, &flow, &refs).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(
        refused["detail"].as_str().unwrap().contains(&format!(
            "room for 1 more Facebook account(s) and {} were chosen",
            offered.len()
        )),
        "{refused}"
    );
    let (status, _) = ann.select(&app, &flow, &refs[..1]).await;
    assert_eq!(status, StatusCode::OK);

    // Now full: the start is refused at once, with no trip to the platform.
    let start = ann.client.get(app.url("/connect/facebook")).sent().await;
    assert_eq!(start.status(), StatusCode::FORBIDDEN);
    let text = start.text().await.unwrap();
    assert!(text.contains("allows 1 Facebook account(s)"), "{text}");
}
