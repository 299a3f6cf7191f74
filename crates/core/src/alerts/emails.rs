//! Alerts by email. Each member chooses, per kind, to hear of it immediately (one email per incident, as
//! the in-app panel has one line per incident), in a daily digest grouped by client, or not at all. Every
//! email carries an unsubscribe link that works without signing in: a token sealed by the vault, so it
//! cannot be made up, naming the member, the workspace and the kind (or the digest).

use super::alert_text;
use crate::auth::html_escape;
use crate::credentials::{open_bytes, seal_bytes};
use crate::mail::Message;
use crate::{Caller, Core, CoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AlertEmail, AlertKind, Role, UserId, WorkspaceId};
use iquivity_store::{AlertRecord, DigestMark, StoredCredential};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How often a member's digest goes out.
const DIGEST_EVERY_HOURS: i64 = 24;
/// Digests one round looks at.
const DIGEST_BATCH: u32 = 100;
/// The most alerts one digest lists.
const DIGEST_MOST: u32 = 500;
/// An unsubscribe token is sealed bound to this.
const UNSUBSCRIBE_CONTEXT: &str = "alert-unsubscribe";

/// A member's choice for one kind, and whether they made it (else it is their role's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertEmailChoice {
    pub kind: AlertKind,
    pub choice: AlertEmail,
    pub chosen: bool,
}

/// What an unsubscribe link turns off: one kind, or (no kind) everything in the member's digest.
#[derive(Serialize, Deserialize)]
struct Unsubscribe {
    workspace: WorkspaceId,
    user: UserId,
    kind: Option<AlertKind>,
}

/// A member who may be emailed, with what they get of each kind.
struct Recipient {
    user: UserId,
    email: String,
    choices: HashMap<AlertKind, AlertEmail>,
}

impl Core {
    /// The caller's choice for every kind of alert.
    pub async fn alert_email_choices(
        &self,
        caller: &Caller,
    ) -> Result<Vec<AlertEmailChoice>, CoreError> {
        let made: HashMap<AlertKind, AlertEmail> = self
            .store
            .alert_email_choices(caller.workspace_id)
            .await?
            .into_iter()
            .filter(|(user, _, _)| *user == caller.user_id)
            .map(|(_, kind, choice)| (kind, choice))
            .collect();
        Ok(AlertKind::ALL
            .into_iter()
            .map(|kind| AlertEmailChoice {
                kind,
                choice: made
                    .get(&kind)
                    .copied()
                    .unwrap_or_else(|| AlertEmail::default_for(caller.role, kind)),
                chosen: made.contains_key(&kind),
            })
            .collect())
    }

    /// Saves the caller's choices (any member may choose for themselves).
    pub async fn set_alert_email_choices(
        &self,
        caller: &Caller,
        choices: &[(AlertKind, AlertEmail)],
    ) -> Result<(), CoreError> {
        for (kind, choice) in choices {
            self.store
                .set_alert_email_choice(caller.workspace_id, caller.user_id, *kind, *choice)
                .await?;
        }
        Ok(())
    }

    /// Sends the caller a test email (owners: to check the SMTP settings).
    pub async fn send_test_email(&self, caller: &Caller) -> Result<(), CoreError> {
        if caller.role != Role::Owner {
            return Err(CoreError::Forbidden(
                "only workspace owners can send a test email".into(),
            ));
        }
        self.queue_mail(
            "test",
            &Message {
                to: caller.email.clone(),
                subject: "iQuivity Social: a test email".into(),
                text: "This is the test email you asked for: email from iQuivity Social reaches you.".into(),
                html: "<p>This is the test email you asked for: email from iQuivity Social reaches you.</p>".into(),
                list_unsubscribe: None,
            },
        )
        .await
    }

    async fn recipients(&self, workspace: WorkspaceId) -> Result<Vec<Recipient>, CoreError> {
        let made = self.store.alert_email_choices(workspace).await?;
        Ok(self
            .store
            .members(workspace)
            .await?
            .into_iter()
            .map(|(user, email, role)| Recipient {
                user,
                email,
                choices: AlertKind::ALL
                    .into_iter()
                    .map(|kind| {
                        let chosen = made
                            .iter()
                            .find(|(u, k, _)| *u == user && *k == kind)
                            .map(|(_, _, c)| *c);
                        (
                            kind,
                            chosen.unwrap_or_else(|| AlertEmail::default_for(role, kind)),
                        )
                    })
                    .collect(),
            })
            .collect())
    }

