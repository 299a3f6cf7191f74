//! Keeping a server's world on disk, for `SandboxOptions::state_dir`: the tokens one process (say, a demo
//! data loader) was given must still work when another process starts the sandbox later on the same
//! directory. Each platform server has its own file, `sandbox-{platform}.json`, read when it starts and
//! rewritten after every request that changed the world. Faults and request counts are not in it: they
//! belong to one run (see `state::Run`).

use crate::state::{Server, World};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use iquivity_domain::Platform;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// Where one server's world is kept.
pub(crate) struct Store {
    dir: PathBuf,
    path: PathBuf,
    /// Held from taking a snapshot of the world until it is on disk, so that a save holding an older
    /// snapshot can never rename it over a newer one when requests finish at the same time.
    order: Mutex<()>,
}

impl Store {
    /// The store for `platform` in `dir` (created if missing) and the world saved there: an empty one when
    /// there is no file yet. A file that cannot be read or parsed is an error rather than a fresh start, so
    /// that tokens handed out earlier do not silently stop working.
    pub(crate) fn open(dir: &Path, platform: Platform) -> io::Result<(Store, World)> {
        let path = dir.join(format!("sandbox-{}.json", platform.as_str()));
        let world = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("sandbox state file {} is not valid: {err}", path.display()),
                )
            })?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => World::default(),
            Err(err) => {
                return Err(io::Error::new(
                    err.kind(),
                    format!("cannot read sandbox state file {}: {err}", path.display()),
                ))
            }
        };
        // Created now rather than at the first save, so that a directory that cannot be made fails the
        // start instead of every later request.
        create_dir(dir).map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "cannot create sandbox state directory {}: {err}",
                    dir.display()
                ),
            )
        })?;
        let store = Store {
            dir: dir.to_path_buf(),
            path,
            order: Mutex::new(()),
        };
        Ok((store, world))
    }

    /// Serialises saves; see `order`.
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.order.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Replaces the file with `bytes` atomically: written to a temporary file in the same directory (a
    /// rename is only atomic within one file system) and renamed over the old one, so that a reader, or a
    /// process that dies mid-write, only ever sees a complete file.
    pub(crate) fn write(&self, bytes: &[u8]) -> io::Result<()> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The process id keeps two processes sharing the directory off each other's temporary file.
        let temp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let result = write_file(&temp, bytes).and_then(|()| fs::rename(&temp, &self.path));
        if result.is_err() {
            // Best effort: a leftover temporary file is harmless, the error that matters is returned.
            let _ = fs::remove_file(&temp);
        }
        result.map_err(|err| {
            io::Error::new(
                err.kind(),
                format!(
                    "cannot save sandbox state file {}: {err}",
                    self.path.display()
                ),
            )
        })
    }
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // The files hold live tokens: a directory made here is for its owner only.
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = open_private(path)?;
    file.write_all(bytes)?;
    // On disk before the rename, or a crash could leave the new name pointing at an empty file.
    file.sync_all()
}

/// Creates or truncates `path` readable by its owner only: the file holds live tokens.
#[cfg(unix)]
fn open_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies to a file this call creates; a leftover one keeps its permissions otherwise.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

/// The outermost layer of a server that keeps its state: once the handler (and, on X, the rate headers)
/// are done, saves the world if the request changed it, before the answer leaves. A client that holds a
/// token can then rely on it being on disk, even if the process exits right after.
pub(crate) async fn save_after(
    State(srv): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let server = srv.clone();
    // File I/O blocks, so it runs off the async workers.
    match tokio::task::spawn_blocking(move || server.save()).await {
        Ok(Ok(())) => {}
        // The answer still goes out: the request did take effect in this process, and the world stays
        // marked as changed, so the next request tries the save again.
        Ok(Err(err)) => {
            tracing::warn!(platform = %srv.platform, error = %err, "sandbox state not saved")
        }
        Err(err) => {
            tracing::warn!(platform = %srv.platform, error = %err, "sandbox state save failed")
        }
    }
    response
}

/// Serde for maps keyed by a pair of strings: JSON object keys can only be strings, so such a map is
/// written as a list of `[[first, second], value]` entries.
pub(crate) mod pair_keyed {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::HashMap;

    type Key = (String, String);

    pub(crate) fn serialize<V: Serialize, S: Serializer>(
        map: &HashMap<Key, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map)
    }

    pub(crate) fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<Key, V>, D::Error> {
        let entries: Vec<(Key, V)> = Vec::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};
    use std::collections::HashMap;

    #[derive(Serialize, Deserialize, Default, PartialEq, Debug)]
    struct Keyed {
        #[serde(with = "pair_keyed")]
        map: HashMap<(String, String), u32>,
    }

    #[test]
    fn pair_keyed_maps_round_trip_through_json() {
        let mut keyed = Keyed::default();
        keyed.map.insert(("a".into(), "b".into()), 1);
        let text = serde_json::to_string(&keyed).unwrap();
        assert_eq!(text, r#"{"map":[[["a","b"],1]]}"#);
        assert_eq!(serde_json::from_str::<Keyed>(&text).unwrap(), keyed);
    }
}
