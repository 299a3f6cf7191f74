use crate::error::AppError;
use crate::extract::{Authenticated, JsonBody};
use crate::views::{AccountPageView, AccountView, AuditEventView};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use iquivity_core::accounts::bulk::{BulkAction, BulkReport, BulkSelection};
use iquivity_core::accounts::{AccountPatch, ListAccounts, Summary, DEFAULT_PAGE, MAX_PAGE};
use iquivity_domain::{AccountId, AccountStatus, ClientId, Platform, ValidationError};
use iquivity_store::{AccountSort, SortKey};
use serde::Deserialize;

/// The list's query parameters. Parsed by hand rather than by serde so that repeated parameters work and
/// every mistake names its parameter.
#[derive(Debug, Default, Clone, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Case-insensitive part of the name or handle.
    pub(crate) q: Option<String>,
    /// Repeatable: `platform=x&platform=tiktok`.
    pub(crate) platform: Vec<Platform>,
    /// Repeatable: `status=inactive&status=failed`.
    pub(crate) status: Vec<AccountStatus>,
    /// A date (`2025-08-25`, from its start, UTC) or an RFC 3339 time.
    pub(crate) created_from: Option<String>,
    /// A date (through its end, UTC) or an RFC 3339 time (inclusive).
    pub(crate) created_to: Option<String>,
    /// Who connected it: a user id or an email address.
    pub(crate) owner: Option<String>,
    /// The beginning of a label, in any case (`cli` finds `Client A`).
    pub(crate) label: Option<String>,
    /// Repeatable: a client id, or `none` for accounts without a client.
    pub(crate) client: Vec<String>,
    /// `created_at`, `name`, `platform` or `status`, with `-` in front for descending. Default `-created_at`.
    pub(crate) sort: Option<String>,
    /// 1 to 200, default 50.
    pub(crate) limit: Option<u32>,
    /// `next_cursor` from the previous page.
    pub(crate) cursor: Option<String>,
    /// The viewer's offset from UTC in minutes (-840 to 840), for dates typed into `q`. Default 0.
    pub(crate) tz: Option<i32>,
}

impl ListParams {
    /// Whether any parameter narrows the list (sorting, paging and the time zone do not).
    pub(crate) fn narrows(&self) -> bool {
        self.q.is_some()
            || !self.platform.is_empty()
            || !self.status.is_empty()
            || self.created_from.is_some()
            || self.created_to.is_some()
            || self.owner.is_some()
            || self.label.is_some()
            || !self.client.is_empty()
    }
}

/// What the list does with a query parameter it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnknownParams {
    /// The API: a misspelt parameter would silently widen the list, so it is an error naming it.
    Refuse,
    /// The pages: a link carries what others add (`utm_source`, ...), and the list must still show.
    Ignore,
}

fn parse_params(raw: Option<&str>, unknown: UnknownParams) -> Result<ListParams, AppError> {
    let mut params = ListParams::default();
    let mut errors = Vec::new();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        let value = value.into_owned();
        // An empty value means "any": what a form without JavaScript sends for an unset filter.
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "q" => params.q = Some(value),
            "platform" => match value.parse() {
                Ok(p) => params.platform.push(p),
                Err(e) => errors.push(e),
            },
            "status" => match value.parse() {
                Ok(s) => params.status.push(s),
                Err(e) => errors.push(e),
            },
            "created_from" => params.created_from = Some(value),
            "created_to" => params.created_to = Some(value),
            "owner" => params.owner = Some(value),
            "label" => params.label = Some(value),
            "client" => params.client.push(value),
            "sort" => params.sort = Some(value),
            "limit" => match value.parse::<u32>() {
                Ok(limit) => params.limit = Some(limit),
                Err(_) => errors.push(ValidationError::new(
                    "limit",
                    format!("must be a whole number between 1 and {MAX_PAGE} (got {value:?})"),
                )),
            },
            "cursor" => params.cursor = Some(value),
            "tz" => match value.parse::<i32>() {
                Ok(tz) if (-840..=840).contains(&tz) => params.tz = Some(tz),
                _ => errors.push(ValidationError::new(
                    "tz",
                    format!("must be minutes from UTC between -840 and 840 (got {value:?})"),
                )),
            },
            _ if unknown == UnknownParams::Ignore => {}
            other => errors.push(ValidationError::new(
                other,
                "unknown parameter; expected q, platform, status, created_from, created_to, owner, label, client, sort, limit, cursor or tz",
            )),
        }
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(AppError::validation(errors))
    }
}

