//! The browser side of connecting: start, come back from the platform, choose Pages / organisations.

use super::{csrf_token, page};
use crate::error::AppError;
use crate::extract::{Authenticated, SessionCaller, SessionCookie};
use crate::pages::see_other;
use crate::routes::connections::parse_connection_id;
use crate::AppState;
use axum::extract::{Path, Query, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use iquivity_core::connections::{Callback, ConnectionView};
use iquivity_core::{Caller, CoreError};
use iquivity_domain::Platform;
use iquivity_store::FlowStage;
use maud::html;
use serde::Deserialize;

fn problem_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        html! {
            h1 { (title) }
            p.notice.error role="alert" { (message) }
            p { a href="/" { "Back to the Platforms page" } }
        },
    )
}

fn core_error_page(err: AppError) -> Response {
    let problem = err.problem();
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    problem_page(status, problem.title, &problem.detail)
}

/// The platform named in the path and the signed-in caller, or the page that says which is missing;
/// `signed_out` tells a person without a session what to do.
fn platform_and_caller(
    raw: &str,
    caller: Result<Authenticated, AppError>,
    signed_out: &str,
) -> Result<(Platform, Caller), Box<Response>> {
    let platform = raw.parse::<Platform>().map_err(|e| {
        Box::new(problem_page(
            StatusCode::NOT_FOUND,
            "Unknown platform",
            &e.message,
        ))
    })?;
    let Ok(Authenticated(caller)) = caller else {
        return Err(Box::new(problem_page(
            StatusCode::UNAUTHORIZED,
            "Sign in first",
            signed_out,
        )));
    };
    Ok((platform, caller))
}

