//! X's chunked media upload (docs/platforms/x.md §4.6): initialize, append in segments, finalize, then
//! the processing status; each step named when it fails, and nothing published then.

use super::{NAME, X};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{MAX_POLLS, POLL_INTERVAL};
use crate::{Media, MediaKind};
use iquivity_domain::TokenSet;
use reqwest::Method;
use serde::Deserialize;

/// Appended segments of at most 4 MiB (X takes up to 5 MB a segment).
const SEGMENT_BYTES: usize = 4 * 1024 * 1024;

/// An uploaded media's answer (`initialize`, `finalize`, `STATUS`): its id and, for what X processes
/// (videos, GIFs), how far that is.
#[derive(Deserialize)]
struct Uploaded {
    data: UploadedMedia,
}

#[derive(Deserialize)]
struct UploadedMedia {
    id: String,
    #[serde(default)]
    processing_info: Option<Processing>,
}

#[derive(Deserialize)]
struct Processing {
    state: String,
    #[serde(default)]
    error: Option<ProcessingError>,
}

#[derive(Deserialize)]
struct ProcessingError {
    #[serde(default)]
    message: Option<String>,
}

impl X {
    /// Uploads one of the post's media (the `n`-th) through X's chunked flow (docs/platforms/x.md §4.6):
    /// initialize with its size and category, append it in segments in order, finalize, then wait while X
    /// processes it. Its id, for the post; a failure names the step, and nothing is published.
    pub(super) async fn upload(
        &self,
        tokens: &TokenSet,
        media: &Media,
        n: usize,
    ) -> Result<String, PlatformError> {
        let step = |what: &str| format!("media {n}, {what}");
        let file = media.file_to_upload(NAME, n)?;
        let category = match (media.kind, file.content_type.as_str()) {
            (MediaKind::Video, _) => "tweet_video",
            (_, "image/gif") => "tweet_gif",
            _ => "tweet_image",
        };
        let started: Uploaded = self
            .app
            .send_json(
                self.app
                    .api(Method::POST, "/2/media/upload/initialize", tokens)
                    .json(&serde_json::json!({
                        "media_type": file.content_type,
                        "total_bytes": file.bytes.len(),
                        "media_category": category,
                    })),
            )
            .await
            .map_err(|e| e.before_publishing(&step("initialize")))?;
        let id = started.data.id;
        for (index, segment) in file.bytes.chunks(SEGMENT_BYTES).enumerate() {
            let part = reqwest::multipart::Part::bytes(segment.to_vec())
                .file_name("media")
                .mime_str(&file.content_type)
                .map_err(|_| {
                    PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        step("its type is not one X takes"),
                    )
                })?;
            let form = reqwest::multipart::Form::new()
                .text("segment_index", index.to_string())
                .part("media", part);
            self.app
                .send_ok(
                    self.app
                        .api(
                            Method::POST,
                            &format!("/2/media/upload/{id}/append"),
                            tokens,
                        )
                        .multipart(form),
                )
                .await
                .map_err(|e| e.before_publishing(&step(&format!("append (segment {index})"))))?;
        }
        let mut processed: Uploaded = self
            .app
            .send_json(self.app.api(
                Method::POST,
                &format!("/2/media/upload/{id}/finalize"),
                tokens,
            ))
            .await
            .map_err(|e| e.before_publishing(&step("finalize")))?;
        for look in 0..=MAX_POLLS {
            let Some(processing) = &processed.data.processing_info else {
                return Ok(id);
            };
            match processing.state.as_str() {
                "succeeded" => return Ok(id),
                "failed" => {
                    let why = processing
                        .error
                        .as_ref()
                        .and_then(|e| e.message.clone())
                        .unwrap_or_else(|| "no reason given".into());
                    return Err(PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        step(&format!(
                            "X could not process it ({why}); nothing was published"
                        )),
                    ));
                }
                _ if look == MAX_POLLS => break,
                _ => {}
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            processed = self
                .app
                .send_json(
                    self.app
                        .api(Method::GET, "/2/media/upload", tokens)
                        .query(&[("command", "STATUS"), ("media_id", id.as_str())]),
                )
                .await
                .map_err(|e| e.before_publishing(&step("status")))?;
        }
        Err(PlatformError::new(
            NAME,
            ErrorClass::Unavailable,
            step("X was still processing it after several seconds; nothing was published"),
        ))
    }
}
