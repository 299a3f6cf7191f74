//! The HTTP face of iQuivity Social: the JSON API under `/api/v1`, its OpenAPI document and `/healthz`.
//! Handlers are thin: they parse, call one use-case of the core, and shape the answer.

mod client_addr;
mod error;
mod extract;
mod http_metrics;
mod openapi;
mod pages;
mod routes;
mod views;

pub use client_addr::{client_address, parse_trusted_proxies};
pub use error::{AppError, Problem};
pub use openapi::ApiDoc;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::Router;
use iquivity_core::Core;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub core: Core,
    pub settings: Arc<ServerSettings>,
}

#[derive(Debug, Clone, Default)]
pub struct ServerSettings {
    /// The address people reach the service at, e.g. `https://social.example.com`; used in links and to
    /// decide whether cookies are `Secure`.
    pub public_url: Option<String>,
    /// With no `public_url`, the loopback address the service listens on (`127.0.0.1:8080`): pages opened
    /// as `localhost:8080` are sent there, because the platforms return people to that exact address and a
    /// session cookie set for `localhost` would not travel with them.
    pub loopback_host: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the per-address limits on sign-in
    /// and sign-up); requests from anyone else are taken to come from their peer address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl AppState {
    /// The address links are built on, so that they work pasted anywhere: the public URL, or the address
    /// the platforms return people to.
    pub fn link_base(&self) -> String {
        self.settings
            .public_url
            .clone()
            .unwrap_or_else(|| self.core.settings.callback_base.clone())
            .trim_end_matches('/')
            .to_string()
    }
}

impl ServerSettings {
    pub fn is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

pub fn router(core: Core, settings: ServerSettings) -> Router {
    let state = AppState {
        core,
        settings: Arc::new(settings),
    };
    let canonical = state.settings.loopback_host.clone();
    Router::new()
        .merge(routes::router())
        .fallback(routes::meta::not_found)
        .method_not_allowed_fallback(routes::meta::method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let canonical = canonical.clone();
                async move { to_loopback_host(canonical.as_deref(), req, next).await }
            },
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(axum::middleware::from_fn(error::problem_responses))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            // Logs method, route template and request id; never headers (cookies, bearer tokens) or bodies.
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| req.uri().path().to_string());
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                tracing::info_span!(
                    "request",
                    method = %req.method(),
                    route,
                    request_id,
                    user_id = tracing::field::Empty,
                    workspace_id = tracing::field::Empty,
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Sends a page request made to `localhost:<port>` to the loopback address the service knows itself by.
async fn to_loopback_host(
    canonical: Option<&str>,
    req: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if let Some(canonical) = canonical {
        let port = canonical
            .rsplit_once(':')
            .map(|(_, p)| p)
            .unwrap_or_default();
        if req.method() == axum::http::Method::GET && host == format!("localhost:{port}") {
            let path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            return axum::response::Redirect::temporary(&format!("http://{canonical}{path}"))
                .into_response();
        }
    }
    next.run(req).await
}
