//! Publishing with each adapter against the sandbox, with tokens obtained the way the service obtains
//! them: the adapter's authorize URL, the sandbox's consent page, the adapter's code exchange and targets.

use iquivity_domain::{AccountKind, Platform};
use iquivity_platforms::{
    pkce, ErrorClass, Media, MediaFile, MediaKind, PlatformAdapter, PlatformError,
    PlatformSettings, Platforms, PostContent, Published, Target,
};
use iquivity_sandbox::{consent, Consent, Sandbox, SandboxApp, SandboxOptions};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

/// The platform user who consents; the sandbox seeds their Pages, Instagram accounts and organisations.
const PERSON: &str = "Ann Lee";

fn redirect_uri(platform: Platform) -> String {
    format!("https://app.example/oauth/{platform}/callback")
}

/// One client for the control API, without idle connections so that the tests' runtimes can share it.
fn http() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        })
        .clone()
}

/// The sandbox for all five platforms and the adapters pointed at it, as the service wires them.
struct Harness {
    sandbox: Sandbox,
    platforms: Platforms,
}

async fn harness() -> Harness {
    let apps = Platform::ALL
        .into_iter()
        .map(|p| {
            let app = SandboxApp {
                client_id: format!("test-{p}"),
                client_secret: format!("test-secret-{p}"),
                redirect_uris: vec![redirect_uri(p)],
            };
            (p, app)
        })
        .collect();
    let sandbox = Sandbox::start(apps, SandboxOptions::default())
        .await
        .unwrap();
    let settings = Platform::ALL
        .into_iter()
        .map(|p| {
            let origin = sandbox.base_url(p).unwrap();
            let settings = PlatformSettings::sandboxed(
                p,
                &format!("test-{p}"),
                &format!("test-secret-{p}"),
                &origin,
            );
            (p, settings)
        })
        .collect();
    Harness {
        sandbox,
        platforms: Platforms::new(settings, Platforms::DEFAULT_TIMEOUT),
    }
}

impl Harness {
    fn adapter(&self, platform: Platform) -> Arc<dyn PlatformAdapter> {
        self.platforms.get(platform).unwrap()
    }

    fn base(&self, platform: Platform) -> String {
        self.sandbox.base_url(platform).unwrap()
    }

    /// Consent, code exchange and targets, exactly as the connection flow runs them.
    async fn targets(&self, platform: Platform) -> Vec<Target> {
        let adapter = self.adapter(platform);
        let verifier = adapter.uses_pkce().then(pkce::new_verifier);
        let challenge = verifier
            .as_ref()
            .map(|v| pkce::challenge(v.expose_secret()));
        let authorize =
            adapter.authorize_url("test-state", &redirect_uri(platform), challenge.as_deref());
        let choice = Consent {
            user: Some(PERSON.into()),
            ..Consent::default()
        };
        let back = consent(&authorize, &choice).await.unwrap();
        let code = url::Url::parse(&back)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no code in {back}"));
        let grant = adapter
            .exchange_code(
                &code,
                &redirect_uri(platform),
                verifier.as_ref().map(|v| v.expose_secret()),
            )
            .await
            .unwrap();
        adapter.targets(&grant).await.unwrap()
    }

    /// The first connectable target of that kind.
    async fn target(&self, platform: Platform, kind: AccountKind) -> Target {
        self.targets(platform)
            .await
            .into_iter()
            .find(|t| t.kind == kind && t.unavailable.is_none())
            .unwrap_or_else(|| panic!("no {kind:?} target on {platform}"))
    }

    async fn publish(
        &self,
        platform: Platform,
        target: &Target,
        post: &PostContent,
    ) -> Result<Published, PlatformError> {
        self.adapter(platform)
            .publish(
                target.kind,
                &target.platform_account_id,
                &target.tokens,
                post,
            )
            .await
    }

