use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody, SessionCookie};
use crate::views::{AccountView, ConnectionView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use iquivity_core::connections::RefreshOutcome;
use iquivity_domain::{AccountId, Platform};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConnectionRequest {
    platform: Platform,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct StartedConnectionView {
    id: uuid::Uuid,
    platform: Platform,
    /// Send the person here to consent; the platform sends them back to `/oauth/{platform}/callback`.
    authorize_url: String,
    expires_at: DateTime<Utc>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectRequest {
    /// `platform_account_id`s from the connection's candidates.
    targets: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SelectedView {
    accounts: Vec<AccountView>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RefreshView {
    /// `refreshed`, or `needs_consent` when only the person can fix the connection.
    outcome: &'static str,
    account: AccountView,
    /// For `needs_consent`: the consent link that repairs this very account.
    authorize_url: Option<String>,
    connection_id: Option<uuid::Uuid>,
}

pub(crate) fn parse_connection_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not a connection id")))
}

/// Starts "Add New Account": answers the platform's consent URL. Owners and admins.
#[utoipa::path(post, path = "/api/v1/connections", tag = "connections", request_body = StartConnectionRequest,
    responses((status = 201, body = StartedConnectionView), (status = 403, body = crate::Problem)))]
pub async fn start(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    SessionCookie(session): SessionCookie,
    JsonBody(body): JsonBody<StartConnectionRequest>,
) -> Result<(StatusCode, Json<StartedConnectionView>), AppError> {
    let started = state
        .core
        .start_connection(&caller, session.as_deref(), body.platform, None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StartedConnectionView {
            id: started.id,
            platform: started.platform,
            authorize_url: started.authorize_url,
            expires_at: started.expires_at,
        }),
    ))
}

/// A connection's progress: its stage, the error that ended it, or the candidates to choose from.
#[utoipa::path(get, path = "/api/v1/connections/{id}", tag = "connections", params(("id" = String, Path)),
    responses((status = 200, body = ConnectionView), (status = 404, body = crate::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<ConnectionView>, AppError> {
    Ok(Json(
        state
            .core
            .connection(&caller, parse_connection_id(&id)?)
            .await?
            .into(),
    ))
}

/// Connects the chosen Pages / Instagram accounts / profile and organisations.
#[utoipa::path(post, path = "/api/v1/connections/{id}/select", tag = "connections", params(("id" = String, Path)),
    request_body = SelectRequest,
    responses((status = 200, body = SelectedView), (status = 403, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn select(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SelectRequest>,
) -> Result<Json<SelectedView>, AppError> {
    let accounts = state
        .core
        .select_targets(&caller, parse_connection_id(&id)?, &body.targets)
        .await?;
    Ok(Json(SelectedView {
        accounts: accounts.into_iter().map(AccountView::from).collect(),
    }))
}

// The product's Refresh action: docs/product.md#refresh.
/// Refresh (🔄): renews and re-checks the account, or answers the consent link that repairs it.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/refresh", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = RefreshView), (status = 404, body = crate::Problem), (status = 409, body = crate::Problem)))]
pub async fn refresh(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    SessionCookie(session): SessionCookie,
    Path(id): Path<String>,
) -> Result<Json<RefreshView>, AppError> {
    let id: AccountId = id
        .parse()
        .map_err(|_| AppError::bad_request("id", format!("{id:?} is not an account id")))?;
    let outcome = state
        .core
        .refresh_account(&caller, session.as_deref(), id)
        .await?;
    Ok(Json(match outcome {
        RefreshOutcome::Refreshed(account) => RefreshView {
            outcome: "refreshed",
            account: account.into(),
            authorize_url: None,
            connection_id: None,
        },
        RefreshOutcome::NeedsUser {
            account,
            authorize_url,
            connection_id,
        } => RefreshView {
            outcome: "needs_consent",
            account: account.into(),
            authorize_url: Some(authorize_url),
            connection_id: Some(connection_id),
        },
    }))
}
