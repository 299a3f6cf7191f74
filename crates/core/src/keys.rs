//! Key rotation: a new active key, then every credential re-sealed under it while the service keeps running.

use crate::credentials::{open, seal};
use crate::{Core, CoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub new_key_id: String,
    pub resealed: u64,
}

impl Core {
    /// Adds a new active key, then re-seals credentials batch by batch. Each row is replaced only if it has
    /// not changed since it was read, so a refresh running at the same time is never overwritten; a row a
    /// refresh did change is picked up again by the next batch.
    pub async fn rotate_keys(&self) -> Result<RotationReport, CoreError> {
        let new_key_id = self.vault.add_active_key()?;
        let mut resealed = 0u64;
        loop {
            let batch = self
                .store
                .credentials_not_under_key(&new_key_id, 500)
                .await?;
            if batch.is_empty() {
                break;
            }
            let mut progressed = false;
            for (account, stored) in batch {
                let tokens = open(&self.vault, account, &stored)?;
                let fresh = seal(&self.vault, account, &tokens)?;
                if self
                    .store
                    .replace_credential_if_unchanged(account, &stored, &fresh)
                    .await?
                {
                    resealed += 1;
                    progressed = true;
                }
            }
            if !progressed {
                tokio::task::yield_now().await;
            }
        }
        tracing::info!(key_id = %new_key_id, resealed, "encryption key rotated");
        Ok(RotationReport {
            new_key_id,
            resealed,
        })
    }
}
