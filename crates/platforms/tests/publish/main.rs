//! Publishing with each adapter against the sandbox, with tokens obtained the way the service obtains
//! them: the adapter's authorize URL, the sandbox's consent page, the adapter's code exchange and targets.

use iquivity_domain::{AccountKind, Platform};
use iquivity_platforms::{
    descriptor, pkce, ErrorClass, Media, MediaFile, MediaKind, PlatformAdapter, PlatformError,
    PlatformSettings, Platforms, PostContent, Published, Target,
};
use iquivity_sandbox::{consent, Consent, Sandbox, SandboxApp, SandboxOptions};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

mod linkedin;
mod meta;
mod tiktok;
mod x;

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
        let verifier = descriptor(platform).consent.pkce.then(pkce::new_verifier);
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
            .publish(target.acting_as(), post)
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
    /// A list the sandbox of `platform` keeps about itself (`/_sandbox/<what>`).
    async fn sandbox_list(&self, platform: Platform, what: &str) -> Vec<Value> {
        let url = format!("{}/_sandbox/{what}", self.base(platform));
        let answer: Value = http().get(url).send().await.unwrap().json().await.unwrap();
        answer.as_array().unwrap().clone()
    }

    /// The sandbox's LinkedIn videos: their parts, status and post.
    async fn linkedin_videos(&self) -> Vec<Value> {
        self.sandbox_list(Platform::Linkedin, "videos").await
    }

    /// The sandbox's X uploads: what each became and where it went.
    async fn uploads(&self) -> Vec<Value> {
        self.sandbox_list(Platform::X, "media").await
    }
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
                target.acting_as(),
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
        .comment(tiktok.acting_as(), "1", "hi")
        .await
        .unwrap_err();
    assert!(error.message.contains("does not take comments"), "{error}");
}

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
            .delete_post(target.acting_as(), &published.platform_post_id)
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
            .delete_post(target.acting_as(), "123")
            .await
            .unwrap_err();
        assert_eq!(error.class, ErrorClass::Rejected, "{error}");
        assert!(
            error.message.contains("does not let apps delete posts"),
            "{error}"
        );
    }
}
