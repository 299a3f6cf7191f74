//! Meta's Graph API as Facebook Login and the Instagram API with Facebook Login use it
//! (docs/platforms/facebook.md §2, docs/platforms/instagram.md §3.1, §3.3, §3.4): the OAuth dialog and token
//! exchanges, the user, Pages, businesses, Instagram accounts, permissions, Page and Instagram publishing.
//! One instance serves Facebook, another Instagram.
//!
//! This file holds what every part shares: the routes, the error envelope, token checks, field selection and
//! paging. The parts: [`seed`] (each person's Pages, business and Instagram accounts), [`oauth`] (token
//! exchanges and permissions), [`pages`] (reading the user, Pages and businesses), [`publish`] (Page posts,
//! photos and videos) and [`instagram`] (containers and the publishing quota).

mod instagram;
mod oauth;
mod pages;
mod publish;
mod seed;

use instagram::{create_container, list_media, media_publish, publishing_limit};
use oauth::{access_token, permissions, revoke_login, revoke_permission};
use pages::{accounts, businesses, client_pages, node, owned_pages};
use publish::{feed, photos, published_posts, videos};
use seed::{seed, Seed, SeedInstagram, SeedPage};
pub(crate) use seed::{seed_json, user_id};

use crate::ids;
use crate::request::Params;
use crate::simulator::{no_layers, Pkce, Simulator};
use crate::state::{Caller, CodeError, RevokeReason, Server, TokenError, TokenKind, World};
use crate::{authorize, avatar_url};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{header, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// What the code exchange returns: a short-lived user token.
const SHORT_LIVED: TimeDelta = TimeDelta::hours(2);
/// What `fb_exchange_token` returns: about 60 days.
const LONG_LIVED: TimeDelta = TimeDelta::days(60);

pub(crate) const SIMULATOR: Simulator = Simulator {
    client_param: "client_id",
    scope_separator: ",",
    // Meta's dialog defaults to a code.
    code_by_default: true,
    // Meta's classic flow uses no PKCE.
    pkce: Pkce::Unused,
    denial: &[
        ("error", "access_denied"),
        ("error_reason", "user_denied"),
        ("error_description", "Permissions error"),
    ],
    user_id,
    new_code: |_| ids::secret("AQ"),
    routes,
    not_found: |method, uri| not_found(method, uri).into_response(),
    outer_layers: no_layers,
    seed_json,
    rate_limited: |_, _| rate_limited(),
    server_error,
};

/// A time as Graph writes it (`2026-12-05T10:00:00+0000`).
fn graph_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%z").to_string()
}

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/{ver}/dialog/oauth", get(authorize::page))
        .route("/{ver}/dialog/oauth/decide", post(authorize::decide))
        .route(
            "/{ver}/oauth/access_token",
            get(access_token).post(access_token),
        )
        .route("/{ver}/{id}", get(node).delete(publish::delete_post))
        .route(
            "/{ver}/{id}/permissions",
            get(permissions).delete(revoke_login),
        )
        .route(
            "/{ver}/{id}/permissions/{permission}",
            axum::routing::delete(revoke_permission),
        )
        .route("/{ver}/{id}/accounts", get(accounts))
        .route("/{ver}/{id}/businesses", get(businesses))
        .route("/{ver}/{id}/owned_pages", get(owned_pages))
        .route("/{ver}/{id}/client_pages", get(client_pages))
        .route("/{ver}/{id}/feed", post(feed))
        .route("/{ver}/{id}/published_posts", get(published_posts))
        .route("/{ver}/{id}/photos", post(photos))
        .route("/{ver}/{id}/videos", post(videos))
        .route("/{ver}/{id}/media", post(create_container).get(list_media))
        .route("/{ver}/{id}/media_publish", post(media_publish))
        .route("/{ver}/{id}/comments", post(publish::comment))
        .route(
            "/{ver}/{id}/content_publishing_limit",
            get(publishing_limit),
        )
        .route_layer(middleware::from_fn(check_version))
}

/// Objects created through the API, beyond each person's seeded Pages and accounts (`seed.rs`).
#[derive(Default, Serialize, Deserialize)]
// As for `World`: a file saved before a field existed still loads.
#[serde(default)]
pub(crate) struct MetaState {
    /// Page tokens already handed out per (user token, Page), so that listing Pages again returns the
    /// same token rather than minting one per call.
    #[serde(with = "crate::persist::pair_keyed")]
    page_tokens: HashMap<(String, String), String>,
    containers: HashMap<String, Container>,
    media: HashMap<String, Media>,
}

