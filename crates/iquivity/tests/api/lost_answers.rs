//! Publishing when the platform acted but its answer was lost: the connection dropped mid-answer, the
//! answer was garbage, or it never came. Each platform's sandbox commits the post first, then loses the
//! answer; the post must exist exactly once, recorded under the platform's id where the platform can be
//! asked, and as `unknown_outcome` where it cannot.

use crate::lifecycle::Rig;
use chrono::Duration;
use iquivity_domain::{AccountId, Platform};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The three ways an answer is lost after the platform acted.
const AFTER_COMMIT: [&str; 3] = [
    "commit_then_drop",
    "commit_then_garbage",
    "commit_then_hang",
];

/// A rig whose platform calls give up after 700 ms, so that a hung answer costs little.
pub(crate) async fn rig() -> Rig {
    crate::lifecycle::rig_with(|c| c.platform_timeout = std::time::Duration::from_millis(700)).await
}

/// The path under which the platform's API is served (Graph's version, say), for aiming a fault.
fn api_path(rig: &Rig, platform: Platform) -> String {
    let settings = rig.app.app.core.platforms.get(platform).unwrap();
    let settings = settings.settings();
    let base = settings.api_url.replace("{version}", &settings.api_version);
    url::Url::parse(&base)
        .unwrap()
        .path()
        .trim_end_matches('/')
        .to_string()
}

async fn platform_account_id(rig: &Rig, account: AccountId) -> String {
    rig.app
        .app
        .store
        .account(rig.user.workspace_id, account)
        .await
        .unwrap()
        .unwrap()
        .platform_account_id
}

/// Arms `mode` once on requests under `path_prefix`, posts `body` to `account`, and runs rounds until the
/// target settles (five minutes apart, at most four): the target afterwards.
async fn publish_under(
    rig: &Rig,
    platform: Platform,
    path_prefix: &str,
    mode: &str,
    body: Value,
) -> Value {
    rig.fault(platform, mode, 1, path_prefix).await;
    let (status, post) = rig.create_post(body).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    for _ in 0..4 {
        rig.round().await;
        let (_, after) = rig.get(&path).await;
        let target = after["targets"][0].clone();
        if target["state"] == "published" || target["state"] == "failed" {
            return target;
        }
        rig.clock.advance(Duration::minutes(5));
    }
    panic!("the target never settled under {mode}");
}

/// The sandbox's posts with exactly `text`.
async fn posts_with_text(rig: &Rig, platform: Platform, text: &str) -> Vec<Value> {
    let mut posts = rig.sandbox_posts(platform).await;
    posts.retain(|p| p["text"] == text);
    posts
}

/// For each way of losing the answer: the post exists once on the platform, and the target is published
/// under that post's id.
async fn each_loss_is_looked_up(
    rig: &Rig,
    platform: Platform,
    account: AccountId,
    path_prefix: &str,
    media: Value,
) {
    for mode in AFTER_COMMIT {
        // Plain words: LinkedIn keeps its escaped form of marks such as underscores.
        let text = format!("{} {}", platform.display_name(), mode.replace('_', " "));
        let body = json!({"text": text, "media": media, "accounts": [account]});
        let target = publish_under(rig, platform, path_prefix, mode, body).await;
        let made = posts_with_text(rig, platform, &text).await;
        assert_eq!(
            made.len(),
            1,
            "{platform:?} {mode}: published once, {made:?}"
        );
        assert_eq!(
            target["state"], "published",
            "{platform:?} {mode}: {target}"
        );
        assert_eq!(
            target["platform_post_id"], made[0]["id"],
            "{platform:?} {mode}"
        );
        assert_eq!(
            target["attempts"], 1,
            "{platform:?} {mode}: never sent again"
        );
    }
}

