//! The social platforms, each behind [`PlatformAdapter`]: authorization URL, code exchange, connectable
//! targets, renewal, identity, revocation, and a classification of every failure ([`ErrorClass`]).
//! Adapters speak real HTTP; only the base URLs differ between the real platform and the sandbox.
//! Everything else that is true of a platform is in its [`PlatformDescriptor`], declared next to its
//! adapter and found through [`descriptor`].

mod descriptor;
mod error;
mod facebook;
mod http;
mod instagram;
mod linkedin;
mod meta;
mod oauth;
pub mod pkce;
mod settings;
pub mod telemetry;
mod text_count;
mod tiktok;
mod x;

pub use descriptor::{
    ContentRules, DemoAccount, Endpoints, FileFacts, Icon, MediaLimits, MediaRule, NotPublishable,
    PlatformDescriptor, PublishWindow, RenewalClock, RenewalPolicy,
};
pub use error::{Delivery, ErrorClass, PlatformError};
pub use settings::{PlatformSettings, SETTING_KEYS};
pub use text_count::{hashtags, TextCounting};

use async_trait::async_trait;
use iquivity_domain::{Account, AccountKind, Platform, TokenSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a completed consent gives: the user-level tokens and the scopes actually granted.
#[derive(Debug, Clone)]
pub struct Grant {
    pub tokens: TokenSet,
    pub scopes: Vec<String>,
}

/// The account a call acts as: its kind, its id on the platform and the tokens that prove it. Every call
/// made for a connected account takes these three together.
#[derive(Debug, Clone, Copy)]
pub struct ActingAs<'a> {
    pub kind: AccountKind,
    pub id: &'a str,
    pub tokens: &'a TokenSet,
}

impl<'a> ActingAs<'a> {
    /// A connected account, with its current tokens.
    pub fn account(account: &'a Account, tokens: &'a TokenSet) -> Self {
        ActingAs {
            kind: account.kind,
            id: &account.platform_account_id,
            tokens,
        }
    }
}

/// Something the grant can connect: a profile, a Page, an Instagram account, an organisation.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: AccountKind,
    pub platform_account_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    /// The tokens that act as this target (a Page token for a Page).
    pub tokens: TokenSet,
    /// Whether posts can be published to it (Facebook personal profiles cannot, since 2018).
    pub publishable: bool,
    /// Why it cannot be connected, and how to fix that; `None` when it can.
    pub unavailable: Option<String>,
}

impl Target {
    /// Calls made for this target act as it, with its tokens.
    pub fn acting_as(&self) -> ActingAs<'_> {
        ActingAs {
            kind: self.kind,
            id: &self.platform_account_id,
            tokens: &self.tokens,
        }
    }

    /// A target that can be connected and published to, as `face` shows it.
    pub(crate) fn publishable(
        kind: AccountKind,
        platform_account_id: String,
        face: Identity,
        tokens: TokenSet,
    ) -> Self {
        Target {
            kind,
            platform_account_id,
            display_name: face.display_name,
            handle: face.handle,
            avatar_url: face.avatar_url,
            tokens,
            publishable: true,
            unavailable: None,
        }
    }
}

/// An account's current face on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    /// The scopes granted now, where the platform can tell.
    pub scopes: Option<Vec<String>>,
    /// Followers, where the platform reports them (not LinkedIn, not Facebook profiles).
    pub followers: Option<u64>,
}

/// Renewed credentials, and the scopes granted where the renewal reports them.
#[derive(Debug, Clone)]
pub struct Renewal {
    pub tokens: TokenSet,
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
}

/// A picture or a video on a public URL. Platforms that fetch media themselves take the URL; those that
/// take uploads (their descriptor's `content.takes_files`) get the file, which the service reads itself
/// within its destination rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub url: String,
    pub kind: MediaKind,
    pub file: Option<MediaFile>,
}

impl Media {
    /// The file an upload sends, as the `n`-th media of a post on `platform`; without it nothing can be
    /// uploaded, and nothing is published.
    pub(crate) fn file_to_upload(
        &self,
        platform: &'static str,
        n: usize,
    ) -> Result<&MediaFile, PlatformError> {
        self.file.as_ref().ok_or_else(|| {
            PlatformError::new(
                platform,
                ErrorClass::Rejected,
                format!("media {n}: the service could not read the file to upload"),
            )
        })
    }
}

