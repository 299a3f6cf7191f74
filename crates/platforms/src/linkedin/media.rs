//! LinkedIn's media uploads (docs/platforms/linkedin.md §5.6): images through the Images API, a video
//! through the Videos API in parts, each step named when it fails, and nothing published then.

use super::{Linkedin, NAME};
use crate::error::{ErrorClass, PlatformError};
use crate::http::{MAX_POLLS, POLL_INTERVAL};
use crate::Media;
use iquivity_domain::TokenSet;
use reqwest::Method;
use secrecy::ExposeSecret;

/// The Videos API's `initializeUpload` answer: the video's URN and where each part goes.
#[derive(serde::Deserialize)]
struct VideoUpload {
    value: VideoTarget,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoTarget {
    video: String,
    upload_instructions: Vec<UploadInstruction>,
    #[serde(default)]
    upload_token: String,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadInstruction {
    upload_url: String,
    first_byte: u64,
    last_byte: u64,
}

#[derive(serde::Deserialize)]
struct VideoStatus {
    status: String,
}

/// `initializeUpload`'s answer: where to PUT the bytes, and the image's URN.
#[derive(serde::Deserialize)]
struct InitializedUpload {
    value: UploadTarget,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct UploadTarget {
    upload_url: String,
    image: String,
}

impl Linkedin {
    /// Uploads one of the post's images (the `n`-th) through the Images API (docs/platforms/linkedin.md
    /// §5.6): `initializeUpload` for the author, then the bytes PUT to the upload URL it answers. The
    /// image's URN; a failure names the step, and nothing is published.
    pub(super) async fn upload_image(
        &self,
        tokens: &TokenSet,
        author: &str,
        media: &Media,
        n: usize,
    ) -> Result<String, PlatformError> {
        let file = media.file_to_upload(NAME, n)?;
        let started: InitializedUpload = self
            .app
            .send_json(
                self.rest(Method::POST, "/rest/images?action=initializeUpload", tokens)
                    .json(&serde_json::json!({ "initializeUploadRequest": { "owner": author } })),
            )
            .await
            .map_err(|e| e.before_publishing(&format!("media {n}, initialize")))?;
        self.app
            .send_ok(
                self.app
                    .client
                    .put(&started.value.upload_url)
                    .bearer_auth(tokens.access_token.expose_secret())
                    .header(reqwest::header::CONTENT_TYPE, &file.content_type)
                    .body(file.bytes.to_vec()),
            )
            .await
            .map_err(|e| e.before_publishing(&format!("media {n}, upload")))?;
        Ok(started.value.image)
    }

    /// Uploads the post's video (the `n`-th media) through the Videos API (docs/platforms/linkedin.md §5.6):
    /// `initializeUpload` with its size, each part PUT to its URL (keeping the ETags), `finalizeUpload`
    /// with them in order, then the video's status until LinkedIn has processed it. Its URN; a failure
    /// names the step, and nothing is published.
    pub(super) async fn upload_video(
        &self,
        tokens: &TokenSet,
        author: &str,
        media: &Media,
        n: usize,
    ) -> Result<String, PlatformError> {
        let step = |what: &str| format!("media {n}, {what}");
        let file = media.file_to_upload(NAME, n)?;
        let started: VideoUpload = self
            .app
            .send_json(
                self.rest(Method::POST, "/rest/videos?action=initializeUpload", tokens)
                    .json(&serde_json::json!({ "initializeUploadRequest": {
                        "owner": author,
                        "fileSizeBytes": file.bytes.len(),
                        "uploadCaptions": false,
                        "uploadThumbnail": false,
                    }})),
            )
            .await
            .map_err(|e| e.before_publishing(&step("initialize")))?;
        let mut etags = Vec::with_capacity(started.value.upload_instructions.len());
        for (part, instruction) in started.value.upload_instructions.iter().enumerate() {
            let range = usize::try_from(instruction.first_byte)
                .ok()
                .and_then(|first| {
                    let last = usize::try_from(instruction.last_byte).ok()?;
                    file.bytes.get(first..=last)
                });
            let Some(bytes) = range else {
                return Err(PlatformError::new(
                    NAME,
                    ErrorClass::Rejected,
                    step(&format!(
                        "upload (part {part}): LinkedIn asked for bytes the file does not have"
                    )),
                ));
            };
            let answer = self
                .app
                .send_ok(
                    self.app
                        .client
                        .put(&instruction.upload_url)
                        .bearer_auth(tokens.access_token.expose_secret())
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(bytes.to_vec()),
                )
                .await
                .map_err(|e| e.before_publishing(&step(&format!("upload (part {part})"))))?;
            let etag = answer
                .headers
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    PlatformError::new(
                        NAME,
                        ErrorClass::Unavailable,
                        step(&format!("upload (part {part}): LinkedIn answered no ETag")),
                    )
                })?;
            etags.push(etag.to_string());
        }
        self.app
            .send_ok(
                self.rest(Method::POST, "/rest/videos?action=finalizeUpload", tokens)
                    .json(&serde_json::json!({ "finalizeUploadRequest": {
                        "video": started.value.video,
                        "uploadToken": started.value.upload_token,
                        "uploadedPartIds": etags,
                    }})),
            )
            .await
            .map_err(|e| e.before_publishing(&step("finalize")))?;
        let urn: String =
            url::form_urlencoded::byte_serialize(started.value.video.as_bytes()).collect();
        for look in 0..MAX_POLLS {
            if look > 0 {
                tokio::time::sleep(POLL_INTERVAL).await;
            }
            let status: VideoStatus = self
                .get(&format!("/rest/videos/{urn}"), tokens)
                .await
                .map_err(|e| e.before_publishing(&step("status")))?;
            match status.status.as_str() {
                "AVAILABLE" => return Ok(started.value.video),
                "PROCESSING_FAILED" => {
                    return Err(PlatformError::new(
                        NAME,
                        ErrorClass::Rejected,
                        step("LinkedIn could not process it; nothing was published"),
                    ))
                }
                _ => {}
            }
        }
        Err(PlatformError::new(
            NAME,
            ErrorClass::Unavailable,
            step("LinkedIn was still processing it after several seconds; nothing was published"),
        ))
    }
}
