//! Every posting limit at its exact edge: each platform's publishing windows (the last post the window
//! allows goes out, the next waits for the window's end), each network's text length (the limit passes,
//! one more character is refused naming the field), and a platform's rate limit, which waits for the
//! reset the platform announced.

use crate::helpers::*;
use crate::lifecycle::{rig, Rig};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, AccountKind, Platform};
use iquivity_store::{Claim, PostRecord, TargetOutcome, TargetRecord, TargetState};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Records `count` posts as published to `account` at `at`, as this service would have published them.
async fn seed_published(
    rig: &Rig,
    account: AccountId,
    platform: Platform,
    count: u32,
    at: DateTime<Utc>,
) {
    let store = &rig.app.app.store;
    for n in 0..count {
        let id = uuid::Uuid::now_v7();
        store
            .create_post(&PostRecord {
                id,
                workspace_id: rig.user.workspace_id,
                author_id: Some(rig.user.user_id),
                text: format!("Earlier post {n}"),
                link: None,
                media: Vec::new(),
                privacy_level: None,
                publish_at: at,
                created_at: at,
                draft_accounts: None,
                variants: Vec::new(),
                first_comment: None,
                thread: Vec::new(),
                targets: vec![TargetRecord::scheduled(id, account, platform, at)],
            })
            .await
            .unwrap();
        let claimed = store
            .claim_due_targets(Claim::new("seeder", at, at + Duration::minutes(5), 1))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1, "the seeded target is due at {at}");
        let published = TargetOutcome::Published {
            platform_post_id: format!("seeded-{n}"),
            url: None,
        };
        assert!(store
            .finish_target(claimed[0].0.id, "seeder", &published, at)
            .await
            .unwrap());
    }
}

/// What a post to `account` needs besides its text: Instagram and TikTok take media.
fn post_to(platform: Platform, account: AccountId, text: &str) -> Value {
    match platform {
        Platform::Instagram | Platform::Tiktok => json!({
            "text": text,
            "media": [{"url": "https://cdn.example.com/clip.mp4", "kind": "video"}],
            "accounts": [account],
        }),
        _ => json!({"text": text, "accounts": [account]}),
    }
}

/// Posts now to `account` and runs one round: the post's only target afterwards, as stored.
async fn publish_one(
    rig: &Rig,
    platform: Platform,
    account: AccountId,
    text: &str,
) -> TargetRecord {
    let (status, post) = rig.create_post(post_to(platform, account, text)).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    rig.round().await;
    let id = post["id"].as_str().unwrap().parse().unwrap();
    let stored = rig
        .app
        .app
        .store
        .post(rig.user.workspace_id, id)
        .await
        .unwrap()
        .unwrap();
    stored.targets.into_iter().next().unwrap()
}

/// The target went out.
fn assert_published(target: &TargetRecord, what: &str) {
    assert_eq!(target.state, TargetState::Published, "{what}: {target:?}");
}

/// The target was held back by the window of `posts` per `minutes`: still scheduled, not sent, until the
/// window lets it (no earlier than `oldest` + the window, no later than a whole window from `now`).
fn assert_deferred_by(
    target: &TargetRecord,
    posts: u32,
    minutes: i64,
    oldest: DateTime<Utc>,
    now: DateTime<Utc>,
) {
    assert_eq!(target.state, TargetState::Scheduled, "{target:?}");
    assert_eq!(target.attempts, 0, "nothing was sent: {target:?}");
    let window = Duration::minutes(minutes);
    assert!(
        micros(target.run_at) >= micros(oldest + window)
            && micros(target.run_at) <= micros(now + window),
        "deferred to the end of the {minutes}-minute window ({} to {}): {target:?}",
        oldest + window,
        now + window
    );
    let message = target.error_message.as_deref().unwrap_or_default();
    assert!(
        message.contains(&format!("{posts} posts per {minutes} minutes")),
        "names the window: {message}"
    );
}

