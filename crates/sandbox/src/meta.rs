//! Meta's Graph API as Facebook Login and the Instagram API with Facebook Login use it (reference §2, §3.1,
//! §3.3, §3.4): the OAuth dialog and token exchanges, the user, Pages, businesses, Instagram accounts,
//! permissions, Page and Instagram publishing. One instance serves Facebook, another Instagram.

use crate::ids::{self, handle};
use crate::request::Params;
use crate::simulator::{no_layers, Pkce, Simulator};
use crate::state::{Caller, CodeError, RevokeReason, Server, TokenError, TokenKind, World};
use crate::{authorize, avatar_url};
use axum::extract::{Path, Request, State};
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
/// Instagram's cap on API-published posts per moving 24 hours (reference §3.4).
const IG_QUOTA: usize = 50;
const IG_QUOTA_WINDOW: TimeDelta = TimeDelta::hours(24);

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
    routes: || {
        routes()
            .fallback(not_found)
            .method_not_allowed_fallback(not_found)
    },
    outer_layers: no_layers,
    seed_json,
    rate_limited: |_| rate_limited(),
    server_error,
};

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/{ver}/dialog/oauth", get(authorize::page))
        .route("/{ver}/dialog/oauth/decide", post(authorize::decide))
        .route(
            "/{ver}/oauth/access_token",
            get(access_token).post(access_token),
        )
        .route("/{ver}/{id}", get(node))
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
        .route("/{ver}/{id}/photos", post(photos))
        .route("/{ver}/{id}/videos", post(videos))
        .route("/{ver}/{id}/media", post(create_container))
        .route("/{ver}/{id}/media_publish", post(media_publish))
        .route(
            "/{ver}/{id}/content_publishing_limit",
            get(publishing_limit),
        )
        .route_layer(middleware::from_fn(check_version))
}

// ---------------------------------------------------------------------------------------------------------
// Seed data

pub(crate) fn user_id(name: &str) -> String {
    ids::stable_digits("meta-user", name, 16)
}

#[derive(Clone, Debug)]
pub(crate) struct SeedPage {
    pub id: String,
    pub name: String,
    pub username: String,
    pub instagram: Option<SeedInstagram>,
    /// Reached through the business portfolio rather than held directly.
    pub via_business: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct SeedInstagram {
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Seed {
    pub pages: Vec<SeedPage>,
    pub business_id: String,
    pub business_name: String,
}

/// The Pages, business and Instagram accounts of the person named `name`. Ids come from the owner's name
/// and the object's role, so two people never share a Page and reconnecting finds the same ids.
pub(crate) fn seed(name: &str) -> Seed {
    let page_id = |role: &str| ids::stable_digits(&format!("meta-page-{role}"), name, 15);
    // Instagram business account ids start with 1784 on the real platform.
    let ig_id = |role: &str| {
        format!(
            "1784{}",
            ids::stable_digits(&format!("meta-ig-{role}"), name, 13)
        )
    };
    let shop = format!("{name} Shop");
    let studio = format!("{name} Studio");
    Seed {
        pages: vec![
            SeedPage {
                id: page_id("main"),
                name: name.to_string(),
                username: handle(name),
                instagram: Some(SeedInstagram {
                    id: ig_id("main"),
                    username: handle(name),
                    name: name.to_string(),
                }),
                via_business: false,
            },
            SeedPage {
                id: page_id("studio"),
                username: handle(&studio),
                name: studio,
                instagram: None,
                via_business: false,
            },
            SeedPage {
                id: page_id("shop"),
                username: handle(&shop),
                instagram: Some(SeedInstagram {
                    id: ig_id("shop"),
                    username: format!("{}shop", handle(name)),
                    name: shop.clone(),
                }),
                name: shop,
                via_business: true,
            },
        ],
        business_id: ids::stable_digits("meta-business", name, 15),
        business_name: format!("{name} Holdings"),
    }
}

pub(crate) fn seed_json(srv: &Server, name: &str) -> Value {
    let seed = seed(name);
    let page = |p: &SeedPage| {
        json!({
            "id": p.id,
            "name": p.name,
            "username": p.username,
            "instagram_business_account": p.instagram.as_ref().map(|ig| json!({"id": ig.id, "username": ig.username, "name": ig.name})),
            "business": p.via_business.then(|| seed.business_id.clone()),
        })
    };
    json!({
        "id": user_id(name),
        "name": name,
        "pages": seed.pages.iter().map(page).collect::<Vec<_>>(),
        "businesses": [{"id": seed.business_id, "name": seed.business_name}],
        "instagram_accounts": seed.pages.iter().filter_map(|p| p.instagram.as_ref().map(|ig| json!({"id": ig.id, "username": ig.username, "page_id": p.id}))).collect::<Vec<_>>(),
        "avatar_url": avatar_url(srv, &user_id(name)),
    })
}

/// Objects created through the API, beyond the seed.
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
}

impl Container {
    /// Processing takes one poll: `IN_PROGRESS` the first time it is looked at, `FINISHED` after.
    fn ready(&self) -> bool {
        self.polls > 1
    }

