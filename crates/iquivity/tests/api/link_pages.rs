//! Links for account owners in headless Chromium: the agency makes them on its pages, and the owner uses
//! them signed out, in a browser of their own (a fresh profile, no cookie of the agency's).

use crate::browser::{
    add_account, browser_with_viewport, click, consent_on_sandbox, count, fill,
    newest_notification, signed_up_in_browser, text_of, texts_of, visit, wait_for, wait_text,
    Screenshots,
};
use crate::demo_pages::assert_accessible;
use crate::helpers::*;
use fantoccini::Client;
use iquivity_domain::Plan;
use serde_json::json;

/// The agency, signed up in a browser on the professional plan, with its API session.
async fn agency(email: &str) -> Option<(TestApp, Client, User)> {
    let (app, client) = signed_up_in_browser(email, 1280, 900).await?;
    let owner = app.user_signed_in(email, PASSWORD).await;
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    Some((app, client, owner))
}

/// The address of the link the page just made.
async fn new_link(client: &Client) -> String {
    let url = wait_text(client, "#new-link", |t| t.contains("/l/iql_")).await;
    assert!(
        wait_for(client, "button.copy[data-copy=new-link]")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "a button copies it"
    );
    url
}

/// The account owner's own browser, signed in nowhere.
async fn owners_browser(width: u32, height: u32) -> Client {
    browser_with_viewport(width, height)
        .await
        .expect("the agency's browser opened, so this one does")
}

#[tokio::test]
async fn a_clients_owner_connects_a_page_and_an_organisation_through_a_link() {
    let Some((app, agency, owner)) = agency("links-agency@example.com").await else {
        return;
    };
    let bakery_id = app.add_client(&owner, "Coastal Bakery").await;

    // Settings → Links: a reusable link for the bakery, on Facebook and LinkedIn, with a note.
    visit(&agency, &app, "/settings").await;
    click(&agency, "a[href='/settings/links']").await;
    click(&agency, &format!("#client_id option[value='{bakery_id}']")).await;
    click(&agency, "#platform-facebook").await;
    click(&agency, "#platform-linkedin").await;
    click(&agency, "#reusable").await;
    fill(
        &agency,
        "#note",
        "Hi Ann, please connect the bakery's Page and company page",
    )
    .await;
    click(
        &agency,
        "form[action='/settings/links'] button[type=submit]",
    )
    .await;
    let url = new_link(&agency).await;
    assert_accessible(&agency, "the links page with a link just made").await;

    // The owner, in a browser of their own: the page says who asks, for whom, and offers two platforms.
    let owner_browser = owners_browser(1280, 900).await;
    owner_browser.goto(&url).await.unwrap();
    let heading = wait_text(&owner_browser, "main h1", |t| !t.is_empty()).await;
    assert_eq!(heading, "Connect your accounts to Browser Agency");
    let offered = texts_of(&owner_browser, ".link-platforms .add-name").await;
    assert_eq!(offered, ["Connect Facebook", "Connect LinkedIn"]);
    assert!(text_of(&owner_browser, "main")
        .await
        .contains("please connect the bakery"));
    assert_accessible(&owner_browser, "a connect link's page").await;
    Screenshots::new()
        .take(&owner_browser, "link-page.png")
        .await;

    click(&owner_browser, ".link-platforms li:nth-child(1) button").await;
    consent_on_sandbox(&owner_browser, "Ann Lee", &["Ann Lee Studio"]).await;
    let done = wait_text(&owner_browser, "main", |t| {
        t.contains("connected to Browser Agency")
    })
    .await;
    assert!(done.contains("withdraw"), "{done}");
    assert_accessible(&owner_browser, "a link's end page").await;

    owner_browser.goto(&url).await.unwrap();
    click(&owner_browser, ".link-platforms li:nth-child(2) button").await;
    consent_on_sandbox(&owner_browser, "Ann Lee", &["Ann Lee Company"]).await;
    wait_text(&owner_browser, "main", |t| {
        t.contains("connected to Browser Agency")
    })
    .await;
    // The owner got no session in the workspace.
    visit(&owner_browser, &app, "/").await;
    wait_for(&owner_browser, "#email").await;
    owner_browser.close().await.unwrap();

    // The agency sees both under the client, and the link's log says what came through it.
    visit(&agency, &app, &format!("/?client={bakery_id}&sort=name")).await;
    let rows = crate::browser::wait_rows(&agency, |rows| rows.len() == 2).await;
    assert_eq!(rows, ["Ann Lee Company", "Ann Lee Studio"]);
    assert_eq!(count(&agency, "#account-rows .tag.client").await, 2);
    visit(&agency, &app, "/settings/links").await;
    click(&agency, ".link-item details summary").await;
    let log = texts_of(&agency, ".link-item .link-log li").await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(
        log[0].contains("Connected on Facebook: Ann Lee Studio"),
        "{log:?}"
    );
    assert!(
        log[1].contains("Connected on LinkedIn: Ann Lee Company"),
        "{log:?}"
    );
    agency.close().await.unwrap();
}

