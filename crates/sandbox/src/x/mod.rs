//! X's OAuth 2.0 (authorization code with PKCE, rotating refresh tokens) and API v2 (docs/platforms/x.md §4).

pub(crate) mod media;

use crate::ids::{self, handle};
use crate::request::Params;
use crate::simulator::{Pkce, Simulator};
use crate::state::{Caller, Server, TokenKind};
use crate::token::{ClientAuth, Refusal, TokenEndpoint};
use crate::{authorize, avatar_url, oauth_error, Reject};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const ACCESS_LIFETIME: TimeDelta = TimeDelta::hours(2);
/// X counts requests in 15-minute windows.
const WINDOW: TimeDelta = TimeDelta::minutes(15);
/// A refresh token is only issued when the person granted this scope.
const OFFLINE: &str = "offline.access";
const INVALID_TOKEN: &str = "Value passed for the token was invalid.";

pub(crate) const SIMULATOR: Simulator = Simulator {
    client_param: "client_id",
    scope_separator: " ",
    code_by_default: false,
    pkce: Pkce::Required {
        why: "X requires PKCE (code_challenge and code_challenge_method)",
    },
    denial: &[
        ("error", "access_denied"),
        (
            "error_description",
            "The user denied the authorization request.",
        ),
    ],
    user_id,
    new_code: |_| ids::secret(""),
    routes,
    not_found: |_, _| not_found().into_response(),
    // Outside the gate, so that injected server errors carry the headers too.
    outer_layers: |router, srv| router.layer(middleware::from_fn_with_state(srv, rate_headers)),
    seed_json: |_, name| seed_json(name),
    rate_limited,
    server_error: || server_error().into_response(),
};

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/i/oauth2/authorize", get(authorize::page))
        .route("/i/oauth2/authorize/decide", post(authorize::decide))
        .route("/2/oauth2/token", TOKENS.token_route())
        .route("/2/oauth2/revoke", TOKENS.revoke_route())
        .route("/2/users/me", get(me))
        .route("/2/tweets", post(create_tweet))
        .route("/2/media/upload/initialize", post(media::initialize))
        // A segment takes up to 5 MB, more than axum's default body limit.
        .route(
            "/2/media/upload/{id}/append",
            post(media::append).layer(axum::extract::DefaultBodyLimit::max(media::MAX_APPEND_BODY)),
        )
        .route("/2/media/upload/{id}/finalize", post(media::finalize))
        .route("/2/media/upload", get(media::status))
        .route("/_sandbox/media-behaviour", post(media::set_behaviour))
        .route("/_sandbox/media", get(media::uploads))
        .route("/2/tweets/{id}", get(tweet).delete(delete_tweet))
        .route("/2/users/{id}/tweets", get(timeline))
}

pub(crate) fn user_id(name: &str) -> String {
    ids::stable_digits("x-user", name, 19)
}

pub(crate) fn seed_json(name: &str) -> Value {
    json!({ "id": user_id(name), "name": name, "username": handle(name) })
}

/// Request counts per (endpoint, caller) and window, behind the `x-rate-limit-*` headers. Saved with the
/// world, as X keeps counting across a client's restarts.
#[derive(Default, serde::Serialize, serde::Deserialize)]
// As for `World`: a file saved before a field existed still loads.
#[serde(default)]
pub(crate) struct XState {
    #[serde(with = "crate::persist::pair_keyed")]
    windows: HashMap<(String, String), (DateTime<Utc>, u32)>,
    pub(crate) media: media::MediaState,
}

impl XState {
    /// Counts one request; returns what is left in the window and when the window resets.
    fn spend(
        &mut self,
        endpoint: String,
        caller: String,
        now: DateTime<Utc>,
    ) -> (u32, DateTime<Utc>) {
        let limit = limit_for(&endpoint);
        let window = self.windows.entry((endpoint, caller)).or_insert((now, 0));
        if now >= window.0 + WINDOW {
            *window = (now, 0);
        }
        window.1 += 1;
        (limit.saturating_sub(window.1), window.0 + WINDOW)
    }
}

