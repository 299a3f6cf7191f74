//! Bulk seeding for the large data sets: the rows the store itself writes when an account is connected
//! (the account with its derived sort and search columns and its schedule, its credential sealed by the
//! vault, and its "connected" event), inserted a thousand at a time inside transactions. The schema's
//! triggers keep the per-workspace counts and, on SQLite, the trigram index, exactly as for an account
//! connected through the API. One call per account would take hours at a million.

use crate::db::{Backend, Database};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{AccountId, AccountKind, Platform, TokenSet, UserId, WorkspaceId};
use iquivity_vault::Vault;
use secrecy::SecretString;
use sqlx::{Arguments, Connection};
use std::str::FromStr;

const FIRST: [&str; 20] = [
    "Mason", "Isabella", "Ethan", "Olivia", "Liam", "Sophia", "Noah", "Ava", "Lucas", "Mia",
    "Chloe", "James", "Emma", "Henry", "Grace", "Jack", "Zoe", "Leo", "Ruby", "Owen",
];
const LAST: [&str; 25] = [
    "Carter", "Morgan", "Brooks", "Bennett", "Foster", "Reyes", "Whitaker", "Sullivan", "Hayes",
    "Donovan", "Ramirez", "Porter", "Hughes", "Parker", "Collins", "Ward", "Price", "Barnes",
    "Fisher", "Graham", "Kelly", "Lawson", "Murray", "Nolan", "Quinn",
];

const TWO_YEARS_MICROS: i128 = 730 * 86_400 * 1_000_000;

/// Rows per INSERT (24 columns: well under both databases' limits on bound parameters).
const CHUNK: usize = 1_000;
/// Chunks per transaction.
const CHUNKS_PER_TX: usize = 10;

/// Whose accounts these are.
#[derive(Clone, Copy)]
pub struct Owner {
    pub workspace: WorkspaceId,
    pub user: UserId,
}

struct Row {
    id: AccountId,
    workspace: String,
    platform: String,
    kind: String,
    platform_account_id: String,
    name: String,
    handle: String,
    avatar_url: String,
    status: String,
    reason: Option<String>,
    scopes: String,
    labels: String,
    created_at: i64,
    connected_by: String,
    token_expires_at: i64,
    next_refresh_at: i64,
    next_check_at: i64,
    followers: i64,
    key_id: String,
    blob: Vec<u8>,
    event_id: String,
    event_details: String,
}

