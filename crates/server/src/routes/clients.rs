use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use iquivity_core::clients::{ClientPatch, ClientSummary};
use iquivity_domain::{Client, ClientId};
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// 1 to 80 characters, unique in the workspace regardless of case.
    name: String,
    /// `#rrggbb`.
    #[serde(default)]
    colour: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateClientRequest {
    #[serde(default)]
    name: Option<String>,
    /// `#rrggbb`; `null` removes the colour.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, nullable)]
    colour: Option<Option<String>>,
}

pub(crate) fn parse_client_id(raw: &str) -> Result<ClientId, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not a client id")))
}

/// The workspace's clients by name, each with its number of accounts.
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients",
    responses((status = 200, body = [ClientSummary])))]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<ClientSummary>>, AppError> {
    Ok(Json(state.core.clients(&caller).await?))
}

/// Adds a client. Owners and admins.
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", request_body = CreateClientRequest,
    responses((status = 201, body = Client)))]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateClientRequest>,
) -> Result<(StatusCode, Json<Client>), AppError> {
    let client = state
        .core
        .create_client(&caller, &body.name, body.colour.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(client)))
}

/// Renames or recolours a client. Owners and admins.
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", params(("id" = String, Path)),
    request_body = UpdateClientRequest, responses((status = 200, body = Client)))]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateClientRequest>,
) -> Result<Json<Client>, AppError> {
    let patch = ClientPatch {
        name: body.name,
        colour: body.colour,
    };
    Ok(Json(
        state
            .core
            .update_client(&caller, parse_client_id(&id)?, &patch)
            .await?,
    ))
}

/// Removes a client; its accounts stay, without a client. Owners and admins.
#[utoipa::path(delete, path = "/api/v1/clients/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 204, description = "Removed")))]
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state
        .core
        .delete_client(&caller, parse_client_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
