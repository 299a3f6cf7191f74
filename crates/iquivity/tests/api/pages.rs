//! The pages' security: sign-in required, CSRF on every state-changing form and script request, the
//! security headers, and no secret in a page.

use crate::helpers::*;
use iquivity_domain::Platform;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn pages_need_a_session_and_carry_the_security_headers() {
    let app = spawn_app().await;
    let anonymous = browser_client();
    let response = anonymous.get(app.url("/")).sent().await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login");

    let login = anonymous.get(app.url("/login")).sent().await;
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(login.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn state_changes_from_a_browser_need_the_csrf_token() {
    let app = spawn_app().await;
    let client = browser_client();
    let response = app.submit_sign_up(&client, "csrf@example.com", "C").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a same-origin form without Origin signs up"
    );
    let page = client.get(app.url("/")).text_body().await;
    let csrf = csrf_of(&page);

    // A cross-site script cannot start a connection with the victim's cookie.
    let forged = client
        .post(app.url("/api/v1/connections"))
        .header("origin", "http://evil.example")
        .json(&json!({"platform": "x"}))
        .sent()
        .await;
    expect_problem(forged, StatusCode::FORBIDDEN, "/problems/csrf").await;
    let genuine = client
        .post(app.url("/api/v1/connections"))
        .header("origin", app.base.clone())
        .header("x-csrf-token", &csrf)
        .json(&json!({"platform": "x"}))
        .sent()
        .await;
    assert_eq!(genuine.status(), StatusCode::CREATED);

    // A form post without the token changes nothing.
    let user = app.user_of(client.clone(), "csrf@example.com").await;
    let id = app
        .seed_account(&user, Seed::new(Platform::X, "Keep Me"))
        .await;
    let forged = client
        .post(app.url(&format!("/accounts/{id}/remove")))
        .form(&[("csrf", "0".repeat(64))])
        .sent()
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let (status, _) = app.get(&user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::OK, "the account is still there");
    let genuine = client
        .post(app.url(&format!("/accounts/{id}/remove")))
        .form(&[("csrf", csrf.as_str())])
        .sent()
        .await;
    assert_eq!(genuine.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.get(&user, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A login form posted from another site is refused.
    let forged = browser_client()
        .post(app.url("/login"))
        .header("origin", "http://evil.example")
        .form(&[("email", "csrf@example.com"), ("password", PASSWORD)])
        .sent()
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn no_secret_is_rendered_into_a_page() {
    let app = spawn_app().await;
    let client = browser_client();
    let response = app.submit_sign_up(&client, "pages@example.com", "P").await;
    let session = session_set_by(&response);
    let user = app.user_of(client.clone(), "pages@example.com").await;
    let token = user.token.clone();
    let access = format!("access-{}", uuid::Uuid::new_v4());
    let id = app
        .seed_account(
            &user,
            Seed::new(Platform::Tiktok, "Secretive").holding(&access),
        )
        .await;
    for path in [
        "/".to_string(),
        format!("/accounts/{id}"),
        format!("/accounts/{id}/remove"),
        "/fragments/accounts".to_string(),
    ] {
        let html = client.get(app.url(&path)).text_body().await;
        assert!(html.contains("Secretive"), "{path} shows the account");
        for secret in [&session, &token, &access, &PASSWORD.to_string()] {
            assert!(!html.contains(secret.as_str()), "{path} renders a secret");
        }
    }
}

#[tokio::test]
async fn a_page_opened_as_localhost_moves_to_the_address_the_platforms_return_to() {
    let app = spawn_app().await;
    let port = app.base.rsplit_once(':').unwrap().1.to_string();
    let response = browser_client()
        .get(format!("http://localhost:{port}/login?next=1"))
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        response.headers()["location"],
        format!("http://127.0.0.1:{port}/login?next=1")
    );
    let direct = browser_client().get(app.url("/login")).sent().await;
    assert_eq!(direct.status(), StatusCode::OK);
}

#[tokio::test]
async fn owners_invite_from_the_settings_page_and_a_signed_in_person_joins_through_the_link() {
    let app = spawn_app().await;
    let owner = browser_client();
    app.submit_sign_up(&owner, "boss@example.com", "Agency")
        .await;
    let settings = owner.get(app.url("/settings")).text_body().await;
    let csrf = csrf_of(&settings);
    let invited = owner
        .post(app.url("/settings/invitations"))
        .form(&[("csrf", csrf.as_str()), ("role", "admin"), ("email", "")])
        .text_body()
        .await;
    let start = invited
        .find("/invitations/iqi_")
        .expect("the page shows the link");
    let link: String = invited[start..].chars().take_while(|c| *c != '<').collect();
    assert!(
        invited.contains(&format!("{}{link}", app.base)),
        "the link is absolute: {invited}"
    );
    assert!(
        invited.contains("data-copy=\"invitation-link\""),
        "with a copy button"
    );

    // Opened without an account: the workspace and the role are named, sign-in offered once.
    let stranger = browser_client();
    let offer = stranger.get(app.url(&link)).text_body().await;
    assert!(
        offer.contains("join <strong>Agency</strong> as an admin"),
        "{offer}"
    );
    assert_eq!(
        offer.matches("Already have an account?").count(),
        1,
        "{offer}"
    );

    let guest = browser_client();
    app.submit_sign_up(&guest, "guest@example.com", "Guest's own")
        .await;
    let join = guest.get(app.url(&link)).text_body().await;
    assert!(join.contains("You are signed in as") && join.contains("guest@example.com"));
    assert!(join.contains("Join Agency"), "{join}");
    let joined = guest
        .post(app.url(&format!("{link}/accept")))
        .form(&[("csrf", csrf_of(&join).as_str())])
        .sent()
        .await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let me: serde_json::Value = guest.get(app.url("/api/v1/me")).json_body().await;
    assert_eq!(me["role"], "admin");
    let team = owner.get(app.url("/settings")).text_body().await;
    assert!(
        team.contains("guest@example.com — admin"),
        "the team lists the new admin"
    );

    let added = owner
        .post(app.url("/settings/webhooks"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("url", "https://hooks.example.com/iquivity"),
        ])
        .text_body()
        .await;
    assert!(added.contains("whsec_"), "the secret is shown once");
    let again = owner.get(app.url("/settings")).text_body().await;
    assert!(again.contains("https://hooks.example.com/iquivity") && !again.contains("whsec_"));
}

/// The API reference page lists every operation and webhook event of the document it is rendered from,
/// needs no sign-in, and loads nothing but this service's stylesheet.
#[tokio::test]
async fn the_api_reference_page_shows_every_operation_of_the_document() {
    let app = spawn_app().await;
    let anonymous = browser_client();
    let document = app.openapi().await;
    let response = anonymous.get(app.url("/api/docs")).sent().await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let mut shown = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let heading = format!("{} {}", method.to_uppercase(), path);
            let escaped = heading.replace('&', "&amp;");
            assert!(page.contains(&escaped), "{heading} is on the page");
            shown += 1;
        }
    }
    assert!(shown > 30, "{shown} operations");
    for kind in document["webhooks"].as_object().unwrap().keys() {
        assert!(page.contains(&format!("<code>{kind}</code>")), "{kind}");
    }
    assert!(page.contains("application/problem+json"));
    assert!(!page.contains("<script"), "no script");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing from another origin"
    );
}

