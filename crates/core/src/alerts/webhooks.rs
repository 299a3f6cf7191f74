//! Webhooks: created, listed, changed and deleted by admins, and the signed, retried delivery of alerts to
//! them. A webhook takes the event types it was given (all by default), can be sent a test event, has its
//! secret rotated with an overlap during which both secrets sign, and is disabled after failing for days.

use crate::alerts::addresses::DestinationPolicy;
use crate::credentials::{open_bytes, seal_bytes};
use crate::outbound::DeliveryFailure;
use crate::secrets::new_secret;
use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use iquivity_domain::{AlertKind, WorkspaceId};
use iquivity_store::{
    AlertRecord, Claim, DeliveryAttempt, DeliveryRecord, DeliveryState, FailureClass,
    StoredCredential, WebhookChange, WebhookHealth, WebhookRecord,
};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;

/// Attempts before a delivery is given up as failed (about a day with the backoff below).
const MAX_ATTEMPTS: u32 = 10;

/// Deliveries a round takes. They go out one after another with a 10 s timeout each, so this stays
/// small: the engine's job batch is sized for work that runs side by side.
const WEBHOOK_BATCH: u32 = 32;

/// How long a webhook may fail without a single success before it is disabled.
pub const DISABLE_AFTER_FAILING_FOR: Duration = Duration::days(3);

/// How long the replaced secret keeps signing after a rotation, unless the caller says otherwise, and the
/// longest overlap allowed.
pub const DEFAULT_SECRET_OVERLAP: Duration = Duration::hours(24);
pub const MAX_SECRET_OVERLAP: Duration = Duration::days(7);

pub const SIGNATURE_HEADER: &str = "X-Iquivity-Signature";

/// The event type of a test delivery; it is never an alert and goes to a webhook whatever its events.
pub const TEST_EVENT: &str = "webhook.test";

/// A webhook as the API shows it (never its secret, except once at creation or rotation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: uuid::Uuid,
    pub url: String,
    pub created_at: DateTime<Utc>,
    /// The event types it takes; `null` means every type, including those added later.
    pub events: Option<Vec<AlertKind>>,
    /// False while disabled (by a person, or after failing for 3 days): nothing is queued or sent to it.
    pub enabled: bool,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Since the first failed delivery after its last successful one.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until then, deliveries are signed with the previous secret too (`v1=<new>,v1=<old>`).
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
}

impl WebhookView {
    fn new(webhook: WebhookRecord, now: DateTime<Utc>) -> Self {
        WebhookView {
            previous_secret_valid_until: webhook
                .previous_secret
                .as_ref()
                .map(|p| p.until)
                .filter(|until| *until > now),
            id: webhook.id,
            url: webhook.url,
            created_at: webhook.created_at,
            events: webhook.events,
            enabled: webhook.disabled_at.is_none(),
            disabled_at: webhook.disabled_at,
            failing_since: webhook.failing_since,
        }
    }
}

pub struct CreatedWebhook {
    pub webhook: WebhookView,
    pub secret: SecretString,
}

/// A change to a webhook asked for through the API; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct WebhookUpdate {
    /// `Some(None)`: every event type. Names are checked against the known event types.
    pub events: Option<Option<Vec<String>>>,
    pub enabled: Option<bool>,
}

pub struct RotatedSecret {
    pub webhook: WebhookView,
    pub secret: SecretString,
}

/// How a test delivery went.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TestDelivery {
    /// True when the endpoint answered with a 2xx status.
    pub delivered: bool,
    /// The HTTP status it answered with, if it got that far.
    pub status: Option<u16>,
    /// Why it failed, as a class (`refused_destination`, `connection_failed`, `timeout`, `redirect`,
    /// `http_status`).
    #[schema(value_type = Option<String>)]
    pub failure_class: Option<FailureClass>,
}

