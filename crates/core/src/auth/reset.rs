//! Password reset: a single-use link by email, valid 30 minutes, kept only as a digest. The answer to a
//! request is the same whether the email is registered or not; requests are limited per email and per
//! client address.

use super::limits::{address_key, seconds};
use super::{hash_password, RESET_PREFIX};
use crate::mail::Message;
use crate::secrets::{digest, new_secret};
use crate::{Core, CoreError};
use chrono::Duration;
use iquivity_domain::{Email, Password, UserId};
use iquivity_store::PasswordResetRecord;
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;

/// How long a reset link works.
pub const RESET_TTL_MINUTES: i64 = 30;
/// Reset requests per email address, and per client address, within an hour.
const RESETS_PER_EMAIL: u32 = 3;
const RESETS_PER_ADDRESS: u32 = 10;

/// A reset link's words, plain and HTML; `link` is the only secret in it.
fn reset_message(to: &str, link: &str) -> Message {
    Message {
        to: to.to_string(),
        subject: "Reset your iQuivity Social password".into(),
        text: format!(
            "Someone asked to reset the password of the iQuivity Social account for {to}.\n\n\
             To choose a new password, open this link within {RESET_TTL_MINUTES} minutes (it works once):\n\
             {link}\n\n\
             If it was not you, ignore this email: your password stays as it is."
        ),
        html: format!(
            "<p>Someone asked to reset the password of the iQuivity Social account for {to}.</p>\
             <p><a href=\"{link}\">Choose a new password</a> within {RESET_TTL_MINUTES} minutes (the link works once).</p>\
             <p>If it was not you, ignore this email: your password stays as it is.</p>",
            to = html_escape(to),
            link = html_escape(link),
        ),
        list_unsubscribe: None,
    }
}

fn changed_message(to: &str, signed_out: bool) -> Message {
    let sessions = if signed_out {
        "Every session and API token of your account was ended."
    } else {
        "Your other sessions and API tokens still work."
    };
    Message {
        to: to.to_string(),
        subject: "Your iQuivity Social password was changed".into(),
        text: format!(
            "The password of the iQuivity Social account for {to} was just changed through a reset link. \
             {sessions}\n\nIf it was not you, reset it again at once and tell your workspace's owner."
        ),
        html: format!(
            "<p>The password of the iQuivity Social account for {to} was just changed through a reset link. \
             {sessions}</p><p>If it was not you, reset it again at once and tell your workspace's owner.</p>",
            to = html_escape(to)
        ),
        list_unsubscribe: None,
    }
}

/// Escapes text for an HTML email body.
pub(crate) fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Core {
    /// Emails a reset link to `email` if it belongs to someone; the same `Ok` either way, so the answer
    /// never tells who has an account.
    pub async fn request_password_reset(
        &self,
        email: &str,
        client: Option<IpAddr>,
    ) -> Result<(), CoreError> {
        let email = Email::parse(email)?;
        let now = self.clock.now();
        let since = now - Duration::hours(1);
        let mut keys = vec![(format!("reset-email:{}", email.as_str()), RESETS_PER_EMAIL)];
        if let Some(client) = client {
            keys.push((address_key("reset-ip", client), RESETS_PER_ADDRESS));
        }
        for (key, limit) in keys {
            if self.store.count_login_attempt(&key, since, now).await? > limit {
                tracing::warn!("password reset refused: too many requests");
                return Err(CoreError::RateLimited {
                    retry_after_secs: seconds(Duration::hours(1)),
                });
            }
        }
        let Some(user) = self.store.user_by_email(email.as_str()).await? else {
            return Ok(());
        };
        let link = self.password_reset_link_for(user.id).await?;
        self.queue_mail(
            "password_reset",
            &reset_message(&user.email, link.expose_secret()),
        )
        .await
    }

    /// For the operator (`iquivity user reset-password`): the link, printed rather than sent.
    pub async fn password_reset_link(&self, email: &str) -> Result<SecretString, CoreError> {
        let email = Email::parse(email)?;
        let user = self
            .store
            .user_by_email(email.as_str())
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        self.password_reset_link_for(user.id).await
    }

    async fn password_reset_link_for(&self, user: UserId) -> Result<SecretString, CoreError> {
        let token = new_secret(RESET_PREFIX);
        let now = self.clock.now();
        self.store
            .create_password_reset(&PasswordResetRecord {
                token_hash: digest(token.expose_secret()),
                user_id: user,
                created_at: now,
                expires_at: now + Duration::minutes(RESET_TTL_MINUTES),
            })
            .await?;
        Ok(SecretString::from(format!(
            "{}/reset-password?token={}",
            self.settings.callback_base,
            token.expose_secret()
        )))
    }

    /// Sets a new password through a reset link (once, within its time); with `sign_out_everywhere` every
    /// session and API token of the person ends. A notice goes to their address either way.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        sign_out_everywhere: bool,
    ) -> Result<(), CoreError> {
        let password = Password::parse(password)?;
        let hash = hash_password(&password).await?;
        let user = self
            .store
            .use_password_reset(&digest(token), self.clock.now())
            .await?
            .ok_or_else(|| {
                CoreError::invalid(
                    "token",
                    "this reset link has already been used or has expired; ask for a new one",
                )
            })?;
        self.store
            .set_password(user, &hash, sign_out_everywhere)
            .await?;
        if let Some(user) = self.store.user_by_id(user).await? {
            self.queue_mail(
                "password_changed",
                &changed_message(&user.email, sign_out_everywhere),
            )
            .await?;
        }
        Ok(())
    }
}
