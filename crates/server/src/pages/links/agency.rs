//! The agency's page, Settings → Links: make connect links and access links, revoke them, read what was
//! done through each.

use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::auth::field;
use crate::pages::icons::platform_mark;
use crate::pages::{app_page, Chrome, Section};
use crate::pages::{local_time, see_other};
use crate::routes::accounts::parse_id;
use crate::routes::links::parse_link_id;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_core::clients::ClientSummary;
use iquivity_core::links::{CreatedLink, LinkState, NewConnectLink};
use iquivity_core::{Caller, CoreError};
use iquivity_domain::{LinkKind, Platform, LINK_DEFAULT_DAYS, LINK_MAX_DAYS};
use iquivity_store::{LinkOutcome, LinkRecord, LinkUseRecord};
use maud::{html, Markup};
use secrecy::ExposeSecret;

/// What the agency's page shows above its forms: a link just made (its address, this once), or why a
/// form was refused, next to the form's fields.
enum Made {
    Nothing,
    Link { what: String, url: String },
    Refused(Vec<(String, String)>),
}

fn state_label(state: LinkState) -> &'static str {
    match state {
        LinkState::Active => "Active",
        LinkState::Expired => "Expired",
        LinkState::Revoked => "Revoked",
        LinkState::UsedUp => "Used",
    }
}

fn outcome_text(entry: &LinkUseRecord) -> String {
    let names: Vec<&str> = entry
        .accounts
        .iter()
        .map(|a| a.display_name.as_str())
        .collect();
    let platform = entry.platform.map(|p| p.display_name()).unwrap_or("");
    match entry.outcome {
        LinkOutcome::Connected => format!("Connected on {platform}: {}", names.join(", ")),
        LinkOutcome::WrongAccount => format!(
            "Refused on {platform}: {}",
            entry
                .detail
                .as_deref()
                .unwrap_or("signed in as another account")
        ),
        LinkOutcome::RemovalRequested => format!("Asked to remove {}", names.join(", ")),
        LinkOutcome::Expired => "Opened after it expired".into(),
        LinkOutcome::Revoked => "Opened after it was revoked".into(),
        LinkOutcome::UsedUp => "Opened after it was used up".into(),
    }
}

fn link_purpose(link: &LinkRecord, clients: &[ClientSummary]) -> String {
    let client = link
        .client_id
        .and_then(|id| clients.iter().find(|c| c.client.id == id))
        .map(|c| c.client.name.as_str().to_string());
    match (link.kind, client) {
        (LinkKind::Connect, Some(client)) => format!("Connect accounts for {client}"),
        (LinkKind::Connect, None) => "Connect accounts".into(),
        (LinkKind::Reconnect, _) => "Reconnect one account".into(),
        (LinkKind::Access, Some(client)) => format!("{client}'s access page"),
        (LinkKind::Access, None) => "An access page whose client was removed".into(),
    }
}

fn field_error(errors: &[(String, String)], name: &str) -> Markup {
    html! {
        @for (_, message) in errors.iter().filter(|(f, _)| f == name) {
            p.field-error id={ (name) "-error" } { (message) }
        }
    }
}

fn described(errors: &[(String, String)], name: &str) -> Option<String> {
    errors
        .iter()
        .any(|(f, _)| f == name)
        .then(|| format!("{name}-error"))
}

