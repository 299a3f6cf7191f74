//! Sign-up, sign-in and sign-out pages (plain forms; they work without script).

use super::page;
use crate::client_addr::ClientAddr;
use crate::extract::{csrf_refused, SessionCaller, SessionCookie};
use crate::pages::see_other;
use crate::routes::auth::session_cookie_header;
use crate::AppState;
use axum::extract::{FromRequest, Path, RawForm, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use iquivity_core::auth::{NewSession, SignUp};
use iquivity_core::{CoreError, ErrorChain};
use maud::{html, Markup};
use secrecy::ExposeSecret;

pub(crate) fn form_fields(form: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(form).into_owned().collect()
}

pub(crate) fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The fields of a form that signs someone in or up: there is no session yet whose CSRF token it could
/// carry, so a post from another site is refused by its `Origin` instead (after the body is read, as for
/// every form).
pub(crate) struct SameOriginForm(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequest<S> for SameOriginForm {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let same = same_origin(req.headers());
        let RawForm(form) = RawForm::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !same {
            return Err(csrf_refused().into_response());
        }
        Ok(SameOriginForm(form_fields(&form)))
    }
}

/// A cross-site form post is refused: the `Origin` a browser sends must be this service's host.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host)
}

fn signed_in(state: &AppState, session: NewSession, to: &str) -> Response {
    let max_age = (session.expires_at - Utc::now()).num_seconds().max(0);
    let mut response = see_other(to);
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie_header(state, session.id.expose_secret(), max_age),
    );
    response
}

pub(crate) fn errors_of(err: &CoreError) -> Vec<(String, String)> {
    match err {
        CoreError::Validation(errors) => errors
            .iter()
            .map(|e| (e.field.clone(), e.message.clone()))
            .collect(),
        // What went wrong inside is for the log, not the page.
        CoreError::Internal { .. } => {
            tracing::error!(error = %ErrorChain(err), "internal error");
            vec![(
                String::new(),
                "something went wrong on our side; it has been logged".to_string(),
            )]
        }
        other => vec![(String::new(), other.to_string())],
    }
}

/// A sign-in or sign-up form shown again after `err`: answered 429 with `Retry-After` when the
/// attempt was refused by a limit, 500 when something failed inside, `otherwise` else.
pub(crate) fn form_again(
    err: &CoreError,
    otherwise: StatusCode,
    title: &str,
    form: Markup,
) -> Response {
    let status = match err {
        CoreError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        CoreError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        _ => otherwise,
    };
    let mut response = page(status, title, form);
    if let CoreError::RateLimited { retry_after_secs } = err {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(*retry_after_secs),
        );
    }
    response
}

pub(crate) fn error_list(errors: &[(String, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.notice.error role="alert" {
                ul { @for (field, message) in errors {
                    li { @if !field.is_empty() { strong { (field.replace('_', " ")) } ": " } (message) }
                } }
            }
        }
    }
}

fn signup_form(
    email: &str,
    workspace: &str,
    invitation: Option<&str>,
    errors: &[(String, String)],
) -> Markup {
    html! {
        h1 { @if invitation.is_some() { "Join your team on iQuivity Social" } @else { "Create your account" } }
        (error_list(errors))
        form.stack method="post" action="/signup" {
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="email" required value=(email);
            label for="password" { "Password (at least 10 characters)" }
            input #password type="password" name="password" autocomplete="new-password" minlength="10" maxlength="128" required;
            @if let Some(code) = invitation {
                input type="hidden" name="invitation" value=(code);
            } @else {
                label for="workspace_name" { "Workspace name (your agency or team)" }
                input #workspace_name type="text" name="workspace_name" maxlength="100" required value=(workspace);
            }
            button type="submit" { "Sign up" }
        }
        @if invitation.is_none() { p { "Already have an account? " a href="/login" { "Sign in" } } }
    }
}

fn login_form(email: &str, errors: &[(String, String)]) -> Markup {
    html! {
        h1 { "Sign in" }
        (error_list(errors))
        form.stack method="post" action="/login" {
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="email" required value=(email);
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button type="submit" { "Sign in" }
        }
        p { a href="/forgot-password" { "Forgot your password?" } }
        p { "New here? " a href="/signup" { "Create an account" } }
    }
}

pub async fn signup_page() -> Response {
    page(StatusCode::OK, "Sign up", signup_form("", "", None, &[]))
}

