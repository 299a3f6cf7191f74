//! Posts, their targets, versions, threads and media, and posting queues.

use chrono::{DateTime, Utc};
use iquivity_domain::{named_enum, AccountId, Platform, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};

named_enum! {
    pub enum TargetState {
        Scheduled = "scheduled",
        Publishing = "publishing",
        Published = "published",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaRecord {
    pub url: String,
    /// `image` or `video`.
    pub kind: String,
}

/// A post written once for several accounts.
#[derive(Debug, Clone)]
pub struct PostRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub author_id: Option<UserId>,
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<MediaRecord>,
    pub privacy_level: Option<String>,
    pub publish_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<TargetRecord>,
    /// For a draft, the accounts it is meant for: a draft has no targets, so the engine never takes it
    /// and it reserves nothing. `None` for a post that was scheduled.
    pub draft_accounts: Option<Vec<AccountId>>,
    /// Its own text for one network or one account.
    pub variants: Vec<PostVariant>,
    /// Added as a comment under the post once it is published, where the platform takes comments.
    pub first_comment: Option<String>,
    /// On a platform that takes threads (X): the parts after the post itself, published in order as
    /// replies.
    pub thread: Vec<ThreadPart>,
}

/// One part of a thread after its first: its text and its own media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadPart {
    pub text: String,
    #[serde(default)]
    pub media: Vec<MediaRecord>,
}

/// How far one target's thread went: the ids of the parts published after the post itself, in order, and
/// why it stopped when it did (a retry continues from the next part).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadProgress {
    pub published: Vec<String>,
    pub error: Option<String>,
}

/// A post's text for one network (every account of that platform) or one account, instead of the post's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostVariant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountId>,
    pub text: String,
    /// Its own link, instead of the post's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Its own media, instead of the post's; an empty list publishes no media there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MediaRecord>>,
}

impl PostRecord {
    /// The version that applies to an account: its own, else its platform's.
    pub fn variant_for(&self, account: AccountId, platform: Platform) -> Option<&PostVariant> {
        self.variants
            .iter()
            .find(|v| v.account == Some(account))
            .or_else(|| self.variants.iter().find(|v| v.platform == Some(platform)))
    }

    /// The text published to an account: its version's, else the post's.
    pub fn text_for(&self, account: AccountId, platform: Platform) -> &str {
        self.variant_for(account, platform)
            .map_or(self.text.as_str(), |v| v.text.as_str())
    }

    /// The media published to an account: its version's, else the post's.
    pub fn media_for(&self, account: AccountId, platform: Platform) -> &[MediaRecord] {
        self.variant_for(account, platform)
            .and_then(|v| v.media.as_deref())
            .unwrap_or(&self.media)
    }

    /// The link published to an account: its version's, else the post's.
    pub fn link_for(&self, account: AccountId, platform: Platform) -> Option<&str> {
        self.variant_for(account, platform)
            .and_then(|v| v.link.as_deref())
            .or(self.link.as_deref())
    }
}

/// Whose posting times: an account's own, or a client's, which every account of the client without times
/// of its own takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOwner {
    Account(AccountId),
    Client(iquivity_domain::ClientId),
}

/// Posting times in their own time zone: "Add to queue" schedules at the next free one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRecord {
    pub owner: QueueOwner,
    pub workspace_id: WorkspaceId,
    /// An IANA name (`Europe/Berlin`).
    pub time_zone: String,
    pub slots: Vec<QueueSlot>,
    pub updated_at: DateTime<Utc>,
}

/// Some days of the week at one time of day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSlot {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, 24 hours.
    pub time: String,
}

/// A target as the calendar shows it: with its post's text and publishing time.
#[derive(Debug, Clone)]
pub struct CalendarTarget {
    pub post_id: uuid::Uuid,
    pub text: String,
    pub publish_at: DateTime<Utc>,
    pub target: TargetRecord,
}

/// The post on one account, and how that went.
#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: uuid::Uuid,
    pub post_id: uuid::Uuid,
    pub account_id: AccountId,
    pub platform: Platform,
    pub state: TargetState,
    /// How many times its request was sent to the platform.
    pub attempts: u32,
    pub platform_post_id: Option<String>,
    pub url: Option<String>,
    /// The error class of a failure (`token_expired`, `rejected`, ...).
    pub error_class: Option<String>,
    pub error_message: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// While `publishing`: when the request to the platform went out; empty while the target still waits
    /// for a free slot on its platform (nothing was sent yet).
    pub sending_at: Option<DateTime<Utc>>,
    pub run_at: DateTime<Utc>,
    /// When the published post was deleted on its platform through the service.
    pub deleted_at: Option<DateTime<Utc>>,
    /// How the post's first comment went here; `None` until it was tried (or without one).
    pub comment: Option<CommentResult>,
    /// How far the post's thread went here.
    pub thread: ThreadProgress,
}

/// The first comment under one target's published post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentResult {
    /// Its id on the platform.
    Published { comment_id: String },
    /// Why the platform did not take it; it can be tried again without posting again.
    Failed { message: String },
}

impl TargetRecord {
    /// The platform's id of what the target published; `None` until it is published.
    pub fn published_id(&self) -> Option<&str> {
        match self.state {
            TargetState::Published => self.platform_post_id.as_deref(),
            _ => None,
        }
    }

    /// A new target of `post` on the account, waiting for `run_at`, never tried.
    pub fn scheduled(
        post_id: uuid::Uuid,
        account_id: AccountId,
        platform: Platform,
        run_at: DateTime<Utc>,
    ) -> TargetRecord {
        TargetRecord {
            id: uuid::Uuid::now_v7(),
            post_id,
            account_id,
            platform,
            state: TargetState::Scheduled,
            attempts: 0,
            platform_post_id: None,
            url: None,
            error_class: None,
            error_message: None,
            published_at: None,
            sending_at: None,
            run_at,
            deleted_at: None,
            comment: None,
            thread: ThreadProgress::default(),
        }
    }
}

/// A scheduled post rewritten: its text, link and time, and optionally the targets it should have.
pub struct PostRewrite<'a> {
    pub text: &'a str,
    pub link: Option<&'a str>,
    pub publish_at: DateTime<Utc>,
    /// The post's targets from now on, one per account: a target already on the post for one of these
    /// accounts stays as it is (moved to the new time while scheduled), targets on other accounts are
    /// removed, and the rest are added. `None` keeps the targets.
    pub targets: Option<&'a [TargetRecord]>,
    /// Its versions for networks or accounts from now on.
    pub variants: &'a [PostVariant],
    pub first_comment: Option<&'a str>,
}

/// How one publishing attempt ended.
#[derive(Debug, Clone)]
pub enum TargetOutcome {
    Published {
        platform_post_id: String,
        url: Option<String>,
    },
    Failed {
        class: String,
        message: String,
    },
    /// Back to scheduled, for another attempt at `at`.
    Retry {
        at: DateTime<Utc>,
        message: String,
    },
}