/// Per-user 15-minute limits of the endpoints served (docs/platforms/x.md §4.8 for posting).
fn limit_for(path: &str) -> u32 {
    match path {
        "/2/tweets" => 200,
        "/2/users/me" => 75,
        _ => 900,
    }
}

/// `/2/tweets/123456` → `/2/tweets/:id`, so every post shares one window as on X. Ids are long numbers;
/// the short `2` is the API version.
fn endpoint(path: &str) -> String {
    path.split('/')
        .map(|s| {
            if s.len() > 4 && s.chars().all(|c| c.is_ascii_digit()) {
                ":id"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn set_rate_headers(response: &mut Response, limit: u32, remaining: u32, reset: DateTime<Utc>) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", limit.to_string()),
        ("x-rate-limit-remaining", remaining.to_string()),
        ("x-rate-limit-reset", reset.timestamp().to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

/// Adds `x-rate-limit-*` to every API answer. The counts are real but not enforced: a test decides when X
/// says 429 (through `/_sandbox/faults`), so that a long benchmark never trips over a window by accident.
pub(crate) async fn rate_headers(
    State(srv): State<Arc<Server>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if !path.starts_with("/2/") {
        return next.run(request).await;
    }
    let bearer = crate::request::bearer(request.headers()).map(str::to_string);
    let mut response = next.run(request).await;
    if response.headers().contains_key("x-rate-limit-limit") {
        return response;
    }
    let now = Utc::now();
    let endpoint = endpoint(&path);
    let limit = limit_for(&endpoint);
    let (remaining, reset) = {
        let mut world = srv.world();
        let caller = world
            .authenticate(bearer.as_deref(), now)
            .map_or_else(|_| "app".to_string(), |c| c.user_id);
        world.x.spend(endpoint, caller, now)
    };
    set_rate_headers(&mut response, limit, remaining, reset);
    response
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/// X's problem envelope.
fn problem(status: StatusCode, title: &str, detail: &str) -> Reject {
    Reject::new(
        status,
        json!({ "title": title, "type": "about:blank", "status": status.as_u16(), "detail": detail }),
    )
}

fn unauthorized() -> Reject {
    problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
}

fn forbidden(detail: &str) -> Reject {
    problem(StatusCode::FORBIDDEN, "Forbidden", detail)
}

pub(super) fn invalid_request(message: &str) -> Reject {
    Reject::new(
        StatusCode::BAD_REQUEST,
        json!({
            "errors": [{ "message": message }],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }),
    )
}

/// A spent window: X announces when it resets, a whole window after `now` at most.
pub(crate) fn rate_limited(path: &str, now: DateTime<Utc>) -> Response {
    let mut response = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too Many Requests",
        "Too Many Requests",
    )
    .into_response();
    let limit = limit_for(&endpoint(path));
    set_rate_headers(&mut response, limit, 0, now + WINDOW);
    response
}

pub(crate) fn server_error() -> Reject {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        "Internal Server Error",
    )
}

fn not_found() -> Reject {
    Reject::new(
        StatusCode::NOT_FOUND,
        json!({ "errors": [{ "message": "Sorry, that page does not exist", "code": 34 }] }),
    )
}

// ---------------------------------------------------------------------------------------------------------
// OAuth

/// X's token endpoint (docs/platforms/x.md §4.1): HTTP Basic for confidential clients (a `client_id` in the
/// body must then agree), or just a `client_id` in the body for public ones; PKCE on every exchange;
/// refresh tokens rotate.
static TOKENS: TokenEndpoint = TokenEndpoint {
    client_auth: ClientAuth::BasicOrPublic,
    exchange_needs: &["code_verifier"],
    rotates: true,
    answer: |world, issue, now| issue_pair(world, issue.grant(), now),
    refuse,
    revoked: || Json(json!({ "revoked": true })).into_response(),
};

fn refuse(refusal: Refusal) -> Reject {
    let (status, error, description) = match refusal {
        Refusal::Missing(name) => {
            return bad_request(&format!("Missing required parameter [{name}]."));
        }
        Refusal::BadClient => (
            StatusCode::UNAUTHORIZED,
            "unauthorized_client",
            "Missing valid authorization header",
        ),
        Refusal::ClientMismatch => (
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "The client_id in the body does not match the Authorization header.",
        ),
        Refusal::GrantType => (
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token.",
        ),
        Refusal::Code(_) => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the authorization code was invalid.",
        ),
        Refusal::Verifier => (
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Value passed for the code verifier did not match the code challenge.",
        ),
        Refusal::Refresh => (StatusCode::BAD_REQUEST, "invalid_request", INVALID_TOKEN),
    };
    oauth_error(status, error, description)
}

fn bad_request(description: &str) -> Reject {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// A new access token, and a new refresh token when the grant includes `offline.access` (a grant without
/// it has no refresh token to renew with).
fn issue_pair(world: &mut crate::state::World, grant: usize, now: DateTime<Utc>) -> Value {
    let scopes = world
        .grant(grant)
        .map(|g| g.scopes.clone())
        .unwrap_or_default();
    let access = world.issue(grant, TokenKind::Access, "", Some(ACCESS_LIFETIME), now);
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": ACCESS_LIFETIME.num_seconds(),
        "access_token": access,
        "scope": scopes.join(" "),
    });
    if scopes.iter().any(|s| s == OFFLINE) {
        body["refresh_token"] = json!(world.issue(grant, TokenKind::Refresh, "", None, now));
    }
    body
}

// ---------------------------------------------------------------------------------------------------------
// API

pub(crate) fn authenticate(
    srv: &Server,
    params: &Params,
    scopes: &[&str],
) -> Result<Caller, Reject> {
    let caller = srv
        .world()
        .authenticate(params.bearer(), Utc::now())
        .map_err(|_| unauthorized())?;
    if let Some(missing) = scopes.iter().find(|s| !caller.has(s)) {
        return Err(forbidden(&format!(
            "This request needs the {missing} scope, which the user did not grant to this app."
        )));
    }
    Ok(caller)
}

async fn me(State(srv): State<Arc<Server>>, params: Params) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params, &["tweet.read", "users.read"])?;
    let mut user = json!({
        "id": caller.user_id,
        "name": caller.user_name,
        "username": handle(&caller.user_name),
    });
    let extra = params.query("user.fields").unwrap_or_default();
    for field in extra.split(',').map(str::trim) {
        match field {
            "profile_image_url" => {
                user[field] = json!(avatar_url(&srv, &caller.user_id));
            }
            "verified" | "protected" => user[field] = json!(false),
            "public_metrics" => {
                user[field] = json!({
                    "followers_count": crate::ids::followers(&caller.user_id),
                    "following_count": 0,
                    "tweet_count": 0,
                    "listed_count": 0,
                });
            }
            "description" => user[field] = json!(""),
            _ => {}
        }
    }
    Ok(Json(json!({ "data": user })))
}