    fn status_code(&self) -> &'static str {
        if self.published {
            "PUBLISHED"
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
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> GraphError {
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

pub(crate) async fn not_found(method: Method, uri: Uri) -> GraphError {
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

/// Edges of a person (accounts, businesses, permissions) need a user token and a person's id or `me`.
fn require_user(caller: &Caller, id: &str, edge: &str) -> Result<(), GraphError> {
    if matches!(caller.kind, TokenKind::Page(_)) {
        return Err(GraphError::param(format!(
            "Tried accessing nonexisting field ({edge}) on node type (Page)"
        )));
    }
    if id != "me" && id != caller.user_id {
        return Err(GraphError::unsupported("get", id));
    }
    Ok(())
}

/// A Page token only reaches its own Page (and that Page's Instagram account); a user token reaches all
/// of the person's.
fn may_use_page(caller: &Caller, page_id: &str) -> bool {
    match &caller.kind {
        TokenKind::Page(own) => own == page_id,
        _ => true,
    }
}

async fn access_token(State(srv): State<Arc<Server>>, params: Params) -> Graph {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| GraphError::bad(101, "Missing client_id parameter."))?;
    let app = srv.app(&client_id).ok_or_else(|| {
        GraphError::bad(101, "Error validating application. Invalid application ID.")
    })?;
    if params.get("client_secret").as_deref() != Some(app.client_secret.as_str()) {
        return Err(GraphError::bad(100, "Error validating client secret."));
    }
    if params.get("grant_type").as_deref() == Some("fb_exchange_token") {
        return exchange(&srv, &params, &client_id);
    }
    let code = params
        .get("code")
        .ok_or_else(|| GraphError::param("Missing code parameter."))?;
    let redirect_uri = params.get("redirect_uri");
    let now = Utc::now();
    let mut world = srv.world();
    let details = world
        .check_code(&code, &client_id, redirect_uri.as_deref(), now)
        .map_err(|e| match e {
            CodeError::Unknown | CodeError::WrongClient => {
                GraphError::bad(190, "Invalid verification code format.")
            }
            CodeError::Used => GraphError::bad(190, "This authorization code has been used."),
            CodeError::Expired => GraphError::bad(190, "This authorization code has expired."),
            CodeError::RedirectMismatch => GraphError::bad(
                100,
                "Error validating verification code. Please make sure your redirect_uri is identical \
                 to the one you used in the OAuth dialog request",
            )
            .subcode(36008),
        })?;
    let grant = world.consume_code(&code, details);
    let token = world.issue(grant, TokenKind::Access, "EAA", Some(SHORT_LIVED), now);
    tracing::debug!(platform = %srv.platform, %client_id, grant, "code exchanged for a short-lived user token");
    Ok(Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": SHORT_LIVED.num_seconds(),
    })))
}

/// `grant_type=fb_exchange_token`: a short- or long-lived user token for a new long-lived one.
fn exchange(srv: &Server, params: &Params, client_id: &str) -> Graph {
    let token = params
        .get("fb_exchange_token")
        .ok_or_else(|| GraphError::param("Missing fb_exchange_token parameter."))?;
    let invalid = || {
        GraphError::bad(
            190,
            "Error validating access token: The session is invalid because the user logged out.",
        )
        .subcode(467)
    };
    let now = Utc::now();
    let mut world = srv.world();
    let caller = world.authenticate(Some(&token), now).map_err(|e| match e {
        TokenError::Expired(at) => token_error(TokenError::Expired(at), now),
        _ => invalid(),
    })?;
    if matches!(caller.kind, TokenKind::Page(_)) || caller.client_id != client_id {
        return Err(invalid());
    }
    let long = world.issue(
        caller.grant,
        TokenKind::LongLived,
        "EAA",
        Some(LONG_LIVED),
        now,
    );
    tracing::debug!(platform = %srv.platform, %client_id, grant = caller.grant, "exchanged for a long-lived user token");
    Ok(Json(json!({
        "access_token": long,
        "token_type": "bearer",
        "expires_in": LONG_LIVED.num_seconds(),
    })))
}

// ---------------------------------------------------------------------------------------------------------
// Reading

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

/// A Page as `/me/accounts` lists it, with a Page token when the fields ask for one.
fn page_entry(
    srv: &Server,
    world: &mut World,
    caller: &Caller,
    user_token: &str,
    page: &SeedPage,
    fields: Option<&str>,
) -> Value {
    let mut entry = object(json!({
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "category": "Brand",
        "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        "picture": picture(srv, &page.id),
    }));
    if let Some(ig) = &page.instagram {
        entry.insert("instagram_business_account".into(), json!({ "id": ig.id }));
    }
    if wants(fields, "access_token") {
        entry.insert(
            "access_token".into(),
            json!(page_token(world, caller, user_token, &page.id)),
        );
    }
    select(entry, fields)
}

/// The Page token for `page_id` derived from the caller's user token: without expiry when that token is
/// long-lived, expiring with it otherwise (reference §2.2).
fn page_token(world: &mut World, caller: &Caller, user_token: &str, page_id: &str) -> String {
    let key = (user_token.to_string(), page_id.to_string());
    if let Some(token) = world.meta.page_tokens.get(&key) {
        return token.clone();
    }
    let expires_at = match caller.kind {
        TokenKind::LongLived => None,
        _ => caller.expires_at,
    };
    let token = world.issue_until(
        caller.grant,
        TokenKind::Page(page_id.to_string()),
        "EAA",
        expires_at,
    );
    world.meta.page_tokens.insert(key, token.clone());
    token
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

async fn node(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, token) = authenticate(&srv, &params)?;
    let fields = params.get("fields");
    let fields = fields.as_deref();
    let seed = seed(&caller.user_name);
    let own_page = match &caller.kind {
        TokenKind::Page(page_id) if id == "me" => Some(page_id.clone()),
        _ => None,
    };
    if own_page.is_none() && (id == "me" || id == caller.user_id) {
        let user = object(json!({
            "id": caller.user_id,
            "name": caller.user_name,
            "picture": picture(&srv, &caller.user_id),
        }));
        return Ok(Json(select(user, fields)));
    }
    let id = own_page.unwrap_or(id);
    if let Some(page) = seed.pages.iter().find(|p| p.id == id) {
        if !may_use_page(&caller, &page.id) {
            return Err(GraphError::unsupported("get", &id));
        }
        let mut entry = object(json!({
            "id": page.id,
            "name": page.name,
            "username": page.username,
            "picture": picture(&srv, &page.id),
            "followers_count": crate::ids::followers(&page.id),
        }));
        if let Some(ig) = &page.instagram {
            entry.insert("instagram_business_account".into(), json!({ "id": ig.id }));
        }
        // A person with a role on the Page reads its token from the Page itself, as from /me/accounts
        // (how a Page token is renewed); only when asked for by name, as Graph leaves it out otherwise.
        let asked = fields.is_some_and(|f| requested_fields(f).iter().any(|w| w == "access_token"));
        if asked && !matches!(caller.kind, TokenKind::Page(_)) {
            let page_token = page_token(&mut srv.world(), &caller, &token, &page.id);
            entry.insert("access_token".into(), json!(page_token));
        }
        return Ok(Json(select(entry, fields)));
    }
    if let Some((page, ig)) = instagram_account(&seed, &id) {
        if !may_use_page(&caller, &page.id) {
            return Err(GraphError::unsupported("get", &id));
        }
        require(&caller, "instagram_basic")?;
        let entry = object(json!({
            "id": ig.id,
            "username": ig.username,
            "name": ig.name,
            "profile_picture_url": avatar_url(&srv, &ig.id),
            "followers_count": crate::ids::followers(&ig.id),
        }));
        return Ok(Json(select(entry, fields)));
    }
    if id == seed.business_id && !matches!(caller.kind, TokenKind::Page(_)) {
        require(&caller, "business_management")?;
        let entry = object(json!({ "id": seed.business_id, "name": seed.business_name }));
        return Ok(Json(select(entry, fields)));
    }
    let mut world = srv.world();
    if let Some(container) = world
        .meta
        .containers
        .get_mut(&id)
        .filter(|c| c.owner == caller.user_id)
    {
        container.polls += 1;
        let status_code = container.status_code();
        let status = match status_code {
            "PUBLISHED" => "Published: Media has been published",
            "FINISHED" => "Finished: Media container created",
            "ERROR" => {
                "Error: Media download has failed. The media URI doesn't meet our requirements."
            }
            _ => "In Progress: Media is still being processed",
        };
        let entry = object(json!({ "id": id, "status_code": status_code, "status": status }));
        return Ok(Json(select(entry, fields)));
    }
    if let Some(media) = world
        .meta
        .media
        .get(&id)
        .filter(|m| m.owner == caller.user_id)
    {
        let entry = object(json!({
            "id": id,
            "permalink": media.permalink,
            "caption": media.caption,
            "owner": { "id": media.instagram_id },
            "timestamp": media.published_at.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        }));
        return Ok(Json(select(entry, fields)));
    }
    Err(GraphError::unsupported("get", &id))
}

fn instagram_account<'a>(seed: &'a Seed, id: &str) -> Option<(&'a SeedPage, &'a SeedInstagram)> {
    seed.pages.iter().find_map(|page| {
        page.instagram
            .as_ref()
            .filter(|ig| ig.id == id)
            .map(|ig| (page, ig))
    })
}