/// A media file's bytes and type, as the service read them.
#[derive(Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub content_type: String,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl std::fmt::Debug for MediaFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaFile")
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// What to publish to one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostContent {
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<Media>,
    /// TikTok only: one of the creator's privacy_level_options.
    pub privacy_level: Option<String>,
}

impl PostContent {
    /// The text with the link after it, for platforms that have no field for a link: dropping it would
    /// silently lose part of the post.
    pub(crate) fn text_with_link(&self) -> String {
        match &self.link {
            Some(link) if self.text.trim().is_empty() => link.clone(),
            Some(link) => format!("{} {link}", self.text.trim_end()),
            None => self.text.clone(),
        }
    }

    pub(crate) fn images(&self) -> impl Iterator<Item = &Media> {
        self.media.iter().filter(|m| m.kind == MediaKind::Image)
    }

    pub(crate) fn videos(&self) -> impl Iterator<Item = &Media> {
        self.media.iter().filter(|m| m.kind == MediaKind::Video)
    }
}

/// A post as the platform published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub platform_post_id: String,
    pub url: Option<String>,
}

/// What the platform says about a post whose publishing answer was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostLookup {
    /// The account has this post: it was published.
    Found(Published),
    /// The account has no such post since the attempt began: it was never made.
    NotFound,
    /// This platform's API offers no way to tell.
    Unsupported,
}

impl From<Option<Published>> for PostLookup {
    /// What a look through the account's posts came to: the post, or that it was never made.
    fn from(found: Option<Published>) -> Self {
        found.map_or(PostLookup::NotFound, PostLookup::Found)
    }
}

/// A platform's token endpoints: where a consent's code becomes tokens, where they are renewed without the
/// person and where the app's access is withdrawn. One implementation serves a family of platforms
/// (`OAuthApp` those that follow RFC 6749, Meta's `Graph` Facebook and Instagram); an adapter overrides
/// its own methods only where one platform does more.
#[async_trait]
pub trait TokenEndpoints: Send + Sync {
    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<Grant, PlatformError>;

    /// Renews what `tokens` can renew; `None` when they hold nothing to renew with.
    async fn renew(&self, tokens: &TokenSet) -> Result<Option<Renewal>, PlatformError>;

    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError>;
}

/// The app the operator registered with a platform: its settings (id, secret, endpoints) and its token
/// endpoints.
pub trait RegisteredApp: TokenEndpoints {
    fn settings(&self) -> &PlatformSettings;
}

/// One platform's API.
#[async_trait]
pub trait PlatformAdapter: Send + Sync {
    fn platform(&self) -> Platform;

    /// The app registered with the platform, whose token endpoints `exchange_code`, `renew` and `revoke`
    /// use unless the adapter overrides them.
    fn app(&self) -> &dyn RegisteredApp;

    fn settings(&self) -> &PlatformSettings {
        self.app().settings()
    }

