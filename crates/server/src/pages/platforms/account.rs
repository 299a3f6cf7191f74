//! One account's page (`/accounts/{id}`): its details, permissions and history, the team's edit form, and
//! Refresh, Remove and its picture.

use super::{
    back_to_list_with, platform_words, refresh_icon, removal_warning, status_label, status_text,
};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller, SessionCaller};
use crate::pages::auth::field;
use crate::pages::flash::Flash;
use crate::pages::icons::platform_icon;
use crate::pages::{app_page, Chrome, Section};
use crate::pages::{local_time, local_time_or_never, see_other};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::clients::ClientSummary;
use iquivity_core::connections::RefreshOutcome;
use iquivity_core::CoreError;
use iquivity_domain::{Account, AccountId, AccountStatus, ClientId};
use iquivity_store::{QueueOwner, QueueRecord};
use maud::{html, Markup};

fn parse_account(raw: &str) -> Result<AccountId, AppError> {
    raw.parse()
        .map_err(|_| AppError::bad_request("id", format!("{raw:?} is not an account id")))
}

/// `POST /accounts/{id}/refresh` from the row's form (the script uses the JSON API instead).
pub async fn refresh(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session_caller: CheckedForm,
) -> Result<Response, AppError> {
    let id = parse_account(&id)?;
    let outcome = state
        .core
        .refresh_account(&session_caller.caller, Some(&session_caller.session), id)
        .await?;
    match outcome {
        RefreshOutcome::Refreshed(account) => Ok(see_other(&format!("/?refreshed={}", account.id))),
        RefreshOutcome::NeedsUser {
            account,
            authorize_url,
            ..
        } => {
            let summary = state.core.account_summary(&session_caller.caller).await?;
            let chrome = Chrome::of(
                &state,
                &session_caller.caller,
                &session_caller.session,
                &summary,
            )
            .await?;
            Ok(app_page(
                StatusCode::OK,
                "Sign in again",
                Section::Platforms,
                &chrome,
                consent_needed(&account, &authorize_url),
            ))
        }
    }
}

/// `GET /avatars/{id}`: the account's picture as this service keeps it, or its initials drawn; cached by
/// the browser and revalidated by `ETag`.
pub async fn avatar(
    State(state): State<AppState>,
    SessionCaller { caller, .. }: SessionCaller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let avatar = state.core.avatar(&caller, parse_account(&id)?).await?;
    let etag = format!("\"{}\"", avatar.version);
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(avatar.content_type),
            )],
            avatar.bytes,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A drawn SVG opened by itself runs nothing and loads nothing.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'"),
    );
    Ok(response)
}

/// Why Refresh cannot finish by itself and what happens next, before the person is sent to the platform.
fn consent_needed(account: &Account, authorize_url: &str) -> Markup {
    let platform = account.platform.display_name();
    html! {
        h1 { (account.display_name) " needs its owner to sign in again" }
        p { (platform) " no longer accepts this connection. " (status_text(account)) }
        @if let Some(words) = platform_words(account) { p.platform-words { (words) } }
        p {
            "Only the person who owns the account can grant access again. You will go to " (platform)
            ", sign in as that account and approve; you then come back here. The account keeps its history, labels, client and scheduled posts."
        }
        p.dialog-actions {
            a.button href=(authorize_url) { "Continue to " (platform) }
            a href="/" { "Not now" }
        }
    }
}

/// `GET /accounts/{id}/remove`: the confirmation, for browsers without script.
pub async fn remove_page(
    State(state): State<AppState>,
    SessionCaller { caller, session }: SessionCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let account = state.core.account(&caller, parse_account(&id)?).await?;
    let scheduled = state.core.removal_impact(&caller, account.id).await?;
    let summary = state.core.account_summary(&caller).await?;
    let chrome = Chrome::of(&state, &caller, &session, &summary).await?;
    let body = html! {
        h1 { "Remove " (account.display_name) "?" }
        @if !scheduled.is_empty() {
            p.warning { (scheduled.len()) " scheduled post(s) to this account will be cancelled:" }
            ul { @for post in &scheduled { li { (post.text.chars().take(80).collect::<String>()) } } }
        }
        (removal_warning())
        form method="post" action={ "/accounts/" (account.id) "/remove" } {
            input type="hidden" name="csrf" value=(chrome.csrf);
            div.dialog-actions {
                button.danger type="submit" { "Remove account" }
                a href="/" { "Cancel" }
            }
        }
    };
    Ok(app_page(
        StatusCode::OK,
        "Remove account",
        Section::Platforms,
        &chrome,
        body,
    ))
}

