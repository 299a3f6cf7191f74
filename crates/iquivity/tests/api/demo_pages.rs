//! The pages as a person first meets them, on the demo workspace (the seed's 15 accounts): the list on
//! the first screen at desktop and phone size, and axe-core at 0 violations (WCAG 2.2 AA) on every page
//! and state.

use crate::browser::{
    attr_of, browser_with_viewport, click, fill, prop_of, visit, wait_for, wait_text, Screenshots,
};
use crate::helpers::*;
use fantoccini::Client;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// axe-core, pinned in `tests/browser-tools/package-lock.json` and installed there with `npm ci` the
/// first time a test needs it. `None` (the accessibility checks skipped, with a message) where npm is
/// missing, unless `IQUIVITY_REQUIRE_BROWSER=1` makes them mandatory.
fn axe_script() -> Option<&'static str> {
    static AXE: OnceLock<Option<String>> = OnceLock::new();
    AXE.get_or_init(|| {
        let tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser-tools");
        let script = tools.join("node_modules/axe-core/axe.min.js");
        if !script.exists() {
            let installed = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--silent"])
                .current_dir(&tools)
                .status()
                .is_ok_and(|status| status.success());
            let required = std::env::var("IQUIVITY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
            if !installed {
                assert!(
                    !required,
                    "axe-core could not be installed with npm ci in {tools:?}"
                );
                announce_skip(
                    "the accessibility checks need axe-core, installed with npm (Node.js)",
                );
                return None;
            }
        }
        Some(std::fs::read_to_string(&script).expect("axe-core's script reads"))
    })
    .as_deref()
}

/// Runs axe-core on the page as it is now and fails with every violation, named by rule and element.
pub(crate) async fn assert_accessible(client: &Client, state: &str) {
    assert_accessible_except(client, state, &[]).await
}

/// As [`assert_accessible`], with best-practice rules that do not apply to this state left out.
async fn assert_accessible_except(client: &Client, state: &str, not_applicable: &[&str]) {
    let Some(axe) = axe_script() else {
        return;
    };
    client
        .execute(&format!("{axe}\nreturn true;"), vec![])
        .await
        .expect("axe-core loads into the page");
    let violations = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const rules = Object.fromEntries(arguments[0].map(id => [id, { enabled: false }]));
             axe.run(document, { rules, runOnly: { type: 'tag', values:
                 ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] } })
               .then(r => done(r.violations.map(v => ({ rule: v.id, help: v.help,
                    at: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 5) }))))
               .catch(e => done([{ rule: 'axe-error', help: String(e), at: [] }]));",
            vec![serde_json::json!(not_applicable)],
        )
        .await
        .expect("axe-core runs");
    let violations = violations.as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) on {state}:\n{}",
        violations.len(),
        serde_json::to_string_pretty(&Value::Array(violations)).unwrap()
    );
}

/// A running service with the demo workspace, and its sign-in.
pub(crate) async fn demo_app() -> (TestApp, iquivity::demo::DemoWorkspace) {
    let app = spawn_app().await;
    let demo = iquivity::demo::create(&app.app)
        .await
        .expect("the demo workspace is created");
    (app, demo)
}

pub(crate) async fn sign_in(client: &Client, app: &TestApp, demo: &iquivity::demo::DemoWorkspace) {
    visit(client, app, "/login").await;
    fill(client, "#email", &demo.email).await;
    fill(client, "#password", &demo.password).await;
    click(client, "main form button[type=submit]").await;
    wait_for(client, "#account-rows tr").await;
}

/// The demo workspace's owner, signed in through the sign-in page of a browser whose page area is
/// `width` × `height`; and the same owner's session for the API.
/// Keep `app` bound for as long as the test uses the browser: dropping it stops the service.
pub(crate) struct DemoSession {
    pub app: TestApp,
    pub demo: iquivity::demo::DemoWorkspace,
    pub owner: User,
    pub client: Client,
}

