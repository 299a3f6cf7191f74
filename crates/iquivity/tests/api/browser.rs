//! Browser tests: headless Chromium, driven through ChromeDriver, against the real server and sandbox.
//! Where Chromium or ChromeDriver is missing they are skipped with a message, unless
//! `IQUIVITY_REQUIRE_BROWSER=1` (set by `.ci/run`), which makes them mandatory.

use crate::helpers::*;
use fantoccini::{Client, ClientBuilder, Locator};
use iquivity_domain::{Plan, StatusReason};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// One ChromeDriver for the whole test process; each test opens its own browser session on it.
struct Driver {
    url: String,
    _process: Child,
}

static DRIVER: OnceLock<Mutex<Option<Driver>>> = OnceLock::new();

fn driver_url() -> Option<String> {
    let required = std::env::var("IQUIVITY_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        assert!(
            !required,
            "browser tests are required but {CHROMIUM} or {CHROMEDRIVER} is missing"
        );
        crate::helpers::announce_skip(
            "browser tests need Debian's chromium and chromium-driver \
             (apt-get install chromium chromium-driver); .ci/run installs them",
        );
        return None;
    }
    let slot = DRIVER.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap();
    if slot.is_none() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let process = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        *slot = Some(Driver {
            url,
            _process: process,
        });
    }
    slot.as_ref().map(|d| d.url.clone())
}

pub(crate) async fn browser(width: u32, height: u32) -> Option<Client> {
    open_browser(width, height, false, true).await
}

/// A browser whose page area (not its window) is exactly `width` × `height` CSS pixels, as on a screen of
/// that size: narrower than Chromium's smallest window, and without the window's own bars.
pub(crate) async fn browser_with_viewport(width: u32, height: u32) -> Option<Client> {
    open_browser(width, height, true, true).await
}

/// A browser that runs no page script, as for a person who turned JavaScript off: the pages must still
/// read, filter, sort and act.
pub(crate) async fn browser_without_script(width: u32, height: u32) -> Option<Client> {
    open_browser(width, height, true, false).await
}

async fn open_browser(
    width: u32,
    height: u32,
    exact_viewport: bool,
    script: bool,
) -> Option<Client> {
    let url = driver_url()?;
    let profile = tempfile::tempdir().unwrap().keep();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    if !script {
        caps["goog:chromeOptions"]["prefs"] =
            json!({"profile.managed_default_content_settings.javascript": 2});
    }
    if exact_viewport {
        let phone = width < 600;
        caps["goog:chromeOptions"]["mobileEmulation"] = json!({
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1, "mobile": phone, "touch": phone}
        });
    }
    Some(
        ClientBuilder::native()
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session"),
    )
}

pub(crate) async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
}

/// Polls until the page's text at `css` satisfies `check`.
pub(crate) async fn wait_text(client: &Client, css: &str, check: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(el) = client.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if check(&text) {
                    return text;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never had the expected text; last: {last:?}");
}

pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// An attribute of the first element `css` finds (`None` when it has none).
pub(crate) async fn attr_of(client: &Client, css: &str, name: &str) -> Option<String> {
    let element = client.find(Locator::Css(css)).await.unwrap();
    element.attr(name).await.unwrap()
}

/// A property of the first element `css` finds, such as a field's `value` as typed.
pub(crate) async fn prop_of(client: &Client, css: &str, name: &str) -> Option<String> {
    let element = client.find(Locator::Css(css)).await.unwrap();
    element.prop(name).await.unwrap()
}

pub(crate) async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.unwrap().len()
}