/// `POST /accounts/{id}/remove`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    session_caller: CheckedForm,
) -> Result<Response, AppError> {
    let id = parse_account(&id)?;
    let account = state.core.account(&session_caller.caller, id).await?;
    state
        .core
        .remove_account(&session_caller.caller, id)
        .await?;
    Ok(back_to_list_with(
        &state,
        &session_caller.session,
        &Flash::Removed {
            name: account.display_name,
        },
    ))
}

/// What the edit form shows: what was typed, and what was wrong with it.
#[derive(Default)]
struct EditForm {
    display_name: Option<String>,
    labels: Option<String>,
    client_id: Option<String>,
    errors: Vec<(String, String)>,
    saved: bool,
}

impl EditForm {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field || f.starts_with(&format!("{field}[")))
            .map(|(_, m)| m.as_str())
    }
}

/// The details page's form for the team's side of an account: the shown name, labels and client.
fn edit_form(account: &Account, clients: &[ClientSummary], form: &EditForm, csrf: &str) -> Markup {
    let name = form
        .display_name
        .clone()
        .unwrap_or_else(|| account.display_name_override.clone().unwrap_or_default());
    let labels = form
        .labels
        .clone()
        .unwrap_or_else(|| account.labels.to_strings().join(", "));
    let client = form
        .client_id
        .clone()
        .unwrap_or_else(|| account.client_id.map(|c| c.to_string()).unwrap_or_default());
    let field = |id: &str, label: &str, value: &str, hint: &str, error: Option<&str>| {
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let described = match error {
            Some(_) => format!("{hint_id} {error_id}"),
            None => hint_id.clone(),
        };
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) type="text" name=(id) value=(value) aria-describedby=(described)
                    aria-invalid=[error.is_some().then_some("true")] autocomplete="off";
                p.hint id=(hint_id) { (hint) }
                @if let Some(error) = error { p.field-error id=(error_id) { (error) } }
            }
        }
    };
    html! {
        form #edit.stack.edit-form method="post" action={ "/accounts/" (account.id) "/edit" } {
            h2 { "Name, labels and client" }
            @if form.saved { p.notice.success role="status" { "Saved." } }
            @if let Some(error) = form.error("form") { p.notice.error role="alert" { (error) } }
            input type="hidden" name="csrf" value=(csrf);
            (field("display_name", "Name shown in iQuivity", &name,
                &format!("Leave empty to use the platform's name, {}.", account.platform_display_name),
                form.error("display_name")))
            (field("labels", "Labels", &labels, "Separate labels with commas.", form.error("labels")))
            div {
                label for="client_id" { "Client" }
                select #client_id name="client_id" {
                    option value="" { "No client" }
                    @for c in clients {
                        @let value = c.client.id.to_string();
                        option value=(value) selected[client == value] { (c.client.name.as_str()) }
                    }
                }
                @if let Some(error) = form.error("client_id") { p.field-error { (error) } }
            }
            button type="submit" { "Save" }
        }
    }
}

