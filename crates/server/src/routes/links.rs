//! Links for account owners: connect links, reconnect requests and client access links (owners and
//! admins). The pages the links open are in `pages/links/`.

use super::accounts::parse_id;
use super::clients::parse_client_id;
use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::views::{CreatedLinkView, LinkUseView, LinkView};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use iquivity_core::links::{CreatedLink, NewConnectLink};
use iquivity_domain::{ClientId, LinkId, Platform};
use secrecy::ExposeSecret;
use serde::Deserialize;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnectLinkRequest {
    /// The client the connected accounts join.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    client_id: Option<ClientId>,
    /// The platforms offered; empty or absent: every platform the server has.
    #[serde(default)]
    platforms: Vec<Platform>,
    /// 1 to 30; 7 when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
    /// One connection uses it up (the default); `false`: usable until it expires.
    #[serde(default)]
    single_use: Option<bool>,
    /// Shown to the account's owner on the link's page; up to 500 characters.
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconnectRequest {
    /// Shown to the account's owner on the link's page.
    #[serde(default)]
    note: Option<String>,
    /// 1 to 30; 7 when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessLinkRequest {
    /// 1 to 30; 7 when absent.
    #[serde(default)]
    expires_in_days: Option<u32>,
}

pub(crate) fn parse_link_id(raw: &str) -> Result<LinkId, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not a link id")))
}

/// The answer to a link just made: its address, shown this once.
pub(crate) fn created(state: &AppState, made: CreatedLink) -> (StatusCode, Json<CreatedLinkView>) {
    let url = format!("{}/l/{}", state.link_base(), made.token.expose_secret());
    let link = LinkView::of(made.link, state.core.clock.now());
    (StatusCode::CREATED, Json(CreatedLinkView { url, link }))
}

/// Makes a connect link: its holder connects accounts of the chosen platforms into this workspace, for
/// the chosen client, without signing in here. The answer's `url` is shown this once.
#[utoipa::path(post, path = "/api/v1/connect-links", tag = "links", request_body = CreateConnectLinkRequest,
    responses((status = 201, body = CreatedLinkView), (status = 403, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<CreateConnectLinkRequest>,
) -> Result<(StatusCode, Json<CreatedLinkView>), AppError> {
    let made = state
        .core
        .create_connect_link(
            &caller,
            NewConnectLink {
                client_id: body.client_id,
                platforms: body.platforms,
                expires_in_days: body.expires_in_days,
                single_use: body.single_use,
                note: body.note,
            },
        )
        .await?;
    Ok(created(&state, made))
}

/// The workspace's links of every kind (connect, reconnect, access), newest first.
#[utoipa::path(get, path = "/api/v1/connect-links", tag = "links",
    responses((status = 200, body = [LinkView]), (status = 403, body = crate::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<LinkView>>, AppError> {
    let now = state.core.clock.now();
    let links = state.core.links(&caller).await?;
    Ok(Json(
        links.into_iter().map(|l| LinkView::of(l, now)).collect(),
    ))
}

/// Revokes a link: it stops working at once. Revoking it again changes nothing.
#[utoipa::path(delete, path = "/api/v1/connect-links/{id}", tag = "links", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = crate::Problem)))]
pub async fn revoke(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.core.revoke_link(&caller, parse_link_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What was done through a link, oldest first: what was connected, refused visits, removal requests.
#[utoipa::path(get, path = "/api/v1/connect-links/{id}/uses", tag = "links", params(("id" = String, Path)),
    responses((status = 200, body = [LinkUseView]), (status = 404, body = crate::Problem)))]
pub async fn uses(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Vec<LinkUseView>>, AppError> {
    let uses = state.core.link_uses(&caller, parse_link_id(&id)?).await?;
    Ok(Json(uses.into_iter().map(LinkUseView::from).collect()))
}

/// "Ask the owner to reconnect" an Inactive or Failed account: a single-use link that takes only that
/// account's consent. The answer's `url` is shown this once.
#[utoipa::path(post, path = "/api/v1/accounts/{id}/reconnect-request", tag = "links", params(("id" = String, Path)),
    request_body = ReconnectRequest,
    responses((status = 201, body = CreatedLinkView), (status = 404, body = crate::Problem), (status = 422, body = crate::Problem)))]
pub async fn reconnect_request(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ReconnectRequest>,
) -> Result<(StatusCode, Json<CreatedLinkView>), AppError> {
    let made = state
        .core
        .request_reconnect(
            &caller,
            parse_id(&id)?,
            body.note.as_deref(),
            body.expires_in_days,
        )
        .await?;
    Ok(created(&state, made))
}

/// A link to the client's access page: its accounts, what was granted and by whom, read-only. The
/// answer's `url` is shown this once.
#[utoipa::path(post, path = "/api/v1/clients/{id}/access-link", tag = "links", params(("id" = String, Path)),
    request_body = AccessLinkRequest,
    responses((status = 201, body = CreatedLinkView), (status = 404, body = crate::Problem)))]
pub async fn access_link(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AccessLinkRequest>,
) -> Result<(StatusCode, Json<CreatedLinkView>), AppError> {
    let made = state
        .core
        .create_access_link(&caller, parse_client_id(&id)?, body.expires_in_days)
        .await?;
    Ok(created(&state, made))
}