    /// The scopes without which the account cannot be used (the product's required permissions).
    fn required_scopes(&self) -> Vec<&'static str> {
        descriptor(self.platform()).required_scopes()
    }

    /// The platform's consent address for one flow, as its descriptor's [`descriptor::Consent`] says.
    fn authorize_url(
        &self,
        state: &str,
        redirect_uri: &str,
        pkce_challenge: Option<&str>,
    ) -> String {
        self.settings().consent_url(
            &descriptor(self.platform()).consent,
            state,
            redirect_uri,
            pkce_challenge,
        )
    }

    async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<Grant, PlatformError> {
        self.app()
            .exchange_code(code, redirect_uri, pkce_verifier)
            .await
    }

    /// Everything the grant can connect, including what cannot be connected and why.
    async fn targets(&self, grant: &Grant) -> Result<Vec<Target>, PlatformError>;

    /// Renews the credentials of one account without the person; `None` when the platform offers no way to.
    async fn renew(&self, account: ActingAs<'_>) -> Result<Option<Renewal>, PlatformError> {
        self.app().renew(account.tokens).await
    }

    /// Reads the account as it is now; a cheap call that also proves the token works.
    async fn identity(&self, account: ActingAs<'_>) -> Result<Identity, PlatformError>;

    /// Withdraws the app's access on the platform's side.
    async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        self.app().revoke(tokens).await
    }

    /// Publishes to one account through the platform's real publishing flow.
    async fn publish(
        &self,
        account: ActingAs<'_>,
        post: &PostContent,
    ) -> Result<Published, PlatformError>;

    /// Looks for `post` among what the account published since `since`, to settle an attempt whose answer
    /// was lost (the instance making it died, or the connection broke after sending). Only a platform that
    /// can list an account's posts answers other than `Unsupported`.
    async fn find_post(
        &self,
        _account: ActingAs<'_>,
        _post: &PostContent,
        _since: chrono::DateTime<chrono::Utc>,
    ) -> Result<PostLookup, PlatformError> {
        Ok(PostLookup::Unsupported)
    }

    /// Adds `text` as a comment under a post the account published (on X, a reply); the comment's id.
    /// Only a platform whose descriptor says `first_comment` implements it.
    async fn comment(
        &self,
        _account: ActingAs<'_>,
        _platform_post_id: &str,
        _text: &str,
    ) -> Result<String, PlatformError> {
        Err(PlatformError::new(
            self.platform().as_str(),
            ErrorClass::Rejected,
            format!(
                "{} does not take comments from apps",
                self.platform().display_name()
            ),
        ))
    }

    /// Publishes `post` as a reply to `in_reply_to` (the next part of a thread). Only a platform whose
    /// descriptor says `threads` implements it.
    async fn reply(
        &self,
        _account: ActingAs<'_>,
        _in_reply_to: &str,
        _post: &PostContent,
    ) -> Result<Published, PlatformError> {
        Err(PlatformError::new(
            self.platform().as_str(),
            ErrorClass::Rejected,
            format!("{} takes no threads", self.platform().display_name()),
        ))
    }

    /// Deletes a post the account published. Only a platform whose descriptor says `deletes_posts`
    /// implements it.
    async fn delete_post(
        &self,
        _account: ActingAs<'_>,
        _platform_post_id: &str,
    ) -> Result<(), PlatformError> {
        Err(PlatformError::new(
            self.platform().as_str(),
            ErrorClass::Rejected,
            format!(
                "{} does not let apps delete posts",
                self.platform().display_name()
            ),
        ))
    }
}

/// The adapters the service runs with, one per platform.
#[derive(Clone, Default)]
pub struct Platforms {
    adapters: BTreeMap<Platform, Arc<dyn PlatformAdapter>>,
}

impl Platforms {
    /// How long a platform call may take before it counts as unavailable.
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

    pub fn new(
        settings: BTreeMap<Platform, PlatformSettings>,
        timeout: std::time::Duration,
    ) -> Self {
        let client = http::client(timeout);
        let adapters = settings
            .into_iter()
            .map(|(platform, settings)| {
                (
                    platform,
                    (descriptor(platform).adapter)(settings, client.clone()),
                )
            })
            .collect();
        Platforms { adapters }
    }

    pub fn get(&self, platform: Platform) -> Option<Arc<dyn PlatformAdapter>> {
        self.adapters.get(&platform).cloned()
    }
}

/// The registered platforms: what is true of each, declared in its adapter's module. Adding a network adds
/// its line here (the match is exhaustive, so the compiler asks for it).
pub fn descriptor(platform: Platform) -> &'static PlatformDescriptor {
    match platform {
        Platform::Facebook => &facebook::FACEBOOK,
        Platform::Instagram => &instagram::INSTAGRAM,
        Platform::X => &x::DESCRIPTOR,
        Platform::Linkedin => &linkedin::DESCRIPTOR,
        Platform::Tiktok => &tiktok::DESCRIPTOR,
    }
}

/// The scopes of `required` that `granted` lacks.
pub fn missing_scopes(required: &[&str], granted: &[String]) -> Vec<String> {
    required
        .iter()
        .filter(|r| !granted.iter().any(|g| g == *r))
        .map(|r| r.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_adapter_asks_for_every_scope_the_product_requires() {
        let settings = Platform::ALL
            .into_iter()
            .map(|p| (p, PlatformSettings::real(p)))
            .collect();
        let platforms = Platforms::new(settings, Platforms::DEFAULT_TIMEOUT);
        for platform in Platform::ALL {
            let adapter = platforms.get(platform).unwrap();
            let requested: Vec<String> = descriptor(platform)
                .consent
                .scopes
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(
                missing_scopes(&adapter.required_scopes(), &requested),
                Vec::<String>::new(),
                "{platform}"
            );
        }
    }
}
