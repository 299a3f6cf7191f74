//! Publishing: one post to many accounts, now or later, each account's result recorded once.

use crate::helpers::*;
use crate::lifecycle::{rig, Rig};
use chrono::Duration;
use iquivity_domain::{AccountId, Platform};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A worker claims the `count` due targets and marks each as being sent, then dies (never reports).
async fn die_while_sending(rig: &Rig, count: usize) {
    let now = rig.clock_now();
    let store = &rig.app.app.store;
    let taken = store
        .claim_due_targets(iquivity_store::Claim::new(
            "dead-worker",
            now,
            now + Duration::minutes(5),
            10,
        ))
        .await
        .unwrap();
    assert_eq!(taken.len(), count);
    for (target, _) in &taken {
        let started = store
            .start_sending_target(target.id, "dead-worker", now)
            .await;
        assert!(started.unwrap());
    }
}

/// With the next `count` publish requests to the X sandbox failing as `mode`, posts `text` to `x` and
/// runs three rounds five minutes apart: the post afterwards.
async fn post_under_fault(rig: &Rig, x: AccountId, mode: &str, count: u32, text: &str) -> Value {
    rig.fault(Platform::X, mode, count, "/2/tweets").await;
    let (_, post) = rig
        .create_post(json!({"text": text, "accounts": [x]}))
        .await;
    for _ in 0..3 {
        rig.round().await;
        rig.clock.advance(Duration::minutes(5));
    }
    let (_, after) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    after
}