/// `GET /connect/{platform}`: "Add New Account" in the browser.
pub async fn start(
    State(state): State<AppState>,
    caller: Result<Authenticated, AppError>,
    SessionCookie(session): SessionCookie,
    Path(platform): Path<String>,
) -> Response {
    let (platform, caller) = match platform_and_caller(
        &platform,
        caller,
        "Sign in to iQuivity Social, then add the account again.",
    ) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    match state
        .core
        .start_connection(&caller, session.as_deref(), platform, None)
        .await
    {
        Ok(started) => Redirect::to(&started.authorize_url).into_response(),
        Err(e) => core_error_page(e.into()),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /oauth/{platform}/callback`: the platform sends the person back here. A sign-in started from a
/// link (by an account's owner, without a session) finishes on the link's pages; any other needs the
/// session that started it.
pub async fn callback(
    State(state): State<AppState>,
    caller: Result<Authenticated, AppError>,
    SessionCookie(session): SessionCookie,
    Path(platform): Path<String>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    if let Ok(platform) = platform.parse::<Platform>() {
        let callback = Callback {
            platform,
            state: query.state.as_deref(),
            code: query.code.as_deref(),
            error: query.error.as_deref(),
            error_description: query.error_description.as_deref(),
        };
        match state.core.finish_link_connection(&callback).await {
            Ok(Some(flow)) => return super::links::after_consent(flow.id),
            Ok(None) => {}
            Err(err) => return super::links::refused(err),
        }
    }
    let (platform, caller) = match platform_and_caller(
        &platform,
        caller,
        "Your iQuivity session ended while you were on the platform. Sign in and add the account again.",
    ) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let finished = state
        .core
        .finish_connection(
            &caller,
            session.as_deref(),
            Callback {
                platform,
                state: query.state.as_deref(),
                code: query.code.as_deref(),
                error: query.error.as_deref(),
                error_description: query.error_description.as_deref(),
            },
        )
        .await;
    match finished {
        Ok(flow) => match (flow.stage, flow.connected.first()) {
            (FlowStage::Done, Some(account)) => {
                Redirect::to(&format!("/?connected={account}&connection={}", flow.id))
                    .into_response()
            }
            _ => Redirect::to(&format!("/connections/{}", flow.id)).into_response(),
        },
        Err(e) => core_error_page(e.into()),
    }
}

/// `GET /connections/{id}`: the outcome, or the choice of what to connect.
pub async fn show(
    State(state): State<AppState>,
    Authenticated(caller): Authenticated,
    SessionCookie(session): SessionCookie,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let view = state
        .core
        .connection(&caller, parse_connection_id(&id)?)
        .await?;
    let csrf = session.as_deref().map(csrf_token).unwrap_or_default();
    let room = state.core.room_on(&caller, view.platform).await?.left;
    Ok(render(&view, &csrf, None, room, &FlowRoutes::app(&view)))
}

/// Where a connection's page sends the person: the app's addresses, or (for an account's owner who
/// came through a link) the link's.
pub(crate) struct FlowRoutes {
    /// Where the choice is posted.
    pub select: String,
    /// Where to start again.
    pub try_again: String,
    /// Back to the app's list, for a signed-in person; nothing for a link's holder.
    pub back_to_list: bool,
    /// Whose plan the room is counted in: "Your plan", or the agency's.
    pub plan_owner: String,
}

impl FlowRoutes {
    fn app(view: &ConnectionView) -> Self {
        FlowRoutes {
            select: format!("/connections/{}/select", view.id),
            try_again: format!("/connect/{}", view.platform),
            back_to_list: true,
            plan_owner: "Your plan".into(),
        }
    }
}

/// The page of a connection, with an optional alert above it (a refused selection).
pub(crate) fn render(
    view: &ConnectionView,
    csrf: &str,
    alert: Option<&str>,
    room: Option<u32>,
    routes: &FlowRoutes,
) -> Response {
    // Pre-ticked: the new publishable choices the plan has room for, no more; choices already connected
    // take no room (choosing them updates them).
    let mut room_left = room;
    let pre_ticked: Vec<bool> = view
        .candidates
        .iter()
        .map(|c| {
            let eligible =
                c.unavailable.is_none() && c.connected_account_id.is_none() && c.publishable;
            match room_left.as_mut() {
                _ if !eligible => false,
                None => true,
                Some(0) => false,
                Some(left) => {
                    *left -= 1;
                    true
                }
            }
        })
        .collect();
    let name = view.platform.display_name();
    let platform = iquivity_platforms::descriptor(view.platform);
    let body = match view.stage {
        FlowStage::Failed => html! {
            h1 { "Could not connect " (name) }
            p.notice.error role="alert" { (view.error.as_deref().unwrap_or("The connection failed.")) }
            p {
                a.button href=(routes.try_again) { "Try again" }
                @if routes.back_to_list { " " a href="/" { "Back to the Platforms page" } }
            }
        },
        FlowStage::Done => html! {
            h1 { (name) " connected" }
            p.notice.success role="status" {
                (view.connected.len()) " account(s) connected. They are in your list with the status Active."
            }
            p { a.button href={ "/?connected=" (view.connected.first().map(|id| id.to_string()).unwrap_or_default()) } { "Go to the Platforms page" } }
        },
        FlowStage::Authorizing => html! {
            h1 { "Waiting for " (name) }
            p.notice { "Finish signing in on " (name) " in the window it opened, or " a href=(routes.try_again) { "start again" } "." }
        },
        FlowStage::Selecting => html! {
            h1 { "Choose what to connect from " (name) }
            @if let Some(alert) = alert { p.notice.error role="alert" { (alert) } }
            @if let Some(left) = room {
                p.notice { (routes.plan_owner) " has room for " (left) " more " (name) " account(s): choose up to " (left) " new one(s). Choosing one already connected updates it." }
            }
            form method="post" action=(routes.select) {
                input type="hidden" name="csrf" value=(csrf);
                ul.candidates {
                    @for (c, ticked) in view.candidates.iter().zip(&pre_ticked) {
                        @let input_id = format!("target-{}", c.platform_account_id);
                        li class=[c.unavailable.as_ref().map(|_| "unavailable")] {
                            @if c.unavailable.is_none() {
                                input type="checkbox" name="targets" id=(input_id) value=(c.platform_account_id)
                                    checked[*ticked];
                            }
                            label for=(input_id) {
                                strong { (c.display_name) }
                                @if let Some(handle) = &c.handle { " @" (handle) }
                                span.tag { (c.kind.as_str()) }
                                @if c.connected_account_id.is_some() { span.tag { "already connected: selecting it updates it" } }
                                @if !c.publishable && c.unavailable.is_none() {
                                    span.meta {
                                        "Connected for identity only"
                                        @if let Some(no) = platform.not_publishable(c.kind) { ": " (no.why) }
                                        "."
                                    }
                                }
                                @if let Some(why) = &c.unavailable { span.why { (why) } }
                            }
                        }
                    }
                }
                button type="submit" { "Connect selected" }
            }
        },
    };
    page(StatusCode::OK, &format!("Connect {name}"), body)
}

/// `POST /connections/{id}/select` from the choice form.
pub async fn select(
    State(state): State<AppState>,
    session_caller: SessionCaller,
    Path(id): Path<String>,
    RawForm(form): RawForm,
) -> Result<Response, AppError> {
    let id = parse_connection_id(&id)?;
    let fields = super::auth::form_fields(&form);
    session_caller.check_form(super::auth::field(&fields, "csrf"))?;
    let SessionCaller { caller, session } = session_caller;
    let session = Some(session);
    let targets: Vec<String> = fields
        .into_iter()
        .filter(|(k, _)| k == "targets")
        .map(|(_, v)| v)
        .collect();
    match state.core.select_targets(&caller, id, &targets).await {
        Ok(accounts) => {
            let to = match accounts.first() {
                Some(account) => format!("/?connected={}", account.id),
                None => format!("/connections/{id}"),
            };
            Ok(see_other(&to))
        }
        Err(e @ (CoreError::PlanLimit(_) | CoreError::Validation(_))) => {
            let err: AppError = e.into();
            let problem = err.problem();
            let view = state.core.connection(&caller, id).await?;
            let csrf = session.as_deref().map(csrf_token).unwrap_or_default();
            let room = state.core.room_on(&caller, view.platform).await?.left;
            let mut response = render(
                &view,
                &csrf,
                Some(&problem.detail),
                room,
                &FlowRoutes::app(&view),
            );
            *response.status_mut() =
                StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}
