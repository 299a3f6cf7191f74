//! `GET /api/v1/calendar`: posts by publishing time over a bounded range, one item per account.

use crate::error::AppError;
use crate::extract::Authenticated;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use iquivity_core::posts::{CalendarItem, CalendarQuery};
use iquivity_core::CoreError;
use iquivity_domain::{AccountId, ClientId, Platform};
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarItemView {
    pub post_id: uuid::Uuid,
    pub target_id: uuid::Uuid,
    pub account_id: AccountId,
    /// A removed account keeps the name it had, marked "(removed)".
    pub account_name: String,
    pub platform: Platform,
    pub client_id: Option<ClientId>,
    /// `scheduled`, `publishing`, `published`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub state: &'static str,
    /// When it was published, or when it is to be.
    pub at: DateTime<Utc>,
    pub text: String,
    pub url: Option<String>,
    /// Scheduled to an account that is not Active: it fails unless the account is repaired first.
    pub at_risk: bool,
}

impl From<CalendarItem> for CalendarItemView {
    fn from(item: CalendarItem) -> Self {
        CalendarItemView {
            post_id: item.post_id,
            target_id: item.target_id,
            account_id: item.account_id,
            account_name: item.account_name,
            platform: item.platform,
            client_id: item.client_id,
            state: item.state.as_str(),
            at: item.at,
            text: item.text,
            url: item.url,
            at_risk: item.at_risk,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarView {
    pub items: Vec<CalendarItemView>,
    /// The range held more items than one answer carries; ask for a shorter range.
    pub truncated: bool,
}

/// A range bound: RFC 3339, or a date (`2026-12-01`, midnight UTC).
fn instant(field: &str, raw: &str) -> Result<DateTime<Utc>, CoreError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| CoreError::invalid(field, "must be a date (2026-12-01) or an RFC 3339 time"))
}

/// The calendar's query string: `from` and `to` (required), and repeatable `client`, `platform` and
/// `account`. Empty values mean "any"; unknown parameters are ignored, as on the list.
pub(crate) fn calendar_query(raw: Option<&str>) -> Result<CalendarQuery, CoreError> {
    let mut from = None;
    let mut to = None;
    let mut query = CalendarQuery {
        from: Utc::now(),
        to: Utc::now(),
        clients: Vec::new(),
        platforms: Vec::new(),
        accounts: Vec::new(),
    };
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "from" => from = Some(instant("from", &value)?),
            "to" => to = Some(instant("to", &value)?),
            "client" => query.clients.push(value.parse().map_err(|_| {
                CoreError::invalid("client", format!("{value:?} is not a client id"))
            })?),
            "platform" => query.platforms.push(value.parse().map_err(|_| {
                CoreError::invalid("platform", format!("unknown platform {value:?}"))
            })?),
            "account" => query.accounts.push(value.parse().map_err(|_| {
                CoreError::invalid("account", format!("{value:?} is not an account id"))
            })?),
            _ => {}
        }
    }
    query.from = from.ok_or_else(|| CoreError::invalid("from", "is required"))?;
    query.to = to.ok_or_else(|| CoreError::invalid("to", "is required"))?;
    Ok(query)
}

/// The posts of a range (`from` inclusive, `to` exclusive, at most 62 days), one item per account a post
/// goes to, in time order; filtered by `client`, `platform` and `account` (each repeatable).
#[utoipa::path(get, path = "/api/v1/calendar", tag = "posts",
    params(
        ("from" = String, Query, description = "Start, inclusive: a date (midnight UTC) or RFC 3339"),
        ("to" = String, Query, description = "End, exclusive; at most 62 days after from"),
        ("client" = Option<String>, Query, description = "A client id (repeatable)"),
        ("platform" = Option<String>, Query, description = "A platform (repeatable)"),
        ("account" = Option<String>, Query, description = "An account id (repeatable)"),
    ),
    responses((status = 200, body = CalendarView), (status = 422, body = crate::Problem)))]
pub async fn calendar(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    RawQuery(raw): RawQuery,
) -> Result<Json<CalendarView>, AppError> {
    let query = calendar_query(raw.as_deref())?;
    let calendar = state.core.calendar(&caller, &query).await?;
    Ok(Json(CalendarView {
        items: calendar.items.into_iter().map(Into::into).collect(),
        truncated: calendar.truncated,
    }))
}
