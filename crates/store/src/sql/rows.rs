//! Reading whole rows into records, compiled once per backend (see [`crate::sql`]).

use super::*;
use std::str::FromStr;

type DbRow = <Db as sqlx::Database>::Row;

/// Runs a write and answers whether it changed exactly one row (the guarded updates' "did it apply").
pub(super) async fn changed_one<'q>(
    pool: &sqlx::Pool<Db>,
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
) -> StoreResult<bool> {
    Ok(query.execute(pool).await?.rows_affected() == 1)
}

/// Runs a read and makes a record of each row it answers.
pub(super) async fn read_all<'q, T>(
    pool: &sqlx::Pool<Db>,
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    record: impl Fn(&DbRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    query.fetch_all(pool).await?.iter().map(record).collect()
}

/// Runs a read of one row at most and makes a record of it.
pub(super) async fn read_optional<'q, T>(
    pool: &sqlx::Pool<Db>,
    query: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    record: impl Fn(&DbRow) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    query
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(record)
        .transpose()
}

/// A lease claim's statement with its parameters bound as every claim takes them: `$1` the lease's owner,
/// `$2` its end, `$3` now (what is due, and whose lease has run out), `$4` how many at most.
pub(super) fn claimed<'q>(
    sql: &'q str,
    claim: Claim<'q>,
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    sqlx::query(sql)
        .bind(claim.owner)
        .bind(micros(claim.lease_until))
        .bind(micros(claim.now))
        .bind(i64::from(claim.limit))
}

pub(super) fn parsed<T: FromStr>(row: &DbRow, column: &str) -> StoreResult<T> {
    parse_stored(column, &row.try_get::<String, _>(column)?)
}

pub(super) fn opt_parsed<T: FromStr>(row: &DbRow, column: &str) -> StoreResult<Option<T>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| parse_stored(column, &text)).transpose()
}

/// Reads a text column holding JSON.
pub(super) fn json_column<T: serde::de::DeserializeOwned>(
    row: &DbRow,
    column: &str,
) -> StoreResult<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(super) fn count_from_row(row: &DbRow) -> StoreResult<PlatformStatusCount> {
    Ok(PlatformStatusCount {
        platform: parsed(row, "platform")?,
        status: parsed(row, "status")?,
        count: u32::try_from(row.try_get::<i64, _>("count")?).unwrap_or(0),
    })
}

pub(super) fn user_from_row(row: &DbRow) -> StoreResult<UserRecord> {
    Ok(UserRecord {
        id: parsed(row, "id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        created_at: from_micros(row.try_get("created_at")?),
    })
}

pub(super) fn caller_from_row(row: &DbRow) -> StoreResult<CallerRecord> {
    Ok(CallerRecord {
        user_id: parsed(row, "user_id")?,
        email: row.try_get("email")?,
        workspace_id: parsed(row, "workspace_id")?,
        role: parsed(row, "role")?,
    })
}

pub(super) fn workspace_from_row(row: &DbRow) -> StoreResult<WorkspaceRecord> {
    Ok(WorkspaceRecord {
        id: parsed(row, "id")?,
        name: row.try_get("name")?,
        plan: parsed(row, "plan")?,
        created_at: from_micros(row.try_get("created_at")?),
    })
}

pub(super) fn flow_from_row(row: &DbRow) -> StoreResult<FlowRecord> {
    let sealed = |key: &str, blob: &str| -> StoreResult<Option<StoredCredential>> {
        let key_id: Option<String> = row.try_get(key)?;
        let blob: Option<Vec<u8>> = row.try_get(blob)?;
        Ok(key_id
            .zip(blob)
            .map(|(key_id, blob)| StoredCredential { key_id, blob }))
    };
    let stage: String = row.try_get("stage")?;
    Ok(FlowRecord {
        id: parsed(row, "id")?,
        state_hash: row.try_get("state_hash")?,
        workspace_id: parsed(row, "workspace_id")?,
        user_id: parsed(row, "user_id")?,
        session_hash: row.try_get("session_hash")?,
        platform: parsed(row, "platform")?,
        reconnect_account_id: opt_parsed(row, "reconnect_account_id")?,
        link_id: opt_parsed(row, "link_id")?,
        verifier: sealed("verifier_key_id", "verifier_blob")?,
        stage: FlowStage::parse(&stage)
            .ok_or_else(|| StoreError::Corrupt(format!("flow stage {stage:?}")))?,
        candidates: sealed("candidates_key_id", "candidates_blob")?,
        error: row.try_get("error")?,
        connected: json_column(row, "connected")?,
        created_at: from_micros(row.try_get("created_at")?),
        expires_at: from_micros(row.try_get("expires_at")?),
        state_used_at: opt_from_micros(row.try_get("state_used_at")?),
    })
}

pub(super) fn job_from_row(row: &DbRow) -> StoreResult<JobRecord> {
    let kind: String = row.try_get("kind")?;
    let key_id: Option<String> = row.try_get("payload_key_id")?;
    let blob: Option<Vec<u8>> = row.try_get("payload_blob")?;
    Ok(JobRecord {
        id: parsed(row, "id")?,
        kind: JobKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("job kind {kind:?}")))?,
        account_id: parsed(row, "account_id")?,
        workspace_id: parsed(row, "workspace_id")?,
        platform: parsed(row, "platform")?,
        payload: key_id
            .zip(blob)
            .map(|(key_id, blob)| StoredCredential { key_id, blob }),
        run_at: from_micros(row.try_get("run_at")?),
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        last_error: row.try_get("last_error")?,
        created_at: from_micros(row.try_get("created_at")?),
        done_at: opt_from_micros(row.try_get("done_at")?),
    })
}

