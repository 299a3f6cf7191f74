//! Accounts: list, search, summarise and inspect; changes (relabel, status, recording a connection) are in
//! `changes.rs`, removal and the platform-side revocation that follows it in `removal.rs`.

use crate::{Caller, Core, CoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use iquivity_domain::{
    Account, AccountId, AccountStatus, Email, Plan, PlanLimits, Platform, TokenSet, UserId,
};
use iquivity_store::{
    cursor_after, AccountQuery, AccountSort, AuditEventRecord, Cursor, SearchWord, TextSearch,
};
use serde::Serialize;
use std::collections::BTreeMap;

pub mod bulk;
mod changes;
mod removal;

pub const MAX_PAGE: u32 = 200;

pub const DEFAULT_PAGE: u32 = 50;

pub const MAX_QUERY_CHARS: usize = 200;

/// A list request as the API received it, already typed; the core checks the rest.
#[derive(Debug, Clone)]
pub struct ListAccounts {
    pub q: Option<String>,
    pub platforms: Vec<Platform>,
    pub statuses: Vec<AccountStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// A user id or an email address.
    pub owner: Option<String>,
    pub label: Option<String>,
    /// Accounts of any of these clients, and (with `without_client`) those of none.
    pub clients: Vec<iquivity_domain::ClientId>,
    pub without_client: bool,
    pub sort: AccountSort,
    pub limit: u32,
    pub cursor: Option<String>,
    /// The viewer's offset from UTC in minutes, so that a date typed in the search box means their day.
    pub tz_offset_minutes: i32,
}

pub struct AccountPage {
    pub items: Vec<Account>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub total: u32,
    pub active: u32,
    pub inactive: u32,
    pub failed: u32,
}

impl StatusCounts {
    fn add(&mut self, status: AccountStatus, count: u32) {
        self.total += count;
        match status {
            AccountStatus::Active => self.active += count,
            AccountStatus::Inactive => self.inactive += count,
            AccountStatus::Failed => self.failed += count,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlanUsage {
    pub name: Plan,
    /// `null` means unlimited.
    pub max_accounts: Option<u32>,
    /// `null` means unlimited.
    pub max_accounts_per_platform: Option<u32>,
    pub used: u32,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: StatusCounts,
    pub per_platform: BTreeMap<Platform, StatusCounts>,
    pub plan: PlanUsage,
}

/// A change to an account's team-side details. `display_name: Some(None)` clears the override.
pub struct AccountPatch {
    pub labels: Option<Vec<String>>,
    pub display_name: Option<Option<String>>,
    /// `Some(None)` takes the account away from its client.
    pub client_id: Option<Option<iquivity_domain::ClientId>>,
}

/// What a finished connection hands over to be stored.
pub struct NewConnection {
    pub platform: Platform,
    pub kind: iquivity_domain::AccountKind,
    pub platform_account_id: String,
    pub display_name: String,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub scopes: Vec<String>,
    pub labels: Vec<String>,
    pub tokens: TokenSet,
    pub sandbox: bool,
}

/// What the search box text can mean. Each word (in any order, a leading `@` dropped) must match: a part of
/// the name, handle or a label; a platform by its name or alias ("insta", "fb", "twitter", or "x" alone);
/// or a part of a client's name (`clients`: the workspace's, by id). Or else the whole text is a creation
/// date as the list shows it ("Aug 25 2025", "Aug 25 2025, 09:16", "2025-08-25"), a month ("Aug 2025"), a
/// day of any year ("Aug 25") or a year ("2025"), read in the viewer's time zone.
pub fn interpret_search(
    q: &str,
    tz_offset_minutes: i32,
    clients: &[(iquivity_domain::ClientId, String)],
    now: DateTime<Utc>,
) -> TextSearch {
    let words = q
        .to_lowercase()
        .split_whitespace()
        .map(|w| w.trim_start_matches('@').trim_end_matches(','))
        .filter(|w| !w.is_empty())
        .map(|word| SearchWord {
            text: word.to_string(),
            platforms: platforms_named(word),
            clients: clients
                .iter()
                .filter(|(_, name)| name.to_lowercase().contains(word))
                .map(|(id, _)| *id)
                .collect(),
        })
        .collect();
    TextSearch {
        words,
        created: dates_meant(q, tz_offset_minutes, now),
    }
}

/// The platforms a search word names: a platform's id or alias in full, or the start (three letters at
/// least) of its names.
fn platforms_named(word: &str) -> Vec<Platform> {
    Platform::ALL
        .into_iter()
        .filter(|p| {
            let aliases = iquivity_platforms::descriptor(*p).search_aliases;
            let names: Vec<String> = [p.as_str().to_string(), p.display_name().to_lowercase()]
                .into_iter()
                .chain(aliases.iter().map(|a| a.to_string()))
                .collect();
            word == p.as_str()
                || aliases.contains(&word)
                || (word.chars().count() >= 3 && names.iter().any(|n| n.starts_with(word)))
        })
        .collect()
}

/// The creation times the whole search text denotes, as half-open UTC ranges.
fn dates_meant(
    q: &str,
    tz_offset_minutes: i32,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let offset = chrono::FixedOffset::east_opt(tz_offset_minutes * 60)
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"));
    let local = |naive: chrono::NaiveDateTime| {
        naive
            .and_local_timezone(offset)
            .single()
            .map(|t| t.with_timezone(&Utc))
    };
    let day_range = |day: chrono::NaiveDate| {
        let from = day.and_hms_opt(0, 0, 0).and_then(local)?;
        Some((from, from + chrono::Duration::days(1)))
    };
    let span = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
        Some((
            from.and_hms_opt(0, 0, 0).and_then(local)?,
            to.and_hms_opt(0, 0, 0).and_then(local)?,
        ))
    };
    let cleaned = q.trim().replace(',', "");
    // chrono's %d and %Y accept short numbers, so the shape is checked first: "Aug 2025" is not Aug 20, year 25.
    let parts: Vec<&str> = cleaned.split_whitespace().collect();
    if let Ok(minute) = chrono::NaiveDateTime::parse_from_str(&cleaned, "%b %d %Y %H:%M") {
        return local(minute)
            .map(|from| vec![(from, from + chrono::Duration::minutes(1))])
            .unwrap_or_default();
    }
    if let Some(day) = ["%b %d %Y", "%Y-%m-%d", "%d %b %Y"]
        .iter()
        .filter(|f| f.split_whitespace().count() == parts.len())
        .find_map(|f| chrono::NaiveDate::parse_from_str(&cleaned, f).ok())
    {
        return day_range(day).into_iter().collect();
    }
    let year_now = chrono::Datelike::year(&now);
    let is_year = |text: &str| text.len() == 4 && text.chars().all(|c| c.is_ascii_digit());
    match parts.as_slice() {
        // "Aug 2025": that month.
        [_, year] if is_year(year) => {
            let Ok(month) = chrono::NaiveDate::parse_from_str(&format!("1 {cleaned}"), "%d %b %Y")
            else {
                return Vec::new();
            };
            let next = month
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(month);
            span(month, next).into_iter().collect()
        }
        // "Aug 25": that day in each year accounts can have been connected in.
        [month, day] if day.len() <= 2 && day.chars().all(|c| c.is_ascii_digit()) => (2010
            ..=year_now)
            .filter_map(|year| {
                chrono::NaiveDate::parse_from_str(&format!("{month} {day} {year}"), "%b %d %Y").ok()
            })
            .filter_map(day_range)
            .collect(),
        // "2025": that year.
        [year] if is_year(year) => {
            let Ok(year) = year.parse::<i32>() else {
                return Vec::new();
            };
            match (
                chrono::NaiveDate::from_ymd_opt(year, 1, 1),
                chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1),
            ) {
                (Some(from), Some(to)) => span(from, to).into_iter().collect(),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn encode_cursor(cursor: &Cursor) -> Result<String, CoreError> {
    let json =
        serde_json::to_vec(cursor).map_err(|e| CoreError::internal_from("cursor encoding", e))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

fn decode_cursor(raw: &str, sort: AccountSort) -> Result<Cursor, CoreError> {
    let bad = || CoreError::invalid("cursor", "is not a cursor this API returned");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if cursor.key != sort.key || cursor.descending != sort.descending {
        return Err(CoreError::invalid(
            "cursor",
            "belongs to a different sort order; start again without a cursor",
        ));
    }
    Ok(cursor)
}

impl Core {
    pub async fn list_accounts(
        &self,
        caller: &Caller,
        request: ListAccounts,
    ) -> Result<AccountPage, CoreError> {
        if !(1..=MAX_PAGE).contains(&request.limit) {
            return Err(CoreError::invalid(
                "limit",
                format!("must be between 1 and {MAX_PAGE}"),
            ));
        }
        let text = match request.q.as_deref().map(str::trim) {
            Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
                return Err(CoreError::invalid(
                    "q",
                    format!("must be at most {MAX_QUERY_CHARS} characters"),
                ));
            }
            // No account's name or handle holds one, and the databases refuse some (PostgreSQL text
            // cannot hold NUL), so they are named as the problem rather than searched for.
            Some(q) if q.chars().any(char::is_control) => {
                return Err(CoreError::invalid(
                    "q",
                    "must not contain control characters (such as NUL or line breaks)",
                ));
            }
            Some("") | None => None,
            Some(q) => {
                let clients = self.store.client_names(caller.workspace_id).await?;
                Some(interpret_search(
                    q,
                    request.tz_offset_minutes,
                    &clients,
                    self.clock.now(),
                ))
            }
        };
        if let (Some(from), Some(before)) = (request.created_from, request.created_before) {
            if from >= before {
                return Err(CoreError::invalid(
                    "created_from",
                    "must not be after the end of the range (created_to)",
                ));
            }
        }
        let connected_by = match request.owner.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(owner) => match self.resolve_owner(owner).await? {
                Some(user) => Some(user),
                None => {
                    return Ok(AccountPage {
                        items: Vec::new(),
                        next_cursor: None,
                    })
                }
            },
        };
        let label = match request.label.as_deref() {
            None => None,
            Some(label) => Some(
                iquivity_domain::Label::parse(label)
                    .map_err(|e| iquivity_domain::ValidationError::new("label", e.message))?
                    .as_str()
                    .to_string(),
            ),
        };
        let after = request
            .cursor
            .as_deref()
            .map(|c| decode_cursor(c, request.sort))
            .transpose()?;
        let query = AccountQuery {
            search: text,
            platforms: request.platforms,
            statuses: request.statuses,
            created_from: request.created_from,
            created_before: request.created_before,
            connected_by,
            label,
            clients: request.clients,
            without_client: request.without_client,
            sort: request.sort,
            // One more than asked tells whether another page exists.
            limit: request.limit + 1,
            after,
        };
        let mut items = self
            .store
            .list_accounts(caller.workspace_id, &query)
            .await?;
        let next_cursor = if items.len() > request.limit as usize {
            items.truncate(request.limit as usize);
            items
                .last()
                .map(|last| encode_cursor(&cursor_after(last, request.sort)))
                .transpose()?
        } else {
            None
        };
        Ok(AccountPage { items, next_cursor })
    }

    async fn resolve_owner(&self, owner: &str) -> Result<Option<UserId>, CoreError> {
        if let Ok(id) = owner.parse::<UserId>() {
            return Ok(Some(id));
        }
        if owner.contains('@') {
            let email = Email::parse(owner)
                .map_err(|e| iquivity_domain::ValidationError::new("owner", e.message))?;
            return Ok(self
                .store
                .user_by_email(email.as_str())
                .await?
                .map(|u| u.id));
        }
        Err(CoreError::invalid(
            "owner",
            "must be a user id or an email address",
        ))
    }

    /// The people of the caller's workspace: who may have connected an account.
    pub async fn members(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(UserId, String, iquivity_domain::Role)>, CoreError> {
        Ok(self.store.members(caller.workspace_id).await?)
    }

    pub async fn workspace_name(&self, caller: &Caller) -> Result<String, CoreError> {
        Ok(self
            .store
            .workspace(caller.workspace_id)
            .await?
            .ok_or(CoreError::NotFound("workspace"))?
            .name)
    }

    /// The labels in use in the workspace, for suggestions.
    pub async fn labels_in_use(&self, caller: &Caller) -> Result<Vec<String>, CoreError> {
        Ok(self.store.labels_in_use(caller.workspace_id).await?)
    }

    pub async fn account_summary(&self, caller: &Caller) -> Result<Summary, CoreError> {
        let workspace = self
            .store
            .workspace(caller.workspace_id)
            .await?
            .ok_or(CoreError::NotFound("workspace"))?;
        let mut counts = StatusCounts::default();
        let mut per_platform: BTreeMap<Platform, StatusCounts> = Platform::ALL
            .into_iter()
            .map(|p| (p, StatusCounts::default()))
            .collect();
        for row in self.store.account_counts(caller.workspace_id).await? {
            counts.add(row.status, row.count);
            per_platform
                .entry(row.platform)
                .or_default()
                .add(row.status, row.count);
        }
        let PlanLimits {
            max_accounts,
            max_accounts_per_platform,
        } = workspace.plan.limits();
        Ok(Summary {
            plan: PlanUsage {
                name: workspace.plan,
                max_accounts,
                max_accounts_per_platform,
                used: counts.total,
            },
            counts,
            per_platform,
        })
    }

    pub async fn account(&self, caller: &Caller, id: AccountId) -> Result<Account, CoreError> {
        self.store
            .account(caller.workspace_id, id)
            .await?
            .ok_or(CoreError::NotFound("account"))
    }

    /// The workspace's activity: every account event, newest first.
    pub async fn activity(&self, caller: &Caller) -> Result<Vec<AuditEventRecord>, CoreError> {
        Ok(self
            .store
            .workspace_events(caller.workspace_id, 200)
            .await?)
    }

    pub async fn account_events(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<Vec<AuditEventRecord>, CoreError> {
        self.account(caller, id).await?;
        Ok(self
            .store
            .events_for_account(caller.workspace_id, id, 100)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn search(q: &str, tz: i32) -> TextSearch {
        interpret_search(
            q,
            tz,
            &[],
            Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap(),
        )
    }

    fn platforms(q: &str) -> Vec<Platform> {
        search(q, 0).words[0].platforms.clone()
    }

    #[test]
    fn search_words_can_name_a_platform_by_name_or_alias() {
        let s = search("Insta", 0);
        assert_eq!(s.words[0].text, "insta");
        assert_eq!(platforms("Insta"), vec![Platform::Instagram]);
        assert_eq!(platforms("ig"), vec![Platform::Instagram]);
        assert_eq!(platforms("fb"), vec![Platform::Facebook]);
        assert_eq!(platforms("twitter"), vec![Platform::X]);
        assert_eq!(platforms("x"), vec![Platform::X]);
        assert_eq!(platforms("linkedin"), vec![Platform::Linkedin]);
        assert!(
            platforms("ma").is_empty(),
            "two letters are a name fragment, not a platform"
        );
    }

    #[test]
    fn words_come_in_any_order_a_handle_without_its_at_and_clients_by_name() {
        let acme = iquivity_domain::ClientId::new();
        let s = interpret_search(
            "@mason  Bakery",
            0,
            &[(acme, "Acme Bakery".into())],
            Utc::now(),
        );
        let words: Vec<&str> = s.words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(words, ["mason", "bakery"]);
        assert!(s.words[0].clients.is_empty());
        assert_eq!(s.words[1].clients, vec![acme]);
    }

    #[test]
    fn the_whole_text_can_be_a_date_a_month_a_day_of_any_year_or_a_year() {
        let day = search("Aug 25 2025", 120).created;
        assert_eq!(
            day,
            vec![(
                Utc.with_ymd_and_hms(2025, 8, 24, 22, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2025, 8, 25, 22, 0, 0).unwrap()
            )]
        );
        let minute = search("Aug 25 2025, 09:16", 0).created;
        assert_eq!(
            minute[0].0,
            Utc.with_ymd_and_hms(2025, 8, 25, 9, 16, 0).unwrap()
        );
        assert_eq!(search("2025-08-25", 0).created.len(), 1);
        let month = search("Dec 2026", 0).created;
        assert_eq!(
            month,
            vec![(
                Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
            )]
        );
        let any_year = search("Aug 25", 0).created;
        assert_eq!(any_year.len(), 17, "2010 to 2026");
        assert!(any_year.contains(&(
            Utc.with_ymd_and_hms(2025, 8, 25, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2025, 8, 26, 0, 0, 0).unwrap()
        )));
        assert_eq!(
            search("2025", 0).created,
            vec![(
                Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
                Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
            )]
        );
        assert!(search("carter", 0).created.is_empty());
        assert!(search("Aug 99", 0).created.is_empty());
    }
}
