use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::views::{DeliveryView, NotificationsView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use iquivity_core::alerts::WebhookView;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An https URL (plain http only to localhost) that receives `application/json` POSTs.
    url: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookView {
    id: uuid::Uuid,
    url: String,
    created_at: DateTime<Utc>,
    /// Shown once. Deliveries carry `X-Iquivity-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    secret: String,
}

fn parse_webhook_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not a webhook id")))
}

/// Adds a webhook for `account.connected`, `account.status_changed`, `account.recovered`,
/// `account.expiring` and `account.removed`. Owners and admins. The URL must be https to a public host on
/// port 443 or 8443 unless the operator allowed other hosts and ports; credentials in it are refused.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "alerts", request_body = CreateWebhookRequest,
    responses((status = 201, body = CreatedWebhookView), (status = 422, body = crate::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), AppError> {
    let created = state.core.create_webhook(&caller, &body.url).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            id: created.webhook.id,
            url: created.webhook.url,
            created_at: created.webhook.created_at,
            secret: created.secret.expose_secret().to_string(),
        }),
    ))
}

/// The workspace's webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "alerts", responses((status = 200, body = [WebhookView])))]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<WebhookView>>, AppError> {
    Ok(Json(state.core.webhooks(&caller).await?))
}

/// Removes a webhook. Owners and admins.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "alerts", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 404, body = crate::Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .core
        .delete_webhook(&caller, parse_webhook_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of a webhook: each alert's state, attempts, last HTTP status and, for a failed attempt,
/// its class (`refused_destination`, `connection_failed`, `timeout`, `redirect`, `http_status`).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = [DeliveryView]), (status = 404, body = crate::Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    let deliveries = state
        .core
        .webhook_deliveries(&caller, parse_webhook_id(&id)?)
        .await?;
    Ok(Json(
        deliveries.into_iter().map(DeliveryView::from).collect(),
    ))
}

/// The in-app notifications: the latest alerts, newest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "alerts", responses((status = 200, body = NotificationsView)))]
pub async fn notifications(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<NotificationsView>, AppError> {
    Ok(Json(state.core.alerts(&caller, 50).await?.into()))
}

/// Marks every notification read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "alerts", responses((status = 204, description = "Read")))]
pub async fn mark_read(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<StatusCode, AppError> {
    state.core.mark_alerts_read(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}
