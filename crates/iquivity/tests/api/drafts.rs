//! Drafts: saved without being scheduled, never taken by the engine, checked in full when scheduled, and
//! duplicated from any post.

use crate::lifecycle::rig;
use iquivity_domain::{Platform, StatusReason};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_draft_is_never_published_until_it_is_scheduled_and_then_is_checked_in_full() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Draft Writer").await;
    let linkedin = rig.connect(Platform::Linkedin, "Draft Reader").await;

    // Saved as a draft: no targets, nothing reserved; the engine passes it by.
    let (status, draft) = rig
        .create_post(json!({"text": "Later, maybe", "accounts": [x, linkedin], "status": "draft"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["targets"], json!([]));
    assert_eq!(draft["draft_accounts"].as_array().unwrap().len(), 2);
    let id = draft["id"].as_str().unwrap().to_string();
    rig.clock.advance(chrono::Duration::hours(2));
    rig.round().await;
    let (_, still) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(still["status"], "draft", "{still}");
    assert_eq!(still["targets"], json!([]));

    // Edited as a draft: no platform check yet, even for an account that is not Active.
    rig.app
        .app
        .core
        .change_account_status(
            rig.user.workspace_id,
            linkedin,
            Some(StatusReason::TokenRevoked),
            None,
        )
        .await
        .unwrap();
    let (status, edited) = rig
        .patch(
            &format!("/api/v1/posts/{id}"),
            json!({"text": "Launch day"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["text"], "Launch day");

    // Scheduling runs every check: the inactive account is refused and nothing changes.
    let (status, refused) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused.to_string().contains("refresh it before posting"),
        "{refused}"
    );
    let (_, unchanged) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(unchanged["status"], "draft");

    // Only the X account: scheduled now, published by the next round, once.
    let (status, _) = rig
        .patch(&format!("/api/v1/posts/{id}"), json!({"accounts": [x]}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, scheduled) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{scheduled}");
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(
        scheduled["id"],
        id.as_str(),
        "the draft itself is scheduled"
    );
    rig.round().await;
    let (_, published) = rig.get(&format!("/api/v1/posts/{id}")).await;
    assert_eq!(published["targets"][0]["state"], "published", "{published}");
    let (status, again) = rig
        .post(&format!("/api/v1/posts/{id}/publish"), json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");

    // Duplicated: a new draft with the same text and accounts.
    let (status, copy) = rig
        .post_bare(&format!("/api/v1/posts/{id}/duplicate"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{copy}");
    assert_eq!(copy["status"], "draft");
    assert_eq!(copy["text"], "Launch day");
    assert_eq!(copy["draft_accounts"], json!([x.to_string()]));
    assert_ne!(copy["id"], published["id"]);

    // A draft deleted is gone; a wrong status is refused.
    let copy_id = copy["id"].as_str().unwrap();
    let (status, _) = rig.delete(&format!("/api/v1/posts/{copy_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = rig.get(&format!("/api/v1/posts/{copy_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, problem) = rig
        .create_post(json!({"text": "x", "accounts": [x], "status": "someday"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
}

#[tokio::test]
async fn each_account_publishes_its_own_version_of_a_post() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Variant X").await;
    let linkedin = rig.connect(Platform::Linkedin, "Variant Li").await;

    // A version that names an account the post does not go to, or neither a network nor an account, is
    // refused; so is a version too long for its network, by that network's count.
    for (variants, field) in [
        (
            json!([{"account": uuid::Uuid::now_v7(), "text": "Lost"}]),
            "variants[0]",
        ),
        (json!([{"text": "Nowhere"}]), "variants[0]"),
        (
            json!([{"platform": "x", "text": "Linked", "link": "ftp://example.com"}]),
            "variants[0].link",
        ),
        (
            json!([{"platform": "x", "text": "日".repeat(141)}]),
            "accounts[0]",
        ),
    ] {
        let (status, problem) = rig
            .create_post(json!({"text": "Base", "accounts": [x, linkedin], "variants": variants}))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }

    let (status, post) = rig
        .create_post(json!({
            "text": "The long version of our spring announcement, with every detail for the professionals.",
            "accounts": [x, linkedin],
            "variants": [
                {"platform": "x", "text": "Spring is here 🌱", "link": "https://example.com/x"},
                {"account": linkedin, "text": "Spring announcement, for LinkedIn"},
            ],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["variants"].as_array().unwrap().len(), 2);
    rig.round().await;
    let (_, done) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    let states: Vec<&str> = done["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["published", "published"], "{done}");
    assert_eq!(
        rig.posted_texts(Platform::X).await,
        ["Spring is here 🌱 https://example.com/x"],
        "X's own text with its own link"
    );
    assert_eq!(
        rig.posted_texts(Platform::Linkedin).await,
        ["Spring announcement, for LinkedIn"]
    );
}

/// How many requests the platform's sandbox took on paths ending in `suffix`.
async fn requests_ending(rig: &crate::lifecycle::Rig, platform: Platform, suffix: &str) -> u64 {
    rig.sandbox_state(platform).await["requests"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with(suffix))
        .map(|(_, n)| n.as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn each_network_publishes_its_own_media_within_its_limits() {
    let rig = rig().await;
    let page = rig.connect(Platform::Facebook, "Media Page").await;
    let instagram = rig.connect(Platform::Instagram, "Media Insta").await;
    let x = rig.connect(Platform::X, "Media X").await;
    let image =
        |n: u32| json!({"url": format!("https://cdn.example.com/{n}.jpg"), "kind": "image"});
    let video =
        |n: u32| json!({"url": format!("https://cdn.example.com/{n}.mp4"), "kind": "video"});

    // Each network's limits, named with the account, before anything is scheduled: a carousel of 12 for
    // Instagram, two videos for the Page, and the post's image for X, which takes no media yet.
    let (status, problem) = rig
        .create_post(json!({
            "text": "Spring",
            "accounts": [page, instagram, x],
            "media": [video(1), video(2)],
            "variants": [
                {"platform": "instagram", "text": "Spring", "media": (1..=12).map(image).collect::<Vec<_>>()},
                {"platform": "x", "text": "Spring", "media": [image(1), image(2), image(3), image(4), {"url": "ftp://cdn.example.com/a.jpg", "kind": "image"}]},
            ],
        }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let messages: Vec<(&str, &str)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert!(
        messages.contains(&(
            "variants[1].media[4].url",
            "must be an http(s) URL the platform can fetch"
        )),
        "{messages:?}"
    );
    for expected in [
        "Media Page: Facebook takes at most 1 video in one post (this post has 2)",
        "Media Insta: Instagram takes at most 10 images or videos in one post (this post has 12)",
        "Media X: X takes at most 4 images or videos in one post (this post has 5)",
    ] {
        assert!(
            messages.iter().any(|(_, m)| *m == expected),
            "{expected}: {messages:?}"
        );
    }
    assert!(rig
        .get("/api/v1/posts")
        .await
        .1
        .as_array()
        .unwrap()
        .is_empty());

    // The Page gets the post's image, Instagram a carousel of three, X its text without media.
    let (status, post) = rig
        .create_post(json!({
            "text": "Spring",
            "accounts": [page, instagram, x],
            "media": [image(1)],
            "variants": [
                {"platform": "instagram", "text": "Spring #carousel", "media": [image(2), image(3), video(4)]},
                {"account": x, "text": "Spring on X", "media": []},
            ],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(post["variants"][1]["media"], json!([]), "{post}");
    rig.round().await;
    let (_, done) = rig
        .get(&format!("/api/v1/posts/{}", post["id"].as_str().unwrap()))
        .await;
    let states: Vec<&str> = done["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["published"; 3], "{done}");
    assert_eq!(
        requests_ending(&rig, Platform::Facebook, "/photos").await,
        1,
        "one photo for the Page"
    );
    assert_eq!(
        requests_ending(&rig, Platform::Instagram, "/media").await,
        4,
        "three carousel items and the carousel"
    );
    assert_eq!(rig.posted_texts(Platform::X).await, ["Spring on X"]);
}

#[tokio::test]
async fn a_scheduled_posts_versions_are_edited_until_it_publishes() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Edit X").await;
    let linkedin = rig.connect(Platform::Linkedin, "Edit Li").await;
    let later = (rig.clock_now() + chrono::Duration::hours(2)).to_rfc3339();
    let (status, post) = rig
        .create_post(json!({
            "text": "The long version for everyone",
            "accounts": [x, linkedin],
            "publish_at": later,
            "variants": [{"platform": "x", "text": "Short, for X"}],
        }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    let path = format!("/api/v1/posts/{}", post["id"].as_str().unwrap());

    // A version for an account the post does not go to, or too long for its network, is refused and
    // the post keeps its versions.
    for variants in [
        json!([{"account": uuid::Uuid::now_v7(), "text": "Lost"}]),
        json!([{"platform": "x", "text": "日".repeat(141)}]),
    ] {
        let (status, problem) = rig.patch(&path, json!({"variants": variants})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    let (_, kept) = rig.get(&path).await;
    assert_eq!(
        kept["variants"],
        json!([{"platform": "x", "text": "Short, for X"}])
    );

    // X's version removed, LinkedIn's account given one: each publishes what the edit says.
    let (status, edited) = rig
        .patch(
            &path,
            json!({"variants": [{"account": linkedin, "text": "Edited, for LinkedIn"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        edited["variants"],
        json!([{"account": linkedin.to_string(), "text": "Edited, for LinkedIn"}])
    );
    rig.clock.advance(chrono::Duration::hours(3));
    rig.round().await;
    assert_eq!(
        rig.posted_texts(Platform::X).await,
        ["The long version for everyone"]
    );
    assert_eq!(
        rig.posted_texts(Platform::Linkedin).await,
        ["Edited, for LinkedIn"]
    );
    let (status, _) = rig.patch(&path, json!({"variants": []})).await;
    assert_eq!(status, StatusCode::CONFLICT, "published: no more edits");
}
