//! Notifications: the header's bell with the unread count, its drawer of the newest alerts, and the whole
//! history, paged. The drawer is a `<details>` element, so it opens without script.

use super::app_page;
use super::auth::field;
use super::layout::{Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::{local_time, see_other};
use crate::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
pub use iquivity_core::alerts::alert_text;
use iquivity_store::{AlertPosition, AlertRecord};
use maud::{html, Markup};

/// Alerts per page of the history.
const HISTORY_PAGE: u32 = 25;

fn alert_item(alert: &AlertRecord) -> Markup {
    html! {
        li class=[alert.read_at.is_none().then_some("unread")] {
            (local_time(alert.created_at))
            " " (alert_text(alert))
            @if alert.read_at.is_none() { span.visually-hidden { " (new)" } }
        }
    }
}

/// The "Mark all read" form; `back` is the page to return to.
fn mark_read_form(csrf: &str, back: &str) -> Markup {
    html! {
        form.mark-read method="post" action="/notifications/read" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            button.link type="submit" { "Mark all read" }
        }
    }
}

fn bell_icon() -> Markup {
    html! {
        svg.bell-icon width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" focusable="false" {
            path d="M10 2.5a5 5 0 0 0-5 5v3.2L3.5 13.5h13L15 10.7V7.5a5 5 0 0 0-5-5zM8 15.5a2 2 0 0 0 4 0"
                fill="none" stroke="currentColor" stroke-width="1.6" stroke-linejoin="round" stroke-linecap="round" {}
        }
    }
}

/// The header's bell: the unread count, and a drawer with the newest notifications.
pub fn bell(chrome: &Chrome) -> Markup {
    let unread = chrome.unread;
    let label = match unread {
        0 => "Notifications, none new".to_string(),
        1 => "Notifications, 1 new".to_string(),
        n => format!("Notifications, {n} new"),
    };
    html! {
        details.bell {
            summary aria-label=(label) {
                (bell_icon())
                @if unread > 0 { span.badge aria-hidden="true" { (unread) } }
            }
            div.drawer {
                h2 { "Notifications" }
                @if chrome.alerts.is_empty() {
                    p.muted { "Nothing yet. You are told here when an account is connected, stops working or recovers." }
                } @else {
                    ul.alert-list { @for alert in &chrome.alerts { (alert_item(alert)) } }
                }
                div.drawer-actions {
                    a href="/notifications" { "All notifications" }
                    @if unread > 0 { (mark_read_form(&chrome.csrf, "/")) }
                }
            }
        }
    }
}

/// The query of the history page: where the previous page ended.
#[derive(Debug, serde::Deserialize)]
pub struct HistoryQuery {
    before: Option<String>,
}

/// The opaque position in a link to the next page: microseconds and the alert's id.
fn position_text(alert: &AlertRecord) -> String {
    format!("{}_{}", alert.created_at.timestamp_micros(), alert.id)
}

fn parse_position(raw: &str) -> Option<AlertPosition> {
    let (micros, id) = raw.split_once('_')?;
    Some(AlertPosition {
        created_at: DateTime::<Utc>::from_timestamp_micros(micros.parse().ok()?)?,
        id: id.parse().ok()?,
    })
}

/// `GET /notifications`: every notification, newest first, a page at a time.
pub async fn history(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    Query(query): Query<HistoryQuery>,
) -> Result<Response, AppError> {
    let before = match query.before.as_deref().filter(|b| !b.is_empty()) {
        Some(raw) => Some(parse_position(raw).ok_or_else(|| {
            AppError::bad_request(
                "before",
                "this is not a position in the notification history",
            )
        })?),
        None => None,
    };
    let alerts = state.core.alerts(&caller, before, HISTORY_PAGE + 1).await?;
    let more = alerts.len() > HISTORY_PAGE as usize;
    let shown = &alerts[..alerts.len().min(HISTORY_PAGE as usize)];
    let summary = state.core.account_summary(&caller).await?;
    let chrome = Chrome::of(&state, &caller, &session, &summary).await?;
    let body = html! {
        h1 { "Notifications" }
        p.lead { "What happened to the workspace's accounts and webhooks, newest first." }
        @if chrome.unread > 0 { (mark_read_form(&chrome.csrf, "/notifications")) }
        @if shown.is_empty() {
            p.muted { @if before.is_some() { "No older notifications." } @else { "No notifications yet." } }
        } @else {
            ul.alert-list.history-list { @for alert in shown { (alert_item(alert)) } }
        }
        nav.pager aria-label="Notification pages" {
            @if before.is_some() { a href="/notifications" { "Newest" } }
            @if more {
                @if let Some(last) = shown.last() {
                    a.button.secondary href={ "/notifications?before=" (position_text(last)) } { "Older" }
                }
            }
        }
    };
    Ok(app_page(
        StatusCode::OK,
        "Notifications",
        Section::Notifications,
        &chrome,
        body,
    ))
}

/// `POST /notifications/read` from the bell's drawer or the history page: back where the person was.
pub async fn mark_read(
    State(state): State<AppState>,
    form: CheckedForm,
) -> Result<Response, AppError> {
    state.core.mark_alerts_read(&form.caller).await?;
    // Only this service's own pages: a form field must not send the browser elsewhere.
    let back = match field(&form.fields, "back") {
        Some("/notifications") => "/notifications",
        _ => "/",
    };
    Ok(see_other(back))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_position_reads_back_as_written() {
        let alert = AlertRecord {
            id: uuid::Uuid::now_v7(),
            workspace_id: iquivity_domain::WorkspaceId::new(),
            account_id: None,
            kind: iquivity_domain::AlertKind::Connected,
            dedupe_key: None,
            payload: serde_json::json!({}),
            created_at: DateTime::<Utc>::from_timestamp_micros(1_764_000_000_123_456).unwrap(),
            read_at: None,
        };
        let position = parse_position(&position_text(&alert)).unwrap();
        assert_eq!(position.created_at, alert.created_at);
        assert_eq!(position.id, alert.id);
        assert!(parse_position("yesterday").is_none());
        assert!(parse_position("12_not-a-uuid").is_none());
    }
}
