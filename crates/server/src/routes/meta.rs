use crate::error::AppError;
use crate::openapi::ApiDoc;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;

/// Liveness: the process is up and serving.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Readiness: the database answers, the encryption key works, and (where this instance runs the lifecycle
/// engine) its last round ended well. 503 otherwise, so a load balancer stops sending requests here.
#[utoipa::path(get, path = "/readyz", tag = "meta", responses(
    (status = 200, body = iquivity_core::engine::Readiness, description = "Ready"),
    (status = 503, body = iquivity_core::engine::Readiness, description = "Not ready: the false field says what")))]
pub async fn readyz(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> impl IntoResponse {
    let readiness = state.core.readiness().await;
    let status = if readiness.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Only booleans: safe to pass on as they are.
    (
        status,
        axum::Extension(crate::error::Deliberate),
        Json(readiness),
    )
}

/// The OpenAPI 3.1 document of this API, generated from the handlers.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::document())
}

pub async fn not_found() -> AppError {
    AppError::new(
        StatusCode::NOT_FOUND,
        "/problems/not-found",
        "Not found",
        "no such page or API route; the API is described at /api/v1/openapi.json",
    )
}

pub async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "/problems/method-not-allowed",
        "Method not allowed",
        "this route does not accept that HTTP method; see /api/v1/openapi.json",
    )
}

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::pages::ASSETS_CSS,
    )
}

/// The icon, at `/assets/icon.svg` (which the pages link) and at `/favicon.ico`, where browsers look
/// unasked.
pub async fn icon() -> impl IntoResponse {
    (
        [
            (axum::http::header::CONTENT_TYPE, "image/svg+xml"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        crate::pages::ASSETS_ICON,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/javascript; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::pages::ASSETS_JS,
    )
}

/// Prometheus metrics: accounts by platform and status, lifecycle jobs, platform calls, queue depth.
pub async fn metrics(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
) -> Result<impl IntoResponse, AppError> {
    let mut metrics = state.core.render_metrics().await?;
    crate::http_metrics::render(&mut metrics);
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.into_string(),
    ))
}
