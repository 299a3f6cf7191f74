use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

type Key = Zeroizing<Vec<u8>>;

/// The keys the service can open with, and the one it seals with.
pub struct Keyring {
    active: String,
    keys: BTreeMap<String, Key>,
}

impl Keyring {
    pub fn active_id(&self) -> &str {
        &self.active
    }

    pub(crate) fn active(&self) -> (&str, &Key) {
        let key = self
            .keys
            .get(&self.active)
            .expect("a keyring is only built with its active key inside");
        (&self.active, key)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Key> {
        self.keys.get(id)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.keys.contains_key(id)
    }

    fn build(active: Key, previous: Vec<Key>) -> Self {
        let active_id = key_id(&active);
        let mut keys = BTreeMap::new();
        for key in previous {
            keys.insert(key_id(&key), key);
        }
        keys.insert(active_id.clone(), active);
        Keyring {
            active: active_id,
            keys,
        }
    }
}

/// Where the keys come from.
pub enum KeySource {
    /// A JSON key file in the data directory, created with mode 0600 on first start.
    File(PathBuf),
    /// `IQUIVITY_ENCRYPTION_KEY` (active) and `IQUIVITY_ENCRYPTION_OLD_KEYS` (comma-separated, decrypt only).
    Env {
        active: SecretString,
        previous: Vec<SecretString>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("encryption key {which} is not valid base64 of 32 bytes")]
    BadKey { which: String },
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {path} is not a valid key file: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("keys given by environment variables are rotated by changing IQUIVITY_ENCRYPTION_KEY and moving the old one into IQUIVITY_ENCRYPTION_OLD_KEYS")]
    EnvKeysAreFixed,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    active: String,
    keys: BTreeMap<String, String>,
}

/// A key's id: a short digest of the key, so the same key always has the same id wherever it is configured.
fn key_id(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("k{hex}")
}

fn decode_key(which: &str, b64: &str) -> Result<Key, KeyringError> {
    let bytes = Zeroizing::new(B64.decode(b64.trim()).map_err(|_| KeyringError::BadKey {
        which: which.to_string(),
    })?);
    if bytes.len() != 32 {
        return Err(KeyringError::BadKey {
            which: which.to_string(),
        });
    }
    Ok(bytes)
}

fn new_key() -> Key {
    use aes_gcm::aead::{rand_core::RngCore, OsRng};
    let mut key = Zeroizing::new(vec![0u8; 32]);
    OsRng.fill_bytes(&mut key);
    key
}

impl KeySource {
    pub fn load(&self) -> Result<Keyring, KeyringError> {
        match self {
            KeySource::Env { active, previous } => {
                let active = decode_key("IQUIVITY_ENCRYPTION_KEY", active.expose_secret())?;
                let previous = previous
                    .iter()
                    .map(|k| decode_key("IQUIVITY_ENCRYPTION_OLD_KEYS", k.expose_secret()))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Keyring::build(active, previous))
            }
            KeySource::File(path) => {
                if !path.exists() {
                    let ring = Keyring::build(new_key(), Vec::new());
                    write_key_file(path, &ring)?;
                    return Ok(ring);
                }
                read_key_file(path)
            }
        }
    }

    /// The key file's modification time; `None` for keys from the environment, which never change underneath.
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        match self {
            KeySource::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
            KeySource::Env { .. } => None,
        }
    }

    /// Generates a key, makes it the active one and keeps the others for decryption.
    pub fn add_active_key(&self) -> Result<Keyring, KeyringError> {
        let KeySource::File(path) = self else {
            return Err(KeyringError::EnvKeysAreFixed);
        };
        let current = self.load()?;
        let mut ring = Keyring::build(new_key(), Vec::new());
        for (id, key) in current.keys {
            ring.keys.insert(id, key);
        }
        write_key_file(path, &ring)?;
        Ok(ring)
    }
}

fn read_key_file(path: &Path) -> Result<Keyring, KeyringError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| KeyringError::Read {
                path: path.to_path_buf(),
                source,
            })?,
        );
    let corrupt = |reason: String| KeyringError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    let file: KeyFile = serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?;
    let mut keys = BTreeMap::new();
    for (id, b64) in &file.keys {
        let key = decode_key(&format!("{id} in {}", path.display()), b64)?;
        if key_id(&key) != *id {
            return Err(corrupt(format!("key {id} does not match its id")));
        }
        keys.insert(id.clone(), key);
    }
    if !keys.contains_key(&file.active) {
        return Err(corrupt(format!("active key {} is missing", file.active)));
    }
    Ok(Keyring {
        active: file.active,
        keys,
    })
}

/// Writes the key file atomically (temp file + rename) with mode 0600 from its creation.
fn write_key_file(path: &Path, ring: &Keyring) -> Result<(), KeyringError> {
    let file = KeyFile {
        active: ring.active.clone(),
        keys: ring
            .keys
            .iter()
            .map(|(id, key)| (id.clone(), B64.encode(key.as_slice())))
            .collect(),
    };
    let text =
        Zeroizing::new(
            serde_json::to_string_pretty(&file).map_err(|e| KeyringError::Corrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?,
        );
    let write_err = |source| KeyringError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(write_err)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut out = options.open(&tmp).map_err(write_err)?;
    out.write_all(text.as_bytes()).map_err(write_err)?;
    out.sync_all().map_err(write_err)?;
    std::fs::rename(&tmp, path).map_err(write_err)
}
