//! The accounts list query, whose shape depends on the filters and the sort. One builder serves every
//! backend; what differs between them (text and label matching) is behind [`ListDialect`].

use crate::rows::ACCOUNT_COLUMNS;
use crate::sql::Dialect;
use crate::{AccountQuery, CursorValue, SortKey};
use sqlx::{Encode, QueryBuilder, Type};

/// How many matches the trigram index is asked for before a search falls back to scanning in sort order:
/// small enough that probing for a common text stays cheap (the probe stops at one more than this).
pub(crate) const SEARCH_PROBE_FEW: i64 = 200;

/// The word to probe the trigram index with, when every match must contain it: no dates the search also
/// matches, and a word of at least three characters (a trigram) that names no platform and no client;
/// the longest such word, as the rarest.
pub(crate) fn search_probe(query: &AccountQuery) -> Option<&str> {
    let search = query.search.as_ref()?;
    if !search.created.is_empty() {
        return None;
    }
    search
        .words
        .iter()
        .filter(|w| w.text.chars().count() >= 3 && w.platforms.is_empty() && w.clients.is_empty())
        .max_by_key(|w| w.text.chars().count())
        .map(|w| w.text.as_str())
}

/// A LIKE pattern (with `\` as the escape) matching any text that contains `text`.
pub(crate) fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// ` AND {column} IN (...)`: the column is one of `values`; no condition when there are none (the filter
/// is not set).
fn push_any_of<'q, DB>(
    sql: &mut QueryBuilder<'q, DB>,
    column: &str,
    values: impl Iterator<Item = &'q str>,
) where
    DB: sqlx::Database,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    let mut values = values.peekable();
    if values.peek().is_none() {
        return;
    }
    sql.push(format!(" AND {column} IN ("));
    let mut list = sql.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    sql.push(")");
}

/// What a sort orders by: a column, or for the status its severity (see
/// [`iquivity_domain::AccountStatus::severity_rank`]), written out from the statuses themselves.
fn sort_column(key: SortKey) -> String {
    match key {
        SortKey::CreatedAt => "created_at".into(),
        SortKey::Name => "sort_name".into(),
        SortKey::Platform => "platform".into(),
        SortKey::Status => {
            let cases: String = iquivity_domain::AccountStatus::ALL
                .iter()
                .map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), s.severity_rank()))
                .collect();
            format!("(CASE status{cases} END)")
        }
    }
}

/// Builds the keyset-paginated list query: filters, then `(sort column, id)` past the cursor, in order.
pub(crate) fn list_query<'q, DB>(
    workspace: &'q str,
    query: &'q AccountQuery,
    search_keys: Option<&'q [i64]>,
) -> QueryBuilder<'q, DB>
where
    DB: Dialect,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    String: Encode<'q, DB> + Type<DB>,
{
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
    }
    if let Some(search) = &query.search {
        sql.push(" AND ((");
        if search.words.is_empty() {
            sql.push("1 = 1");
        }
        for (n, word) in search.words.iter().enumerate() {
            if n > 0 {
                sql.push(" AND ");
            }
            sql.push("(");
            DB::push_contains(&mut sql, word.text.as_str());
            for platform in &word.platforms {
                sql.push(" OR platform = ").push_bind(platform.as_str());
            }
            for client in &word.clients {
                sql.push(" OR client_id = ").push_bind(client.to_string());
            }
            sql.push(")");
        }
        sql.push(")");
        for (from, to) in &search.created {
            sql.push(" OR (created_at >= ")
                .push_bind(from.timestamp_micros())
                .push(" AND created_at < ")
                .push_bind(to.timestamp_micros())
                .push(")");
        }
        sql.push(")");
    }
    push_any_of(
        &mut sql,
        "platform",
        query.platforms.iter().map(|p| p.as_str()),
    );
    push_any_of(
        &mut sql,
        "status",
        query.statuses.iter().map(|s| s.as_str()),
    );
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
    if !query.clients.is_empty() || query.without_client {
        sql.push(" AND (");
        if !query.clients.is_empty() {
            sql.push("client_id IN (");
            let mut list = sql.separated(", ");
            for client in &query.clients {
                list.push_bind(client.to_string());
            }
            sql.push(")");
            if query.without_client {
                sql.push(" OR ");
            }
        }
        if query.without_client {
            sql.push("client_id IS NULL");
        }
        sql.push(")");
    }
    if let Some(label) = &query.label {
        sql.push(" AND ");
        // One of the account's labels starts with the label, ignoring case.
        let label = label.to_lowercase();
        sql.push(format!(
            "EXISTS (SELECT 1 FROM {} WHERE substr(l.value, 1, length(",
            DB::LABEL_KEYS
        ))
        .push_bind(label.clone())
        .push(")) = ")
        .push_bind(label)
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
