//! The account history and activity log as the API shows them.

use chrono::{DateTime, Utc};
use iquivity_domain::{AccountId, UserId, WorkspaceId};
use iquivity_store::{AuditEventRecord, AuditKind};
use serde::Serialize;

/// What happened to an account, who did it and when. `details` never holds a secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEventRecord)]
pub struct AuditEventView {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub account_id: Option<AccountId>,
    pub actor_id: Option<UserId>,
    pub kind: AuditKindView,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub at: DateTime<Utc>,
}

impl From<AuditEventRecord> for AuditEventView {
    fn from(e: AuditEventRecord) -> Self {
        AuditEventView {
            id: e.id,
            workspace_id: e.workspace_id,
            account_id: e.account_id,
            actor_id: e.actor_id,
            kind: e.kind.into(),
            details: e.details,
            at: e.at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditKind)]
pub enum AuditKindView {
    Connected,
    Reconnected,
    Refreshed,
    StatusChanged,
    LabelsChanged,
    Renamed,
    ClientChanged,
    Removed,
}

impl From<AuditKind> for AuditKindView {
    fn from(k: AuditKind) -> Self {
        match k {
            AuditKind::Connected => AuditKindView::Connected,
            AuditKind::Reconnected => AuditKindView::Reconnected,
            AuditKind::Refreshed => AuditKindView::Refreshed,
            AuditKind::StatusChanged => AuditKindView::StatusChanged,
            AuditKind::LabelsChanged => AuditKindView::LabelsChanged,
            AuditKind::Renamed => AuditKindView::Renamed,
            AuditKind::ClientChanged => AuditKindView::ClientChanged,
            AuditKind::Removed => AuditKindView::Removed,
        }
    }
}
