//! The calendar in headless Chromium: a scheduled post in the month and week views, dragged to another
//! day, moved with the post's form, and the at-risk mark of a day.

use crate::browser::{
    add_account, click, owner_in_browser, prop_of, text_of, visit, wait_for, wait_text, Screenshots,
};
use crate::demo_pages::assert_accessible;
use crate::helpers::*;
use chrono::{Datelike, Duration, NaiveTime, Timelike, Utc};
use iquivity_domain::{Plan, StatusReason};
use serde_json::json;

#[tokio::test]
async fn a_manager_sees_a_post_in_the_calendar_and_moves_it_by_dragging_and_by_its_form() {
    let Some((app, client, owner)) = owner_in_browser("calendar-page@example.com").await else {
        return;
    };
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    add_account(&client, "x", "Cal Person", &[]).await;
    let account = app.only_account_id(&owner).await;
    // Two days ahead at 10:30 in the browser's zone (headless Chromium runs in UTC): inside this month's
    // grid or the next one's first week, and always in the week view of that day.
    let day = (Utc::now() + Duration::days(2)).date_naive();
    let at = day
        .and_time(NaiveTime::from_hms_opt(10, 30, 0).unwrap())
        .and_utc();
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Launch day", "accounts": [account], "publish_at": at.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{post}");
    let post_id = post["id"].as_str().unwrap().to_string();
    let cell = |d: chrono::NaiveDate| format!("td[data-date='{}']", d.format("%Y-%m-%d"));

    // The week view of that day, from the nav: the post at its time, by account.
    visit(
        &client,
        &app,
        &format!("/calendar?view=week&date={}", day.format("%Y-%m-%d")),
    )
    .await;
    let item = wait_text(&client, &format!("{} .cal-item", cell(day)), |t| {
        !t.is_empty()
    })
    .await;
    assert!(
        item.contains("10:30") && item.contains("Cal Person"),
        "{item}"
    );
    let url = client.current_url().await.unwrap();
    assert!(
        url.query().unwrap_or_default().contains("tz="),
        "the script sent its zone: {url}"
    );
    assert_accessible(&client, "the calendar's week view").await;

    // The month view holds it too.
    click(&client, ".calendar-nav a[href*='view=month']").await;
    wait_for(&client, &format!("{} .cal-item", cell(day))).await;
    assert_eq!(
        text_of(&client, ".calendar-nav a[aria-current=page]").await,
        "Month"
    );
    assert_accessible(&client, "the calendar's month view").await;
    Screenshots::new().take(&client, "calendar-month.png").await;

    // Dragged to a neighbouring day of the same week: the same time of day, through the API.
    let next = if day.weekday() == chrono::Weekday::Sun {
        day - Duration::days(1)
    } else {
        day + Duration::days(1)
    };
    client
        .execute(
            "const [from, to] = arguments;
             const item = document.querySelector(from);
             const target = document.querySelector(to);
             const data = new DataTransfer();
             item.dispatchEvent(new DragEvent('dragstart', { bubbles: true, dataTransfer: data }));
             target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: data }));
             target.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: data }));",
            vec![
                json!(format!("{} .cal-item", cell(day))),
                json!(cell(next)),
            ],
        )
        .await
        .unwrap();
    wait_for(&client, &format!("{} .cal-item", cell(next))).await;
    let (_, moved) = app.get(&owner, &format!("/api/v1/posts/{post_id}")).await;
    let expected = next
        .and_time(NaiveTime::from_hms_opt(10, 30, 0).unwrap())
        .and_utc();
    assert_eq!(
        moved["publish_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
        Some(expected.into()),
        "{moved}"
    );

    // Opened, then moved with the post's form, back to the calendar.
    click(&client, &format!("{} .cal-item a", cell(next))).await;
    wait_for(&client, "#reschedule").await;
    assert_accessible(&client, "a post's page").await;
    let later = day + Duration::days(3);
    client
        .execute(
            "document.getElementById('publish_at').value = arguments[0];",
            vec![json!(format!("{}T09:00", later.format("%Y-%m-%d")))],
        )
        .await
        .unwrap();
    click(&client, "#reschedule button[type=submit]").await;
    wait_for(&client, "table.calendar").await;
    let (_, moved) = app.get(&owner, &format!("/api/v1/posts/{post_id}")).await;
    let expected = later
        .and_time(NaiveTime::from_hms_opt(9, 0, 0).unwrap())
        .and_utc();
    assert_eq!(
        moved["publish_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()),
        Some(expected.into()),
        "{moved}"
    );

    // Edited on its page: a text too long for X is refused, with what was typed kept; a fitting one is
    // saved.
    visit(&client, &app, &format!("/posts/{post_id}")).await;
    let long = "Too long for X. ".repeat(20);
    crate::browser::fill(&client, "#edit_text", &long).await;
    click(&client, "#reschedule button[type=submit]").await;
    let refused = wait_text(&client, "main [role=alert]", |t| !t.is_empty()).await;
    assert!(refused.contains("X allows 280 characters"), "{refused}");
    let kept = client
        .execute(
            "return [document.getElementById('edit_text').value, document.getElementById('publish_at').value];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        json!([long, format!("{}T09:00", later.format("%Y-%m-%d"))]),
        "what was typed stays"
    );
    crate::browser::fill(&client, "#edit_text", "Launch day, edited").await;
    click(&client, "#reschedule button[type=submit]").await;
    wait_for(&client, "table.calendar").await;
    let (_, edited) = app.get(&owner, &format!("/api/v1/posts/{post_id}")).await;
    assert_eq!(edited["text"], "Launch day, edited");
    assert_eq!(
        edited["publish_at"], moved["publish_at"],
        "the time is kept"
    );

    // An account that stops working marks the day at risk.
    app.app
        .core
        .change_account_status(
            owner.workspace_id,
            account.parse().unwrap(),
            Some(StatusReason::TokenRevoked),
            None,
        )
        .await
        .unwrap();
    visit(
        &client,
        &app,
        &format!("/calendar?view=week&date={}", later.format("%Y-%m-%d")),
    )
    .await;
    let marked = wait_text(&client, &cell(later), |t| t.contains("at risk")).await;
    assert!(marked.contains("09:00"), "{marked}");
    assert_accessible(&client, "a day at risk").await;
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_failed_post_is_retried_from_its_page_once_the_account_is_repaired() {
    let Some((app, client, owner)) = owner_in_browser("retry-page@example.com").await else {
        return;
    };
    add_account(&client, "x", "Retry Person", &[]).await;
    let (_, page) = app.get(&owner, "/api/v1/accounts").await;
    let account = page["items"][0].clone();
    let id = account["id"].as_str().unwrap().to_string();
    app.revoke_grant(&account).await;
    let (_, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "Try me", "accounts": [id]}),
        )
        .await;
    let post_id = post["id"].as_str().unwrap().to_string();
    let state = |app: &TestApp, owner: &User, post_id: String| {
        let app = app.url(&format!("/api/v1/posts/{post_id}"));
        let token = owner.token.clone();
        async move {
            let post: serde_json::Value = reqwest::Client::new()
                .get(app)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            post["targets"][0]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        }
    };
    wait_until("the publish fails on the revoked grant", || {
        let state = state(&app, &owner, post_id.clone());
        async move { state.await == "failed" }
    })
    .await;

    // The post's page says why and offers Retry; repaired first, through the platform's consent.
    visit(&client, &app, &format!("/posts/{post_id}")).await;
    let result = wait_text(&client, "li.result", |t| t.contains("Failed")).await;
    assert!(result.contains("Retry Person"), "{result}");
    assert_accessible(&client, "a failed post's page").await;
    visit(&client, &app, "/").await;
    click(&client, &format!("#account-{id} form.refresh-form button")).await;
    wait_for(&client, "#action-notice a.button").await;
    click(&client, "#action-notice a.button").await;
    crate::browser::consent_on_sandbox(&client, "Retry Person", &[]).await;
    wait_text(&client, &format!("#account-{id} td:nth-child(3)"), |t| {
        t.contains("Active")
    })
    .await;

    visit(&client, &app, &format!("/posts/{post_id}")).await;
    click(&client, "li.result form button").await;
    wait_until("the retried post is published", || {
        let state = state(&app, &owner, post_id.clone());
        async move { state.await == "published" }
    })
    .await;
    client.refresh().await.unwrap();
    let done = wait_text(&client, "li.result", |t| t.contains("Published")).await;
    assert!(done.contains("view on X (Twitter)"), "{done}");
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_draft_saved_from_the_composer_is_scheduled_from_its_page_and_shows_in_the_calendar() {
    let Some((app, client, owner)) = owner_in_browser("drafts-page@example.com").await else {
        return;
    };
    add_account(&client, "x", "Draft Person", &[]).await;

    visit(&client, &app, "/posts").await;
    crate::browser::fill(&client, "#text", "Plans for the spring sale").await;
    click(&client, "input[name=accounts]").await;
    click(&client, "#compose button[name=intent][value=draft]").await;
    let heading = wait_text(&client, "main h1", |t| t == "Draft").await;
    assert_eq!(heading, "Draft");
    assert!(text_of(&client, "main")
        .await
        .contains("Draft Person (X (Twitter))"));
    assert_accessible(&client, "a draft's page").await;
    let (_, posts) = app.get(&owner, "/api/v1/posts").await;
    assert_eq!(posts[0]["status"], "draft", "{posts}");
    assert_eq!(posts[0]["targets"], json!([]));

    // Scheduled from its page for the day after tomorrow at 08:15 (the browser's zone is UTC).
    let day = (Utc::now() + Duration::days(2)).date_naive();
    client
        .execute(
            "document.getElementById('draft_publish_at').value = arguments[0];",
            vec![json!(format!("{}T08:15", day.format("%Y-%m-%d")))],
        )
        .await
        .unwrap();
    click(&client, "#schedule-draft button[type=submit]").await;
    wait_for(&client, "#compose").await;
    let (_, posts) = app.get(&owner, "/api/v1/posts").await;
    assert_eq!(posts[0]["status"], "scheduled", "{posts}");
    visit(
        &client,
        &app,
        &format!("/calendar?view=week&date={}", day.format("%Y-%m-%d")),
    )
    .await;
    let item = wait_text(
        &client,
        &format!("td[data-date='{}'] .cal-item", day.format("%Y-%m-%d")),
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        item.contains("08:15") && item.contains("Draft Person"),
        "{item}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_post_gets_its_own_text_for_x_and_linkedin_and_a_preview_per_network() {
    let Some((app, client, owner)) = owner_in_browser("variants-page@example.com").await else {
        return;
    };
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    add_account(&client, "x", "Var X", &[]).await;
    add_account(&client, "linkedin", "Var Li", &["Var Li Company"]).await;

    visit(&client, &app, "/posts").await;
    crate::browser::fill(
        &client,
        "#text",
        "Our spring collection is here, with every detail for the professionals who asked.",
    )
    .await;
    crate::browser::fill(&client, "#link", "https://example.com/spring").await;
    for checkbox in client
        .find_all(fantoccini::Locator::Css("input[name=accounts]"))
        .await
        .unwrap()
    {
        checkbox.click().await.unwrap();
    }
    click(&client, "details.variant[data-platform=x] summary").await;
    crate::browser::fill(&client, "#variant_x", "Spring is here 🌱").await;
    crate::browser::fill(&client, "#variant_link_x", "https://x.example/spring").await;
    click(&client, "details.variant[data-platform=linkedin] summary").await;
    crate::browser::fill(
        &client,
        "#variant_linkedin",
        "Our spring collection, for the professionals who asked.",
    )
    .await;

    // One preview per network, each with its own text, the link card and the media.
    let x = wait_text(&client, "#previews .preview[data-platform=x]", |t| {
        t.contains("Spring is here")
    })
    .await;
    assert!(
        x.contains("Spring is here 🌱 https://x.example/spring"),
        "{x}"
    );
    assert!(
        x.contains("41/280 characters"),
        "15 letters, the emoji 2, a space, the link 23: {x}"
    );
    assert!(
        x.contains("Link card: x.example") && x.contains("No media"),
        "{x}"
    );
    let linkedin = wait_text(&client, "#previews .preview[data-platform=linkedin]", |t| {
        t.contains("for the professionals who asked.")
    })
    .await;
    assert!(
        linkedin.contains("Our spring collection, for the professionals who asked.")
            && !linkedin.contains("Spring is here")
            && linkedin.contains("Link card: example.com"),
        "{linkedin}"
    );
    assert!(linkedin.contains("/3000 characters"), "{linkedin}");
    assert_accessible(&client, "the composer with a version for X and previews").await;

    // An image for every network: X and LinkedIn take it (each preview counts it, with its limits); an
    // image with a video, LinkedIn does not take, which its preview says before the form is sent.
    crate::browser::fill(&client, "#media_url", "https://cdn.example.com/spring.jpg").await;
    let x_facts = wait_text(
        &client,
        "#previews .preview[data-platform=x] .preview-facts",
        |t| t.contains("1 image or video"),
    )
    .await;
    assert!(x_facts.contains("X takes up to 4"), "{x_facts}");
    assert!(client
        .find(fantoccini::Locator::Css(
            "#previews .preview[data-platform=x] .preview-warning"
        ))
        .await
        .is_err());
    let linkedin_facts = text_of(
        &client,
        "#previews .preview[data-platform=linkedin] .preview-facts",
    )
    .await;
    assert!(
        linkedin_facts.contains("LinkedIn takes up to 20"),
        "{linkedin_facts}"
    );
    crate::browser::fill(
        &client,
        "#media_url",
        "https://cdn.example.com/spring.jpg\nhttps://cdn.example.com/spring.mp4",
    )
    .await;
    let linkedin_warned = wait_text(
        &client,
        "#previews .preview[data-platform=linkedin] .preview-warning",
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        linkedin_warned.contains("LinkedIn takes either images or a video in one post, not both"),
        "{linkedin_warned}"
    );
    assert_accessible(&client, "a preview warning").await;
    client
        .find(fantoccini::Locator::Css("#media_url"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();

    click(&client, "#compose button[type=submit]:not([name])").await;
    wait_for(&client, "li.post").await;
    let (_, posts) = app.get(&owner, "/api/v1/posts").await;
    let variants = posts[0]["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2, "{posts}");
    for version in [
        json!({"platform": "x", "text": "Spring is here 🌱", "link": "https://x.example/spring"}),
        json!({"platform": "linkedin", "text": "Our spring collection, for the professionals who asked."}),
    ] {
        assert!(variants.contains(&version), "{version} in {posts}");
    }
    client.close().await.unwrap();
}

#[tokio::test]
async fn one_account_gets_its_own_version_and_media_warnings_come_before_sending() {
    let Some((app, client, owner)) = owner_in_browser("versions-page@example.com").await else {
        return;
    };
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    add_account(&client, "x", "Ver One", &[]).await;
    add_account(&client, "x", "Ver Two", &[]).await;
    add_account(&client, "tiktok", "Ver Tok", &[]).await;
    let one = app.account_id(&owner, "Ver One").await;
    let two = app.account_id(&owner, "Ver Two").await;

    visit(&client, &app, "/posts").await;
    crate::browser::fill(&client, "#text", "Spring is here").await;
    for checkbox in client
        .find_all(fantoccini::Locator::Css("input[name=accounts]"))
        .await
        .unwrap()
    {
        checkbox.click().await.unwrap();
    }
    click(&client, "details.variant-accounts > summary").await;
    click(
        &client,
        &format!("details.variant[data-account='{two}'] summary"),
    )
    .await;
    crate::browser::fill(
        &client,
        &format!("[id='variant_{two}']"),
        "Only for Ver Two",
    )
    .await;

    // Ver Two has its own preview; Ver One shares X's.
    let own = wait_text(
        &client,
        &format!("#previews .preview[data-account='{two}']"),
        |t| t.contains("Only for Ver Two"),
    )
    .await;
    assert!(
        own.contains("X: Ver Two") && own.contains("16/280"),
        "{own}"
    );
    let shared = text_of(
        &client,
        "#previews .preview[data-platform=x]:not([data-account])",
    )
    .await;
    assert!(shared.contains("Spring is here"), "{shared}");

    // An image and a video for everyone: TikTok takes one or the other, X takes none yet.
    crate::browser::fill(
        &client,
        "#media_url",
        "https://cdn.example.com/spring.jpg\nhttps://cdn.example.com/spring.mp4",
    )
    .await;
    let tiktok = wait_text(
        &client,
        "#previews .preview[data-platform=tiktok] .preview-warning",
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        tiktok.contains("TikTok takes either images or a video in one post, not both"),
        "{tiktok}"
    );
    let tiktok_facts = text_of(
        &client,
        "#previews .preview[data-platform=tiktok] .preview-facts",
    )
    .await;
    assert!(
        tiktok_facts.contains("2 images or videos")
            && tiktok_facts.contains("TikTok takes up to 35"),
        "{tiktok_facts}"
    );
    let x_warning = text_of(
        &client,
        &format!("#previews .preview[data-account='{two}'] .preview-warning"),
    )
    .await;
    assert!(
        x_warning.contains("X takes either images or a video in one post, not both"),
        "{x_warning}"
    );
    assert_accessible(
        &client,
        "the composer with versions for one account and media warnings",
    )
    .await;

    // X's version takes no media (without a text of its own), and so does Ver Two's.
    click(&client, "details.variant[data-platform=x] summary").await;
    click(&client, "#variant_no_media_x").await;
    click(&client, &format!("[id='variant_no_media_{two}']")).await;
    for preview in [
        "#previews .preview[data-platform=x]:not([data-account])".to_string(),
        format!("#previews .preview[data-account='{two}']"),
    ] {
        let text = wait_text(&client, &preview, |t| t.contains("No media")).await;
        assert!(!text.contains("not both"), "{text}");
    }

    // Sent anyway with TikTok's mix: the server refuses it in the same words, and the form keeps
    // everything, the versions included.
    click(&client, "#compose button[type=submit]:not([name])").await;
    let alert = wait_text(
        &client,
        "section[aria-labelledby=compose-heading] .notice.error",
        |t| !t.is_empty(),
    )
    .await;
    assert!(
        alert.contains("Ver Tok: TikTok takes either images or a video in one post, not both"),
        "{alert}"
    );
    let value = |css: String| {
        let client = client.clone();
        async move {
            client
                .find(fantoccini::Locator::Css(&css))
                .await
                .unwrap()
                .prop("value")
                .await
                .unwrap()
                .unwrap_or_default()
        }
    };
    assert_eq!(
        value(format!("[id='variant_{two}']")).await,
        "Only for Ver Two"
    );
    assert!(value("#media_url".into()).await.contains("spring.mp4"));
    for kept in [
        "#variant_no_media_x".to_string(),
        format!("[id='variant_no_media_{two}']"),
    ] {
        let checked = client
            .find(fantoccini::Locator::Css(&kept))
            .await
            .unwrap()
            .prop("checked")
            .await
            .unwrap();
        assert_eq!(checked.as_deref(), Some("true"), "{kept}");
    }

    // One video for everyone: nothing left to warn about, and it is saved as a draft with its versions.
    crate::browser::fill(&client, "#media_url", "https://cdn.example.com/spring.mp4").await;
    wait_text(&client, "#previews", |t| !t.contains("not both")).await;
    click(&client, "#compose button[value=draft]").await;
    wait_text(&client, "main", |t| t.contains("A draft reserves nothing")).await;
    let (_, posts) = app.get(&owner, "/api/v1/posts").await;
    let variants = &posts[0]["variants"];
    assert!(
        variants
            .as_array()
            .unwrap()
            .contains(&json!({"platform": "x", "text": "Spring is here", "media": []})),
        "{variants}"
    );
    assert!(
        variants
            .as_array()
            .unwrap()
            .contains(&json!({"account": two, "text": "Only for Ver Two", "media": []})),
        "{variants}"
    );
    assert!(!variants.to_string().contains(&one), "{variants}");
    client.close().await.unwrap();
}

/// Sets an account's posting times on its page.
async fn set_posting_times(
    client: &fantoccini::Client,
    app: &TestApp,
    account: &str,
    zone: &str,
    slots: &str,
) {
    visit(client, app, &format!("/accounts/{account}/queue")).await;
    crate::browser::fill(client, "#time_zone", zone).await;
    crate::browser::fill(client, "#slots", slots).await;
    click(client, "#queue-form button[type=submit]").await;
    wait_text(client, "main", |t| {
        t.contains("Posting times") && t.contains(zone)
    })
    .await;
}

#[tokio::test]
async fn a_post_added_to_the_queue_goes_to_two_accounts_at_their_own_times() {
    let Some((app, client, owner)) = owner_in_browser("queue-page@example.com").await else {
        return;
    };
    app.set_plan(owner.workspace_id, Plan::Professional).await;
    add_account(&client, "x", "Queue X", &[]).await;
    add_account(&client, "linkedin", "Queue Li", &["Queue Li Company"]).await;
    let x = app.account_id(&owner, "Queue X").await;
    let linkedin = app.account_id(&owner, "Queue Li Company").await;

    // A line that cannot be read is said next to the field, and what was typed stays.
    visit(&client, &app, &format!("/accounts/{x}/queue")).await;
    assert_accessible(&client, "an account's posting times").await;
    crate::browser::fill(&client, "#time_zone", "America/New_York").await;
    crate::browser::fill(&client, "#slots", "Funday 09:00").await;
    click(&client, "#queue-form button[type=submit]").await;
    let said = wait_text(&client, "#slots-error", |t| !t.is_empty()).await;
    assert!(said.contains("Funday 09:00"), "{said}");
    let kept = prop_of(&client, "#slots", "value").await;
    assert_eq!(kept.as_deref(), Some("Funday 09:00"));
    assert_accessible(&client, "posting times refused").await;

    set_posting_times(&client, &app, &x, "America/New_York", "Mon-Fri 09:00").await;
    set_posting_times(&client, &app, &linkedin, "Europe/Berlin", "Sat, Sun 10:30").await;

    visit(&client, &app, "/posts").await;
    crate::browser::fill(&client, "#text", "Queued for both desks").await;
    for checkbox in client
        .find_all(fantoccini::Locator::Css("input[name=accounts]"))
        .await
        .unwrap()
    {
        checkbox.click().await.unwrap();
    }
    click(&client, "#compose button[name=intent][value=queue]").await;
    wait_for(&client, "li.post").await;
    let (_, posts) = app.get(&owner, "/api/v1/posts").await;
    let due = |account: &str| -> chrono::DateTime<Utc> {
        target_for(&posts[0], account)["run_at"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (x_at, li_at) = (due(&x), due(&linkedin));
    // 09:00 in New York is 13:00 or 14:00 UTC on a weekday; 10:30 in Berlin 08:30 or 09:30 UTC on a weekend.
    assert!(x_at.weekday().num_days_from_monday() < 5, "{x_at}");
    assert!(
        [13, 14].contains(&x_at.hour()) && x_at.minute() == 0,
        "{x_at}"
    );
    assert!(li_at.weekday().num_days_from_monday() >= 5, "{li_at}");
    assert!(
        [8, 9].contains(&li_at.hour()) && li_at.minute() == 30,
        "{li_at}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_clients_posting_times_are_set_from_its_view_and_shown_on_its_accounts() {
    let Some((app, client, owner)) = owner_in_browser("client-times@example.com").await else {
        return;
    };
    add_account(&client, "x", "Harbor X", &[]).await;
    let account = app.only_account_id(&owner).await;
    let harbor = app.add_client(&owner, "Harbor").await;
    app.assign_client(&owner, &account, &harbor).await;

    visit(&client, &app, &format!("/?client={harbor}")).await;
    click(&client, &format!("a[href='/clients/{harbor}/queue']")).await;
    wait_text(&client, "h1", |t| t.contains("Posting times of Harbor")).await;
    assert_accessible(&client, "a client's posting times").await;
    // A line that cannot be read is named, and what was typed stays.
    crate::browser::fill(&client, "#time_zone", "Europe/Lisbon").await;
    crate::browser::fill(&client, "#slots", "Mon-Fri 10:00\nsometimes").await;
    click(&client, "#queue-form button[type=submit]").await;
    let error = wait_text(&client, "#slots-error", |t| !t.is_empty()).await;
    assert!(error.contains("sometimes"), "{error}");
    let kept = prop_of(&client, "#time_zone", "value").await;
    assert_eq!(kept.as_deref(), Some("Europe/Lisbon"));
    crate::browser::fill(&client, "#slots", "Mon-Fri 10:00").await;
    click(&client, "#queue-form button[type=submit]").await;
    wait_text(&client, "h1", |t| t.contains("Platforms: Harbor")).await;

    visit(&client, &app, &format!("/accounts/{account}")).await;
    let details = text_of(&client, "main").await;
    assert!(
        details.contains("Its client's: mon, tue, wed, thu, fri 10:00 (Europe/Lisbon)."),
        "{details}"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn a_published_post_is_deleted_from_x_on_its_page() {
    let Some((app, client, owner)) = owner_in_browser("delete-page@example.com").await else {
        return;
    };
    add_account(&client, "x", "Delete X", &[]).await;
    let account = app.only_account_id(&owner).await;
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": "A post to take back", "accounts": [account], "first_comment": "More below", "thread": [{"text": "And a second part"}]}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{post}");
    let id = post["id"].as_str().unwrap().to_string();
    // The engine of this app publishes it, its thread and its first comment within a few rounds; the page
    // is read once all three are done.
    wait_until("the post, its thread and its comment published", || async {
        let (_, now) = app.get(&owner, &format!("/api/v1/posts/{id}")).await;
        let target = &now["targets"][0];
        target["state"] == "published"
            && target["comment"]["state"] == "published"
            && target["thread"]["published_ids"].as_array().map(Vec::len) == Some(1)
    })
    .await;
    visit(&client, &app, &format!("/posts/{id}")).await;
    let line = wait_text(&client, "ul.results", |t| t.contains("First comment added")).await;
    assert!(line.contains("Published"), "{line}");
    assert!(line.contains("Thread: 2 of 2 parts out"), "{line}");
    click(&client, "button[aria-label^='Delete from X']").await;
    let line = wait_text(&client, "ul.results", |t| t.contains("Deleted from X")).await;
    assert!(line.contains("Published"), "{line}");
    assert!(client
        .find(fantoccini::Locator::Css(
            "button[aria-label^='Delete from X']"
        ))
        .await
        .is_err());
    assert_accessible(&client, "a post deleted from its platform").await;
    let (_, after) = app.get(&owner, &format!("/api/v1/posts/{id}")).await;
    assert!(after["targets"][0]["deleted_at"].is_string(), "{after}");
    client.close().await.unwrap();
}
