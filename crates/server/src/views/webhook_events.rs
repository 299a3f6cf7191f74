//! The JSON a webhook is sent, for the OpenAPI document's `webhooks` section. Deliveries are built by the
//! core from each alert; these shapes describe them (the webhook tests check a delivery against them).

use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, AccountStatus, Platform, StatusReason, WorkspaceId};
use serde::Serialize;

/// An event about an account (`account.*`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountEvent {
    /// The alert's id: the same event delivered twice (after a lost answer) has the same id.
    pub id: uuid::Uuid,
    /// The event type, also in the `X-Iquivity-Event` header.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub workspace_id: WorkspaceId,
    pub data: AccountEventData,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountEventData {
    pub account: AccountSnapshot,
}

/// The account as it was when the event happened.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountSnapshot {
    pub id: AccountId,
    pub platform: Platform,
    pub display_name: String,
    pub handle: Option<String>,
    pub status: AccountStatus,
    pub status_reason: Option<StatusReason>,
    pub status_message: Option<String>,
    /// What to do about the status, in a sentence.
    pub status_advice: Option<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// The link its owner connected it through (`/api/v1/connect-links/{id}`), when it came through one.
    pub connected_via_link: Option<iquivity_domain::LinkId>,
}

/// An event about a webhook (`webhook.disabled`, and the test event `webhook.test`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookEvent {
    pub id: uuid::Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub workspace_id: WorkspaceId,
    pub data: WebhookEventData,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookEventData {
    pub webhook: WebhookSnapshot,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookSnapshot {
    pub id: uuid::Uuid,
    /// The host of its URL only: a path or query may carry the receiver's token.
    pub host: Option<String>,
}
