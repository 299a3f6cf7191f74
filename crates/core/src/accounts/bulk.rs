//! One action on many accounts: refresh, remove, add or remove a label, assign a client. The accounts are
//! named by id or chosen by a list filter (every page of it); each is acted on by itself, so one refused
//! or failing account never stops the others, and the answer says what happened to each.

use super::{AccountPatch, ListAccounts};
use crate::renewal::RefreshOutcome;
use crate::{Caller, Core, CoreError};
use futures_util::stream::{self, StreamExt};
use iquivity_domain::{Account, AccountId, ClientId};
use serde::Serialize;

/// The most accounts one bulk action takes: a filter that matches more is refused, not cut short.
pub const MAX_BULK_ACCOUNTS: usize = 500;

/// Refreshes run this many at a time: each is a call to a platform, and they should not queue behind one
/// slow platform, nor all hit the platforms at once.
const REFRESHES_AT_ONCE: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    Refresh,
    Remove,
    AddLabel(String),
    RemoveLabel(String),
    /// `None` takes the accounts away from their client.
    AssignClient(Option<ClientId>),
}

impl BulkAction {
    /// Whether the role may take this action on accounts (members may only refresh).
    fn needs_manage(&self) -> bool {
        !matches!(self, BulkAction::Refresh)
    }
}

/// Which accounts: these ids, or every account the filter matches.
#[derive(Debug, Clone)]
pub enum BulkSelection {
    Ids(Vec<AccountId>),
    Filter(Box<ListAccounts>),
}

