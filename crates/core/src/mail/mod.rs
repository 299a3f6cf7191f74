//! Outgoing mail. A message is sealed into the outbox (`queue_mail`) in the same request that decides to
//! send it, and the engine of whichever instance claims it sends it (`send_due_mail`), retrying with
//! backoff: it survives restarts, and the claim's lease keeps two instances from sending it twice. Where
//! to send is a [`MailTransport`]: SMTP (`smtp.rs`), or, with no SMTP configured, the log (without the
//! bodies, which may hold a reset link).

use crate::credentials::{open_bytes, seal_bytes};
use crate::{Core, CoreError};
use async_trait::async_trait;
use chrono::Duration;
use iquivity_store::{Claim, MailAttempt, MailRecord};
use serde::{Deserialize, Serialize};

mod smtp;

pub use smtp::{SmtpSettings, SmtpTls, SmtpTransport};

/// One email: a plain-text part, and an HTML part that needs no remote images.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// For alert mail: the address that turns it off, sent as `List-Unsubscribe` (one click, RFC 8058).
    #[serde(default)]
    pub list_unsubscribe: Option<String>,
}

/// Why a message could not be sent this time.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The server could not be reached or refused for now: tried again later.
    #[error("the mail server is unavailable: {0}")]
    Unavailable(String),
    /// The message itself cannot be sent (a malformed address): never tried again.
    #[error("the message cannot be sent: {0}")]
    Rejected(String),
}

/// Where mail goes.
#[async_trait]
pub trait MailTransport: Send + Sync {
    /// Whether mail really leaves the service (pages say when it does not).
    fn delivers(&self) -> bool;
    async fn send(&self, kind: &str, message: &Message) -> Result<(), MailError>;
}

/// With no SMTP configured: each message is logged, by kind, recipient and subject, never its body.
pub struct LogTransport;

#[async_trait]
impl MailTransport for LogTransport {
    fn delivers(&self) -> bool {
        false
    }

    async fn send(&self, kind: &str, message: &Message) -> Result<(), MailError> {
        tracing::info!(
            kind,
            to = %message.to,
            subject = %message.subject,
            "email not sent: SMTP is not configured"
        );
        Ok(())
    }
}

/// Messages one round sends at most.
const MAIL_BATCH: u32 = 20;
/// Attempts before a message is given up (about a day with the backoff below).
const MAX_ATTEMPTS: u32 = 12;
/// The sealed message is bound to this, so that no other sealed blob can pass for one.
const SEAL_CONTEXT: &str = "mail-outbox";

/// After the `attempts`-th failure: 30 s, doubling, at most 4 hours.
fn backoff(attempts: u32) -> Duration {
    Duration::seconds(30 * (1i64 << attempts.saturating_sub(1).min(9))).min(Duration::hours(4))
}

impl Core {
    /// Whether email leaves the service, for the pages to say so.
    pub fn email_delivers(&self) -> bool {
        self.mail.delivers()
    }

    /// Puts a message in the outbox, sealed; the engine sends it.
    pub async fn queue_mail(&self, kind: &str, message: &Message) -> Result<(), CoreError> {
        let bytes = serde_json::to_vec(message)
            .map_err(|e| CoreError::internal_from("mail encoding", e))?;
        let now = self.clock.now();
        let record = MailRecord {
            id: uuid::Uuid::now_v7(),
            kind: kind.to_string(),
            sealed: seal_bytes(&self.vault, SEAL_CONTEXT, &bytes)?,
            attempts: 0,
            created_at: now,
        };
        self.store.queue_mail(&record, now).await?;
        Ok(())
    }

    /// Sends what is due in the outbox; how many went out.
    pub(crate) async fn send_due_mail(&self, owner: &str) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let claimed = self
            .store
            .claim_mail(Claim::new(
                owner,
                now,
                now + self.settings.lifecycle.lease,
                MAIL_BATCH,
            ))
            .await?;
        let mut sent = 0;
        for mail in claimed {
            let attempt = match self.open_mail(&mail) {
                Ok(message) => self.send_one(&mail, &message).await,
                // An instance whose keys differ from the one that sealed it: said loudly, and left for
                // an instance that can (or given up, as any message, after its attempts).
                Err(err) => {
                    tracing::error!(kind = %mail.kind, error = %crate::ErrorChain(&err), "an email in the outbox cannot be opened");
                    self.failed_attempt(&mail, "this instance cannot open it".to_string())
                }
            };
            if matches!(attempt, MailAttempt::Sent) {
                sent += 1;
            }
            self.store
                .record_mail_attempt(mail.id, owner, &attempt, self.clock.now())
                .await?;
        }
        Ok(sent)
    }

    fn open_mail(&self, mail: &MailRecord) -> Result<Message, CoreError> {
        let opened = open_bytes(&self.vault, SEAL_CONTEXT, &mail.sealed)?;
        serde_json::from_slice(&opened).map_err(|e| CoreError::internal_from("mail decoding", e))
    }

    /// After a failure that may pass: tried again after the backoff, or given up after its attempts.
    fn failed_attempt(&self, mail: &MailRecord, error: String) -> MailAttempt {
        tracing::warn!(kind = %mail.kind, attempts = mail.attempts, error = %error, "email not sent");
        if mail.attempts >= MAX_ATTEMPTS {
            MailAttempt::GaveUp { error }
        } else {
            MailAttempt::Retry {
                at: self.clock.now() + backoff(mail.attempts),
                error,
            }
        }
    }

    async fn send_one(&self, mail: &MailRecord, message: &Message) -> MailAttempt {
        match self.mail.send(&mail.kind, message).await {
            Ok(()) => MailAttempt::Sent,
            Err(MailError::Rejected(why)) => {
                tracing::warn!(kind = %mail.kind, error = %why, "email refused for good");
                MailAttempt::GaveUp { error: why }
            }
            Err(MailError::Unavailable(why)) => self.failed_attempt(mail, why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_from_thirty_seconds_to_four_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(12), Duration::hours(4));
    }
}