#[tokio::test]
async fn the_owner_reconnects_a_revoked_account_and_another_account_is_refused() {
    let Some((app, agency, owner)) = agency("reconnect-agency@example.com").await else {
        return;
    };
    add_account(&agency, "x", "Noah Whitaker", &[]).await;
    let (_, page) = app.get(&owner, "/api/v1/accounts").await;
    let account = page["items"][0].clone();
    let id = account["id"].as_str().unwrap().to_string();
    app.revoke_grant(&account).await;
    click(&agency, &format!("#account-{id} form.refresh-form button")).await;
    wait_text(&agency, "#action-notice", |t| t.contains("needs its owner")).await;

    // From the account's page: ask its owner, with a note.
    visit(&agency, &app, &format!("/accounts/{id}")).await;
    fill(
        &agency,
        "#reconnect-note",
        "X revoked our access; one click fixes it",
    )
    .await;
    click(&agency, "form.reconnect-request button[type=submit]").await;
    let url = new_link(&agency).await;
    visit(&agency, &app, "/").await;
    let row = wait_text(&agency, &format!("#account-{id} td:nth-child(3)"), |t| {
        t.contains("Inactive")
    })
    .await;
    assert!(row.contains("Reconnect requested from the owner"), "{row}");
    visit(&agency, &app, &format!("/accounts/{id}")).await;
    let notice = text_of(&agency, "main [role=alert]").await;
    assert!(
        notice.contains("Reconnect requested from the owner"),
        "{notice}"
    );

    // The owner signs in as someone else first: refused, naming the account expected.
    let owner_browser = owners_browser(1280, 900).await;
    owner_browser.goto(&url).await.unwrap();
    let heading = wait_text(&owner_browser, "main h1", |t| !t.is_empty()).await;
    assert_eq!(heading, "Reconnect Noah Whitaker on X (Twitter)");
    assert_accessible(&owner_browser, "a reconnect link's page").await;
    click(&owner_browser, "main form button[type=submit]").await;
    consent_on_sandbox(&owner_browser, "Somebody Else", &[]).await;
    let refusal = wait_text(&owner_browser, "[role=alert]", |t| !t.is_empty()).await;
    assert!(
        refusal.contains("does not give access to “Noah Whitaker”"),
        "{refusal}"
    );
    assert_accessible(&owner_browser, "a wrong account refused").await;

    // Then as the right one: done, and the account is Active again on the agency's page.
    click(&owner_browser, "main a.button").await;
    click(&owner_browser, "main form button[type=submit]").await;
    consent_on_sandbox(&owner_browser, "Noah Whitaker", &[]).await;
    wait_text(&owner_browser, "main", |t| {
        t.contains("connected to Browser Agency")
    })
    .await;
    owner_browser.close().await.unwrap();
    visit(&agency, &app, "/").await;
    let status = wait_text(&agency, &format!("#account-{id} td:nth-child(3)"), |t| {
        t.contains("Active")
    })
    .await;
    assert!(!status.contains("Reconnect requested"), "{status}");
    let newest = newest_notification(&agency).await;
    assert!(
        newest.contains("Noah Whitaker on X (Twitter) is working again."),
        "{newest}"
    );
    agency.close().await.unwrap();
}

#[tokio::test]
async fn a_client_reads_what_the_agency_holds_and_asks_for_a_removal() {
    let Some((app, agency, owner)) = agency("access-agency@example.com").await else {
        return;
    };
    let client_id = app.add_client(&owner, "Greenleaf").await;
    add_account(&agency, "x", "Greenleaf Market", &[]).await;
    let (_, page) = app.get(&owner, "/api/v1/accounts").await;
    let account = page["items"][0]["id"].as_str().unwrap().to_string();
    app.assign_client(&owner, &account, &client_id).await;

    visit(&agency, &app, "/settings/links").await;
    click(
        &agency,
        &format!("#access-client option[value='{client_id}']"),
    )
    .await;
    click(
        &agency,
        "form[action='/settings/links/access'] button[type=submit]",
    )
    .await;
    let url = new_link(&agency).await;

    // At phone width, signed out: the client's accounts, what each permission is for, who connected it.
    let client_browser = owners_browser(390, 844).await;
    client_browser.goto(&url).await.unwrap();
    let heading = wait_text(&client_browser, "main h1", |t| !t.is_empty()).await;
    assert_eq!(heading, "Greenleaf: what Browser Agency holds");
    let facts = text_of(&client_browser, ".access-account").await;
    assert!(facts.contains("Greenleaf Market"), "{facts}");
    assert!(
        facts.contains("access-agency@example.com"),
        "who connected it: {facts}"
    );
    assert!(facts.contains("granted"), "{facts}");
    let sideways = client_browser
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(sideways, json!(false), "no sideways scrolling on a phone");
    assert_accessible(&client_browser, "a client's access page").await;
    Screenshots::new()
        .take(&client_browser, "access-page.png")
        .await;

    click(
        &client_browser,
        ".access-actions form[action$='/remove-request'] button",
    )
    .await;
    let said = wait_text(&client_browser, "main [role=status]", |t| !t.is_empty()).await;
    assert!(
        said.contains("asked for Greenleaf Market to be removed"),
        "{said}"
    );
    client_browser.close().await.unwrap();

    visit(&agency, &app, "/").await;
    let newest = newest_notification(&agency).await;
    assert!(
        newest.contains("Greenleaf Market on X (Twitter): its owner asked"),
        "{newest}"
    );
    agency.close().await.unwrap();
}
