//! The pages a link opens, for the account's owner, who has no sign-in here: connect, reconnect and the
//! client's access page.
//!
//! They answer with `Referrer-Policy: no-referrer` (the token is in the address, and must not travel to
//! the platform or anywhere else in a `Referer`) and `Cache-Control: no-store`, and count against a
//! per-address allowance. Every refusal of a token is one page that does not say why.

use crate::client_addr::ClientAddr;
use crate::error::AppError;
use crate::extract::cookie;
use crate::pages::auth::{field, form_fields};
use crate::pages::connect::{render as render_flow, FlowRoutes};
use crate::pages::icons::{platform_icon, platform_mark};
use crate::pages::{csrf_token, page, seed_date};
use crate::pages::{local_time, local_time_or_never, see_other};
use crate::routes::accounts::parse_id;
use crate::AppState;
use axum::extract::{FromRequestParts, Path, RawForm, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use iquivity_core::links::{AccessView, LinkVisit};
use iquivity_core::CoreError;
use iquivity_domain::{AccountStatus, LinkKind, Platform};
use iquivity_store::FlowStage;
use maud::{html, Markup};

/// The cookie that carries a link's token from its page, through the platform's consent, to the page of
/// the outcome (the platform returns the person to the service's own callback, which does not name the
/// link). Only sent to `/l/`.
const LINK_COOKIE: &str = "iquivity_link";

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
    link_response(see_other(&format!("/l/flow/{flow}")))
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
                    dt { "Connected on" } dd { (local_time(account.created_at)) }
                    dt { "Last refreshed" } dd { (local_time_or_never(account.last_refreshed_at)) }
                    dt { "Last checked" } dd { (local_time_or_never(account.last_checked_at)) }
                    dt { "Last published to" } dd { (local_time_or_never(account.last_used_at)) }
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

/// A request to a link's page that its address's allowance admits. Counting happens as the request is
/// read, so no handler can forget it; over the allowance, the answer is the one refusal page.
pub struct Admitted;

impl FromRequestParts<AppState> for Admitted {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(addr) = ClientAddr::from_request_parts(parts, state).await;
        state
            .core
            .count_link_request(addr.0)
            .await
            .map_err(refused)?;
        Ok(Admitted)
    }
}

/// `GET /l/{token}`: the link's page.
pub async fn open(
    State(state): State<AppState>,
    _: Admitted,
    Path(token): Path<String>,
) -> Response {
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
    _: Admitted,
    Path(token): Path<String>,
    RawForm(form): RawForm,
) -> Response {
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
            let mut response = see_other(&started.authorize_url);
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
    _: Admitted,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match (carried_token(&headers), parse_flow(&id)) {
        (Some(token), Some(flow)) => flow_page(&state, &token, flow, None).await,
        _ => unusable(),
    }
}

/// `POST /l/flow/{id}/select`: connects what the link's holder chose.
pub async fn select(
    State(state): State<AppState>,
    _: Admitted,
    headers: HeaderMap,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Response {
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
    _: Admitted,
    Path(token): Path<String>,
    RawForm(form): RawForm,
) -> Response {
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
