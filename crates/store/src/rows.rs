//! Row mapping shared by every backend. They store the same columns with the same types (text ids,
//! integer microseconds, byte blobs, JSON as text), so one mapping reads a row from either.

use crate::*;
use chrono::{DateTime, TimeZone, Utc};
use iquivity_domain::{Account, Labels};
use sqlx::{Postgres, Row, Sqlite};
use std::str::FromStr;

/// A column type both backends decode the same way.
pub(crate) trait Column:
    for<'r> sqlx::Decode<'r, Sqlite>
    + sqlx::Type<Sqlite>
    + for<'r> sqlx::Decode<'r, Postgres>
    + sqlx::Type<Postgres>
{
}

impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

/// A result row of either backend, read by column name.
pub(crate) trait StoredRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T>;
}

impl StoredRow for sqlx::sqlite::SqliteRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        Ok(self.try_get(name)?)
    }
}

impl StoredRow for sqlx::postgres::PgRow {
    fn col<T: Column>(&self, name: &str) -> StoreResult<T> {
        Ok(self.try_get(name)?)
    }
}

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
    serde_json::to_string(&keys).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Parses a stored enum or id; a failure means the row was written by something other than this store.
pub(crate) fn parse_stored<T: FromStr>(column: &str, text: &str) -> StoreResult<T> {
    text.parse()
        .map_err(|_| crate::StoreError::Corrupt(format!("{column} holds {text:?}")))
}

pub(crate) const ACCOUNT_COLUMNS: &str = "id, workspace_id, platform, kind, platform_account_id, \
    display_name, platform_display_name, display_name_override, handle, avatar_url, status, \
    status_reason, status_message, status_since, scopes, labels, created_at, connected_by, \
    token_expires_at, last_refreshed_at, last_checked_at, last_used_at, next_refresh_at, followers, sandbox";

pub(crate) fn user_from_row(row: &impl StoredRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: parse_stored("users.id", &row.col::<String>("id")?)?,
        email: row.col("email")?,
        password_hash: row.col("password_hash")?,
        created_at: from_micros(row.col("created_at")?),
    })
}

pub(crate) fn caller_from_row(row: &impl StoredRow) -> StoreResult<CallerRecord> {
    Ok(CallerRecord {
        user_id: parse_stored("user_id", &row.col::<String>("user_id")?)?,
        email: row.col("email")?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        role: parse_stored("role", &row.col::<String>("role")?)?,
    })
}

pub(crate) fn workspace_from_row(row: &impl StoredRow) -> StoreResult<WorkspaceRecord> {
    Ok(WorkspaceRecord {
        id: parse_stored("workspaces.id", &row.col::<String>("id")?)?,
        name: row.col("name")?,
        plan: parse_stored("plan", &row.col::<String>("plan")?)?,
        created_at: from_micros(row.col("created_at")?),
    })
}

pub(crate) fn flow_from_row(row: &impl StoredRow) -> StoreResult<FlowRecord> {
    let sealed = |key: &str, blob: &str| -> StoreResult<Option<StoredCredential>> {
        let key_id: Option<String> = row.col(key)?;
        let blob: Option<Vec<u8>> = row.col(blob)?;
        Ok(key_id
            .zip(blob)
            .map(|(key_id, blob)| StoredCredential { key_id, blob }))
    };
    let stage: String = row.col("stage")?;
    let reconnect: Option<String> = row.col("reconnect_account_id")?;
    let connected: String = row.col("connected")?;
    Ok(FlowRecord {
        id: parse_stored("connection_flows.id", &row.col::<String>("id")?)?,
        state_hash: row.col("state_hash")?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        user_id: parse_stored("user_id", &row.col::<String>("user_id")?)?,
        session_hash: row.col("session_hash")?,
        platform: parse_stored("platform", &row.col::<String>("platform")?)?,
        reconnect_account_id: reconnect
            .map(|r| parse_stored("reconnect_account_id", &r))
            .transpose()?,
        verifier: sealed("verifier_key_id", "verifier_blob")?,
        stage: FlowStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("flow stage {stage:?}")))?,
        candidates: sealed("candidates_key_id", "candidates_blob")?,
        error: row.col("error")?,
        connected: serde_json::from_str(&connected)
            .map_err(|e| StoreError::Corrupt(format!("connected: {e}")))?,
        created_at: from_micros(row.col("created_at")?),
        expires_at: from_micros(row.col("expires_at")?),
        state_used_at: opt_from_micros(row.col("state_used_at")?),
    })
}