    async fn state(&self, platform: Platform) -> Value {
        http()
            .get(format!("{}/_sandbox/state", self.base(platform)))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn posts(&self, platform: Platform) -> Vec<Value> {
        self.state(platform).await["posts"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Requests per path that reached the platform's API (the control API is not counted).
    async fn requests(&self, platform: Platform) -> Value {
        self.state(platform).await["requests"].clone()
    }

    async fn control(&self, platform: Platform, path: &str, body: Value) {
        let response = http()
            .post(format!("{}/_sandbox{path}", self.base(platform)))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}");
    }

    /// The platform's id of the person (a Meta user id, not a Page's).
    async fn person_id(&self, platform: Platform) -> String {
        let seed: Value = http()
            .get(format!(
                "{}/_sandbox/users/by-name/{PERSON}",
                self.base(platform)
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        seed["id"].as_str().unwrap().to_string()
    }
}

fn text(text: &str) -> PostContent {
    PostContent {
        text: text.into(),
        ..PostContent::default()
    }
}

fn with_media(text: &str, media: &[(MediaKind, &str)]) -> PostContent {
    PostContent {
        text: text.into(),
        media: media
            .iter()
            .map(|(kind, url)| Media {
                url: url.to_string(),
                kind: *kind,
                file: None,
            })
            .collect(),
        ..PostContent::default()
    }
}

fn assert_rejected(result: Result<Published, PlatformError>, needle: &str) {
    let error = result.unwrap_err();
    assert_eq!(error.class, ErrorClass::Rejected, "{error}");
    assert!(error.message.contains(needle), "{error}");
}

// -------------------------------------------------------------------------------------------------------
// What each platform publishes

#[tokio::test]
async fn facebook_pages_get_text_link_photo_and_video_posts() {
    let h = harness().await;
    let page = h.target(Platform::Facebook, AccountKind::Page).await;
    let page_id = page.platform_account_id.as_str();

    let mut linked = text("Launch day");
    linked.link = Some("https://example.com/launch".into());
    let published = h.publish(Platform::Facebook, &page, &linked).await.unwrap();
    assert!(published
        .platform_post_id
        .starts_with(&format!("{page_id}_")));
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://www.facebook.com/{}", published.platform_post_id).as_str())
    );

    let photo = with_media(
        "Two photos",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Image, "https://example.com/2.jpg"),
        ],
    );
    let photo_post = h.publish(Platform::Facebook, &page, &photo).await.unwrap();
    let video = with_media(
        "A clip",
        &[(MediaKind::Video, "https://example.com/clip.mp4")],
    );
    let video_post = h.publish(Platform::Facebook, &page, &video).await.unwrap();

    let posts = h.posts(Platform::Facebook).await;
    assert_eq!(
        posts.len(),
        3,
        "unpublished photos are not posts: {posts:?}"
    );
    let expected = [
        (&published.platform_post_id, "Launch day"),
        (&photo_post.platform_post_id, "Two photos"),
        (&video_post.platform_post_id, "A clip"),
    ];
    for (post, (id, text)) in posts.iter().zip(expected) {
        assert_eq!(post["id"], id.as_str());
        assert_eq!(post["author"], page_id);
        assert_eq!(post["text"], text);
    }
    let requests = h.requests(Platform::Facebook).await;
    assert_eq!(requests[format!("/v24.0/{page_id}/photos")], 2);
    assert_eq!(requests[format!("/v24.0/{page_id}/feed")], 2);
    assert_eq!(requests[format!("/v24.0/{page_id}/videos")], 1);
}

#[tokio::test]
async fn instagram_publishes_images_reels_and_carousels_through_containers() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    let ig = account.platform_account_id.as_str();

    let mut image = with_media(
        "A cat",
        &[(MediaKind::Image, "https://example.com/cat.jpg")],
    );
    image.link = Some("https://example.com/cats".into());
    let first = h
        .publish(Platform::Instagram, &account, &image)
        .await
        .unwrap();
    assert!(first
        .url
        .as_deref()
        .unwrap()
        .starts_with("https://www.instagram.com/p/"));
    let reel = with_media("A reel", &[(MediaKind::Video, "https://example.com/r.mp4")]);
    let second = h
        .publish(Platform::Instagram, &account, &reel)
        .await
        .unwrap();
    let carousel = with_media(
        "A carousel",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Video, "https://example.com/2.mp4"),
        ],
    );
    let third = h
        .publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap();

    let posts = h.posts(Platform::Instagram).await;
    let expected = [
        (&first.platform_post_id, "A cat https://example.com/cats"),
        (&second.platform_post_id, "A reel"),
        (&third.platform_post_id, "A carousel"),
    ];
    assert_eq!(posts.len(), 3, "{posts:?}");
    for (post, (id, text)) in posts.iter().zip(expected) {
        assert_eq!(post["id"], id.as_str());
        assert_eq!(post["author"], ig);
        assert_eq!(post["text"], text);
    }
}

#[tokio::test]
async fn an_instagram_post_whose_permalink_cannot_be_read_is_still_published() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    // The sandbox's media ids start with 1791 (containers with 1790): only the permalink read fails.
    h.control(
        Platform::Instagram,
        "/faults",
        json!({"mode": "server_error", "count": 1, "path_prefix": "/v24.0/1791"}),
    )
    .await;
    let image = with_media(
        "A cat",
        &[(MediaKind::Image, "https://example.com/cat.jpg")],
    );
    let published = h
        .publish(Platform::Instagram, &account, &image)
        .await
        .unwrap();
    assert_eq!(published.url, None);
    let posts = h.posts(Platform::Instagram).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
}