/// The filter form without JavaScript sends every field, empty ones too: those mean "any". Parameters the
/// page does not know (a campaign tag on a shared link) are ignored, not an empty list. A search that
/// finds nothing says so and offers to clear it, and the browser's icon request is answered.
#[tokio::test]
async fn the_list_reads_empty_and_unknown_parameters_as_no_filter() {
    let app = spawn_app().await;
    let (owner, _) = app.browser_sign_up("filters@example.com", "Filters").await;
    app.seed_account(&owner, Seed::new(Platform::X, "Alpha Tweets"))
        .await;
    app.seed_account(&owner, Seed::new(Platform::Facebook, "Beta Page"))
        .await;
    let everything = "/?q=&platform=&status=&created_from=&created_to=&owner=&client=&label=&sort=";
    for path in [
        everything,
        "/?utm_source=newsletter",
        "/?utm_source=x&platform=&sort=name",
    ] {
        let response = owner.client.get(app.url(path)).sent().await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("Alpha Tweets") && page.contains("Beta Page"),
            "{path}"
        );
        assert!(!page.contains("unknown"), "{path}: no error");
    }
    let none = owner
        .client
        .get(app.url("/?q=zzz-nothing"))
        .text_body()
        .await;
    assert!(none.contains("No account matches these filters."), "{none}");
    assert!(none.contains("Clear the filters"));
    let (status, _) = app.get(&owner, "/api/v1/accounts?utm_source=x").await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the API still names a misspelt parameter"
    );
    let (status, page) = app.get(&owner, "/api/v1/accounts?platform=&status=").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);

    let icon = owner.client.get(app.url("/favicon.ico")).sent().await;
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
}