pub(crate) async fn demo_in_browser(width: u32, height: u32) -> Option<DemoSession> {
    let (app, demo) = demo_app().await;
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    let client = browser_with_viewport(width, height).await?;
    sign_in(&client, &app, &demo).await;
    Some(DemoSession {
        app,
        demo,
        owner,
        client,
    })
}

/// Where the first account row starts and ends, and the height of the screen, in CSS pixels.
async fn first_row_position(client: &Client) -> (f64, f64, f64) {
    let at = client
        .execute(
            "window.scrollTo(0, 0);
             const r = document.querySelector('#account-rows tr').getBoundingClientRect();
             return [r.top, r.bottom, window.innerHeight];",
            vec![],
        )
        .await
        .unwrap();
    let at: Vec<f64> = serde_json::from_value(at).unwrap();
    (at[0], at[1], at[2])
}

#[tokio::test]
async fn the_accounts_list_starts_on_the_first_screen_at_desktop_and_phone_size() {
    let (app, demo) = demo_app().await;
    let screenshots = Screenshots::new();

    let Some(desktop) = browser_with_viewport(1440, 900).await else {
        return;
    };
    sign_in(&desktop, &app, &demo).await;
    let (top, bottom, screen) = first_row_position(&desktop).await;
    assert_eq!(screen, 900.0);
    assert!(
        bottom <= screen,
        "at 1440×900 the first row is in view without scrolling (it spans {top}..{bottom} px)"
    );
    // Every column heading on one line ("Platform", not "Platfor/m").
    let wrapped = desktop
        .execute(
            "return [...document.querySelectorAll('#accounts thead th')].filter(th => {
                 const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
                 let split = false;
                 for (let text = walker.nextNode(); text; text = walker.nextNode()) {
                     const range = document.createRange();
                     range.selectNodeContents(text);
                     if (range.getClientRects().length > 1) split = true;
                 }
                 return split;
             }).map(th => th.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(wrapped, json!([]), "headings split over lines");
    screenshots.take(&desktop, "platforms-desktop.png").await;
    desktop.close().await.unwrap();

    let Some(phone) = browser_with_viewport(390, 844).await else {
        return;
    };
    sign_in(&phone, &app, &demo).await;
    let (top, _, screen) = first_row_position(&phone).await;
    assert_eq!(screen, 844.0);
    assert!(
        top < 2.0 * screen,
        "on a 390×844 phone the first row is reached within one screen of scrolling (it starts at {top} px)"
    );
    let overflow = phone
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(overflow, 0, "nothing makes the phone page scroll sideways");
    screenshots.take(&phone, "platforms-phone.png").await;
    phone.close().await.unwrap();
}

