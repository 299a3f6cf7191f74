//! X's chunked media upload (API v2; docs/platforms/x.md §4.6), as strict as X about the order of the steps:
//! initialize with the type, size and category; append the segments in order; finalize once the bytes
//! add up; then, for videos and GIFs, processing that the client polls with `STATUS` until it succeeds or
//! fails. A post may attach only media that are finalized, processed and its own, at most four.
//!
//! Tests make an upload go wrong with `POST /_sandbox/media-behaviour`: refuse one segment, fail the
//! processing, or never finish it; the behaviour holds for the uploads started after it.

use super::invalid_request;
use crate::request::Params;
use crate::state::{Processing, Server};
use crate::Reject;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const MB: u64 = 1024 * 1024;
/// The most one appended segment may hold.
const MAX_SEGMENT: usize = 5 * MB as usize;
/// An append's whole body: a segment and the multipart framing around it.
pub(crate) const MAX_APPEND_BODY: usize = MAX_SEGMENT + 64 * 1024;
/// Looks at a processing upload before it is done.
const PROCESSING_LOOKS: u32 = 2;
/// The most media one post takes.
pub(crate) const MAX_ATTACHED: usize = 4;

/// How the uploads started from now on behave.
#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Behaviour {
    /// This segment index is refused when appended.
    refuse_segment: Option<usize>,
    processing: Processing,
}

#[derive(Serialize, Deserialize)]
struct Upload {
    owner: String,
    media_type: String,
    category: String,
    total_bytes: u64,
    /// Bytes appended, in order.
    received: u64,
    next_segment: usize,
    finalized: bool,
    looks: u32,
    behaviour: Behaviour,
    /// The post it was attached to.
    attached_to: Option<String>,
}

impl Upload {
    /// Videos and GIFs are processed after they are finalized; images are ready at once.
    fn processed(&self) -> bool {
        self.category == "tweet_image"
    }

    /// `processing_info` as X says it, after `looks` looks.
    fn processing_info(&self) -> Option<Value> {
        if self.processed() {
            return None;
        }
        Some(match (self.behaviour.processing, self.looks) {
            (Processing::Fails, looks) if looks >= PROCESSING_LOOKS => json!({
                "state": "failed",
                "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video codec"},
            }),
            (Processing::Succeeds, looks) if looks >= PROCESSING_LOOKS => {
                json!({"state": "succeeded", "progress_percent": 100})
            }
            (_, 0) => json!({"state": "pending", "check_after_secs": 1}),
            _ => json!({"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}),
        })
    }

    fn ready(&self) -> bool {
        self.finalized
            && (self.processed()
                || (self.behaviour.processing == Processing::Succeeds
                    && self.looks >= PROCESSING_LOOKS))
    }
}

/// The uploads and the behaviour new ones take. Saved with the world.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MediaState {
    uploads: HashMap<String, Upload>,
    behaviour: Behaviour,
}

impl MediaState {
    /// Why `ids` cannot be attached to a post by `owner`, if they cannot.
    pub(crate) fn refusal(&self, owner: &str, ids: &[String]) -> Option<String> {
        if ids.len() > MAX_ATTACHED {
            return Some(format!("A post takes at most {MAX_ATTACHED} media."));
        }
        ids.iter()
            .any(|id| {
                !self
                    .uploads
                    .get(id)
                    .is_some_and(|u| u.owner == owner && u.ready())
            })
            .then(|| "Your media IDs are invalid.".to_string())
    }

    /// The owner's upload `id`, while it is in progress (`finalized` false) or once it is finalized.
    fn upload_of(&mut self, id: &str, owner: &str, finalized: bool) -> Result<&mut Upload, Reject> {
        self.uploads
            .get_mut(id)
            .filter(|u| u.owner == owner && u.finalized == finalized)
            .ok_or_else(|| {
                invalid_request(if finalized {
                    "The media id is not a finalized upload of this user."
                } else {
                    "The media id is not an upload in progress of this user."
                })
            })
    }

    /// Notes that `ids` went out with `post`.
    pub(crate) fn attach(&mut self, ids: &[String], post: &str) {
        for id in ids {
            if let Some(upload) = self.uploads.get_mut(id) {
                upload.attached_to = Some(post.to_string());
            }
        }
    }
}

/// The largest file X takes of a type and category; `None`: not a type or category it takes together.
fn limit(media_type: &str, category: &str) -> Option<u64> {
    match (category, media_type) {
        ("tweet_image", "image/jpeg" | "image/png" | "image/webp") => Some(5 * MB),
        ("tweet_gif", "image/gif") => Some(15 * MB),
        ("tweet_video", "video/mp4" | "video/quicktime") => Some(512 * MB),
        _ => None,
    }
}