#[tokio::test]
async fn x_posts_text_with_the_link_appended() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let mut post = text("Read this");
    post.link = Some("https://example.com/a".into());
    let published = h.publish(Platform::X, &profile, &post).await.unwrap();
    assert_eq!(
        published.url.as_deref(),
        Some(format!("https://x.com/i/web/status/{}", published.platform_post_id).as_str())
    );
    let posts = h.posts(Platform::X).await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
    assert_eq!(posts[0]["author"], profile.platform_account_id.as_str());
    assert_eq!(posts[0]["text"], "Read this https://example.com/a");
}

/// A post to X carrying files, as the service reads them before calling the adapter.
fn with_files(text: &str, files: &[(MediaKind, &str, usize)]) -> PostContent {
    PostContent {
        text: text.into(),
        media: files
            .iter()
            .enumerate()
            .map(|(i, (kind, content_type, size))| Media {
                url: format!("https://cdn.example.com/{i}"),
                kind: *kind,
                file: Some(MediaFile {
                    content_type: content_type.to_string(),
                    bytes: Arc::new(vec![i as u8; *size]),
                }),
            })
            .collect(),
        ..PostContent::default()
    }
}

impl Harness {
    /// The sandbox's LinkedIn videos: their parts, status and post.
    async fn linkedin_videos(&self) -> Vec<Value> {
        http()
            .get(format!("{}/_sandbox/videos", self.base(Platform::Linkedin)))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }

    /// The sandbox's X uploads: what each became and where it went.
    async fn uploads(&self) -> Vec<Value> {
        http()
            .get(format!("{}/_sandbox/media", self.base(Platform::X)))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

#[tokio::test]
async fn x_uploads_images_and_a_video_in_segments_and_attaches_them() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let images = with_files(
        "Two pictures",
        &[
            (MediaKind::Image, "image/jpeg", 300_000),
            (MediaKind::Image, "image/png", 1_000),
        ],
    );
    let published = h.publish(Platform::X, &profile, &images).await.unwrap();
    let uploads = h.uploads().await;
    assert_eq!(uploads.len(), 2, "{uploads:?}");
    for upload in &uploads {
        assert_eq!(upload["attached_to"], published.platform_post_id.as_str());
        assert_eq!(upload["category"], "tweet_image");
    }

    // A 9 MB video goes in three segments, then X processes it before the post may attach it.
    let video = with_files(
        "A video",
        &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)],
    );
    let before = h.requests(Platform::X).await;
    let published = h.publish(Platform::X, &profile, &video).await.unwrap();
    let after = h.requests(Platform::X).await;
    let appended: u64 = after
        .as_object()
        .unwrap()
        .iter()
        .filter(|(path, _)| path.ends_with("/append"))
        .map(|(path, n)| n.as_u64().unwrap() - before[path.as_str()].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(appended, 3, "4 MiB segments");
    let status_looks = after["/2/media/upload"].as_u64().unwrap_or(0);
    assert!(status_looks >= 2, "processing was polled: {after}");
    let video_upload = h
        .uploads()
        .await
        .into_iter()
        .find(|u| u["category"] == "tweet_video")
        .unwrap();
    assert_eq!(
        video_upload["attached_to"],
        published.platform_post_id.as_str()
    );
    assert_eq!(video_upload["received"], 9 * 1024 * 1024);
    assert_eq!(h.posts(Platform::X).await.len(), 2);
}