pub(crate) fn job_from_row(row: &impl StoredRow) -> StoreResult<JobRecord> {
    let kind: String = row.col("kind")?;
    let key_id: Option<String> = row.col("payload_key_id")?;
    let blob: Option<Vec<u8>> = row.col("payload_blob")?;
    Ok(JobRecord {
        id: parse_stored("jobs.id", &row.col::<String>("id")?)?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("job kind {kind:?}")))?,
        account_id: parse_stored("account_id", &row.col::<String>("account_id")?)?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        platform: parse_stored("platform", &row.col::<String>("platform")?)?,
        payload: key_id
            .zip(blob)
            .map(|(key_id, blob)| StoredCredential { key_id, blob }),
        run_at: from_micros(row.col("run_at")?),
        attempts: u32::try_from(row.col::<i64>("attempts")?).unwrap_or(0),
        last_error: row.col("last_error")?,
        created_at: from_micros(row.col("created_at")?),
        done_at: opt_from_micros(row.col("done_at")?),
    })
}

pub(crate) fn alert_from_row(row: &impl StoredRow) -> StoreResult<AlertRecord> {
    let kind: String = row.col("kind")?;
    let account: Option<String> = row.col("account_id")?;
    let payload: String = row.col("payload")?;
    Ok(AlertRecord {
        id: parse_stored("alerts.id", &row.col::<String>("id")?)?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        account_id: account
            .map(|a| parse_stored("account_id", &a))
            .transpose()?,
        kind: iquivity_domain::AlertKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("alert kind {kind:?}")))?,
        dedupe_key: row.col("dedupe_key")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("alert payload: {e}")))?,
        created_at: from_micros(row.col("created_at")?),
        read_at: opt_from_micros(row.col("read_at")?),
    })
}

pub(crate) fn webhook_from_row(row: &impl StoredRow, prefix: &str) -> StoreResult<WebhookRecord> {
    let col = |name: &str| format!("{prefix}{name}");
    Ok(WebhookRecord {
        id: parse_stored("webhooks.id", &row.col::<String>(col("id").as_str())?)?,
        workspace_id: parse_stored(
            "workspace_id",
            &row.col::<String>(col("workspace_id").as_str())?,
        )?,
        url: row.col(col("url").as_str())?,
        secret: StoredCredential {
            key_id: row.col(col("secret_key_id").as_str())?,
            blob: row.col(col("secret_blob").as_str())?,
        },
        created_at: from_micros(row.col(col("created_at").as_str())?),
    })
}

pub(crate) fn delivery_from_row(row: &impl StoredRow) -> StoreResult<DeliveryRecord> {
    let state: String = row.col("state")?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?;
    let status: Option<i64> = row.col("last_status")?;
    let failure_class = row
        .col::<Option<String>>("failure_class")?
        .map(|raw| {
            FailureClass::parse(&raw)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery failure class {raw:?}")))
        })
        .transpose()?;
    Ok(DeliveryRecord {
        id: parse_stored("webhook_deliveries.id", &row.col::<String>("id")?)?,
        webhook_id: parse_stored("webhook_id", &row.col::<String>("webhook_id")?)?,
        alert_id: parse_stored("alert_id", &row.col::<String>("alert_id")?)?,
        state,
        attempts: u32::try_from(row.col::<i64>("attempts")?).unwrap_or(0),
        next_attempt_at: (state == DeliveryState::Pending)
            .then(|| from_micros(row.col("run_at").unwrap_or(0))),
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        failure_class,
        created_at: from_micros(row.col("created_at")?),
        delivered_at: opt_from_micros(row.col("delivered_at")?),
    })
}

pub(crate) fn target_from_row(row: &impl StoredRow) -> StoreResult<TargetRecord> {
    let state: String = row.col("state")?;
    Ok(TargetRecord {
        id: parse_stored("post_targets.id", &row.col::<String>("id")?)?,
        post_id: parse_stored("post_id", &row.col::<String>("post_id")?)?,
        account_id: parse_stored("account_id", &row.col::<String>("account_id")?)?,
        platform: parse_stored("platform", &row.col::<String>("platform")?)?,
        state: TargetState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("target state {state:?}")))?,
        attempts: u32::try_from(row.col::<i64>("attempts")?).unwrap_or(0),
        platform_post_id: row.col("platform_post_id")?,
        url: row.col("url")?,
        error_class: row.col("error_class")?,
        error_message: row.col("error_message")?,
        published_at: opt_from_micros(row.col("published_at")?),
        sending_at: opt_from_micros(row.col("sending_at")?),
        run_at: from_micros(row.col("run_at")?),
    })
}