/// `POST /2/media/upload/initialize`.
pub(crate) async fn initialize(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = super::authenticate(&srv, &params, &["media.write"])?;
    let body = params
        .json
        .as_ref()
        .ok_or_else(|| invalid_request("The body must be a JSON object."))?;
    let media_type = body["media_type"].as_str().unwrap_or_default();
    let category = body["media_category"].as_str().unwrap_or_default();
    let total_bytes = body["total_bytes"].as_u64().unwrap_or(0);
    let Some(max) = limit(media_type, category) else {
        return Err(invalid_request(&format!(
            "media_type {media_type:?} does not go with media_category {category:?}."
        )));
    };
    if total_bytes == 0 || total_bytes > max {
        return Err(invalid_request(&format!(
            "total_bytes must be from 1 to {max} for {category}."
        )));
    }
    let mut world = srv.world();
    let id = (1_880_000_000_000_000_000u64 + world.next_serial()).to_string();
    let behaviour = world.x.media.behaviour;
    world.x.media.uploads.insert(
        id.clone(),
        Upload {
            owner: caller.user_id.clone(),
            media_type: media_type.to_string(),
            category: category.to_string(),
            total_bytes,
            received: 0,
            next_segment: 0,
            finalized: false,
            looks: 0,
            behaviour,
            attached_to: None,
        },
    );
    Ok(Json(json!({
        "data": {"id": id, "media_key": format!("3_{id}"), "expires_after_secs": 86_400}
    })))
}

/// The caller's unfinished upload named in the path (`/2/media/upload/{id}/…`).
fn upload_id(params: &Params) -> String {
    params
        .path
        .trim_start_matches("/2/media/upload/")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `POST /2/media/upload/{id}/append`: multipart `segment_index` and `media`, in order.
pub(crate) async fn append(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = super::authenticate(&srv, &params, &["media.write"])?;
    if let Some(error) = &params.body_error {
        return Err(invalid_request(error));
    }
    let id = upload_id(&params);
    let index: usize = params
        .part("segment_index")
        .and_then(|p| std::str::from_utf8(&p.bytes).ok()?.trim().parse().ok())
        .ok_or_else(|| invalid_request("segment_index is required and must be a number."))?;
    let media = params
        .part("media")
        .ok_or_else(|| invalid_request("media is required."))?;
    if media.bytes.is_empty() || media.bytes.len() > MAX_SEGMENT {
        return Err(invalid_request("A segment must hold from 1 byte to 5 MB."));
    }
    let mut world = srv.world();
    let upload = world.x.media.upload_of(&id, &caller.user_id, false)?;
    if upload.behaviour.refuse_segment == Some(index) {
        return Err(invalid_request("The segment could not be read."));
    }
    if index != upload.next_segment {
        return Err(invalid_request(&format!(
            "Segments are appended in order: expected segment_index {}.",
            upload.next_segment
        )));
    }
    if upload.received + media.bytes.len() as u64 > upload.total_bytes {
        return Err(invalid_request(
            "The segments add up to more than total_bytes.",
        ));
    }
    upload.received += media.bytes.len() as u64;
    upload.next_segment += 1;
    Ok(Json(json!({"data": {"expires_at": 86_400}})))
}

/// `POST /2/media/upload/{id}/finalize`: once every byte announced has come.
pub(crate) async fn finalize(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = super::authenticate(&srv, &params, &["media.write"])?;
    let id = upload_id(&params);
    let mut world = srv.world();
    let upload = world.x.media.upload_of(&id, &caller.user_id, false)?;
    if upload.received != upload.total_bytes {
        return Err(invalid_request(&format!(
            "Received {} of the {} bytes announced.",
            upload.received, upload.total_bytes
        )));
    }
    upload.finalized = true;
    let mut data = json!({"id": id, "media_key": format!("3_{id}"), "size": upload.total_bytes});
    if let Some(info) = upload.processing_info() {
        data["processing_info"] = info;
    }
    Ok(Json(json!({ "data": data })))
}

/// `GET /2/media/upload?command=STATUS&media_id=…`: each look moves processing on.
pub(crate) async fn status(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = super::authenticate(&srv, &params, &["media.write"])?;
    if params.query("command") != Some("STATUS") {
        return Err(invalid_request("command must be STATUS."));
    }
    let id = params.query("media_id").unwrap_or_default().to_string();
    let mut world = srv.world();
    let upload = world.x.media.upload_of(&id, &caller.user_id, true)?;
    upload.looks += 1;
    let mut data = json!({"id": id, "media_key": format!("3_{id}")});
    if let Some(info) = upload.processing_info() {
        data["processing_info"] = info;
    }
    Ok(Json(json!({ "data": data })))
}

/// `POST /_sandbox/media-behaviour {refuse_segment?, processing?}`: how the next uploads go.
pub(crate) async fn set_behaviour(
    State(srv): State<Arc<Server>>,
    Json(behaviour): Json<Behaviour>,
) -> StatusCode {
    srv.world().x.media.behaviour = behaviour;
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/media`: every upload, for tests: its state and type.
pub(crate) async fn uploads(State(srv): State<Arc<Server>>) -> Json<Value> {
    let world = srv.world();
    Json(json!(world
        .x
        .media
        .uploads
        .iter()
        .map(|(id, u)| json!({
            "id": id,
            "owner": u.owner,
            "media_type": u.media_type,
            "category": u.category,
            "total_bytes": u.total_bytes,
            "received": u.received,
            "finalized": u.finalized,
            "ready": u.ready(),
            "attached_to": u.attached_to,
        }))
        .collect::<Vec<_>>()))
}
