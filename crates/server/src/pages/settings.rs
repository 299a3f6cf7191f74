//! The workspace's settings: its people and invitations, and its webhooks.

use super::auth::field;
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::routes::alerts::parse_webhook_id;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::alerts::{WebhookUpdate, SIGNATURE_HEADER};
use iquivity_core::{Caller, CoreError};
use maud::{html, Markup};
use secrecy::ExposeSecret;

/// What a form post just did, shown once above the forms.
enum Outcome {
    Nothing,
    Invited(String),
    WebhookAdded { url: String, secret: String },
    Refused(String),
}

async fn render(
    state: &AppState,
    caller: &Caller,
    session: &str,
    outcome: Outcome,
    status: StatusCode,
) -> Result<Response, AppError> {
    let summary = state.core.account_summary(caller).await?;
    let chrome = Chrome::of(state, caller, session, &summary).await?;
    let members = state.core.members(caller).await?;
    let webhooks = state.core.webhooks(caller).await?;
    // Absolute, so it works pasted anywhere: the public URL, or the address the platforms return to.
    let base = state.link_base();
    let notice: Markup = match outcome {
        Outcome::Nothing => html! {},
        Outcome::Invited(url) => html! {
            div.notice.success role="status" {
                p { "Send this link to the person you invite. It works once and expires in 7 days:" }
                p { code #invitation-link { (base) (url) } " "
                    button.secondary.copy type="button" data-copy="invitation-link" hidden { "Copy link" } }
            }
        },
        Outcome::WebhookAdded { url, secret } => html! {
            div.notice.success role="status" {
                p { "Webhook added for " code { (url) } ". Its signing secret is shown this once; keep it:" }
                p { code { (secret) } }
                p.muted { "Each delivery carries " code { (SIGNATURE_HEADER) ": t=<unix>,v1=<hex>" } ", an HMAC-SHA256 with this secret over \"<t>.<body>\"." }
            }
        },
        Outcome::Refused(message) => html! { p.notice.error role="alert" { (message) } },
    };
    let body = html! {
        p { a href="/" { "← Platforms" } }
        h1 { "Settings" }
        (notice)
        p { "Plan: " strong { (chrome.plan.as_str()) } " · " a href="/settings/plan" { "Limits and use per platform" } }
        section aria-labelledby="team-heading" {
            h2 #team-heading { "Team" }
            ul { @for (_, email, role) in &members { li { (email) " — " (role.as_str()) } } }
            @if caller.role.can_invite() {
                form.stack method="post" action="/settings/invitations" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    label for="invite-email" { "Email (optional: only this address can accept)" }
                    input #invite-email type="email" name="email";
                    label for="invite-role" { "Role" }
                    select #invite-role name="role" {
                        option value="member" { "Member: views and refreshes accounts" }
                        option value="admin" { "Admin: also connects, relabels and removes accounts" }
                    }
                    button type="submit" { "Create invitation link" }
                }
            }
        }
        @if caller.role.can_manage_accounts() {
            section aria-labelledby="links-heading" {
                h2 #links-heading { "Links for account owners" }
                p { "Let a client connect their accounts, reconnect one, or see what you hold for them, without an account here or their password: "
                    a href="/settings/links" { "Connect links and access pages" } "." }
            }
        }
        section aria-labelledby="webhooks-heading" {
            h2 #webhooks-heading { "Webhooks" }
            p.muted { "Alerts (connected, status changed, recovered, expiring, posts at risk, removed, webhook disabled) are POSTed as signed JSON. A webhook that fails for 3 days is disabled until you enable it." }
            ul {
                @for hook in &webhooks {
                    li {
                        code { (hook.url) } " "
                        span.muted {
                            @match &hook.events {
                                None => "all events",
                                Some(events) => (events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")),
                            }
                        }
                        " "
                        @if let Some(at) = hook.disabled_at {
                            span.tag.expiring { "Disabled " (at.format("%Y-%m-%d %H:%M")) " UTC" } " "
                            @if caller.role.can_manage_accounts() {
                                form.inline method="post" action={ "/settings/webhooks/" (hook.id) "/enable" } {
                                    input type="hidden" name="csrf" value=(chrome.csrf);
                                    button.link type="submit" aria-label={ "Enable the webhook " (hook.url) } { "Enable" }
                                }
                                " "
                            }
                        } @else if let Some(since) = hook.failing_since {
                            span.tag.expiring { "Failing since " (since.format("%Y-%m-%d %H:%M")) " UTC" } " "
                        }
                        form.inline method="post" action={ "/settings/webhooks/" (hook.id) "/delete" } {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            button.link type="submit" aria-label={ "Delete the webhook " (hook.url) } { "Delete" }
                        }
                    }
                }
            }
            @if caller.role.can_manage_accounts() {
                form.stack method="post" action="/settings/webhooks" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    label for="webhook-url" { "URL (https)" }
                    input #webhook-url type="url" name="url" required placeholder="https://hooks.example.com/iquivity";
                    button type="submit" { "Add webhook" }
                }
            }
        }
    };
    let mut response = app_page(StatusCode::OK, "Settings", Section::Settings, &chrome, body);
    *response.status_mut() = status;
    Ok(response)
}

fn refused(err: CoreError) -> Outcome {
    Outcome::Refused(match err {
        CoreError::Validation(errors) => errors
            .into_iter()
            .map(|e| e.message)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

/// `GET /settings`.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
) -> Result<Response, AppError> {
    render(&state, &caller, &session, Outcome::Nothing, StatusCode::OK).await
}

/// `POST /settings/invitations`.
pub async fn invite(State(state): State<AppState>, sc: CheckedForm) -> Result<Response, AppError> {
    let fields = &sc.fields;
    let email = field(fields, "email").filter(|e| !e.is_empty());
    let (outcome, status) = match state
        .core
        .invite(&sc.caller, field(fields, "role").unwrap_or("member"), email)
        .await
    {
        Ok(created) => (
            Outcome::Invited(format!("/invitations/{}", created.code.expose_secret())),
            StatusCode::OK,
        ),
        Err(err) => (refused(err), StatusCode::UNPROCESSABLE_ENTITY),
    };
    render(&state, &sc.caller, &sc.session, outcome, status).await
}

/// `POST /settings/webhooks`.
pub async fn add_webhook(
    State(state): State<AppState>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let fields = &sc.fields;
    let (outcome, status) = match state
        .core
        .create_webhook(&sc.caller, field(fields, "url").unwrap_or_default(), None)
        .await
    {
        Ok(created) => (
            Outcome::WebhookAdded {
                url: created.webhook.url,
                secret: created.secret.expose_secret().to_string(),
            },
            StatusCode::OK,
        ),
        Err(err) => (refused(err), StatusCode::UNPROCESSABLE_ENTITY),
    };
    render(&state, &sc.caller, &sc.session, outcome, status).await
}

/// `POST /settings/webhooks/{id}/delete`.
pub async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    state
        .core
        .delete_webhook(&sc.caller, parse_webhook_id(&id)?)
        .await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/settings")]).into_response())
}

/// `POST /settings/webhooks/{id}/enable`: enables a disabled webhook.
pub async fn enable_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let enable = WebhookUpdate {
        events: None,
        enabled: Some(true),
    };
    state
        .core
        .update_webhook(&sc.caller, parse_webhook_id(&id)?, &enable)
        .await?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/settings")]).into_response())
}
