//! Alerts: one per incident, shown in the app and delivered to the workspace's webhooks (`webhooks.rs`),
//! signed with HMAC-SHA256 over the timestamp and the body, retried with backoff, every attempt in a delivery
//! log. Where a webhook may point is decided in [`addresses`] and enforced by the client in [`sender`].

use crate::{Caller, Core, CoreError};
use chrono::Duration;
use iquivity_domain::{Account, AccountStatus, AlertKind};
use iquivity_store::{AlertPosition, AlertRecord};

pub mod addresses;
mod emails;
mod text;
mod webhooks;

pub use emails::AlertEmailChoice;
pub use text::alert_text;

pub use webhooks::{
    sign, CreatedWebhook, RotatedSecret, TestDelivery, WebhookUpdate, WebhookView,
    DEFAULT_SECRET_OVERLAP, DISABLE_AFTER_FAILING_FOR, MAX_SECRET_OVERLAP, SIGNATURE_HEADER,
    TEST_EVENT,
};

impl Core {
    /// Records an alert about an account (once per `dedupe_key` when one is given).
    pub(crate) async fn alert(
        &self,
        account: &Account,
        kind: AlertKind,
        dedupe_key: Option<String>,
    ) -> Result<(), CoreError> {
        let advice = account.status_reason.map(|r| r.advice());
        let alert = AlertRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: account.workspace_id,
            account_id: Some(account.id),
            kind,
            dedupe_key,
            payload: serde_json::json!({
                "account": {
                    "id": account.id,
                    "platform": account.platform,
                    "display_name": account.display_name,
                    "handle": account.handle,
                    "status": account.status,
                    "status_reason": account.status_reason,
                    "status_message": account.status_message,
                    "status_advice": advice,
                    "token_expires_at": account.token_expires_at,
                    "connected_via_link": account.connected_via_link,
                }
            }),
            created_at: self.clock.now(),
            read_at: None,
        };
        if self.store.record_alert(&alert).await? {
            tracing::info!(account_id = %account.id, %kind, "alert");
            self.email_alert(&alert).await?;
        }
        Ok(())
    }

    /// The newest alerts; with `before`, the page after that alert.
    pub async fn alerts(
        &self,
        caller: &Caller,
        before: Option<AlertPosition>,
        limit: u32,
    ) -> Result<Vec<AlertRecord>, CoreError> {
        Ok(self
            .store
            .alerts(caller.workspace_id, before, limit)
            .await?)
    }

    pub async fn unread_alerts(&self, caller: &Caller) -> Result<u32, CoreError> {
        Ok(self.store.unread_alerts(caller.workspace_id).await?)
    }

    pub async fn mark_alerts_read(&self, caller: &Caller) -> Result<(), CoreError> {
        Ok(self
            .store
            .mark_alerts_read(caller.workspace_id, self.clock.now())
            .await?)
    }

    /// Alerts once per account and expiry date for tokens that will expire within 7 days with no way to
    /// renew them without the person (the account stays Active meanwhile).
    pub(crate) async fn alert_expiring(&self) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let mut alerted = 0;
        for account in self
            .store
            .accounts_expiring_unrenewable(now + Duration::days(7), 200)
            .await?
        {
            if account.status != AccountStatus::Active {
                continue;
            }
            let key = account
                .token_expires_at
                .map(|at| format!("expiring:{}:{}", account.id, at.timestamp()));
            self.alert(&account, AlertKind::Expiring, key).await?;
            alerted += 1;
        }
        Ok(alerted)
    }

    /// Alerts once per account and problem when posts are scheduled, within a day, to an account that is not
    /// Active: they will fail unless someone refreshes it first.
    pub(crate) async fn alert_posts_at_risk(&self) -> Result<(), CoreError> {
        let now = self.clock.now();
        for (account, at_risk) in self
            .store
            .accounts_with_posts_at_risk(now + Duration::hours(24), 200)
            .await?
        {
            let key = format!(
                "posts_at_risk:{}:{}",
                account.id,
                account.status_since.timestamp_micros()
            );
            tracing::info!(account_id = %account.id, at_risk, "scheduled posts at risk");
            self.alert(&account, AlertKind::PostsAtRisk, Some(key))
                .await?;
        }
        Ok(())
    }
}
