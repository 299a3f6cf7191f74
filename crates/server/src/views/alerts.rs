//! Notifications and webhook deliveries as the API shows them.

use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, WorkspaceId};
use iquivity_store::{AlertRecord, DeliveryRecord, DeliveryState, FailureClass};
use serde::Serialize;

/// Something a person should know about an account, once per incident.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AlertRecord)]
pub struct AlertView {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub account_id: Option<AccountId>,
    /// The event type: `account.connected`, `account.status_changed`, `account.recovered`, `account.expiring`,
    /// `account.removed`, `account.posts_at_risk`, `account.removal_requested` or `webhook.disabled`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<AlertRecord> for AlertView {
    fn from(a: AlertRecord) -> Self {
        AlertView {
            id: a.id,
            workspace_id: a.workspace_id,
            account_id: a.account_id,
            kind: a.kind.as_str().to_string(),
            payload: a.payload,
            created_at: a.created_at,
            read_at: a.read_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct NotificationsView {
    pub unread: usize,
    pub items: Vec<AlertView>,
}

impl From<Vec<AlertRecord>> for NotificationsView {
    fn from(alerts: Vec<AlertRecord>) -> Self {
        NotificationsView {
            unread: alerts.iter().filter(|a| a.read_at.is_none()).count(),
            items: alerts.into_iter().map(AlertView::from).collect(),
        }
    }
}

/// One attempt history of sending one alert to one webhook.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = DeliveryRecord)]
pub struct DeliveryView {
    pub id: uuid::Uuid,
    pub webhook_id: uuid::Uuid,
    pub alert_id: uuid::Uuid,
    pub state: DeliveryStateView,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the last attempt, if one got that far.
    pub last_status: Option<u16>,
    /// Why the last attempt failed; none once delivered.
    pub failure_class: Option<FailureClassView>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            alert_id: d.alert_id,
            state: d.state.into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            failure_class: d.failure_class.map(FailureClassView::from),
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = DeliveryState)]
pub enum DeliveryStateView {
    Pending,
    Delivered,
    Failed,
}

impl From<DeliveryState> for DeliveryStateView {
    fn from(s: DeliveryState) -> Self {
        match s {
            DeliveryState::Pending => DeliveryStateView::Pending,
            DeliveryState::Delivered => DeliveryStateView::Delivered,
            DeliveryState::Failed => DeliveryStateView::Failed,
        }
    }
}

/// Why the last attempt of a delivery failed. Only the class is kept: error text would tell whoever reads
/// the log which hosts and ports around the service exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FailureClass)]
pub enum FailureClassView {
    /// The destination is not allowed (an internal address, a port or scheme not allowed).
    RefusedDestination,
    ConnectionFailed,
    Timeout,
    /// The endpoint answered with a redirect (its status in `last_status`), which is not followed.
    Redirect,
    /// The endpoint answered with another non-2xx status (in `last_status`).
    HttpStatus,
}

impl From<FailureClass> for FailureClassView {
    fn from(c: FailureClass) -> Self {
        match c {
            FailureClass::RefusedDestination => FailureClassView::RefusedDestination,
            FailureClass::ConnectionFailed => FailureClassView::ConnectionFailed,
            FailureClass::Timeout => FailureClassView::Timeout,
            FailureClass::Redirect => FailureClassView::Redirect,
            FailureClass::HttpStatus => FailureClassView::HttpStatus,
        }
    }
}
