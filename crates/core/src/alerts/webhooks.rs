//! Webhooks: created, listed and deleted by admins, and the signed, retried delivery of alerts to them.

use crate::alerts::addresses::DestinationPolicy;
use crate::credentials::{open_bytes, seal_bytes};
use crate::secrets::new_secret;
use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use iquivity_store::{DeliveryAttempt, DeliveryRecord, DeliveryState, WebhookRecord};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

/// Attempts before a delivery is given up as failed (about a day with the backoff below).
const MAX_ATTEMPTS: u32 = 10;

/// Deliveries a round takes. They go out one after another with a 10 s timeout each, so this stays
/// small: the engine's job batch is sized for work that runs side by side.
const WEBHOOK_BATCH: u32 = 32;

pub const SIGNATURE_HEADER: &str = "X-Iquivity-Signature";

/// A webhook as the API shows it (never its secret, except once at creation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: uuid::Uuid,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

pub struct CreatedWebhook {
    pub webhook: WebhookView,
    pub secret: SecretString,
}

/// The signature of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let digest: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={timestamp},v1={digest}")
}

fn delivery_backoff(attempts: u32) -> Duration {
    Duration::minutes(match attempts {
        0 | 1 => 1,
        2 => 5,
        3 => 15,
        4 => 30,
        5 => 60,
        _ => 180,
    })
}

/// A webhook URL as it will be stored, if the destination policy allows it. Host names are judged again, by
/// the addresses they resolve to, at each delivery.
fn check_url(raw: &str, policy: &DestinationPolicy) -> Result<String, CoreError> {
    let bad = |why: String| CoreError::invalid("url", why);
    if raw.chars().count() > 2000 {
        return Err(bad("must be at most 2000 characters".into()));
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| {
        bad("must be an absolute URL like https://example.com/hooks/iquivity".into())
    })?;
    policy
        .check_url(&url)
        .map_err(|refusal| bad(refusal.to_string()))?;
    Ok(url.to_string())
}

impl Core {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        url: &str,
    ) -> Result<CreatedWebhook, CoreError> {
        caller.require_manage_accounts()?;
        let url = check_url(url, self.webhooks.policy())?;
        let id = uuid::Uuid::now_v7();
        let secret = new_secret("whsec_");
        let record = WebhookRecord {
            id,
            workspace_id: caller.workspace_id,
            url,
            secret: seal_bytes(
                &self.vault,
                &id.to_string(),
                secret.expose_secret().as_bytes(),
            )?,
            created_at: self.clock.now(),
        };
        self.store.create_webhook(&record).await?;
        Ok(CreatedWebhook {
            webhook: WebhookView {
                id,
                url: record.url,
                created_at: record.created_at,
            },
            secret,
        })
    }

    pub async fn webhooks(&self, caller: &Caller) -> Result<Vec<WebhookView>, CoreError> {
        Ok(self
            .store
            .webhooks(caller.workspace_id)
            .await?
            .into_iter()
            .map(|w| WebhookView {
                id: w.id,
                url: w.url,
                created_at: w.created_at,
            })
            .collect())
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: uuid::Uuid) -> Result<(), CoreError> {
        caller.require_manage_accounts()?;
        if self.store.delete_webhook(caller.workspace_id, id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("webhook"))
        }
    }

    pub async fn webhook_deliveries(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<Vec<DeliveryRecord>, CoreError> {
        if !self
            .store
            .webhooks(caller.workspace_id)
            .await?
            .iter()
            .any(|w| w.id == id)
        {
            return Err(CoreError::NotFound("webhook"));
        }
        Ok(self.store.deliveries(caller.workspace_id, id, 100).await?)
    }

    /// Sends due webhook deliveries as `owner`; answers how many went out successfully.
    pub(crate) async fn deliver_webhooks(&self, owner: &str) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_deliveries(
                owner,
                now,
                now + self.settings.lifecycle.lease,
                WEBHOOK_BATCH,
            )
            .await?;
        let mut delivered = 0;
        for (delivery, webhook, alert) in claimed {
            let secret = open_bytes(&self.vault, &webhook.id.to_string(), &webhook.secret)?;
            let secret = String::from_utf8_lossy(&secret).into_owned();
            let body = serde_json::json!({
                "id": alert.id,
                "type": alert.kind,
                "created_at": alert.created_at,
                "workspace_id": alert.workspace_id,
                "data": alert.payload,
            })
            .to_string();
            let timestamp = Utc::now().timestamp();
            let headers = [
                ("content-type", "application/json".to_string()),
                ("X-Iquivity-Event", alert.kind.as_str().to_string()),
                ("X-Iquivity-Delivery", delivery.id.to_string()),
                (SIGNATURE_HEADER, sign(&secret, timestamp, &body)),
            ];
            let sent = self
                .webhooks
                .post(&webhook.url, &headers, body, self.settings.webhook_timeout)
                .await;
            let now = self.clock.now();
            let (status, failure) = match sent {
                Ok(status) => (Some(status), None),
                Err(failure) => {
                    // The class only: never the URL (it may carry a token) or what its host resolved to.
                    tracing::warn!(
                        webhook_id = %webhook.id,
                        delivery_id = %delivery.id,
                        class = failure.class().as_str(),
                        status = failure.status(),
                        "webhook delivery failed"
                    );
                    (failure.status(), Some(failure.class()))
                }
            };
            let state = match failure {
                None => DeliveryState::Delivered,
                Some(_) if delivery.attempts >= MAX_ATTEMPTS => DeliveryState::Failed,
                Some(_) => DeliveryState::Pending,
            };
            if state == DeliveryState::Delivered {
                delivered += 1;
            }
            self.store
                .record_delivery_attempt(
                    delivery.id,
                    owner,
                    &DeliveryAttempt {
                        state,
                        status,
                        failure,
                        next_attempt_at: now + delivery_backoff(delivery.attempts),
                        now,
                    },
                )
                .await?;
        }
        Ok(delivered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_documented_scheme() {
        // The expected digest was computed outside this code, once, with
        // `printf '1700000000.{}' | openssl dgst -sha256 -hmac whsec_test`
        // (Python's `hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256)` agrees).
        let signature = sign("whsec_test", 1_700_000_000, "{}");
        assert_eq!(
            signature,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(sign("whsec_other", 1_700_000_000, "{}"), signature);
        assert_ne!(sign("whsec_test", 1_700_000_001, "{}"), signature);
    }

    #[test]
    fn webhook_urls_are_checked_against_the_policy() {
        let policy = DestinationPolicy::default();
        assert_eq!(
            check_url(" https://hooks.example.com/x ", &policy).unwrap(),
            "https://hooks.example.com/x"
        );
        for bad in [
            "http://127.0.0.1:9000/hook",
            "http://hooks.example.com/x",
            "ftp://example.com",
            "not a url",
            "https://10.0.0.1/",
        ] {
            let Err(CoreError::Validation(errors)) = check_url(bad, &policy) else {
                panic!("{bad} accepted");
            };
            assert_eq!(errors[0].field, "url");
        }
        let local = DestinationPolicy::new(&["127.0.0.1"], &[9000]).unwrap();
        assert!(check_url("http://127.0.0.1:9000/hook", &local).is_ok());
    }
}