async fn render(
    state: &AppState,
    caller: &Caller,
    session: &str,
    made: Made,
    typed: &[(String, String)],
) -> Result<Response, AppError> {
    let summary = state.core.account_summary(caller).await?;
    let chrome = Chrome::of(state, caller, session, &summary).await?;
    let links = state.core.links(caller).await?;
    let clients = state.core.clients(caller).await?;
    let now = state.core.clock.now();
    let mut logs = Vec::new();
    for link in &links {
        logs.push(state.core.link_uses(caller, link.id).await?);
    }
    let errors = match &made {
        Made::Refused(errors) => errors.clone(),
        _ => Vec::new(),
    };
    let typed_value = |name: &str| field(typed, name).unwrap_or_default().to_string();
    let ticked = |platform: Platform| {
        typed
            .iter()
            .any(|(k, v)| k == "platforms" && v == platform.as_str())
    };
    let chosen_client = typed_value("client_id");
    let new_link = match &made {
        Made::Link { what, url } => Some((what, url)),
        _ => None,
    };
    let body = html! {
        p { a href="/settings" { "← Settings" } }
        h1 { "Links for account owners" }
        p.lead { "Send a link to the person who owns the accounts: they connect them (or reconnect one, or see what you hold for them) without an account here and without giving you their password." }
        @if let Some((what, url)) = new_link {
            div.notice.success role="status" {
                p { (what) " Send this address to the account's owner; it is shown this once:" }
                p { code #new-link { (url) } " "
                    button.secondary.copy type="button" data-copy="new-link" hidden { "Copy link" } }
            }
        }
        @if !errors.is_empty() {
            p.notice.error role="alert" { "The link was not made: see the fields marked below." }
        }
        section aria-labelledby="connect-link-heading" {
            h2 #connect-link-heading { "Connect link" }
            form.stack method="post" action="/settings/links" {
                input type="hidden" name="csrf" value=(chrome.csrf);
                label for="client_id" { "Client (the accounts join this client)" }
                select #client_id name="client_id" aria-describedby=[described(&errors, "client_id")] {
                    option value="" { "No client" }
                    @for c in &clients {
                        @let id = c.client.id.to_string();
                        option value=(id) selected[chosen_client == id] { (c.client.name.as_str()) }
                    }
                }
                (field_error(&errors, "client_id"))
                fieldset aria-describedby=[described(&errors, "platforms")] {
                    legend { "Platforms offered (none ticked: all)" }
                    @for platform in Platform::ALL {
                        @let id = format!("platform-{platform}");
                        div.account-choice {
                            input type="checkbox" name="platforms" id=(id) value=(platform) checked[ticked(platform)];
                            label for=(id) { (platform_mark(platform, 18)) " " (platform.display_name()) }
                        }
                    }
                    (field_error(&errors, "platforms"))
                }
                label for="expires_in_days" { "Expires after (days, 1 to " (LINK_MAX_DAYS) ")" }
                input #expires_in_days type="number" name="expires_in_days" min="1" max=(LINK_MAX_DAYS)
                    value=(if typed_value("expires_in_days").is_empty() { LINK_DEFAULT_DAYS.to_string() } else { typed_value("expires_in_days") })
                    aria-describedby=[described(&errors, "expires_in_days")];
                (field_error(&errors, "expires_in_days"))
                div.account-choice {
                    input #reusable type="checkbox" name="reusable" value="yes" checked[typed_value("reusable") == "yes"];
                    label for="reusable" { "Usable for several connections until it expires (otherwise one connection uses it up)" }
                }
                label for="note" { "Note for the account's owner (optional)" }
                textarea #note name="note" rows="2" maxlength="500" aria-describedby=[described(&errors, "note")] { (typed_value("note")) }
                (field_error(&errors, "note"))
                button type="submit" { "Create connect link" }
            }
        }
        @if !clients.is_empty() {
            section aria-labelledby="access-link-heading" {
                h2 #access-link-heading { "Client access page" }
                p.muted { "A read-only page for a client: their accounts, the permissions granted and what each is used for, who connected them and when. They can reconnect an account or ask you to remove it." }
                form.stack method="post" action="/settings/links/access" {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    label for="access-client" { "Client" }
                    select #access-client name="client_id" {
                        @for c in &clients { option value=(c.client.id) { (c.client.name.as_str()) } }
                    }
                    button type="submit" { "Create access link" }
                }
            }
        }
        section aria-labelledby="links-heading" {
            h2 #links-heading { "Links made" }
            @if links.is_empty() { p.muted { "None yet." } }
            ul.links {
                @for (link, log) in links.iter().zip(&logs) {
                    @let state = LinkState::of(link, now);
                    li.link-item data-id=(link.id) data-state=(state.as_str()) {
                        strong { (link_purpose(link, &clients)) } " "
                        span class={ "tag link-" (state.as_str()) } { (state_label(state)) }
                        span.muted {
                            " · made " (local_time(link.created_at)) " · expires " (local_time(link.expires_at))
                            " · " (link.uses) " use(s)"
                            @if link.max_uses == Some(1) { " of 1" }
                        }
                        @if let Some(note) = &link.note { p.muted { "Note: " (note.as_str()) } }
                        @if state == LinkState::Active {
                            form.inline method="post" action={ "/settings/links/" (link.id) "/revoke" } {
                                input type="hidden" name="csrf" value=(chrome.csrf);
                                button.link type="submit" aria-label={ "Revoke: " (link_purpose(link, &clients)) } { "Revoke" }
                            }
                        }
                        @if !log.is_empty() {
                            details {
                                summary { "What was done through it (" (log.len()) ")" }
                                ol.link-log { @for entry in log { li { (local_time(entry.at)) " " (outcome_text(entry)) } } }
                            }
                        }
                    }
                }
            }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(app_page(status, "Links", Section::Settings, &chrome, body))
}

