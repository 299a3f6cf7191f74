//! How values are stored, the same in both databases: times as integer microseconds, labels lower-cased
//! for the filter, enums and ids as text. Reading whole rows is in [`crate::sql`] (`rows.rs`).

use crate::*;
use chrono::{DateTime, TimeZone, Utc};
use std::str::FromStr;

pub(crate) fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn from_micros(value: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(value)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

pub(crate) fn opt_from_micros(value: Option<i64>) -> Option<DateTime<Utc>> {
    value.map(from_micros)
}

/// The labels as the label filter compares them: lower-cased in full Unicode, as JSON.
pub(crate) fn label_keys(labels: &[String]) -> StoreResult<String> {
    let keys: Vec<String> = labels.iter().map(|l| l.to_lowercase()).collect();
    to_json(&keys)
}

/// A value as the JSON text a column holds.
pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Parses a stored enum or id; a failure means the row was written by something other than this store.
pub(crate) fn parse_stored<T: FromStr>(column: &str, text: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|_| crate::StoreError::Corrupt(format!("{column} holds {text:?}")))
}

pub(crate) const ACCOUNT_COLUMNS: &str = "id, workspace_id, platform, kind, platform_account_id, \
    display_name, platform_display_name, display_name_override, handle, avatar_url, status, \
    status_reason, status_message, status_since, scopes, labels, created_at, connected_by, \
    token_expires_at, last_refreshed_at, last_checked_at, last_used_at, next_refresh_at, followers, sandbox, client_id, \
    connected_via_link";

/// The text every search matches against: the shown name, the handle and the labels, one per line,
/// lower-cased in full Unicode.
pub(crate) fn search_text(display_name: &str, handle: Option<&str>, labels: &[String]) -> String {
    format!(
        "{}\n{}\n{}",
        display_name,
        handle.unwrap_or(""),
        labels.join("\n")
    )
    .to_lowercase()
}

/// A webhook's event types as stored: space-separated.
pub(crate) fn event_list(events: &[iquivity_domain::AlertKind]) -> String {
    events
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn parse_event_list(raw: &str) -> StoreResult<Vec<iquivity_domain::AlertKind>> {
    raw.split_whitespace()
        .map(|name| {
            iquivity_domain::AlertKind::parse(name)
                .ok_or_else(|| StoreError::Corrupt(format!("webhook event type {name:?}")))
        })
        .collect()
}
