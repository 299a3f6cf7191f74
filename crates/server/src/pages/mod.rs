//! Server-rendered pages. Every page is plain HTML with the stylesheet from /assets; no inline script.

pub mod api_docs;
pub mod auth;
pub mod calendar;
pub mod connect;
pub mod errors;
mod flash;
mod icons;
mod layout;
pub mod links;
pub mod notifications;
pub mod password;
pub mod plan;
pub mod platforms;
pub mod post;
pub mod posts;
pub mod queue;
pub mod settings;
pub mod unsubscribe;

pub use layout::{app_page, csrf_token, page, Chrome, Section, ASSETS_CSS, ASSETS_ICON, ASSETS_JS};

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};

/// Dates as the product page writes them ("Aug 25 2025, 09:16"); the script rewrites them in the viewer's
/// time zone, the server writes UTC.
fn seed_date(at: DateTime<Utc>) -> String {
    at.format("%b %d %Y, %H:%M").to_string()
}

/// The answer to a form that worked: go on to `location` (a GET, so reloading sends nothing again).
pub(crate) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

/// A moment in UTC, marked for the script to show in the viewer's time zone.
fn local_time(at: DateTime<Utc>) -> Markup {
    html! { time datetime=(at.to_rfc3339()) data-local { (seed_date(at)) " UTC" } }
}

/// [`local_time`], or "never" for what has not happened.
fn local_time_or_never(at: Option<DateTime<Utc>>) -> Markup {
    match at {
        Some(at) => local_time(at),
        None => html! { "never" },
    }
}
