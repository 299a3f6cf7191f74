//! Links for account owners (connect, reconnect, access), over HTTP against the sandboxes: what the
//! holder can do without signing in, and what they cannot.

use crate::helpers::*;
use iquivity_domain::{Plan, Platform};
use iquivity_sandbox::Consent;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn as_user(name: &str) -> Consent {
    Consent {
        user: Some(name.to_string()),
        ..Consent::default()
    }
}

/// An owner with a workspace on `plan`.
async fn owner(app: &TestApp, email: &str, plan: Plan) -> User {
    let user = app.sign_up(email, "Harbour Agency").await;
    app.set_plan(user.workspace_id, plan).await;
    user
}

async fn make_link(app: &TestApp, owner: &User, body: Value) -> Value {
    let (status, link) = app.post(owner, "/api/v1/connect-links", body).await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    link
}

/// The owner connects an account themselves, through the API and the sandbox's consent: its id.
async fn connect_directly(app: &TestApp, owner: &User, platform: Platform, person: &str) -> String {
    let (status, started) = app
        .post(
            owner,
            "/api/v1/connections",
            json!({ "platform": platform }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let redirect =
        iquivity_sandbox::consent(started["authorize_url"].as_str().unwrap(), &as_user(person))
            .await
            .unwrap();
    let back = browser_client()
        .get(&redirect)
        .bearer_auth(&owner.token)
        .sent()
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let (_, page) = app.get(owner, "/api/v1/accounts").await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["display_name"] == person)
        .unwrap_or_else(|| panic!("{person} connected: {page}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Someone who holds a link: a browser with no session here.
struct Holder {
    client: reqwest::Client,
}

impl Holder {
    fn new() -> Self {
        Holder {
            client: browser_client(),
        }
    }

    async fn open(&self, url: &str) -> (StatusCode, String) {
        let response = self.client.get(url).sent().await;
        let status = response.status();
        (status, response.text().await.unwrap())
    }

    /// Starts the platform's consent from the link's page: the sandbox's consent address.
    async fn start(&self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{url}/start"))
            .form(form)
            .sent()
            .await
    }

    /// Consents on the sandbox as `person` and comes back: the page of the outcome, and its address.
    async fn consent(&self, app: &TestApp, authorize_url: &str, person: &str) -> (String, String) {
        let redirect = iquivity_sandbox::consent(authorize_url, &as_user(person))
            .await
            .unwrap();
        let back = self.client.get(&redirect).sent().await;
        assert_eq!(
            back.status(),
            StatusCode::SEE_OTHER,
            "{}",
            back.text().await.unwrap()
        );
        let location = back.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/l/flow/"), "{location}");
        let (status, page) = self.open(&app.url(&location)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        (location, page)
    }

    /// From the link's page through consent on `platform` as `person`.
    async fn connect(
        &self,
        app: &TestApp,
        url: &str,
        platform: Platform,
        person: &str,
    ) -> (String, String) {
        let started = self.start(url, &[("platform", platform.as_str())]).await;
        assert_eq!(
            started.status(),
            StatusCode::SEE_OTHER,
            "{}",
            started.text().await.unwrap()
        );
        let authorize = started.headers()["location"].to_str().unwrap().to_string();
        self.consent(app, &authorize, person).await
    }
}

/// The values of the choice boxes on a selection page, with the name each is labelled with.
fn choices(page: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for part in page.split("name=\"targets\"").skip(1) {
        let value = part
            .split("value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let name = part
            .split("<strong>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap();
        found.push((value.to_string(), name.to_string()));
    }
    found
}

fn link_id(link: &Value) -> &str {
    link["id"].as_str().unwrap()
}

#[tokio::test]
async fn a_clients_owner_connects_pages_through_a_link_and_they_land_under_the_client() {
    let app = spawn_app().await;
    let owner = owner(&app, "links@example.com", Plan::Professional).await;
    let bakery = app.add_client(&owner, "Coastal Bakery").await;
    let link = make_link(
        &app,
        &owner,
        json!({"client_id": bakery, "platforms": ["facebook", "linkedin"], "single_use": false,
               "note": "Hi Ann, please connect the bakery's Page"}),
    )
    .await;
    let url = link["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&format!("{}/l/iql_", app.base)), "{url}");
    assert_eq!(link["kind"], "connect");
    assert_eq!(link["state"], "active");
    assert_eq!(link["single_use"], false);

    // The holder's page: whose workspace, the note, the two platforms; no referrer, no cache.
    let holder = Holder::new();
    let response = holder.client.get(&url).sent().await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Connect your accounts to Harbour Agency"),
        "{page}"
    );
    assert!(page.contains("Coastal Bakery") && page.contains("please connect the bakery"));
    assert!(page.contains("Connect Facebook") && page.contains("Connect LinkedIn"));
    assert!(
        !page.contains("Connect X"),
        "only the platforms the link offers"
    );
    let refused = holder.start(&url, &[("platform", "x")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Facebook: consent, then the choice of Pages, as the holder.
    let (flow, page) = holder
        .connect(&app, &url, Platform::Facebook, "Ann Lee")
        .await;
    let offered = choices(&page);
    let pages: Vec<&(String, String)> = offered
        .iter()
        .filter(|(_, name)| name.starts_with("Ann Lee "))
        .collect();
    assert_eq!(pages.len(), 2, "{offered:?}");
    let mut form = vec![("csrf".to_string(), csrf_of(&page))];
    form.extend(
        pages
            .iter()
            .map(|(v, _)| ("targets".to_string(), v.clone())),
    );
    let chosen = holder
        .client
        .post(app.url(&format!("{flow}/select")))
        .form(&form)
        .sent()
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let (_, done) = holder.open(&app.url(&flow)).await;
    assert!(
        done.contains("2 account(s) connected to Harbour Agency: Ann Lee Studio, Ann Lee Shop")
            || done
                .contains("2 account(s) connected to Harbour Agency: Ann Lee Shop, Ann Lee Studio"),
        "{done}"
    );
    assert!(
        done.contains("withdraw"),
        "the holder is told how to take access back"
    );

    // LinkedIn: an organisation, on the same (reusable) link.
    let (flow, page) = holder
        .connect(&app, &url, Platform::Linkedin, "Ann Lee")
        .await;
    let organisation = choices(&page)
        .into_iter()
        .find(|(_, name)| name.ends_with("Company"))
        .expect("the sandbox's organisation");
    let chosen = holder
        .client
        .post(app.url(&format!("{flow}/select")))
        .form(&[
            ("csrf", csrf_of(&page)),
            ("targets", organisation.0.clone()),
        ])
        .sent()
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);

    // In the agency's list, under the client, naming the link; the alerts name it too.
    let (_, listed) = app
        .get(&owner, &format!("/api/v1/accounts?client={bakery}"))
        .await;
    let mut got = names(&listed);
    got.sort();
    let mut expected = vec![
        "Ann Lee Shop".to_string(),
        "Ann Lee Studio".into(),
        organisation.1.clone(),
    ];
    expected.sort();
    assert_eq!(got, expected);
    for account in listed["items"].as_array().unwrap() {
        assert_eq!(account["connected_via_link"], link["id"], "{account}");
        assert_eq!(account["status"], "active");
    }
    let (_, alerts) = app.get(&owner, "/api/v1/notifications").await;
    let connected: Vec<&Value> = alerts["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "account.connected")
        .collect();
    assert_eq!(connected.len(), 3, "{alerts}");
    assert!(connected
        .iter()
        .all(|a| a["payload"]["account"]["connected_via_link"] == link["id"]));

    // The log says what was connected; the holder never got a session.
    let (_, uses) = app
        .get(
            &owner,
            &format!("/api/v1/connect-links/{}/uses", link_id(&link)),
        )
        .await;
    let outcomes = strings_at(&uses, "outcome");
    assert_eq!(outcomes, ["connected", "connected"], "{uses}");
    assert_eq!(uses[0]["accounts"].as_array().unwrap().len(), 2);
    let me = holder.client.get(app.url("/api/v1/me")).sent().await;
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn two_holders_of_a_single_use_link_connect_once() {
    let app = spawn_app().await;
    let owner = owner(&app, "race@example.com", Plan::Enterprise).await;
    let link = make_link(&app, &owner, json!({"platforms": ["x"]})).await;
    let url = link["url"].as_str().unwrap().to_string();
    assert_eq!(
        link["single_use"], true,
        "single use unless asked otherwise"
    );

    // Both start and consent before either comes back.
    let (first, second) = (Holder::new(), Holder::new());
    let mut redirects = Vec::new();
    for (holder, person) in [(&first, "Race One"), (&second, "Race Two")] {
        let started = holder.start(&url, &[("platform", "x")]).await;
        assert_eq!(started.status(), StatusCode::SEE_OTHER);
        let authorize = started.headers()["location"].to_str().unwrap().to_string();
        redirects.push(
            iquivity_sandbox::consent(&authorize, &as_user(person))
                .await
                .unwrap(),
        );
    }
    let (a, b) = tokio::join!(
        first.client.get(&redirects[0]).sent(),
        second.client.get(&redirects[1]).sent()
    );
    let mut pages = Vec::new();
    for (holder, back) in [(&first, a), (&second, b)] {
        let location = back.headers()["location"].to_str().unwrap().to_string();
        pages.push(holder.open(&app.url(&location)).await.1);
    }
    let connected = pages
        .iter()
        .filter(|p| p.contains("connected to Harbour Agency"))
        .count();
    let refused = pages
        .iter()
        .filter(|p| p.contains("This link has already been used"))
        .count();
    assert_eq!((connected, refused), (1, 1), "{pages:?}");
    let (_, accounts) = app.get(&owner, "/api/v1/accounts").await;
    assert_eq!(names(&accounts).len(), 1, "{accounts}");

    // Used up: the page says only that it cannot be used; the log says why.
    let (status, page) = Holder::new().open(&url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("This link cannot be used"));
    let (_, uses) = app
        .get(
            &owner,
            &format!("/api/v1/connect-links/{}/uses", link_id(&link)),
        )
        .await;
    let mut outcomes = strings_at(&uses, "outcome");
    outcomes.sort();
    assert_eq!(outcomes, ["connected", "used_up", "used_up"], "{uses}");
    let (_, links) = app.get(&owner, "/api/v1/connect-links").await;
    assert_eq!(links[0]["state"], "used_up");
}

#[tokio::test]
async fn expired_revoked_and_unknown_links_answer_the_same_page_and_the_log_tells_them_apart() {
    let (app, clock) = spawn_app_on_clock(chrono::Utc::now(), |_| {}).await;
    let owner = owner(&app, "expiry@example.com", Plan::Starter).await;
    let expiring = make_link(&app, &owner, json!({"expires_in_days": 1})).await;
    let revoked = make_link(&app, &owner, json!({})).await;
    for days in [0, 31] {
        let (status, problem) = app
            .post(
                &owner,
                "/api/v1/connect-links",
                json!({"expires_in_days": days}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }

    let (status, _) = app
        .delete(
            &owner,
            &format!("/api/v1/connect-links/{}", link_id(&revoked)),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    clock.advance(chrono::Duration::hours(25));

    let holder = Holder::new();
    let unknown = format!("{}/l/iql_{}", app.base, "A".repeat(43));
    let mut bodies = Vec::new();
    for url in [
        expiring["url"].as_str().unwrap(),
        revoked["url"].as_str().unwrap(),
        unknown.as_str(),
    ] {
        let response = holder.client.get(url).sent().await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()["referrer-policy"], "no-referrer");
        bodies.push(response.text().await.unwrap());
    }
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "one page for every refusal"
    );
    let started = holder
        .start(revoked["url"].as_str().unwrap(), &[("platform", "x")])
        .await;
    assert_eq!(started.status(), StatusCode::NOT_FOUND);

    for (link, outcome, state) in [
        (&expiring, "expired", "expired"),
        (&revoked, "revoked", "revoked"),
    ] {
        let (_, uses) = app
            .get(
                &owner,
                &format!("/api/v1/connect-links/{}/uses", link_id(link)),
            )
            .await;
        assert_eq!(uses[0]["outcome"], outcome, "{uses}");
        let (_, links) = app.get(&owner, "/api/v1/connect-links").await;
        let listed = links
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == link["id"])
            .unwrap();
        assert_eq!(listed["state"], state);
    }
}

#[tokio::test]
async fn a_full_plan_is_said_before_the_holder_goes_to_the_platform() {
    let app = spawn_app().await;
    let owner = owner(&app, "full@example.com", Plan::Free).await;
    connect_directly(&app, &owner, Platform::X, "Already Here").await;
    let link = make_link(&app, &owner, json!({"platforms": ["x", "tiktok"]})).await;
    let url = link["url"].as_str().unwrap();
    let holder = Holder::new();
    let refused = holder.start(url, &[("platform", "x")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused.headers().get("location").is_none(),
        "never sent to the platform"
    );
    let page = refused.text().await.unwrap();
    assert!(page.contains("free plan"), "{page}");
    // Another platform still has room.
    let (_, done) = holder
        .connect(&app, url, Platform::Tiktok, "Room Left")
        .await;
    assert!(done.contains("connected to Harbour Agency"), "{done}");
}

#[tokio::test]
async fn another_workspaces_links_clients_and_accounts_are_not_found_and_members_make_no_links() {
    let app = spawn_app().await;
    let ours = owner(&app, "ours@example.com", Plan::Professional).await;
    let theirs = owner(&app, "theirs@example.com", Plan::Professional).await;
    let link = make_link(&app, &ours, json!({})).await;
    let client = app.add_client(&ours, "Ours Ltd").await;
    let account = connect_directly(&app, &ours, Platform::X, "Ours Person").await;
    for (method, path, body) in [
        (
            reqwest::Method::DELETE,
            format!("/api/v1/connect-links/{}", link_id(&link)),
            None,
        ),
        (
            reqwest::Method::GET,
            format!("/api/v1/connect-links/{}/uses", link_id(&link)),
            None,
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/accounts/{account}/reconnect-request"),
            Some(json!({})),
        ),
        (
            reqwest::Method::POST,
            format!("/api/v1/clients/{client}/access-link"),
            Some(json!({})),
        ),
    ] {
        let (status, problem) = app.send(&theirs, method, &path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    let (_, listed) = app.get(&theirs, "/api/v1/connect-links").await;
    assert_eq!(listed, json!([]));
    // Their link names our client: refused as unknown.
    let (status, _) = app
        .post(
            &theirs,
            "/api/v1/connect-links",
            json!({"client_id": client}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let code = app.invitation_code(&ours, "member").await;
    let member_client = browser_client();
    let joined = app
        .sign_up_invited(&member_client, "member@example.com", &code)
        .await;
    assert_eq!(joined.status(), StatusCode::CREATED);
    let member = app.user_of(member_client, "member@example.com").await;
    let (status, _) = app.post(&member, "/api/v1/connect-links", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get(&member, "/api/v1/connect-links").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn link_pages_take_a_limited_number_of_requests_per_address() {
    let app = spawn_app_tuned(|_| {}, |core| core.settings.link_requests_per_address = 3).await;
    let owner = owner(&app, "limits@example.com", Plan::Starter).await;
    let link = make_link(&app, &owner, json!({})).await;
    let holder = Holder::new();
    for _ in 0..3 {
        let (status, _) = holder.open(link["url"].as_str().unwrap()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = holder
        .client
        .get(link["url"].as_str().unwrap())
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let unknown = holder.client.get(app.url("/l/iql_nothing")).sent().await;
    assert_eq!(
        unknown.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "guessing counts too"
    );
}

#[tokio::test]
async fn a_link_token_is_kept_only_as_a_digest_and_never_logged() {
    let app = spawn_app().await;
    let owner = owner(&app, "digest@example.com", Plan::Starter).await;
    let link = make_link(&app, &owner, json!({"platforms": ["x"]})).await;
    let url = link["url"].as_str().unwrap().to_string();
    let token = url.rsplit('/').next().unwrap().to_string();
    let holder = Holder::new();
    holder.open(&url).await;
    holder
        .connect(&app, &url, Platform::X, "Digest Person")
        .await;
    let stored = app.database_bytes().await;
    let digest = iquivity_core::secrets::digest(&token);
    assert!(
        !contains(&stored, token.as_bytes()),
        "the token is not stored"
    );
    assert!(contains(&stored, digest.as_bytes()), "its digest is");
    assert!(!logs().contains(&token), "the token is not logged");
    let (_, listed) = app.get(&owner, "/api/v1/connect-links").await;
    assert!(!listed.to_string().contains(&token), "nor answered again");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_reconnect_request_takes_only_its_account_and_keeps_its_history() {
    let app = spawn_app().await;
    let owner = owner(&app, "reconnect@example.com", Plan::Professional).await;
    let client = app.add_client(&owner, "Noah's Bikes").await;
    let account = connect_directly(&app, &owner, Platform::X, "Noah Whitaker").await;
    let (status, _) = app
        .patch(
            &owner,
            &format!("/api/v1/accounts/{account}"),
            json!({"labels": ["bikes"], "client_id": client}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, refused) = app
        .post(
            &owner,
            &format!("/api/v1/accounts/{account}/reconnect-request"),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an Active account: {refused}"
    );

    let (_, before) = app
        .get(&owner, &format!("/api/v1/accounts/{account}"))
        .await;
    app.revoke_grant(&before).await;
    let (status, _) = app
        .post_bare(&owner, &format!("/api/v1/accounts/{account}/refresh"))
        .await;
    assert!(
        status.is_success() || status == StatusCode::CONFLICT,
        "{status}"
    );
    let (_, inactive) = app
        .get(&owner, &format!("/api/v1/accounts/{account}"))
        .await;
    assert_ne!(inactive["status"], "active", "{inactive}");

    let (status, request) = app
        .post(
            &owner,
            &format!("/api/v1/accounts/{account}/reconnect-request"),
            json!({"note": "The token was revoked; one click fixes it"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{request}");
    assert_eq!(request["kind"], "reconnect");
    assert_eq!(request["account_id"], account.as_str());
    let url = request["url"].as_str().unwrap().to_string();

    // The owner's page names the account; another account is refused, naming the one expected.
    let holder = Holder::new();
    let (_, page) = holder.open(&url).await;
    assert!(page.contains("Reconnect Noah Whitaker on X"), "{page}");
    let started = holder.start(&url, &[("platform", "x")]).await;
    let authorize = started.headers()["location"].to_str().unwrap().to_string();
    let (_, wrong) = holder.consent(&app, &authorize, "Somebody Else").await;
    assert!(
        wrong.contains("does not give access to “Noah Whitaker”"),
        "{wrong}"
    );
    let (_, still) = app
        .get(&owner, &format!("/api/v1/accounts/{account}"))
        .await;
    assert_ne!(still["status"], "active");

    // The right account: Active again, with its labels, client and id; the link is used.
    let (_, done) = holder
        .connect(&app, &url, Platform::X, "Noah Whitaker")
        .await;
    assert!(done.contains("connected to Harbour Agency"), "{done}");
    let (_, after) = app
        .get(&owner, &format!("/api/v1/accounts/{account}"))
        .await;
    assert_eq!(after["status"], "active", "{after}");
    assert_eq!(after["labels"], json!(["bikes"]));
    assert_eq!(after["client_id"], client.as_str());
    assert_eq!(after["connected_via_link"], request["id"]);
    let (_, alerts) = app.get(&owner, "/api/v1/notifications").await;
    assert_eq!(alerts["items"][0]["kind"], "account.recovered", "{alerts}");
    let (_, uses) = app
        .get(
            &owner,
            &format!("/api/v1/connect-links/{}/uses", link_id(&request)),
        )
        .await;
    assert_eq!(
        strings_at(&uses, "outcome"),
        ["wrong_account", "connected"],
        "{uses}"
    );
    let (status, _) = holder.open(&url).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "used up");
}

#[tokio::test]
async fn a_clients_access_page_shows_its_accounts_and_takes_a_removal_request() {
    let app = spawn_app().await;
    let owner = owner(&app, "access@example.com", Plan::Professional).await;
    let client = app.add_client(&owner, "Greenleaf").await;
    let ours = connect_directly(&app, &owner, Platform::X, "Greenleaf Market").await;
    let other = connect_directly(&app, &owner, Platform::Tiktok, "Not Theirs").await;
    app.assign_client(&owner, &ours, &client).await;
    let (status, link) = app
        .post(
            &owner,
            &format!("/api/v1/clients/{client}/access-link"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().unwrap().to_string();

    let holder = Holder::new();
    let (status, page) = holder.open(&url).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Greenleaf: what Harbour Agency holds"),
        "{page}"
    );
    assert!(page.contains("Greenleaf Market") && !page.contains("Not Theirs"));
    assert!(page.contains("owner@example.com") || page.contains("access@example.com"));
    assert!(
        page.contains("granted"),
        "the permissions and whether each was granted"
    );

    // Another client's account is not theirs to ask about.
    let refused = holder
        .client
        .post(format!("{url}/remove-request"))
        .form(&[("account", other.as_str())])
        .sent()
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let asked = holder
        .client
        .post(format!("{url}/remove-request"))
        .form(&[("account", ours.as_str())])
        .sent()
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert!(asked
        .text()
        .await
        .unwrap()
        .contains("asked for Greenleaf Market to be removed"));
    let (_, alerts) = app.get(&owner, "/api/v1/notifications").await;
    assert_eq!(
        alerts["items"][0]["kind"], "account.removal_requested",
        "{alerts}"
    );
    let (_, still) = app.get(&owner, &format!("/api/v1/accounts/{ours}")).await;
    assert_eq!(
        still["id"],
        ours.as_str(),
        "removing stays the agency's act"
    );
    let (_, uses) = app
        .get(
            &owner,
            &format!("/api/v1/connect-links/{}/uses", link_id(&link)),
        )
        .await;
    assert_eq!(strings_at(&uses, "outcome"), ["removal_requested"]);
}