    pub(crate) async fn name_of_workspace(
        &self,
        workspace: WorkspaceId,
    ) -> Result<String, CoreError> {
        Ok(self
            .store
            .workspace(workspace)
            .await?
            .map_or_else(|| "your workspace".to_string(), |w| w.name))
    }

    /// The link that turns off one kind (or the digest) for one member.
    fn unsubscribe_link(
        &self,
        workspace: WorkspaceId,
        user: UserId,
        kind: Option<AlertKind>,
    ) -> Result<String, CoreError> {
        let bytes = serde_json::to_vec(&Unsubscribe {
            workspace,
            user,
            kind,
        })
        .map_err(|e| CoreError::internal_from("unsubscribe encoding", e))?;
        let sealed = seal_bytes(&self.vault, UNSUBSCRIBE_CONTEXT, &bytes)?;
        Ok(format!(
            "{}/unsubscribe/{}.{}",
            self.settings.callback_base,
            URL_SAFE_NO_PAD.encode(sealed.key_id.as_bytes()),
            URL_SAFE_NO_PAD.encode(&sealed.blob)
        ))
    }

    /// Turns off what an unsubscribe link names; which kind it was (`None`: the digest).
    pub async fn unsubscribe(&self, token: &str) -> Result<Option<AlertKind>, CoreError> {
        let invalid = || CoreError::invalid("token", "this unsubscribe link is not valid");
        let (key, blob) = token.split_once('.').ok_or_else(invalid)?;
        let key_id = URL_SAFE_NO_PAD
            .decode(key)
            .ok()
            .and_then(|k| String::from_utf8(k).ok())
            .ok_or_else(invalid)?;
        let blob = URL_SAFE_NO_PAD.decode(blob).map_err(|_| invalid())?;
        let opened = open_bytes(
            &self.vault,
            UNSUBSCRIBE_CONTEXT,
            &StoredCredential { key_id, blob },
        )
        .map_err(|_| invalid())?;
        let request: Unsubscribe = serde_json::from_slice(&opened).map_err(|_| invalid())?;
        let kinds: Vec<AlertKind> = match request.kind {
            Some(kind) => vec![kind],
            None => self
                .recipients(request.workspace)
                .await?
                .into_iter()
                .find(|r| r.user == request.user)
                .map(|r| {
                    r.choices
                        .into_iter()
                        .filter(|(_, c)| *c == AlertEmail::Digest)
                        .map(|(k, _)| k)
                        .collect()
                })
                .unwrap_or_default(),
        };
        for kind in kinds {
            self.store
                .set_alert_email_choice(request.workspace, request.user, kind, AlertEmail::Off)
                .await?;
        }
        Ok(request.kind)
    }

    /// Emails an alert at once to each member who chose that for its kind.
    pub(crate) async fn email_alert(&self, alert: &AlertRecord) -> Result<(), CoreError> {
        let recipients = self.recipients(alert.workspace_id).await?;
        let immediate: Vec<&Recipient> = recipients
            .iter()
            .filter(|r| r.choices.get(&alert.kind) == Some(&AlertEmail::Immediately))
            .collect();
        if immediate.is_empty() {
            return Ok(());
        }
        let workspace = self.name_of_workspace(alert.workspace_id).await?;
        let line = alert_text(alert);
        let base = &self.settings.callback_base;
        for recipient in immediate {
            let unsubscribe =
                self.unsubscribe_link(alert.workspace_id, recipient.user, Some(alert.kind))?;
            let message = Message {
                to: recipient.email.clone(),
                subject: format!("{workspace}: {}", first_sentence(&line)),
                text: format!(
                    "{line}\n\nOpen iQuivity Social: {base}/\n\n\
                     You get this email as a member of {workspace}. Stop emails about this kind of alert: \
                     {unsubscribe}\nChoose what you get: {base}/settings#alert-emails"
                ),
                html: format!(
                    "<p>{line}</p><p><a href=\"{base}/\">Open iQuivity Social</a></p>\
                     <p style=\"color:#555\">You get this email as a member of {workspace}. \
                     <a href=\"{unsubscribe}\">Stop emails about this kind of alert</a> or \
                     <a href=\"{base}/settings#alert-emails\">choose what you get</a>.</p>",
                    line = html_escape(&line),
                    workspace = html_escape(&workspace),
                    base = html_escape(base),
                    unsubscribe = html_escape(&unsubscribe),
                ),
                list_unsubscribe: Some(unsubscribe.clone()),
            };
            self.queue_mail("alert", &message).await?;
        }
        Ok(())
    }

