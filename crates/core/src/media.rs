//! Media uploaded to the service, for posts: kept in the data directory and served at an unguessable URL
//! so that the platforms (which fetch media themselves) can reach it.

use crate::{Caller, Core, CoreError};
use serde::Serialize;

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
        let dir = &self.settings.media_dir;
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| CoreError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        tokio::fs::write(dir.join(&file), body)
            .await
            .map_err(|e| CoreError::Internal(format!("cannot write media {file}: {e}")))?;
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

    /// A stored upload and its content type; `None` for a name this service did not write.
    pub async fn media(&self, file: &str) -> Result<Option<(Vec<u8>, &'static str)>, CoreError> {
        let Some(content_type) = content_type_of(file) else {
            return Ok(None);
        };
        match tokio::fs::read(self.settings.media_dir.join(file)).await {
            Ok(bytes) => Ok(Some((bytes, content_type))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CoreError::Internal(format!(
                "cannot read media {file}: {e}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
