//! LinkedIn's Images API (docs/platforms/linkedin.md §5.6): `initializeUpload` names the owner (the person
//! or organisation that will post it) and answers an upload URL and the image's URN; the bytes are PUT
//! there by the same member; a post may then show the image (`content.media.id`) or several
//! (`content.multiImage.images`, 2 to 20), only once uploaded and only as its owner.

use crate::request::Params;
use crate::state::Server;
use crate::Reject;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The largest image the sandbox takes (LinkedIn states a pixel count; this bounds the bytes).
pub(crate) const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// How many images a multi-image post takes.
const MULTI_IMAGE: std::ops::RangeInclusive<usize> = 2..=20;

#[derive(Serialize, Deserialize)]
struct Image {
    /// The URN of the person or organisation that owns it.
    owner: String,
    /// The member who initialized it: the only one who may upload its bytes.
    uploader: String,
    bytes: usize,
    /// The post that shows it.
    posted_in: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ImageState {
    images: HashMap<String, Image>,
}

impl ImageState {
    /// The images a post's `content` shows, checked for `author`; why not, when it cannot show them.
    pub(crate) fn images_of(&self, author: &str, content: &Value) -> Result<Vec<String>, String> {
        let urns: Vec<String> = if let Some(id) = content.pointer("/media/id") {
            vec![id.as_str().unwrap_or_default().to_string()]
        } else if let Some(images) = content.pointer("/multiImage/images") {
            let urns: Vec<String> = images
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| i["id"].as_str().unwrap_or_default().to_string())
                        .collect()
                })
                .unwrap_or_default();
            if !MULTI_IMAGE.contains(&urns.len()) {
                return Err(format!(
                    "content.multiImage.images must hold 2 to 20 images, not {}",
                    urns.len()
                ));
            }
            urns
        } else {
            return Ok(Vec::new());
        };
        for urn in &urns {
            match self.images.get(urn) {
                None => return Err(format!("{urn} is not an image")),
                Some(image) if image.owner != author => {
                    return Err(format!("{urn} is not owned by {author}"))
                }
                Some(image) if image.bytes == 0 => {
                    return Err(format!("{urn} has not been uploaded yet"))
                }
                Some(_) => {}
            }
        }
        Ok(urns)
    }

    pub(crate) fn post(&mut self, urns: &[String], post: &str) {
        for urn in urns {
            if let Some(image) = self.images.get_mut(urn) {
                image.posted_in = Some(post.to_string());
            }
        }
    }
}

/// `POST /rest/images?action=initializeUpload {"initializeUploadRequest": {"owner": urn}}`.
pub(crate) async fn initialize(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    super::require_version(&params)?;
    let caller = super::authenticate(&srv, &params)?;
    if params.query("action") != Some("initializeUpload") {
        return Err(super::illegal_argument("action must be initializeUpload"));
    }
    let owner = params
        .json
        .as_ref()
        .and_then(|b| b.pointer("/initializeUploadRequest/owner"))
        .and_then(Value::as_str)
        .ok_or_else(|| super::missing_field("initializeUploadRequest.owner"))?
        .to_string();
    if !super::may_post_as(&caller, &owner) {
        return Err(super::access_denied(&format!(
            "uploading images for {owner}"
        )));
    }
    let mut world = srv.world();
    let id = format!("D4E10AQ{}", 5_000_000 + world.next_serial());
    let urn = format!("urn:li:image:{id}");
    world.linkedin_images.images.insert(
        urn.clone(),
        Image {
            owner,
            uploader: caller.user_id.clone(),
            bytes: 0,
            posted_in: None,
        },
    );
    Ok(Json(json!({
        "value": {
            "uploadUrlExpiresAt": (chrono::Utc::now() + chrono::TimeDelta::days(1)).timestamp_millis(),
            "uploadUrl": format!("{}/dms-uploads/{id}", srv.base_url),
            "image": urn,
        }
    })))
}

/// `PUT /dms-uploads/{id}`: the image's bytes, by the member who initialized it.
pub(crate) async fn upload(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<StatusCode, Reject> {
    let caller = super::authenticate(&srv, &params)?;
    if params.raw.is_empty() || params.raw.len() > MAX_IMAGE_BYTES {
        return Err(super::illegal_argument(
            "An image must hold from 1 byte to 8 MB",
        ));
    }
    let mut world = srv.world();
    let image = world
        .linkedin_images
        .images
        .get_mut(&format!("urn:li:image:{id}"))
        .filter(|i| i.uploader == caller.user_id)
        .ok_or_else(|| super::access_denied("uploading this image"))?;
    image.bytes = params.raw.len();
    Ok(StatusCode::CREATED)
}

/// `GET /_sandbox/images`: every image, for tests.
pub(crate) async fn images(State(srv): State<Arc<Server>>) -> Json<Value> {
    let world = srv.world();
    Json(json!(world
        .linkedin_images
        .images
        .iter()
        .map(|(urn, i)| json!({"urn": urn, "owner": i.owner, "bytes": i.bytes, "posted_in": i.posted_in}))
        .collect::<Vec<_>>()))
}