#[tokio::test]
async fn every_page_and_state_has_no_accessibility_violations() {
    let (app, demo) = demo_app().await;
    let Some(client) = browser_with_viewport(1280, 900).await else {
        return;
    };
    visit(&client, &app, "/login").await;
    wait_for(&client, "#email").await;
    assert_accessible(&client, "the sign-in page").await;
    visit(&client, &app, "/signup").await;
    wait_for(&client, "#email").await;
    assert_accessible(&client, "the sign-up page").await;

    sign_in(&client, &app, &demo).await;
    assert_accessible(&client, "the Platforms page").await;

    // The bell's drawer, open.
    click(&client, ".bell summary").await;
    wait_for(&client, ".bell[open] .drawer").await;
    // The page under the open drawer is inert, so its main landmark and heading are out of reach by
    // design; everything else still holds.
    assert_accessible_except(
        &client,
        "the Platforms page with the notifications open",
        &["landmark-one-main", "page-has-heading-one"],
    )
    .await;
    click(&client, ".bell summary").await;

    // A client's view, a search with no match, and a refused filter.
    let (_, clients) = app
        .get(
            &app.user_signed_in(&demo.email, &demo.password).await,
            "/api/v1/clients",
        )
        .await;
    let client_id = clients[0]["id"]
        .as_str()
        .expect("the demo has clients")
        .to_string();
    visit(&client, &app, &format!("/?client={client_id}")).await;
    wait_text(&client, "h1", |t| t.starts_with("Platforms: ")).await;
    assert_accessible(&client, "a client's view").await;
    visit(&client, &app, "/?q=nobody-by-this-name").await;
    wait_for(&client, "#no-results:not([hidden])").await;
    assert_accessible(&client, "a search without matches").await;
    visit(
        &client,
        &app,
        "/?created_from=2026-02-01&created_to=2026-01-01",
    )
    .await;
    let error = wait_for(&client, "#created_from-error").await;
    assert_eq!(
        error.text().await.unwrap(),
        "Must not be after the end of the range (created_to)."
    );
    let described = attr_of(&client, "#created_from", "aria-describedby").await;
    assert_eq!(described.as_deref(), Some("created_from-error"));
    assert_accessible(&client, "an inverted date range").await;
    visit(&client, &app, "/").await;

    let account = attr_of(&client, "#account-rows tr", "data-id")
        .await
        .expect("rows carry their account id");
    for (path, what) in [
        (format!("/accounts/{account}"), "an account's details"),
        (
            format!("/accounts/{account}/remove"),
            "the removal confirmation",
        ),
        ("/notifications".to_string(), "the notification history"),
        ("/posts".to_string(), "the Posts page"),
        ("/settings".to_string(), "the Settings page"),
        ("/settings/plan".to_string(), "the plan page"),
        ("/api/docs".to_string(), "the API reference"),
    ] {
        visit(&client, &app, &path).await;
        wait_for(&client, "main h1").await;
        assert_accessible(&client, what).await;
    }
    // The invitation page as the invited person opens it, signed out.
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    let (_, invitation) = app
        .post(
            &owner,
            "/api/v1/invitations",
            json!({"role": "member", "email": "guest@example.com"}),
        )
        .await;
    let code = invitation["code"].as_str().unwrap().to_string();
    client.delete_all_cookies().await.unwrap();
    visit(&client, &app, &format!("/invitations/{code}")).await;
    wait_text(&client, "main", |t| t.contains("Demo Agency")).await;
    assert_accessible(&client, "the invitation page").await;
    client.close().await.unwrap();
}

/// Ticks the row of the account named `name` (with shift held, for a range).
async fn tick(client: &Client, name: &str, shift: bool) {
    client
        .execute(
            "const [name, shift] = arguments;
             const row = [...document.querySelectorAll('#account-rows tr')]
                 .find(r => r.querySelector('.account-name').textContent.trim() === name);
             row.querySelector('input[name=ids]').dispatchEvent(new MouseEvent('click', { bubbles: true, shiftKey: shift }));",
            vec![json!(name), json!(shift)],
        )
        .await
        .unwrap();
}

pub(crate) async fn choose_action(client: &Client, action: &str) {
    click(client, &format!("#bulk-action option[value={action}]")).await;
}

pub(crate) async fn apply(client: &Client) {
    click(client, "#bulk-form button[type=submit]").await;
}

