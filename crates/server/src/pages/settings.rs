//! The workspace's settings: its people and invitations, and its webhooks.

use super::auth::field;
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::see_other;
use crate::routes::alerts::parse_webhook_id;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_core::alerts::{AlertEmailChoice, WebhookUpdate, SIGNATURE_HEADER};
use iquivity_core::{Caller, CoreError};
use iquivity_domain::{AlertEmail, AlertKind, Role};
use maud::{html, Markup};
use secrecy::ExposeSecret;

/// What a form post just did, shown once above the forms.
enum Outcome {
    Nothing,
    Invited(String),
    WebhookAdded { url: String, secret: String },
    Done(&'static str),
    Refused(String),
}

/// A kind of alert as the alert-email choices name it.
fn kind_label(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Connected => "An account was connected",
        AlertKind::StatusChanged => "An account's status changed (inactive, failed)",
        AlertKind::Recovered => "An account works again",
        AlertKind::Expiring => "An account stops working soon",
        AlertKind::Removed => "An account was removed",
        AlertKind::PostsAtRisk => "Scheduled posts are at risk",
        AlertKind::RemovalRequested => "A client asked to remove an account",
        AlertKind::WebhookDisabled => "A webhook was disabled",
    }
}

fn choice_label(choice: AlertEmail) -> &'static str {
    match choice {
        AlertEmail::Immediately => "Immediately",
        AlertEmail::Digest => "In the daily digest",
        AlertEmail::Off => "Off",
    }
}

/// Each member's own choice, per kind of alert, and for the owner whether email is on and a test email.
fn alert_emails(
    caller: &Caller,
    csrf: &str,
    delivers: bool,
    choices: &[AlertEmailChoice],
) -> Markup {
    html! {
        section #alert-emails aria-labelledby="alert-emails-heading" {
            h2 #alert-emails-heading { "Alert emails" }
            @if delivers {
                p { "Email is on. Choose, for each kind of alert, when you hear of it: one email as it happens, a daily digest grouped by client, or not at all. These choices are yours alone." }
            } @else {
                p.notice role="status" { "Email is off on this server (no SMTP server is set up), so nothing is sent; your choices are kept for when it is." }
            }
            form.stack method="post" action="/settings/alert-emails" {
                input type="hidden" name="csrf" value=(csrf);
                table.choices {
                    caption.muted { "When you are emailed about each kind of alert" }
                    thead { tr { th scope="col" { "Alert" } th scope="col" { "Email" } } }
                    tbody {
                        @for (i, choice) in choices.iter().enumerate() {
                            @let id = format!("alert-email-{i}");
                            tr {
                                th scope="row" { label for=(id) { (kind_label(choice.kind)) } }
                                td {
                                    select id=(id) name=(choice.kind.as_str()) {
                                        @for option in AlertEmail::ALL {
                                            option value=(option.as_str()) selected[option == choice.choice] { (choice_label(option)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                button type="submit" { "Save alert emails" }
            }
            @if caller.role == Role::Owner && delivers {
                form.inline method="post" action="/settings/test-email" {
                    input type="hidden" name="csrf" value=(csrf);
                    button.secondary type="submit" { "Send me a test email" }
                }
            }
        }
    }
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
        Outcome::Done(message) => html! { p.notice.success role="status" { (message) } },
        Outcome::Refused(message) => html! { p.notice.error role="alert" { (message) } },
    };
    let choices = state.core.alert_email_choices(caller).await?;
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
        (alert_emails(caller, &chrome.csrf, state.core.email_delivers(), &choices))
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

/// `POST /settings/alert-emails`: the caller's choice for each kind named in the form.
pub async fn save_alert_emails(
    State(state): State<AppState>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let mut choices = Vec::new();
    for (name, value) in &sc.fields {
        let Some(kind) = AlertKind::parse(name) else {
            continue;
        };
        let choice = AlertEmail::parse(value).ok_or_else(|| {
            CoreError::invalid(kind.as_str(), "must be immediately, digest or off")
        })?;
        choices.push((kind, choice));
    }
    state
        .core
        .set_alert_email_choices(&sc.caller, &choices)
        .await?;
    render(
        &state,
        &sc.caller,
        &sc.session,
        Outcome::Done("Your alert emails are saved."),
        StatusCode::OK,
    )
    .await
}

/// `POST /settings/test-email`: the owner checks that email reaches them.
pub async fn test_email(
    State(state): State<AppState>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let (outcome, status) = match state.core.send_test_email(&sc.caller).await {
        Ok(()) => (
            Outcome::Done(
                "A test email is on its way to your address; it goes out within a minute.",
            ),
            StatusCode::OK,
        ),
        Err(err) => (refused(err), StatusCode::FORBIDDEN),
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
    Ok(see_other("/settings"))
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
    Ok(see_other("/settings"))
}
