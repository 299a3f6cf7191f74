//! Account rows: mapping and the list query, whose shape depends on the filters and the sort.

use super::{from_micros, opt_from_micros, parse_stored};
use crate::{AccountQuery, CursorValue, SortKey, StoreError, StoreResult};
use iquivity_domain::{Account, Labels};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

pub(super) const ACCOUNT_COLUMNS: &str = "id, workspace_id, platform, kind, platform_account_id, \
    display_name, platform_display_name, display_name_override, handle, avatar_url, status, \
    status_reason, status_message, status_since, scopes, labels, created_at, connected_by, \
    token_expires_at, last_refreshed_at, last_checked_at, last_used_at, next_refresh_at, followers, sandbox";

pub(super) fn account_from_row(row: &SqliteRow) -> StoreResult<Account> {
    let scopes: String = row.try_get("scopes")?;
    let labels: String = row.try_get("labels")?;
    let labels: Vec<String> =
        serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt(format!("labels: {e}")))?;
    let reason: Option<String> = row.try_get("status_reason")?;
    let connected_by: Option<String> = row.try_get("connected_by")?;
    Ok(Account {
        id: parse_stored("id", &row.try_get::<String, _>("id")?)?,
        workspace_id: parse_stored("workspace_id", &row.try_get::<String, _>("workspace_id")?)?,
        platform: parse_stored("platform", &row.try_get::<String, _>("platform")?)?,
        kind: parse_stored("kind", &row.try_get::<String, _>("kind")?)?,
        platform_account_id: row.try_get("platform_account_id")?,
        display_name: row.try_get("display_name")?,
        platform_display_name: row.try_get("platform_display_name")?,
        display_name_override: row.try_get("display_name_override")?,
        handle: row.try_get("handle")?,
        avatar_url: row.try_get("avatar_url")?,
        status: parse_stored("status", &row.try_get::<String, _>("status")?)?,
        status_reason: reason
            .map(|r| parse_stored("status_reason", &r))
            .transpose()?,
        status_message: row.try_get("status_message")?,
        status_since: from_micros(row.try_get("status_since")?),
        scopes: serde_json::from_str(&scopes)
            .map_err(|e| StoreError::Corrupt(format!("scopes: {e}")))?,
        labels: Labels::parse(&labels).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: from_micros(row.try_get("created_at")?),
        connected_by: connected_by
            .map(|u| parse_stored("connected_by", &u))
            .transpose()?,
        token_expires_at: opt_from_micros(row.try_get("token_expires_at")?),
        last_refreshed_at: opt_from_micros(row.try_get("last_refreshed_at")?),
        last_checked_at: opt_from_micros(row.try_get("last_checked_at")?),
        last_used_at: opt_from_micros(row.try_get("last_used_at")?),
        next_refresh_at: opt_from_micros(row.try_get("next_refresh_at")?),
        followers: row
            .try_get::<Option<i64>, _>("followers")?
            .and_then(|f| u64::try_from(f).ok()),
        sandbox: row.try_get::<i64, _>("sandbox")? != 0,
    })
}

/// The text every search matches against: the shown name and the handle, lower-cased in full Unicode.
pub(super) fn search_text(display_name: &str, handle: Option<&str>) -> String {
    format!("{}\n{}", display_name, handle.unwrap_or("")).to_lowercase()
}

fn sort_column(key: SortKey) -> &'static str {
    match key {
        SortKey::CreatedAt => "created_at",
        SortKey::Name => "sort_name",
        SortKey::Platform => "platform",
        SortKey::Status => "status",
    }
}

/// Builds the keyset-paginated list query: filters, then `(sort column, id)` past the cursor, in order.
pub(super) fn list_query<'q>(
    workspace: &'q str,
    query: &'q AccountQuery,
    search_keys: Option<&'q [i64]>,
) -> QueryBuilder<'q, Sqlite> {
    let mut sql = QueryBuilder::new(format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE workspace_id = "
    ));
    sql.push_bind(workspace);
    if let Some(keys) = search_keys {
        // The trigram index found these (few) accounts: fetch them by key rather than scanning.
        sql.push(" AND search_key IN (");
        let mut list = sql.separated(", ");
        for key in keys {
            list.push_bind(*key);
        }
        if keys.is_empty() {
            list.push("NULL");
        }
        sql.push(")");
    } else if let Some(search) = &query.search {
        sql.push(" AND (instr(search_text, ")
            .push_bind(search.text.as_str())
            .push(") > 0");
        for platform in &search.platforms {
            sql.push(" OR platform = ").push_bind(platform.as_str());
        }
        for (from, to) in &search.created {
            sql.push(" OR (created_at >= ")
                .push_bind(from.timestamp_micros())
                .push(" AND created_at < ")
                .push_bind(to.timestamp_micros())
                .push(")");
        }
        sql.push(")");
    }
    if !query.platforms.is_empty() {
        sql.push(" AND platform IN (");
        let mut list = sql.separated(", ");
        for platform in &query.platforms {
            list.push_bind(platform.as_str());
        }
        sql.push(")");
    }
    if !query.statuses.is_empty() {
        sql.push(" AND status IN (");
        let mut list = sql.separated(", ");
        for status in &query.statuses {
            list.push_bind(status.as_str());
        }
        sql.push(")");
    }
    if let Some(from) = query.created_from {
        sql.push(" AND created_at >= ")
            .push_bind(from.timestamp_micros());
    }
    if let Some(before) = query.created_before {
        sql.push(" AND created_at < ")
            .push_bind(before.timestamp_micros());
    }
    if let Some(user) = query.connected_by {
        sql.push(" AND connected_by = ").push_bind(user.to_string());
    }
    if let Some(label) = &query.label {
        sql.push(
            " AND EXISTS (SELECT 1 FROM json_each(accounts.labels) WHERE lower(json_each.value) = ",
        )
        .push_bind(label.to_lowercase())
        .push(")");
    }
    let column = sort_column(query.sort.key);
    let (cmp, dir) = if query.sort.descending {
        ("<", "DESC")
    } else {
        (">", "ASC")
    };
    if let Some(cursor) = &query.after {
        sql.push(format!(" AND ({column}, id) {cmp} ("));
        match &cursor.value {
            CursorValue::Micros(v) => sql.push_bind(*v),
            CursorValue::Text(v) => sql.push_bind(v.as_str()),
        };
        sql.push(", ").push_bind(cursor.id.to_string()).push(")");
    }
    sql.push(format!(" ORDER BY {column} {dir}, id {dir} LIMIT "))
        .push_bind(i64::from(query.limit));
    sql
}
