//! The first-use walk, repeated in headless Chromium: each rough edge it found is tried here as a person
//! would meet it (with and without script), so none comes back unnoticed.

use crate::browser::{
    add_account, attr_of, browser, browser_without_script, click, count, fill, follow, is_checked,
    newest_notification, prop_of, row_names, signed_up_in_browser, text_of, texts_of, visit,
    wait_for, wait_rows, wait_text,
};
use crate::demo_pages::{
    apply, assert_accessible, choose_action, demo_app, demo_in_browser, sign_in, DemoSession,
};
use crate::helpers::*;
use fantoccini::{Client, Locator};
use iquivity_domain::{Platform, StatusReason};
use serde_json::json;

/// The statuses the rows show, in order.
async fn row_statuses(client: &Client) -> Vec<String> {
    texts_of(
        client,
        "#account-rows tr td:nth-child(3) > span:first-child",
    )
    .await
}

fn has_emoji(text: &str) -> bool {
    text.chars()
        .any(|c| ('\u{1F000}'..='\u{1FAFF}').contains(&c) || ('\u{2600}'..='\u{27BF}').contains(&c))
}

#[tokio::test]
async fn without_script_the_list_is_read_filtered_searched_and_sorted() {
    let (app, demo) = demo_app().await;
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    // Two Facebook accounts stop working, each with the platform's own words.
    let (_, facebook) = app.get(&owner, "/api/v1/accounts?platform=facebook").await;
    let failing: Vec<(String, String)> = facebook["items"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["display_name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(failing.len(), 2, "the demo has two Facebook accounts");
    for ((id, _), (reason, words)) in failing.iter().zip([
        (
            StatusReason::TokenRevoked,
            "Error validating access token: The user has not authorized application 1234.",
        ),
        (
            StatusReason::MissingPermissions,
            "(#200) Requires pages_manage_posts permission.",
        ),
    ]) {
        app.app
            .core
            .change_account_status(
                owner.workspace_id,
                id.parse().unwrap(),
                Some(reason),
                Some(iquivity_core::renewal::status_message(reason, words)),
            )
            .await
            .unwrap();
    }

    let Some(client) = browser_without_script(1280, 900).await else {
        return;
    };
    sign_in(&client, &app, &demo).await;
    let select_page = attr_of(&client, "#select-page", "hidden").await;
    assert!(
        select_page.is_some(),
        "no script ran: what only the script shows stays hidden"
    );
    // From the top of the page, the first Tab reaches "Skip to the accounts list"; following it lands on
    // the list. The nav says which page this is.
    client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .unwrap();
    let skip = client.active_element().await.unwrap();
    assert_eq!(
        skip.attr("class").await.unwrap().as_deref(),
        Some("skip-link")
    );
    let target = skip.attr("href").await.unwrap().unwrap();
    assert!(
        skip.is_displayed().await.unwrap(),
        "the skip link shows when focused"
    );
    skip.send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .unwrap();
    let landed = client
        .active_element()
        .await
        .unwrap()
        .attr("id")
        .await
        .unwrap();
    assert_eq!(landed.map(|id| format!("#{id}")), Some(target));
    let current = texts_of(&client, ".topbar nav a[aria-current=page]").await;
    assert_eq!(current, ["Platforms"]);

    // The bell's drawer opens without script, and says what happened in clean sentences.
    click(&client, ".bell summary").await;
    let drawer = wait_text(&client, ".bell[open] .drawer", |t| t.contains("has failed")).await;
    assert!(drawer.contains("is inactive"), "{drawer}");
    assert!(
        !drawer.contains(".:") && !drawer.contains("is failed"),
        "{drawer}"
    );
    assert!(!has_emoji(&drawer), "{drawer}");
    click(&client, ".bell summary").await;

    let total: usize = text_of(&client, "[data-summary=total]")
        .await
        .parse()
        .unwrap();
    assert_eq!(count(&client, "#account-rows tr").await, total.min(50));

    // The filter form sent as it stands, with every field empty: empty means "any".
    follow(&client, "#filters button[type=submit]").await;
    wait_for(&client, "#account-rows tr").await;
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("platform="),
        "{url}"
    );
    assert_eq!(count(&client, ".notice.error").await, 0);
    assert_eq!(count(&client, "#account-rows tr").await, total);

    // A parameter the list does not know (a newsletter's tracking) is ignored.
    visit(&client, &app, "/?utm_source=newsletter&platform=").await;
    wait_for(&client, "#account-rows tr").await;
    assert_eq!(count(&client, ".notice.error").await, 0);
    assert_eq!(count(&client, "#account-rows tr").await, total);

    // Two statuses at once: both stay ticked, and only those rows show.
    click(&client, "#filters input[name=status][value=inactive]").await;
    click(&client, "#filters input[name=status][value=failed]").await;
    follow(&client, "#filters button[type=submit]").await;
    wait_for(&client, "#account-rows tr").await;
    assert!(is_checked(&client, "#filters input[name=status][value=inactive]").await);
    assert!(is_checked(&client, "#filters input[name=status][value=failed]").await);
    let mut statuses = row_statuses(&client).await;
    statuses.sort();
    assert_eq!(statuses, ["Failed", "Inactive"]);

    // Our sentence first, the platform's words on their own line, with no stray ".:".
    let reasons = texts_of(&client, "#account-rows .reason").await;
    assert!(
        reasons.contains(&"Access was revoked on the platform.".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&"A permission needed to publish was not granted.".to_string()),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r == "The platform said: (#200) Requires pages_manage_posts permission."),
        "{reasons:?}"
    );
    assert!(!reasons.iter().any(|r| r.contains(".:")), "{reasons:?}");

    // The Failed account's page advises Refresh first, in words (no emoji a font may lack).
    let failed_id = &failing[1].0;
    visit(&client, &app, &format!("/accounts/{failed_id}")).await;
    let main = text_of(&client, "main").await;
    let refresh = main.find("Click Refresh").expect("Refresh is advised");
    let remove = main
        .find("removing and adding")
        .expect("the last resort named");
    assert!(refresh < remove, "Refresh is advised first: {main}");
    assert!(!has_emoji(&main), "{main}");

    // A search that matches nothing says so and offers the way back.
    visit(&client, &app, "/").await;
    fill(&client, "#q", "nobody-by-this-name").await;
    follow(&client, "#filters button[type=submit]").await;
    let empty = wait_for(&client, "#no-results").await;
    assert_eq!(empty.attr("hidden").await.unwrap(), None);
    assert_eq!(
        empty.text().await.unwrap(),
        "No account matches these filters. Clear the filters"
    );
    assert_eq!(count(&client, "#account-rows tr").await, 0);
    follow(&client, "#no-results a").await;
    wait_for(&client, "#account-rows tr").await;
    assert_eq!(count(&client, "#account-rows tr").await, total);

    // Sorting by name: the arrow moves to Name, and only Name.
    follow(&client, "th a.sort-link[href*='sort=name']").await;
    wait_for(&client, "#account-rows tr").await;
    let mut sorted = Vec::new();
    for header in client
        .find_all(Locator::Css("#accounts th[aria-sort]"))
        .await
        .unwrap()
    {
        let order = header.attr("aria-sort").await.unwrap().unwrap();
        if order != "none" {
            sorted.push((header.text().await.unwrap(), order));
        }
    }
    assert_eq!(sorted, [("Name".to_string(), "ascending".to_string())]);
    let names = row_names(&client).await;
    let mut expected = names.clone();
    expected.sort_by_key(|n| n.to_lowercase());
    assert_eq!(names, expected);

    // Sorting by status puts what needs attention first: Failed, then Inactive, then Active.
    follow(&client, "th a.sort-link[href*='sort=status']").await;
    wait_for(&client, "#account-rows tr").await;
    let statuses = row_statuses(&client).await;
    assert_eq!(statuses[..2], ["Failed", "Inactive"], "{statuses:?}");
    assert!(statuses[2..].iter().all(|s| s == "Active"), "{statuses:?}");

    // The details page renames and relabels with a plain form.
    let (renamed_id, _) = &failing[0];
    visit(&client, &app, &format!("/accounts/{renamed_id}")).await;
    fill(
        &client,
        "#edit input[name=display_name]",
        "Coastal Bakery (main Page)",
    )
    .await;
    fill(&client, "#edit input[name=labels]", "food, priority").await;
    follow(&client, "#edit button[type=submit]").await;
    let heading = wait_text(&client, "main h1", |t| t.contains("Coastal Bakery")).await;
    assert_eq!(heading, "Coastal Bakery (main Page)");
    let (_, renamed) = app
        .get(&owner, &format!("/api/v1/accounts/{renamed_id}"))
        .await;
    assert_eq!(renamed["labels"], json!(["food", "priority"]));
    visit(&client, &app, "/?sort=name").await;
    wait_for(&client, "#account-rows tr").await;

    // Each "Add account" control says which platform it adds; the platform cell says its name once.
    let add_names = texts_of(&client, ".add-strip .add-cta").await;
    let mut distinct = add_names.clone();
    distinct.dedup();
    assert_eq!(add_names.len(), Platform::ALL.len());
    assert_eq!(distinct.len(), add_names.len(), "{add_names:?}");
    let cell = client
        .find(Locator::Css("#account-rows td.platform-cell"))
        .await
        .unwrap();
    let html = cell.html(true).await.unwrap();
    assert_eq!(
        html.matches("aria-hidden=\"true\"").count(),
        1,
        "the icon is hidden from screen readers: {html}"
    );
    crate::browser::Screenshots::new()
        .take(&client, "platforms-without-script.png")
        .await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn an_invited_member_signs_up_from_the_link_and_sees_only_what_a_member_can_do() {
    let Some(DemoSession {
        app, demo, client, ..
    }) = demo_in_browser(1280, 900).await
    else {
        return;
    };

    // The plan page: the limits, the use per platform, and for the owner how a plan is changed here.
    visit(&client, &app, "/settings/plan").await;
    let plan = wait_text(&client, "main", |t| t.contains("Use per platform")).await;
    assert!(plan.contains("iquivity workspace set-plan"), "{plan}");
    let facebook = text_of(&client, "table.usage tr[data-platform=facebook]").await;
    assert!(facebook.starts_with("Facebook"), "{facebook}");
    assert!(facebook.contains("Room for more"), "{facebook}");

    // The owner invites by email; the link is whole, and a button copies it.
    visit(&client, &app, "/settings").await;
    fill(&client, "#invite-email", "guest@example.com").await;
    click(&client, "#invite-role option[value=member]").await;
    click(
        &client,
        "form[action='/settings/invitations'] button[type=submit]",
    )
    .await;
    let link = wait_text(&client, "#invitation-link", |t| !t.is_empty()).await;
    assert!(
        link.starts_with(&format!("{}/invitations/", app.base)),
        "{link}"
    );
    let copy = wait_for(&client, "button.copy[data-copy=invitation-link]").await;
    assert!(copy.is_displayed().await.unwrap());

    // The invited person, signed out: who invites them, to what, as what; their address filled in.
    client.delete_all_cookies().await.unwrap();
    client.goto(&link).await.unwrap();
    let main = wait_text(&client, "main", |t| t.contains("Demo Agency")).await;
    assert!(main.contains("as a member"), "{main}");
    assert_eq!(
        main.matches("Already have an account?").count(),
        1,
        "{main}"
    );
    let email = prop_of(&client, "#email", "value").await;
    assert_eq!(email.as_deref(), Some("guest@example.com"));
    fill(&client, "#password", PASSWORD).await;
    click(&client, "main form button[type=submit]").await;
    wait_for(&client, "#account-rows tr").await;

    // A member refreshes; adding, removing, labelling and assigning are not offered.
    assert_eq!(count(&client, ".add-strip").await, 0);
    assert_eq!(count(&client, "#account-rows .remove-link").await, 0);
    assert!(count(&client, "#account-rows form.refresh-form").await > 0);
    let mut actions = Vec::new();
    for option in client
        .find_all(Locator::Css("#bulk-action option"))
        .await
        .unwrap()
    {
        actions.push(option.attr("value").await.unwrap().unwrap());
    }
    assert_eq!(actions, ["refresh"]);

    // The removal address typed by hand is a page that says no, never raw JSON.
    let id = attr_of(&client, "#account-rows tr", "data-id")
        .await
        .unwrap();
    // The member's plan page says whom to ask instead of how to change it.
    visit(&client, &app, "/settings/plan").await;
    let plan = wait_text(&client, "main", |t| t.contains("Changing the plan")).await;
    assert!(!plan.contains("set-plan"), "{plan}");
    assert!(
        plan.contains(&format!(
            "Only the workspace's owner can have the plan changed: ask {}.",
            demo.email
        )),
        "{plan}"
    );

    visit(&client, &app, &format!("/accounts/{id}/remove")).await;
    let heading = wait_text(&client, "main h1", |t| !t.is_empty()).await;
    let body = text_of(&client, "body").await;
    assert!(!body.trim_start().starts_with('{'), "{body}");
    assert!(!heading.is_empty());
    assert_accessible(&client, "a member refused a removal").await;

    // The browser's own request for /favicon.ico finds the icon.
    let icon = client
        .execute(
            "return fetch('/favicon.ico').then(r => [r.status, r.headers.get('content-type')]);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(icon[0], json!(200), "{icon}");
    client.close().await.unwrap();
}

/// The number in the server's "X allows 280 characters (this post has N)".
fn server_count(message: &str) -> usize {
    let after = message
        .split("this post has ")
        .nth(1)
        .unwrap_or_else(|| panic!("no count in {message:?}"));
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_composer_keeps_what_was_typed_counts_as_the_server_does_and_history_keeps_names() {
    let Some((app, client)) = signed_up_in_browser("composer@example.com", 1280, 1000).await else {
        return;
    };
    add_account(&client, "x", "Nora Quinn", &[]).await;

    // A schedule in the past: the message names the field, and everything typed comes back.
    visit(&client, &app, "/posts").await;
    let lines = "Line of the launch post\n".repeat(3);
    fill(&client, "#text", lines.trim_end()).await;
    fill(&client, "#link", "https://example.com/launch").await;
    click(&client, "input[name=accounts]").await;
    client
        .execute(
            "document.getElementById('publish_at').value = '2020-01-02T09:30';",
            vec![],
        )
        .await
        .unwrap();
    click(&client, "#compose button[type=submit]").await;
    let error = wait_for(&client, "#publish_at-error").await;
    let said = error.text().await.unwrap();
    assert!(said.contains("publish time is in the past"), "{said}");
    let kept = client
        .execute(
            "return [document.getElementById('text').value, document.getElementById('link').value,
                     document.getElementById('publish_at').value,
                     [...document.querySelectorAll('input[name=accounts]')].map(b => b.checked)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        json!([
            lines.trim_end(),
            "https://example.com/launch",
            "2020-01-02T09:30",
            [true]
        ])
    );

    // Too long for X, with line breaks (sent as CRLF): the counter and the server give one number.
    let long = format!("{}\n{}", "a".repeat(200), "b".repeat(60));
    fill(&client, "#text", &long).await;
    client
        .execute("document.getElementById('publish_at').value = '';", vec![])
        .await
        .unwrap();
    let counted = wait_text(&client, "#counters", |t| t.contains("too long")).await;
    let shown: usize = counted
        .split("X: ")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{counted}"));
    click(&client, "#compose button[type=submit]").await;
    let refused = wait_text(&client, ".notice.error", |t| t.contains("this post has")).await;
    assert_eq!(server_count(&refused), shown, "{refused} / {counted}");

    // Short enough, published now; then the account is removed, and the history keeps its name.
    fill(&client, "#text", "Launch day").await;
    click(&client, "#compose button[type=submit]").await;
    wait_for(&client, "li.post").await;
    let mut published = false;
    for _ in 0..60 {
        client.refresh().await.unwrap();
        if count(&client, "li.post .result-published").await == 1 {
            published = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(published, "the post was published");
    visit(&client, &app, "/").await;
    click(&client, "#account-rows .remove-link").await;
    wait_for(&client, "#remove-dialog[open]").await;
    click(&client, "#remove-dialog[open] button.danger").await;
    wait_text(&client, "main", |t| t.contains("Nora Quinn was removed")).await;
    visit(&client, &app, "/posts").await;
    let result = text_of(&client, "li.post .result").await;
    assert!(result.contains("Nora Quinn"), "{result}");
    assert!(!result.contains("a removed account"), "{result}");
    client.close().await.unwrap();
}

#[tokio::test]
async fn the_page_picker_ticks_only_what_the_plan_has_room_for() {
    let Some((_app, client)) = signed_up_in_browser("picker@example.com", 1280, 900).await else {
        return;
    };
    click(&client, ".add-strip li[data-platform=facebook] a.add-tile").await;
    fill(&client, "input#user", "Ann Lee").await;
    click(&client, "button[value=approve]").await;
    wait_for(&client, "ul.candidates").await;
    let room = text_of(&client, "main .notice").await;
    assert!(room.contains("room for 1 more"), "{room}");
    assert_eq!(
        count(&client, "ul.candidates input[type=checkbox]:checked").await,
        1,
        "the free plan has room for one"
    );

    // Both Pages chosen: the refusal says how many to untick, for the case at hand.
    for checkbox in client
        .find_all(Locator::Css(
            "ul.candidates input[type=checkbox]:not(:disabled)",
        ))
        .await
        .unwrap()
    {
        if checkbox.prop("checked").await.unwrap().as_deref() != Some("true") {
            checkbox.click().await.unwrap();
        }
    }
    let chosen = count(&client, "ul.candidates input[type=checkbox]:checked").await;
    assert!(chosen > 1, "more than the plan has room for");
    click(&client, "ul.candidates ~ button[type=submit]").await;
    let refusal = wait_text(&client, "[role=alert]", |t| t.contains("untick")).await;
    assert!(
        refusal.contains(&format!(
            "room for 1 more Facebook account(s) and {chosen} were chosen: untick {}",
            chosen - 1
        )),
        "{refusal}"
    );
    assert!(!refusal.contains("the one connected"), "{refusal}");
    assert_accessible(&client, "the picker's refusal").await;

    // Only one left ticked: connected.
    let ticked = client
        .find_all(Locator::Css("ul.candidates input[type=checkbox]:checked"))
        .await
        .unwrap();
    for checkbox in ticked.iter().skip(1) {
        checkbox.click().await.unwrap();
    }
    click(&client, "ul.candidates ~ button[type=submit]").await;
    wait_for(&client, "#account-rows tr.highlight").await;
    assert_eq!(count(&client, "#account-rows tr").await, 1);
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_revoked_account_reads_clearly_and_the_bell_says_when_it_works_again() {
    let Some((app, client)) = signed_up_in_browser("revoked@example.com", 1280, 900).await else {
        return;
    };
    add_account(&client, "x", "Ruth Vance", &[]).await;
    let owner = app.user_signed_in("revoked@example.com", PASSWORD).await;
    let (_, page) = app.get(&owner, "/api/v1/accounts").await;
    let account = &page["items"][0];
    let id = account["id"].as_str().unwrap().to_string();
    app.revoke_grant(account).await;

    // Refresh finds the revoked grant at once: the row says so cleanly, and offers the way back.
    click(&client, &format!("#account-{id} form.refresh-form button")).await;
    wait_text(&client, "#action-notice", |t| t.contains("needs its owner")).await;
    client.refresh().await.unwrap();
    let status = wait_text(&client, &format!("#account-{id} td:nth-child(3)"), |t| {
        t.contains("Inactive")
    })
    .await;
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines.len(), 3, "{status}");
    assert_eq!(lines[1], "The platform refused to renew the connection.");
    assert!(lines[2].starts_with("The platform said: "), "{status}");
    assert!(!status.contains(".:"), "{status}");
    assert!(!has_emoji(&status), "{status}");

    // Through the platform's consent again, as the same person: Active, and the bell says so first.
    click(&client, &format!("#account-{id} form.refresh-form button")).await;
    wait_for(&client, "#action-notice a.button").await;
    click(&client, "#action-notice a.button").await;
    fill(&client, "input#user", "Ruth Vance").await;
    click(&client, "button[value=approve]").await;
    wait_text(&client, &format!("#account-{id} td:nth-child(3)"), |t| {
        t.contains("Active")
    })
    .await;
    let newest = newest_notification(&client).await;
    assert!(
        newest.contains("Ruth Vance on X (Twitter) is working again."),
        "{newest}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn every_account_matching_a_filter_is_selected_across_pages() {
    let Some(DemoSession {
        app, owner, client, ..
    }) = demo_in_browser(1280, 900).await
    else {
        return;
    };
    let (_, all) = app.get(&owner, "/api/v1/accounts?limit=100").await;
    let total = all["items"].as_array().unwrap().len();
    assert!(total > 5, "the demo spans several pages of 5");

    visit(&client, &app, "/?limit=5").await;
    wait_rows(&client, |rows| rows.len() == 5).await;
    wait_for(&client, "#load-more").await;
    click(&client, "#select-page").await;
    wait_text(&client, "#bulk-count", |t| t == "5 selected").await;
    let offer = wait_for(&client, "#select-matching:not([hidden])").await;
    offer.click().await.unwrap();
    wait_text(&client, "#bulk-count", |t| {
        t == format!("All {total} accounts matching this filter are selected")
    })
    .await;
    choose_action(&client, "add_label").await;
    fill(&client, "#bulk-label", "Quarterly review").await;
    apply(&client).await;
    wait_text(&client, ".bulk-report", |t| {
        t.starts_with(&format!("{total} labelled."))
    })
    .await;
    let (_, labelled) = app
        .get(
            &owner,
            "/api/v1/accounts?label=quarterly%20review&limit=100",
        )
        .await;
    assert_eq!(
        labelled["items"].as_array().map(Vec::len),
        Some(total),
        "every page of the filter, not only the rows shown: {labelled}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_manager_works_client_by_client() {
    let (app, demo) = demo_app().await;
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    let (_, clients) = app.get(&owner, "/api/v1/clients").await;
    let brightline = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Brightline")
        .expect("the demo has the client Brightline")
        .clone();
    let brightline_id = brightline["id"].as_str().unwrap().to_string();
    let Some(client) = browser(1280, 900).await else {
        return;
    };
    sign_in(&client, &app, &demo).await;

    // Moving through the filters with the keyboard, the focused select shows a ring.
    click(&client, "#q").await;
    client
        .find(Locator::Css("#q"))
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .unwrap();
    let ring = client
        .execute(
            "const e = document.activeElement; const s = getComputedStyle(e);
             return [e.id, s.outlineStyle, parseFloat(s.outlineWidth)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ring[0], json!("platform"), "{ring}");
    assert_ne!(ring[1], json!("none"), "{ring}");
    assert!(ring[2].as_f64().unwrap() >= 2.0, "{ring}");

    // Filtered by the client: its accounts only, each showing the client.
    click(&client, &format!("#client option[value='{brightline_id}']")).await;
    click(&client, "#filters button[type=submit]").await;
    let (_, expected) = app
        .get(&owner, &format!("/api/v1/accounts?client={brightline_id}"))
        .await;
    let mut expected = names(&expected);
    expected.sort();
    let mut shown = wait_rows(&client, |rows| rows.len() == expected.len()).await;
    shown.sort();
    assert_eq!(shown, expected);
    let tags = texts_of(&client, "#account-rows .tag.client").await;
    assert_eq!(tags.len(), expected.len(), "{tags:?}");
    assert!(tags.iter().all(|t| t == "Client: Brightline"), "{tags:?}");

    // The client's own view: its name in the title, its counts in the summary.
    visit(&client, &app, &format!("/?client={brightline_id}")).await;
    wait_text(&client, "h1", |t| t == "Platforms: Brightline").await;
    assert_eq!(
        text_of(&client, "[data-summary=total]").await,
        brightline["accounts"].to_string()
    );

    // An unassigned account joins the client through the bulk bar.
    visit(&client, &app, "/?client=none&sort=name").await;
    let unassigned = wait_rows(&client, |rows| !rows.is_empty()).await;
    let first = &unassigned[0];
    client
        .execute(
            "const name = arguments[0];
             [...document.querySelectorAll('#account-rows tr')]
               .find(r => r.querySelector('.account-name').textContent.trim() === name)
               .querySelector('input[name=ids]').click();",
            vec![json!(first)],
        )
        .await
        .unwrap();
    choose_action(&client, "assign_client").await;
    click(
        &client,
        &format!("#bulk-client option[value='{brightline_id}']"),
    )
    .await;
    apply(&client).await;
    wait_text(&client, ".bulk-report", |t| t.starts_with("1 assigned.")).await;
    let (_, now) = app
        .get(&owner, &format!("/api/v1/accounts?client={brightline_id}"))
        .await;
    assert!(names(&now).contains(first), "{now}");
    client.close().await.unwrap();
}

#[tokio::test]
async fn the_page_counts_every_case_of_the_shared_table_as_the_server_does() {
    let Some((_app, client)) = signed_up_in_browser("counting@example.com", 1280, 900).await else {
        return;
    };
    let cases: serde_json::Value =
        serde_json::from_str(include_str!("../../../platforms/tests/text_counting.json")).unwrap();
    let counted = client
        .execute(
            "return arguments[0].map((c) => countedLength(c.counting, c.text));",
            vec![cases.clone()],
        )
        .await
        .unwrap();
    for (case, got) in cases
        .as_array()
        .unwrap()
        .iter()
        .zip(counted.as_array().unwrap())
    {
        assert_eq!(got, &case["count"], "{}: {:?}", case["what"], case["text"]);
    }
}