/// `POST /accounts/{id}/edit`: the details page's form. Mistakes come back next to their fields with
/// what was typed kept.
pub async fn edit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CheckedForm,
) -> Result<Response, AppError> {
    let id = parse_account(&id)?;
    let value = |name: &str| field(&form.fields, name).unwrap_or_default().to_string();
    let typed = EditForm {
        display_name: Some(value("display_name")),
        labels: Some(value("labels")),
        client_id: Some(value("client_id")),
        ..EditForm::default()
    };
    let labels: Vec<String> = typed
        .labels
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    let name = typed.display_name.as_deref().unwrap_or_default().trim();
    let client = match typed.client_id.as_deref().unwrap_or_default() {
        "" => Ok(None),
        raw => raw.parse::<ClientId>().map(Some),
    };
    let outcome = match client {
        Err(_) => Err(vec![(
            "client_id".to_string(),
            "Choose a client from the list.".to_string(),
        )]),
        Ok(client_id) => state
            .core
            .update_account(
                &form.caller,
                id,
                iquivity_core::accounts::AccountPatch {
                    labels: Some(labels),
                    display_name: Some((!name.is_empty()).then(|| name.to_string())),
                    client_id: Some(client_id),
                },
            )
            .await
            .map_err(|err| match err {
                CoreError::Validation(errors) => errors
                    .into_iter()
                    .map(|e| (e.field.to_string(), e.message.to_string()))
                    .collect(),
                other => vec![(
                    "form".to_string(),
                    AppError::from(other).problem().detail.clone(),
                )],
            }),
    };
    let form_state = match outcome {
        Ok(_) => EditForm {
            saved: true,
            ..EditForm::default()
        },
        Err(errors) => EditForm { errors, ..typed },
    };
    let status = if form_state.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut response = details_page(&state, &form.caller, &form.session, id, form_state).await?;
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /accounts/{id}`: everything about one account.
pub async fn details(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    details_page(
        &state,
        &caller,
        &session,
        parse_account(&id)?,
        EditForm::default(),
    )
    .await
}

/// A queue's times as a person reads them: "Mon, Tue 09:00; Fri 17:30 (Europe/Berlin)".
fn posting_times(queue: &QueueRecord) -> Markup {
    html! {
        @for (i, slot) in queue.slots.iter().enumerate() {
            @if i > 0 { "; " }
            (slot.days.join(", ")) " " (slot.time)
        }
        " (" (queue.time_zone) ")"
    }
}

async fn details_page(
    state: &AppState,
    caller: &iquivity_core::Caller,
    session: &str,
    id: AccountId,
    form: EditForm,
) -> Result<Response, AppError> {
    let account = match state.core.account(caller, id).await {
        Ok(account) => account,
        Err(CoreError::NotFound(_)) => return Err(AppError::not_found("account")),
        Err(e) => return Err(e.into()),
    };
    let clients = state.core.clients(caller).await?;
    let events = state.core.account_events(caller, account.id).await?;
    let members = state.core.members(caller).await?;
    let summary = state.core.account_summary(caller).await?;
    let chrome = Chrome::of(state, caller, session, &summary).await?;
    let descriptor = iquivity_platforms::descriptor(account.platform);
    let info = descriptor.info();
    let connected_by = account
        .connected_by
        .and_then(|u| {
            members
                .iter()
                .find(|(id, _, _)| *id == u)
                .map(|(_, email, _)| email.clone())
        })
        .unwrap_or_else(|| "someone no longer in the workspace".into());
    let not_publishable = descriptor.not_publishable(account.kind);
    let queue = state
        .core
        .queue(caller, QueueOwner::Account(account.id))
        .await?;
    let client_queue = match account.client_id {
        Some(client) => state.core.queue(caller, QueueOwner::Client(client)).await?,
        None => None,
    };
    let requested = state
        .core
        .open_reconnect_requests(caller)
        .await?
        .remove(&account.id);
    let connected_by = if account.connected_via_link.is_some() {
        format!("its owner, through a link made by {connected_by}")
    } else {
        connected_by
    };
    let body = html! {
        p { a href="/" { "← Platforms" } }
        div.details-head {
            (platform_icon(account.platform, 40))
            h1 { (account.display_name) }
            span class={ "status status-" (account.status.as_str()) } { span.dot aria-hidden="true" {} (status_label(account.status)) }
        }
        @if account.status != AccountStatus::Active {
            div.notice.error role="alert" {
                p { strong { (status_text(&account)) } }
                @if let Some(words) = platform_words(&account) { p.platform-words { (words) } }
                @if let Some(reason) = account.status_reason { p { (reason.advice()) } }
                @if let Some(request) = &requested {
                    p { "Reconnect requested from the owner " (local_time(request.created_at)) "; the link works until " (local_time(request.expires_at)) "." }
                } @else if caller.role.can_manage_accounts() {
                    form.stack.reconnect-request method="post" action={ "/accounts/" (account.id) "/reconnect-request" } {
                        input type="hidden" name="csrf" value=(chrome.csrf);
                        p { "Only the account's owner can grant the platform's consent. Send them a link: it takes only this account's consent, and they need no account here." }
                        label for="reconnect-note" { "Note for the owner (optional)" }
                        input #reconnect-note type="text" name="note" maxlength="500";
                        button.secondary type="submit" { "Ask the owner to reconnect" }
                    }
                }
            }
        }
        @if let Some(no) = not_publishable {
            p.notice { "This is " (no.what) ": it is connected for identity only. " (no.why) "; connect " (no.instead) " to publish." }
        }
        form.refresh-form method="post" action={ "/accounts/" (account.id) "/refresh" } data-id=(account.id) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            button type="submit" { (refresh_icon()) " Refresh connection" }
        }
        dl.details {
            dt { "Platform" } dd { (info.display_name) }
            dt { "Kind" } dd { (account.kind.as_str()) }
            dt { "Platform id" } dd { code { (account.platform_account_id) } }
            @if let Some(handle) = &account.handle { dt { "Handle" } dd { "@" (handle) } }
            dt { "Connected" } dd { (local_time(account.created_at)) " by " (connected_by) }
            dt { "Token expires" } dd { @match account.token_expires_at { Some(at) => (local_time(at)), None => "does not expire (or the platform did not say)" } }
            dt { "Last refresh" } dd { (local_time_or_never(account.last_refreshed_at)) }
            dt { "Last check" } dd { (local_time_or_never(account.last_checked_at)) }
            dt { "Labels" } dd { @if account.labels.iter().next().is_none() { "none" } @for l in account.labels.iter() { span.tag { (l.as_str()) } } }
            @if account.sandbox { dt { "Sandbox" } dd { "Connected through the local sandbox, not the real platform." } }
        }
        @if caller.role.can_manage_accounts() { (edit_form(&account, &clients, &form, &chrome.csrf)) }
        h2 { "Posting times" }
        p {
            @match &queue {
                Some(queue) => { (posting_times(queue)) }
                None => {
                    @match &client_queue {
                        Some(queue) => { "Its client's: " (posting_times(queue)) "." }
                        None => { "None yet: \"Add to queue\" needs them (its own, or its client's)." }
                    }
                }
            }
            @if caller.role.can_manage_accounts() { " " a href={ "/accounts/" (account.id) "/queue" } { "Set the posting times" } }
        }
        h2 { "Permissions" }
        table.permissions {
            thead { tr { th { "Permission" } th { "Why" } th { "Granted" } } }
            tbody {
                @for p in info.permissions {
                    @let granted = account.scopes.iter().any(|s| s == p.scope);
                    tr class=[(!granted && p.required).then_some("missing")] {
                        td { code { (p.scope) } @if p.required { span.tag { "required" } } }
                        td { (p.purpose) }
                        td { @if granted { "Granted" } @else if p.required { strong { "Missing" } } @else { "Not granted (optional)" } }
                    }
                }
            }
        }
        h2 { "History" }
        ol.history {
            @for event in &events {
                li {
                    (local_time(event.at))
                    " — " (event.kind.as_str().replace('_', " "))
                    @if let Some(message) = event.details.get("message").and_then(|m| m.as_str()) { ": " (message) }
                }
            }
        }
    };
    Ok(app_page(
        StatusCode::OK,
        &account.display_name,
        Section::Platforms,
        &chrome,
        body,
    ))
}