/// The signature of a delivery: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, with one
/// `v1` per secret (the current one first) while a rotated secret still signs.
pub fn sign(secrets: &[&str], timestamp: i64, body: &str) -> String {
    let mut signature = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{timestamp}.{body}").as_bytes());
        signature.push_str(",v1=");
        for byte in mac.finalize().into_bytes() {
            signature.push_str(&format!("{byte:02x}"));
        }
    }
    signature
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

/// Event type names as given, checked and without repeats; `None` (every type) stays `None`.
fn check_events(events: Option<&[String]>) -> Result<Option<Vec<AlertKind>>, CoreError> {
    let Some(names) = events else {
        return Ok(None);
    };
    if names.is_empty() {
        return Err(CoreError::invalid(
            "events",
            "name at least one event type, or send null for every type",
        ));
    }
    let mut kinds = Vec::with_capacity(names.len());
    for name in names {
        let kind = AlertKind::parse(name).ok_or_else(|| {
            let known: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
            CoreError::invalid(
                "events",
                format!("{name:?} is not an event type; known: {}", known.join(", ")),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    Ok(Some(kinds))
}

/// The JSON body of every delivery.
fn event_body(
    id: uuid::Uuid,
    kind: &str,
    created_at: DateTime<Utc>,
    workspace: WorkspaceId,
    data: &serde_json::Value,
) -> String {
    serde_json::json!({
        "id": id,
        "type": kind,
        "created_at": created_at,
        "workspace_id": workspace,
        "data": data,
    })
    .to_string()
}

/// What a webhook alert says about the webhook: its id and host, never its path or query (they may carry
/// a token).
fn webhook_data(webhook: &WebhookRecord) -> serde_json::Value {
    let host = url::Url::parse(&webhook.url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_string));
    serde_json::json!({ "webhook": { "id": webhook.id, "host": host } })
}

impl Core {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        url: &str,
        events: Option<&[String]>,
    ) -> Result<CreatedWebhook, CoreError> {
        caller.require_manage_accounts()?;
        let url = check_url(url, self.webhooks.policy())?;
        let events = check_events(events)?;
        let id = uuid::Uuid::now_v7();
        let secret = new_secret("whsec_");
        let now = self.clock.now();
        let record = WebhookRecord {
            id,
            workspace_id: caller.workspace_id,
            url,
            secret: self.seal_webhook_secret(id, &secret)?,
            created_at: now,
            events,
            previous_secret: None,
            failing_since: None,
            disabled_at: None,
        };
        self.store.create_webhook(&record).await?;
        Ok(CreatedWebhook {
            webhook: WebhookView::new(record, now),
            secret,
        })
    }

    pub async fn webhooks(&self, caller: &Caller) -> Result<Vec<WebhookView>, CoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .webhooks(caller.workspace_id)
            .await?
            .into_iter()
            .map(|w| WebhookView::new(w, now))
            .collect())
    }

    async fn own_webhook(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<WebhookRecord, CoreError> {
        self.store
            .webhook(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("webhook"))
    }

    /// Changes which events a webhook takes, or enables or disables it. Enabling starts its failure count
    /// afresh; deliveries that were pending when it was disabled go out again.
    pub async fn update_webhook(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
        update: &WebhookUpdate,
    ) -> Result<WebhookView, CoreError> {
        caller.require_manage_accounts()?;
        let events = match &update.events {
            Some(events) => Some(check_events(events.as_deref())?),
            None => None,
        };
        let change = WebhookChange {
            events,
            enabled: update.enabled,
            now: self.clock.now(),
        };
        if !self
            .store
            .update_webhook(caller.workspace_id, id, &change)
            .await?
        {
            return Err(CoreError::NotFound("webhook"));
        }
        if let Some(enabled) = update.enabled {
            tracing::info!(webhook_id = %id, enabled, "webhook switched");
        }
        Ok(WebhookView::new(
            self.own_webhook(caller, id).await?,
            self.clock.now(),
        ))
    }

    /// A new secret for a webhook, shown once; the one it replaces keeps signing for `overlap_hours`
    /// (default 24), so the receiver can switch without missing a delivery.
    pub async fn rotate_webhook_secret(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
        overlap_hours: Option<i64>,
    ) -> Result<RotatedSecret, CoreError> {
        caller.require_manage_accounts()?;
        let overlap = match overlap_hours {
            None => DEFAULT_SECRET_OVERLAP,
            // Checked before it becomes a duration: any i64 can arrive, and most overflow one.
            Some(hours) if (0..=MAX_SECRET_OVERLAP.num_hours()).contains(&hours) => {
                Duration::hours(hours)
            }
            Some(_) => {
                return Err(CoreError::invalid(
                    "overlap_hours",
                    format!(
                        "must be between 0 and {} hours",
                        MAX_SECRET_OVERLAP.num_hours()
                    ),
                ))
            }
        };
        let secret = new_secret("whsec_");
        let sealed = self.seal_webhook_secret(id, &secret)?;
        let now = self.clock.now();
        if !self
            .store
            .rotate_webhook_secret(caller.workspace_id, id, &sealed, now + overlap)
            .await?
        {
            return Err(CoreError::NotFound("webhook"));
        }
        tracing::info!(webhook_id = %id, overlap_hours = overlap.num_hours(), "webhook secret rotated");
        Ok(RotatedSecret {
            webhook: WebhookView::new(self.own_webhook(caller, id).await?, now),
            secret,
        })
    }

    /// Sends a `webhook.test` event to the webhook now, signed as any delivery, whatever its events and even
    /// while it is disabled; it is not retried and does not count towards disabling it.
    pub async fn send_test_event(
        &self,
        caller: &Caller,
        id: uuid::Uuid,
    ) -> Result<TestDelivery, CoreError> {
        caller.require_manage_accounts()?;
        let webhook = self.own_webhook(caller, id).await?;
        let body = event_body(
            uuid::Uuid::now_v7(),
            TEST_EVENT,
            self.clock.now(),
            webhook.workspace_id,
            &webhook_data(&webhook),
        );
        let sent = self.send(&webhook, TEST_EVENT, None, body).await?;
        Ok(TestDelivery {
            delivered: sent.is_ok(),
            status: match sent {
                Ok(status) => Some(status),
                Err(failure) => failure.status(),
            },
            failure_class: sent.err().map(DeliveryFailure::class),
        })
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
        self.own_webhook(caller, id).await?;
        Ok(self.store.deliveries(caller.workspace_id, id, 100).await?)
    }

    fn seal_webhook_secret(
        &self,
        id: uuid::Uuid,
        secret: &SecretString,
    ) -> Result<StoredCredential, CoreError> {
        seal_bytes(
            &self.vault,
            &id.to_string(),
            secret.expose_secret().as_bytes(),
        )
    }

    /// Signs `body` with the webhook's secrets in force and posts it; the outer error is this service's own.
    async fn send(
        &self,
        webhook: &WebhookRecord,
        kind: &str,
        delivery: Option<uuid::Uuid>,
        body: String,
    ) -> Result<Result<u16, DeliveryFailure>, CoreError> {
        let open = |sealed: &StoredCredential| -> Result<String, CoreError> {
            let secret = open_bytes(&self.vault, &webhook.id.to_string(), sealed)?;
            Ok(String::from_utf8_lossy(&secret).into_owned())
        };
        let mut secrets = vec![open(&webhook.secret)?];
        if let Some(previous) = webhook.previous_secret_at(self.clock.now()) {
            secrets.push(open(previous)?);
        }
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let mut headers = vec![
            ("content-type", "application/json".to_string()),
            ("X-Iquivity-Event", kind.to_string()),
            (
                SIGNATURE_HEADER,
                sign(&secrets, Utc::now().timestamp(), &body),
            ),
        ];
        if let Some(delivery) = delivery {
            headers.push(("X-Iquivity-Delivery", delivery.to_string()));
        }
        let sent = self
            .webhooks
            .post(&webhook.url, &headers, body, self.settings.webhook_timeout)
            .await;
        if let Err(failure) = sent {
            // The class only: never the URL (it may carry a token) or what its host resolved to.
            tracing::warn!(
                webhook_id = %webhook.id,
                delivery_id = delivery.map(|d| d.to_string()),
                event = kind,
                class = failure.class().as_str(),
                status = failure.status(),
                "webhook delivery failed"
            );
        }
        Ok(sent)
    }

    /// Sends due webhook deliveries as `owner`; answers how many went out successfully.
    pub(crate) async fn deliver_webhooks(&self, owner: &str) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_deliveries(Claim::new(
                owner,
                now,
                now + self.settings.lifecycle.lease,
                WEBHOOK_BATCH,
            ))
            .await?;
        let mut delivered = 0;
        for (delivery, webhook, alert) in claimed {
            let body = event_body(
                alert.id,
                alert.kind.as_str(),
                alert.created_at,
                alert.workspace_id,
                &alert.payload,
            );
            let sent = self
                .send(&webhook, alert.kind.as_str(), Some(delivery.id), body)
                .await?;
            let now = self.clock.now();
            let (status, failure) = match sent {
                Ok(status) => (Some(status), None),
                Err(failure) => (failure.status(), Some(failure.class())),
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
            let health = match failure {
                None => WebhookHealth::Succeeded,
                Some(_) => WebhookHealth::Failed {
                    disable_if_failing_since: now - DISABLE_AFTER_FAILING_FOR,
                },
            };
            if self
                .store
                .record_webhook_health(webhook.id, now, health)
                .await?
            {
                self.webhook_disabled(&webhook, now).await?;
            }
        }
        Ok(delivered)
    }

    /// Tells the workspace (in the app, and through its other webhooks) that a webhook was disabled.
    async fn webhook_disabled(
        &self,
        webhook: &WebhookRecord,
        now: DateTime<Utc>,
    ) -> Result<(), CoreError> {
        tracing::warn!(webhook_id = %webhook.id, "webhook disabled after failing for 3 days");
        let alert = AlertRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: webhook.workspace_id,
            account_id: None,
            kind: AlertKind::WebhookDisabled,
            dedupe_key: Some(format!(
                "webhook.disabled:{}:{}",
                webhook.id,
                now.timestamp_micros()
            )),
            payload: webhook_data(webhook),
            created_at: now,
            read_at: None,
        };
        if self.store.record_alert(&alert).await? {
            self.email_alert(&alert).await?;
        }
        Ok(())
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
        let signature = sign(&["whsec_test"], 1_700_000_000, "{}");
        assert_eq!(
            signature,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(sign(&["whsec_other"], 1_700_000_000, "{}"), signature);
        assert_ne!(sign(&["whsec_test"], 1_700_000_001, "{}"), signature);
        // During a rotation's overlap: the current secret's signature, then the previous one's.
        let both = sign(&["whsec_other", "whsec_test"], 1_700_000_000, "{}");
        let other = sign(&["whsec_other"], 1_700_000_000, "{}");
        assert_eq!(
            both,
            format!("{other},v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91")
        );
    }

    #[test]
    fn event_types_are_checked_and_kept_once_each() {
        assert_eq!(check_events(None).unwrap(), None);
        let names = [
            "account.removed".to_string(),
            "account.removed".to_string(),
            "webhook.disabled".to_string(),
        ];
        assert_eq!(
            check_events(Some(&names)).unwrap(),
            Some(vec![AlertKind::Removed, AlertKind::WebhookDisabled])
        );
        for bad in [
            vec![],
            vec!["account.deleted".to_string()],
            vec!["webhook.test".to_string()],
        ] {
            let Err(CoreError::Validation(errors)) = check_events(Some(&bad)) else {
                panic!("{bad:?} accepted");
            };
            assert_eq!(errors[0].field, "events");
        }
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