#[tokio::test]
async fn an_x_upload_failing_at_any_step_publishes_nothing_and_names_the_step() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let video = |text: &str| with_files(text, &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)]);

    // A segment refused.
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"refuse_segment": 1}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Refused segment"))
        .await
        .unwrap_err();
    assert!(
        error.message.contains("media 1, append (segment 1)"),
        "{error}"
    );
    assert!(
        !error.may_have_taken_effect(),
        "nothing can have been published"
    );

    // Processing that fails, and processing that never ends within the limit.
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"processing": "fails"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Failed processing"))
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Rejected, "{error}");
    assert!(error.message.contains("X could not process it"), "{error}");
    h.control(
        Platform::X,
        "/media-behaviour",
        json!({"processing": "stalls"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Stalled processing"))
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Unavailable, "{error}");
    assert!(error.message.contains("still processing"), "{error}");
    assert!(!error.may_have_taken_effect());
    assert!(h.posts(Platform::X).await.is_empty(), "no half-made post");

    // A rate limit between the upload and the post: nothing published; tried again, one post.
    h.control(Platform::X, "/media-behaviour", json!({})).await;
    h.control(
        Platform::X,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/2/tweets"}),
    )
    .await;
    let post = video("Limited between the steps");
    let error = h.publish(Platform::X, &profile, &post).await.unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(h.posts(Platform::X).await.is_empty());
    h.publish(Platform::X, &profile, &post).await.unwrap();
    assert_eq!(h.posts(Platform::X).await.len(), 1);

    // A rate limit on a step of the upload itself is said as such, naming the step.
    h.control(
        Platform::X,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/2/media/upload/initialize"}),
    )
    .await;
    let error = h
        .publish(Platform::X, &profile, &video("Limited at the start"))
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(error.message.contains("media 1, initialize"), "{error}");
    assert_eq!(h.posts(Platform::X).await.len(), 1);
}

#[tokio::test]
async fn linkedin_uploads_images_for_the_member_and_an_organisation_and_shows_them() {
    let h = harness().await;
    let member = h.target(Platform::Linkedin, AccountKind::Profile).await;
    let organisation = h
        .target(Platform::Linkedin, AccountKind::Organization)
        .await;
    let one = with_files("One picture", &[(MediaKind::Image, "image/jpeg", 50_000)]);
    let mut three = with_files(
        "Three pictures",
        &[
            (MediaKind::Image, "image/png", 1_000),
            (MediaKind::Image, "image/png", 2_000),
            (MediaKind::Image, "image/jpeg", 3_000),
        ],
    );
    three.link = Some("https://example.com/gallery".into());
    let first = h.publish(Platform::Linkedin, &member, &one).await.unwrap();
    let second = h
        .publish(Platform::Linkedin, &organisation, &three)
        .await
        .unwrap();
    let images: Vec<Value> = http()
        .get(format!("{}/_sandbox/images", h.base(Platform::Linkedin)))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(images.len(), 4, "{images:?}");
    let shown_in = |post: &str| images.iter().filter(|i| i["posted_in"] == post).count();
    assert_eq!(shown_in(&first.platform_post_id), 1);
    assert_eq!(shown_in(&second.platform_post_id), 3);
    assert!(images
        .iter()
        .filter(|i| i["posted_in"] == second.platform_post_id.as_str())
        .all(|i| i["owner"]
            .as_str()
            .unwrap()
            .starts_with("urn:li:organization:")));
    let posts = h.posts(Platform::Linkedin).await;
    assert!(
        posts
            .iter()
            .any(|p| p["text"] == "Three pictures https://example.com/gallery"),
        "with images, the link goes into the text: {posts:?}"
    );

    // A failed upload names its step and publishes nothing.
    h.control(
        Platform::Linkedin,
        "/faults",
        json!({"mode": "server_error", "count": 1, "path_prefix": "/dms-uploads/"}),
    )
    .await;
    let error = h
        .publish(Platform::Linkedin, &member, &one)
        .await
        .unwrap_err();
    assert!(error.message.contains("media 1, upload"), "{error}");
    assert!(!error.may_have_taken_effect());
    assert_eq!(h.posts(Platform::Linkedin).await.len(), 2);
}

#[tokio::test]
async fn an_x_thread_goes_on_as_replies_each_with_its_own_media() {
    let h = harness().await;
    let profile = h.target(Platform::X, AccountKind::Profile).await;
    let root = h
        .publish(Platform::X, &profile, &text("1/3 Our spring"))
        .await
        .unwrap();
    let adapter = h.adapter(Platform::X);
    let second = adapter
        .reply(
            AccountKind::Profile,
            &profile.platform_account_id,
            &profile.tokens,
            &root.platform_post_id,
            &text("2/3 The colours"),
        )
        .await
        .unwrap();
    let third = adapter
        .reply(
            AccountKind::Profile,
            &profile.platform_account_id,
            &profile.tokens,
            &second.platform_post_id,
            &with_files("3/3 The shop", &[(MediaKind::Image, "image/png", 2_000)]),
        )
        .await
        .unwrap();
    let comments = h.state(Platform::X).await["comments"].clone();
    let parents: Vec<(String, String)> = comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["on"].as_str().unwrap().to_string(),
                c["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        parents,
        [
            (root.platform_post_id.clone(), "2/3 The colours".to_string()),
            (second.platform_post_id.clone(), "3/3 The shop".to_string()),
        ]
    );
    assert!(h
        .uploads()
        .await
        .iter()
        .any(|u| u["attached_to"] == third.platform_post_id.as_str()));
    // Replying to a post that does not exist is refused.
    let error = adapter
        .reply(
            AccountKind::Profile,
            &profile.platform_account_id,
            &profile.tokens,
            "1",
            &text("lost"),
        )
        .await
        .unwrap_err();
    assert_eq!(error.class, ErrorClass::Rejected, "{error}");
}

#[tokio::test]
async fn a_first_comment_goes_under_the_post_on_facebook_instagram_linkedin_and_x() {
    let h = harness().await;
    let image = with_media(
        "Pictured",
        &[(MediaKind::Image, "https://example.com/1.jpg")],
    );
    for (platform, kind, post) in [
        (Platform::Facebook, AccountKind::Page, text("On the Page")),
        (Platform::Instagram, AccountKind::Business, image.clone()),
        (
            Platform::Linkedin,
            AccountKind::Organization,
            text("On the company page"),
        ),
        (Platform::X, AccountKind::Profile, text("On X")),
    ] {
        assert!(iquivity_platforms::descriptor(platform).first_comment);
        let target = h.target(platform, kind).await;
        let published = h.publish(platform, &target, &post).await.unwrap();
        let comment = h
            .adapter(platform)
            .comment(
                kind,
                &target.platform_account_id,
                &target.tokens,
                &published.platform_post_id,
                "#more in the comments",
            )
            .await
            .unwrap_or_else(|e| panic!("{platform}: {e}"));
        assert!(!comment.is_empty());
        let comments = h.state(platform).await["comments"].clone();
        let under: Vec<&Value> = comments
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["on"] == published.platform_post_id.as_str())
            .collect();
        assert_eq!(under.len(), 1, "{platform}: {comments}");
        assert!(
            under[0]["text"]
                .as_str()
                .unwrap()
                .contains("more in the comments"),
            "{platform}: {comments}"
        );
    }
    // TikTok takes no comments from apps.
    let tiktok = h.target(Platform::Tiktok, AccountKind::Business).await;
    let error = h
        .adapter(Platform::Tiktok)
        .comment(
            AccountKind::Business,
            &tiktok.platform_account_id,
            &tiktok.tokens,
            "1",
            "hi",
        )
        .await
        .unwrap_err();
    assert!(error.message.contains("does not take comments"), "{error}");
}