async fn create_tweet(State(srv): State<Arc<Server>>, params: Params) -> Result<Response, Reject> {
    let caller = authenticate(&srv, &params, &["tweet.write"])?;
    if let Some(error) = &params.body_error {
        return Err(invalid_request(error));
    }
    let body = params
        .json
        .as_ref()
        .ok_or_else(|| invalid_request("The body must be a JSON object."))?;
    let text = body.get("text").and_then(Value::as_str).unwrap_or_default();
    let media_ids: Vec<String> = match body.pointer("/media/media_ids") {
        None => Vec::new(),
        Some(ids) => ids
            .as_array()
            .filter(|ids| !ids.is_empty())
            .and_then(|ids| {
                ids.iter()
                    .map(|id| id.as_str().map(str::to_string))
                    .collect()
            })
            .ok_or_else(|| {
                invalid_request("media.media_ids must be a list of media id strings.")
            })?,
    };
    let has_media = !media_ids.is_empty();
    if text.is_empty() && !has_media {
        return Err(invalid_request(
            "The text field is required unless media is attached.",
        ));
    }
    let mut world = srv.world();
    if let Some(refusal) = world.x.media.refusal(&caller.user_id, &media_ids) {
        return Err(invalid_request(&refusal));
    }
    let replying_to = body
        .pointer("/reply/in_reply_to_tweet_id")
        .map(|id| id.as_str().unwrap_or_default().to_string());
    if let Some(parent) = &replying_to {
        if world.refuse_comments {
            return Err(forbidden(
                "Reply to this conversation is not allowed because you have not been mentioned or otherwise engaged by the author of the post you are replying to.",
            ));
        }
        if !world.posts().iter().any(|p| &p.id == parent) {
            return Err(invalid_request(
                "The post you are replying to does not exist or is not visible to you.",
            ));
        }
    }
    let duplicate = world
        .posts()
        .iter()
        .any(|p| p.author == caller.user_id && p.text == text);
    if duplicate {
        return Err(forbidden(
            "You are not allowed to create a Tweet with duplicate content.",
        ));
    }
    let id = (1_900_000_000_000_000_000u64 + world.next_serial()).to_string();
    world.add_post(id.clone(), caller.user_id.clone(), text.to_string());
    world.x.media.attach(&media_ids, &id);
    if let Some(parent) = &replying_to {
        world.add_comment(parent, &caller.user_id, text);
    }
    tracing::debug!(platform = %srv.platform, user_id = %caller.user_id, post = %id, "post created");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": { "id": id, "text": text, "edit_history_tweet_ids": [id] } })),
    )
        .into_response())
}

