//! Alerts, webhooks and their deliveries.

use super::StoredCredential;
use chrono::{DateTime, Utc};
use iquivity_domain::{named_enum, AccountId, WorkspaceId};

/// Something a person should know about an account, once per incident.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub account_id: Option<AccountId>,
    pub kind: iquivity_domain::AlertKind,
    pub dedupe_key: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct WebhookRecord {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub url: String,
    pub secret: StoredCredential,
    pub created_at: DateTime<Utc>,
    /// The event types it takes; none means every type, those added later included.
    pub events: Option<Vec<iquivity_domain::AlertKind>>,
    /// The secret before the last rotation, which still signs deliveries until its `until`.
    pub previous_secret: Option<PreviousSecret>,
    /// Since the first failed attempt after its last successful one.
    pub failing_since: Option<DateTime<Utc>>,
    /// Set while disabled: no deliveries are queued or sent until it is enabled again.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl WebhookRecord {
    /// Whether deliveries of alerts of this kind are queued for it.
    pub fn takes(&self, kind: iquivity_domain::AlertKind) -> bool {
        self.disabled_at.is_none() && self.events.as_ref().is_none_or(|e| e.contains(&kind))
    }

    /// The previous secret while it still signs deliveries.
    pub fn previous_secret_at(&self, now: DateTime<Utc>) -> Option<&StoredCredential> {
        self.previous_secret
            .as_ref()
            .filter(|p| p.until > now)
            .map(|p| &p.secret)
    }
}

#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub secret: StoredCredential,
    pub until: DateTime<Utc>,
}

/// A change to a webhook's settings; what is `None` stays as it is.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// `Some(None)`: every event type.
    pub events: Option<Option<Vec<iquivity_domain::AlertKind>>>,
    /// Enabling clears the failure streak; disabling stamps `disabled_at` with `now`.
    pub enabled: Option<bool>,
    pub now: DateTime<Utc>,
}

/// What a delivery attempt told about a webhook's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookHealth {
    Succeeded,
    /// Failed; the webhook is disabled when it has been failing since `disable_if_failing_since` or before.
    Failed {
        disable_if_failing_since: DateTime<Utc>,
    },
}

named_enum! {
    pub enum DeliveryState {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
}

named_enum! {
    /// Why the last attempt of a delivery failed. Only the class is kept: error text would tell whoever reads
    /// the log which hosts and ports around the service exist.
    pub enum FailureClass {
        /// The destination is not allowed (an internal address, a port or scheme not allowed).
        RefusedDestination = "refused_destination",
        ConnectionFailed = "connection_failed",
        Timeout = "timeout",
        /// The endpoint answered with a redirect (its status in `last_status`), which is not followed.
        Redirect = "redirect",
        /// The endpoint answered with another non-2xx status (in `last_status`).
        HttpStatus = "http_status",
    }
}

/// One attempt history of sending one alert to one webhook.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    pub id: uuid::Uuid,
    pub webhook_id: uuid::Uuid,
    pub alert_id: uuid::Uuid,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if one got that far.
    pub last_status: Option<u16>,
    /// Why the last attempt failed; none once delivered.
    pub failure_class: Option<FailureClass>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub struct DeliveryAttempt {
    pub state: DeliveryState,
    pub status: Option<u16>,
    pub failure: Option<FailureClass>,
    pub next_attempt_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// Where a page of the alert history ends: the next page starts after this alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertPosition {
    pub created_at: DateTime<Utc>,
    pub id: uuid::Uuid,
}