/// A member is not offered what their role cannot do: no "Add New Account" and no Remove on the rows,
/// though Refresh stays. The owner sees both.
#[tokio::test]
async fn a_member_is_not_offered_adding_or_removing_accounts() {
    let app = spawn_app().await;
    let (owner, _) = app
        .browser_sign_up("roles-owner@example.com", "Roles")
        .await;
    let account = app
        .seed_account(&owner, Seed::new(Platform::X, "Shared Account"))
        .await;
    let code = app.invitation_code(&owner, "member").await;
    let member = browser_client();
    app.sign_up_invited(&member, "roles-member@example.com", &code)
        .await;

    let theirs = member.get(app.url("/")).text_body().await;
    assert!(
        theirs.contains("Shared Account"),
        "members see the accounts"
    );
    assert!(
        theirs.contains(&format!("/accounts/{account}/refresh")),
        "and may refresh them"
    );
    assert!(
        !theirs.contains("Add New Account"),
        "no connect buttons for a member"
    );
    assert!(
        !theirs.contains(&format!("/accounts/{account}/remove")),
        "no Remove for a member"
    );

    let mine = owner.client.get(app.url("/")).text_body().await;
    assert!(mine.contains("Add New Account"));
    assert!(mine.contains(&format!("/accounts/{account}/remove")));
}