pub(crate) fn post_from_row(
    row: &impl StoredRow,
    targets: Vec<TargetRecord>,
) -> StoreResult<PostRecord> {
    let media: String = row.col("media")?;
    let author: Option<String> = row.col("author_id")?;
    Ok(PostRecord {
        id: parse_stored("posts.id", &row.col::<String>("id")?)?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        author_id: author.map(|a| parse_stored("author_id", &a)).transpose()?,
        text: row.col("text")?,
        link: row.col("link")?,
        media: serde_json::from_str(&media)
            .map_err(|e| StoreError::Corrupt(format!("post media: {e}")))?,
        privacy_level: row.col("privacy_level")?,
        publish_at: from_micros(row.col("publish_at")?),
        created_at: from_micros(row.col("created_at")?),
        targets,
    })
}

pub(crate) fn event_from_row(row: &impl StoredRow) -> StoreResult<AuditEventRecord> {
    let kind: String = row.col("kind")?;
    let account: Option<String> = row.col("account_id")?;
    let actor: Option<String> = row.col("actor_id")?;
    let details: String = row.col("details")?;
    Ok(AuditEventRecord {
        id: parse_stored("audit_events.id", &row.col::<String>("id")?)?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        account_id: account
            .map(|a| parse_stored("account_id", &a))
            .transpose()?,
        actor_id: actor.map(|a| parse_stored("actor_id", &a)).transpose()?,
        kind: AuditKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| StoreError::Corrupt(format!("audit kind {kind:?}")))?,
        details: serde_json::from_str(&details)
            .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
        at: from_micros(row.col("at")?),
    })
}

pub(crate) fn account_from_row(row: &impl StoredRow) -> StoreResult<Account> {
    let scopes: String = row.col("scopes")?;
    let labels: String = row.col("labels")?;
    let labels: Vec<String> =
        serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt(format!("labels: {e}")))?;
    let reason: Option<String> = row.col("status_reason")?;
    let connected_by: Option<String> = row.col("connected_by")?;
    Ok(Account {
        id: parse_stored("id", &row.col::<String>("id")?)?,
        workspace_id: parse_stored("workspace_id", &row.col::<String>("workspace_id")?)?,
        platform: parse_stored("platform", &row.col::<String>("platform")?)?,
        kind: parse_stored("kind", &row.col::<String>("kind")?)?,
        platform_account_id: row.col("platform_account_id")?,
        display_name: row.col("display_name")?,
        platform_display_name: row.col("platform_display_name")?,
        display_name_override: row.col("display_name_override")?,
        handle: row.col("handle")?,
        avatar_url: row.col("avatar_url")?,
        status: parse_stored("status", &row.col::<String>("status")?)?,
        status_reason: reason
            .map(|r| parse_stored("status_reason", &r))
            .transpose()?,
        status_message: row.col("status_message")?,
        status_since: from_micros(row.col("status_since")?),
        scopes: serde_json::from_str(&scopes)
            .map_err(|e| StoreError::Corrupt(format!("scopes: {e}")))?,
        labels: Labels::parse(&labels).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: from_micros(row.col("created_at")?),
        connected_by: connected_by
            .map(|u| parse_stored("connected_by", &u))
            .transpose()?,
        token_expires_at: opt_from_micros(row.col("token_expires_at")?),
        last_refreshed_at: opt_from_micros(row.col("last_refreshed_at")?),
        last_checked_at: opt_from_micros(row.col("last_checked_at")?),
        last_used_at: opt_from_micros(row.col("last_used_at")?),
        next_refresh_at: opt_from_micros(row.col("next_refresh_at")?),
        followers: row
            .col::<Option<i64>>("followers")?
            .and_then(|f| u64::try_from(f).ok()),
        sandbox: row.col::<bool>("sandbox")?,
    })
}

/// The text every search matches against: the shown name and the handle, lower-cased in full Unicode.
pub(crate) fn search_text(display_name: &str, handle: Option<&str>) -> String {
    format!("{}\n{}", display_name, handle.unwrap_or("")).to_lowercase()
}