/// Parses a date or an RFC 3339 time. For an upper bound, a date means "through the end of that day".
fn parse_bound(field: &str, raw: &str, upper: bool) -> Result<DateTime<Utc>, ValidationError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        let at = at.with_timezone(&Utc);
        return Ok(if upper {
            at + chrono::Duration::microseconds(1)
        } else {
            at
        });
    }
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let day = if upper {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        if let Some(start) = day.and_hms_opt(0, 0, 0) {
            return Ok(start.and_utc());
        }
    }
    Err(ValidationError::new(
        field,
        format!("must be a date like 2025-08-25 or an RFC 3339 time like 2025-08-25T09:16:00Z (got {raw:?})"),
    ))
}

fn parse_sort(raw: Option<&str>) -> Result<AccountSort, ValidationError> {
    let raw = raw.unwrap_or("-created_at");
    let (descending, name) = match raw.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, raw),
    };
    let key = SortKey::parse(name).ok_or_else(|| {
        ValidationError::new(
            "sort",
            format!("unknown sort {raw:?}; expected created_at, name, platform or status, optionally with a leading -"),
        )
    })?;
    Ok(AccountSort { key, descending })
}

pub(crate) fn parse_id(raw: &str) -> Result<AccountId, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not an account id")))
}

/// Parses the list's query string into the core's request; the parameters come back too, for pages that
/// show them in their filter controls.
pub(crate) fn list_request(
    query: Option<&str>,
    unknown: UnknownParams,
) -> Result<(ListParams, ListAccounts), AppError> {
    let params = parse_params(query, unknown)?;
    let mut errors = Vec::new();
    let mut bound = |field: &str, raw: Option<&str>, end: bool| {
        raw.map(|raw| parse_bound(field, raw, end))
            .transpose()
            .map_err(|e| errors.push(e))
            .ok()
            .flatten()
    };
    let created_from = bound("created_from", params.created_from.as_deref(), false);
    let created_before = bound("created_to", params.created_to.as_deref(), true);
    let sort = parse_sort(params.sort.as_deref())
        .map_err(|e| errors.push(e))
        .ok();
    let mut clients = Vec::new();
    let mut without_client = false;
    for raw in &params.client {
        match raw.as_str() {
            "none" => without_client = true,
            id => match id.parse::<ClientId>() {
                Ok(id) => clients.push(id),
                Err(_) => errors.push(ValidationError::new(
                    "client",
                    format!("must be a client id or none (got {raw:?})"),
                )),
            },
        }
    }
    let Some(sort) = sort.filter(|_| errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    let request = ListAccounts {
        q: params.q.clone(),
        platforms: params.platform.clone(),
        statuses: params.status.clone(),
        created_from,
        created_before,
        owner: params.owner.clone(),
        label: params.label.clone(),
        clients,
        without_client,
        sort,
        limit: params.limit.unwrap_or(DEFAULT_PAGE),
        cursor: params.cursor.clone(),
        tz_offset_minutes: params.tz.unwrap_or(0),
    };
    Ok((params, request))
}

/// Lists the workspace's accounts: search, filters, sort and keyset pagination.
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", params(ListParams),
    responses((status = 200, body = AccountPageView), (status = 422, body = crate::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<AccountPageView>, AppError> {
    let (_, request) = list_request(query.as_deref(), UnknownParams::Refuse)?;
    let page = state.core.list_accounts(&caller, request).await?;
    Ok(Json(AccountPageView {
        items: page.items.into_iter().map(AccountView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Total, active, inactive and failed accounts, per platform too, and the plan's limits and use.
#[utoipa::path(get, path = "/api/v1/accounts/summary", tag = "accounts",
    responses((status = 200, body = Summary)))]
pub async fn summary(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Summary>, AppError> {
    Ok(Json(state.core.account_summary(&caller).await?))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = crate::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<AccountView>, AppError> {
    Ok(Json(
        state.core.account(&caller, parse_id(&id)?).await?.into(),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchRequest {
    /// Replaces the labels (at most 20, each up to 40 characters).
    labels: Option<Vec<String>>,
    /// A name to show instead of the platform's; `null` goes back to the platform's name.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    display_name: Option<Option<String>>,
    /// The client the account belongs to; `null` for none.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, format = Uuid, nullable)]
    client_id: Option<Option<ClientId>>,
}

/// Changes labels, the display name and/or the client. Owners and admins only.
#[utoipa::path(patch, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    request_body = AccountPatchRequest,
    responses((status = 200, body = AccountView), (status = 403, body = crate::Problem), (status = 404, body = crate::Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<AccountPatchRequest>,
) -> Result<Json<AccountView>, AppError> {
    let id = parse_id(&id)?;
    let account = state
        .core
        .update_account(
            &caller,
            id,
            AccountPatch {
                labels: body.labels,
                display_name: body.display_name,
                client_id: body.client_id,
            },
        )
        .await?;
    Ok(Json(account.into()))
}

/// Removes the account and destroys its stored credentials. Owners and admins only.
#[utoipa::path(delete, path = "/api/v1/accounts/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = crate::Problem), (status = 404, body = crate::Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.core.remove_account(&caller, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The account's history: connected, reconnected, refreshed, status and label changes.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/events", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = [AuditEventView]), (status = 404, body = crate::Problem)))]
pub async fn events(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    Path(id): Path<String>,
) -> Result<Json<Vec<AuditEventView>>, AppError> {
    let events = state.core.account_events(&caller, parse_id(&id)?).await?;
    Ok(Json(events.into_iter().map(AuditEventView::from).collect()))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct BulkRefreshView {
    /// How many Inactive or Failed accounts the engine will now try to renew.
    queued: u32,
}

/// "Refresh all inactive": queues a renewal of every Inactive or Failed account; the lifecycle engine runs them.
#[utoipa::path(post, path = "/api/v1/accounts/refresh-inactive", tag = "accounts",
    responses((status = 202, body = BulkRefreshView)))]
pub async fn refresh_inactive(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<(StatusCode, Json<BulkRefreshView>), AppError> {
    let queued = state.core.refresh_all_inactive(&caller).await?;
    Ok((StatusCode::ACCEPTED, Json(BulkRefreshView { queued })))
}

/// The workspace's activity log: every account event, newest first (the last 200).
#[utoipa::path(get, path = "/api/v1/activity", tag = "accounts",
    responses((status = 200, body = [AuditEventView])))]
pub async fn activity(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Json<Vec<AuditEventView>>, AppError> {
    let events = state.core.activity(&caller).await?;
    Ok(Json(events.into_iter().map(AuditEventView::from).collect()))
}

/// What a bulk action does.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkActionName {
    Refresh,
    Remove,
    AddLabel,
    RemoveLabel,
    AssignClient,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    pub action: BulkActionName,
    /// The accounts, by id (at most 500). Give this or `filter`.
    #[schema(value_type = Option<Vec<String>>)]
    pub ids: Option<Vec<String>>,
    /// Every account the filter matches, across all its pages (at most 500): the list's query parameters
    /// as in `GET /api/v1/accounts`, e.g. `"platform=x&status=failed"`. Give this or `ids`.
    pub filter: Option<String>,
    /// The label to add or remove (`add_label`, `remove_label`).
    pub label: Option<String>,
    /// The client to assign (`assign_client`); `null` takes the accounts away from their client.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>, format = Uuid, nullable)]
    pub client_id: Option<Option<ClientId>>,
    /// Change nothing; answer what would happen (for `remove`: each account's scheduled posts).
    #[serde(default)]
    pub preview: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::validation(vec![ValidationError::new(field, message)])
}

/// The core's action and selection from a bulk request; each mistake names its field.
pub(crate) fn bulk_command(
    request: BulkRequest,
) -> Result<(BulkSelection, BulkAction, bool), AppError> {
    let action = match request.action {
        BulkActionName::Refresh => BulkAction::Refresh,
        BulkActionName::Remove => BulkAction::Remove,
        BulkActionName::AddLabel | BulkActionName::RemoveLabel => {
            let label = request
                .label
                .filter(|l| !l.trim().is_empty())
                .ok_or_else(|| invalid("label", "give the label"))?;
            match request.action {
                BulkActionName::AddLabel => BulkAction::AddLabel(label),
                _ => BulkAction::RemoveLabel(label),
            }
        }
        BulkActionName::AssignClient => {
            BulkAction::AssignClient(request.client_id.ok_or_else(|| {
                invalid("client_id", "give the client's id, or null for no client")
            })?)
        }
    };
    let selection = match (request.ids, request.filter) {
        (Some(ids), None) => BulkSelection::Ids(
            ids.iter()
                .map(|raw| {
                    raw.parse()
                        .map_err(|_| invalid("ids", format!("{raw:?} is not an account id")))
                })
                .collect::<Result<_, _>>()?,
        ),
        (None, Some(filter)) => {
            let (_, request) = list_request(Some(&filter), UnknownParams::Refuse)?;
            BulkSelection::Filter(Box::new(request))
        }
        _ => return Err(invalid("ids", "give either ids or filter")),
    };
    Ok((selection, action, request.preview))
}

/// One action on many accounts: refresh, remove, add or remove a label, or assign a client. Each account is
/// acted on by itself and the answer says what happened to each (`refreshed`, `needs_consent`, `removed`,
/// `forbidden`, `not_found`, `failed`, ...). Members may only refresh.
#[utoipa::path(post, path = "/api/v1/accounts/bulk", tag = "accounts", request_body = BulkRequest,
    responses((status = 200, body = BulkReport)))]
pub async fn bulk(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    JsonBody(body): JsonBody<BulkRequest>,
) -> Result<Json<BulkReport>, AppError> {
    let (selection, action, preview) = bulk_command(body)?;
    Ok(Json(
        state
            .core
            .bulk_action(&caller, selection, action, preview)
            .await?,
    ))
}
