//! Renewal in one place: the Refresh action of docs/product.md#refresh (renew, or send the person back to
//! consent), renewal of all inactive accounts, the scheduled renewal ahead of expiry and the scheduled health
//! check, and how statuses follow what the platform says (a blip never flags an account). The job loop that
//! runs the scheduled ones is in [`crate::engine`].

use crate::connections::platform_message;
use crate::credentials::seal;
use crate::engine::{backoff, Handled};
use crate::metrics::Trigger;
use crate::{Caller, Core, CoreError, ErrorChain};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{
    Account, AccountId, AccountKind, AccountStatus, Platform, StatusReason, TokenSet,
};
use iquivity_platforms::{
    missing_scopes, ActingAs, ErrorClass, Identity, PlatformAdapter, PlatformError,
};
use iquivity_store::{AccountRefresh, JobRecord, StoreResult};

/// Why a renewal did not go through: the platform's answer, or this service's own part (its database or
/// its vault failed, or it declined to spend a refresh token it could not store the replacement of),
/// which says nothing about the platform and must never be counted against it.
#[derive(Debug)]
pub(crate) enum RenewError {
    Platform(PlatformError),
    Internal(CoreError),
}

impl From<CoreError> for RenewError {
    fn from(err: CoreError) -> Self {
        RenewError::Internal(err)
    }
}

impl From<iquivity_store::StoreError> for RenewError {
    fn from(err: iquivity_store::StoreError) -> Self {
        RenewError::Internal(err.into())
    }
}

pub enum RefreshOutcome {
    Refreshed(Account),
    /// Only the person can fix it: consent again through `authorize_url`, which reconnects this account.
    NeedsUser {
        account: Account,
        authorize_url: String,
        connection_id: uuid::Uuid,
    },
}

/// What a person reads about a status: our sentence on the first line, the platform's own words on the
/// next (pages show them apart, as details).
pub fn status_message(reason: StatusReason, platform_words: &str) -> String {
    format!(
        "{}\nThe platform said: {}",
        reason.default_message(),
        platform_words.trim()
    )
}

/// When to renew, ahead of the expiry by a margin that suits the platform (its descriptor's renewal
/// policy); `None` when the platform offers no renewal without the person (LinkedIn without a refresh
/// token) or the token does not expire. Never in the past.
pub fn renew_at(
    platform: Platform,
    kind: AccountKind,
    tokens: &TokenSet,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = iquivity_platforms::descriptor(platform)
        .renewal
        .due(kind, tokens)?;
    Some(at.max(now + Duration::minutes(1)))
}