#[tokio::test]
async fn x_facebook_and_instagram_are_asked_and_record_the_post_they_made() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Lost X").await;
    each_loss_is_looked_up(&rig, Platform::X, x, "/2/tweets", json!([])).await;

    let fb = rig.connect(Platform::Facebook, "Lost Fb").await;
    let page = platform_account_id(&rig, fb).await;
    let feed = format!("{}/{page}/feed", api_path(&rig, Platform::Facebook));
    each_loss_is_looked_up(&rig, Platform::Facebook, fb, &feed, json!([])).await;

    let ig = rig.connect(Platform::Instagram, "Lost Ig").await;
    let ig_id = platform_account_id(&rig, ig).await;
    let publish = format!(
        "{}/{ig_id}/media_publish",
        api_path(&rig, Platform::Instagram)
    );
    let picture = json!([{"url": "https://cdn.example.com/a.jpg", "kind": "image"}]);
    each_loss_is_looked_up(&rig, Platform::Instagram, ig, &publish, picture).await;
}

#[tokio::test]
async fn a_linkedin_organisation_is_asked_and_records_the_post_it_made() {
    let rig = rig().await;
    let org = rig.connect(Platform::Linkedin, "Lost Li").await;
    each_loss_is_looked_up(&rig, Platform::Linkedin, org, "/rest/posts", json!([])).await;
}

#[tokio::test]
async fn tiktok_is_asked_for_its_publish_status_and_a_lost_start_is_left_for_a_person() {
    let rig = rig().await;
    let tt = rig.connect(Platform::Tiktok, "Lost Tt").await;
    let video = json!([{"url": "https://cdn.example.com/clip.mp4", "kind": "video"}]);

    // A status read whose answer is lost is asked again: the post is recorded under TikTok's id.
    for mode in AFTER_COMMIT {
        let text = format!("status {mode}");
        let body = json!({"text": text, "media": video, "accounts": [tt]});
        let target = publish_under(
            &rig,
            Platform::Tiktok,
            "/v2/post/publish/status/fetch/",
            mode,
            body,
        )
        .await;
        assert_eq!(target["state"], "published", "{mode}: {target}");
        assert_eq!(target["attempts"], 1, "{mode}");
        assert!(target["platform_post_id"].is_string(), "{target}");
    }

    // The start's answer carries the publish id that status is asked by: once it is lost, TikTok cannot
    // be asked, so a person is told to check rather than the video being sent twice.
    for mode in AFTER_COMMIT {
        let text = format!("start {mode}");
        let body = json!({"text": text, "media": video, "accounts": [tt]});
        let target = publish_under(
            &rig,
            Platform::Tiktok,
            "/v2/post/publish/video/init/",
            mode,
            body,
        )
        .await;
        assert_eq!(target["state"], "failed", "{mode}: {target}");
        assert_eq!(target["error_class"], "unknown_outcome", "{mode}");
        assert_eq!(target["attempts"], 1, "{mode}: never sent again");
        let advice = target["error_message"].as_str().unwrap_or_default();
        assert!(advice.contains("check the account on TikTok"), "{advice}");
    }
    let started = rig.sandbox_state(Platform::Tiktok).await["requests"]
        ["/v2/post/publish/video/init/"]
        .as_u64();
    assert_eq!(started, Some(6), "each video was started exactly once");
}

#[tokio::test]
async fn a_request_that_never_reached_the_platform_is_sent_again_up_to_five_times() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Down X").await;
    // The platform fails before acting, every time: nothing was published, so it is tried again, five
    // times in all, then given up.
    rig.fault(Platform::X, "server_error", 10, "/2/tweets")
        .await;
    let (_, post) = rig
        .create_post(json!({"text": "Never lands", "accounts": [x]}))
        .await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let mut attempts_seen = Vec::new();
    for _ in 0..8 {
        rig.round().await;
        let (_, after) = rig.get(&path).await;
        attempts_seen.push(after["targets"][0]["attempts"].as_u64().unwrap());
        rig.clock.advance(Duration::minutes(11));
    }
    let (_, after) = rig.get(&path).await;
    let target = &after["targets"][0];
    assert_eq!(target["state"], "failed", "{target}");
    assert_eq!(target["error_class"], "unavailable");
    assert_eq!(target["attempts"], 5, "{attempts_seen:?}");
    assert_eq!(
        rig.sandbox_state(Platform::X).await["requests"]["/2/tweets"],
        5
    );
    assert!(posts_with_text(&rig, Platform::X, "Never lands")
        .await
        .is_empty());
}