async fn permissions(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    require_user(&caller, &id, "permissions")?;
    let world = srv.world();
    let grant = world
        .grant(caller.grant)
        .ok_or_else(|| GraphError::unsupported("get", &id))?;
    // Graph always lists the public profile as granted; it is not a scope one can decline.
    let mut data = vec![json!({ "permission": "public_profile", "status": "granted" })];
    data.extend(
        grant
            .scopes
            .iter()
            .filter(|s| *s != "public_profile")
            .map(|s| json!({ "permission": s, "status": "granted" })),
    );
    data.extend(
        grant
            .declined
            .iter()
            .map(|s| json!({ "permission": s, "status": "declined" })),
    );
    Ok(Json(json!({ "data": data })))
}

/// `DELETE /{user-id}/permissions`: the person removes the app; every token of theirs for it stops.
async fn revoke_login(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    require_user(&caller, &id, "permissions")?;
    let ended = srv.world().revoke_user(
        &caller.user_id,
        Some(&caller.client_id),
        RevokeReason::AppRemoved,
    );
    tracing::debug!(platform = %srv.platform, user_id = %caller.user_id, ended, "login revoked through the API");
    Ok(Json(json!({ "success": true })))
}

async fn revoke_permission(
    State(srv): State<Arc<Server>>,
    Path((_, id, permission)): Path<(String, String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    require_user(&caller, &id, "permissions")?;
    srv.world()
        .remove_scope(&caller.user_id, Some(&caller.client_id), &permission);
    tracing::debug!(platform = %srv.platform, user_id = %caller.user_id, %permission, "permission revoked through the API");
    Ok(Json(json!({ "success": true })))
}

async fn accounts(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, token) = authenticate(&srv, &params)?;
    require_user(&caller, &id, "accounts")?;
    require(&caller, "pages_show_list")?;
    let fields = params.get("fields");
    let seed = seed(&caller.user_name);
    let mut world = srv.world();
    paged(&srv, &params, &seed.pages, |p| {
        page_entry(&srv, &mut world, &caller, &token, p, fields.as_deref())
    })
}

