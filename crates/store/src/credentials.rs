use crate::prelude::*;

/// Sealed credentials: reading them, and re-sealing them under a new key.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    async fn credential(&self, account: AccountId) -> StoreResult<Option<StoredCredential>>;
    /// Credentials sealed under any key other than `key_id`, a batch at a time (for key rotation).
    async fn credentials_not_under_key(
        &self,
        key_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<(AccountId, StoredCredential)>>;
    /// Replaces a credential only if it is still exactly `expected`, so a rotation never overwrites a
    /// credential that a refresh has just renewed.
    async fn replace_credential_if_unchanged(
        &self,
        account: AccountId,
        expected: &StoredCredential,
        replacement: &StoredCredential,
    ) -> StoreResult<bool>;
    /// The ids of the keys the stored credentials are sealed under.
    async fn credential_key_ids(&self) -> StoreResult<Vec<String>>;
}
