//! What the database could not take when it had to: renewed tokens whose save failed after the platform
//! had already issued them (with a rotating refresh token, the previous one no longer works, so dropping
//! them would cost the person a new consent), and refresh leases whose release failed (which would
//! otherwise block the account's next refresh until they ran out). Both are kept in this process's memory,
//! tokens sealed by the vault, and saved at the start of every lifecycle round, before the account's
//! tokens are used and before its refresh lease is taken: until that works or the process ends.

use crate::credentials::open;
use crate::{Core, CoreError, ErrorChain};
use iquivity_domain::{AccountId, TokenSet, WorkspaceId};
use iquivity_store::AccountRefresh;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Renewed tokens, sealed, with what their save would have recorded.
#[derive(Clone)]
struct PendingTokens {
    workspace_id: WorkspaceId,
    /// The refresh that failed to save (its credential is sealed for the account).
    refresh: AccountRefresh,
    /// Tells a set apart from one kept later for the same account.
    generation: u64,
}

#[derive(Default)]
struct Owed {
    tokens: HashMap<AccountId, PendingTokens>,
    /// Refresh leases (account, owner) to release.
    releases: Vec<(AccountId, String)>,
    generation: u64,
}

/// Shared by every clone of a [`Core`].
#[derive(Default)]
pub(crate) struct Unsaved {
    owed: Mutex<Owed>,
    /// Held while saving, so that an older set of tokens is never written after a newer one.
    saving: tokio::sync::Mutex<()>,
}

impl Unsaved {
    fn owed(&self) -> MutexGuard<'_, Owed> {
        self.owed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Core {
    /// Keeps renewed tokens whose save failed; they replace any kept before for the account.
    pub(crate) fn keep_unsaved_tokens(
        &self,
        workspace_id: WorkspaceId,
        account: AccountId,
        refresh: AccountRefresh,
    ) {
        let mut owed = self.unsaved.owed();
        owed.generation += 1;
        let generation = owed.generation;
        owed.tokens.insert(
            account,
            PendingTokens {
                workspace_id,
                refresh,
                generation,
            },
        );
    }

    /// Remembers a refresh lease whose release failed, to release it as soon as the database takes writes.
    pub(crate) fn owe_lease_release(&self, account: AccountId, owner: &str) {
        self.unsaved
            .owed()
            .releases
            .push((account, owner.to_string()));
    }

    /// Whether renewed tokens of this account still wait to be saved.
    pub(crate) fn has_unsaved_tokens(&self, account: AccountId) -> bool {
        self.unsaved.owed().tokens.contains_key(&account)
    }

    /// How many accounts have renewed tokens that only this process holds (for `/metrics`).
    pub fn unsaved_token_count(&self) -> usize {
        self.unsaved.owed().tokens.len()
    }

    /// Saves what is owed to the database: everything, or only what concerns `account`. Whatever fails
    /// stays owed; answers the first failure.
    pub async fn save_unsaved(&self, account: Option<AccountId>) -> Result<(), CoreError> {
        let concerns = |id: &AccountId| account.is_none_or(|a| a == *id);
        let (tokens, releases) = {
            let owed = self.unsaved.owed();
            let tokens: Vec<(AccountId, PendingTokens)> = owed
                .tokens
                .iter()
                .filter(|(id, _)| concerns(id))
                .map(|(id, pending)| (*id, pending.clone()))
                .collect();
            let releases: Vec<(AccountId, String)> = owed
                .releases
                .iter()
                .filter(|(id, _)| concerns(id))
                .cloned()
                .collect();
            (tokens, releases)
        };
        if tokens.is_empty() && releases.is_empty() {
            return Ok(());
        }
        let _saving = self.unsaved.saving.lock().await;
        let mut first_error = None;
        for (id, pending) in tokens {
            // Read again under the lock: a newer set may have replaced this one meanwhile.
            let current = self.unsaved.owed().tokens.get(&id).cloned();
            let Some(pending) = current.filter(|p| p.generation == pending.generation) else {
                continue;
            };
            match self
                .store
                .record_account_refresh(pending.workspace_id, id, &pending.refresh)
                .await
            {
                Ok(saved) => {
                    let mut owed = self.unsaved.owed();
                    if owed
                        .tokens
                        .get(&id)
                        .is_some_and(|p| p.generation == pending.generation)
                    {
                        owed.tokens.remove(&id);
                    }
                    if saved.is_some() {
                        tracing::info!(account_id = %id, "renewed tokens kept in memory are now stored");
                    } else {
                        tracing::info!(account_id = %id, "renewed tokens kept in memory dropped: the account was removed");
                    }
                }
                Err(err) => {
                    tracing::error!(account_id = %id, error = %err, "renewed tokens still cannot be stored; kept in memory");
                    first_error.get_or_insert(CoreError::from(err));
                }
            }
        }
        for (id, owner) in releases {
            match self.store.release_refresh_lease(id, &owner).await {
                Ok(()) => self
                    .unsaved
                    .owed()
                    .releases
                    .retain(|(a, o)| !(*a == id && *o == owner)),
                Err(err) => {
                    tracing::error!(account_id = %id, error = %err, "a refresh lease still cannot be released");
                    first_error.get_or_insert(CoreError::from(err));
                }
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The account's tokens as they are now, after trying to save any it has waiting: the stored ones, or,
    /// while the database still refuses them, the renewed ones this process holds (the stored refresh
    /// token may already be spent). `None` when the account has no credentials.
    pub(crate) async fn tokens_of(
        &self,
        account: AccountId,
    ) -> Result<Option<TokenSet>, CoreError> {
        if let Err(err) = self.save_unsaved(Some(account)).await {
            tracing::warn!(account_id = %account, error = %ErrorChain(&err), "using renewed tokens that are not stored yet");
        }
        let pending = self
            .unsaved
            .owed()
            .tokens
            .get(&account)
            .and_then(|p| p.refresh.credential.clone());
        let sealed = match pending {
            Some(sealed) => sealed,
            None => match self.store.credential(account).await? {
                Some(sealed) => sealed,
                None => return Ok(None),
            },
        };
        open(&self.vault, account, &sealed).map(Some)
    }

    /// Takes the account's refresh lease for `owner`, after releasing any this process still owes.
    pub(crate) async fn take_refresh_lease(
        &self,
        account: AccountId,
        owner: &str,
    ) -> Result<bool, CoreError> {
        if let Err(err) = self.save_unsaved(Some(account)).await {
            tracing::warn!(account_id = %account, error = %ErrorChain(&err), "what is owed for this account is not saved yet");
        }
        let now = self.clock.now();
        let until = now + self.settings.lifecycle.lease;
        Ok(self
            .store
            .take_refresh_lease(account, owner, now, until)
            .await?)
    }

    /// Releases the account's refresh lease; when the database refuses, the release is owed.
    pub(crate) async fn release_refresh_lease(
        &self,
        account: AccountId,
        owner: &str,
    ) -> Result<(), CoreError> {
        if let Err(err) = self.store.release_refresh_lease(account, owner).await {
            self.owe_lease_release(account, owner);
            return Err(err.into());
        }
        Ok(())
    }
}
