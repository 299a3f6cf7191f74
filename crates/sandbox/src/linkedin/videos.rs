//! LinkedIn's Videos API (docs/platforms/linkedin.md §5.6): `initializeUpload` names the owner and the
//! file's size and answers the video's URN with an upload URL per 4 MB part; each part is PUT there and
//! answers an ETag; `finalizeUpload` takes every part's ETag in order; then LinkedIn processes the video
//! (`GET /rest/videos/{urn}`: `PROCESSING`, then `AVAILABLE` or `PROCESSING_FAILED`). A post may show a
//! video only once it is available, and only as its owner.
//!
//! Tests make an upload go wrong with `POST /_sandbox/video-behaviour`: refuse one part, fail the
//! processing, or never finish it; the behaviour holds for the uploads started after it.

use crate::request::Params;
use crate::state::{Processing, Server};
use crate::Reject;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The size of every part but the last.
pub(crate) const PART_BYTES: u64 = 4 * 1024 * 1024;
/// Looks at a processing video before it is available.
const PROCESSING_LOOKS: u32 = 2;

#[derive(Clone, Copy, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Behaviour {
    refuse_part: Option<usize>,
    processing: Processing,
}

#[derive(Serialize, Deserialize)]
struct Video {
    owner: String,
    uploader: String,
    size: u64,
    /// The ETag of each part uploaded, by part number.
    parts: HashMap<usize, String>,
    finalized: bool,
    looks: u32,
    behaviour: Behaviour,
    posted_in: Option<String>,
}

impl Video {
    fn part_count(&self) -> usize {
        usize::try_from(self.size.div_ceil(PART_BYTES)).unwrap_or(usize::MAX)
    }

