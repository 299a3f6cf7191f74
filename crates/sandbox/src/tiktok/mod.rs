//! TikTok's Login Kit v2 (`client_key`, rotating refresh tokens) and the Content Posting API: creator info,
//! video and photo init, chunked upload and status (docs/platforms/tiktok.md §6).

mod posting;

pub(crate) use posting::TiktokState;
use posting::{content_init, status, upload, video_init};

use crate::ids::{self, handle};
use crate::request::Params;
use crate::simulator::{no_layers, Pkce, Simulator};
use crate::state::{Caller, CodeError, Server, TokenKind, World};
use crate::token::{ClientAuth, Refusal, TokenEndpoint};
use crate::{authorize, avatar_url, Reject};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
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
        .route("/v2/oauth/token/", TOKENS.token_route())
        .route("/v2/oauth/revoke/", TOKENS.revoke_route())
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

/// TikTok's token endpoint (docs/platforms/tiktok.md §6.2): `client_key` and `client_secret` in the form;
/// PKCE checked when the authorization request carried a challenge; refresh tokens rotate.
static TOKENS: TokenEndpoint = TokenEndpoint {
    client_auth: ClientAuth::Form {
        id_field: "client_key",
    },
    exchange_needs: &[],
    rotates: true,
    answer: |world, issue, now| issue_pair(world, issue.grant(), now),
    refuse,
    revoked: || Json(json!({})).into_response(),
};

fn refuse(refusal: Refusal) -> Reject {
    match refusal {
        Refusal::Missing(name) => oauth_error("invalid_request", &format!("Missing {name}.")),
        Refusal::BadClient | Refusal::ClientMismatch => {
            oauth_error("invalid_client", "Client key or secret is incorrect.")
        }
        Refusal::GrantType => oauth_error(
            "invalid_request",
            "grant_type must be authorization_code or refresh_token.",
        ),
        Refusal::Code(CodeError::RedirectMismatch) => oauth_error(
            "invalid_request",
            "redirect_uri does not match the authorization request.",
        ),
        Refusal::Code(CodeError::Expired) => {
            oauth_error("invalid_grant", "Authorization code is expired.")
        }
        Refusal::Code(_) => oauth_error(
            "invalid_grant",
            "Authorization code is invalid or already used.",
        ),
        Refusal::Verifier => oauth_error(
            "invalid_grant",
            "code_verifier does not match the code_challenge.",
        ),
        Refusal::Refresh => oauth_error("invalid_grant", "Refresh token is invalid or expired."),
    }
}

/// A new pair, for a consent and for a renewal alike.
fn issue_pair(world: &mut World, grant: usize, now: DateTime<Utc>) -> Value {
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
    json!({
        "open_id": open_id,
        "scope": scopes,
        "access_token": access,
        "expires_in": ACCESS_LIFETIME.num_seconds(),
        "refresh_token": refresh,
        "refresh_expires_in": REFRESH_LIFETIME.num_seconds(),
        "token_type": "Bearer",
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_ids_are_stable() {
        assert_eq!(user_id("Ann Lee"), user_id("Ann Lee"));
        assert!(user_id("Ann Lee").starts_with("-000"));
        assert_ne!(user_id("Ann Lee"), user_id("Bob"));
    }
}