impl MetaState {
    /// The Instagram account whose published media `id` is.
    pub(crate) fn media_owner(&self, id: &str) -> Option<String> {
        self.media.get(id).map(|m| m.instagram_id.clone())
    }
}

#[derive(Serialize, Deserialize)]
struct Container {
    owner: String,
    instagram_id: String,
    caption: String,
    carousel_item: bool,
    polls: u32,
    published: bool,
    /// Its media could not be fetched: processing ends in `ERROR`.
    #[serde(default)]
    failed: bool,
    /// Its media never finishes processing (a URL under `.stalled.test`): `IN_PROGRESS` however often
    /// it is looked at.
    #[serde(default)]
    stalled: bool,
}

impl Container {
    /// Processing takes one poll: `IN_PROGRESS` the first time it is looked at, `FINISHED` after.
    fn ready(&self) -> bool {
        self.polls > 1
    }

    fn status_code(&self) -> &'static str {
        if self.published {
            "PUBLISHED"
        } else if self.stalled {
            "IN_PROGRESS"
        } else if self.ready() && self.failed {
            "ERROR"
        } else if self.ready() {
            "FINISHED"
        } else {
            "IN_PROGRESS"
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Media {
    owner: String,
    instagram_id: String,
    caption: String,
    permalink: String,
    published_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------------------
// Errors

/// The Graph API error envelope.
#[derive(Debug)]
pub(crate) struct GraphError {
    status: StatusCode,
    kind: &'static str,
    code: u32,
    subcode: Option<u32>,
    message: String,
    transient: bool,
}

impl GraphError {
    pub(super) fn new(status: StatusCode, code: u32, message: impl Into<String>) -> GraphError {
        GraphError {
            status,
            kind: "OAuthException",
            code,
            subcode: None,
            message: message.into(),
            transient: false,
        }
    }

    fn bad(code: u32, message: impl Into<String>) -> GraphError {
        GraphError::new(StatusCode::BAD_REQUEST, code, message)
    }

    fn subcode(mut self, subcode: u32) -> GraphError {
        self.subcode = Some(subcode);
        self
    }

    /// What Graph says about an id that does not exist or that the token may not see.
    fn unsupported(method: &str, id: &str) -> GraphError {
        GraphError {
            kind: "GraphMethodException",
            ..GraphError::bad(
                100,
                format!(
                    "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded \
                     due to missing permissions, or does not support this operation."
                ),
            )
            .subcode(33)
        }
    }

    fn permission(scope: &str) -> GraphError {
        GraphError::new(
            StatusCode::FORBIDDEN,
            200,
            format!("(#200) Requires {scope} permission"),
        )
    }

    fn param(message: impl Into<String>) -> GraphError {
        GraphError::bad(100, format!("(#100) {}", message.into()))
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": ids::random_alnum(11),
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        if self.transient {
            error["is_transient"] = json!(true);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

type Graph = Result<Json<Value>, GraphError>;

/// Code 4, with the usage header at 100% as Meta sends it when the app's budget is spent.
pub(crate) fn rate_limited() -> Response {
    let mut response = GraphError {
        transient: true,
        ..GraphError::bad(4, "(#4) Application request limit reached")
    }
    .into_response();
    response.headers_mut().insert(
        "x-app-usage",
        header::HeaderValue::from_static(
            r#"{"call_count":100,"total_cputime":100,"total_time":100}"#,
        ),
    );
    response
}

pub(crate) fn server_error() -> Response {
    GraphError {
        transient: true,
        ..GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            2,
            "An unexpected error has occurred. Please retry your request later.",
        )
    }
    .into_response()
}

fn not_found(method: &Method, uri: &Uri) -> GraphError {
    GraphError::param(format!(
        "Unsupported request: {method} {} is not a path this sandbox serves",
        uri.path()
    ))
}

/// Graph paths start with a version, `v{N}.0`; any number is accepted since versions move every quarter.
async fn check_version(request: Request, next: Next) -> Response {
    let segment = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or("");
    let valid = segment
        .strip_prefix('v')
        .and_then(|v| v.strip_suffix(".0"))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if valid {
        next.run(request).await
    } else {
        GraphError::bad(
            2500,
            format!("Unknown path components: /{segment} is not a Graph API version like v21.0"),
        )
        .into_response()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Tokens

fn token_of(params: &Params) -> Option<String> {
    params
        .get("access_token")
        .or_else(|| params.bearer().map(str::to_string))
}

fn format_time(at: DateTime<Utc>) -> String {
    at.format("%A, %d-%b-%y %H:%M:%S UTC").to_string()
}

fn token_error(error: TokenError, now: DateTime<Utc>) -> GraphError {
    match error {
        TokenError::Missing => GraphError::bad(
            190,
            "An active access token must be used to query information about the current user.",
        ),
        TokenError::Unknown => {
            GraphError::bad(190, "Invalid OAuth access token - Cannot parse access token")
        }
        TokenError::Expired(at) => GraphError::bad(
            190,
            format!(
                "Error validating access token: Session has expired on {}. The current time is {}.",
                format_time(at),
                format_time(now)
            ),
        )
        .subcode(463),
        TokenError::Revoked(RevokeReason::AppRemoved) => GraphError::bad(
            190,
            "Error validating access token: The user has not authorized application.",
        )
        .subcode(458),
        TokenError::Revoked(RevokeReason::PasswordChanged) => GraphError::bad(
            190,
            "Error validating access token: The session has been invalidated because the user changed \
             their password or Facebook has changed the session for security reasons.",
        )
        .subcode(460),
    }
}

/// A Graph request on one node, `/{version}/{id}/{edge}`: the server, the node's id and the parameters.
pub(super) struct Node(Arc<Server>, String, Params);

impl FromRequest<Arc<Server>> for Node {
    type Rejection = Response;

    async fn from_request(req: Request, srv: &Arc<Server>) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Path((_, id)) = Path::<(String, String)>::from_request_parts(&mut parts, srv)
            .await
            .map_err(IntoResponse::into_response)?;
        let params = Params::from_request(Request::from_parts(parts, body), srv).await?;
        Ok(Node(srv.clone(), id, params))
    }
}

/// The caller and the token string they used (Page tokens are keyed by it).
fn authenticate(srv: &Server, params: &Params) -> Result<(Caller, String), GraphError> {
    let token = token_of(params);
    let now = Utc::now();
    let caller = srv
        .world()
        .authenticate(token.as_deref(), now)
        .map_err(|e| token_error(e, now))?;
    Ok((caller, token.unwrap_or_default()))
}

fn require(caller: &Caller, scope: &str) -> Result<(), GraphError> {
    if caller.has(scope) {
        Ok(())
    } else {
        Err(GraphError::permission(scope))
    }
}

/// Edges of a person (accounts, businesses, permissions) need a user token and a person's id or `me`: the
/// caller, and the token they used.
fn person(
    srv: &Server,
    params: &Params,
    id: &str,
    edge: &str,
) -> Result<(Caller, String), GraphError> {
    let (caller, token) = authenticate(srv, params)?;
    if matches!(caller.kind, TokenKind::Page(_)) {
        return Err(GraphError::param(format!(
            "Tried accessing nonexisting field ({edge}) on node type (Page)"
        )));
    }
    if id != "me" && id != caller.user_id {
        return Err(GraphError::unsupported("get", id));
    }
    Ok((caller, token))
}

/// A Page token only reaches its own Page (and that Page's Instagram account); a user token reaches all
/// of the person's.
fn may_use_page(caller: &Caller, page_id: &str) -> bool {
    match &caller.kind {
        TokenKind::Page(own) => own == page_id,
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------------------
// Fields and paging

/// The top-level names in a `fields` parameter: `picture.type(large),instagram_business_account{id}` →
/// `picture`, `instagram_business_account`.
fn requested_fields(fields: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    for c in fields.chars() {
        match c {
            '{' | '(' => depth += 1,
            '}' | ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => names.push(std::mem::take(&mut current)),
            _ if depth == 0 => current.push(c),
            _ => {}
        }
    }
    names.push(current);
    names
        .iter()
        .filter_map(|n| n.split('.').next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Keeps the fields asked for (and `id`, which Graph always returns); everything when none are named.
fn select(object: Map<String, Value>, fields: Option<&str>) -> Value {
    let Some(fields) = fields else {
        return Value::Object(object);
    };
    let wanted = requested_fields(fields);
    Value::Object(
        object
            .into_iter()
            .filter(|(k, _)| k == "id" || wanted.iter().any(|w| w == k))
            .collect(),
    )
}

fn wants(fields: Option<&str>, field: &str) -> bool {
    fields.is_none_or(|f| requested_fields(f).iter().any(|w| w == field))
}

fn picture(srv: &Server, id: &str) -> Value {
    json!({ "data": { "url": avatar_url(srv, id), "is_silhouette": false } })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn flag(params: &Params, name: &str, default: bool) -> bool {
    params
        .get(name)
        .map_or(default, |v| v != "false" && v != "0")
}

fn encode_cursor(index: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sandbox-cursor:{index}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("sandbox-cursor:")?
        .parse()
        .ok()
}

/// Cuts a list into Graph pages: `min(limit, page_size)` items, cursors, and an absolute `next` URL on
/// this server (the request's own URL with the `after` cursor) unless this is the last page. Only the
/// page's items are rendered, so Page tokens are minted for the Pages actually returned.
fn paged<T>(srv: &Server, params: &Params, items: &[T], render: impl FnMut(&T) -> Value) -> Graph {
    let limit = match params.get("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| GraphError::param("Param limit must be a number"))?,
        None => 25,
    };
    let per_page = limit.clamp(1, srv.page_size);
    let start = match params.get("after") {
        Some(cursor) => {
            decode_cursor(&cursor).ok_or_else(|| GraphError::param("Invalid after cursor"))? + 1
        }
        None => 0,
    };
    let end = (start + per_page).min(items.len());
    if start >= end {
        return Ok(Json(json!({ "data": [] })));
    }
    let data: Vec<Value> = items[start..end].iter().map(render).collect();
    let after = encode_cursor(end - 1);
    let mut paging = json!({ "cursors": { "before": encode_cursor(start), "after": after } });
    if end < items.len() {
        let mut next = url::Url::parse(&format!("{}{}", srv.base_url, params.path))
            .map_err(|_| GraphError::param("Cannot build the next page's URL"))?;
        next.query_pairs_mut()
            .extend_pairs(
                params
                    .query_pairs()
                    .iter()
                    .filter(|(k, _)| k != "after" && k != "before"),
            )
            .append_pair("after", &after);
        paging["next"] = json!(next.to_string());
    }
    Ok(Json(json!({ "data": data, "paging": paging })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_is_deterministic_and_shaped_as_documented() {
        let a = seed("Ann Lee");
        let b = seed("Ann Lee");
        assert_eq!(a.pages.len(), 3);
        for (x, y) in a.pages.iter().zip(&b.pages) {
            assert_eq!(x.id, y.id);
        }
        assert_eq!(a.pages[0].name, "Ann Lee");
        assert_eq!(a.pages[0].instagram.as_ref().unwrap().username, "annlee");
        assert_eq!(a.pages[1].name, "Ann Lee Studio");
        assert!(a.pages[1].instagram.is_none());
        assert_eq!(a.pages[2].name, "Ann Lee Shop");
        assert!(a.pages[2].via_business);
        let shop_ig = a.pages[2].instagram.as_ref().unwrap();
        assert_eq!(shop_ig.username, "annleeshop");
        assert!(shop_ig.id.starts_with("1784") && shop_ig.id.len() == 17);
        assert_eq!(a.business_name, "Ann Lee Holdings");
        // Someone named like another person's Page owns different Pages.
        let studio = seed("Ann Lee Studio");
        assert!(studio.pages.iter().all(|p| p.id != a.pages[1].id));
        assert_ne!(user_id("Ann Lee"), user_id("Bob"));
    }

    #[test]
    fn fields_name_the_top_level_keys() {
        assert_eq!(
            requested_fields("id,name,picture.type(large),instagram_business_account{id,username}"),
            ["id", "name", "picture", "instagram_business_account"]
        );
        let picked = select(object(json!({"id": 1, "name": "n", "x": 2})), Some("name"));
        assert_eq!(picked, json!({"id": 1, "name": "n"}));
        assert!(wants(None, "access_token"));
        assert!(!wants(Some("id,name"), "access_token"));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(7)), Some(7));
        assert_eq!(decode_cursor("garbage"), None);
    }
}
