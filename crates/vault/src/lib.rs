//! Encryption of platform credentials at rest.
//!
//! Every ciphertext is AES-256-GCM under one key of a keyring, tagged with that key's id and bound to
//! associated data (the account id), so a ciphertext copied onto another account's row does not open.
//! New data is sealed with the active key; older keys stay in the ring so that what they sealed still
//! opens until `iquivity keys rotate` has re-sealed it.

mod keyring;

pub use keyring::{KeySource, Keyring, KeyringError};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use std::sync::RwLock;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;

/// A sealed secret as stored: the id of the key that sealed it and `nonce || ciphertext+tag`.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub blob: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("key_id", &self.key_id)
            .field("len", &self.blob.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("no key with id {0:?} is in the keyring; was a key removed from the key file or environment?")]
    UnknownKey(String),
    #[error("the ciphertext does not open with key {0:?}: it was tampered with or belongs to another record")]
    Tampered(String),
    #[error("encryption failed")]
    Encrypt,
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// The service's one handle on encryption keys.
pub struct Vault {
    source: KeySource,
    ring: RwLock<Keyring>,
    /// When the key file was last read; a newer file (another process rotated) is re-read before sealing.
    loaded_at: RwLock<Option<std::time::SystemTime>>,
}

impl Vault {
    pub fn load(source: KeySource) -> Result<Self, VaultError> {
        let ring = source.load()?;
        let loaded_at = source.modified();
        Ok(Self {
            source,
            ring: RwLock::new(ring),
            loaded_at: RwLock::new(loaded_at),
        })
    }

    /// Whether the keyring (re-read from its source once if need be) holds the key with this id.
    pub fn knows_key(&self, key_id: &str) -> bool {
        if !self.read_ring().contains(key_id) && self.reload().is_err() {
            return false;
        }
        self.read_ring().contains(key_id)
    }

    pub fn active_key_id(&self) -> String {
        self.read_ring().active_id().to_string()
    }

