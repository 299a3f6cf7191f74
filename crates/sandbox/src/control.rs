//! What every server has besides the platform's own API: the control API under `/_sandbox/` that tests
//! drive, the gate in front of the platform routes (request counts, latency, injected faults) and avatars.

use crate::avatar;
use crate::state::{Fault, FaultMode, RevokeReason, Server};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const CONTROL_PREFIX: &str = "/_sandbox/";

/// Far longer than any client timeout: a hung request must look like a dead server.
const HANG: Duration = Duration::from_secs(3600);

pub(crate) fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/_sandbox/users/{id}/expire", post(expire))
        .route("/_sandbox/users/{id}/revoke", post(revoke))
        .route("/_sandbox/users/{id}/scopes/remove", post(remove_scope))
        .route("/_sandbox/users/by-name/{name}", get(by_name))
        .route("/_sandbox/faults", post(arm_fault).delete(clear_faults))
        .route("/_sandbox/hold", post(hold))
        .route("/_sandbox/clock", post(set_clock))
        .route("/_sandbox/state", get(state))
        .route("/_sandbox/comments", post(refuse_comments))
        .route("/avatars/{file}", get(avatar))
}

type ControlResult = Result<Json<Value>, (StatusCode, Json<Value>)>;

fn control_error(status: StatusCode, message: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({ "error": message.into() })))
}