pub(crate) async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks what leads to another address and waits until the browser is there.
pub(crate) async fn follow(client: &Client, css: &str) {
    let before = client.current_url().await.unwrap();
    click(client, css).await;
    for _ in 0..100 {
        if client.current_url().await.unwrap() != before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{css} led nowhere from {before}");
}

pub(crate) async fn is_checked(client: &Client, css: &str) -> bool {
    prop_of(client, css, "checked").await.as_deref() == Some("true")
}

/// The text of every element `css` finds, in document order, read in one go: an element the page's script
/// replaces between one read and the next would otherwise be stale.
pub(crate) async fn texts_of(client: &Client, css: &str) -> Vec<String> {
    let texts = client
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim());",
            vec![json!(css)],
        )
        .await
        .unwrap();
    serde_json::from_value(texts).unwrap()
}

/// Opens the header's bell and answers its newest notification.
pub(crate) async fn newest_notification(client: &Client) -> String {
    click(client, ".bell summary").await;
    wait_text(client, ".bell[open] .drawer li", |t| !t.is_empty()).await
}

/// The names in the list, read in one go (the script replaces rows while a search runs).
pub(crate) async fn row_names(client: &Client) -> Vec<String> {
    let names = client
        .execute(
            "return [...document.querySelectorAll('#account-rows .account-name')].map(e => e.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(names).unwrap()
}

pub(crate) async fn wait_rows(client: &Client, check: impl Fn(&[String]) -> bool) -> Vec<String> {
    let mut last = Vec::new();
    for _ in 0..100 {
        last = row_names(client).await;
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the rows never matched; last: {last:?}");
}

/// Opens one of the service's pages, as typing its address would.
pub(crate) async fn visit(client: &Client, app: &TestApp, path: &str) {
    client.goto(&app.url(path)).await.unwrap();
}

pub(crate) async fn fill(client: &Client, css: &str, value: &str) {
    let el = wait_for(client, css).await;
    el.clear().await.unwrap();
    el.send_keys(value).await.unwrap();
}

pub(crate) async fn sign_up(client: &Client, app: &TestApp, email: &str) {
    visit(client, app, "/signup").await;
    fill(client, "#email", email).await;
    fill(client, "#password", PASSWORD).await;
    fill(client, "#workspace_name", "Browser Agency").await;
    click(client, "form.stack button[type=submit]").await;
    wait_for(client, "#summary").await;
}

/// A fresh service, and a browser in which `email` has just signed up with a new workspace.
/// A workspace signed up in a 1280×1000 browser, with its owner signed in for the API too.
pub(crate) async fn owner_in_browser(email: &str) -> Option<(TestApp, Client, User)> {
    let (app, client) = signed_up_in_browser(email, 1280, 1000).await?;
    let owner = app.user_signed_in(email, PASSWORD).await;
    Some((app, client, owner))
}

pub(crate) async fn signed_up_in_browser(
    email: &str,
    width: u32,
    height: u32,
) -> Option<(TestApp, Client)> {
    let client = browser(width, height).await?;
    let app = spawn_app().await;
    sign_up(&client, &app, email).await;
    Some((app, client))
}

/// Clicks "Add New Account" for a platform, consents on the sandbox as `person`, and picks `choose`
/// (display names) where the platform asks what to connect.
pub(crate) async fn add_account(client: &Client, platform: &str, person: &str, choose: &[&str]) {
    click(
        client,
        &format!(".add-strip li[data-platform={platform}] a.add-tile"),
    )
    .await;
    consent_on_sandbox(client, person, choose).await;
    wait_for(client, "#account-rows tr.highlight").await;
}

/// On the sandbox's consent page: signs in as `person`, approves, and where the platform asks what to
/// connect, picks `choose` (display names) and submits the choice.
pub(crate) async fn consent_on_sandbox(client: &Client, person: &str, choose: &[&str]) {
    fill(client, "input#user", person).await;
    click(client, "button[value=approve]").await;
    if !choose.is_empty() {
        wait_for(client, "ul.candidates").await;
        for checkbox in client
            .find_all(Locator::Css("ul.candidates input[type=checkbox]"))
            .await
            .unwrap()
        {
            if checkbox.prop("checked").await.unwrap().as_deref() == Some("true") {
                checkbox.click().await.unwrap();
            }
        }
        for item in client
            .find_all(Locator::Css("ul.candidates li"))
            .await
            .unwrap()
        {
            let name = item
                .find(Locator::Css("strong"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let kind = item
                .find(Locator::Css(".tag"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if choose.contains(&name.as_str()) && kind != "profile" {
                item.find(Locator::Css("input[type=checkbox]"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
            }
        }
        click(client, "ul.candidates ~ button[type=submit]").await;
    }
}

/// Where the screenshots go. The README's pictures are refreshed on purpose, with
/// `IQUIVITY_SCREENSHOTS=docs/screenshots` (a path relative to the workspace root); otherwise they go to
/// a temporary directory, so an ordinary test run never rewrites the tracked files.
pub(crate) struct Screenshots {
    dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl Screenshots {
    pub(crate) fn new() -> Self {
        match std::env::var_os("IQUIVITY_SCREENSHOTS") {
            Some(dir) => {
                let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../..")
                    .join(dir);
                std::fs::create_dir_all(&dir).unwrap();
                Screenshots {
                    dir,
                    _temporary: None,
                }
            }
            None => {
                let temporary = tempfile::tempdir().unwrap();
                Screenshots {
                    dir: temporary.path().to_path_buf(),
                    _temporary: Some(temporary),
                }
            }
        }
    }

    pub(crate) async fn take(&self, client: &Client, name: &str) {
        let png = client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        std::fs::write(self.dir.join(name), png).unwrap();
    }
}

pub(crate) async fn summary(client: &Client, key: &str) -> String {
    client
        .find(Locator::Css(&format!("[data-summary={key}]")))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_person_connects_every_platform_and_manages_the_accounts_in_the_browser() {
    let Some((app, client)) = signed_up_in_browser("browser@example.com", 1280, 900).await else {
        return;
    };
    let text = client
        .find(Locator::Css(".empty-state"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Add New Account"), "{text}");
    assert_eq!(summary(&client, "total").await, "0");
    let user = app
        .app
        .store
        .user_by_email("browser@example.com")
        .await
        .unwrap()
        .unwrap();
    let workspace_id = app.app.store.memberships_of(user.id).await.unwrap()[0].0.id;
    app.set_plan(workspace_id, Plan::Professional).await;

    add_account(&client, "x", "Ethan Brooks", &[]).await;
    assert_eq!(summary(&client, "total").await, "1");
    add_account(&client, "tiktok", "Liam Foster", &[]).await;
    add_account(
        &client,
        "facebook",
        "Mason Carter",
        &["Mason Carter", "Mason Carter Shop"],
    )
    .await;
    add_account(
        &client,
        "instagram",
        "Isabella Morgan",
        &["Isabella Morgan"],
    )
    .await;
    add_account(
        &client,
        "linkedin",
        "Olivia Bennett",
        &["Olivia Bennett Company"],
    )
    .await;
    assert_eq!(summary(&client, "total").await, "6");
    assert_eq!(summary(&client, "active").await, "6");
    let names = row_names(&client).await;
    for expected in [
        "Ethan Brooks",
        "Liam Foster",
        "Mason Carter",
        "Mason Carter Shop",
        "Isabella Morgan",
        "Olivia Bennett Company",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let sandbox_tags = client
        .find_all(Locator::Css("#account-rows .tag.sandbox"))
        .await
        .unwrap();
    assert_eq!(sandbox_tags.len(), 6, "sandbox accounts are marked");
    let date = client
        .find(Locator::Css("#account-rows time"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !date.ends_with("UTC") && date.contains(", "),
        "dates are shown in the viewer's zone: {date}"
    );

    // Typing filters the list in place: the marker set on this page survives, so there was no reload.
    client
        .execute("window.__sameDocument = true;", vec![])
        .await
        .unwrap();
    fill(&client, "#q", "mason").await;
    wait_rows(&client, |rows| {
        rows.len() == 2 && rows.iter().all(|r| r.starts_with("Mason"))
    })
    .await;
    fill(&client, "#q", "tiktok").await;
    wait_rows(&client, |rows| rows == ["Liam Foster"]).await;
    let same = client
        .execute("return window.__sameDocument === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, json!(true), "the search reloaded the page");
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("q=tiktok"),
        "the filter is in the URL"
    );
    fill(&client, "#q", "").await;
    wait_rows(&client, |rows| rows.len() == 6).await;

    // Filters: platform, then status and a date range.
    click(&client, "#platform option[value=facebook]").await;
    wait_rows(&client, |rows| rows.len() == 2).await;
    click(&client, "#platform option[value='']").await;
    wait_rows(&client, |rows| rows.len() == 6).await;

    // Sorting by name in place: the rows follow, and the arrow moves from Creation Date to Name.
    click(&client, "th a.sort-link[href*='sort=name']").await;
    wait_rows(&client, |rows| {
        let mut sorted = rows.to_vec();
        sorted.sort_by_key(|name| name.to_lowercase());
        rows.len() == 6 && rows == sorted.as_slice()
    })
    .await;
    let arrows = client
        .execute(
            "return [...document.querySelectorAll('th[aria-sort]')].map(th => \
             [th.textContent.trim(), getComputedStyle(th.querySelector('.sort-link'), '::after').content])",
            vec![],
        )
        .await
        .unwrap();
    for pair in arrows.as_array().unwrap() {
        let (column, arrow) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        assert_eq!(arrow.contains('▲'), column == "Name", "{column}: {arrow}");
        assert!(!arrow.contains('▼'), "{column}: {arrow}");
    }
    let ethan = app
        .app
        .store
        .list_accounts(
            workspace_id,
            &iquivity_store::AccountQuery {
                search: Some(iquivity_store::TextSearch::plain("ethan")),
                ..iquivity_store::AccountQuery::all(1)
            },
        )
        .await
        .unwrap()[0]
        .id;
    app.app
        .core
        .change_account_status(workspace_id, ethan, Some(StatusReason::TokenExpired), None)
        .await
        .unwrap();
    click(&client, "input[name=status][value=inactive]").await;
    wait_rows(&client, |rows| rows == ["Ethan Brooks"]).await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();
    client.execute(&format!("document.getElementById('created_from').value = '{today}'; document.getElementById('created_to').value = '{tomorrow}'; document.getElementById('created_to').dispatchEvent(new Event('change'));"), vec![]).await.unwrap();
    wait_rows(&client, |rows| rows == ["Ethan Brooks"]).await;
    client.execute("document.getElementById('created_from').value = '2020-01-01'; document.getElementById('created_to').value = '2020-01-02'; document.getElementById('created_to').dispatchEvent(new Event('change'));", vec![]).await.unwrap();
    wait_rows(&client, |rows| rows.is_empty()).await;
    visit(&client, &app, "/?status=inactive").await;
    let status = wait_text(&client, &format!("#account-{ethan} .status"), |t| {
        !t.is_empty()
    })
    .await;
    assert_eq!(status, "Inactive");

    // Refresh the inactive account: it goes back to Active in place.
    click(
        &client,
        &format!("#account-{ethan} form.refresh-form button"),
    )
    .await;
    wait_rows(&client, |rows| rows.is_empty()).await;
    visit(&client, &app, "/").await;
    wait_text(&client, &format!("#account-{ethan} .status"), |t| {
        t == "Active"
    })
    .await;
    assert_eq!(summary(&client, "inactive").await, "0");

    // Remove through the confirmation dialog.
    click(&client, &format!("#account-{ethan} a.remove-link")).await;
    let dialog = wait_for(&client, "#remove-dialog[open]").await;
    let warning = dialog.text().await.unwrap();
    assert!(
        warning.contains("scheduled posts") && warning.contains("revoked"),
        "{warning}"
    );
    click(&client, "#remove-dialog[open] button.danger").await;
    wait_text(&client, "p.notice.success", |t| {
        t.contains("Ethan Brooks was removed")
    })
    .await;
    assert_eq!(summary(&client, "total").await, "5");
    assert!(!row_names(&client).await.iter().any(|n| n == "Ethan Brooks"));
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_free_workspace_sees_why_it_cannot_add_another_account() {
    let Some((app, client)) = signed_up_in_browser("free@example.com", 1280, 900).await else {
        return;
    };
    add_account(&client, "x", "Mia Donovan", &[]).await;
    // The limit is said once, in one banner that names it; the full platform's tile says so, the others
    // still add.
    let banners = client
        .find_all(Locator::Css(".notice.limit"))
        .await
        .unwrap();
    assert_eq!(banners.len(), 1);
    let text = banners[0].text().await.unwrap();
    assert!(
        text.contains("free plan allows 1 account(s) per platform")
            && text.contains("X (Twitter) is at that limit"),
        "{text}"
    );
    let full = client
        .find(Locator::Css(".add-strip li[data-platform=x]"))
        .await
        .unwrap();
    assert!(full.text().await.unwrap().contains("Limit reached"));
    assert!(
        full.find(Locator::Css("a")).await.is_err(),
        "no link to add"
    );
    let other = client
        .find(Locator::Css(
            ".add-strip li[data-platform=tiktok] a.add-tile",
        ))
        .await
        .unwrap();
    assert!(other.text().await.unwrap().contains("Add New Account"));

    // Going to the platform's connect address anyway is refused here, before any consent.
    visit(&client, &app, "/connect/x").await;
    let refusal = wait_text(&client, "main h1", |t| !t.is_empty()).await;
    assert_eq!(refusal, "Plan limit reached");
    let url = client.current_url().await.unwrap();
    assert_eq!(
        url.origin().ascii_serialization(),
        app.base,
        "never sent to the platform"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_person_composes_and_schedules_a_post_to_three_accounts_and_sees_the_results() {
    let Some((app, client)) = signed_up_in_browser("poster@example.com", 1280, 1000).await else {
        return;
    };
    let user = app
        .app
        .store
        .user_by_email("poster@example.com")
        .await
        .unwrap()
        .unwrap();
    let workspace_id = app.app.store.memberships_of(user.id).await.unwrap()[0].0.id;
    app.set_plan(workspace_id, Plan::Professional).await;
    add_account(&client, "x", "Compose X", &[]).await;
    add_account(&client, "linkedin", "Compose Li", &["Compose Li Company"]).await;
    add_account(&client, "facebook", "Compose Fb", &["Compose Fb"]).await;

    visit(&client, &app, "/posts").await;
    fill(&client, "#text", "Hello from the browser").await;
    for checkbox in client
        .find_all(Locator::Css("input[name=accounts]"))
        .await
        .unwrap()
    {
        checkbox.click().await.unwrap();
    }
    let counters = wait_text(&client, "#counters", |t| t.contains("X: 22/280")).await;
    assert!(counters.contains("LinkedIn: 22/3000"), "{counters}");
    // Scheduled for the current minute, in the browser's own zone: due as soon as the engine looks.
    client
        .execute(
            "const d = new Date(); const p = (n) => String(n).padStart(2, '0'); \
             document.getElementById('publish_at').value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;",
            vec![],
        )
        .await
        .unwrap();
    click(&client, "#compose button[type=submit]").await;
    wait_for(&client, "li.post").await;
    let mut published = 0;
    for _ in 0..60 {
        client.refresh().await.unwrap();
        published = client
            .find_all(Locator::Css("li.post .result-published"))
            .await
            .unwrap()
            .len();
        if published == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(published, 3, "each account shows its result");
    let links = client
        .find_all(Locator::Css("li.post .result-published a"))
        .await
        .unwrap();
    assert_eq!(
        links.len(),
        3,
        "each result links to the post on its platform"
    );
    client.close().await.unwrap();
}