impl Core {
    /// Refresh (docs/product.md#refresh): renew through the platform where it can, re-read identity and
    /// grants, and update the status; where only the person can fix it, hand back a consent link that
    /// repairs this account.
    pub async fn refresh_account(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        id: AccountId,
    ) -> Result<RefreshOutcome, CoreError> {
        // Answers 404 for an account that is not the caller's before waiting for anything.
        let platform = self.account(caller, id).await?.platform;
        // The engine's lease, in the database: one renewal at a time per account across every instance,
        // so a rotating refresh token is never spent twice. One in progress usually ends within seconds.
        let owner = format!("manual-{}", uuid::Uuid::now_v7());
        let mut tries = 0;
        while !self.take_refresh_lease(id, &owner).await? {
            tries += 1;
            if tries == 50 {
                return Err(CoreError::Conflict(
                    "this account is being refreshed right now; try again in a minute".into(),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let outcome = self
            .refresh_under_lease(caller, session_id, id, &owner)
            .await;
        let counted = match &outcome {
            Ok(RefreshOutcome::Refreshed(_)) => "done",
            Ok(RefreshOutcome::NeedsUser { .. }) | Err(CoreError::Conflict(_)) => "failed",
            Err(_) => "error",
        };
        self.check_counts
            .count(platform, "refresh", Trigger::Manual, counted);
        let released = self.release_refresh_lease(id, &owner).await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    async fn refresh_under_lease(
        &self,
        caller: &Caller,
        session_id: Option<&str>,
        id: AccountId,
        owner: &str,
    ) -> Result<RefreshOutcome, CoreError> {
        // Read after taking the lease: a refresh that just finished may have rotated the tokens.
        let account = self.account(caller, id).await?;
        let adapter = self.adapter(account.platform)?;
        let tokens = self
            .tokens_of(id)
            .await?
            .ok_or_else(|| CoreError::internal(format!("account {id} has no stored credential")))?;
        match self
            .renew_and_check(&*adapter, &account, tokens, true, owner)
            .await
        {
            Ok(renewed) => {
                self.after_success(&account, &renewed).await?;
                Ok(RefreshOutcome::Refreshed(renewed))
            }
            // This service failed, not the platform: an internal error (logged, with the request id for
            // the person), and the account's status stays as it was.
            Err(RenewError::Internal(err)) => Err(err),
            Err(RenewError::Platform(err)) => {
                let Some(reason) = err.class.status_reason() else {
                    return Err(match err.class {
                        ErrorClass::RateLimited { until } => CoreError::Conflict(format!(
                            "{} is limiting requests; try again{}",
                            account.platform.display_name(),
                            until
                                .map(|u| format!(" after {}", u.format("%H:%M UTC")))
                                .unwrap_or_default()
                        )),
                        _ => CoreError::Conflict(platform_message(account.platform, &err)),
                    });
                };
                let message = match &err.class {
                    ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => {
                        format!(
                            "The permission(s) {} are no longer granted.",
                            scopes.join(", ")
                        )
                    }
                    _ => status_message(reason, &err.message),
                };
                let account = self
                    .change_account_status(caller.workspace_id, id, Some(reason), Some(message))
                    .await?;
                let started = self
                    .start_connection(caller, session_id, account.platform, Some(id))
                    .await?;
                Ok(RefreshOutcome::NeedsUser {
                    account,
                    authorize_url: started.authorize_url,
                    connection_id: started.id,
                })
            }
        }
    }

    /// Renews when `renew` (saving rotated tokens at once), re-reads identity and grants, and marks the
    /// account active. The caller holds the account's refresh lease as `lease_owner`.
    pub(crate) async fn renew_and_check(
        &self,
        adapter: &dyn PlatformAdapter,
        account: &Account,
        tokens: TokenSet,
        renew: bool,
        lease_owner: &str,
    ) -> Result<Account, RenewError> {
        let renewal = if renew {
            self.ready_to_renew(account, lease_owner).await?;
            adapter
                .renew(ActingAs::account(account, &tokens))
                .await
                .map_err(RenewError::Platform)?
        } else {
            None
        };
        let (tokens, renewed_scopes) = match renewal {
            Some(renewal) => {
                self.store_renewal(account, &renewal.tokens, renewal.scopes.clone())
                    .await?;
                (renewal.tokens, renewal.scopes)
            }
            None => (tokens, None),
        };
        let identity = adapter
            .identity(ActingAs::account(account, &tokens))
            .await
            .map_err(RenewError::Platform)?;
        let scopes = identity.scopes.clone().or(renewed_scopes);
        if let Some(removed) = permissions_removed(adapter, scopes.as_ref()) {
            return Err(RenewError::Platform(removed));
        }
        self.record_identity(account, identity, scopes, self.clock.now())
            .await?;
        Ok(self
            .change_account_status(account.workspace_id, account.id, None, None)
            .await?)
    }

    /// Records the account as the platform describes it now (name, handle, picture, followers) with the
    /// scopes granted, leaving its credential as it is.
    async fn record_identity(
        &self,
        account: &Account,
        identity: Identity,
        scopes: Option<Vec<String>>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let recorded = self
            .store
            .record_account_refresh(
                account.workspace_id,
                account.id,
                &AccountRefresh {
                    credential: None,
                    token_expires_at: None,
                    scopes,
                    display_name: Some(identity.display_name),
                    handle: Some(identity.handle),
                    avatar_url: Some(identity.avatar_url),
                    followers: identity.followers,
                    refreshed: false,
                    now,
                },
            )
            .await?;
        if let Some(recorded) = recorded {
            self.keep_avatar(&recorded).await;
        }
        Ok(())
    }

    /// Refuses to renew while the renewal's tokens could not be stored: while tokens renewed before still
    /// wait to be saved, and, where renewing spends the refresh token, while the database does not take
    /// a write (or the lease is no longer this caller's). Nothing has been spent at the platform then.
    async fn ready_to_renew(&self, account: &Account, lease_owner: &str) -> Result<(), RenewError> {
        if self.has_unsaved_tokens(account.id) {
            return Err(RenewError::Internal(CoreError::internal(format!(
                "account {}: tokens renewed earlier are not stored yet; not renewing again",
                account.id
            ))));
        }
        if iquivity_platforms::descriptor(account.platform)
            .renewal
            .rotates_refresh_token
        {
            let until = self.clock.now() + self.settings.lifecycle.lease;
            if !self
                .store
                .probe_write(account.id, lease_owner, until)
                .await?
            {
                return Err(RenewError::Internal(CoreError::Conflict(
                    "this account is being refreshed right now; try again in a minute".into(),
                )));
            }
        }
        Ok(())
    }

    /// Stores renewed tokens at once. When the database refuses them they are kept in memory, sealed, and
    /// saved as soon as it takes writes again; the renewal still ends as an internal error.
    async fn store_renewal(
        &self,
        account: &Account,
        tokens: &TokenSet,
        scopes: Option<Vec<String>>,
    ) -> Result<(), RenewError> {
        let credential = seal(&self.vault, account.id, tokens).inspect_err(|err| {
            tracing::error!(account_id = %account.id, error = %ErrorChain(err), "renewed tokens could not be sealed; they are lost");
        })?;
        let refresh = AccountRefresh {
            credential: Some(credential),
            token_expires_at: Some(tokens.expires_at),
            scopes,
            display_name: None,
            handle: None,
            avatar_url: None,
            followers: None,
            refreshed: true,
            now: self.clock.now(),
        };
        if let Err(err) = self
            .store
            .record_account_refresh(account.workspace_id, account.id, &refresh)
            .await
        {
            tracing::error!(account_id = %account.id, platform = %account.platform, error = %err, "renewed tokens could not be stored; kept in memory until the database takes them");
            self.keep_unsaved_tokens(account.workspace_id, account.id, refresh);
            return Err(err.into());
        }
        Ok(())
    }

    /// The bulk "refresh all inactive" action: every Inactive or Failed account of the workspace is renewed
    /// by the engine in its next rounds. Answers how many were queued.
    pub async fn refresh_all_inactive(&self, caller: &crate::Caller) -> Result<u32, CoreError> {
        let now = self.clock.now();
        let mut query = iquivity_store::AccountQuery::all(crate::accounts::MAX_PAGE);
        query.statuses = vec![AccountStatus::Inactive, AccountStatus::Failed];
        let mut queued = 0;
        loop {
            let page = self
                .store
                .list_accounts(caller.workspace_id, &query)
                .await?;
            for account in &page {
                self.store
                    .schedule_account(account.id, Some(Some(now)), None)
                    .await?;
                queued += 1;
            }
            match page.last() {
                Some(last) if page.len() == crate::accounts::MAX_PAGE as usize => {
                    query.after = Some(iquivity_store::cursor_after(last, query.sort));
                }
                _ => break,
            }
        }
        Ok(queued)
    }

    pub(crate) async fn run_refresh(
        &self,
        job: &JobRecord,
        owner: &str,
    ) -> Result<Handled, CoreError> {
        // A lease of this run alone (not of the worker): a release the database refused is made later,
        // and must then end this hold and no later one.
        let owner = format!("{owner}/{}", uuid::Uuid::now_v7());
        if !self.take_refresh_lease(job.account_id, &owner).await? {
            // Soon: the other refresh ends within seconds, or (its worker dead) its lease runs out about
            // when this job's did, since both were taken together.
            let soon = (self.settings.lifecycle.lease / 4).min(Duration::seconds(30));
            return Ok(Handled::RetryAt(
                self.clock.now() + soon,
                "another refresh of this account is running".into(),
            ));
        }
        let outcome = self.refresh_holding_lease(job, &owner).await;
        let released = self.release_refresh_lease(job.account_id, &owner).await;
        let outcome = outcome?;
        released?;
        Ok(outcome)
    }

    async fn refresh_holding_lease(
        &self,
        job: &JobRecord,
        lease_owner: &str,
    ) -> Result<Handled, CoreError> {
        // Read after taking the lease: a refresh that just finished may have rotated the tokens.
        let Some((account, tokens)) = self.current(job).await? else {
            return Ok(Handled::Done);
        };
        let adapter = self.adapter(account.platform)?;
        // A job retried or taken over after its renewal went through (the worker died, or the check after
        // it failed) does not renew again: the renewal stands, and on platforms that rotate refresh tokens
        // each renewal spends one.
        let renewed_already = job.attempts > 1
            && account
                .last_refreshed_at
                .is_some_and(|at| at >= job.created_at);
        match self
            .renew_and_check(&*adapter, &account, tokens, !renewed_already, lease_owner)
            .await
        {
            Ok(renewed) => {
                self.after_success(&account, &renewed).await?;
                Ok(Handled::Done)
            }
            Err(RenewError::Platform(err)) => self.after_failure(job, &account, err).await,
            // This service failed (its database or vault), not the platform: the job is retried with
            // backoff like any failed job, and the account's status and run of failures stay untouched.
            Err(RenewError::Internal(err)) => Err(err),
        }
    }

    pub(crate) async fn run_health_check(&self, job: &JobRecord) -> Result<Handled, CoreError> {
        let Some((account, tokens)) = self.current(job).await? else {
            return Ok(Handled::Done);
        };
        let adapter = self.adapter(account.platform)?;
        let now = self.clock.now();
        match adapter.identity(ActingAs::account(&account, &tokens)).await {
            Ok(identity) => {
                if let Some(removed) =
                    permissions_removed(adapter.as_ref(), identity.scopes.as_ref())
                {
                    return self.after_failure(job, &account, removed).await;
                }
                let scopes = identity.scopes.clone();
                self.record_identity(&account, identity, scopes, now)
                    .await?;
                let checked = if account.status == AccountStatus::Active {
                    account.clone()
                } else {
                    self.change_account_status(account.workspace_id, account.id, None, None)
                        .await?
                };
                self.after_success(&account, &checked).await?;
                Ok(Handled::Done)
            }
            // An expired access token is the refresh's business: renew now rather than flag the account.
            Err(err)
                if err.class == ErrorClass::TokenExpired
                    && renew_at(account.platform, account.kind, &tokens, now).is_some() =>
            {
                self.store
                    .schedule_account(account.id, Some(Some(now)), Some(self.jittered_check(now)))
                    .await?;
                Ok(Handled::Done)
            }
            Err(err) => self.after_failure(job, &account, err).await,
        }
    }

    /// A call worked: the run of failures ends, and an account that had a problem is recovered.
    pub(crate) async fn after_success(
        &self,
        before: &Account,
        after: &Account,
    ) -> Result<(), CoreError> {
        self.store.clear_failures(before.id).await?;
        if before.status != AccountStatus::Active {
            tracing::info!(account_id = %before.id, platform = %before.platform, "account recovered");
        }
        if let Some(tokens) = self.tokens_of(after.id).await? {
            self.schedule(after, &tokens).await?;
        }
        Ok(())
    }

    /// Turns a platform failure into a status (or into patience): rate limits wait for the reset without a
    /// status change; an unavailable platform is retried with backoff and marks the account Failed only
    /// once it has failed `unavailable_failures` times over at least `unavailable_span`; what only the
    /// person can fix marks it at once, with the reason and advice.
    async fn after_failure(
        &self,
        job: &JobRecord,
        account: &Account,
        err: PlatformError,
    ) -> Result<Handled, CoreError> {
        let now = self.clock.now();
        tracing::info!(account_id = %account.id, platform = %account.platform, class = ?err.class, "platform call failed");
        match &err.class {
            ErrorClass::RateLimited { until } => {
                let at = until
                    .filter(|u| *u > now)
                    .unwrap_or(now + Duration::minutes(1));
                Ok(Handled::RateLimited(
                    at,
                    format!("rate limited: {}", err.message),
                ))
            }
            ErrorClass::Unavailable | ErrorClass::Rejected => {
                let run = self.store.record_failure(account.id, now).await?;
                let settings = &self.settings.lifecycle;
                if run.count >= settings.unavailable_failures
                    && now - run.since >= settings.unavailable_span
                {
                    let message = format!(
                        "{} has been failing since {} ({} attempts): {}",
                        account.platform.display_name(),
                        run.since.format("%b %d %Y, %H:%M UTC"),
                        run.count,
                        err.message
                    );
                    self.change_account_status(
                        account.workspace_id,
                        account.id,
                        Some(StatusReason::PlatformUnavailable),
                        Some(message),
                    )
                    .await?;
                }
                Ok(Handled::RetryAt(now + backoff(job.attempts), err.message))
            }
            class => {
                let reason = class
                    .status_reason()
                    .unwrap_or(StatusReason::AuthenticationFailed);
                let message = match class {
                    ErrorClass::MissingPermission { scopes } if !scopes.is_empty() => {
                        format!(
                            "The permission(s) {} are no longer granted.",
                            scopes.join(", ")
                        )
                    }
                    _ => status_message(reason, &err.message),
                };
                self.change_account_status(
                    account.workspace_id,
                    account.id,
                    Some(reason),
                    Some(message),
                )
                .await?;
                // Renewing cannot help until the person reconnects; health checks go on, to notice a fix.
                self.store
                    .schedule_account(account.id, Some(None), Some(self.jittered_check(now)))
                    .await?;
                Ok(Handled::Done)
            }
        }
    }
}

/// The error for required permissions the person has since removed, when `granted` (where the platform
/// tells) lacks any.
fn permissions_removed(
    adapter: &dyn PlatformAdapter,
    granted: Option<&Vec<String>>,
) -> Option<PlatformError> {
    let missing = missing_scopes(&adapter.required_scopes(), granted?);
    (!missing.is_empty()).then(|| {
        PlatformError::new(
            adapter.platform().as_str(),
            ErrorClass::MissingPermission { scopes: missing },
            "required permissions were removed",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn tokens(expires_in: Option<i64>, refresh: bool) -> TokenSet {
        let now = Utc::now();
        TokenSet {
            access_token: SecretString::from("a".to_string()),
            refresh_token: refresh.then(|| SecretString::from("r".to_string())),
            expires_at: expires_in.map(|s| now + Duration::seconds(s)),
            refresh_expires_at: None,
            grant_token: None,
            issued_at: Some(now),
        }
    }

    #[test]
    fn renewal_comes_ahead_of_expiry_by_a_platform_margin() {
        let now = Utc::now();
        let at = |platform, kind, expires_in, refresh| {
            renew_at(platform, kind, &tokens(expires_in, refresh), now)
        };
        let x = at(Platform::X, AccountKind::Profile, Some(7200), true).unwrap();
        assert!((x - now - Duration::minutes(110)).num_seconds().abs() < 5);
        let li = at(
            Platform::Linkedin,
            AccountKind::Profile,
            Some(60 * 86400),
            true,
        )
        .unwrap();
        assert!((li - now - Duration::days(53)).num_seconds().abs() < 5);
        assert_eq!(
            at(
                Platform::Linkedin,
                AccountKind::Profile,
                Some(60 * 86400),
                false
            ),
            None
        );
        assert_eq!(
            at(Platform::Tiktok, AccountKind::Business, None, true),
            None
        );
        let soon = at(Platform::X, AccountKind::Profile, Some(60), true).unwrap();
        assert!(soon >= now + Duration::minutes(1), "never in the past");
    }
}
