//! The rows of the accounts list: each account with its platform, status in words, client, labels, use
//! and its actions. The Platforms page renders them, and so does the fragment the page's script reloads.

use crate::pages::icons::platform_mark;
use crate::pages::{local_time, local_time_or_never};
use chrono::Utc;
use iquivity_core::accounts::AccountPage;
use iquivity_core::clients::ClientSummary;
use iquivity_domain::{Account, AccountId, AccountStatus, Client, ClientId};
use maud::{html, Markup};

pub(super) fn status_label(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "Active",
        AccountStatus::Inactive => "Inactive",
        AccountStatus::Failed => "Failed",
    }
}

/// Our sentence about the account's status (the first line of its message).
pub(super) fn status_text(account: &Account) -> String {
    match (&account.status_message, account.status_reason) {
        (Some(message), _) => message.lines().next().unwrap_or_default().to_string(),
        (None, Some(reason)) => reason.default_message().to_string(),
        (None, None) => "Connected and working: posts can be published.".to_string(),
    }
}

/// The platform's own words about the status, when it gave any (the lines after our sentence).
pub(super) fn platform_words(account: &Account) -> Option<String> {
    let message = account.status_message.as_deref()?;
    let rest: Vec<&str> = message.lines().skip(1).collect();
    (!rest.is_empty()).then(|| rest.join(" "))
}

/// Per account: posts still scheduled to it, and posts published to it in the last 30 days.
pub(super) type PostCounts = std::collections::HashMap<AccountId, (u32, u32)>;

/// One row of the accounts table.
/// The workspace's clients by id, for the rows' client tags.
pub(super) type Clients = std::collections::HashMap<ClientId, Client>;

pub(super) fn clients_by_id(clients: &[ClientSummary]) -> Clients {
    clients
        .iter()
        .map(|c| (c.client.id, c.client.clone()))
        .collect()
}

/// What every row of the list is drawn with.
pub(super) struct RowContext<'a> {
    /// The account just connected or refreshed, marked in the list.
    pub(super) highlight: Option<AccountId>,
    pub(super) csrf: &'a str,
    pub(super) counts: &'a PostCounts,
    pub(super) clients: Clients,
    /// Whether the viewer may remove accounts (owners and admins): others are not offered it.
    pub(super) can_manage: bool,
    /// The reconnect requests sent to accounts' owners and still open, by account.
    pub(super) requests: &'a ReconnectRequests,
}

pub(super) type ReconnectRequests =
    std::collections::HashMap<AccountId, iquivity_store::LinkRecord>;

