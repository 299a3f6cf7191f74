//! Media uploaded to the service, for posts: kept in the data directory and served at an unguessable URL
//! so that the platforms (which fetch media themselves) can reach it.

use crate::outbound::FetchFailure;
use crate::{Caller, Core, CoreError};
use serde::Serialize;
use std::path::Path;

/// An MP4 or QuickTime file's length in whole seconds, from its movie header (`mvhd`: a timescale in units
/// per second and a duration in those units; version 1 widens the times to 64 bits). No crate is needed
/// for these two numbers; `None` when the file has no readable header.
fn mp4_duration_secs(bytes: &[u8]) -> Option<u32> {
    let at = bytes.windows(4).position(|w| w == b"mvhd")? + 4;
    let read = |from: usize, len: usize| bytes.get(at + from..at + from + len);
    let (timescale, duration) = match *bytes.get(at)? {
        0 => (
            u32::from_be_bytes(read(12, 4)?.try_into().ok()?),
            u64::from(u32::from_be_bytes(read(16, 4)?.try_into().ok()?)),
        ),
        1 => (
            u32::from_be_bytes(read(20, 4)?.try_into().ok()?),
            u64::from_be_bytes(read(24, 8)?.try_into().ok()?),
        ),
        _ => return None,
    };
    if timescale == 0 {
        return None;
    }
    u32::try_from(duration / u64::from(timescale)).ok()
}

/// How long fetching one media file may take.
const MEDIA_FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest upload: enough for short videos; longer ones are better given by URL.
pub const MAX_MEDIA_BYTES: usize = 50 * 1024 * 1024;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadedMedia {
    /// Give this as a post's media `url`.
    pub url: String,
    /// `image` or `video`.
    pub kind: &'static str,
    pub bytes: usize,
}

/// The accepted types: what the platforms publish.
fn kind_and_extension(content_type: &str) -> Option<(&'static str, &'static str)> {
    match content_type.split(';').next().unwrap_or_default().trim() {
        "image/jpeg" => Some(("image", "jpg")),
        "image/png" => Some(("image", "png")),
        "image/gif" => Some(("image", "gif")),
        "image/webp" => Some(("image", "webp")),
        "video/mp4" => Some(("video", "mp4")),
        "video/quicktime" => Some(("video", "mov")),
        _ => None,
    }
}

/// The content type of a stored file name, if it is one this service wrote.
pub fn content_type_of(file: &str) -> Option<&'static str> {
    let (stem, extension) = file.split_once('.')?;
    uuid::Uuid::parse_str(stem).ok()?;
    Some(match extension {
        "jpg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        _ => return None,
    })
}