    /// Seals `plaintext` under the active key, bound to `associated_data`.
    pub fn seal(&self, plaintext: &[u8], associated_data: &[u8]) -> Result<Sealed, VaultError> {
        let modified = self.source.modified();
        if modified
            != *self
                .loaded_at
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            self.reload()?;
        }
        let ring = self.read_ring();
        let (key_id, key) = ring.active();
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| VaultError::Encrypt)?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: associated_data,
                },
            )
            .map_err(|_| VaultError::Encrypt)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ciphertext);
        Ok(Sealed {
            key_id: key_id.to_string(),
            blob,
        })
    }

    /// Opens what `seal` sealed. A key id the ring does not know makes the vault re-read its key source
    /// once, so that a running server picks up a key added by `keys rotate` in another process.
    pub fn open(
        &self,
        sealed: &Sealed,
        associated_data: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        if !self.read_ring().contains(&sealed.key_id) {
            self.reload()?;
        }
        let ring = self.read_ring();
        let key = ring
            .get(&sealed.key_id)
            .ok_or_else(|| VaultError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.blob.len() < NONCE_LEN {
            return Err(VaultError::Tampered(sealed.key_id.clone()));
        }
        let (nonce, ciphertext) = sealed.blob.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| VaultError::Encrypt)?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: associated_data,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| VaultError::Tampered(sealed.key_id.clone()))
    }

    /// Adds a new active key to the key source and to this vault's ring; returns its id.
    pub fn add_active_key(&self) -> Result<String, VaultError> {
        self.source.add_active_key()?;
        self.reload()?;
        Ok(self.active_key_id())
    }

    fn reload(&self) -> Result<(), VaultError> {
        let modified = self.source.modified();
        let fresh = self.source.load()?;
        *self
            .ring
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = fresh;
        *self
            .loaded_at
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = modified;
        Ok(())
    }

    fn read_ring(&self) -> std::sync::RwLockReadGuard<'_, Keyring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_vault(dir: &tempfile::TempDir) -> Vault {
        Vault::load(KeySource::File(dir.path().join("keys.json"))).unwrap()
    }

    #[test]
    fn sealed_data_opens_only_with_its_associated_data() {
        let dir = tempfile::tempdir().unwrap();
        let vault = file_vault(&dir);
        let sealed = vault.seal(b"access-token-123", b"account-1").unwrap();
        assert!(!sealed
            .blob
            .windows(b"access-token-123".len())
            .any(|w| w == b"access-token-123"));
        assert_eq!(
            vault.open(&sealed, b"account-1").unwrap().as_slice(),
            b"access-token-123"
        );
        assert!(matches!(
            vault.open(&sealed, b"account-2"),
            Err(VaultError::Tampered(_))
        ));
        let mut flipped = sealed.clone();
        let last = flipped.blob.len() - 1;
        flipped.blob[last] ^= 1;
        assert!(vault.open(&flipped, b"account-1").is_err());
    }

    #[test]
    fn old_keys_still_open_after_rotation_and_other_processes_see_new_keys() {
        let dir = tempfile::tempdir().unwrap();
        let server = file_vault(&dir);
        let old = server.seal(b"secret", b"a").unwrap();

        let rotating_process = file_vault(&dir);
        let new_id = rotating_process.add_active_key().unwrap();
        assert_ne!(new_id, old.key_id);
        let resealed = rotating_process.seal(b"secret", b"a").unwrap();
        assert_eq!(resealed.key_id, new_id);
        assert_eq!(
            server.seal(b"later", b"a").unwrap().key_id,
            new_id,
            "the running server seals with the new key"
        );

        assert_eq!(server.open(&old, b"a").unwrap().as_slice(), b"secret");
        assert_eq!(server.open(&resealed, b"a").unwrap().as_slice(), b"secret");
    }

    #[test]
    fn a_vault_knows_the_keys_it_seals_with_and_those_another_process_added() {
        let dir = tempfile::tempdir().unwrap();
        let server = file_vault(&dir);
        let sealed = server.seal(b"secret", b"a").unwrap();
        assert_eq!(server.active_key_id(), sealed.key_id);
        assert!(server.knows_key(&sealed.key_id));
        assert!(!server.knows_key("k000000000000"));

        let added = file_vault(&dir).add_active_key().unwrap();
        assert!(server.knows_key(&added));
        assert!(server.knows_key(&sealed.key_id));
    }

    #[test]
    fn a_running_server_opens_what_another_process_sealed_with_a_key_it_added() {
        let dir = tempfile::tempdir().unwrap();
        let server = file_vault(&dir);
        let rotating_process = file_vault(&dir);
        rotating_process.add_active_key().unwrap();
        let sealed = rotating_process.seal(b"secret", b"a").unwrap();
        assert_eq!(server.open(&sealed, b"a").unwrap().as_slice(), b"secret");
    }

    #[test]
    fn known_keys_stay_known_when_the_key_file_turns_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let server = file_vault(&dir);
        let active = server.active_key_id();
        std::fs::write(dir.path().join("keys.json"), "not json").unwrap();
        assert!(server.knows_key(&active));
        assert!(!server.knows_key("k000000000000"));
    }

    #[test]
    fn a_blob_too_short_to_hold_a_nonce_is_tampered_with() {
        let dir = tempfile::tempdir().unwrap();
        let vault = file_vault(&dir);
        let mut sealed = vault.seal(b"secret", b"a").unwrap();
        sealed.blob.truncate(NONCE_LEN - 1);
        assert!(matches!(
            vault.open(&sealed, b"a"),
            Err(VaultError::Tampered(id)) if id == sealed.key_id
        ));
    }

    #[test]
    fn debug_names_the_key_and_the_length_but_not_the_bytes() {
        let sealed = Sealed {
            key_id: "kabc".into(),
            blob: vec![0xAB; 40],
        };
        assert_eq!(
            format!("{sealed:?}"),
            r#"Sealed { key_id: "kabc", len: 40 }"#
        );
    }

    fn env_source(active: [u8; 32], previous: &[[u8; 32]]) -> KeySource {
        use base64::Engine;
        let b64 = |key: &[u8; 32]| {
            secrecy::SecretString::from(base64::engine::general_purpose::STANDARD.encode(key))
        };
        KeySource::Env {
            active: b64(&active),
            previous: previous.iter().map(b64).collect(),
        }
    }

    #[test]
    fn keys_from_the_environment_seal_open_and_keep_their_ids_across_processes() {
        let first = Vault::load(env_source([1; 32], &[])).unwrap();
        let sealed = first.seal(b"secret", b"a").unwrap();
        let same = Vault::load(env_source([1; 32], &[])).unwrap();
        assert_eq!(same.active_key_id(), first.active_key_id());
        assert_eq!(same.open(&sealed, b"a").unwrap().as_slice(), b"secret");

        let rotated = Vault::load(env_source([2; 32], &[[1; 32]])).unwrap();
        assert_ne!(rotated.active_key_id(), sealed.key_id);
        assert_eq!(rotated.open(&sealed, b"a").unwrap().as_slice(), b"secret");
        assert!(matches!(
            rotated.add_active_key(),
            Err(VaultError::Keyring(KeyringError::EnvKeysAreFixed))
        ));

        let other = Vault::load(env_source([3; 32], &[])).unwrap();
        assert!(matches!(
            other.open(&sealed, b"a"),
            Err(VaultError::UnknownKey(id)) if id == sealed.key_id
        ));
    }

    #[test]
    fn an_environment_key_that_is_not_32_bytes_of_base64_is_refused_by_name() {
        let bad = |active: &str, previous: &[&str]| {
            let source = KeySource::Env {
                active: active.into(),
                previous: previous.iter().map(|k| (*k).into()).collect(),
            };
            match Vault::load(source) {
                Err(VaultError::Keyring(KeyringError::BadKey { which })) => which,
                Err(other) => panic!("unexpected error {other}"),
                Ok(_) => panic!("{active:?} / {previous:?} was accepted"),
            }
        };
        let good = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let sixteen_bytes = "AQEBAQEBAQEBAQEBAQEBAQ==";
        assert_eq!(bad("not base64!", &[]), "IQUIVITY_ENCRYPTION_KEY");
        assert_eq!(bad(sixteen_bytes, &[]), "IQUIVITY_ENCRYPTION_KEY");
        assert_eq!(bad(good, &[sixteen_bytes]), "IQUIVITY_ENCRYPTION_OLD_KEYS");
        assert!(Vault::load(env_source([1; 32], &[])).is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        file_vault(&dir);
        let mode = std::fs::metadata(dir.path().join("keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
