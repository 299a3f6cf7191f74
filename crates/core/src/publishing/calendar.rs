//! The calendar: a workspace's posts by their publishing time, one item per account a post goes to, for a
//! bounded range (a month view reads about six weeks).

use crate::{Caller, Core, CoreError};
use chrono::{DateTime, Duration, Utc};
use iquivity_domain::{Account, AccountId, AccountStatus, ClientId, Platform};
use iquivity_store::{AuditKind, CalendarTarget, TargetState};
use std::collections::HashMap;

/// The longest range one calendar read covers: a month view with the weeks around it, and some.
pub const MAX_CALENDAR_DAYS: i64 = 62;

/// The most items one read answers; a range holding more says it was cut short.
pub const MAX_CALENDAR_ITEMS: u32 = 5_000;

/// What the calendar is asked for: a range, and optionally only some clients, platforms or accounts.
#[derive(Debug, Clone)]
pub struct CalendarQuery {
    pub from: DateTime<Utc>,
    /// Exclusive.
    pub to: DateTime<Utc>,
    pub clients: Vec<ClientId>,
    pub platforms: Vec<Platform>,
    pub accounts: Vec<AccountId>,
}

/// One post on one account, where the calendar places it.
#[derive(Debug, Clone)]
pub struct CalendarItem {
    pub post_id: uuid::Uuid,
    pub target_id: uuid::Uuid,
    pub account_id: AccountId,
    /// The account's name; a removed account's name from its removal, marked "(removed)".
    pub account_name: String,
    pub platform: Platform,
    pub client_id: Option<ClientId>,
    pub state: TargetState,
    /// When it was published, or when it is to be.
    pub at: DateTime<Utc>,
    pub text: String,
    /// The post on the platform, once published.
    pub url: Option<String>,
    /// Scheduled to an account that is not Active: it fails unless the account is repaired first.
    pub at_risk: bool,
}

pub struct Calendar {
    pub items: Vec<CalendarItem>,
    /// The range held more than [`MAX_CALENDAR_ITEMS`]: the later ones are left out.
    pub truncated: bool,
}

impl Core {
    /// The posts of a range, one item per account, in time order.
    pub async fn calendar(
        &self,
        caller: &Caller,
        query: &CalendarQuery,
    ) -> Result<Calendar, CoreError> {
        if query.to <= query.from {
            return Err(CoreError::invalid("to", "must be after from"));
        }
        if query.to - query.from > Duration::days(MAX_CALENDAR_DAYS) {
            return Err(CoreError::invalid(
                "to",
                format!("the range may cover at most {MAX_CALENDAR_DAYS} days"),
            ));
        }
        let rows = self
            .store
            .targets_between(
                caller.workspace_id,
                query.from,
                query.to,
                MAX_CALENDAR_ITEMS + 1,
            )
            .await?;
        let truncated = rows.len() > MAX_CALENDAR_ITEMS as usize;
        let mut accounts: HashMap<AccountId, Option<Account>> = HashMap::new();
        let mut removed_names: HashMap<AccountId, String> = HashMap::new();
        let mut items = Vec::new();
        for row in rows.into_iter().take(MAX_CALENDAR_ITEMS as usize) {
            let id = row.target.account_id;
            if let std::collections::hash_map::Entry::Vacant(slot) = accounts.entry(id) {
                let account = self.store.account(caller.workspace_id, id).await?;
                if account.is_none() {
                    removed_names.insert(id, self.removed_account_name(caller, id).await?);
                }
                slot.insert(account);
            }
            let account = accounts.get(&id).and_then(Option::as_ref);
            if let Some(item) = calendar_item(row, account, removed_names.get(&id), query) {
                items.push(item);
            }
        }
        Ok(Calendar { items, truncated })
    }

    /// A removed account's name as its removal recorded it.
    async fn removed_account_name(
        &self,
        caller: &Caller,
        id: AccountId,
    ) -> Result<String, CoreError> {
        let name = self
            .store
            .events_for_account(caller.workspace_id, id, 50)
            .await?
            .into_iter()
            .find(|e| e.kind == AuditKind::Removed)
            .and_then(|e| e.details["display_name"].as_str().map(str::to_string))
            .unwrap_or_else(|| "An account".into());
        Ok(format!("{name} (removed)"))
    }
}

/// The item of one target, unless the query's filters leave it out.
fn calendar_item(
    row: CalendarTarget,
    account: Option<&Account>,
    removed_name: Option<&String>,
    query: &CalendarQuery,
) -> Option<CalendarItem> {
    let target = row.target;
    let client_id = account.and_then(|a| a.client_id);
    let wanted = (query.platforms.is_empty() || query.platforms.contains(&target.platform))
        && (query.accounts.is_empty() || query.accounts.contains(&target.account_id))
        && (query.clients.is_empty() || client_id.is_some_and(|c| query.clients.contains(&c)));
    if !wanted {
        return None;
    }
    let at_risk = target.state == TargetState::Scheduled
        && account.is_some_and(|a| a.status != AccountStatus::Active);
    Some(CalendarItem {
        post_id: row.post_id,
        target_id: target.id,
        account_id: target.account_id,
        account_name: account
            .map(|a| a.display_name.clone())
            .or_else(|| removed_name.cloned())
            .unwrap_or_default(),
        platform: target.platform,
        client_id,
        state: target.state,
        at: target.published_at.unwrap_or(target.run_at),
        text: row.text,
        url: target.url,
        at_risk,
    })
}