#[tokio::test]
async fn x_facebook_and_linkedin_delete_what_they_published_and_the_others_say_they_cannot() {
    let h = harness().await;
    let cases = [
        (Platform::X, AccountKind::Profile),
        (Platform::Facebook, AccountKind::Page),
        (Platform::Linkedin, AccountKind::Profile),
        (Platform::Linkedin, AccountKind::Organization),
    ];
    for (platform, kind) in cases {
        let target = h.target(platform, kind).await;
        let published = h
            .publish(
                platform,
                &target,
                &text(&format!("Short-lived on {platform} {kind:?}")),
            )
            .await
            .unwrap();
        let adapter = h.adapter(platform);
        assert!(iquivity_platforms::descriptor(platform).deletes_posts);
        adapter
            .delete_post(
                kind,
                &target.platform_account_id,
                &target.tokens,
                &published.platform_post_id,
            )
            .await
            .unwrap_or_else(|e| panic!("{platform} {kind:?}: {e}"));
        assert!(
            !h.posts(platform)
                .await
                .iter()
                .any(|p| p["id"] == published.platform_post_id.as_str()),
            "{platform} {kind:?}: the post is gone"
        );
    }
    for (platform, kind) in [
        (Platform::Instagram, AccountKind::Business),
        (Platform::Tiktok, AccountKind::Business),
    ] {
        assert!(!iquivity_platforms::descriptor(platform).deletes_posts);
        let target = h.target(platform, kind).await;
        let error = h
            .adapter(platform)
            .delete_post(kind, &target.platform_account_id, &target.tokens, "123")
            .await
            .unwrap_err();
        assert_eq!(error.class, ErrorClass::Rejected, "{error}");
        assert!(
            error.message.contains("does not let apps delete posts"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn linkedin_uploads_a_video_in_parts_and_posts_it_once_processed() {
    let h = harness().await;
    let video = |text: &str| with_files(text, &[(MediaKind::Video, "video/mp4", 9 * 1024 * 1024)]);
    for kind in [AccountKind::Profile, AccountKind::Organization] {
        let target = h.target(Platform::Linkedin, kind).await;
        let published = h
            .publish(
                Platform::Linkedin,
                &target,
                &video(&format!("A video as {kind:?}")),
            )
            .await
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        let videos = h.linkedin_videos().await;
        let posted: Vec<&Value> = videos
            .iter()
            .filter(|v| v["posted_in"] == published.platform_post_id.as_str())
            .collect();
        assert_eq!(posted.len(), 1, "{videos:?}");
        assert_eq!(posted[0]["parts"], 3, "4 MB parts");
        assert_eq!(posted[0]["status"], "AVAILABLE");
    }

    // Failures mid-flow: nothing published, the step named, never a half-made post.
    let member = h.target(Platform::Linkedin, AccountKind::Profile).await;
    let before = h.posts(Platform::Linkedin).await.len();
    for (behaviour, says, class_rejected) in [
        (json!({"refuse_part": 1}), "media 1, upload (part 1)", true),
        (
            json!({"processing": "fails"}),
            "LinkedIn could not process it",
            true,
        ),
        (json!({"processing": "stalls"}), "still processing", false),
    ] {
        h.control(Platform::Linkedin, "/video-behaviour", behaviour.clone())
            .await;
        let error = h
            .publish(
                Platform::Linkedin,
                &member,
                &video(&format!("Failing {behaviour}")),
            )
            .await
            .unwrap_err();
        assert!(error.message.contains(says), "{behaviour}: {error}");
        assert_eq!(
            error.class == ErrorClass::Rejected,
            class_rejected,
            "{error}"
        );
        assert!(!error.may_have_taken_effect());
        assert_eq!(
            h.posts(Platform::Linkedin).await.len(),
            before,
            "{behaviour}"
        );
    }

    // A rate limit between the upload and the post: nothing published; tried again, one post.
    h.control(Platform::Linkedin, "/video-behaviour", json!({}))
        .await;
    h.control(
        Platform::Linkedin,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/rest/posts"}),
    )
    .await;
    let post = video("Limited between the steps");
    let error = h
        .publish(Platform::Linkedin, &member, &post)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert_eq!(h.posts(Platform::Linkedin).await.len(), before);
    h.publish(Platform::Linkedin, &member, &post).await.unwrap();
    assert_eq!(h.posts(Platform::Linkedin).await.len(), before + 1);
}

#[tokio::test]
async fn linkedin_posts_as_the_member_and_as_an_organisation() {
    let h = harness().await;
    let targets = h.targets(Platform::Linkedin).await;
    let member = targets
        .iter()
        .find(|t| t.kind == AccountKind::Profile)
        .unwrap();
    let organisation = targets
        .iter()
        .find(|t| t.kind == AccountKind::Organization && t.publishable)
        .unwrap();

    let mut article = text("Hello @team #launch (v2)");
    article.link = Some("https://example.com/post".into());
    let as_member = h
        .publish(Platform::Linkedin, member, &article)
        .await
        .unwrap();
    assert!(as_member.platform_post_id.starts_with("urn:li:share:"));
    assert_eq!(
        as_member.url.as_deref(),
        Some(
            format!(
                "https://www.linkedin.com/feed/update/{}",
                as_member.platform_post_id
            )
            .as_str()
        )
    );
    let as_org = h
        .publish(Platform::Linkedin, organisation, &text("From the company"))
        .await
        .unwrap();

    let posts = h.posts(Platform::Linkedin).await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["id"], as_member.platform_post_id.as_str());
    assert_eq!(
        posts[0]["author"],
        format!("urn:li:person:{}", member.platform_account_id)
    );
    assert_eq!(posts[0]["text"], r"Hello \@team \#launch \(v2\)");
    assert_eq!(posts[1]["id"], as_org.platform_post_id.as_str());
    assert_eq!(
        posts[1]["author"],
        format!("urn:li:organization:{}", organisation.platform_account_id)
    );
}

#[tokio::test]
async fn tiktok_publishes_videos_and_photos_with_the_creators_privacy_options() {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;

    let video = with_media(
        "My video",
        &[(MediaKind::Video, "https://example.com/v.mp4")],
    );
    let published = h.publish(Platform::Tiktok, &creator, &video).await.unwrap();
    assert_eq!(
        published.url.as_deref(),
        Some(
            format!(
                "https://www.tiktok.com/@annlee/video/{}",
                published.platform_post_id
            )
            .as_str()
        )
    );
    let mut photos = with_media(
        "My photos",
        &[
            (MediaKind::Image, "https://example.com/1.jpg"),
            (MediaKind::Image, "https://example.com/2.jpg"),
        ],
    );
    photos.privacy_level = Some("SELF_ONLY".into());
    let photo_post = h
        .publish(Platform::Tiktok, &creator, &photos)
        .await
        .unwrap();
    assert!(photo_post.url.unwrap().contains("/photo/"));

    let posts = h.posts(Platform::Tiktok).await;
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["id"], published.platform_post_id.as_str());
    assert_eq!(posts[0]["author"], creator.platform_account_id.as_str());
    assert_eq!(posts[0]["text"], "My video");
    assert_eq!(posts[1]["id"], photo_post.platform_post_id.as_str());
}

// -------------------------------------------------------------------------------------------------------
// What cannot be published

#[tokio::test]
async fn what_a_platform_cannot_take_is_rejected_before_any_call() {
    let h = harness().await;
    let image = with_media("pic", &[(MediaKind::Image, "https://example.com/1.jpg")]);
    let cases = [
        (
            Platform::Facebook,
            AccountKind::Profile,
            text("hi"),
            "personal profiles",
        ),
        (
            Platform::Instagram,
            AccountKind::Business,
            text("hi"),
            "Instagram needs an image or a video",
        ),
        (
            Platform::X,
            AccountKind::Profile,
            image.clone(),
            "could not read the file to upload",
        ),
        (
            Platform::Linkedin,
            AccountKind::Profile,
            image.clone(),
            "could not read the file to upload",
        ),
        (
            Platform::Linkedin,
            AccountKind::Profile,
            with_media(
                "clips",
                &[
                    (MediaKind::Video, "https://example.com/1.mp4"),
                    (MediaKind::Video, "https://example.com/2.mp4"),
                ],
            ),
            "takes one video alone",
        ),
        (
            Platform::Tiktok,
            AccountKind::Business,
            text("hi"),
            "TikTok needs a video or photos",
        ),
    ];
    for (platform, kind, post, needle) in cases {
        let target = h.target(platform, kind).await;
        let before = h.requests(platform).await;
        assert_rejected(h.publish(platform, &target, &post).await, needle);
        assert_eq!(h.requests(platform).await, before, "{platform} was called");
        assert!(h.posts(platform).await.is_empty());
    }
}

#[tokio::test]
async fn a_tiktok_privacy_level_outside_the_creators_options_is_rejected_naming_them() {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;
    let mut video = with_media("v", &[(MediaKind::Video, "https://example.com/v.mp4")]);
    video.privacy_level = Some("FOLLOWER_OF_CREATOR".into());
    assert_rejected(
        h.publish(Platform::Tiktok, &creator, &video).await,
        "PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY",
    );
    let requests = h.requests(Platform::Tiktok).await;
    assert_eq!(requests["/v2/post/publish/creator_info/query/"], 1);
    assert!(requests.get("/v2/post/publish/video/init/").is_none());
}

#[tokio::test]
async fn instagram_and_facebook_publish_nothing_half_made_when_a_step_fails() {
    let h = harness().await;
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    let version = h
        .adapter(Platform::Instagram)
        .settings()
        .api_version
        .clone();
    // A carousel child that never finishes processing: no carousel is made, nothing is published.
    let stalled = with_media(
        "never ready",
        &[
            (MediaKind::Image, "https://cdn.example.com/1.jpg"),
            (MediaKind::Image, "https://cdn.stalled.test/2.jpg"),
        ],
    );
    let error = h
        .publish(Platform::Instagram, &account, &stalled)
        .await
        .unwrap_err();
    assert!(error.message.contains("still processing"), "{error}");
    assert!(h.posts(Platform::Instagram).await.is_empty());

    // A rate limit between the container and its publishing: nothing out; tried again, one post.
    let carousel = with_media(
        "two pictures",
        &[
            (MediaKind::Image, "https://cdn.example.com/1.jpg"),
            (MediaKind::Image, "https://cdn.example.com/2.jpg"),
        ],
    );
    h.control(
        Platform::Instagram,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": format!("/{version}/{}/media_publish", account.platform_account_id)}),
    )
    .await;
    let error = h
        .publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(h.posts(Platform::Instagram).await.is_empty());
    h.publish(Platform::Instagram, &account, &carousel)
        .await
        .unwrap();
    assert_eq!(h.posts(Platform::Instagram).await.len(), 1);

    // Facebook: photos uploaded unpublished, then the feed post rate-limited: no post until it is sent.
    let page = h.target(Platform::Facebook, AccountKind::Page).await;
    h.control(
        Platform::Facebook,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": format!("/{version}/{}/feed", page.platform_account_id)}),
    )
    .await;
    let error = h
        .publish(Platform::Facebook, &page, &carousel)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(
        h.posts(Platform::Facebook).await.is_empty(),
        "the photos alone show nothing"
    );
    h.publish(Platform::Facebook, &page, &carousel)
        .await
        .unwrap();
    assert_eq!(h.posts(Platform::Facebook).await.len(), 1);
}

#[tokio::test]
async fn tiktok_says_a_publish_it_is_still_processing_may_appear_and_a_rate_limited_start_posts_nothing(
) {
    let h = harness().await;
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;
    let mut stalled = with_media(
        "slow",
        &[(MediaKind::Video, "https://cdn.stalled.test/v.mp4")],
    );
    stalled.privacy_level = Some("PUBLIC_TO_EVERYONE".into());
    let error = h
        .publish(Platform::Tiktok, &creator, &stalled)
        .await
        .unwrap_err();
    assert!(error.message.contains("still processing"), "{error}");
    assert!(
        error.may_have_taken_effect(),
        "TikTok took it: it is looked up later, never sent again blindly"
    );
    assert!(h.posts(Platform::Tiktok).await.is_empty());

    // A rate limit between the creator's options and the publish's start: nothing started.
    let mut video = with_media(
        "clip",
        &[(MediaKind::Video, "https://cdn.example.com/v.mp4")],
    );
    video.privacy_level = Some("PUBLIC_TO_EVERYONE".into());
    h.control(
        Platform::Tiktok,
        "/faults",
        json!({"mode": "rate_limit", "count": 1, "path_prefix": "/v2/post/publish/video/init/"}),
    )
    .await;
    let error = h
        .publish(Platform::Tiktok, &creator, &video)
        .await
        .unwrap_err();
    assert!(
        matches!(error.class, ErrorClass::RateLimited { .. }),
        "{error}"
    );
    assert!(!error.may_have_taken_effect());
    assert!(h.posts(Platform::Tiktok).await.is_empty());
    h.publish(Platform::Tiktok, &creator, &video).await.unwrap();
    assert_eq!(h.posts(Platform::Tiktok).await.len(), 1);
}

#[tokio::test]
async fn media_the_platform_cannot_fetch_is_rejected() {
    let h = harness().await;
    let lost = with_media(
        "lost",
        &[(MediaKind::Video, "https://cdn.example.invalid/v.mp4")],
    );
    let account = h.target(Platform::Instagram, AccountKind::Business).await;
    assert_rejected(
        h.publish(Platform::Instagram, &account, &lost).await,
        "Instagram could not process the media",
    );
    let creator = h.target(Platform::Tiktok, AccountKind::Business).await;
    assert_rejected(
        h.publish(Platform::Tiktok, &creator, &lost).await,
        "video_pull_failed",
    );
    assert!(h.posts(Platform::Instagram).await.is_empty());
    assert!(h.posts(Platform::Tiktok).await.is_empty());
}

// -------------------------------------------------------------------------------------------------------
// Platform errors come out classified

/// A post each platform would take from its first connectable target.
async fn ready_to_post(h: &Harness, platform: Platform) -> (Target, PostContent) {
    let (kind, post) = match platform {
        Platform::Facebook => (AccountKind::Page, text("hello")),
        Platform::Instagram => (
            AccountKind::Business,
            with_media("hello", &[(MediaKind::Image, "https://example.com/1.jpg")]),
        ),
        Platform::X | Platform::Linkedin => (AccountKind::Profile, text("hello")),
        Platform::Tiktok => (
            AccountKind::Business,
            with_media("hello", &[(MediaKind::Video, "https://example.com/v.mp4")]),
        ),
    };
    (h.target(platform, kind).await, post)
}

#[tokio::test]
async fn an_expired_token_is_token_expired_on_every_platform() {
    let h = harness().await;
    for platform in Platform::ALL {
        let (target, post) = ready_to_post(&h, platform).await;
        let person = h.person_id(platform).await;
        h.control(platform, &format!("/users/{person}/expire"), json!({}))
            .await;
        let error = h.publish(platform, &target, &post).await.unwrap_err();
        assert_eq!(error.class, ErrorClass::TokenExpired, "{platform}: {error}");
        assert!(h.posts(platform).await.is_empty());
    }
}

#[tokio::test]
async fn a_rate_limit_is_rate_limited_on_every_platform() {
    let h = harness().await;
    for platform in Platform::ALL {
        let (target, post) = ready_to_post(&h, platform).await;
        h.control(
            platform,
            "/faults",
            json!({"mode": "rate_limit", "count": 1}),
        )
        .await;
        let error = h.publish(platform, &target, &post).await.unwrap_err();
        assert!(
            matches!(error.class, ErrorClass::RateLimited { .. }),
            "{platform}: {error}"
        );
        assert!(h.posts(platform).await.is_empty());
        // The limit was for one call: the same post goes through afterwards.
        h.publish(platform, &target, &post).await.unwrap();
        assert_eq!(h.posts(platform).await.len(), 1, "{platform}");
    }
}
