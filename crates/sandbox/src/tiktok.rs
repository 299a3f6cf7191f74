//! TikTok's Login Kit v2 (`client_key`, rotating refresh tokens) and the Content Posting API: creator info,
//! video and photo init, chunked upload and status (docs/platforms/tiktok.md §6).

use crate::ids::{self, handle, pkce_matches};
use crate::request::Params;
use crate::simulator::{no_layers, Pkce, Simulator};
use crate::state::{Caller, CodeError, Server, TokenKind, World};
use crate::{authorize, avatar_url, Reject};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The older v2 page's lifetimes (docs/platforms/tiktok.md §6.2): 24 hours, and 365 days for the refresh
/// token.
const ACCESS_LIFETIME: TimeDelta = TimeDelta::hours(24);
const REFRESH_LIFETIME: TimeDelta = TimeDelta::days(365);
const PRIVACY_LEVELS: [&str; 3] = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"];
/// The largest chunk TikTok takes (the final one, docs/platforms/tiktok.md §6.6), plus room for the request
/// itself.
const UPLOAD_LIMIT: usize = 130 * 1024 * 1024;

pub(crate) const SIMULATOR: Simulator = Simulator {
    client_param: "client_key",
    scope_separator: ",",
    code_by_default: false,
    pkce: Pkce::Optional,
    denial: &[
        ("error", "access_denied"),
        ("error_description", "The user canceled the authorization."),
    ],
    user_id,
    // TikTok's codes carry `*` and `!`, which is why its docs insist that clients URL-decode them.
    new_code: |world| format!("{}*0!{}.va", ids::secret(""), world.next_serial()),
    routes,
    not_found: |_, uri| not_found(uri).into_response(),
    outer_layers: no_layers,
    seed_json: |_, name| seed_json(name),
    rate_limited: |_, _| rate_limited().into_response(),
    server_error: || server_error().into_response(),
};

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/v2/auth/authorize/", get(authorize::page))
        .route("/v2/auth/authorize/decide", post(authorize::decide))
        .route("/v2/oauth/token/", post(token))
        .route("/v2/oauth/revoke/", post(revoke))
        .route("/v2/user/info/", get(user_info))
        .route("/v2/post/publish/creator_info/query/", post(creator_info))
        .route("/v2/post/publish/video/init/", post(video_init))
        .route("/v2/post/publish/content/init/", post(content_init))
        .route("/v2/post/publish/status/fetch/", post(status))
        .route(
            "/video/",
            put(upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
}

pub(crate) fn user_id(name: &str) -> String {
    format!("-000{}", ids::stable_alnum("tiktok-open-id", name, 28))
}

fn union_id(name: &str) -> String {
    ids::stable_alnum("tiktok-union-id", name, 32)
}

pub(crate) fn seed_json(name: &str) -> Value {
    json!({
        "id": user_id(name),
        "name": name,
        "union_id": union_id(name),
        "username": handle(name),
    })
}

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

// ---------------------------------------------------------------------------------------------------------
// Errors

fn log_id() -> String {
    format!(
        "{}{}",
        Utc::now().format("%Y%m%d%H%M%S"),
        ids::random_alnum(18).to_uppercase()
    )
}

/// TikTok's API envelope: `data`, and an `error` object that says `ok` on success.
fn envelope(data: Value, code: &str, message: &str) -> Value {
    json!({ "data": data, "error": { "code": code, "message": message, "log_id": log_id() } })
}

fn ok(data: Value) -> Json<Value> {
    Json(envelope(data, "ok", ""))
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Reject {
    Reject::new(status, envelope(json!({}), code, message))
}

fn invalid_params(message: &str) -> Reject {
    api_error(StatusCode::BAD_REQUEST, "invalid_params", message)
}

pub(crate) fn rate_limited() -> Reject {
    api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
        "The API rate limit was exceeded. Please try again later.",
    )
}

pub(crate) fn server_error() -> Reject {
    api_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong. Please try again later.",
    )
}

fn not_found(uri: &Uri) -> Reject {
    api_error(
        StatusCode::NOT_FOUND,
        "invalid_params",
        &format!("{} is not an endpoint of this sandbox", uri.path()),
    )
}

