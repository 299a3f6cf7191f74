//! Links for account owners. The agency's page (Settings → Links: make connect links and access links,
//! revoke them, read what was done through each) and the pages a link opens, which need no sign-in.
//!
//! A link's pages answer with `Referrer-Policy: no-referrer` (the token is in the address, and must not
//! travel to the platform or anywhere else in a `Referer`) and `Cache-Control: no-store`, and count
//! against a per-address allowance. Every refusal of a token is one page that does not say why.

use super::auth::{field, form_fields};
use super::connect::{render as render_flow, FlowRoutes};
use super::icons::{platform_icon, platform_mark};
use super::{app_page, csrf_token, page, seed_date, Chrome, Section};
use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::extract::{cookie, CheckedForm, PageCaller};
use crate::routes::accounts::parse_id;
use crate::routes::links::parse_link_id;
use crate::AppState;
use axum::extract::{Path, RawForm, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use iquivity_core::clients::ClientSummary;
use iquivity_core::links::{AccessView, CreatedLink, LinkState, LinkVisit, NewConnectLink};
use iquivity_core::{Caller, CoreError};
use iquivity_domain::{AccountStatus, LinkKind, Platform, LINK_DEFAULT_DAYS, LINK_MAX_DAYS};
use iquivity_store::{FlowStage, LinkOutcome, LinkRecord, LinkUseRecord};
use maud::{html, Markup};
use secrecy::ExposeSecret;

/// The cookie that carries a link's token from its page, through the platform's consent, to the page of
/// the outcome (the platform returns the person to the service's own callback, which does not name the
/// link). Only sent to `/l/`.
const LINK_COOKIE: &str = "iquivity_link";

// --- The pages a link opens ---------------------------------------------------------------------------

/// Marks a link page's answer: no `Referer` from it, and kept by no cache.
fn link_response(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn unusable() -> Response {
    link_response(page(
        StatusCode::NOT_FOUND,
        "Link not available",
        html! {
            h1 { "This link cannot be used" }
            p { "It may have expired, been used already, or been withdrawn by whoever sent it. Ask them for a new link." }
        },
    ))
}

/// A link page's answer to an error of the core: the one refusal page for anything about the link itself,
/// a page that says what happened otherwise (this service's failures say only that they happened).
pub(crate) fn refused(err: CoreError) -> Response {
    match err {
        CoreError::NotFound(_) => unusable(),
        CoreError::RateLimited { retry_after_secs } => {
            let mut response = link_response(page(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                html! {
                    h1 { "Too many requests" }
                    p { "This address has opened links here too often. Wait " (retry_after_secs / 60 + 1) " minutes and try again." }
                },
            ));
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        other => {
            let err: AppError = other.into();
            let problem = err.problem();
            let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            link_response(page(
                status,
                problem.title,
                html! {
                    h1 { (problem.title) }
                    p.notice.error role="alert" { (problem.detail) }
                },
            ))
        }
    }
}

/// After the platform's consent for a link: to the page of the outcome, which the link's cookie opens.
pub(crate) fn after_consent(flow: uuid::Uuid) -> Response {
    link_response(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/l/flow/{flow}"))],
        )
            .into_response(),
    )
}

fn link_cookie(state: &AppState, token: &str) -> HeaderValue {
    let secure = if state.settings.is_https() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{LINK_COOKIE}={token}; Path=/l; HttpOnly; SameSite=Lax; Max-Age=3600{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What the owner is told about withdrawing access, on every link page.
fn withdrawal(workspace: &str) -> Markup {
    html! {
        p.muted {
            "You sign in on the platform itself: " (workspace) " never sees your password. You can withdraw "
            (workspace) "'s access at any time in the platform's settings (apps and websites connected to your account)."
        }
    }
}

/// What one platform would let the agency do, from its descriptor.
fn permissions_of(platform: Platform) -> Markup {
    let info = iquivity_platforms::descriptor(platform).info();
    html! {
        details {
            summary { "What " (info.display_name) " will let them do" }
            ul { @for p in info.permissions { li { code { (p.scope) } ": " (p.purpose) } } }
        }
    }
}

fn connect_page(token: &str, visit: &LinkVisit) -> Markup {
    let workspace = &visit.workspace_name;
    html! {
        h1 { "Connect your accounts to " (workspace) }
        p.lead {
            (workspace) " asks you to connect your social media accounts"
            @if let Some(client) = &visit.client_name { " for " strong { (client) } }
            ", so that they can publish to them for you."
        }
        @if let Some(note) = &visit.link.note { blockquote.link-note { (note.as_str()) } }
        ul.link-platforms {
            @for platform in &visit.platforms {
                @let info = iquivity_platforms::descriptor(*platform).info();
                li {
                    form method="post" action={ "/l/" (token) "/start" } {
                        input type="hidden" name="platform" value=(platform);
                        button.add-tile type="submit" {
                            (platform_mark(*platform, 28))
                            span.add-text {
                                span.add-name { "Connect " (info.display_name) }
                                span.add-what { (info.connects) }
                            }
                        }
                    }
                    (permissions_of(*platform))
                }
            }
        }
        p.muted { "This link works until " (seed_date(visit.link.expires_at)) " UTC"
            @if visit.link.max_uses == Some(1) { ", for one connection" } "." }
        (withdrawal(workspace))
    }
}

fn reconnect_page(token: &str, visit: &LinkVisit) -> Markup {
    let workspace = &visit.workspace_name;
    html! {
        @if let Some(account) = &visit.account {
            @let name = account.platform.display_name();
            h1 { "Reconnect " (account.display_name) " on " (name) }
            p.lead {
                (workspace) " can no longer publish to " strong { (account.display_name) }
                @if let Some(handle) = &account.handle { " (@" (handle) ")" }
                " on " (name) ". Sign in on " (name) " as that account and allow access again; its history and scheduled posts are kept."
            }
            @if let Some(note) = &visit.link.note { blockquote.link-note { (note.as_str()) } }
            form method="post" action={ "/l/" (token) "/start" } {
                input type="hidden" name="platform" value=(account.platform);
                button type="submit" { (platform_mark(account.platform, 20)) " Reconnect on " (name) }
            }
            (permissions_of(account.platform))
            (withdrawal(workspace))
        }
    }
}

fn dated(at: Option<DateTime<Utc>>) -> Markup {
    html! {
        @match at {
            Some(at) => { time datetime=(at.to_rfc3339()) data-local { (seed_date(at)) " UTC" } }
            None => { "never" }
        }
    }
}

fn status_word(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Active => "Active",
        AccountStatus::Inactive => "Inactive: needs reconnecting",
        AccountStatus::Failed => "Failed: needs reconnecting",
    }
}

fn access_page(token: &str, view: &AccessView, notice: Option<&str>) -> Markup {
    let workspace = &view.workspace_name;
    html! {
        h1 { (view.client.name.as_str()) ": what " (workspace) " holds" }
        p.lead { "These are the accounts " (workspace) " manages for " (view.client.name.as_str()) ": what each lets them do, who connected it and when it was last used. This page is read-only." }
        @if let Some(notice) = notice { p.notice.success role="status" { (notice) } }
        @if view.accounts.is_empty() { p { "No accounts are connected for " (view.client.name.as_str()) "." } }
        @for entry in &view.accounts {
            @let account = &entry.account;
            article.access-account aria-labelledby={ "access-" (account.id) } {
                h2 id={ "access-" (account.id) } {
                    (platform_icon(account.platform, 24)) " " (account.display_name)
                    @if let Some(handle) = &account.handle { " " span.handle { "@" (handle) } }
                }
                dl.access-facts {
                    dt { "Status" } dd { (status_word(account.status)) }
                    dt { "Connected by" } dd { (entry.connected_by) }
                    dt { "Connected on" } dd { (dated(Some(account.created_at))) }
                    dt { "Last refreshed" } dd { (dated(account.last_refreshed_at)) }
                    dt { "Last checked" } dd { (dated(account.last_checked_at)) }
                    dt { "Last published to" } dd { (dated(account.last_used_at)) }
                }
                h3 { "Permissions" }
                ul.permissions {
                    @for (permission, granted) in &entry.permissions {
                        li {
                            code { (permission.scope) } ": " (permission.purpose) " "
                            @if *granted { span.tag { "granted" } } @else { span.tag.expiring { "not granted" } }
                        }
                    }
                }
                div.access-actions {
                    form.inline method="post" action={ "/l/" (token) "/start" } {
                        input type="hidden" name="platform" value=(account.platform);
                        input type="hidden" name="account" value=(account.id);
                        button.secondary type="submit" aria-label={ "Reconnect " (account.display_name) } { "Reconnect" }
                    }
                    form.inline method="post" action={ "/l/" (token) "/remove-request" } {
                        input type="hidden" name="account" value=(account.id);
                        button.secondary type="submit" aria-label={ "Ask " (workspace) " to remove " (account.display_name) } { "Ask to remove" }
                    }
                }
            }
        }
        (withdrawal(workspace))
    }
}

/// Counts the request against the address's allowance.
async fn admitted(state: &AppState, addr: &ClientAddr) -> Result<(), Response> {
    state.core.count_link_request(addr.0).await.map_err(refused)
}

/// `GET /l/{token}`: the link's page.
pub async fn open(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(token): Path<String>,
) -> Response {
    if let Err(response) = admitted(&state, &addr).await {
        return response;
    }
    let visit = match state.core.visit_link(&token).await {
        Ok(visit) => visit,
        Err(err) => return refused(err),
    };
    let body = match visit.link.kind {
        LinkKind::Connect => connect_page(&token, &visit),
        LinkKind::Reconnect => reconnect_page(&token, &visit),
        LinkKind::Access => match state.core.access_view(&token).await {
            Ok((_, view)) => access_page(&token, &view, None),
            Err(err) => return refused(err),
        },
    };
    link_response(page(StatusCode::OK, "Connect accounts", body))
}

/// `POST /l/{token}/start`: to the platform's consent, with the link's token kept in a cookie for the way
/// back.
pub async fn start(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(token): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    if let Err(response) = admitted(&state, &addr).await {
        return response;
    }
    let fields = form_fields(&form);
    let Some(platform) = field(&fields, "platform").and_then(|p| p.parse::<Platform>().ok()) else {
        return unusable();
    };
    let account = match field(&fields, "account").map(parse_id).transpose() {
        Ok(account) => account,
        Err(_) => return unusable(),
    };
    match state
        .core
        .start_link_connection(&token, platform, account)
        .await
    {
        Ok(started) => {
            let mut response = (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, started.authorize_url)],
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, link_cookie(&state, &token));
            link_response(response)
        }
        Err(err) => refused(err),
    }
}

/// The token the browser carries from the link's page.
fn carried_token(headers: &HeaderMap) -> Option<String> {
    cookie(headers, LINK_COOKIE).map(str::to_string)
}

fn link_routes(token: &str, flow: uuid::Uuid, workspace: &str) -> FlowRoutes {
    FlowRoutes {
        select: format!("/l/flow/{flow}/select"),
        try_again: format!("/l/{token}"),
        back_to_list: false,
        plan_owner: format!("{workspace}'s plan"),
    }
}

async fn flow_page(
    state: &AppState,
    token: &str,
    flow: uuid::Uuid,
    alert: Option<&str>,
) -> Response {
    let found = match state.core.link_connection(token, flow).await {
        Ok(found) => found,
        Err(err) => return refused(err),
    };
    let (view, room, workspace) = (&found.view, found.room, &found.workspace_name);
    if view.stage == FlowStage::Done {
        let name = view.platform.display_name();
        return link_response(page(
            StatusCode::OK,
            &format!("{name} connected"),
            html! {
                h1 { (name) " connected" }
                p.notice.success role="status" {
                    (found.connected.len()) " account(s) connected to " (workspace) ": " (found.connected.join(", ")) ". You can close this page."
                }
                (withdrawal(workspace))
                @if found.access_page_offered {
                    p { a href={ "/l/" (token) } { "Back to the list of your accounts" } }
                } @else {
                    p.muted { "To see what " (workspace) " holds for you later, ask them for your access page: it lists your accounts, what each permission is used for, and lets you ask for one to be removed." }
                }
            },
        ));
    }
    link_response(render_flow(
        view,
        &csrf_token(token),
        alert,
        room,
        &link_routes(token, flow, workspace),
    ))
}

fn parse_flow(raw: &str) -> Option<uuid::Uuid> {
    raw.parse().ok()
}

/// `GET /l/flow/{id}`: the outcome of a link's sign-in, or the choice of what to connect.
pub async fn flow(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(response) = admitted(&state, &addr).await {
        return response;
    }
    match (carried_token(&headers), parse_flow(&id)) {
        (Some(token), Some(flow)) => flow_page(&state, &token, flow, None).await,
        _ => unusable(),
    }
}

/// `POST /l/flow/{id}/select`: connects what the link's holder chose.
pub async fn select(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    if let Err(response) = admitted(&state, &addr).await {
        return response;
    }
    let (Some(token), Some(flow)) = (carried_token(&headers), parse_flow(&id)) else {
        return unusable();
    };
    let fields = form_fields(&form);
    if field(&fields, "csrf") != Some(csrf_token(&token).as_str()) {
        return unusable();
    }
    let chosen: Vec<String> = fields
        .into_iter()
        .filter(|(k, _)| k == "targets")
        .map(|(_, v)| v)
        .collect();
    match state.core.select_link_targets(&token, flow, &chosen).await {
        Ok(_) => after_consent(flow),
        Err(err @ (CoreError::PlanLimit(_) | CoreError::Validation(_))) => {
            let err: AppError = err.into();
            let problem = err.problem();
            let mut response = flow_page(&state, &token, flow, Some(&problem.detail)).await;
            *response.status_mut() =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            response
        }
        Err(err) => refused(err),
    }
}

/// `POST /l/{token}/remove-request`: "Ask to remove" on a client's access page.
pub async fn remove_request(
    State(state): State<AppState>,
    addr: ClientAddr,
    Path(token): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    if let Err(response) = admitted(&state, &addr).await {
        return response;
    }
    let fields = form_fields(&form);
    let Some(Ok(account)) = field(&fields, "account").map(parse_id) else {
        return unusable();
    };
    let asked = match state.core.request_removal(&token, account).await {
        Ok(account) => account,
        Err(err) => return refused(err),
    };
    match state.core.access_view(&token).await {
        Ok((_, view)) => {
            let notice = format!(
                "{} was told that you asked for {} to be removed. Removing it is up to them; you can also withdraw access on the platform yourself.",
                view.workspace_name, asked.display_name
            );
            link_response(page(
                StatusCode::OK,
                "Removal requested",
                access_page(&token, &view, Some(&notice)),
            ))
        }
        Err(err) => refused(err),
    }
}

// --- The agency's page: Settings → Links --------------------------------------------------------------

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
                            " · made " (dated(Some(link.created_at))) " · expires " (dated(Some(link.expires_at)))
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
                                ol.link-log { @for entry in log { li { (dated(Some(entry.at))) " " (outcome_text(entry)) } } }
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
    Ok((
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/settings/links")],
    )
        .into_response())
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