pub(super) fn alert_from_row(row: &DbRow) -> StoreResult<AlertRecord> {
    Ok(AlertRecord {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        account_id: opt_parsed(row, "account_id")?,
        kind: {
            let kind: String = row.try_get("kind")?;
            iquivity_domain::AlertKind::parse(&kind)
                .ok_or_else(|| StoreError::Corrupt(format!("alert kind {kind:?}")))?
        },
        dedupe_key: row.try_get("dedupe_key")?,
        payload: json_column(row, "payload")?,
        created_at: from_micros(row.try_get("created_at")?),
        read_at: opt_from_micros(row.try_get("read_at")?),
    })
}

pub(super) fn webhook_from_row(row: &DbRow) -> StoreResult<WebhookRecord> {
    let previous_key: Option<String> = row.try_get("previous_secret_key_id")?;
    let previous_blob: Option<Vec<u8>> = row.try_get("previous_secret_blob")?;
    let previous_until = opt_from_micros(row.try_get("previous_secret_until")?);
    let previous_secret = match (previous_key, previous_blob, previous_until) {
        (Some(key_id), Some(blob), Some(until)) => Some(PreviousSecret {
            secret: StoredCredential { key_id, blob },
            until,
        }),
        _ => None,
    };
    Ok(WebhookRecord {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        url: row.try_get("url")?,
        secret: StoredCredential {
            key_id: row.try_get("secret_key_id")?,
            blob: row.try_get("secret_blob")?,
        },
        created_at: from_micros(row.try_get("created_at")?),
        events: row
            .try_get::<Option<String>, _>("events")?
            .map(|raw| parse_event_list(&raw))
            .transpose()?,
        previous_secret,
        failing_since: opt_from_micros(row.try_get("failing_since")?),
        disabled_at: opt_from_micros(row.try_get("disabled_at")?),
    })
}

pub(super) fn delivery_from_row(row: &DbRow) -> StoreResult<DeliveryRecord> {
    let state: String = row.try_get("state")?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("delivery state {state:?}")))?;
    let status: Option<i64> = row.try_get("last_status")?;
    let failure_class = row
        .try_get::<Option<String>, _>("failure_class")?
        .map(|raw| {
            FailureClass::parse(&raw)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery failure class {raw:?}")))
        })
        .transpose()?;
    Ok(DeliveryRecord {
        id: parsed(row, "id")?,
        webhook_id: parsed(row, "webhook_id")?,
        alert_id: parsed(row, "alert_id")?,
        state,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        next_attempt_at: (state == DeliveryState::Pending)
            .then(|| from_micros(row.try_get("run_at").unwrap_or(0))),
        last_status: status.and_then(|s| u16::try_from(s).ok()),
        failure_class,
        created_at: from_micros(row.try_get("created_at")?),
        delivered_at: opt_from_micros(row.try_get("delivered_at")?),
    })
}