/// Times as the database keeps them (whole microseconds).
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Fills `platform`'s window of `posts` per `minutes` to one short of its limit: the next post goes out,
/// and the one after it waits for the window's end.
async fn window_holds_its_limit_exactly(platform: Platform, posts: u32, minutes: i64) {
    let rig = rig().await;
    let account = rig.connect(platform, "Window Filler").await;
    let now = rig.clock_now();
    seed_published(&rig, account, platform, posts - 1, now).await;
    let last = publish_one(&rig, platform, account, "The last one the window allows").await;
    assert_published(&last, "one short of the limit, a post still goes out");
    let next = publish_one(&rig, platform, account, "One too many").await;
    assert_deferred_by(&next, posts, minutes, now, now);
    assert_eq!(
        rig.sandbox_posts(platform).await.len(),
        1,
        "only the post the window allowed reached {platform}"
    );
}

#[tokio::test]
async fn instagram_publishes_50_posts_a_day_and_no_more() {
    window_holds_its_limit_exactly(Platform::Instagram, 50, 1440).await;
}

#[tokio::test]
async fn tiktok_publishes_6_posts_a_minute_and_no_more() {
    window_holds_its_limit_exactly(Platform::Tiktok, 6, 1).await;
}

#[tokio::test]
async fn x_publishes_100_posts_a_day_and_no_more() {
    window_holds_its_limit_exactly(Platform::X, 100, 1440).await;
}

/// X's day (100) is its tightest window, so a post under a shorter window's limit still waits for the
/// day: the window that held it back shows which windows were full.
#[tokio::test]
async fn x_holds_200_posts_per_15_minutes_and_300_per_3_hours() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Prolific Poster").await;
    let now = rig.clock_now();

    // 199 in the last 15 minutes: that window still has room; the day does not.
    seed_published(&rig, x, Platform::X, 199, now).await;
    let target = publish_one(&rig, Platform::X, x, "Under the 15-minute limit").await;
    assert_deferred_by(&target, 100, 1440, now, now);
    // The 200th fills it.
    seed_published(&rig, x, Platform::X, 1, now).await;
    let target = publish_one(&rig, Platform::X, x, "At the 15-minute limit").await;
    assert_deferred_by(&target, 200, 15, now, now);

    // Three hours: 299 posts an hour ago (outside the 15 minutes), then the 300th.
    let rig = crate::lifecycle::rig().await;
    let x = rig.connect(Platform::X, "Prolific Poster").await;
    let now = rig.clock_now();
    let hour_ago = now - Duration::hours(1);
    seed_published(&rig, x, Platform::X, 299, hour_ago).await;
    let target = publish_one(&rig, Platform::X, x, "Under the 3-hour limit").await;
    assert_deferred_by(&target, 100, 1440, hour_ago, now);
    seed_published(&rig, x, Platform::X, 1, hour_ago).await;
    let target = publish_one(&rig, Platform::X, x, "At the 3-hour limit").await;
    assert_deferred_by(&target, 300, 180, hour_ago, now);
    assert_eq!(
        rig.sandbox_state(Platform::X).await["posts"],
        json!([]),
        "nothing over a limit reached X"
    );
}

/// Posts `text` to `account`; answers the status and the problem's fields.
async fn try_text(
    app: &TestApp,
    user: &User,
    account: AccountId,
    text: &str,
) -> (StatusCode, Value) {
    app.post(
        user,
        "/api/v1/posts",
        json!({"text": text, "accounts": [account]}),
    )
    .await
}

fn fields(problem: &Value) -> Vec<String> {
    strings_at(&problem["errors"], "field")
}