/// Reads a JSON body, answering in JSON (axum's own rejection is plain text). An empty body reads as `{}`.
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, (StatusCode, Json<Value>)> {
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    serde_json::from_slice(bytes)
        .map_err(|err| control_error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {err}")))
}

fn require_user(srv: &Server, id: &str) -> Result<(), (StatusCode, Json<Value>)> {
    if srv.world().user(id).is_some() {
        Ok(())
    } else {
        Err(control_error(
            StatusCode::NOT_FOUND,
            format!("no user with id {id} has signed in on this sandbox"),
        ))
    }
}

async fn expire(State(srv): State<Arc<Server>>, Path(id): Path<String>) -> ControlResult {
    require_user(&srv, &id)?;
    let expired = srv.world().expire_user(&id, Utc::now());
    tracing::debug!(platform = %srv.platform, user_id = %id, expired, "control: tokens expired");
    Ok(Json(json!({ "expired": expired })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    /// Meta tells the two apart (subcodes 458 and 460); the other platforms answer the same either way.
    #[serde(default)]
    reason: Reason,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "snake_case")]
enum Reason {
    #[default]
    AppRemoved,
    PasswordChanged,
}

async fn revoke(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let request: RevokeBody = body(&bytes)?;
    require_user(&srv, &id)?;
    let reason = match request.reason {
        Reason::AppRemoved => RevokeReason::AppRemoved,
        Reason::PasswordChanged => RevokeReason::PasswordChanged,
    };
    let revoked = srv.world().revoke_user(&id, None, reason);
    tracing::debug!(platform = %srv.platform, user_id = %id, revoked, "control: tokens revoked");
    Ok(Json(json!({ "revoked": revoked })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    scope: String,
}

async fn remove_scope(
    State(srv): State<Arc<Server>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let request: ScopeBody = body(&bytes)?;
    require_user(&srv, &id)?;
    let grants = srv.world().remove_scope(&id, None, &request.scope);
    tracing::debug!(platform = %srv.platform, user_id = %id, scope = %request.scope, grants, "control: scope removed");
    Ok(Json(json!({ "grants": grants })))
}

async fn by_name(State(srv): State<Arc<Server>>, Path(name): Path<String>) -> Json<Value> {
    let mut seed = (srv.simulator.seed_json)(&srv, &name);
    let signed_in = seed["id"]
        .as_str()
        .is_some_and(|id| srv.world().user(id).is_some());
    seed["signed_in"] = json!(signed_in);
    Json(seed)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultBody {
    mode: FaultMode,
    #[serde(default = "one")]
    count: u32,
    #[serde(default)]
    path_prefix: Option<String>,
}

fn one() -> u32 {
    1
}

async fn arm_fault(State(srv): State<Arc<Server>>, bytes: Bytes) -> ControlResult {
    let request: FaultBody = body(&bytes)?;
    if request.count == 0 {
        return Err(control_error(
            StatusCode::BAD_REQUEST,
            "count must be at least 1",
        ));
    }
    let path_prefix = request.path_prefix.unwrap_or_else(|| "/".to_string());
    tracing::debug!(platform = %srv.platform, mode = ?request.mode, count = request.count, %path_prefix, "control: fault armed");
    srv.run().arm_fault(Fault {
        mode: request.mode,
        remaining: request.count,
        path_prefix,
    });
    Ok(Json(json!({ "armed": true })))
}

#[derive(Deserialize)]
struct HoldRequest {
    held: bool,
}

/// `{"held": true}` holds every API request of this platform before it is acted on, until `{"held": false}`.
async fn hold(State(srv): State<Arc<Server>>, Json(request): Json<HoldRequest>) -> Json<Value> {
    srv.set_held(request.held);
    tracing::debug!(platform = %srv.platform, held = request.held, "control: hold");
    Json(json!({ "held": request.held }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    /// RFC 3339; `null` goes back to the real time.
    now: Option<DateTime<Utc>>,
}

/// `{"now": "2030-01-01T00:00:00Z"}` sets the time the platform's answers announce times from (a rate
/// limit's reset) and keeps it there, as a test's clock does; `{"now": null}` goes back to the real time.
async fn set_clock(State(srv): State<Arc<Server>>, bytes: Bytes) -> ControlResult {
    let request: ClockBody = body(&bytes)?;
    srv.set_now(request.now);
    tracing::debug!(platform = %srv.platform, now = ?request.now, "control: clock set");
    Ok(Json(json!({ "now": srv.now() })))
}

async fn clear_faults(State(srv): State<Arc<Server>>) -> Json<Value> {
    srv.run().clear_faults();
    Json(json!({ "cleared": true }))
}

#[derive(Deserialize)]
struct CommentsRequest {
    refuse: bool,
}

/// `POST /_sandbox/comments {"refuse": bool}`: whether the platform refuses every comment from now on.
async fn refuse_comments(State(srv): State<Arc<Server>>, bytes: Bytes) -> ControlResult {
    let request: CommentsRequest = body(&bytes)?;
    srv.world().refuse_comments = request.refuse;
    Ok(Json(json!({ "refuse": request.refuse })))
}

async fn state(State(srv): State<Arc<Server>>) -> Json<Value> {
    // Copied out so that the two locks are never held together.
    let (requests, in_flight, peak) = {
        let run = srv.run();
        (
            run.requests().clone(),
            run.in_flight(),
            run.peak_in_flight(),
        )
    };
    let mut summary = srv.world().summary(&requests, Utc::now());
    summary["in_flight"] = json!({ "now": in_flight, "peak": peak });
    Json(summary)
}

async fn avatar(Path(file): Path<String>) -> Response {
    match file.strip_suffix(".png") {
        Some(id) if !id.is_empty() => {
            ([(header::CONTENT_TYPE, "image/png")], avatar::png(id)).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Counts a request as in flight until it is answered, or dropped because the client went away.
struct InFlight<'a>(&'a Server);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.run().leave();
    }
}

/// In front of every platform route: counts the request (and how many are in flight), waits the
/// configured latency, and applies an armed fault instead of the real answer. The control API passes
/// straight through.
pub(crate) async fn gate(State(srv): State<Arc<Server>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let from = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let fault = {
        let mut run = srv.run();
        run.count_request(&path);
        run.enter();
        run.take_fault(&path)
    };
    let _in_flight = InFlight(&srv);
    let latency = srv.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let _acting = srv.pass_hold(from).await;
    let Some(mode) = fault else {
        return next.run(request).await;
    };
    tracing::debug!(platform = %srv.platform, %path, ?mode, "injected fault");
    let acted = if mode.acts_first() {
        Some(next.run(request).await)
    } else {
        None
    };
    match mode {
        FaultMode::RateLimit => (srv.simulator.rate_limited)(&path, srv.now()),
        FaultMode::ServerError => (srv.simulator.server_error)(),
        FaultMode::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            "{\"truncated\":",
        )
            .into_response(),
        FaultMode::Hang | FaultMode::CommitThenHang => {
            hang(&srv).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        FaultMode::CommitThenGarbage => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>502 Bad Gateway</body></html>",
        )
            .into_response(),
        FaultMode::CommitThenDrop => match acted {
            Some(answer) => broken_off(answer).await,
            None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
    }
}

/// Waits far longer than any client does, or until the sandbox shuts down.
async fn hang(srv: &Server) {
    let mut shutdown = srv.shutdown.clone();
    tokio::select! {
        () = tokio::time::sleep(HANG) => {}
        // Nothing is ever sent: this resolves when the Sandbox, holding the sender, is dropped,
        // which lets the connection go so its task can end.
        _ = shutdown.changed() => {}
    }
}

/// The platform's own answer, cut off halfway: its status and headers (with the full length, at least one
/// byte so that even an empty answer is cut short) go out, then half the body, then the connection drops.
async fn broken_off(answer: Response) -> Response {
    let (mut parts, body) = answer.into_parts();
    let whole = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = whole.slice(..whole.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, whole.len().max(1).into());
    let cut = futures_util::stream::iter([
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the sandbox dropped the connection",
        )),
    ]);
    Response::from_parts(parts, axum::body::Body::from_stream(cut))
}