    /// Sends each member whose day is up the alerts of their digest kinds since their last one, grouped by
    /// client; how many digests went out. A member's first round only starts their clock.
    pub(crate) async fn send_due_digests(&self) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let due = self
            .store
            .due_digests(now - Duration::hours(DIGEST_EVERY_HOURS), DIGEST_BATCH)
            .await?;
        let mut sent = 0;
        for mark in due {
            // Moved before anything is sent: the instance that moves it sends it, once.
            if !self.store.advance_digest(&mark, now).await? {
                continue;
            }
            let Some(since) = mark.sent_until else {
                continue;
            };
            if self.send_digest(&mark, since, now).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    async fn send_digest(
        &self,
        mark: &DigestMark,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, CoreError> {
        let recipients = self.recipients(mark.workspace_id).await?;
        let Some(recipient) = recipients.iter().find(|r| r.user == mark.user_id) else {
            return Ok(false);
        };
        let alerts: Vec<AlertRecord> = self
            .store
            .alerts(mark.workspace_id, None, DIGEST_MOST)
            .await?
            .into_iter()
            .filter(|a| a.created_at > since && a.created_at <= until)
            .filter(|a| recipient.choices.get(&a.kind) == Some(&AlertEmail::Digest))
            .collect();
        if alerts.is_empty() {
            return Ok(false);
        }
        let clients: HashMap<_, String> = self
            .store
            .clients(mark.workspace_id)
            .await?
            .into_iter()
            .map(|(client, _)| (client.id, client.name.as_str().to_string()))
            .collect();
        // By client name, "No client" last; oldest first within each.
        let mut groups: BTreeMap<(bool, String), Vec<String>> = BTreeMap::new();
        for alert in alerts.iter().rev() {
            let client = match alert.account_id {
                Some(id) => self
                    .store
                    .account(mark.workspace_id, id)
                    .await?
                    .and_then(|a| a.client_id)
                    .and_then(|c| clients.get(&c).cloned()),
                None => None,
            };
            let key = match client {
                Some(name) => (false, name),
                None => (true, "No client".to_string()),
            };
            groups.entry(key).or_default().push(format!(
                "{} UTC: {}",
                alert.created_at.format("%b %d, %H:%M"),
                alert_text(alert)
            ));
        }
        let workspace = self.name_of_workspace(mark.workspace_id).await?;
        let unsubscribe = self.unsubscribe_link(mark.workspace_id, mark.user_id, None)?;
        let base = &self.settings.callback_base;
        let mut text = format!("What happened in {workspace} since yesterday:\n");
        let mut html = format!(
            "<p>What happened in <strong>{}</strong> since yesterday:</p>",
            html_escape(&workspace)
        );
        for ((_, client), lines) in &groups {
            text.push_str(&format!("\n{client}\n"));
            html.push_str(&format!("<h2>{}</h2><ul>", html_escape(client)));
            for line in lines {
                text.push_str(&format!("- {line}\n"));
                html.push_str(&format!("<li>{}</li>", html_escape(line)));
            }
            html.push_str("</ul>");
        }
        text.push_str(&format!(
            "\nOpen iQuivity Social: {base}/\nStop the daily digest: {unsubscribe}\nChoose what you get: {base}/settings#alert-emails\n"
        ));
        html.push_str(&format!(
            "<p><a href=\"{base}/\">Open iQuivity Social</a></p><p style=\"color:#555\">\
             <a href=\"{unsubscribe}\">Stop the daily digest</a> or \
             <a href=\"{base}/settings#alert-emails\">choose what you get</a>.</p>",
            base = html_escape(base),
            unsubscribe = html_escape(&unsubscribe)
        ));
        let count = alerts.len();
        self.queue_mail(
            "digest",
            &Message {
                to: recipient.email.clone(),
                subject: format!(
                    "{workspace}: {count} alert{} in the last day",
                    if count == 1 { "" } else { "s" }
                ),
                text,
                html,
                list_unsubscribe: Some(unsubscribe),
            },
        )
        .await?;
        Ok(true)
    }
}

/// The first sentence of an alert's line, for a subject.
fn first_sentence(line: &str) -> &str {
    line.find(". ").map_or(line, |end| &line[..=end])
}