/// TikTok's OAuth errors carry a `log_id` and come back as 400 whatever the cause.
fn oauth_error(error: &str, description: &str) -> Reject {
    Reject::new(
        StatusCode::BAD_REQUEST,
        json!({ "error": error, "error_description": description, "log_id": log_id() }),
    )
}

// ---------------------------------------------------------------------------------------------------------
// OAuth

fn client(srv: &Server, params: &Params) -> Result<String, Reject> {
    let key = params
        .form("client_key")
        .ok_or_else(|| oauth_error("invalid_request", "Missing client_key."))?;
    match srv.app(key) {
        Some(app) if params.form("client_secret") == Some(app.client_secret.as_str()) => {
            Ok(key.to_string())
        }
        _ => Err(oauth_error(
            "invalid_client",
            "Client key or secret is incorrect.",
        )),
    }
}

async fn token(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
    let client_key = client(&srv, &params)?;
    match params.form("grant_type") {
        Some("authorization_code") => exchange_code(&srv, &params, &client_key),
        Some("refresh_token") => refresh(&srv, &params, &client_key),
        _ => Err(oauth_error(
            "invalid_request",
            "grant_type must be authorization_code or refresh_token.",
        )),
    }
}

fn exchange_code(srv: &Server, params: &Params, client_key: &str) -> Result<Json<Value>, Reject> {
    let code = params
        .form("code")
        .ok_or_else(|| oauth_error("invalid_request", "Missing code."))?;
    let now = Utc::now();
    let mut world = srv.world();
    let details = world
        .check_code(code, client_key, params.form("redirect_uri"), now)
        .map_err(|e| match e {
            CodeError::RedirectMismatch => oauth_error(
                "invalid_request",
                "redirect_uri does not match the authorization request.",
            ),
            CodeError::Expired => oauth_error("invalid_grant", "Authorization code is expired."),
            CodeError::Unknown | CodeError::WrongClient | CodeError::Used => oauth_error(
                "invalid_grant",
                "Authorization code is invalid or already used.",
            ),
        })?;
    // PKCE is optional on the web: checked only when the authorization request carried a challenge.
    if let Some(challenge) = &details.challenge {
        let verifier = params
            .form("code_verifier")
            .ok_or_else(|| oauth_error("invalid_request", "Missing code_verifier."))?;
        if !pkce_matches(challenge.method, &challenge.value, verifier) {
            return Err(oauth_error(
                "invalid_grant",
                "code_verifier does not match the code_challenge.",
            ));
        }
    }
    let grant = world.consume_code(code, details);
    tracing::debug!(platform = %srv.platform, %client_key, grant, "code exchanged");
    Ok(issue_pair(&mut world, grant, now))
}

fn issue_pair(world: &mut World, grant: usize, now: DateTime<Utc>) -> Json<Value> {
    let (open_id, scopes) = world
        .grant(grant)
        .map(|g| (g.user_id.clone(), g.scopes.join(",")))
        .unwrap_or_default();
    let access = world.issue(grant, TokenKind::Access, "act.", Some(ACCESS_LIFETIME), now);
    let refresh = world.issue(
        grant,
        TokenKind::Refresh,
        "rft.",
        Some(REFRESH_LIFETIME),
        now,
    );
    Json(json!({
        "open_id": open_id,
        "scope": scopes,
        "access_token": access,
        "expires_in": ACCESS_LIFETIME.num_seconds(),
        "refresh_token": refresh,
        "refresh_expires_in": REFRESH_LIFETIME.num_seconds(),
        "token_type": "Bearer",
    }))
}

/// Refresh tokens rotate: the one presented is spent and a new pair is returned.
fn refresh(srv: &Server, params: &Params, client_key: &str) -> Result<Json<Value>, Reject> {
    let presented = params
        .form("refresh_token")
        .ok_or_else(|| oauth_error("invalid_request", "Missing refresh_token."))?;
    let now = Utc::now();
    let mut world = srv.world();
    let (grant, _) = world
        .check_refresh(presented, client_key, now)
        .map_err(|e| {
            tracing::debug!(platform = %srv.platform, reason = ?e, "refresh refused");
            oauth_error("invalid_grant", "Refresh token is invalid or expired.")
        })?;
    world.retire(presented);
    tracing::debug!(platform = %srv.platform, %client_key, grant, "refresh token rotated");
    Ok(issue_pair(&mut world, grant, now))
}