/// What happened to one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkOutcome {
    Refreshed,
    /// The platform needs the account's owner to consent again: Refresh on its row does it.
    NeedsConsent,
    Removed,
    Labelled,
    Unlabelled,
    Assigned,
    /// Nothing to do: the label was there already, or was not there, or the client was the same.
    Unchanged,
    /// The role may not do this.
    Forbidden,
    /// No such account in the workspace.
    NotFound,
    /// Tried and failed; `detail` says why.
    Failed,
    /// Only counted (a preview): this account would be removed, with its scheduled posts.
    WouldRemove,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkResult {
    pub id: AccountId,
    /// The account's name, when it is one of the workspace's.
    pub display_name: Option<String>,
    pub outcome: BulkOutcome,
    /// Why it failed or was refused, in words for a person.
    pub detail: Option<String>,
    /// For a removal (or its preview): the scheduled posts to this account that are cancelled.
    pub scheduled_posts: Option<u32>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkReport {
    pub results: Vec<BulkResult>,
}

impl BulkReport {
    pub fn count(&self, outcome: BulkOutcome) -> usize {
        self.results.iter().filter(|r| r.outcome == outcome).count()
    }

    /// "12 refreshed, 2 need the owner's consent": each outcome that happened, with its count.
    pub fn sentence(&self) -> String {
        let parts: Vec<String> = [
            (BulkOutcome::Refreshed, "refreshed", "refreshed"),
            (
                BulkOutcome::NeedsConsent,
                "needs the owner's consent",
                "need the owner's consent",
            ),
            (BulkOutcome::Removed, "removed", "removed"),
            (BulkOutcome::Labelled, "labelled", "labelled"),
            (BulkOutcome::Unlabelled, "unlabelled", "unlabelled"),
            (BulkOutcome::Assigned, "assigned", "assigned"),
            (BulkOutcome::Unchanged, "unchanged", "unchanged"),
            (BulkOutcome::Forbidden, "not allowed", "not allowed"),
            (BulkOutcome::NotFound, "not found", "not found"),
            (BulkOutcome::Failed, "failed", "failed"),
            (BulkOutcome::WouldRemove, "to remove", "to remove"),
        ]
        .into_iter()
        .filter_map(|(outcome, one, many)| match self.count(outcome) {
            0 => None,
            1 => Some(format!("1 {one}")),
            n => Some(format!("{n} {many}")),
        })
        .collect();
        if parts.is_empty() {
            "No account was selected".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn result(id: AccountId, account: Option<&Account>, outcome: BulkOutcome) -> BulkResult {
    BulkResult {
        id,
        display_name: account.map(|a| a.display_name.clone()),
        outcome,
        detail: None,
        scheduled_posts: None,
    }
}

/// What a person reads about an account the action failed on; a fault of this service stays in its log.
fn failure(id: AccountId, account: &Account, err: CoreError) -> BulkResult {
    let detail = match &err {
        CoreError::Internal { .. } => {
            tracing::error!(account_id = %id, error = %err, "bulk action on an account failed");
            "this service failed on this account; try it again".to_string()
        }
        other => other.to_string(),
    };
    BulkResult {
        detail: Some(detail),
        ..result(id, Some(account), BulkOutcome::Failed)
    }
}

impl Core {
    /// The accounts a selection names, in order: found ones with the account, the others `None`. A
    /// filter that matches more than [`MAX_BULK_ACCOUNTS`] is refused.
    async fn select(
        &self,
        caller: &Caller,
        selection: BulkSelection,
    ) -> Result<Vec<(AccountId, Option<Account>)>, CoreError> {
        match selection {
            BulkSelection::Ids(ids) => {
                if ids.is_empty() {
                    return Err(CoreError::invalid("ids", "choose at least one account"));
                }
                if ids.len() > MAX_BULK_ACCOUNTS {
                    return Err(CoreError::invalid(
                        "ids",
                        format!("at most {MAX_BULK_ACCOUNTS} accounts at once"),
                    ));
                }
                let mut seen = std::collections::HashSet::new();
                let mut chosen = Vec::new();
                for id in ids.into_iter().filter(|id| seen.insert(*id)) {
                    // Another workspace's account is "not found" for this one, as everywhere else.
                    let account = match self.account(caller, id).await {
                        Ok(account) => Some(account),
                        Err(CoreError::NotFound(_)) => None,
                        Err(other) => return Err(other),
                    };
                    chosen.push((id, account));
                }
                Ok(chosen)
            }
            BulkSelection::Filter(filter) => {
                let mut request = *filter;
                request.limit = super::MAX_PAGE;
                request.cursor = None;
                let mut chosen = Vec::new();
                loop {
                    let page = self.list_accounts(caller, request.clone()).await?;
                    chosen.extend(page.items.into_iter().map(|a| (a.id, Some(a))));
                    if chosen.len() > MAX_BULK_ACCOUNTS {
                        return Err(CoreError::invalid(
                            "filter",
                            format!(
                                "matches more than {MAX_BULK_ACCOUNTS} accounts; narrow it down first"
                            ),
                        ));
                    }
                    match page.next_cursor {
                        Some(cursor) => request.cursor = Some(cursor),
                        None => break,
                    }
                }
                Ok(chosen)
            }
        }
    }

    /// Takes `action` on each selected account and says what happened to each. With `preview` nothing
    /// changes: each account is listed as it would be acted on (for removal, with its scheduled posts).
    pub async fn bulk_action(
        &self,
        caller: &Caller,
        selection: BulkSelection,
        action: BulkAction,
        preview: bool,
    ) -> Result<BulkReport, CoreError> {
        match &action {
            BulkAction::AssignClient(Some(client)) => match self.client(caller, *client).await {
                Err(CoreError::NotFound(_)) => {
                    return Err(CoreError::invalid(
                        "client_id",
                        "no client with this id in the workspace",
                    ))
                }
                other => {
                    other?;
                }
            },
            BulkAction::AddLabel(label) | BulkAction::RemoveLabel(label) => {
                iquivity_domain::Labels::parse(std::slice::from_ref(label))
                    .map_err(|e| CoreError::Validation(vec![e]))?;
            }
            _ => {}
        }
        let chosen = self.select(caller, selection).await?;
        let allowed = !action.needs_manage() || caller.role.can_manage_accounts();
        let results = stream::iter(chosen)
            .map(|(id, account)| {
                let action = &action;
                async move {
                    let Some(account) = account else {
                        return result(id, None, BulkOutcome::NotFound);
                    };
                    if !allowed {
                        return BulkResult {
                            detail: Some(
                                "only owners and admins can remove, relabel or assign accounts"
                                    .to_string(),
                            ),
                            ..result(id, Some(&account), BulkOutcome::Forbidden)
                        };
                    }
                    if preview {
                        return self.preview_one(caller, account, action).await;
                    }
                    match self.act_on_one(caller, &account, action).await {
                        Ok(done) => done,
                        Err(err) => failure(id, &account, err),
                    }
                }
            })
            .buffered(match action {
                BulkAction::Refresh => REFRESHES_AT_ONCE,
                _ => 1,
            })
            .collect()
            .await;
        Ok(BulkReport { results })
    }

    async fn preview_one(
        &self,
        caller: &Caller,
        account: Account,
        action: &BulkAction,
    ) -> BulkResult {
        let scheduled = match action {
            BulkAction::Remove => match self.removal_impact(caller, account.id).await {
                Ok(posts) => Some(u32::try_from(posts.len()).unwrap_or(u32::MAX)),
                Err(err) => return failure(account.id, &account, err),
            },
            _ => None,
        };
        let outcome = match action {
            BulkAction::Remove => BulkOutcome::WouldRemove,
            _ => BulkOutcome::Unchanged,
        };
        BulkResult {
            scheduled_posts: scheduled,
            ..result(account.id, Some(&account), outcome)
        }
    }

    async fn act_on_one(
        &self,
        caller: &Caller,
        account: &Account,
        action: &BulkAction,
    ) -> Result<BulkResult, CoreError> {
        let id = account.id;
        let done = |outcome| result(id, Some(account), outcome);
        let patch = |labels: Option<Vec<String>>, client_id| AccountPatch {
            labels,
            display_name: None,
            client_id,
        };
        let current: Vec<String> = account.labels.to_strings();
        Ok(match action {
            BulkAction::Refresh => match self.refresh_account(caller, None, id).await? {
                RefreshOutcome::Refreshed(_) => done(BulkOutcome::Refreshed),
                RefreshOutcome::NeedsUser { .. } => BulkResult {
                    detail: Some(
                        "the platform needs the account's owner to sign in again: use Refresh on its row"
                            .to_string(),
                    ),
                    ..done(BulkOutcome::NeedsConsent)
                },
            },
            BulkAction::Remove => {
                let scheduled = self.removal_impact(caller, id).await?.len();
                self.remove_account(caller, id).await?;
                BulkResult {
                    scheduled_posts: Some(u32::try_from(scheduled).unwrap_or(u32::MAX)),
                    ..done(BulkOutcome::Removed)
                }
            }
            BulkAction::AddLabel(label) => {
                if current.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                    done(BulkOutcome::Unchanged)
                } else {
                    let mut labels = current.clone();
                    labels.push(label.clone());
                    self.update_account(caller, id, patch(Some(labels), None))
                        .await?;
                    done(BulkOutcome::Labelled)
                }
            }
            BulkAction::RemoveLabel(label) => {
                let kept: Vec<String> = current
                    .iter()
                    .filter(|l| !l.eq_ignore_ascii_case(label))
                    .cloned()
                    .collect();
                if kept.len() == current.len() {
                    done(BulkOutcome::Unchanged)
                } else {
                    self.update_account(caller, id, patch(Some(kept), None))
                        .await?;
                    done(BulkOutcome::Unlabelled)
                }
            }
            BulkAction::AssignClient(client) => {
                if account.client_id == *client {
                    done(BulkOutcome::Unchanged)
                } else {
                    self.update_account(caller, id, patch(None, Some(*client)))
                        .await?;
                    done(BulkOutcome::Assigned)
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(outcomes: &[BulkOutcome]) -> BulkReport {
        BulkReport {
            results: outcomes
                .iter()
                .map(|o| result(AccountId::new(), None, *o))
                .collect(),
        }
    }

    #[test]
    fn the_sentence_counts_each_outcome_that_happened() {
        let mut outcomes = vec![BulkOutcome::Refreshed; 12];
        outcomes.extend([BulkOutcome::NeedsConsent; 2]);
        assert_eq!(
            report(&outcomes).sentence(),
            "12 refreshed, 2 need the owner's consent"
        );
        assert_eq!(
            report(&[BulkOutcome::NeedsConsent, BulkOutcome::NotFound]).sentence(),
            "1 needs the owner's consent, 1 not found"
        );
        assert_eq!(report(&[]).sentence(), "No account was selected");
    }
}
