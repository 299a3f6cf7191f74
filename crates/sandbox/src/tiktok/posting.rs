//! TikTok's Content Posting API: creator info, video and photo init (pulled from a URL or uploaded in
//! chunks) and the publish status (docs/platforms/tiktok.md §6).

use super::{
    api_error, authenticate, invalid_params, ok, require, scope_not_authorized, PRIVACY_LEVELS,
};
use crate::ids;
use crate::request::Params;
use crate::state::Server;
use crate::Reject;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Publishing jobs, by `publish_id`.
#[derive(Default, Serialize, Deserialize)]
// As for `World`: a file saved before a field existed still loads.
#[serde(default)]
pub(crate) struct TiktokState {
    publishes: HashMap<String, Publish>,
    /// `upload_id` → `publish_id`, for the upload URL.
    uploads: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct Publish {
    owner: String,
    title: String,
    /// Inbox drafts end as `SEND_TO_USER_INBOX` rather than published.
    inbox: bool,
    upload: Option<Upload>,
    fetches: u32,
    post_id: Option<u64>,
    /// Why pulling the media failed (`video_pull_failed`, `photo_pull_failed`); the publish ends `FAILED`.
    #[serde(default)]
    fail_reason: Option<String>,
    /// Its media never finishes downloading (a URL under `.stalled.test`).
    #[serde(default)]
    stalled: bool,
}

#[derive(Serialize, Deserialize)]
struct Upload {
    token: String,
    size: u64,
    received: u64,
}

/// The JSON body, or the answer explaining why there is none.
fn json_body(params: &Params) -> Result<&Value, Reject> {
    if let Some(message) = &params.body_error {
        return Err(invalid_params(message));
    }
    params
        .json
        .as_ref()
        .ok_or_else(|| invalid_params("The body must be JSON."))
}

/// Checks `post_info.privacy_level` against the creator's options; returns the title.
fn post_info(body: &Value) -> Result<String, Reject> {
    let info = body
        .get("post_info")
        .ok_or_else(|| invalid_params("post_info is required."))?;
    let privacy = info
        .get("privacy_level")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_params("post_info.privacy_level is required."))?;
    if !PRIVACY_LEVELS.contains(&privacy) {
        return Err(api_error(
            StatusCode::BAD_REQUEST,
            "privacy_level_option_mismatch",
            "privacy_level is not one of the creator's privacy_level_options.",
        ));
    }
    Ok(info
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string())
}

fn positive(source: &Value, name: &str) -> Result<u64, Reject> {
    source
        .get(name)
        .and_then(Value::as_u64)
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid_params(&format!("source_info.{name} must be a positive integer.")))
}

pub(super) async fn video_init(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    require(&caller, "video.publish")?;
    let body = json_body(&params)?;
    let title = post_info(body)?;
    let source = body
        .get("source_info")
        .ok_or_else(|| invalid_params("source_info is required."))?;
    let mut world = srv.world();
    let serial = world.next_serial();
    let mut fail_reason = None;
    let mut stalled = false;
    let (publish_id, upload) = match source.get("source").and_then(Value::as_str) {
        Some("PULL_FROM_URL") => {
            let url = source
                .get("video_url")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid_params("source_info.video_url is required."))?;
            fail_reason = crate::unfetchable(url).then(|| "video_pull_failed".to_string());
            stalled = crate::stalls(url);
            (format!("v_pub_url~v2-1.{serial}"), None)
        }
        Some("FILE_UPLOAD") => {
            let size = positive(source, "video_size")?;
            let chunk = positive(source, "chunk_size")?;
            let chunks = positive(source, "total_chunk_count")?;
            // As docs/platforms/tiktok.md §6.6 has it, the count is floor(size / chunk); the last chunk takes
            // the remainder.
            if chunk > size || chunks != (size / chunk).max(1) {
                return Err(invalid_params(
                    "total_chunk_count must be floor(video_size / chunk_size), with chunk_size <= video_size.",
                ));
            }
            let upload = Upload {
                token: ids::random_alnum(24),
                size,
                received: 0,
            };
            (format!("v_pub_file~v2-1.{serial}"), Some(upload))
        }
        _ => {
            return Err(invalid_params(
                "source_info.source must be FILE_UPLOAD or PULL_FROM_URL.",
            ))
        }
    };
    let mut data = json!({ "publish_id": publish_id });
    if let Some(upload) = &upload {
        data["upload_url"] = json!(format!(
            "{}/video/?upload_id={serial}&upload_token={}",
            srv.base_url, upload.token
        ));
        world
            .tiktok
            .uploads
            .insert(serial.to_string(), publish_id.clone());
    }
    world.tiktok.publishes.insert(
        publish_id,
        Publish {
            owner: caller.user_id,
            title,
            inbox: false,
            upload,
            fetches: 0,
            post_id: None,
            fail_reason,
            stalled,
        },
    );
    Ok(ok(data))
}