async fn revoke(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
    let client_key = client(&srv, &params)?;
    let token = params
        .form("token")
        .ok_or_else(|| oauth_error("invalid_request", "Missing token."))?;
    if let Some(grant) = srv.world().revoke_for_client(token, &client_key) {
        tracing::debug!(platform = %srv.platform, %client_key, grant, "grant revoked by the client");
    }
    Ok(Json(json!({})))
}

// ---------------------------------------------------------------------------------------------------------
// API

fn authenticate(srv: &Server, params: &Params) -> Result<Caller, Reject> {
    srv.world()
        .authenticate(params.bearer(), Utc::now())
        .map_err(|_| {
            api_error(
                StatusCode::UNAUTHORIZED,
                "access_token_invalid",
                "The access token is invalid or not found in the request.",
            )
        })
}

fn scope_not_authorized() -> Reject {
    api_error(
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
        "The user did not authorize the scope required for completing this request.",
    )
}

fn require(caller: &Caller, scope: &str) -> Result<(), Reject> {
    if caller.has(scope) {
        Ok(())
    } else {
        Err(scope_not_authorized())
    }
}

/// The scope each user field needs (docs/platforms/tiktok.md §6.3; the mapping beyond `user.info.basic` is
/// unverified).
fn field_scope(field: &str) -> Option<&'static str> {
    match field {
        "open_id" | "union_id" | "avatar_url" | "avatar_url_100" | "avatar_large_url"
        | "display_name" => Some("user.info.basic"),
        "username" | "bio_description" | "profile_deep_link" | "is_verified" => {
            Some("user.info.profile")
        }
        "follower_count" | "following_count" | "likes_count" | "video_count" => {
            Some("user.info.stats")
        }
        _ => None,
    }
}

/// The fields asked for. The endpoint needs `user.info.basic`; a field under a scope that was not granted
/// is left out rather than failing the whole call, so a person who unticked an optional scope can still
/// connect.
async fn user_info(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    require(&caller, "user.info.basic")?;
    let fields = params
        .query("fields")
        .filter(|f| !f.is_empty())
        .ok_or_else(|| invalid_params("The fields parameter is required."))?;
    let name = &caller.user_name;
    let mut user = serde_json::Map::new();
    for field in fields.split(',').map(str::trim) {
        let scope =
            field_scope(field).ok_or_else(|| invalid_params(&format!("Unknown field: {field}")))?;
        if !caller.has(scope) {
            continue;
        }
        let value = match field {
            "open_id" => json!(caller.user_id),
            "union_id" => json!(union_id(name)),
            "avatar_url" | "avatar_url_100" | "avatar_large_url" => {
                json!(avatar_url(&srv, &caller.user_id))
            }
            "display_name" => json!(name),
            "username" => json!(handle(name)),
            "bio_description" => json!(""),
            "profile_deep_link" => json!(format!("https://www.tiktok.com/@{}", handle(name))),
            "is_verified" => json!(false),
            "follower_count" => json!(crate::ids::followers(&caller.user_id)),
            _ => json!(0),
        };
        user.insert(field.to_string(), value);
    }
    Ok(ok(json!({ "user": user })))
}

async fn creator_info(
    State(srv): State<Arc<Server>>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params)?;
    require(&caller, "video.publish")?;
    Ok(ok(json!({
        "creator_avatar_url": avatar_url(&srv, &caller.user_id),
        "creator_username": handle(&caller.user_name),
        "creator_nickname": caller.user_name,
        "privacy_level_options": PRIVACY_LEVELS,
        "comment_disabled": false,
        "duet_disabled": false,
        "stitch_disabled": false,
        "max_video_post_duration_sec": 600,
    })))
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

async fn video_init(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
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

async fn content_init(
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
struct UploadQuery {
    upload_id: String,
    upload_token: String,
}

/// The upload URL: `PUT` with `Content-Range: bytes first-last/total`, chunks in order. 206 until the
/// last byte, then 201.
async fn upload(
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
async fn status(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
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

    #[test]
    fn open_ids_are_stable() {
        assert_eq!(user_id("Ann Lee"), user_id("Ann Lee"));
        assert!(user_id("Ann Lee").starts_with("-000"));
        assert_ne!(user_id("Ann Lee"), user_id("Bob"));
    }
}