    fn status(&self) -> &'static str {
        match (
            self.finalized,
            self.behaviour.processing,
            self.looks >= PROCESSING_LOOKS,
        ) {
            (false, _, _) => "WAITING_UPLOAD",
            (true, Processing::Fails, true) => "PROCESSING_FAILED",
            (true, Processing::Succeeds, true) => "AVAILABLE",
            _ => "PROCESSING",
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct VideoState {
    videos: HashMap<String, Video>,
    behaviour: Behaviour,
}

impl VideoState {
    /// Why a post by `author` cannot show the video `urn`, if it cannot.
    pub(crate) fn refusal(&self, author: &str, urn: &str) -> Option<String> {
        match self.videos.get(urn) {
            None => Some(format!("{urn} is not a video")),
            Some(v) if v.owner != author => Some(format!("{urn} is not owned by {author}")),
            Some(v) if v.status() != "AVAILABLE" => {
                Some(format!("{urn} is not available ({})", v.status()))
            }
            Some(_) => None,
        }
    }

    pub(crate) fn is_video(urn: &str) -> bool {
        urn.starts_with("urn:li:video:")
    }

    pub(crate) fn post(&mut self, urn: &str, post: &str) {
        if let Some(video) = self.videos.get_mut(urn) {
            video.posted_in = Some(post.to_string());
        }
    }
}

/// `POST /rest/videos?action=initializeUpload|finalizeUpload`.
pub(crate) async fn action(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    super::require_version(&params)?;
    let caller = super::authenticate(&srv, &params)?;
    let body = params
        .json
        .clone()
        .ok_or_else(|| super::illegal_argument("The body must be JSON"))?;
    match params.query("action") {
        Some("initializeUpload") => initialize(&srv, &caller, &body),
        Some("finalizeUpload") => finalize(&srv, &caller, &body),
        _ => Err(super::illegal_argument(
            "action must be initializeUpload or finalizeUpload",
        )),
    }
}

fn initialize(
    srv: &Server,
    caller: &crate::state::Caller,
    body: &Value,
) -> Result<Json<Value>, Reject> {
    let request = &body["initializeUploadRequest"];
    let owner = request["owner"]
        .as_str()
        .ok_or_else(|| super::missing_field("initializeUploadRequest.owner"))?;
    let size = request["fileSizeBytes"]
        .as_u64()
        .filter(|s| *s > 0)
        .ok_or_else(|| super::missing_field("initializeUploadRequest.fileSizeBytes"))?;
    if !super::may_post_as(caller, owner) {
        return Err(super::access_denied(&format!(
            "uploading videos for {owner}"
        )));
    }
    let mut world = srv.world();
    let id = format!("C5F10AQ{}", 6_000_000 + world.next_serial());
    let urn = format!("urn:li:video:{id}");
    let behaviour = world.linkedin_videos.behaviour;
    let video = Video {
        owner: owner.to_string(),
        uploader: caller.user_id.clone(),
        size,
        parts: HashMap::new(),
        finalized: false,
        looks: 0,
        behaviour,
        posted_in: None,
    };
    let instructions: Vec<Value> = (0..video.part_count())
        .map(|part| {
            let first = part as u64 * PART_BYTES;
            let last = (first + PART_BYTES).min(size) - 1;
            json!({
                "uploadUrl": format!("{}/dms-uploads/video/{id}/{part}", srv.base_url),
                "firstByte": first,
                "lastByte": last,
            })
        })
        .collect();
    world.linkedin_videos.videos.insert(urn.clone(), video);
    Ok(Json(json!({
        "value": {
            "video": urn,
            "uploadInstructions": instructions,
            "uploadToken": "",
        }
    })))
}

fn finalize(
    srv: &Server,
    caller: &crate::state::Caller,
    body: &Value,
) -> Result<Json<Value>, Reject> {
    let request = &body["finalizeUploadRequest"];
    let urn = request["video"]
        .as_str()
        .ok_or_else(|| super::missing_field("finalizeUploadRequest.video"))?;
    let etags: Vec<String> = request["uploadedPartIds"]
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut world = srv.world();
    let video = world
        .linkedin_videos
        .videos
        .get_mut(urn)
        .filter(|v| v.uploader == caller.user_id && !v.finalized)
        .ok_or_else(|| super::illegal_argument(&format!("{urn} is not an upload in progress")))?;
    let expected: Vec<String> = (0..video.part_count())
        .map(|part| video.parts.get(&part).cloned().unwrap_or_default())
        .collect();
    if etags != expected || expected.iter().any(String::is_empty) {
        return Err(super::illegal_argument(
            "uploadedPartIds must list every part's ETag, in order",
        ));
    }
    video.finalized = true;
    Ok(Json(json!({})))
}

/// `PUT /dms-uploads/video/{id}/{part}`: one part's bytes, by the member who initialized the upload;
/// answers its ETag.
pub(crate) async fn upload_part(
    State(srv): State<Arc<Server>>,
    Path((id, part)): Path<(String, usize)>,
    params: Params,
) -> Result<Response, Reject> {
    let caller = super::authenticate(&srv, &params)?;
    let mut world = srv.world();
    let video = world
        .linkedin_videos
        .videos
        .get_mut(&format!("urn:li:video:{id}"))
        .filter(|v| v.uploader == caller.user_id && !v.finalized)
        .ok_or_else(|| super::access_denied("uploading this video"))?;
    if video.behaviour.refuse_part == Some(part) {
        return Err(super::illegal_argument("The part could not be read"));
    }
    let first = part as u64 * PART_BYTES;
    let expected = (first + PART_BYTES).min(video.size).saturating_sub(first);
    if part >= video.part_count() || params.raw.len() as u64 != expected {
        return Err(super::illegal_argument(&format!(
            "part {part} must hold {expected} bytes"
        )));
    }
    let etag = format!("/ambry-video/part-{id}-{part}");
    video.parts.insert(part, etag.clone());
    Ok((StatusCode::OK, [("etag", etag)]).into_response())
}

/// `GET /rest/videos/{urn}`: each look moves processing on.
pub(crate) async fn video(
    State(srv): State<Arc<Server>>,
    Path(urn): Path<String>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    super::require_version(&params)?;
    let caller = super::authenticate(&srv, &params)?;
    let mut world = srv.world();
    let video = world
        .linkedin_videos
        .videos
        .get_mut(&urn)
        .filter(|v| super::may_post_as(&caller, &v.owner))
        .ok_or_else(|| super::access_denied(&format!("reading {urn}")))?;
    if video.finalized {
        video.looks += 1;
    }
    Ok(Json(
        json!({ "id": urn, "owner": video.owner, "status": video.status() }),
    ))
}

/// `POST /_sandbox/video-behaviour {refuse_part?, processing?}`.
pub(crate) async fn set_behaviour(
    State(srv): State<Arc<Server>>,
    Json(behaviour): Json<Behaviour>,
) -> StatusCode {
    srv.world().linkedin_videos.behaviour = behaviour;
    StatusCode::NO_CONTENT
}

/// `GET /_sandbox/videos`: every video, for tests.
pub(crate) async fn videos(State(srv): State<Arc<Server>>) -> Json<Value> {
    let world = srv.world();
    Json(json!(world
        .linkedin_videos
        .videos
        .iter()
        .map(|(urn, v)| json!({"urn": urn, "owner": v.owner, "size": v.size, "parts": v.parts.len(), "status": v.status(), "posted_in": v.posted_in}))
        .collect::<Vec<_>>()))
}