fn made(state: &AppState, what: &str, created: CreatedLink) -> Made {
    Made::Link {
        what: what.to_string(),
        url: format!("{}/l/{}", state.link_base(), created.token.expose_secret()),
    }
}

fn refusal(err: CoreError) -> Result<Made, AppError> {
    match err {
        CoreError::Validation(errors) => Ok(Made::Refused(
            errors.into_iter().map(|e| (e.field, e.message)).collect(),
        )),
        other => Err(other.into()),
    }
}

/// `GET /settings/links`.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
) -> Result<Response, AppError> {
    render(&state, &caller, &session, Made::Nothing, &[]).await
}

/// `POST /settings/links`: a connect link from the form.
pub async fn create(State(state): State<AppState>, sc: CheckedForm) -> Result<Response, AppError> {
    let fields = &sc.fields;
    let client_id = match field(fields, "client_id").filter(|v| !v.is_empty()) {
        Some(raw) => match raw.parse() {
            Ok(id) => Some(id),
            Err(_) => {
                let refused = Made::Refused(vec![(
                    "client_id".into(),
                    "Choose a client from the list.".into(),
                )]);
                return render(&state, &sc.caller, &sc.session, refused, fields).await;
            }
        },
        None => None,
    };
    let platforms: Vec<Platform> = fields
        .iter()
        .filter(|(k, _)| k == "platforms")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    let expires_in_days = match field(fields, "expires_in_days").filter(|v| !v.is_empty()) {
        Some(raw) => match raw.trim().parse::<u32>() {
            Ok(days) => Some(days),
            Err(_) => {
                let refused = Made::Refused(vec![(
                    "expires_in_days".into(),
                    format!("Must be a whole number of days from 1 to {LINK_MAX_DAYS}."),
                )]);
                return render(&state, &sc.caller, &sc.session, refused, fields).await;
            }
        },
        None => None,
    };
    let request = NewConnectLink {
        client_id,
        platforms,
        expires_in_days,
        single_use: Some(field(fields, "reusable") != Some("yes")),
        note: field(fields, "note").map(str::to_string),
    };
    let outcome = match state.core.create_connect_link(&sc.caller, request).await {
        Ok(created) => made(&state, "Connect link made.", created),
        Err(err) => refusal(err)?,
    };
    let typed: &[(String, String)] = if matches!(outcome, Made::Refused(_)) {
        fields
    } else {
        &[]
    };
    render(&state, &sc.caller, &sc.session, outcome, typed).await
}

/// `POST /settings/links/access`: a client's access link.
pub async fn create_access(
    State(state): State<AppState>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let client = crate::routes::clients::parse_client_id(
        field(&sc.fields, "client_id").unwrap_or_default(),
    )?;
    let outcome = match state
        .core
        .create_access_link(&sc.caller, client, None)
        .await
    {
        Ok(created) => made(&state, "Access link made.", created),
        Err(err) => refusal(err)?,
    };
    render(&state, &sc.caller, &sc.session, outcome, &[]).await
}

/// `POST /settings/links/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    state
        .core
        .revoke_link(&sc.caller, parse_link_id(&id)?)
        .await?;
    Ok(see_other("/settings/links"))
}

/// `POST /accounts/{id}/reconnect-request`: "Ask the owner to reconnect", from the account's page.
pub async fn reconnect_request(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let account = parse_id(&id)?;
    let note = field(&sc.fields, "note").filter(|n| !n.trim().is_empty());
    let outcome = match state
        .core
        .request_reconnect(&sc.caller, account, note, None)
        .await
    {
        Ok(created) => {
            let name = state.core.account(&sc.caller, account).await?.display_name;
            made(
                &state,
                &format!(
                    "Reconnect request for {name} made: it takes only that account's consent."
                ),
                created,
            )
        }
        Err(err) => refusal(err)?,
    };
    render(&state, &sc.caller, &sc.session, outcome, &[]).await
}