/// `GET /invitations/{code}`: a new person signs up through it; a signed-in person joins with one click.
pub async fn invitation_page(
    State(state): State<AppState>,
    caller: Result<SessionCaller, crate::AppError>,
    Path(code): Path<String>,
) -> Response {
    let preview = match state.core.invitation_preview(&code).await {
        Ok(preview) => preview,
        Err(err) => {
            return page(
                StatusCode::NOT_FOUND,
                "Invitation",
                html! {
                    h1 { "This invitation cannot be used" }
                    (error_list(&errors_of(&err)))
                    p { "Ask the person who invited you for a new link." }
                },
            )
        }
    };
    let role = match preview.role {
        iquivity_domain::Role::Admin => "an admin (connects, relabels and removes accounts)",
        _ => "a member (views and refreshes accounts)",
    };
    let offer = html! {
        p.lead { "You are invited to join " strong { (preview.workspace_name) } " as " (role) "." }
    };
    if let Ok(caller) = caller {
        return page(
            StatusCode::OK,
            "Join a workspace",
            html! {
                h1 { "Join " (preview.workspace_name) }
                (offer)
                p { "You are signed in as " strong { (caller.caller.email) } "." }
                form method="post" action={ "/invitations/" (code) "/accept" } {
                    input type="hidden" name="csrf" value=(super::csrf_token(&caller.session));
                    button type="submit" { "Join " (preview.workspace_name) }
                }
            },
        );
    }
    page(
        StatusCode::OK,
        "Join a workspace",
        html! {
            (signup_form(preview.email.as_deref().unwrap_or_default(), "", Some(&code), &[]))
            (offer)
            p.muted { "Already have an account? " a href="/login" { "Sign in" } ", then open this link again to join." }
        },
    )
}

/// `POST /invitations/{code}/accept`: the signed-in person joins; the session moves to that workspace.
pub async fn accept_invitation(
    State(state): State<AppState>,
    session_caller: SessionCaller,
    Path(code): Path<String>,
    RawForm(form): RawForm,
) -> Response {
    if let Err(refused) = session_caller.check_form(field(&form_fields(&form), "csrf")) {
        return refused.into_response();
    }
    match state
        .core
        .accept_invitation(session_caller.caller.user_id, &code)
        .await
    {
        Ok(session) => signed_in(&state, session, "/"),
        Err(err) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Join a workspace",
            html! { h1 { "Could not join" } (error_list(&errors_of(&err))) p { a href="/" { "Back to your workspace" } } },
        ),
    }
}

pub async fn signup(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SameOriginForm(fields): SameOriginForm,
) -> Response {
    let email = field(&fields, "email").unwrap_or_default();
    let workspace = field(&fields, "workspace_name");
    let invitation = field(&fields, "invitation");
    let result = state
        .core
        .sign_up(SignUp {
            email,
            password: field(&fields, "password").unwrap_or_default(),
            workspace_name: workspace,
            invitation,
            client,
        })
        .await;
    match result {
        Ok(session) => signed_in(&state, session, "/"),
        Err(err) => form_again(
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sign up",
            signup_form(
                email,
                workspace.unwrap_or_default(),
                invitation,
                &errors_of(&err),
            ),
        ),
    }
}

/// `GET /login`; after a password reset (`?reset=done`) it says the new password is set.
pub async fn login_page(axum::extract::RawQuery(raw): axum::extract::RawQuery) -> Response {
    let reset = raw.as_deref() == Some("reset=done");
    page(
        StatusCode::OK,
        "Sign in",
        html! {
            @if reset { p.notice role="status" { "Your new password is set: sign in with it." } }
            (login_form("", &[]))
        },
    )
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SameOriginForm(fields): SameOriginForm,
) -> Response {
    let email = field(&fields, "email").unwrap_or_default();
    let password = field(&fields, "password").unwrap_or_default();
    match state.core.log_in(email, password, client, None).await {
        Ok(session) => signed_in(&state, session, "/"),
        Err(err) => {
            let otherwise = match err {
                CoreError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::UNAUTHORIZED,
            };
            form_again(
                &err,
                otherwise,
                "Sign in",
                login_form(email, &errors_of(&err)),
            )
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    SessionCookie(session): SessionCookie,
    caller: Result<SessionCaller, crate::AppError>,
    RawForm(form): RawForm,
) -> Response {
    if let (Ok(caller), Some(session)) = (caller, session) {
        let fields = form_fields(&form);
        if let Err(refused) = caller.check_form(field(&fields, "csrf")) {
            return refused.into_response();
        }
        if let Err(err) = state.core.log_out(&session).await {
            return crate::AppError::from(err).into_response();
        }
    }
    let mut response = see_other("/login");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie_header(&state, "", 0));
    response
}