pub(super) fn target_from_row(row: &DbRow) -> StoreResult<TargetRecord> {
    let state: String = row.try_get("state")?;
    Ok(TargetRecord {
        id: parsed(row, "id")?,
        post_id: parsed(row, "post_id")?,
        account_id: parsed(row, "account_id")?,
        platform: parsed(row, "platform")?,
        state: TargetState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("target state {state:?}")))?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(0),
        platform_post_id: row.try_get("platform_post_id")?,
        url: row.try_get("url")?,
        error_class: row.try_get("error_class")?,
        error_message: row.try_get("error_message")?,
        published_at: opt_from_micros(row.try_get("published_at")?),
        sending_at: opt_from_micros(row.try_get("sending_at")?),
        run_at: from_micros(row.try_get("run_at")?),
        deleted_at: opt_from_micros(row.try_get("deleted_at")?),
        thread: ThreadProgress {
            published: json_column(row, "thread_ids")?,
            error: row.try_get("thread_error")?,
        },
        comment: match row
            .try_get::<Option<String>, _>("comment_state")?
            .as_deref()
        {
            None => None,
            Some("published") => Some(CommentResult::Published {
                comment_id: row
                    .try_get::<Option<String>, _>("comment_id")?
                    .unwrap_or_default(),
            }),
            Some(_) => Some(CommentResult::Failed {
                message: row
                    .try_get::<Option<String>, _>("comment_error")?
                    .unwrap_or_default(),
            }),
        },
    })
}

pub(super) fn post_from_row(row: &DbRow, targets: Vec<TargetRecord>) -> StoreResult<PostRecord> {
    Ok(PostRecord {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        author_id: opt_parsed(row, "author_id")?,
        text: row.try_get("text")?,
        link: row.try_get("link")?,
        media: json_column(row, "media")?,
        privacy_level: row.try_get("privacy_level")?,
        publish_at: from_micros(row.try_get("publish_at")?),
        created_at: from_micros(row.try_get("created_at")?),
        targets,
        draft_accounts: row
            .try_get::<Option<String>, _>("draft_accounts")?
            .map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| StoreError::Corrupt(format!("draft_accounts: {e}")))
            })
            .transpose()?,
        variants: json_column(row, "variants")?,
        first_comment: row.try_get("first_comment")?,
        thread: json_column(row, "thread")?,
    })
}

pub(super) fn event_from_row(row: &DbRow) -> StoreResult<AuditEventRecord> {
    let kind: String = row.try_get("kind")?;
    Ok(AuditEventRecord {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        account_id: opt_parsed(row, "account_id")?,
        actor_id: opt_parsed(row, "actor_id")?,
        kind: AuditKind::ALL
            .into_iter()
            .find(|k| k.as_str() == kind)
            .ok_or_else(|| StoreError::Corrupt(format!("audit kind {kind:?}")))?,
        details: json_column(row, "details")?,
        at: from_micros(row.try_get("at")?),
    })
}

pub(super) fn account_from_row(row: &DbRow) -> StoreResult<Account> {
    let labels: Vec<String> = json_column(row, "labels")?;
    Ok(Account {
        id: parsed(row, "id")?,
        workspace_id: parsed(row, "workspace_id")?,
        platform: parsed(row, "platform")?,
        kind: parsed(row, "kind")?,
        platform_account_id: row.try_get("platform_account_id")?,
        display_name: row.try_get("display_name")?,
        platform_display_name: row.try_get("platform_display_name")?,
        display_name_override: row.try_get("display_name_override")?,
        handle: row.try_get("handle")?,
        avatar_url: row.try_get("avatar_url")?,
        status: parsed(row, "status")?,
        status_reason: opt_parsed(row, "status_reason")?,
        status_message: row.try_get("status_message")?,
        status_since: from_micros(row.try_get("status_since")?),
        scopes: json_column(row, "scopes")?,
        labels: Labels::parse(&labels).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        client_id: opt_parsed(row, "client_id")?,
        created_at: from_micros(row.try_get("created_at")?),
        connected_by: opt_parsed(row, "connected_by")?,
        connected_via_link: opt_parsed(row, "connected_via_link")?,
        token_expires_at: opt_from_micros(row.try_get("token_expires_at")?),
        last_refreshed_at: opt_from_micros(row.try_get("last_refreshed_at")?),
        last_checked_at: opt_from_micros(row.try_get("last_checked_at")?),
        last_used_at: opt_from_micros(row.try_get("last_used_at")?),
        next_refresh_at: opt_from_micros(row.try_get("next_refresh_at")?),
        followers: row
            .try_get::<Option<i64>, _>("followers")?
            .and_then(|f| u64::try_from(f).ok()),
        sandbox: row.try_get::<bool, _>("sandbox")?,
    })
}
