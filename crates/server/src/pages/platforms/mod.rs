//! The Platforms page (the product page, section by section): summary cards, the supported platforms with
//! "Add New Account", the connected accounts with search, filters, sort and paging, Refresh and Remove,
//! and an account's details. Everything works without script; `/assets/app.js` makes search live, runs
//! Refresh in place and asks for confirmation in a dialog. The bulk actions and one account's page have
//! their own modules.

mod account;
mod bulk;
mod rows;

use crate::pages::see_other;
pub use account::{avatar, details, edit, refresh, remove, remove_page};
pub use bulk::bulk;
use bulk::bulk_bar;
use rows::{
    clients_by_id, platform_words, refresh_icon, rows, status_label, status_text, RowContext,
};

use super::flash::{self, Flash};
use super::icons::platform_mark;
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller, SessionCaller};
use crate::routes::accounts::{list_request, ListParams, UnknownParams};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::accounts::{AccountPage, StatusCounts, Summary};
use iquivity_core::clients::ClientSummary;
use iquivity_domain::{AccountStatus, Platform, Role, UserId};
use maud::{html, Markup};

/// The query string of the current filters with some parameters changed; empty values are left out.
fn query_with(params: &ListParams, changes: &[(&str, Option<&str>)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |k: &str, v: &str| {
        if !v.is_empty() {
            pairs.push((k.to_string(), v.to_string()));
        }
    };
    push("q", params.q.as_deref().unwrap_or_default());
    for p in &params.platform {
        push("platform", p.as_str());
    }
    for s in &params.status {
        push("status", s.as_str());
    }
    push(
        "created_from",
        params.created_from.as_deref().unwrap_or_default(),
    );
    push(
        "created_to",
        params.created_to.as_deref().unwrap_or_default(),
    );
    push("owner", params.owner.as_deref().unwrap_or_default());
    push("label", params.label.as_deref().unwrap_or_default());
    for c in &params.client {
        push("client", c);
    }
    push("sort", params.sort.as_deref().unwrap_or_default());
    for (key, value) in changes {
        pairs.retain(|(k, _)| k != key);
        if let Some(v) = value {
            pairs.push((key.to_string(), v.to_string()));
        }
    }
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

fn sort_header(params: &ListParams, key: &str, label: &str) -> Markup {
    let current = params.sort.as_deref().unwrap_or("-created_at");
    let (next, aria) = if current == key {
        (format!("-{key}"), "ascending")
    } else if current == format!("-{key}") {
        (key.to_string(), "descending")
    } else {
        (key.to_string(), "none")
    };
    html! {
        th aria-sort=(aria) {
            // The arrow is drawn by the stylesheet from aria-sort, so it follows the column the script sorts by.
            a.sort-link href={ "/?" (query_with(params, &[("sort", Some(&next)), ("cursor", None)])) } { (label) }
        }
    }
}

fn pager(params: &ListParams, next: Option<&str>) -> Markup {
    html! {
        div #pager {
            @if let Some(cursor) = next {
                a #load-more.button.secondary href={ "/?" (query_with(params, &[("cursor", Some(cursor))])) } data-cursor=(cursor) { "Load more" }
            }
        }
    }
}

/// Why no account can be added, said once for the whole strip: the plan's total, or the platforms whose
/// own limit is reached.
fn limit_banner(summary: &Summary) -> Option<Markup> {
    let plan = summary.plan.name;
    let limits = plan.limits();
    if let Some(max) = limits
        .max_accounts
        .filter(|max| summary.counts.total >= *max)
    {
        return Some(html! {
            p.notice.limit role="status" {
                "The " (plan.as_str()) " plan allows " (max) " accounts and all " (max) " are in use: "
                "remove an account or " a href="/settings/plan" { "change the plan" } " to add another."
            }
        });
    }
    let max = limits.max_accounts_per_platform?;
    let full: Vec<&str> = Platform::ALL
        .into_iter()
        .filter(|p| summary.per_platform.get(p).map(|c| c.total).unwrap_or(0) >= max)
        .map(|p| p.display_name())
        .collect();
    (!full.is_empty()).then(|| html! {
        p.notice.limit role="status" {
            "The " (plan.as_str()) " plan allows " (max) " account(s) per platform; "
            (full.join(", ")) " " @if full.len() == 1 { "is" } @else { "are" } " at that limit. "
            a href="/settings/plan" { "See the plan" }
        }
    })
}

/// "Add New Account" for each platform, as one compact strip, for those who may connect accounts.
fn add_strip(summary: &Summary) -> Markup {
    html! {
        section.add-strip aria-labelledby="add-heading" {
            h2 #add-heading { "Add account" }
            ul {
                @for platform in Platform::ALL {
                    @let info = iquivity_platforms::descriptor(platform).info();
                    @let connected = summary.per_platform.get(&platform).map(|c| c.total).unwrap_or(0);
                    @let room = summary.plan.name.check_room(platform, summary.counts.total, connected);
                    li data-platform=(platform) {
                        @match room {
                            Ok(()) => {
                                a.add-tile href={ "/connect/" (platform) } {
                                    (platform_mark(platform, 28))
                                    span.add-text {
                                        span.add-name { (info.display_name) }
                                        span.add-what title=(info.connects) { (info.connects) }
                                    }
                                    span.add-cta { "Add New Account" span.visually-hidden { ": " (info.display_name) } }
                                }
                            }
                            Err(_) => {
                                span.add-tile.disabled aria-disabled="true" {
                                    (platform_mark(platform, 28))
                                    span.add-text {
                                        span.add-name { (info.display_name) }
                                        span.add-what title=(info.connects) { (info.connects) }
                                    }
                                    span.add-cta { "Limit reached" span.visually-hidden { ": " (info.display_name) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `POST /accounts/refresh-inactive` from the page: "Refresh all inactive".
pub async fn refresh_inactive(
    State(state): State<AppState>,
    session_caller: CheckedForm,
) -> Result<Response, AppError> {
    let queued = state
        .core
        .refresh_all_inactive(&session_caller.caller)
        .await?;
    Ok(back_to_list_with(
        &state,
        &session_caller.session,
        &Flash::RefreshQueued { count: queued },
    ))
}

/// The summary as one compact row: the product page's Total / Active / Inactive, and Failed. A zero is
/// drawn plain, not in its status colour.
fn summary_row(counts: &StatusCounts, of_client: Option<&str>) -> Markup {
    let label = match of_client {
        Some(name) => format!("Summary of {name}'s accounts"),
        None => "Account summary".to_string(),
    };
    html! {
        dl #summary aria-label=(label) {
            @for (key, name, value) in [
                ("total", "Total Accounts", counts.total),
                ("active", "Active Accounts", counts.active),
                ("inactive", "Inactive Accounts", counts.inactive),
                ("failed", "Failed Accounts", counts.failed),
            ] {
                div class={ "summary-item summary-" (key) @if value == 0 { " zero" } } {
                    dt { (name) }
                    dd data-summary=(key) { (value) }
                }
            }
        }
    }
}

/// What the person is told about one filter field the list refused, said next to it.
fn field_error(problem: Option<&AppError>, field: &str) -> Option<String> {
    problem?
        .problem()
        .errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| {
            let mut chars = e.message.chars();
            let first = chars.next().map(|c| c.to_uppercase().to_string());
            format!("{}{}.", first.unwrap_or_default(), chars.as_str())
        })
}

/// A date filter, with the refusal of its value next to it.
fn date_field(id: &str, label: &str, value: Option<&str>, error: Option<String>) -> Markup {
    let error_id = format!("{id}-error");
    html! {
        div {
            label for=(id) { (label) }
            input id=(id) type="date" name=(id) value=(value.unwrap_or_default())
                aria-invalid=[error.is_some().then_some("true")]
                aria-describedby=[error.is_some().then_some(error_id.as_str())];
            @if let Some(error) = error { p.field-error id=(error_id) { (error) } }
        }
    }
}

fn filters(
    params: &ListParams,
    members: &[(UserId, String, Role)],
    clients: &[ClientSummary],
    labels: &[String],
    problem: Option<&AppError>,
) -> Markup {
    let selected_client = params.client.first().map(String::as_str);
    let selected_platform = params.platform.first().copied();
    html! {
        form #filters.filters method="get" action="/" role="search" aria-label="Accounts" {
            div.search {
                label for="q" { "Search accounts" }
                input #q type="search" name="q" value=(params.q.as_deref().unwrap_or_default())
                    placeholder="Name, @handle, platform, client, label or date (Aug 25 2025)" autocomplete="off";
            }
            div {
                label for="platform" { "Platform" }
                select #platform name="platform" {
                    option value="" { "All platforms" }
                    @for p in Platform::ALL { option value=(p) selected[selected_platform == Some(p)] { (p.display_name()) } }
                }
            }
            div {
                label for="client" { "Client" }
                select #client name="client" {
                    option value="" { "All clients" }
                    option value="none" selected[selected_client == Some("none")] { "No client" }
                    @for c in clients {
                        @let value = c.client.id.to_string();
                        option value=(value) selected[selected_client == Some(value.as_str())] { (c.client.name.as_str()) }
                    }
                }
            }
            fieldset.status-choice {
                legend { "Status" }
                @for status in AccountStatus::ALL {
                    label {
                        input type="checkbox" name="status" value=(status.as_str()) checked[params.status.contains(&status)];
                        " " (status_label(status))
                    }
                }
            }
            (date_field("created_from", "Connected from", params.created_from.as_deref(), field_error(problem, "created_from")))
            (date_field("created_to", "Connected to", params.created_to.as_deref(), field_error(problem, "created_to")))
            div {
                label for="owner" { "Connected by" }
                select #owner name="owner" {
                    option value="" { "Anyone" }
                    @for (id, email, _) in members {
                        @let value = id.to_string();
                        option value=(value) selected[params.owner.as_deref() == Some(value.as_str()) || params.owner.as_deref() == Some(email.as_str())] { (email) }
                    }
                }
            }
            div {
                label for="label" { "Label" }
                input #label type="text" name="label" value=(params.label.as_deref().unwrap_or_default()) maxlength="40" list="label-suggestions" autocomplete="off";
                datalist #label-suggestions { @for label in labels { option value=(label) {} } }
            }
            input type="hidden" name="sort" value=(params.sort.as_deref().unwrap_or_default());
            div.filter-actions {
                button type="submit" { "Apply" }
                a href="/" { "Clear" }
            }
        }
    }
}

fn notice_from(
    query: &[(String, String)],
    flash: Option<Flash>,
    page: &AccountPage,
) -> Option<Markup> {
    let find = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let name_of = |id: &str| {
        page.items
            .iter()
            .find(|a| a.id.to_string() == id)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| "The account".into())
    };
    if let Some(id) = find("connected") {
        return Some(
            html! { p.notice.success role="status" { (name_of(id)) " is connected and active." } },
        );
    }
    if let Some(id) = find("refreshed") {
        return Some(html! { p.notice.success role="status" { (name_of(id)) " was refreshed." } });
    }
    match flash? {
        Flash::RefreshQueued { count } => Some(
            html! { p.notice.success role="status" { (count) " account(s) queued for refresh; their status updates within a minute." } },
        ),
        Flash::Removed { name } => Some(
            html! { p.notice.success role="status" { (name) " was removed and its credentials destroyed." } },
        ),
        Flash::Bulk { sentence, problems } => Some(html! {
            div.notice.bulk-report.success[problems.is_empty()] role="status" {
                p { strong { (sentence) "." } }
                @if !problems.is_empty() { ul { @for line in &problems { li { (line) } } } }
            }
        }),
    }
}

/// Back to the accounts list after a form post, with a notice for the next page.
fn back_to_list_with(state: &AppState, session: &str, flash: &Flash) -> Response {
    let mut response = see_other("/");
    if let Some(cookie) = flash::set_cookie(session, flash, state.settings.is_https()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /`: the Platforms page.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let flash = flash::take(&headers, &session);
    let raw = raw.unwrap_or_default();
    let shown_flash = flash.is_some();
    let query_pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes())
        .into_owned()
        .collect();
    // These keys name an account the server just connected or refreshed, not list filters.
    let list_query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            query_pairs
                .iter()
                .filter(|(k, _)| !["connected", "connection", "refreshed"].contains(&k.as_str())),
        )
        .finish();
    let summary = state.core.account_summary(&caller).await?;
    let chrome = Chrome::of(&state, &caller, &session, &summary).await?;
    let members = state.core.members(&caller).await?;
    let clients = state.core.clients(&caller).await?;
    let labels = state.core.labels_in_use(&caller).await?;
    let counts = state.core.post_counts(&caller).await?;
    let requests = state.core.open_reconnect_requests(&caller).await?;
    let (params, page, problem) = match list_request(Some(&list_query), UnknownParams::Ignore) {
        Ok((params, request)) => match state.core.list_accounts(&caller, request).await {
            Ok(page) => (params, page, None),
            Err(err) => (params, empty_page(), Some(AppError::from(err))),
        },
        Err(err) => (ListParams::default(), empty_page(), Some(err)),
    };
    let highlight = query_pairs
        .iter()
        .find(|(k, _)| k == "connected" || k == "refreshed")
        .and_then(|(_, v)| v.parse().ok());
    let filtered = params.narrows();
    // One client chosen: the page becomes that client's view, its summary counting its accounts only.
    let viewed_client = match params.client.as_slice() {
        [one] => clients.iter().find(|c| c.client.id.to_string() == *one),
        _ => None,
    };
    let can_manage = caller.role.can_manage_accounts();
    let body = html! {
        div.page-head {
            @match viewed_client {
                Some(client) => {
                    h1 { "Platforms: " (client.client.name.as_str()) }
                    p.lead { "The accounts of " (client.client.name.as_str()) ". " a href="/" { "All accounts" }
                        @if can_manage { " · " a href={ "/clients/" (client.client.id) "/queue" } { "Posting times of " (client.client.name.as_str()) } } }
                }
                None => {
                    h1 { "Platforms" }
                    p.lead { "Connect and manage your social media accounts across multiple platforms." }
                }
            }
        }
        div #live.visually-hidden role="status" aria-live="polite" {}
        @if let Some(notice) = notice_from(&query_pairs, flash, &page) { (notice) }
        div.summary-bar {
            @match viewed_client {
                Some(client) => (summary_row(&client.counts(), Some(client.client.name.as_str()))),
                None => (summary_row(&summary.counts, None)),
            }
            @if summary.counts.inactive + summary.counts.failed > 0 {
                form.bulk method="post" action="/accounts/refresh-inactive" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    button.secondary type="submit" { (refresh_icon()) " Refresh all inactive and failed" }
                }
            }
        }
        @if summary.counts.total == 0 {
            section.empty-state {
                @if can_manage {
                    h2 { "Connect your first account" }
                    p { "Choose a platform below and click " strong { "Add New Account" } ". You will sign in on the platform, grant the permissions iQuivity needs to publish, and the account appears in your list as Active." }
                } @else {
                    h2 { "No accounts yet" }
                    p { "An owner or admin of this workspace connects accounts; they appear here once connected." }
                }
            }
        }
        @if can_manage {
            @if let Some(banner) = limit_banner(&summary) { (banner) }
            (add_strip(&summary))
        }
        section aria-labelledby="accounts-heading" {
            h2 #accounts-heading tabindex="-1" { "Connected accounts" }
            (filters(&params, &members, &clients, &labels, problem.as_ref()))
            @if let Some(problem) = &problem {
                p.notice.error role="alert" { "The list could not be filtered: see the fields marked above. " (problem.problem().detail) }
            }
            (bulk_bar(&query_with(&params, &[("cursor", None)]), &clients, can_manage, &chrome.csrf))
            div.table-wrap {
                table #accounts {
                    caption.visually-hidden { "Connected accounts" }
                    thead { tr {
                        th.select {
                            // Only the script can tick every row; without it each row is ticked by itself.
                            input #select-page type="checkbox" hidden aria-label="Select every account shown";
                        }
                        (sort_header(&params, "name", "Name"))
                        (sort_header(&params, "status", "Status"))
                        (sort_header(&params, "created_at", "Creation Date"))
                        (sort_header(&params, "platform", "Platform"))
                        th { "Actions" }
                    } }
                    tbody #account-rows { (rows(&page, &RowContext {
                        highlight,
                        csrf: &chrome.csrf,
                        counts: &counts,
                        clients: clients_by_id(&clients),
                        can_manage,
                        requests: &requests,
                    })) }
                }
            }
            p #no-results.muted hidden[!page.items.is_empty() || summary.counts.total == 0] {
                @if filtered { "No account matches these filters. " a href="/" { "Clear the filters" } } @else { "No accounts yet." }
            }
            (pager(&params, page.next_cursor.as_deref()))
        }
        dialog #bulk-remove-dialog aria-labelledby="bulk-remove-title" {
            h2 #bulk-remove-title { "Remove " span.bulk-remove-count {} " account(s)?" }
            p.bulk-remove-impact.warning {}
            (removal_warning())
            div.dialog-actions {
                button.danger type="button" { "Remove accounts" }
                button.secondary type="button" data-close { "Cancel" }
            }
        }
        dialog #remove-dialog aria-labelledby="remove-title" {
            form method="post" action="" {
                input type="hidden" name="csrf" value=(chrome.csrf);
                h2 #remove-title { "Remove " span.remove-name {} "?" }
                p.remove-impact.warning {}
                (removal_warning())
                div.dialog-actions {
                    button.danger type="submit" { "Remove account" }
                    button.secondary type="button" value="cancel" data-close { "Cancel" }
                }
            }
        }
    };
    let mut response = app_page(
        StatusCode::OK,
        "Platforms",
        Section::AccountsList,
        &chrome,
        body,
    );
    if shown_flash {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, flash::clear_cookie());
    }
    Ok(response)
}

/// The bar that acts on the ticked rows (or on every account the filter matches). Members are offered
/// Refresh only: the rest needs an owner or admin.
fn empty_page() -> AccountPage {
    AccountPage {
        items: Vec::new(),
        next_cursor: None,
    }
}

fn removal_warning() -> Markup {
    html! {
        p.warning { "Removing an account will prevent scheduled posts from being published to it. Make sure no critical content is scheduled before removing." }
        p { "Its access will be revoked on the platform's side and its stored credentials destroyed." }
    }
}

/// `GET /fragments/accounts`: the rows for the current filters, for the page's script. The next cursor
/// travels in the `X-Next-Cursor` header.
pub async fn fragment(
    State(state): State<AppState>,
    SessionCaller { caller, session }: SessionCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let (_, request) = list_request(raw.as_deref(), UnknownParams::Ignore)?;
    let page = state.core.list_accounts(&caller, request).await?;
    let counts = state.core.post_counts(&caller).await?;
    let requests = state.core.open_reconnect_requests(&caller).await?;
    let clients = clients_by_id(&state.core.clients(&caller).await?);
    let csrf = super::csrf_token(&session);
    let mut response = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        rows(
            &page,
            &RowContext {
                highlight: None,
                csrf: &csrf,
                counts: &counts,
                clients,
                can_manage: caller.role.can_manage_accounts(),
                requests: &requests,
            },
        )
        .into_string(),
    )
        .into_response();
    if let Some(next) = page
        .next_cursor
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert("x-next-cursor", next);
    }
    response
        .headers_mut()
        .insert("x-result-count", HeaderValue::from(page.items.len()));
    Ok(response)
}