/// Account number `i`, the `nth` of `count` for its owner: platforms round-robin, statuses 80/12/8 on every
/// platform, one in seven labelled. Creation times spread evenly over the last two years in the order of insertion, as when
/// accounts are connected over time (so rows sit in the table in the order of their creation). Its token
/// expires in 30 to 60 days and its next health check comes in one to seven hours, so that the engine
/// (running beside the API, as in production) finds nothing due during a run.
fn row(
    i: usize,
    nth: usize,
    count: usize,
    owner: Owner,
    vault: &Vault,
    now: DateTime<Utc>,
) -> anyhow::Result<Row> {
    let platform = Platform::ALL[i % 5];
    let name = format!(
        "{} {} {}",
        FIRST[i % FIRST.len()],
        LAST[(i / FIRST.len()) % LAST.len()],
        i
    );
    // Statuses cycle within each platform, so that every platform has its share of each.
    let (status, reason) = match (i / 5) % 25 {
        0..=19 => ("active", None),
        20..=22 => ("inactive", Some("token_expired")),
        _ => ("failed", Some("missing_permissions")),
    };
    let id = AccountId::new();
    let expires = now + Duration::days(30) + Duration::minutes((i as i64 * 13) % (30 * 24 * 60));
    let tokens = TokenSet {
        access_token: SecretString::from(format!("bench-access-{i}-{}", uuid::Uuid::now_v7())),
        refresh_token: Some(SecretString::from(format!("bench-refresh-{i}"))),
        expires_at: Some(expires),
        refresh_expires_at: None,
        grant_token: None,
        issued_at: Some(now),
    };
    let sealed = iquivity_core::credentials::seal(vault, id, &tokens)
        .map_err(|e| anyhow::anyhow!("sealing a credential: {e}"))?;
    let platform_account_id = format!("bench-{i}");
    let scopes = serde_json::json!(["scope.a", "scope.b"]);
    Ok(Row {
        id,
        workspace: owner.workspace.to_string(),
        platform: platform.as_str().to_string(),
        kind: match platform {
            Platform::Facebook => AccountKind::Page,
            Platform::Instagram | Platform::Tiktok => AccountKind::Business,
            Platform::X => AccountKind::Profile,
            Platform::Linkedin => AccountKind::Organization,
        }
        .as_str()
        .to_string(),
        event_details: serde_json::json!({
            "platform": platform,
            "platform_account_id": platform_account_id,
            "scopes": scopes,
        })
        .to_string(),
        platform_account_id,
        handle: format!("handle{i}"),
        avatar_url: format!("https://cdn.example.com/avatars/{i}.png"),
        name,
        status: status.to_string(),
        reason: reason.map(str::to_string),
        scopes: scopes.to_string(),
        labels: if i.is_multiple_of(7) {
            r#"["client a"]"#.to_string()
        } else {
            "[]".to_string()
        },
        created_at: now.timestamp_micros()
            - i64::try_from(
                TWO_YEARS_MICROS - TWO_YEARS_MICROS * nth as i128 / count.max(1) as i128,
            )?,
        connected_by: owner.user.to_string(),
        token_expires_at: expires.timestamp_micros(),
        next_refresh_at: (expires - Duration::days(7)).timestamp_micros(),
        next_check_at: (now + Duration::hours(1) + Duration::seconds((i as i64 * 37) % 21_600))
            .timestamp_micros(),
        followers: (i as i64 * 7_919) % 250_000,
        key_id: sealed.key_id,
        blob: sealed.blob,
        event_id: uuid::Uuid::now_v7().to_string(),
    })
}

/// Inserts accounts number `first..first + count` for `owner`.
pub async fn accounts(
    db: &Database,
    vault: &Vault,
    owner: Owner,
    first: usize,
    count: usize,
) -> anyhow::Result<()> {
    match db.backend {
        Backend::Sqlite => {
            // The service may hold the file open; wait for its writes rather than fail.
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url)?
                .busy_timeout(std::time::Duration::from_secs(60));
            let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
            insert::<sqlx::Sqlite>(&mut conn, vault, owner, first, count, true).await?;
            conn.close().await?;
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await?;
            insert::<sqlx::Postgres>(&mut conn, vault, owner, first, count, false).await?;
            conn.close().await?;
        }
    }
    Ok(())
}

/// After a bulk load, the statistics autovacuum would gather a little later on PostgreSQL, so that query
/// plans do not depend on when a measurement starts. (SQLite keeps none unless asked, and the store does
/// not ask.)
pub async fn analyze(db: &Database) -> anyhow::Result<()> {
    if db.backend == Backend::Postgres {
        let mut conn = sqlx::PgConnection::connect(&db.url).await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
        conn.close().await?;
    }
    Ok(())
}

/// Adds values to a statement's arguments, in order.
macro_rules! bind {
    ($args:expr, $($value:expr),+ $(,)?) => {
        $( $args.add($value).map_err(|e| anyhow::anyhow!("binding a value: {e}"))?; )+
    };
}

/// Inserts one row per element of `rows` into the columns `head` names, bound from `r` as listed, in one
/// statement on `tx`.
macro_rules! insert_rows {
    ($tx:expr, $numbered:expr, $rows:expr, |$r:ident| $head:literal [$($value:expr),+ $(,)?]) => {{
        let sql = values($head, $rows.len(), $numbered);
        let mut args = DB::Arguments::default();
        for $r in $rows {
            bind!(args, $($value),+);
        }
        sqlx::query_with::<DB, _>(&sql, args).execute(&mut *$tx).await?;
    }};
}