/// `DELETE /2/tweets/:id`: the caller's own post, with tweet.write.
async fn delete_tweet(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    let caller = authenticate(&srv, &params, &["tweet.read", "tweet.write", "users.read"])?;
    let mut world = srv.world();
    if world
        .posts()
        .iter()
        .any(|p| p.id == id && p.author != caller.user_id)
    {
        return Err(forbidden(
            "You are not allowed to delete a Tweet that is not yours.",
        ));
    }
    let deleted = world.remove_post(&id, &caller.user_id);
    Ok(Json(json!({ "data": { "deleted": deleted } })))
}

/// A user's posts, newest first, from `start_time` on (X's user Tweet timeline; `max_results` 5 to 100).
async fn timeline(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    authenticate(&srv, &params, &["tweet.read", "users.read"])?;
    let max_results = match params.query("max_results") {
        None => 10,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (5..=100).contains(n))
            .ok_or_else(|| invalid_request("max_results must be a number from 5 to 100."))?,
    };
    let start_time = params
        .query("start_time")
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid_request("start_time must be an RFC 3339 timestamp."))
        })
        .transpose()?;
    let world = srv.world();
    let posts: Vec<Value> = world
        .posts()
        .iter()
        .rev()
        .filter(|p| p.author == id && start_time.is_none_or(|from| p.at >= from))
        .take(max_results)
        .map(|p| json!({ "id": p.id, "text": p.text, "edit_history_tweet_ids": [p.id] }))
        .collect();
    let mut body = json!({ "meta": { "result_count": posts.len() } });
    if !posts.is_empty() {
        body["data"] = Value::Array(posts);
    }
    Ok(Json(body))
}

/// Like X, an unknown id is a 200 whose body has `errors` instead of `data`.
async fn tweet(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, Reject> {
    authenticate(&srv, &params, &["tweet.read"])?;
    let world = srv.world();
    Ok(match world.posts().iter().find(|p| p.id == id) {
        Some(post) => Json(json!({
            "data": { "id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id] }
        })),
        None => Json(json!({
            "errors": [{
                "value": id,
                "detail": format!("Could not find tweet with id: [{id}]."),
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "id",
                "resource_id": id,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }]
        })),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_down_and_reset() {
        let mut state = XState::default();
        let now = Utc::now();
        let first = state.spend("/2/users/me".into(), "u".into(), now);
        assert_eq!(first.0, 74);
        assert_eq!(first.1, now + WINDOW);
        assert_eq!(state.spend("/2/users/me".into(), "u".into(), now).0, 73);
        // Another caller has its own window.
        assert_eq!(state.spend("/2/users/me".into(), "v".into(), now).0, 74);
        let later = now + WINDOW;
        assert_eq!(state.spend("/2/users/me".into(), "u".into(), later).0, 74);
    }

    #[test]
    fn endpoints_group_ids() {
        assert_eq!(endpoint("/2/tweets/1900000000000000001"), "/2/tweets/:id");
        assert_eq!(endpoint("/2/users/me"), "/2/users/me");
    }
}
