//! The JSON shapes the API answers with. Credentials have no field here: they cannot leak through a response.
//! Storage records never go out as they are: each answer is a view built from them here, so the JSON is
//! defined in one place and a change of storage cannot change it unnoticed.

mod alerts;
mod connections;
mod events;
mod links;
mod posts;
mod webhook_events;

pub use alerts::{DeliveryView, NotificationsView};
pub use connections::ConnectionView;
pub use events::AuditEventView;
pub use links::{CreatedLinkView, LinkUseView, LinkView};
pub use posts::{MediaView, PostView, RemovalImpactView, ThreadPartView, VariantView};
pub use webhook_events::{
    AccountEvent, AccountEventData, AccountSnapshot, WebhookEvent, WebhookEventData,
    WebhookSnapshot,
};

use chrono::{DateTime, Utc};
use iquivity_core::Caller;
use iquivity_domain::{
    Account, AccountId, AccountKind, AccountStatus, ClientId, Platform, Role, StatusReason, UserId,
    WorkspaceId,
};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountView {
    pub id: AccountId,
    pub platform: Platform,
    pub kind: AccountKind,
    pub platform_account_id: String,
    /// The team's override when set, else the platform's name.
    pub display_name: String,
    pub platform_display_name: String,
    pub display_name_override: Option<String>,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub status: AccountStatus,
    pub status_reason: Option<StatusReason>,
    pub status_message: Option<String>,
    /// The troubleshooting advice for the current status.
    pub status_advice: Option<&'static str>,
    pub status_since: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub labels: Vec<String>,
    /// The client it belongs to (`GET /api/v1/clients`), if any.
    pub client_id: Option<ClientId>,
    /// When the account was connected.
    pub created_at: DateTime<Utc>,
    pub connected_by: Option<UserId>,
    /// The link its owner connected it through (`/api/v1/connect-links`), when it came through one.
    pub connected_via_link: Option<iquivity_domain::LinkId>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// Connected through the local sandbox, not the real platform.
    pub sandbox: bool,
    /// Whether posts can be published to it (Facebook personal profiles cannot).
    pub publishable: bool,
    /// When the service will next renew the credentials; `null` when only the person can.
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// Followers as the last health check read them, where the platform reports them.
    pub followers: Option<u64>,
    /// Active, but the token ends within 7 days and cannot be renewed without the person: refresh it.
    pub expiring_soon: bool,
}

impl From<Account> for AccountView {
    fn from(a: Account) -> Self {
        let publishable = iquivity_platforms::descriptor(a.platform).publishes_to(a.kind);
        let expiring_soon = a.expiring_soon(Utc::now());
        AccountView {
            id: a.id,
            platform: a.platform,
            kind: a.kind,
            platform_account_id: a.platform_account_id,
            display_name: a.display_name,
            platform_display_name: a.platform_display_name,
            display_name_override: a.display_name_override,
            handle: a.handle,
            avatar_url: a.avatar_url,
            status: a.status,
            status_message: a
                .status_message
                .or_else(|| a.status_reason.map(|r| r.default_message().to_string())),
            status_advice: a.status_reason.map(StatusReason::advice),
            status_reason: a.status_reason,
            status_since: a.status_since,
            scopes: a.scopes,
            labels: a.labels.to_strings(),
            client_id: a.client_id,
            created_at: a.created_at,
            connected_by: a.connected_by,
            connected_via_link: a.connected_via_link,
            token_expires_at: a.token_expires_at,
            last_refreshed_at: a.last_refreshed_at,
            last_checked_at: a.last_checked_at,
            last_used_at: a.last_used_at,
            sandbox: a.sandbox,
            publishable,
            next_refresh_at: a.next_refresh_at,
            followers: a.followers,
            expiring_soon,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccountPageView {
    pub items: Vec<AccountView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub user_id: UserId,
    pub email: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub expires_at: Option<DateTime<Utc>>,
}

impl SessionView {
    pub fn new(caller: &Caller, expires_at: Option<DateTime<Utc>>) -> Self {
        SessionView {
            user_id: caller.user_id,
            email: caller.email.clone(),
            workspace_id: caller.workspace_id,
            role: caller.role,
            expires_at,
        }
    }
}