#[tokio::test]
async fn a_manager_acts_on_many_accounts_at_once_and_reads_each_outcome() {
    let (app, demo) = demo_app().await;
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    // An X account whose token the platform no longer knows: only its owner can repair it.
    app.seed_account(
        &owner,
        Seed::new(iquivity_domain::Platform::X, "Token Lost"),
    )
    .await;
    let Some(client) = browser_with_viewport(1280, 900).await else {
        return;
    };
    sign_in(&client, &app, &demo).await;

    // Filter to X, tick every row shown, refresh: one report, with each outcome counted.
    visit(&client, &app, "/?platform=x").await;
    let shown = crate::browser::wait_rows(&client, |rows| rows.len() >= 3).await;
    click(&client, "#select-page").await;
    wait_text(&client, "#bulk-count", |t| {
        t == format!("{} selected", shown.len())
    })
    .await;
    choose_action(&client, "refresh").await;
    apply(&client).await;
    let report = wait_text(&client, ".bulk-report", |t| !t.is_empty()).await;
    assert!(
        report.starts_with(&format!(
            "{} refreshed, 1 needs the owner's consent.",
            shown.len() - 1
        )),
        "{report}"
    );
    assert!(
        report.contains("Token Lost: the platform needs the account's owner to sign in again"),
        "{report}"
    );

    // Shift-click ticks a range; a label is added to the three.
    visit(&client, &app, "/?platform=x&sort=name").await;
    let names = crate::browser::wait_rows(&client, |rows| rows.len() >= 3).await;
    tick(&client, &names[0], false).await;
    tick(&client, &names[2], true).await;
    wait_text(&client, "#bulk-count", |t| t == "3 selected").await;
    choose_action(&client, "add_label").await;
    fill(&client, "#bulk-label", "Launch").await;
    assert_accessible(&client, "the Platforms page with rows ticked").await;
    apply(&client).await;
    wait_text(&client, ".bulk-report", |t| t.starts_with("3 labelled.")).await;
    let (_, labelled) = app.get(&owner, "/api/v1/accounts?label=launch").await;
    let mut got = names_of(&labelled);
    got.sort();
    assert_eq!(got, names[..3].to_vec());

    // Remove: one dialog, counting the scheduled posts it cancels.
    let (_, page) = app.get(&owner, "/api/v1/accounts?label=launch").await;
    let first = page["items"][0]["id"].as_str().unwrap().to_string();
    let at = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Soon", "accounts": [first], "publish_at": at}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{post}");
    visit(&client, &app, "/?label=launch").await;
    crate::browser::wait_rows(&client, |rows| rows.len() == 3).await;
    click(&client, "#select-page").await;
    choose_action(&client, "remove").await;
    apply(&client).await;
    let dialog = wait_for(&client, "#bulk-remove-dialog[open]").await;
    let text = dialog.text().await.unwrap();
    assert!(text.contains("Remove 3 account(s)?"), "{text}");
    assert!(
        text.contains("1 scheduled post to these accounts will be cancelled."),
        "{text}"
    );
    assert_accessible(&client, "the bulk removal dialog").await;
    click(&client, "#bulk-remove-dialog[open] button.danger").await;
    wait_text(&client, ".bulk-report", |t| t.starts_with("3 removed.")).await;
    let (_, left) = app.get(&owner, "/api/v1/accounts?label=launch").await;
    assert!(left["items"].as_array().unwrap().is_empty());
    client.close().await.unwrap();
}

fn names_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["display_name"].as_str().unwrap().to_string())
        .collect()
}