async fn businesses(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    require_user(&caller, &id, "businesses")?;
    require(&caller, "business_management")?;
    let seed = seed(&caller.user_name);
    let item = object(json!({ "id": seed.business_id, "name": seed.business_name }));
    let fields = params.get("fields");
    paged(&srv, &params, &[item], |item| {
        select(item.clone(), fields.as_deref())
    })
}

async fn owned_pages(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    business_pages(&srv, &id, &params, true)
}

async fn client_pages(
    State(srv): State<Arc<Server>>,
    Path((_, id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    business_pages(&srv, &id, &params, false)
}

/// The business's own Pages (`owned`) or the clients' Pages it manages (none in the seed).
fn business_pages(srv: &Server, id: &str, params: &Params, owned: bool) -> Graph {
    let (caller, token) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    if id != seed.business_id || matches!(caller.kind, TokenKind::Page(_)) {
        return Err(GraphError::unsupported("get", id));
    }
    require(&caller, "business_management")?;
    let fields = params.get("fields");
    let pages: Vec<&SeedPage> = seed
        .pages
        .iter()
        .filter(|p| owned && p.via_business)
        .collect();
    let mut world = srv.world();
    paged(srv, params, &pages, |p| {
        page_entry(srv, &mut world, &caller, &token, p, fields.as_deref())
    })
}

// ---------------------------------------------------------------------------------------------------------
// Publishing

/// Page publishing takes that Page's token (reference §2.6) with `pages_manage_posts`.
fn page_publisher(srv: &Server, params: &Params, page_id: &str) -> Result<Caller, GraphError> {
    let (caller, _) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    if !seed.pages.iter().any(|p| p.id == page_id) {
        return Err(GraphError::unsupported("post", page_id));
    }
    match &caller.kind {
        TokenKind::Page(own) if own == page_id => {}
        TokenKind::Page(_) => return Err(GraphError::unsupported("post", page_id)),
        _ => {
            return Err(GraphError::new(
                StatusCode::FORBIDDEN,
                200,
                "(#200) If posting to a page, requires a Page access token for that page (from /me/accounts)",
            ))
        }
    }
    require(&caller, "pages_manage_posts")?;
    Ok(caller)
}

fn flag(params: &Params, name: &str, default: bool) -> bool {
    params
        .get(name)
        .map_or(default, |v| v != "false" && v != "0")
}

async fn feed(
    State(srv): State<Arc<Server>>,
    Path((_, page_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    page_publisher(&srv, &params, &page_id)?;
    let message = params.get("message").unwrap_or_default();
    let link = params.get("link");
    let attached = params.get("attached_media");
    if message.is_empty() && link.is_none() && attached.is_none() {
        return Err(GraphError::param("Missing message or attachment"));
    }
    let mut world = srv.world();
    let post = format!("{page_id}_{}", 100_000_000_000 + world.next_serial());
    let text = if message.is_empty() {
        link.unwrap_or_default()
    } else {
        message
    };
    tracing::debug!(platform = %srv.platform, %page_id, post = %post, "page post published");
    world.add_post(post.clone(), page_id.clone(), text);
    let mut answer = json!({ "id": post });
    if params
        .get("fields")
        .is_some_and(|f| requested_fields(&f).iter().any(|n| n == "permalink_url"))
    {
        let (_, n) = post.split_once('_').unwrap_or_default();
        answer["permalink_url"] = json!(format!("https://www.facebook.com/{page_id}/posts/{n}"));
    }
    Ok(Json(answer))
}

async fn photos(
    State(srv): State<Arc<Server>>,
    Path((_, page_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    page_publisher(&srv, &params, &page_id)?;
    if params.get("url").is_none() {
        return Err(GraphError::param(
            "Param url is required (the sandbox takes photos by URL)",
        ));
    }
    let mut world = srv.world();
    let photo = format!("{}", 500_000_000_000_000 + world.next_serial());
    let mut answer = json!({ "id": photo });
    if flag(&params, "published", true) {
        let post = format!("{page_id}_{photo}");
        let caption = params
            .get("caption")
            .or_else(|| params.get("message"))
            .unwrap_or_default();
        world.add_post(post.clone(), page_id.clone(), caption);
        answer["post_id"] = json!(post);
    }
    Ok(Json(answer))
}

/// `POST /{page-id}/videos` with `file_url` (reference §2.6): Graph fetches the file itself and answers the
/// video's id, which is also the post's.
async fn videos(
    State(srv): State<Arc<Server>>,
    Path((_, page_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    page_publisher(&srv, &params, &page_id)?;
    if params.get("file_url").is_none() {
        return Err(GraphError::param(
            "Param file_url is required (the sandbox takes videos by URL)",
        ));
    }
    let mut world = srv.world();
    let video = format!("{}", 600_000_000_000_000 + world.next_serial());
    if flag(&params, "published", true) {
        let description = params.get("description").unwrap_or_default();
        world.add_post(video.clone(), page_id.clone(), description);
        tracing::debug!(platform = %srv.platform, %page_id, %video, "page video published");
    }
    Ok(Json(json!({ "id": video })))
}

/// Instagram publishing: the caller's own account, through a user token or the linked Page's token.
fn instagram_publisher(
    srv: &Server,
    params: &Params,
    instagram_id: &str,
) -> Result<Caller, GraphError> {
    let (caller, _) = authenticate(srv, params)?;
    let seed = seed(&caller.user_name);
    match instagram_account(&seed, instagram_id) {
        Some((page, _)) if may_use_page(&caller, &page.id) => {}
        _ => return Err(GraphError::unsupported("post", instagram_id)),
    }
    require(&caller, "instagram_content_publish")?;
    Ok(caller)
}

async fn create_container(
    State(srv): State<Arc<Server>>,
    Path((_, instagram_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    if let Some(error) = &params.body_error {
        return Err(GraphError::param(error.clone()));
    }
    let caller = instagram_publisher(&srv, &params, &instagram_id)?;
    let media_type = params.get("media_type").unwrap_or_default();
    let mut world = srv.world();
    if media_type == "CAROUSEL" {
        let children = params.get("children").unwrap_or_default();
        let children: Vec<&str> = children.split(',').filter(|c| !c.is_empty()).collect();
        if children.len() < 2 {
            return Err(GraphError::param("A carousel needs at least 2 children"));
        }
        let valid = children.iter().all(|child| {
            world
                .meta
                .containers
                .get(*child)
                .is_some_and(|c| c.carousel_item && c.instagram_id == instagram_id)
        });
        if !valid {
            return Err(GraphError::param(
                "Param children must be containers created with is_carousel_item=true",
            ));
        }
    } else if params.get("image_url").is_none() && params.get("video_url").is_none() {
        return Err(GraphError::param("The parameter image_url is required."));
    }
    let failed = ["image_url", "video_url"]
        .iter()
        .filter_map(|name| params.get(name))
        .any(|url| crate::unfetchable(&url));
    let id = format!("1790{:014}", world.next_serial());
    world.meta.containers.insert(
        id.clone(),
        Container {
            owner: caller.user_id,
            instagram_id,
            caption: params.get("caption").unwrap_or_default(),
            carousel_item: flag(&params, "is_carousel_item", false),
            polls: 0,
            published: false,
            failed,
        },
    );
    Ok(Json(json!({ "id": id })))
}

async fn media_publish(
    State(srv): State<Arc<Server>>,
    Path((_, instagram_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let caller = instagram_publisher(&srv, &params, &instagram_id)?;
    let creation_id = params
        .get("creation_id")
        .ok_or_else(|| GraphError::param("The parameter creation_id is required."))?;
    let now = Utc::now();
    let mut world = srv.world();
    let used = recent_posts(&world, &instagram_id, now);
    let state = &mut world.meta;
    let container = state
        .containers
        .get_mut(&creation_id)
        .filter(|c| c.owner == caller.user_id && c.instagram_id == instagram_id)
        .ok_or_else(|| GraphError::param("Param creation_id must be a valid container id"))?;
    if container.published {
        return Err(GraphError::bad(
            9007,
            "The media container has already been published",
        ));
    }
    if !container.ready() || container.failed {
        return Err(GraphError::bad(9007, "Media ID is not available").subcode(2207027));
    }
    if used >= IG_QUOTA {
        return Err(GraphError::bad(9, "Application request limit reached").subcode(2207042));
    }
    container.published = true;
    let caption = container.caption.clone();
    let serial = world.next_serial();
    let media_id = format!("1791{serial:014}");
    let permalink = format!(
        "https://www.instagram.com/p/{}/",
        ids::stable_alnum("instagram-shortcode", &media_id, 11)
    );
    world.meta.media.insert(
        media_id.clone(),
        Media {
            owner: caller.user_id,
            instagram_id: instagram_id.clone(),
            caption: caption.clone(),
            permalink,
            published_at: now,
        },
    );
    world.add_post(media_id.clone(), instagram_id, caption);
    tracing::debug!(platform = %srv.platform, media = %media_id, "instagram media published");
    Ok(Json(json!({ "id": media_id })))
}

fn recent_posts(world: &World, instagram_id: &str, now: DateTime<Utc>) -> usize {
    world
        .meta
        .media
        .values()
        .filter(|m| m.instagram_id == instagram_id && now - m.published_at < IG_QUOTA_WINDOW)
        .count()
}

async fn publishing_limit(
    State(srv): State<Arc<Server>>,
    Path((_, instagram_id)): Path<(String, String)>,
    params: Params,
) -> Graph {
    let (caller, _) = authenticate(&srv, &params)?;
    let seed = seed(&caller.user_name);
    match instagram_account(&seed, &instagram_id) {
        Some((page, _)) if may_use_page(&caller, &page.id) => {}
        _ => return Err(GraphError::unsupported("get", &instagram_id)),
    }
    require(&caller, "instagram_basic")?;
    let used = recent_posts(&srv.world(), &instagram_id, Utc::now());
    Ok(Json(json!({
        "data": [{
            "quota_usage": used,
            "config": { "quota_total": IG_QUOTA, "quota_duration": IG_QUOTA_WINDOW.num_seconds() },
        }]
    })))
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
