//! Removing an account, and revoking its grant on the platform afterwards as a durable job when no other
//! account shares the login.

use crate::credentials::{open_bytes, seal_bytes};
use crate::engine::{backoff, Handled};
use crate::{Caller, Core, CoreError};
use chrono::{Duration, Utc};
use iquivity_domain::{Account, AccountId, AlertKind, Platform, TokenSet};
use iquivity_platforms::ErrorClass;
use iquivity_store::{AuditEventRecord, AuditKind, JobKind, JobRecord};

impl Core {
    /// Removes the account and shreds its credentials.
    pub async fn remove_account(&self, caller: &Caller, id: AccountId) -> Result<(), CoreError> {
        let account = self.account(caller, id).await?;
        caller.require_manage_accounts()?;
        let event = AuditEventRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: caller.workspace_id,
            account_id: Some(id),
            actor_id: Some(caller.user_id),
            kind: AuditKind::Removed,
            details: serde_json::json!({
                "platform": account.platform,
                "platform_account_id": account.platform_account_id,
                "display_name": account.display_name,
            }),
            at: Utc::now(),
        };
        // The newest tokens, which may still be waiting to be stored: they are the ones to revoke.
        let tokens = self.tokens_of(id).await?;
        if !self
            .store
            .delete_account(caller.workspace_id, id, &event)
            .await?
        {
            return Err(CoreError::NotFound("account"));
        }
        tracing::info!(account_id = %id, workspace_id = %caller.workspace_id, platform = %account.platform, "account removed");
        let cancelled = self
            .store
            .cancel_targets_for_account(id, self.clock.now())
            .await?;
        if cancelled > 0 {
            tracing::info!(account_id = %id, cancelled, "scheduled posts to the removed account cancelled");
        }
        self.alert(&account, AlertKind::Removed, None).await?;
        if let Some(tokens) = tokens {
            if self.revocation_is_safe(caller, &account).await? {
                self.queue_revocation(&account, &tokens).await?;
            }
        }
        Ok(())
    }

    /// Some platforms revoke a whole login, not one account (Meta: every Page and Instagram account reached
    /// through it): while other accounts of the workspace may hang off the same login, revoking would break
    /// them, so it is left to the person.
    async fn revocation_is_safe(
        &self,
        caller: &Caller,
        account: &Account,
    ) -> Result<bool, CoreError> {
        let platform = iquivity_platforms::descriptor(account.platform);
        if platform.login_family.is_none() {
            return Ok(true);
        }
        let mut sharing_login = 0;
        for other in Platform::ALL {
            if platform.shares_login_with(other) {
                sharing_login += self
                    .store
                    .count_accounts(caller.workspace_id, Some(other))
                    .await?;
            }
        }
        Ok(sharing_login == 0)
    }

    /// Queues the platform-side revocation of a removed account, carrying its tokens sealed to the job.
    pub(crate) async fn queue_revocation(
        &self,
        account: &Account,
        tokens: &TokenSet,
    ) -> Result<(), CoreError> {
        let id = uuid::Uuid::now_v7();
        let payload = crate::credentials::seal(&self.vault, account.id, tokens)?;
        // Re-seal under the job id: the account row, and so its id's meaning, is gone.
        let bytes = open_bytes(&self.vault, &account.id.to_string(), &payload)?;
        let now = self.clock.now();
        self.store
            .enqueue_job(&JobRecord {
                id,
                kind: JobKind::Revoke,
                account_id: account.id,
                workspace_id: account.workspace_id,
                platform: account.platform,
                payload: Some(seal_bytes(&self.vault, &id.to_string(), &bytes)?),
                run_at: now,
                attempts: 0,
                last_error: None,
                created_at: now,
                done_at: None,
            })
            .await?;
        Ok(())
    }

    pub(crate) async fn run_revoke(&self, job: &JobRecord) -> Result<Handled, CoreError> {
        let Some(payload) = &job.payload else {
            return Ok(Handled::Done);
        };
        let bytes = open_bytes(&self.vault, &job.id.to_string(), payload)?;
        let tokens = crate::credentials::tokens_from_bytes(&bytes)?;
        let adapter = self.adapter(job.platform)?;
        let now = self.clock.now();
        match adapter.revoke(&tokens).await {
            Ok(()) => {
                tracing::info!(account_id = %job.account_id, platform = %job.platform, "access revoked on the platform");
                Ok(Handled::Done)
            }
            Err(err) => match err.class {
                ErrorClass::Unavailable => {
                    Ok(Handled::RetryAt(now + backoff(job.attempts), err.message))
                }
                ErrorClass::RateLimited { until } => Ok(Handled::RateLimited(
                    until
                        .filter(|u| *u > now)
                        .unwrap_or(now + Duration::minutes(1)),
                    err.message,
                )),
                // Already revoked or expired on the platform: there is nothing left to withdraw.
                _ => {
                    tracing::info!(account_id = %job.account_id, platform = %job.platform, "revocation not needed: {}", err.message);
                    Ok(Handled::Done)
                }
            },
        }
    }
}