pub(super) fn row(account: &Account, cx: &RowContext) -> Markup {
    let RowContext {
        highlight,
        csrf,
        counts,
        clients,
        can_manage,
        requests,
    } = cx;
    let requested = requests.get(&account.id);
    let highlight = *highlight;
    let (scheduled, published) = counts.get(&account.id).copied().unwrap_or((0, 0));
    let status_class = format!("status status-{}", account.status.as_str());
    let highlighted = highlight == Some(account.id);
    html! {
        tr id={ "account-" (account.id) } class=[highlighted.then_some("highlight")] data-id=(account.id) {
            td.select {
                input type="checkbox" name="ids" value=(account.id) form="bulk-form"
                    aria-label={ "Select " (account.display_name) };
            }
            td.name {
                div.name-cell {
                    // Served by this service (the picture it keeps, or the initials drawn): never the platform's URL.
                    img.avatar src={ "/avatars/" (account.id) } alt="" width="36" height="36" loading="lazy";
                    div {
                        a.account-name href={ "/accounts/" (account.id) } { (account.display_name) }
                        @if let Some(handle) = &account.handle { span.handle { "@" (handle) } }
                        @if account.sandbox { span.tag.sandbox title="Connected through the local sandbox, not the real platform" { "sandbox" } }
                        @if let Some(client) = account.client_id.and_then(|id| clients.get(&id)) {
                            span.tag.client {
                                // A presentation attribute, which the style-src policy allows (a style attribute it does not).
                                @if let Some(colour) = &client.colour {
                                    svg width="10" height="10" viewBox="0 0 10 10" aria-hidden="true" { circle cx="5" cy="5" r="5" fill=(colour.as_str()) {} }
                                    " "
                                }
                                "Client: " (client.name.as_str())
                            }
                        }
                        @for label in account.labels.iter() { span.tag { (label.as_str()) } }
                        span.usage-line {
                            @if let Some(followers) = account.followers { (followers) " followers · " }
                            (published) " published in 30 days"
                            @if scheduled > 0 { " · " (scheduled) " scheduled" }
                            " · last used "
                            (local_time_or_never(account.last_used_at))
                        }
                    }
                }
            }
            td {
                span class=(status_class) title=(status_text(account)) {
                    span.dot aria-hidden="true" {}
                    (status_label(account.status))
                }
                @if account.status != AccountStatus::Active {
                    span.reason { (status_text(account)) }
                    @if let Some(words) = platform_words(account) { span.reason.platform-words { (words) } }
                }
                @if scheduled > 0 && account.status != AccountStatus::Active {
                    span.tag.at-risk title=(if requested.is_some() {
                        "Posts are scheduled to this account; they will fail unless its owner reconnects it first (a reconnect request was sent)"
                    } else {
                        "Posts are scheduled to this account; they will fail unless it is refreshed first"
                    }) {
                        (scheduled) " scheduled post(s) at risk"
                        @if requested.is_some() { ": reconnect requested from the owner" }
                    }
                } @else if requested.is_some() {
                    span.tag.requested { "Reconnect requested from the owner" }
                }
                @if account.expiring_soon(Utc::now()) {
                    span.tag.expiring title="The token ends within 7 days and cannot be renewed automatically: refresh it" { "expiring soon" }
                }
            }
            td { (local_time(account.created_at)) }
            td.platform-cell { (platform_mark(account.platform, 24)) span.visually-hidden { (account.platform.display_name()) } }
            td.actions {
                form.refresh-form method="post" action={ "/accounts/" (account.id) "/refresh" } data-id=(account.id) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.icon-button type="submit" aria-label={ "Refresh " (account.display_name) } title="Refresh connection" { (refresh_icon()) }
                }
                @if *can_manage {
                    a.icon-button.edit-link href={ "/accounts/" (account.id) "#edit" } data-id=(account.id)
                        data-override=(account.display_name_override.as_deref().unwrap_or_default())
                        data-platform-name=(account.platform_display_name)
                        data-labels=(account.labels.to_strings().join(", "))
                        aria-label={ "Edit " (account.display_name) } title="Rename or relabel" { (edit_icon()) }
                    a.icon-button.remove-link href={ "/accounts/" (account.id) "/remove" } data-id=(account.id) data-name=(account.display_name)
                        aria-label={ "Remove " (account.display_name) } title="Remove account" { "✕" }
                }
            }
        }
    }
}

/// The Refresh mark (the product page's 🔄), drawn so it shows without an emoji font.
pub(super) fn refresh_icon() -> Markup {
    html! {
        svg.refresh-icon width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false" {
            path d="M13.6 3.2v3.3h-3.3M2.4 12.8V9.5h3.3M3.1 6.2a5.2 5.2 0 0 1 9.4-1.6l1.1 1.9M12.9 9.8a5.2 5.2 0 0 1-9.4 1.6l-1.1-1.9"
                fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" stroke-linejoin="round" {}
        }
    }
}

/// A pencil, for editing a row's name and labels in place.
pub(super) fn edit_icon() -> Markup {
    html! {
        svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false" {
            path d="M11.5 2.5l2 2-8 8H3.5v-2zM10 4l2 2" fill="none" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round" {}
        }
    }
}

pub(super) fn rows(page: &AccountPage, cx: &RowContext) -> Markup {
    html! {
        @for account in &page.items { (row(account, cx)) }
    }
}