/// Writes `bytes` as `dir/name` whole or not at all: into a temporary file of the same directory, private
/// to this user (0600), flushed to the disk, then renamed into place. On any error (the disk full, above
/// all) the temporary file is removed, so no empty or partial upload is ever left or served. Its name
/// starts with a dot and ends with `.part`, which [`content_type_of`] never accepts.
fn write_whole(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(".{name}.{}.part", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&temp).and_then(|mut out| {
        out.write_all(bytes)?;
        out.sync_all()?;
        drop(out);
        std::fs::rename(&temp, dir.join(name))
    });
    if let Err(err) = written {
        if let Err(cleanup) = std::fs::remove_file(&temp) {
            if cleanup.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %temp.display(), error = %cleanup, "cannot remove a failed upload's temporary file");
            }
        }
        return Err(err);
    }
    // The rename itself is durable once the directory is flushed too.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl Core {
    pub async fn upload_media(
        &self,
        caller: &Caller,
        content_type: &str,
        body: &[u8],
    ) -> Result<UploadedMedia, CoreError> {
        caller.require_manage_accounts()?;
        let (kind, extension) = kind_and_extension(content_type).ok_or_else(|| {
            CoreError::invalid(
                "content-type",
                format!("{content_type:?} is not accepted; send image/jpeg, image/png, image/gif, image/webp, video/mp4 or video/quicktime"),
            )
        })?;
        if body.is_empty() {
            return Err(CoreError::invalid("body", "the file is empty"));
        }
        let file = format!("{}.{extension}", uuid::Uuid::new_v4());
        let dir = self.settings.media_dir.clone();
        let (name, bytes) = (file.clone(), body.to_vec());
        tokio::task::spawn_blocking(move || write_whole(&dir, &name, &bytes))
            .await
            .map_err(|e| CoreError::internal_from("media upload task", e))?
            .map_err(|e| CoreError::internal_from(format!("cannot store media {file}"), e))?;
        tracing::info!(workspace_id = %caller.workspace_id, file, bytes = body.len(), "media uploaded");
        Ok(UploadedMedia {
            url: format!(
                "{}/media/{file}",
                self.settings.callback_base.trim_end_matches('/')
            ),
            kind,
            bytes: body.len(),
        })
    }

    /// Reads each of a post's media for a platform that takes uploads rather than URLs: an upload of this
    /// service from its own disk, anything else fetched under the destination rules of every request made
    /// on a user's behalf (no redirect followed, the address checked as connected), within the platform's
    /// size limit. Why not, as a failure to say on the target: passing (`Err(true)`, try again) or not.
    pub(crate) async fn read_media_files(
        &self,
        content: &mut iquivity_platforms::PostContent,
        limits: &iquivity_platforms::MediaLimits,
    ) -> Result<(), (bool, String)> {
        use iquivity_platforms::{MediaFile, MediaKind};
        let own = format!(
            "{}/media/",
            self.settings.callback_base.trim_end_matches('/')
        );
        for (i, media) in content.media.iter_mut().enumerate() {
            let n = i + 1;
            let max = match media.kind {
                MediaKind::Image => limits.max_image_bytes,
                MediaKind::Video => limits.max_video_bytes,
            };
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            let (bytes, content_type) = match media.url.strip_prefix(&own) {
                Some(file) => match self.media(file).await {
                    Ok(Some((bytes, content_type))) => (bytes, content_type.to_string()),
                    Ok(None) => {
                        return Err((
                            false,
                            format!("media {n}: the uploaded file is gone; upload it again"),
                        ))
                    }
                    Err(err) => {
                        tracing::error!(error = %crate::ErrorChain(&err), "cannot read an uploaded media file");
                        return Err((
                            true,
                            format!("media {n}: the uploaded file could not be read"),
                        ));
                    }
                },
                None => match self
                    .avatars
                    .fetch(&media.url, max, MEDIA_FETCH_TIMEOUT)
                    .await
                {
                    Ok(fetched) => {
                        let content_type = fetched
                            .content_type
                            .as_deref()
                            .and_then(|t| kind_and_extension(t).map(|_| t))
                            .map(|t| t.split(';').next().unwrap_or(t).trim().to_string());
                        match content_type {
                            Some(t) => (fetched.bytes, t),
                            None => return Err((false, format!("media {n}: {} did not answer with an image or video type this service takes", media.url))),
                        }
                    }
                    Err(failure) => {
                        let passing = matches!(
                            failure,
                            FetchFailure::ConnectionFailed | FetchFailure::Timeout
                        ) || matches!(failure, FetchFailure::HttpStatus(status) if status >= 500);
                        return Err((
                            passing,
                            format!("media {n}: fetching {} failed: {failure}", media.url),
                        ));
                    }
                },
            };
            if bytes.len() > max {
                return Err((
                    false,
                    format!(
                        "media {n}: the file is {} bytes, over the {max} the platform takes",
                        bytes.len()
                    ),
                ));
            }
            media.file = Some(MediaFile {
                content_type,
                bytes: std::sync::Arc::new(bytes),
            });
        }
        Ok(())
    }

    /// What is known before scheduling of a post's media that are this service's own uploads: each file's
    /// size and an image's pixel size (read from its header), by URL. Media given by other URLs are
    /// measured by the platform when it fetches them.
    pub(crate) async fn file_facts<'a>(
        &self,
        media: impl Iterator<Item = &'a iquivity_store::MediaRecord>,
    ) -> std::collections::HashMap<String, iquivity_platforms::FileFacts> {
        let own = format!(
            "{}/media/",
            self.settings.callback_base.trim_end_matches('/')
        );
        let mut facts = std::collections::HashMap::new();
        for item in media {
            let Some(file) = item.url.strip_prefix(&own) else {
                continue;
            };
            if content_type_of(file).is_none() || facts.contains_key(&item.url) {
                continue;
            }
            let Ok(bytes) = tokio::fs::read(self.settings.media_dir.join(file)).await else {
                continue;
            };
            let dimensions = imagesize::blob_size(&bytes).ok().and_then(|size| {
                Some((
                    u32::try_from(size.width).ok()?,
                    u32::try_from(size.height).ok()?,
                ))
            });
            facts.insert(
                item.url.clone(),
                iquivity_platforms::FileFacts {
                    bytes: bytes.len() as u64,
                    dimensions,
                    duration_secs: mp4_duration_secs(&bytes),
                },
            );
        }
        facts
    }

    /// A stored upload and its content type; `None` for a name this service did not write.
    pub async fn media(&self, file: &str) -> Result<Option<(Vec<u8>, &'static str)>, CoreError> {
        let Some(content_type) = content_type_of(file) else {
            return Ok(None);
        };
        match tokio::fs::read(self.settings.media_dir.join(file)).await {
            Ok(bytes) => Ok(Some((bytes, content_type))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CoreError::internal_from(
                format!("cannot read media {file}"),
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An MP4 header with a movie header box of `version` giving `duration` units at `timescale` a second.
    fn mp4(version: u8, timescale: u32, duration: u64) -> Vec<u8> {
        let mut bytes = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2".to_vec();
        bytes.extend_from_slice(b"\0\0\0\x6cmoov\0\0\0\x64mvhd");
        bytes.push(version);
        bytes.extend_from_slice(&[0, 0, 0]);
        if version == 0 {
            bytes.extend_from_slice(&[0; 8]);
            bytes.extend_from_slice(&timescale.to_be_bytes());
            bytes.extend_from_slice(&u32::try_from(duration).unwrap().to_be_bytes());
        } else {
            bytes.extend_from_slice(&[0; 16]);
            bytes.extend_from_slice(&timescale.to_be_bytes());
            bytes.extend_from_slice(&duration.to_be_bytes());
        }
        bytes.extend_from_slice(&[0; 80]);
        bytes
    }

    #[test]
    fn a_videos_length_is_read_from_its_movie_header() {
        assert_eq!(mp4_duration_secs(&mp4(0, 1000, 185_500)), Some(185));
        assert_eq!(mp4_duration_secs(&mp4(1, 90_000, 90_000 * 61)), Some(61));
        assert_eq!(mp4_duration_secs(&mp4(0, 0, 10)), None);
        assert_eq!(mp4_duration_secs(b"not a video"), None);
    }

    #[test]
    fn an_upload_is_stored_whole_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("media");
        let name = format!("{}.png", uuid::Uuid::new_v4());
        write_whole(&media, &name, b"picture").unwrap();
        assert_eq!(std::fs::read(media.join(&name)).unwrap(), b"picture");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(media.join(&name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            std::fs::read_dir(&media).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn a_failed_upload_leaves_no_file_behind() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("media");
        let name = format!("{}.png", uuid::Uuid::new_v4());
        // The final name is taken by a directory that is not empty, so the last step (the rename) fails
        // after the bytes were written.
        std::fs::create_dir_all(media.join(&name).join("occupied")).unwrap();
        assert!(write_whole(&media, &name, b"picture").is_err());
        let left: Vec<_> = std::fs::read_dir(&media)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from(&name)],
            "only what was there before"
        );
        assert!(std::fs::metadata(media.join(&name)).unwrap().is_dir());
    }

    #[test]
    fn only_names_this_service_writes_are_served() {
        let name = format!("{}.png", uuid::Uuid::new_v4());
        assert_eq!(content_type_of(&name), Some("image/png"));
        assert_eq!(content_type_of("../keys.json"), None);
        assert_eq!(content_type_of("iquivity.db"), None);
        assert_eq!(
            content_type_of(&format!("{}.exe", uuid::Uuid::new_v4())),
            None
        );
    }
}
