use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::views::{DeliveryView, NotificationsView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use iquivity_core::alerts::{TestDelivery, WebhookUpdate, WebhookView};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookRequest {
    /// An https URL (plain http only to localhost) that receives `application/json` POSTs.
    url: String,
    /// The event types to send (`account.connected`, ..., `webhook.disabled`); left out or `null`, every
    /// type, including those added later.
    #[serde(default)]
    events: Option<Vec<String>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    webhook: WebhookView,
    /// Shown once. Deliveries carry `X-Iquivity-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
    secret: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookRequest {
    /// The event types to send; `null` for every type. Left out, unchanged.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<Vec<String>>, nullable)]
    events: Option<Option<Vec<String>>>,
    /// `true` enables a disabled webhook (its pending deliveries go out again); `false` disables it.
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the replaced secret keeps signing deliveries beside the new one (0 to 168; default 24).
    #[serde(default)]
    overlap_hours: Option<i64>,
}

pub(crate) fn parse_webhook_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not a webhook id")))
}

/// Adds a webhook for the events it names (default all: `account.connected`, `account.status_changed`,
/// `account.recovered`, `account.expiring`, `account.removed`, `account.posts_at_risk`, `webhook.disabled`).
/// Owners and admins. The URL must be https to a public host on port 443 or 8443 unless the operator
/// allowed other hosts and ports; credentials in it are refused.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "alerts", request_body = CreateWebhookRequest,
    responses((status = 201, body = CreatedWebhookView), (status = 422, body = crate::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateWebhookRequest>,
) -> Result<(StatusCode, Json<CreatedWebhookView>), AppError> {
    let created = state
        .core
        .create_webhook(&caller, &body.url, body.events.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookView {
            webhook: created.webhook,
            secret: created.secret.expose_secret().to_string(),
        }),
    ))
}

/// Changes the event types a webhook takes, or enables or disables it. Owners and admins.
#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "alerts", params(("id" = String, Path)),
    request_body = UpdateWebhookRequest,
    responses((status = 200, body = WebhookView), (status = 404, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateWebhookRequest>,
) -> Result<Json<WebhookView>, AppError> {
    let update = WebhookUpdate {
        events: body.events,
        enabled: body.enabled,
    };
    Ok(Json(
        state
            .core
            .update_webhook(&caller, parse_webhook_id(&id)?, &update)
            .await?,
    ))
}

/// Gives a webhook a new signing secret, shown once. For `overlap_hours` (default 24) deliveries carry
/// both signatures, `t=<unix>,v1=<new>,v1=<old>`, so a receiver can switch without missing one; a
/// rotation during an overlap ends the older secret at once. Owners and admins.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/secret", tag = "alerts", params(("id" = String, Path)),
    request_body = RotateSecretRequest,
    responses((status = 200, body = CreatedWebhookView), (status = 404, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<RotateSecretRequest>,
) -> Result<Json<CreatedWebhookView>, AppError> {
    let rotated = state
        .core
        .rotate_webhook_secret(&caller, parse_webhook_id(&id)?, body.overlap_hours)
        .await?;
    Ok(Json(CreatedWebhookView {
        webhook: rotated.webhook,
        secret: rotated.secret.expose_secret().to_string(),
    }))
}

/// Sends a signed `webhook.test` event to the webhook now and answers how it went. It goes whatever the
/// webhook's events, even while it is disabled, and is neither retried nor counted towards disabling it.
/// Owners and admins.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "alerts", params(("id" = String, Path)),
    responses((status = 200, body = TestDelivery), (status = 404, body = crate::Problem)))]
pub async fn send_test(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<TestDelivery>, AppError> {
    Ok(Json(
        state
            .core
            .send_test_event(&caller, parse_webhook_id(&id)?)
            .await?,
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
    Ok(Json(state.core.alerts(&caller, None, 50).await?.into()))
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
