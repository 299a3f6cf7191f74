//! Posts as the API shows them. Built from the store's records so that a change of storage never changes
//! the JSON by accident; the schema names are the ones the API has always published.

use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, Platform, UserId, WorkspaceId};
use iquivity_store::{
    CommentResult, MediaRecord, PostRecord, PostVariant, TargetRecord, TargetState, ThreadPart,
};
use serde::{Deserialize, Serialize};

// An image or video of a post, by public URL: in a request and in an answer. (No doc comment: it would
// become the schema's description, which the API document never had.)
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = MediaRecord)]
pub struct MediaView {
    pub url: String,
    /// `image` or `video`.
    pub kind: String,
}

impl From<MediaRecord> for MediaView {
    fn from(m: MediaRecord) -> Self {
        MediaView {
            url: m.url,
            kind: m.kind,
        }
    }
}

impl From<MediaView> for MediaRecord {
    fn from(m: MediaView) -> Self {
        MediaRecord {
            url: m.url,
            kind: m.kind,
        }
    }
}

/// A post written once for several accounts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PostRecord)]
pub struct PostView {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub author_id: Option<UserId>,
    pub text: String,
    pub link: Option<String>,
    pub media: Vec<MediaView>,
    pub privacy_level: Option<String>,
    pub publish_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub targets: Vec<TargetView>,
    /// `draft` (saved, not scheduled: no targets, nothing reserved) or `scheduled` (it has its targets).
    #[schema(value_type = String)]
    pub status: &'static str,
    /// A draft's accounts; empty for a scheduled post (see `targets`).
    pub draft_accounts: Vec<AccountId>,
    /// Its own text for some networks or accounts.
    pub variants: Vec<VariantView>,
    /// Added as a comment under the post once it is published, where the platform takes comments.
    pub first_comment: Option<String>,
    /// On X: the parts after the post, published in order as replies.
    pub thread: Vec<ThreadPartView>,
}

/// One part of a thread after the post: its text and its own media.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThreadPartView {
    pub text: String,
    #[serde(default)]
    pub media: Vec<MediaView>,
}

impl From<ThreadPart> for ThreadPartView {
    fn from(p: ThreadPart) -> Self {
        ThreadPartView {
            text: p.text,
            media: p.media.into_iter().map(MediaView::from).collect(),
        }
    }
}

impl From<ThreadPartView> for ThreadPart {
    fn from(p: ThreadPartView) -> Self {
        ThreadPart {
            text: p.text,
            media: p.media.into_iter().map(MediaRecord::from).collect(),
        }
    }
}

/// How far a target's thread went: the ids of the parts out after the post, and why it stopped.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreadView {
    pub published_ids: Vec<String>,
    pub error: Option<String>,
}

/// A post's text, and optionally its link and media, for one network (`platform`) or one account
/// (`account`), instead of the post's own.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub account: Option<AccountId>,
    pub text: String,
    /// Its own link, instead of the post's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// Its own images or videos, instead of the post's; `[]` publishes none there. Absent: the post's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MediaView>>,
}

impl From<PostVariant> for VariantView {
    fn from(v: PostVariant) -> Self {
        VariantView {
            platform: v.platform,
            account: v.account,
            text: v.text,
            link: v.link,
            media: v
                .media
                .map(|media| media.into_iter().map(MediaView::from).collect()),
        }
    }
}

impl From<VariantView> for PostVariant {
    fn from(v: VariantView) -> Self {
        PostVariant {
            platform: v.platform,
            account: v.account,
            text: v.text,
            link: v.link,
            media: v
                .media
                .map(|media| media.into_iter().map(MediaRecord::from).collect()),
        }
    }
}

impl From<PostRecord> for PostView {
    fn from(p: PostRecord) -> Self {
        PostView {
            id: p.id,
            workspace_id: p.workspace_id,
            author_id: p.author_id,
            text: p.text,
            link: p.link,
            media: p.media.into_iter().map(MediaView::from).collect(),
            privacy_level: p.privacy_level,
            publish_at: p.publish_at,
            created_at: p.created_at,
            targets: p.targets.into_iter().map(TargetView::from).collect(),
            status: if p.draft_accounts.is_some() {
                "draft"
            } else {
                "scheduled"
            },
            draft_accounts: p.draft_accounts.unwrap_or_default(),
            variants: p.variants.into_iter().map(VariantView::from).collect(),
            first_comment: p.first_comment,
            thread: p.thread.into_iter().map(ThreadPartView::from).collect(),
        }
    }
}

/// The post on one account, and how that went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = TargetRecord)]
pub struct TargetView {
    pub id: uuid::Uuid,
    pub post_id: uuid::Uuid,
    pub account_id: AccountId,
    pub platform: Platform,
    pub state: TargetStateView,
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
    /// When it is due: the post's time, or (added to a queue) its account's own posting time.
    pub run_at: DateTime<Utc>,
    /// When the published post was deleted on its platform through the service.
    pub deleted_at: Option<DateTime<Utc>>,
    /// How the post's first comment went here; `null` until it was tried (or without one).
    pub comment: Option<CommentView>,
    /// How far the post's thread went here.
    pub thread: ThreadView,
}

/// A target's first comment: `published` with its id on the platform, or `failed` with why (retried
/// alone with `POST …/comment/retry`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    /// `published` or `failed`.
    #[schema(value_type = String)]
    pub state: &'static str,
    pub comment_id: Option<String>,
    pub error_message: Option<String>,
}

impl From<CommentResult> for CommentView {
    fn from(c: CommentResult) -> Self {
        match c {
            CommentResult::Published { comment_id } => CommentView {
                state: "published",
                comment_id: Some(comment_id),
                error_message: None,
            },
            CommentResult::Failed { message } => CommentView {
                state: "failed",
                comment_id: None,
                error_message: Some(message),
            },
        }
    }
}

impl From<TargetRecord> for TargetView {
    fn from(t: TargetRecord) -> Self {
        TargetView {
            id: t.id,
            post_id: t.post_id,
            account_id: t.account_id,
            platform: t.platform,
            state: t.state.into(),
            attempts: t.attempts,
            platform_post_id: t.platform_post_id,
            url: t.url,
            error_class: t.error_class,
            error_message: t.error_message,
            published_at: t.published_at,
            sending_at: t.sending_at,
            run_at: t.run_at,
            deleted_at: t.deleted_at,
            comment: t.comment.map(CommentView::from),
            thread: ThreadView {
                published_ids: t.thread.published,
                error: t.thread.error,
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = TargetState)]
pub enum TargetStateView {
    Scheduled,
    Publishing,
    Published,
    Failed,
    Cancelled,
}

impl From<TargetState> for TargetStateView {
    fn from(s: TargetState) -> Self {
        match s {
            TargetState::Scheduled => TargetStateView::Scheduled,
            TargetState::Publishing => TargetStateView::Publishing,
            TargetState::Published => TargetStateView::Published,
            TargetState::Failed => TargetStateView::Failed,
            TargetState::Cancelled => TargetStateView::Cancelled,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RemovalImpactView {
    /// How many scheduled posts removing the account would cancel on it.
    pub scheduled: usize,
    pub posts: Vec<PostView>,
}

impl From<Vec<PostRecord>> for RemovalImpactView {
    fn from(posts: Vec<PostRecord>) -> Self {
        RemovalImpactView {
            scheduled: posts.len(),
            posts: posts.into_iter().map(PostView::from).collect(),
        }
    }
}
