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
pub mod posts;
pub mod queue;
pub mod settings;
pub mod unsubscribe;

pub use layout::{app_page, csrf_token, page, Chrome, Section, ASSETS_CSS, ASSETS_ICON, ASSETS_JS};

use chrono::{DateTime, Utc};

/// Dates as the product page writes them ("Aug 25 2025, 09:16"); the script rewrites them in the viewer's
/// time zone, the server writes UTC.
fn seed_date(at: DateTime<Utc>) -> String {
    at.format("%b %d %Y, %H:%M").to_string()
}
