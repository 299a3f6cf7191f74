//! A connection in progress as the API shows it.

use chrono::{DateTime, Utc};
use iquivity_core::connections::{Candidate, ConnectionView as Connection};
use iquivity_domain::{AccountId, Platform};
use iquivity_store::FlowStage;
use serde::Serialize;

/// A flow as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConnectionView {
    pub id: uuid::Uuid,
    pub platform: Platform,
    pub stage: FlowStageView,
    /// What went wrong, in words a person can act on (stage `failed`).
    pub error: Option<String>,
    pub candidates: Vec<Candidate>,
    pub connected: Vec<AccountId>,
    pub expires_at: DateTime<Utc>,
}

impl From<Connection> for ConnectionView {
    fn from(c: Connection) -> Self {
        ConnectionView {
            id: c.id,
            platform: c.platform,
            stage: c.stage.into(),
            error: c.error,
            candidates: c.candidates,
            connected: c.connected,
            expires_at: c.expires_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FlowStage)]
pub enum FlowStageView {
    /// Waiting for the platform to send the user back.
    Authorizing,
    /// Consent given; the user chooses which Pages / organisations to connect.
    Selecting,
    Done,
    Failed,
}

impl From<FlowStage> for FlowStageView {
    fn from(s: FlowStage) -> Self {
        match s {
            FlowStage::Authorizing => FlowStageView::Authorizing,
            FlowStage::Selecting => FlowStageView::Selecting,
            FlowStage::Done => FlowStageView::Done,
            FlowStage::Failed => FlowStageView::Failed,
        }
    }
}