#[tokio::test]
async fn each_networks_text_limit_holds_at_its_exact_length() {
    // Nothing is published here: only what is accepted is looked at.
    let app = spawn_app_with(|c| c.run_lifecycle = false).await;
    let user = app.sign_up("lengths@example.com", "Lengths").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Enterprise)
        .await;
    let x = app
        .seed_account(&user, Seed::new(Platform::X, "Terse"))
        .await;
    let linkedin = app
        .seed_account(&user, Seed::new(Platform::Linkedin, "Wordy"))
        .await;
    let page = app
        .seed_account(
            &user,
            Seed::new(Platform::Facebook, "Long Page").kind(AccountKind::Page),
        )
        .await;
    // Characters, not bytes: "é" is two bytes in UTF-8.
    for (account, limit, name) in [
        (x, 280, "X allows 280"),
        (linkedin, 3000, "LinkedIn allows 3,000"),
    ] {
        let (status, post) = try_text(&app, &user, account, &"é".repeat(limit)).await;
        assert_eq!(status, StatusCode::CREATED, "{limit} characters: {post}");
        let (status, problem) = try_text(&app, &user, account, &"é".repeat(limit + 1)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["type"], "/problems/validation");
        assert_eq!(fields(&problem), ["accounts[0]"], "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(name) && message.contains(&format!("this post has {}", limit + 1)),
            "{message}"
        );
    }
    // On X a link counts 23 whatever its length, with the space before it: 256 characters and a link
    // make 280.
    let (status, post) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": "a".repeat(256), "link": "https://example.com/a/rather/long/path", "accounts": [x]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, problem) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": "a".repeat(257), "link": "https://example.com/a/rather/long/path", "accounts": [x]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["accounts[0]"], "{problem}");
    assert!(
        problem.to_string().contains("this post has 281"),
        "{problem}"
    );

    // Instagram: 2,200 characters, and 30 hashtags at most.
    let instagram = app
        .seed_account(
            &user,
            Seed::new(Platform::Instagram, "Tagged").kind(AccountKind::Business),
        )
        .await;
    let media = json!([{"url": "https://cdn.example.com/a.jpg", "kind": "image"}]);
    let tags = |n: usize| {
        (0..n)
            .map(|i| format!("#tag{i}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let (status, post) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": tags(30), "media": media, "accounts": [instagram]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, problem) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": tags(31), "media": media, "accounts": [instagram]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("Instagram allows 30 hashtags (this post has 31)"),
        "{problem}"
    );
    let (status, problem) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": "é".repeat(2201), "media": media, "accounts": [instagram]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem
            .to_string()
            .contains("Instagram allows 2,200 characters"),
        "{problem}"
    );

    // Where the network's limit is above the service's (a Facebook Page's 63,206), the service's 5,000
    // hold, on the text itself.
    let (status, post) = try_text(&app, &user, page, &"é".repeat(5000)).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, problem) = try_text(&app, &user, page, &"é".repeat(5001)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(fields(&problem), ["text"], "{problem}");
    assert!(problem["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("at most 5000 characters"));
}

/// A rate limit from the platform holds the post until the reset the platform announced, read from the
/// platform's clock, which the test keeps at the service's: days ahead of the real time, so that a reset
/// reckoned from any other clock would be in the service's past and the one-minute fallback would show.
#[tokio::test]
async fn a_rate_limited_post_waits_for_the_reset_the_platform_announced() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Reset Watcher").await;
    // On a whole second: X announces its reset in whole seconds.
    let nanos = i64::from(rig.clock_now().timestamp_subsec_nanos());
    rig.clock
        .advance(Duration::days(3) + Duration::nanoseconds(1_000_000_000 - nanos));
    rig.sync_sandbox_clock(Platform::X).await;
    rig.fault(Platform::X, "rate_limit", 1, "/2/tweets").await;
    let now = rig.clock_now();
    let target = publish_one(&rig, Platform::X, x, "After the reset").await;
    assert_eq!(target.state, TargetState::Scheduled, "{target:?}");
    assert_eq!(
        target.run_at,
        now + Duration::minutes(15),
        "the sandbox announced its reset 15 minutes ahead; not the one-minute fallback"
    );
    assert!(target
        .error_message
        .as_deref()
        .is_some_and(|m| m.starts_with("rate limited")));

    rig.clock.advance(Duration::minutes(14));
    assert_eq!(rig.round().await.published, 0, "still before the reset");
    rig.clock.advance(Duration::minutes(1));
    assert_eq!(rig.round().await.published, 1, "at the reset");
}

/// A text area's line breaks arrive as CRLF from a browser; each counts as one character, as the page's
/// counter counts it, so a post at X's limit by the counter is accepted.
#[tokio::test]
async fn line_breaks_count_once_as_the_page_counts_them() {
    let app = spawn_app().await;
    let owner = app.sign_up("crlf@example.com", "Lines").await;
    let id = app
        .seed_account(&owner, Seed::new(Platform::X, "Lines"))
        .await;
    let text = format!("{}\r\n{}", "a".repeat(139), "b".repeat(140));
    let (status, post) = app
        .post(
            &owner,
            "/api/v1/posts",
            json!({"text": text, "accounts": [id.to_string()],
                   "publish_at": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "280 characters: {post}");
    assert_eq!(post["text"].as_str().unwrap().len(), 280);
}