pub(super) async fn content_init(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    let body = json_body(&params)?;
    if body.get("media_type").and_then(Value::as_str) != Some("PHOTO") {
        return Err(invalid_params("media_type must be PHOTO."));
    }
    // Direct posts need video.publish; drafts sent to the creator's inbox need video.upload.
    let inbox = match body.get("post_mode").and_then(Value::as_str) {
        Some("DIRECT_POST") => false,
        Some("MEDIA_UPLOAD") => true,
        _ => {
            return Err(invalid_params(
                "post_mode must be DIRECT_POST or MEDIA_UPLOAD.",
            ))
        }
    };
    require(
        &caller,
        if inbox {
            "video.upload"
        } else {
            "video.publish"
        },
    )?;
    let title = if inbox {
        body.pointer("/post_info/title")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        post_info(body)?
    };
    let source = body
        .get("source_info")
        .ok_or_else(|| invalid_params("source_info is required."))?;
    let images: Vec<&str> = source
        .get("photo_images")
        .and_then(Value::as_array)
        .map(|images| images.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has_images = !images.is_empty();
    if source.get("source").and_then(Value::as_str) != Some("PULL_FROM_URL") || !has_images {
        return Err(invalid_params(
            "source_info needs source PULL_FROM_URL and at least one photo_images URL.",
        ));
    }
    let mut world = srv.world();
    let publish_id = format!("p_pub_url~v2.{}", world.next_serial());
    world.tiktok.publishes.insert(
        publish_id.clone(),
        Publish {
            owner: caller.user_id,
            title,
            inbox,
            upload: None,
            fetches: 0,
            post_id: None,
            fail_reason: images
                .iter()
                .any(|url| crate::unfetchable(url))
                .then(|| "photo_pull_failed".to_string()),
            stalled: images.iter().any(|url| crate::stalls(url)),
        },
    );
    Ok(ok(json!({ "publish_id": publish_id })))
}

/// The upload URL's query.
#[derive(Deserialize)]
pub(super) struct UploadQuery {
    upload_id: String,
    upload_token: String,
}

/// The upload URL: `PUT` with `Content-Range: bytes first-last/total`, chunks in order. 206 until the
/// last byte, then 201.
pub(super) async fn upload(
    State(srv): State<Arc<Server>>,
    Query(query): Query<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, Reject> {
    let (first, last, total) = headers
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_range)
        .ok_or_else(|| invalid_params("Content-Range must be \"bytes {first}-{last}/{total}\"."))?;
    let mut world = srv.world();
    let tiktok = &mut world.tiktok;
    let upload = tiktok
        .uploads
        .get(&query.upload_id)
        .and_then(|id| tiktok.publishes.get_mut(id))
        .and_then(|p| p.upload.as_mut())
        .filter(|u| u.token == query.upload_token)
        .ok_or_else(|| api_error(StatusCode::NOT_FOUND, "invalid_params", "Unknown upload."))?;
    let length = u64::try_from(body.len()).unwrap_or(u64::MAX);
    if total != upload.size || first != upload.received || last + 1 - first != length {
        return Err(api_error(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_file_upload",
            &format!(
                "Expected the bytes from {} of {} in order, with a body as long as the range.",
                upload.received, upload.size
            ),
        ));
    }
    upload.received = last + 1;
    Ok(if upload.received == upload.size {
        StatusCode::CREATED
    } else {
        StatusCode::PARTIAL_CONTENT
    })
}

/// `bytes 0-99/1000` → (0, 99, 1000).
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total) = (
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    );
    (first <= last && last < total).then_some((first, last, total))
}

/// An uploaded file waits in `PROCESSING_UPLOAD`; then the first fetch says `PROCESSING_DOWNLOAD` and the
/// next ones the outcome.
pub(super) async fn status(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    if !caller.has("video.publish") && !caller.has("video.upload") {
        return Err(scope_not_authorized());
    }
    let publish_id = json_body(&params)?
        .get("publish_id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid_params("publish_id is required."))?
        .to_string();
    let mut world = srv.world();
    let publish = world
        .tiktok
        .publishes
        .get_mut(&publish_id)
        .filter(|p| p.owner == caller.user_id)
        .ok_or_else(|| invalid_params("Unknown publish_id."))?;
    let uploaded = publish.upload.as_ref().map_or(0, |u| u.received);
    if publish.upload.as_ref().is_some_and(|u| u.received < u.size) {
        return Ok(ok(
            json!({ "status": "PROCESSING_UPLOAD", "uploaded_bytes": uploaded }),
        ));
    }
    publish.fetches += 1;
    if publish.fetches == 1 || publish.stalled {
        return Ok(ok(
            json!({ "status": "PROCESSING_DOWNLOAD", "uploaded_bytes": uploaded }),
        ));
    }
    if let Some(reason) = &publish.fail_reason {
        return Ok(ok(
            json!({ "status": "FAILED", "fail_reason": reason, "uploaded_bytes": uploaded }),
        ));
    }
    if publish.inbox {
        return Ok(ok(
            json!({ "status": "SEND_TO_USER_INBOX", "uploaded_bytes": uploaded }),
        ));
    }
    let existing = publish.post_id;
    let title = publish.title.clone();
    let post_id = match existing {
        Some(id) => id,
        None => {
            let id = 7_300_000_000_000_000_000u64 + world.next_serial();
            if let Some(p) = world.tiktok.publishes.get_mut(&publish_id) {
                p.post_id = Some(id);
            }
            world.add_post(id.to_string(), caller.user_id.clone(), title);
            tracing::debug!(platform = %srv.platform, %publish_id, post_id = id, "post published");
            id
        }
    };
    Ok(ok(json!({
        "status": "PUBLISH_COMPLETE",
        // Spelled as TikTok spells it.
        "publicaly_available_post_id": [post_id],
        "uploaded_bytes": uploaded,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse_and_reject_nonsense() {
        assert_eq!(parse_content_range("bytes 0-99/1000"), Some((0, 99, 1000)));
        assert_eq!(parse_content_range("bytes 99-0/1000"), None);
        assert_eq!(parse_content_range("bytes 0-1000/1000"), None);
        assert_eq!(parse_content_range("0-99/1000"), None);
    }
}