/// Bulk actions without script: the ticked rows are posted with the action; a removal first shows a page
/// listing what goes and the scheduled posts it cancels, and only its confirmation removes.
#[tokio::test]
async fn bulk_actions_work_from_the_plain_form_and_a_removal_is_confirmed_first() {
    let app = spawn_app().await;
    let (owner, csrf) = app.browser_sign_up("bulk-form@example.com", "Forms").await;
    app.set_plan(owner.workspace_id, iquivity_domain::Plan::Professional)
        .await;
    let ann = app
        .seed_account(&owner, Seed::new(Platform::X, "Ann"))
        .await;
    let ben = app
        .seed_account(&owner, Seed::new(Platform::Tiktok, "Ben"))
        .await;
    let page = owner.client.get(app.url("/")).text_body().await;
    assert!(page.contains(&format!("name=\"ids\" value=\"{ann}\" form=\"bulk-form\"")));

    let post = |fields: Vec<(&'static str, String)>| {
        let client = owner.client.clone();
        let url = app.url("/accounts/bulk");
        async move { client.post(url).form(&fields).sent().await }
    };
    let labelled = post(vec![
        ("csrf", csrf.clone()),
        ("scope", "ids".into()),
        ("ids", ann.to_string()),
        ("ids", ben.to_string()),
        ("action", "add_label".into()),
        ("label", "Spring".into()),
    ])
    .await;
    assert_eq!(labelled.status(), StatusCode::SEE_OTHER);
    let shown = owner.client.get(app.url("/")).text_body().await;
    assert!(shown.contains("2 labelled."), "the report is on the list");

    // A filter chooses the accounts when scope is "filter".
    let confirm = post(vec![
        ("csrf", csrf.clone()),
        ("scope", "filter".into()),
        ("filter", "platform=x".into()),
        ("action", "remove".into()),
    ])
    .await;
    assert_eq!(confirm.status(), StatusCode::OK);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("Remove 1 account(s)?"), "{confirm}");
    assert!(confirm.contains("<li>Ann</li>"), "{confirm}");
    let (_, still) = app.get(&owner, "/api/v1/accounts").await;
    assert_eq!(names(&still).len(), 2, "nothing removed before confirming");

    let removed = post(vec![
        ("csrf", csrf.clone()),
        ("scope", "filter".into()),
        ("filter", "platform=x".into()),
        ("action", "remove".into()),
        ("confirmed", "yes".into()),
    ])
    .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    let (_, left) = app.get(&owner, "/api/v1/accounts").await;
    assert_eq!(names(&left), ["Ben"]);

    // Without the CSRF token nothing happens.
    let refused = post(vec![
        ("ids", ben.to_string()),
        ("action", "remove".into()),
        ("confirmed", "yes".into()),
    ])
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// The details page edits the team's side of an account without script: a mistake comes back next to
/// its field with what was typed; a good change is saved and said.
#[tokio::test]
async fn the_details_page_renames_relabels_and_assigns_a_client() {
    let app = spawn_app().await;
    let (owner, csrf) = app.browser_sign_up("edit-form@example.com", "Forms").await;
    let id = app
        .seed_account(&owner, Seed::new(Platform::X, "Ann"))
        .await;
    let acme = app.add_client(&owner, "Acme").await;
    let long = "l".repeat(41);
    let refused = owner
        .client
        .post(app.url(&format!("/accounts/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Ann's Shop"),
            ("labels", &format!("Shop, {long}")),
            ("client_id", &acme),
        ])
        .sent()
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains(&format!("value=\"Shop, {long}\"")),
        "typed labels kept"
    );
    assert!(page.contains("value=\"Ann&#39;s Shop\"") || page.contains("value=\"Ann's Shop\""));
    assert!(
        page.contains("class=\"field-error\" id=\"labels-error\""),
        "{page}"
    );
    let (_, unchanged) = app.get(&owner, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(unchanged["display_name"], "Ann");

    let saved = owner
        .client
        .post(app.url(&format!("/accounts/{id}/edit")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("display_name", "Ann's Shop"),
            ("labels", "Shop, Spring"),
            ("client_id", &acme),
        ])
        .sent()
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    assert!(saved.text().await.unwrap().contains("Saved."));
    let (_, account) = app.get(&owner, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(account["display_name"], "Ann's Shop");
    assert_eq!(account["labels"], json!(["Shop", "Spring"]));
    assert_eq!(account["client_id"], acme.as_str());
}

/// The plan page: the plan, its limits and the use per platform; owners read the operator's command,
/// members whom to ask.
#[tokio::test]
async fn the_plan_page_shows_limits_and_use_and_how_to_change_the_plan() {
    let app = spawn_app().await;
    let (owner, _) = app.browser_sign_up("plan-owner@example.com", "Plans").await;
    app.set_plan(owner.workspace_id, iquivity_domain::Plan::Free)
        .await;
    app.seed_account(&owner, Seed::new(Platform::X, "Only X"))
        .await;
    let page = owner
        .client
        .get(app.url("/settings/plan"))
        .text_body()
        .await;
    assert!(page.contains("<h1>Plan: free</h1>"), "{page}");
    assert!(page.contains("1 of 3"), "accounts in use of the limit");
    let x_row = page
        .split("data-platform=\"x\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap();
    assert!(
        x_row.contains("1 of 1") && x_row.contains("Limit reached"),
        "{x_row}"
    );
    let tiktok_row = page
        .split("data-platform=\"tiktok\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .unwrap();
    assert!(tiktok_row.contains("Room for more"), "{tiktok_row}");
    assert!(page.contains(&format!(
        "iquivity workspace set-plan {} PLAN",
        owner.workspace_id
    )));

    let code = app.invitation_code(&owner, "member").await;
    let member = browser_client();
    app.sign_up_invited(&member, "plan-member@example.com", &code)
        .await;
    let theirs = member.get(app.url("/settings/plan")).text_body().await;
    assert!(theirs.contains("ask plan-owner@example.com"), "{theirs}");
    assert!(
        !theirs.contains("set-plan"),
        "the operator's command is for owners"
    );
}

/// A removed account keeps its name in the post history.
#[tokio::test]
async fn the_post_history_names_a_removed_account() {
    let app = spawn_app().await;
    let (owner, _) = app.browser_sign_up("history@example.com", "History").await;
    app.set_plan(owner.workspace_id, iquivity_domain::Plan::Professional)
        .await;
    let id = app
        .seed_account(&owner, Seed::new(Platform::X, "Gone Soon"))
        .await;
    let at = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Tomorrow", "accounts": [id.to_string()], "publish_at": at}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, _) = app.delete(&owner, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let page = owner.client.get(app.url("/posts")).text_body().await;
    assert!(page.contains("Gone Soon (removed)"), "{page}");
    assert!(!page.contains("a removed account"));
}

/// A refusal on a page is a page, never raw JSON: a member confirming Remove reads why, in HTML.
#[tokio::test]
async fn a_refused_form_answers_a_page_not_json() {
    let app = spawn_app().await;
    let (owner, _) = app
        .browser_sign_up("html-errors@example.com", "Errors")
        .await;
    let id = app
        .seed_account(&owner, Seed::new(Platform::X, "Kept"))
        .await;
    let code = app.invitation_code(&owner, "member").await;
    let member = browser_client();
    app.sign_up_invited(&member, "html-member@example.com", &code)
        .await;
    let csrf = csrf_of(&member.get(app.url("/")).text_body().await);
    let refused = member
        .post(app.url(&format!("/accounts/{id}/remove")))
        .form(&[("csrf", csrf.as_str())])
        .sent()
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = refused.text().await.unwrap();
    assert!(page.contains("only owners and admins"), "{page}");
    assert!(!page.contains("\"type\""), "no JSON: {page}");
    // The API still answers problem+json.
    let api = member
        .delete(app.url(&format!("/api/v1/accounts/{id}")))
        .header("X-CSRF-Token", csrf)
        .sent()
        .await;
    assert_eq!(api.headers()["content-type"], "application/problem+json");
}

/// Without script, Refresh on an account only its owner can repair explains why before the platform.
#[tokio::test]
async fn refresh_without_script_explains_before_sending_to_the_platform() {
    let app = spawn_app().await;
    let (owner, csrf) = app.browser_sign_up("why-first@example.com", "Why").await;
    // A token the platform does not know: only consent repairs it.
    let id = app
        .seed_account(&owner, Seed::new(Platform::X, "Lost Token"))
        .await;
    let response = owner
        .client
        .post(app.url(&format!("/accounts/{id}/refresh")))
        .form(&[("csrf", csrf.as_str())])
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::OK, "a page, not a redirect");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Lost Token needs its owner to sign in again"),
        "{page}"
    );
    assert!(page.contains("Continue to X (Twitter)"), "{page}");
    // Our sentence is clean; the platform's own words are a details line of their own.
    assert!(!page.contains(".:"), "{page}");
    assert!(
        page.contains("<p class=\"platform-words\">The platform said: "),
        "{page}"
    );
}

/// An invitation for one address fills it in; a used or unknown link says so instead of a sign-up form.
#[tokio::test]
async fn an_invitation_page_prefills_the_invited_address_and_refuses_a_bad_link() {
    let app = spawn_app().await;
    let (owner, _) = app.browser_sign_up("inviter@example.com", "Named").await;
    let (status, created) = app
        .post(
            &owner,
            "/api/v1/invitations",
            json!({"role": "member", "email": "only.me@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let path = format!("/invitations/{}", created["code"].as_str().unwrap());
    let page = browser_client().get(app.url(&path)).text_body().await;
    assert!(page.contains("value=\"only.me@example.com\""), "{page}");
    assert!(page.contains("as a member"), "{page}");
    let bad = browser_client()
        .get(app.url("/invitations/iqi_not-a-real-code"))
        .sent()
        .await;
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("This invitation cannot be used"), "{bad}");
    assert!(!bad.contains("name=\"password\""));
}
