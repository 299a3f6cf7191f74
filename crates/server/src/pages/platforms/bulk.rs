//! The list's bulk actions: the bar above the rows, and the labels, client or removal it applies to the
//! ticked accounts or to every account the filters match.

use super::{back_to_list_with, removal_warning};
use crate::error::AppError;
use crate::extract::CheckedForm;
use crate::pages::auth::field;
use crate::pages::flash::Flash;
use crate::pages::{app_page, Chrome, Section};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_core::clients::ClientSummary;
use maud::{html, Markup};

pub(super) fn bulk_bar(
    list_query: &str,
    clients: &[ClientSummary],
    can_manage: bool,
    csrf: &str,
) -> Markup {
    html! {
        form #bulk-form.bulk-bar method="post" action="/accounts/bulk" aria-label="Act on the selected accounts" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="filter" value=(list_query);
            input #bulk-scope type="hidden" name="scope" value="ids";
            span #bulk-count.bulk-count aria-live="polite" { "Tick accounts to act on several at once." }
            button #select-matching.link type="button" hidden { "Select all accounts matching this filter" }
            div {
                label for="bulk-action" { "Action" }
                select #bulk-action name="action" {
                    option value="refresh" { "Refresh" }
                    @if can_manage {
                        option value="add_label" { "Add label" }
                        option value="remove_label" { "Remove label" }
                        option value="assign_client" { "Assign client" }
                        option value="remove" { "Remove" }
                    }
                }
            }
            @if can_manage {
                div.bulk-label {
                    label for="bulk-label" { "Label" }
                    input #bulk-label type="text" name="label" maxlength="40" list="label-suggestions" autocomplete="off";
                }
                div.bulk-client {
                    label for="bulk-client" { "Client" }
                    select #bulk-client name="client_id" {
                        option value="" { "No client" }
                        @for c in clients { option value=(c.client.id) { (c.client.name.as_str()) } }
                    }
                }
            }
            button.secondary type="submit" { "Apply to selected" }
        }
    }
}

/// The bulk form's fields as the API's request.
fn bulk_request(
    fields: &[(String, String)],
) -> Result<crate::routes::accounts::BulkRequest, AppError> {
    use crate::routes::accounts::{BulkActionName, BulkRequest};
    let value = |name: &str| field(fields, name).map(str::trim).filter(|v| !v.is_empty());
    let action = match value("action") {
        Some("refresh") => BulkActionName::Refresh,
        Some("remove") => BulkActionName::Remove,
        Some("add_label") => BulkActionName::AddLabel,
        Some("remove_label") => BulkActionName::RemoveLabel,
        Some("assign_client") => BulkActionName::AssignClient,
        _ => return Err(AppError::bad_request("action", "choose what to do")),
    };
    let by_filter = value("scope") == Some("filter");
    let ids: Vec<String> = fields
        .iter()
        .filter(|(k, v)| k == "ids" && !v.is_empty())
        .map(|(_, v)| v.clone())
        .collect();
    let client_id = match value("client_id") {
        Some(raw) => Some(
            raw.parse()
                .map_err(|_| AppError::bad_request("client_id", "choose a client from the list"))?,
        ),
        None => None,
    };
    Ok(BulkRequest {
        action,
        ids: (!by_filter).then_some(ids),
        filter: by_filter.then(|| value("filter").unwrap_or_default().to_string()),
        label: value("label").map(str::to_string),
        client_id: Some(client_id),
        preview: false,
    })
}

/// `POST /accounts/bulk` from the Platforms page. A removal is confirmed first (a page listing what goes,
/// with the scheduled posts cancelled); then back to the list with the report.
pub async fn bulk(State(state): State<AppState>, form: CheckedForm) -> Result<Response, AppError> {
    let request = bulk_request(&form.fields)?;
    let removing = matches!(
        request.action,
        crate::routes::accounts::BulkActionName::Remove
    );
    let confirmed = field(&form.fields, "confirmed") == Some("yes");
    let (selection, action, _) = crate::routes::accounts::bulk_command(request)?;
    if removing && !confirmed {
        let preview = state
            .core
            .bulk_action(&form.caller, selection, action, true)
            .await?;
        return confirm_bulk_removal(&state, &form, &preview).await;
    }
    let report = state
        .core
        .bulk_action(&form.caller, selection, action, false)
        .await?;
    let problems = report
        .results
        .iter()
        .filter_map(|r| {
            let detail = r.detail.as_deref()?;
            Some(format!(
                "{}: {detail}",
                r.display_name.as_deref().unwrap_or("An account")
            ))
        })
        .take(8)
        .collect();
    Ok(back_to_list_with(
        &state,
        &form.session,
        &Flash::Bulk {
            sentence: report.sentence(),
            problems,
        },
    ))
}

/// The confirmation of a bulk removal, for browsers without script: what goes, and what is cancelled.
async fn confirm_bulk_removal(
    state: &AppState,
    form: &CheckedForm,
    preview: &iquivity_core::accounts::bulk::BulkReport,
) -> Result<Response, AppError> {
    use iquivity_core::accounts::bulk::BulkOutcome;
    let summary = state.core.account_summary(&form.caller).await?;
    let chrome = Chrome::of(state, &form.caller, &form.session, &summary).await?;
    let going: Vec<_> = preview
        .results
        .iter()
        .filter(|r| r.outcome == BulkOutcome::WouldRemove)
        .collect();
    let scheduled: u32 = going.iter().filter_map(|r| r.scheduled_posts).sum();
    let body = html! {
        h1 { "Remove " (going.len()) " account(s)?" }
        @if scheduled > 0 {
            p.warning { (scheduled) " scheduled post(s) to these accounts will be cancelled." }
        }
        ul { @for r in &going { li { (r.display_name.as_deref().unwrap_or_default()) @if let Some(n) = r.scheduled_posts.filter(|n| *n > 0) { " (" (n) " scheduled)" } } } }
        (removal_warning())
        form method="post" action="/accounts/bulk" {
            @for (name, value) in form.fields.iter().filter(|(k, _)| k != "confirmed") {
                input type="hidden" name=(name) value=(value);
            }
            input type="hidden" name="confirmed" value="yes";
            div.dialog-actions {
                button.danger type="submit" disabled[going.is_empty()] { "Remove " (going.len()) " account(s)" }
                a href="/" { "Cancel" }
            }
        }
    };
    Ok(app_page(
        StatusCode::OK,
        "Remove accounts",
        Section::Platforms,
        &chrome,
        body,
    ))
}