#[tokio::test]
async fn a_post_goes_to_every_platform_with_a_result_per_account() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Poster X").await;
    let li = rig.connect(Platform::Linkedin, "Poster Li").await;
    let fb = rig.connect(Platform::Facebook, "Poster Fb").await;
    let ig = rig.connect(Platform::Instagram, "Poster Ig").await;
    let tt = rig.connect(Platform::Tiktok, "Poster Tt").await;

    // Text-only accounts and media accounts need different posts: Instagram and TikTok need media.
    let (status, problem) = rig
        .create_post(json!({"text": "Hello", "accounts": [x, ig, tt]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields = strings_at(&problem["errors"], "field");
    assert_eq!(fields, ["accounts[1]", "accounts[2]"], "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("Instagram needs an image or a video"));

    let (status, text_post) = rig.create_post(json!({"text": "Launch day!", "link": "https://example.com/launch", "accounts": [x, li, fb]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text_post}");
    let (status, media_post) = rig.create_post(json!({"text": "Behind the scenes", "media": [{"url": "https://cdn.example.com/clip.mp4", "kind": "video"}], "accounts": [ig, tt]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{media_post}");

    let report = rig.round().await;
    assert_eq!(report.published, 5, "{report:?}");
    for post in [&text_post, &media_post] {
        let (_, after) = rig
            .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
            .await;
        for target in after["targets"].as_array().unwrap() {
            assert_eq!(target["state"], "published", "{target}");
            assert!(target["platform_post_id"].is_string());
            assert!(
                target["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("https://")),
                "{target}"
            );
            assert_eq!(target["attempts"], 1);
        }
    }
    let (_, fb_account) = rig.get(&format!("/api/v1/accounts/{fb}")).await;
    assert!(
        fb_account["last_used_at"].is_string(),
        "publishing marks the account used"
    );
    let posted = rig.sandbox_posts(Platform::X).await.len();
    assert_eq!(posted, 1);
    assert_eq!(rig.round().await.published, 0, "nothing is published twice");
    assert_eq!(rig.sandbox_posts(Platform::X).await.len(), 1);
}

#[tokio::test]
async fn a_scheduled_post_waits_for_its_time_and_removal_cancels_it() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Later X").await;
    let li = rig.connect(Platform::Linkedin, "Later Li").await;
    let at = (rig.clock_now() + Duration::hours(3)).to_rfc3339();
    let (_, post) = rig
        .create_post(json!({"text": "Tomorrow", "accounts": [x, li], "publish_at": at}))
        .await;
    assert_eq!(rig.round().await.published, 0, "not before its time");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let (status, problem) = rig.patch(&path, json!({"text": "x".repeat(281)})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the new text is checked against X's limit: {problem}"
    );
    let later = (rig.clock_now() + Duration::hours(3) + Duration::minutes(30)).to_rfc3339();
    let (status, edited) = rig
        .patch(
            &path,
            json!({"text": "Tomorrow, edited", "publish_at": later}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["text"], "Tomorrow, edited");
    let (_, impact) = rig
        .get(&format!("/api/v1/accounts/{x}/removal-impact"))
        .await;
    assert_eq!(impact["scheduled"], 1);
    assert_eq!(impact["posts"][0]["text"], "Tomorrow, edited");

    let (status, _) = rig.delete(&format!("/api/v1/accounts/{x}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    rig.clock.advance(Duration::hours(4));
    rig.round().await;
    let (_, after) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    let state_of =
        |account: &iquivity_domain::AccountId| target_for(&after, account)["state"].clone();
    assert_eq!(
        state_of(&x),
        "cancelled",
        "removing the account cancelled its target"
    );
    assert_eq!(
        state_of(&li),
        "published",
        "the post still went to its other account"
    );
}

#[tokio::test]
async fn an_auth_error_fails_the_target_and_marks_the_account_and_a_retry_publishes_once() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Expired X").await;
    rig.app.revoke_grant(&rig.account(x).await).await;
    let (_, post) = rig
        .create_post(json!({"text": "Will fail", "accounts": [x]}))
        .await;
    rig.round().await;
    let (_, after) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    let target = &after["targets"][0];
    assert_eq!(target["state"], "failed");
    assert!(target["error_message"]
        .as_str()
        .unwrap()
        .contains("refresh the account, then retry"));
    assert_ne!(
        rig.account(x).await["status"],
        "active",
        "the account shows the problem"
    );

    let retry = format!(
        "/api/v1/posts/{}/targets/{}/retry",
        post["id"].as_str().unwrap(),
        target["id"].as_str().unwrap()
    );
    let (status, problem) = rig.post_bare(&retry).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not while the account is broken: {problem}"
    );
}

#[tokio::test]
async fn a_rate_limit_delays_the_target_and_a_crash_mid_publish_is_looked_up_before_sending_again()
{
    let rig = rig().await;
    let li = rig.connect(Platform::Linkedin, "Busy Li").await;
    rig.fault(Platform::Linkedin, "rate_limit", 1, "/rest/posts")
        .await;
    let (_, post) = rig
        .create_post(json!({"text": "Patience", "accounts": [li]}))
        .await;
    assert_eq!(rig.round().await.published, 0);
    let (_, waiting) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    assert_eq!(
        waiting["targets"][0]["state"], "scheduled",
        "back on the schedule after the rate limit"
    );
    rig.clock.advance(Duration::hours(25));
    assert_eq!(rig.round().await.published, 1);

    // A worker takes a target and dies before the platform answers: LinkedIn is asked for the
    // organisation's posts, has none such, so it is published now, once.
    let (_, post) = rig
        .create_post(json!({"text": "Crash", "accounts": [li]}))
        .await;
    die_while_sending(&rig, 1).await;
    rig.clock.advance(Duration::minutes(6));
    rig.round().await;
    let (_, after) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    assert_eq!(after["targets"][0]["state"], "published", "{after}");
    let texts = rig.posted_texts(Platform::Linkedin).await;
    assert_eq!(texts, ["Patience", "Crash"], "each once");
}

#[tokio::test]
async fn platform_rules_are_checked_per_account_before_anything_is_scheduled() {
    let app = spawn_app().await;
    let user = app.sign_up("rules@example.com", "Rules").await;
    app.set_plan(user.workspace_id, iquivity_domain::Plan::Enterprise)
        .await;
    let x = app
        .seed_account(&user, Seed::new(Platform::X, "Short X"))
        .await;
    let profile = app
        .seed_account(&user, Seed::new(Platform::Facebook, "A Person"))
        .await;
    let inactive = app
        .seed_account(
            &user,
            Seed::new(Platform::Linkedin, "Stale Li")
                .reason(iquivity_domain::StatusReason::TokenExpired),
        )
        .await;
    let long = "a".repeat(281);
    let (status, problem) = app
        .post(
            &user,
            "/api/v1/posts",
            json!({"text": long, "accounts": [x, profile, inactive]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("X allows 280 characters"), "{detail}");
    assert!(detail.contains("personal profiles"), "{detail}");
    assert!(detail.contains("refresh it before posting"), "{detail}");
    let (_, posts) = app.get(&user, "/api/v1/posts").await;
    assert_eq!(posts, json!([]), "nothing stored");
}

#[tokio::test]
async fn a_500_is_retried_until_it_succeeds_and_a_timeout_is_looked_up_before_sending_again() {
    let rig = crate::lost_answers::rig().await;
    let x = rig.connect(Platform::X, "Flaky X").await;

    let after = post_under_fault(&rig, x, "server_error", 2, "Third time lucky").await;
    assert_eq!(after["targets"][0]["state"], "published", "{after}");
    assert_eq!(after["targets"][0]["attempts"], 3);
    assert!(after["targets"][0]["url"]
        .as_str()
        .unwrap()
        .starts_with("https://x.com/"));

    // The sandbox takes the request and never answers: it may have published, so X is asked before
    // anything is sent again. It has no such post, so it is sent once more, and exists once.
    let after = post_under_fault(&rig, x, "hang", 1, "Into the void").await;
    assert_eq!(after["targets"][0]["state"], "published", "{after}");
    assert_eq!(after["targets"][0]["attempts"], 2);
    let texts = rig.posted_texts(Platform::X).await;
    assert_eq!(texts, ["Third time lucky", "Into the void"], "each once");
}

#[tokio::test]
async fn posts_scheduled_to_a_broken_account_are_flagged_at_risk_once_before_their_time() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Risky X").await;
    let at = (rig.clock_now() + Duration::hours(3)).to_rfc3339();
    rig.create_post(json!({"text": "Soon", "accounts": [x], "publish_at": at}))
        .await;
    rig.app
        .app
        .core
        .change_account_status(
            rig.user.workspace_id,
            x,
            Some(iquivity_domain::StatusReason::TokenRevoked),
            None,
        )
        .await
        .unwrap();
    rig.round().await;
    rig.round().await;
    let (_, notifications) = rig.get("/api/v1/notifications").await;
    let at_risk = notifications["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "account.posts_at_risk")
        .count();
    assert_eq!(at_risk, 1, "one alert for the incident: {notifications}");
    let page = rig.user.client.get(rig.app.url("/")).text_body().await;
    assert!(
        page.contains("1 scheduled post(s) at risk"),
        "the list flags it"
    );
    assert!(page.contains("published in 30 days"), "usage is shown");
}

#[tokio::test]
async fn an_accounts_publishing_rate_is_kept_under_the_platforms_limit() {
    let rig = rig().await;
    let tt = rig.connect(Platform::Tiktok, "Busy Creator").await;
    for i in 0..7 {
        let (status, body) = rig.create_post(json!({"text": format!("Clip {i}"), "media": [{"url": "https://cdn.example.com/clip.mp4", "kind": "video"}], "accounts": [tt]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let report = rig.round().await;
    assert_eq!(
        report.published, 6,
        "TikTok allows 6 per minute per account: {report:?}"
    );
    assert_eq!(
        rig.round().await.published,
        0,
        "the seventh waits for the window"
    );
    let (_, posts) = rig.get("/api/v1/posts").await;
    let waiting: Vec<&Value> = posts
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["targets"][0]["state"] == "scheduled")
        .collect();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        waiting[0]["text"], "Clip 6",
        "the last in line waits, not the first"
    );
    rig.clock.advance(Duration::minutes(2));
    assert_eq!(rig.round().await.published, 1);
}

#[tokio::test]
async fn x_gets_an_uploaded_picture_as_a_file_and_a_url_it_may_not_fetch_fails_the_target() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Picture Desk").await;
    let picture = vec![7u8; 200_000];
    let response = reqwest::Client::new()
        .post(rig.app.url("/api/v1/media"))
        .bearer_auth(&rig.user.token)
        .header("content-type", "image/jpeg")
        .body(picture.clone())
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let url = response.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, post) = rig
        .create_post(json!({"text": "A picture for X", "media": [{"url": url, "kind": "image"}], "accounts": [x]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(rig.round().await.published, 1);
    let uploads: Value = reqwest::get(rig.sandbox(Platform::X, "/_sandbox/media"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(uploads[0]["total_bytes"], picture.len(), "{uploads}");
    assert_eq!(uploads[0]["media_type"], "image/jpeg");
    assert!(uploads[0]["attached_to"].is_string(), "{uploads}");

    // A URL on this machine is not a destination the service fetches from on a user's behalf: the
    // target fails saying why, and nothing reaches X.
    let (status, post) = rig
        .create_post(json!({
            "text": "A picture from elsewhere",
            "media": [{"url": "http://127.0.0.1:9/private.jpg", "kind": "image"}],
            "accounts": [x],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    rig.round().await;
    let (_, done) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    let target = &done["targets"][0];
    assert_eq!(target["state"], "failed", "{done}");
    assert!(
        target["error_message"]
            .as_str()
            .unwrap()
            .contains("not an allowed destination"),
        "{done}"
    );
}

#[tokio::test]
async fn an_x_thread_stopped_at_its_second_part_continues_without_repeating_a_part() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Thread X").await;
    let linkedin = rig.connect(Platform::Linkedin, "Thread Li").await;
    // Each part is checked as X checks a post, naming the part.
    let (status, problem) = rig
        .create_post(json!({
            "text": "1/3 Spring",
            "accounts": [x],
            "thread": [{"text": "2/3"}, {"text": "日".repeat(141)}],
        }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Thread X: part 3 of the thread: X allows 280 characters"),
        "{problem}"
    );

    // X refuses replies for now: the post goes out, its thread stops at part 2.
    let refuse = |refuse: bool| {
        let url = rig.sandbox(Platform::X, "/_sandbox/comments");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(&json!({ "refuse": refuse }))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    };
    refuse(true).await;
    let (status, post) = rig
        .create_post(json!({
            "text": "1/3 Our spring collection",
            "accounts": [x, linkedin],
            "thread": [{"text": "2/3 The colours"}, {"text": "3/3 The shop, from Monday"}],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["thread"].as_array().unwrap().len(), 2);
    rig.round().await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let (_, done) = rig.get(&path).await;
    let on_x = target_for(&done, x);
    assert_eq!(on_x["state"], "published", "{done}");
    assert_eq!(on_x["thread"]["published_ids"], json!([]), "{done}");
    assert!(
        on_x["thread"]["error"]
            .as_str()
            .unwrap()
            .starts_with("stopped at part 2 of 3:"),
        "{done}"
    );
    assert_eq!(
        target_for(&done, linkedin)["thread"]["published_ids"],
        json!([]),
        "LinkedIn takes no threads: only the post"
    );

    // Replies allowed again: the thread continues from part 2, each part once, each under the one before.
    refuse(false).await;
    let (status, continued) = rig
        .post(
            &format!(
                "{path}/targets/{}/thread/continue",
                on_x["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{continued}");
    let thread = target_for(&continued, x)["thread"].clone();
    assert_eq!(
        thread["published_ids"].as_array().unwrap().len(),
        2,
        "{thread}"
    );
    assert_eq!(thread["error"], Value::Null);
    let state = rig.sandbox_state(Platform::X).await;
    let texts: Vec<&str> = state["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "1/3 Our spring collection",
            "2/3 The colours",
            "3/3 The shop, from Monday"
        ],
        "each part exactly once"
    );
    let root = on_x["platform_post_id"].as_str().unwrap();
    let replies = state["comments"].as_array().unwrap();
    assert_eq!(replies[0]["on"], root);
    assert_eq!(replies[1]["on"], thread["published_ids"][0]);
    let (status, _) = rig
        .post(
            &format!(
                "{path}/targets/{}/thread/continue",
                on_x["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "nothing more to publish");
}

#[tokio::test]
async fn a_first_comment_that_fails_leaves_the_post_published_and_is_retried_alone() {
    let rig = rig().await;
    let page = rig.connect(Platform::Facebook, "Comment Page").await;
    let linkedin = rig.connect(Platform::Linkedin, "Comment Li").await;
    let tiktok = rig.connect(Platform::Tiktok, "Comment Tok").await;
    // A comment too long for X's 280 is refused for that account before anything is scheduled.
    let x = rig.connect(Platform::X, "Comment X").await;
    let (status, problem) = rig
        .create_post(json!({"text": "Hi", "accounts": [x], "first_comment": "y".repeat(281)}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Comment X: the first comment: X allows 280 characters"),
        "{problem}"
    );

    // Facebook refuses comments for now; the posts go out all the same.
    let refuse = |platform, refuse: bool| {
        let url = rig.sandbox(platform, "/_sandbox/comments");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(&json!({ "refuse": refuse }))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    };
    refuse(Platform::Facebook, true).await;
    let (status, post) = rig
        .create_post(json!({
            "text": "Our opening hours, from Monday",
            "media": [{"url": "https://cdn.example.com/hours.jpg", "kind": "image"}],
            "accounts": [page, tiktok],
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "first_comment": "Questions? Ask below #opening",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, text_post) = rig
        .create_post(json!({
            "text": "Our opening hours, on LinkedIn",
            "accounts": [linkedin],
            "first_comment": "Questions? Ask below #opening",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text_post}");
    rig.round().await;
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let (_, done) = rig.get(&path).await;
    let on_page = target_for(&done, page);
    assert_eq!(on_page["state"], "published", "{done}");
    assert_eq!(on_page["comment"]["state"], "failed", "{done}");
    assert!(on_page["comment"]["error_message"]
        .as_str()
        .unwrap()
        .contains("Comments on this object are turned off"));
    assert_eq!(
        target_for(&done, tiktok)["comment"],
        Value::Null,
        "TikTok takes no comments: none is tried"
    );
    let (_, li_done) = rig
        .get(&format!(
            "/api/v1/posts/{}",
            text_post["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        target_for(&li_done, linkedin)["comment"]["state"],
        "published",
        "{li_done}"
    );

    // Comments allowed again: the comment alone is retried; the Page still has one post, now with it.
    refuse(Platform::Facebook, false).await;
    let retry = format!(
        "{path}/targets/{}/comment/retry",
        on_page["id"].as_str().unwrap()
    );
    let (status, again) = rig.post(&retry, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(
        target_for(&again, page)["comment"]["state"],
        "published",
        "{again}"
    );
    let state = rig.sandbox_state(Platform::Facebook).await;
    assert_eq!(
        state["posts"].as_array().unwrap().len(),
        1,
        "not posted again"
    );
    let comments = state["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{state}");
    assert_eq!(comments[0]["text"], "Questions? Ask below #opening");
    let (status, problem) = rig.post(&retry, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "once added: {problem}");
}

#[tokio::test]
async fn a_published_post_is_deleted_on_x_and_instagram_says_it_cannot() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Deleting X").await;
    let instagram = rig.connect(Platform::Instagram, "Deleting Insta").await;
    let (status, post) = rig
        .create_post(json!({
            "text": "A post to take back",
            "media": [{"url": "https://cdn.example.com/take-back.jpg", "kind": "image"}],
            "accounts": [instagram],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let (status, on_x) = rig
        .create_post(json!({"text": "A post to take back", "accounts": [x]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{on_x}");
    let later = (rig.clock_now() + Duration::hours(1)).to_rfc3339();
    let (_, scheduled) = rig
        .create_post(json!({"text": "Not out yet", "accounts": [x], "publish_at": later}))
        .await;
    rig.round().await;
    let target_of = |post: &Value| {
        format!(
            "/api/v1/posts/{}/targets/{}",
            post["id"].as_str().unwrap(),
            post["targets"][0]["id"].as_str().unwrap()
        )
    };
    let client = reqwest::Client::new();
    let delete = |path: String| {
        let request = client
            .delete(rig.app.url(&path))
            .bearer_auth(&rig.user.token);
        async move {
            let response = request.send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };

    let (status, deleted) = delete(target_of(&on_x)).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted["targets"][0]["state"], "published");
    assert!(deleted["targets"][0]["deleted_at"].is_string(), "{deleted}");
    let posted = rig.sandbox_state(Platform::X).await["posts"].clone();
    assert_eq!(posted, json!([]), "gone from X");

    for (path, says) in [
        (target_of(&on_x), "already deleted"),
        (target_of(&post), "Instagram does not let apps delete posts"),
        (
            target_of(&scheduled),
            "only a published post can be deleted",
        ),
    ] {
        let (status, problem) = delete(path).await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(says),
            "{problem}"
        );
    }
}

/// The header of a PNG of `width` × `height` pixels: what the service reads of an image's shape.
fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&13u32.to_be_bytes());
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes
}

#[tokio::test]
async fn an_uploaded_image_instagram_would_refuse_is_named_before_scheduling() {
    let rig = rig().await;
    let instagram = rig.connect(Platform::Instagram, "Shape Insta").await;
    let x = rig.connect(Platform::X, "Shape X").await;
    let upload = |bytes: Vec<u8>, content_type: &'static str| {
        let url = rig.app.url("/api/v1/media");
        let token = rig.user.token.clone();
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(bytes)
                .sent()
                .await;
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<Value>().await.unwrap()["url"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let story = upload(png(1080, 1920), "image/png").await;
    let square = upload(png(1080, 1080), "image/png").await;
    let heavy = upload(vec![1u8; 9 * 1024 * 1024], "image/jpeg").await;

    // A 9:16 picture is named for Instagram only (X takes it); a 9 MB one for each by its own limit.
    let refusals = |problem: &Value| -> Vec<(String, String)> {
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_string(),
                    e["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    for (url, expected) in [
        (
            &story,
            vec![(
                "accounts[0]",
                "Shape Insta: Instagram takes images from 0.80:1 to 1.91:1, width to height (media 1 is 1080×1920, 0.56:1)",
            )],
        ),
        (
            &heavy,
            vec![
                ("accounts[0]", "Shape Insta: Instagram takes images up to 8 MB (media 1 is 9 MB)"),
                ("accounts[1]", "Shape X: X takes images up to 5 MB (media 1 is 9 MB)"),
            ],
        ),
    ] {
        let (status, problem) = rig
            .create_post(json!({"text": "Shapes", "media": [{"url": url, "kind": "image"}], "accounts": [instagram, x]}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, m)| (f.to_string(), m.to_string()))
            .collect();
        assert_eq!(refusals(&problem), expected);
    }
    let (status, post) = rig
        .create_post(json!({"text": "Square", "media": [{"url": square, "kind": "image"}], "accounts": [instagram, x]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");

    // A video of 3:05, by its MP4 movie header: too long for X (2:20), fine for Instagram.
    let mut video =
        b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x6cmoov\0\0\0\x64mvhd\0\0\0\0".to_vec();
    video.extend_from_slice(&[0; 8]);
    video.extend_from_slice(&1000u32.to_be_bytes());
    video.extend_from_slice(&185_000u32.to_be_bytes());
    video.extend_from_slice(&[0; 80]);
    let long = upload(video, "video/mp4").await;
    let (status, problem) = rig
        .create_post(json!({"text": "Long", "media": [{"url": long, "kind": "video"}], "accounts": [instagram, x]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        refusals(&problem),
        [(
            "accounts[1]".to_string(),
            "Shape X: X takes videos up to 2:20 long (media 1 is 3:05)".to_string()
        )]
    );

    // An animated GIF goes alone on X.
    let (status, problem) = rig
        .create_post(json!({
            "text": "Moving",
            "media": [
                {"url": "https://cdn.example.com/dance.gif", "kind": "image"},
                {"url": "https://cdn.example.com/still.jpg", "kind": "image"},
            ],
            "accounts": [x],
        }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        refusals(&problem),
        [(
            "accounts[0]".to_string(),
            "Shape X: X takes an animated GIF alone in a post (this post has 2 media)".to_string()
        )]
    );
}

#[tokio::test]
async fn one_post_with_an_image_publishes_on_all_five_platforms() {
    let rig = rig().await;
    let mut accounts = Vec::new();
    for (platform, name) in [
        (Platform::Facebook, "Everywhere Page"),
        (Platform::Instagram, "Everywhere Insta"),
        (Platform::X, "Everywhere X"),
        (Platform::Linkedin, "Everywhere Li"),
        (Platform::Tiktok, "Everywhere Tok"),
    ] {
        accounts.push(rig.connect(platform, name).await);
    }
    let response = reqwest::Client::new()
        .post(rig.app.url("/api/v1/media"))
        .bearer_auth(&rig.user.token)
        .header("content-type", "image/jpeg")
        .body(vec![9u8; 120_000])
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let url = response.json::<Value>().await.unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, post) = rig
        .create_post(json!({
            "text": "Our new shop opens on Monday",
            "media": [{"url": url, "kind": "image"}],
            "accounts": accounts,
            "privacy_level": "PUBLIC_TO_EVERYONE",
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    rig.round().await;
    let (_, done) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    for target in done["targets"].as_array().unwrap() {
        assert_eq!(target["state"], "published", "{target}");
    }
    let uploads: Value = reqwest::get(rig.sandbox(Platform::X, "/_sandbox/media"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(uploads[0]["attached_to"].is_string(), "{uploads}");
    let images: Value = reqwest::get(rig.sandbox(Platform::Linkedin, "/_sandbox/images"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(images[0]["bytes"], 120_000, "{images}");
    assert!(images[0]["posted_in"].is_string(), "{images}");
}

#[tokio::test]
async fn uploaded_media_is_served_for_the_platforms_and_can_be_posted() {
    let rig = rig().await;
    let ig = rig.connect(Platform::Instagram, "Uploader").await;
    let picture = png(1080, 1350);
    let response = reqwest::Client::new()
        .post(rig.app.url("/api/v1/media"))
        .bearer_auth(&rig.user.token)
        .header("content-type", "image/png")
        .body(picture.clone())
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let uploaded: Value = response.json().await.unwrap();
    assert_eq!(uploaded["kind"], "image");
    let url = uploaded["url"].as_str().unwrap().to_string();
    let served = reqwest::get(&url).await.unwrap();
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().to_vec(), picture);

    let (status, post) = rig
        .create_post(
            json!({"text": "Uploaded", "media": [{"url": url, "kind": "image"}], "accounts": [ig]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(rig.round().await.published, 1);

    let refused = reqwest::Client::new()
        .post(rig.app.url("/api/v1/media"))
        .bearer_auth(&rig.user.token)
        .header("content-type", "application/x-msdownload")
        .body(vec![1, 2, 3])
        .sent()
        .await;
    let body = expect_invalid(refused).await;
    assert!(body["detail"].as_str().unwrap().contains("not accepted"));
    let missing = reqwest::get(rig.app.url("/media/../keys.json"))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_lost_attempt_on_x_is_looked_up_and_settled_without_a_second_post() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Lost Answer").await;
    let schedule = |text: &'static str| {
        let rig = &rig;
        async move {
            let (_, post) = rig
                .create_post(json!({"text": text, "accounts": [x]}))
                .await;
            post["id"].as_str().unwrap().to_string()
        }
    };
    let target_of = |id: String| {
        let rig = &rig;
        async move {
            let (_, post) = rig.get(&format!("/api/v1/posts/{id}")).await;
            post["targets"][0].clone()
        }
    };
    let posts_on_x = || async {
        rig.sandbox_state(Platform::X).await["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["id"].as_str().unwrap().to_string(),
                    p["text"].as_str().unwrap().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };

    // A worker takes both, sends both and dies: X made the first post; the second request was lost on
    // the way.
    let made = schedule("Made before the crash").await;
    let lost = schedule("Lost on the way").await;
    die_while_sending(&rig, 2).await;
    let core = &rig.app.app.core;
    let stored = core.store.credential(x).await.unwrap().unwrap();
    let tokens = iquivity_core::credentials::open(&core.vault, x, &stored).unwrap();
    let account = rig
        .app
        .app
        .store
        .account(rig.user.workspace_id, x)
        .await
        .unwrap()
        .unwrap();
    let published = core
        .platforms
        .get(Platform::X)
        .unwrap()
        .publish(
            iquivity_platforms::ActingAs::account(&account, &tokens),
            &iquivity_platforms::PostContent {
                text: "Made before the crash".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // The first is found on the timeline, so published under X's id; the second is not there, so it is
    // published now, once.
    rig.clock.advance(Duration::minutes(6));
    rig.round().await;
    let made = target_of(made).await;
    assert_eq!(made["state"], "published", "{made}");
    assert_eq!(
        made["platform_post_id"],
        published.platform_post_id.as_str()
    );
    let lost = target_of(lost).await;
    assert_eq!(lost["state"], "published", "{lost}");
    let texts: Vec<String> = posts_on_x().await.into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        texts,
        ["Made before the crash", "Lost on the way"],
        "each exactly once"
    );
}

/// The `field`s of a validation problem, in order.
fn problem_fields(problem: &Value) -> Vec<String> {
    strings_at(&problem["errors"], "field")
}

#[tokio::test]
async fn an_account_listed_twice_is_refused_and_nothing_is_stored_or_published() {
    let rig = rig().await;
    let li = rig.connect(Platform::Linkedin, "Twice Li").await;
    let x = rig.connect(Platform::X, "Once X").await;
    let name = rig.account(li).await["display_name"]
        .as_str()
        .unwrap()
        .to_string();

    // POST: the repeat is named by its position, with the account and where it was listed first.
    for accounts in [json!([li, x, li]), json!([li, li, li])] {
        let (status, problem) = rig
            .create_post(json!({"text": "Hello twice", "accounts": accounts}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["type"], "/problems/validation");
        let expected: Vec<String> = (1..accounts.as_array().unwrap().len())
            .filter(|i| accounts[*i] == json!(li))
            .map(|i| format!("accounts[{i}]"))
            .collect();
        assert_eq!(problem_fields(&problem), expected, "{problem}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains(&name) && message.contains("accounts[0]"),
            "{message}"
        );
    }
    let (_, posts) = rig.get("/api/v1/posts").await;
    assert_eq!(posts, json!([]), "nothing stored");
    rig.round().await;
    assert_eq!(
        rig.sandbox_state(Platform::Linkedin).await["posts"],
        json!([]),
        "nothing published"
    );

    // PATCH: the same rule when the accounts change; the post stays as it was.
    let at = (rig.clock_now() + Duration::hours(1)).to_rfc3339();
    let (status, post) = rig
        .create_post(json!({"text": "Edited later", "accounts": [x], "publish_at": at}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());
    let (status, problem) = rig
        .patch(&path, json!({"text": "Doubled", "accounts": [x, li, li]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem_fields(&problem), ["accounts[2]"], "{problem}");
    let (_, unchanged) = rig.get(&path).await;
    assert_eq!(unchanged["text"], "Edited later");
    assert_eq!(unchanged["targets"].as_array().unwrap().len(), 1);
    assert_eq!(unchanged["targets"][0]["account_id"], json!(x));

    // Each account once is fine: the kept account keeps its target, the new one is added.
    let (status, edited) = rig.patch(&path, json!({"accounts": [li, x]})).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let targets = edited["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{edited}");
    assert!(targets
        .iter()
        .any(|t| t["id"] == unchanged["targets"][0]["id"] && t["account_id"] == json!(x)));
    assert!(targets
        .iter()
        .any(|t| t["account_id"] == json!(li) && t["state"] == "scheduled"));
    rig.clock.advance(Duration::hours(2));
    assert_eq!(rig.round().await.published, 2);
    for platform in [Platform::Linkedin, Platform::X] {
        let texts = rig.posted_texts(platform).await;
        assert_eq!(texts, ["Edited later"], "{platform}: once each");
    }
}

#[tokio::test]
async fn the_posts_form_refuses_an_account_listed_twice_and_keeps_what_was_typed() {
    let rig = rig().await;
    let li = rig.connect(Platform::Linkedin, "Form Li").await;
    let browser = browser_client();
    browser
        .post(rig.app.url("/api/v1/auth/login"))
        .json(&json!({"email": rig.user.email, "password": PASSWORD}))
        .sent()
        .await;
    let page = browser.get(rig.app.url("/posts")).text_body().await;
    let csrf = csrf_of(&page);
    // A browser sends a checked box once; a crafted form can repeat it.
    let li = li.to_string();
    let response = browser
        .post(rig.app.url("/posts"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("text", "Typed with care"),
            ("link", "https://example.com/kept"),
            ("accounts", li.as_str()),
            ("accounts", li.as_str()),
            ("publish_at", ""),
            ("tz", "0"),
        ])
        .sent()
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("is already listed as accounts[0]"),
        "the message is shown"
    );
    assert!(page.contains("id=\"accounts-error\""), "by the accounts");
    assert!(page.contains("Typed with care"), "the text is kept");
    assert!(
        page.contains("https://example.com/kept"),
        "the link is kept"
    );
    assert!(
        page.contains(&format!("value=\"{li}\" checked")),
        "the account stays chosen"
    );
    let (_, posts) = rig.get("/api/v1/posts").await;
    assert_eq!(posts, json!([]), "nothing stored");
}

/// A publish that finds the credentials refused changes the account's status at once, with our sentence
/// and the platform's own words on a line of their own.
#[tokio::test]
async fn a_publish_refused_for_its_credentials_marks_the_account_at_once() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Revoked Poster").await;
    let (_, account) = rig.get(&format!("/api/v1/accounts/{x}")).await;
    rig.app.revoke_grant(&account).await;
    let (status, post) = rig
        .create_post(json!({"text": "Into the void", "accounts": [x]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    rig.round().await;
    let (_, after) = rig.get(&format!("/api/v1/accounts/{x}")).await;
    assert_ne!(after["status"], "active", "{after}");
    let message = after["status_message"].as_str().unwrap();
    let (sentence, words) = message.split_once('\n').expect("two lines");
    assert!(
        sentence.ends_with('.') && !sentence.contains(".:"),
        "{message}"
    );
    assert!(words.starts_with("The platform said: "), "{message}");
}