/// `head VALUES (...), (...)`: `rows` tuples of parameters, one per column named in `head`. PostgreSQL
/// numbers them (`$1`); SQLite gets plain `?`, since it would look each `$n` up among the names seen so far.
fn values(head: &str, rows: usize, numbered: bool) -> String {
    let columns = head.matches(',').count() + 1;
    let mut sql = format!("{head} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", row * columns + column + 1));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// The bulk insert, the same SQL on both databases but for the placeholders. SQLite's accounts also carry
/// `search_key`, the key of their row in the trigram index, which the store assigns as one more than the
/// largest so far.
async fn insert<DB>(
    conn: &mut DB::Connection,
    vault: &Vault,
    owner: Owner,
    first: usize,
    count: usize,
    sqlite: bool,
) -> anyhow::Result<()>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    for<'a> DB::Arguments<'a>: sqlx::IntoArguments<'a, DB>,
    for<'a> String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Option<String>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> i64: sqlx::Encode<'a, DB> + sqlx::Type<DB> + sqlx::Decode<'a, DB>,
    for<'a> bool: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    for<'a> Vec<u8>: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let now = Utc::now();
    let mut next_key: i64 = if sqlite {
        sqlx::query_scalar::<DB, i64>("SELECT COALESCE(MAX(search_key), 0) + 1 FROM accounts")
            .fetch_one(&mut *conn)
            .await?
    } else {
        0
    };
    let mut done = 0;
    while done < count {
        let mut tx = conn.begin().await?;
        for _ in 0..CHUNKS_PER_TX {
            if done >= count {
                break;
            }
            let size = CHUNK.min(count - done);
            let rows = (first + done..first + done + size)
                .map(|i| row(i, i - first, count, owner, vault, now))
                .collect::<anyhow::Result<Vec<Row>>>()?;
            let head = format!(
                "INSERT INTO accounts ({}id, workspace_id, platform, kind, platform_account_id, \
                 platform_display_name, sort_name, search_text, handle, avatar_url, status, status_reason, \
                 status_since, scopes, labels, created_at, connected_by, token_expires_at, last_refreshed_at, \
                 last_checked_at, sandbox, next_refresh_at, next_check_at, followers)",
                if sqlite { "search_key, " } else { "" }
            );
            let sql = values(&head, rows.len(), !sqlite);
            let mut args = DB::Arguments::default();
            for r in &rows {
                if sqlite {
                    bind!(args, next_key);
                    next_key += 1;
                }
                bind!(
                    args,
                    r.id.to_string(),
                    r.workspace.clone(),
                    r.platform.clone(),
                    r.kind.clone(),
                    r.platform_account_id.clone(),
                    r.name.clone(),
                    r.name.to_lowercase(),
                    format!("{}\n{}", r.name, r.handle).to_lowercase(),
                    r.handle.clone(),
                    r.avatar_url.clone(),
                    r.status.clone(),
                    r.reason.clone(),
                    r.created_at,
                    r.scopes.clone(),
                    r.labels.clone(),
                    r.created_at,
                    r.connected_by.clone(),
                    r.token_expires_at,
                    r.created_at,
                    r.created_at,
                    false,
                    r.next_refresh_at,
                    r.next_check_at,
                    r.followers
                );
            }
            sqlx::query_with::<DB, _>(&sql, args)
                .execute(&mut *tx)
                .await?;
            insert_rows!(tx, !sqlite, &rows, |r| "INSERT INTO account_credentials (account_id, key_id, blob, updated_at)" [
                r.id.to_string(),
                r.key_id.clone(),
                r.blob.clone(),
                r.created_at,
            ]);
            insert_rows!(tx, !sqlite, &rows, |r| "INSERT INTO audit_events (id, workspace_id, account_id, actor_id, kind, details, at)" [
                r.event_id.clone(),
                r.workspace.clone(),
                r.id.to_string(),
                r.connected_by.clone(),
                "connected".to_string(),
                r.event_details.clone(),
                r.created_at,
            ]);
            done += size;
        }
        tx.commit().await?;
    }
    Ok(())
}