/// Every address the page loaded or refers to for loading (images, styles, scripts, icons), as the
/// browser resolved them.
async fn loaded_addresses(client: &Client) -> Vec<String> {
    let addresses = client
        .execute(
            "const seen = performance.getEntriesByType('resource').map(e => e.name);
             for (const el of document.querySelectorAll('img[src], script[src], link[href], source[src], iframe[src]'))
                 seen.push(el.src || el.href);
             return seen;",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(addresses).unwrap()
}

#[tokio::test]
async fn no_request_leaves_the_services_origin_while_the_pages_are_used_across_a_restart() {
    let Some(DemoSession {
        app, demo, client, ..
    }) = demo_in_browser(1280, 900).await
    else {
        return;
    };
    let visit = |base: String| {
        let client = client.clone();
        async move {
            let mut seen = Vec::new();
            let account = attr_of(&client, "#account-rows tr", "data-id")
                .await
                .unwrap();
            for path in [
                "/".to_string(),
                format!("/accounts/{account}"),
                "/notifications".to_string(),
                "/posts".to_string(),
                "/settings".to_string(),
                "/?platform=instagram".to_string(),
            ] {
                client.goto(&format!("{base}{path}")).await.unwrap();
                wait_for(&client, "main h1").await;
                // Pictures load after the page: wait for each to finish, then require that none broke.
                let mut state = json!(null);
                for _ in 0..100 {
                    state = client
                        .execute(
                            "const images = [...document.images];
                             return { done: images.every(i => i.complete),
                                      broken: images.filter(i => i.complete && i.naturalWidth === 0).map(i => i.src) };",
                            vec![],
                        )
                        .await
                        .unwrap();
                    if state["done"] == json!(true) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert_eq!(
                    state["done"],
                    json!(true),
                    "the pictures on {path} finish loading"
                );
                assert_eq!(state["broken"], json!([]), "every picture on {path} loads");
                seen.extend(loaded_addresses(&client).await);
            }
            seen
        }
    };
    let before = visit(app.base.clone()).await;
    let pictures = before.iter().filter(|a| a.contains("/avatars/")).count();
    assert!(
        pictures >= 15,
        "the accounts' pictures are served: {before:?}"
    );
    for address in &before {
        assert!(
            address.starts_with(&format!("{}/", app.base)),
            "{address} is not on {}",
            app.base
        );
    }

    // The pictures are the ones fetched from the platform (the sandbox draws PNGs), not the initials.
    let owner = app.user_signed_in(&demo.email, &demo.password).await;
    let picture_type = |app: &TestApp, owner: &User| {
        let request = owner
            .client
            .get(app.url(&format!("/avatars/{}", first_account_id(&before))));
        async move {
            let response = request.sent().await;
            assert_eq!(response.status(), reqwest::StatusCode::OK);
            assert_eq!(response.headers()["cache-control"], "private, max-age=3600");
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_string()
        }
    };
    assert_eq!(picture_type(&app, &owner).await, "image/png");

    // After a restart the sandbox's ports have moved, and the pictures are still this service's.
    let app = restart(app, |_| {}, |_| {}).await;
    assert_eq!(picture_type(&app, &owner).await, "image/png");
    let after = visit(app.base.clone()).await;
    for address in &after {
        assert!(
            address.starts_with(&format!("{}/", app.base)),
            "{address} is not on {} after the restart",
            app.base
        );
    }
    client.close().await.unwrap();
}

/// The id in the first `/avatars/{id}` address.
fn first_account_id(addresses: &[String]) -> String {
    addresses
        .iter()
        .find_map(|a| a.split("/avatars/").nth(1))
        .expect("a picture address")
        .to_string()
}

#[tokio::test]
async fn a_manager_renames_and_relabels_an_account_in_place() {
    let Some(DemoSession { app, client, .. }) = demo_in_browser(1280, 900).await else {
        return;
    };
    visit(&client, &app, "/?q=mason").await;
    crate::browser::wait_rows(&client, |rows| rows == ["Mason Carter"]).await;
    click(&client, "#account-rows a.edit-link").await;
    wait_for(&client, "form.inline-edit").await;
    assert_accessible(&client, "a row being edited").await;

    // A label that is too long is refused next to its field, and what was typed stays.
    let long = "l".repeat(41);
    fill(
        &client,
        "form.inline-edit input[name=display_name]",
        "Mason (Bakery)",
    )
    .await;
    fill(
        &client,
        "form.inline-edit input[name=labels]",
        &format!("Bakery, {long}"),
    )
    .await;
    click(&client, "form.inline-edit button[type=submit]").await;
    let error = wait_text(
        &client,
        "form.inline-edit .field-error:not([hidden])",
        |t| !t.is_empty(),
    )
    .await;
    assert!(error.contains("40"), "{error}");
    let kept = prop_of(&client, "form.inline-edit input[name=labels]", "value").await;
    assert_eq!(kept.as_deref(), Some(format!("Bakery, {long}").as_str()));

    fill(
        &client,
        "form.inline-edit input[name=labels]",
        "Bakery, Local",
    )
    .await;
    click(&client, "form.inline-edit button[type=submit]").await;
    crate::browser::wait_rows(&client, |rows| rows == ["Mason (Bakery)"]).await;
    let tags = wait_text(&client, "#account-rows tr .name-cell", |t| {
        t.contains("Local")
    })
    .await;
    assert!(tags.contains("Bakery"), "{tags}");
    let focused = client
        .execute(
            "return document.activeElement.classList.contains('edit-link');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, json!(true), "focus stays on the row");
    client.close().await.unwrap();
}

#[tokio::test]
async fn the_search_box_finds_what_people_type() {
    let Some(DemoSession {
        app: _app, client, ..
    }) = demo_in_browser(1280, 900).await
    else {
        return;
    };
    let search = |text: &'static str| {
        let client = client.clone();
        async move {
            fill(&client, "#q", text).await;
        }
    };
    // A client's name and a platform's alias, in any order.
    search("fitness tiktok").await;
    crate::browser::wait_rows(&client, |rows| rows == ["Chloe Ramirez"]).await;
    search("@chloeramirez").await;
    crate::browser::wait_rows(&client, |rows| rows == ["Chloe Ramirez"]).await;
    search("twitter").await;
    let rows = crate::browser::wait_rows(&client, |rows| rows.len() == 3).await;
    let platforms = client
        .execute(
            "return [...document.querySelectorAll('#account-rows .platform-cell')].map(c => c.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        platforms,
        json!(["X (Twitter)", "X (Twitter)", "X (Twitter)"]),
        "{rows:?}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn refresh_says_what_it_did_and_why_before_sending_anyone_to_the_platform() {
    let Some(DemoSession {
        app, owner, client, ..
    }) = demo_in_browser(1280, 900).await
    else {
        return;
    };
    let (_, page) = app.get(&owner, "/api/v1/accounts?platform=x").await;
    let working = page["items"][0]["id"].as_str().unwrap().to_string();
    let revoked = &page["items"][1];
    let revoked_id = revoked["id"].as_str().unwrap().to_string();
    let revoked_name = revoked["display_name"].as_str().unwrap().to_string();
    app.revoke_grant(revoked).await;
    let refresh = |id: String| {
        let client = client.clone();
        async move {
            click(&client, &format!("#account-{id} form.refresh-form button")).await;
        }
    };

    // A working account: refreshed in place, said on the page, focus kept on its row.
    refresh(working.clone()).await;
    wait_text(&client, "#action-notice", |t| {
        t.contains("was refreshed: Active.")
    })
    .await;
    let focused = client
        .execute(
            "return document.activeElement.closest('tr')?.id ?? '';",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, json!(format!("account-{working}")));

    // A revoked one: why first, and the way on, without leaving the page by itself.
    refresh(revoked_id).await;
    let said = wait_text(&client, "#action-notice", |t| t.contains("needs its owner")).await;
    assert!(said.starts_with(&revoked_name), "{said}");
    assert!(said.contains("keeps its history"), "{said}");
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        app.base,
        "still on the page"
    );
    let link = attr_of(&client, "#action-notice a.button", "href")
        .await
        .unwrap();
    assert!(
        link.contains("authorize") || link.contains("oauth"),
        "{link}"
    );
    assert_accessible(&client, "the consent notice").await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn at_phone_width_every_control_is_a_44_pixel_target() {
    let Some(DemoSession {
        app: _app,
        client: phone,
        ..
    }) = demo_in_browser(390, 844).await
    else {
        return;
    };
    let small = phone
        .execute(
            "return [...document.querySelectorAll(
                 'main button, main select, main input:not([type=hidden]):not([type=checkbox]), main .icon-button, main .add-tile, .topbar nav a, .bell summary')]
               .filter(e => e.offsetParent !== null)
               .map(e => [e.id || e.className || e.tagName, e.getBoundingClientRect().height])
               .filter(([, h]) => h < 44);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(small, json!([]), "controls under 44 px tall");
    phone.close().await.unwrap();
}
