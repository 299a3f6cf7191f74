//! Forgotten passwords (`/forgot-password`, `/reset-password`): plain forms that work without script.
//! The request page answers the same whether the email is registered or not.

use super::auth::{error_list, errors_of, field, form_again, SameOriginForm};
use super::page;
use crate::client_addr::ClientAddr;
use crate::pages::see_other;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_core::auth::RESET_TTL_MINUTES;
use maud::{html, Markup};

fn request_form(state: &AppState, email: &str, errors: &[(String, String)]) -> Markup {
    html! {
        h1 { "Forgot your password?" }
        (error_list(errors))
        @if !state.core.email_delivers() {
            p.notice role="status" { "Email is off on this server, so no link can be sent. Ask the person who runs it for a reset link." }
        }
        p { "Type the email you sign in with. If it belongs to an account, a link to choose a new password goes to it; the link works once, for " (RESET_TTL_MINUTES) " minutes." }
        form.stack method="post" action="/forgot-password" {
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="email" required value=(email);
            button type="submit" { "Send the link" }
        }
        p { a href="/login" { "Back to sign in" } }
    }
}

/// `GET /forgot-password`.
pub async fn request_page(State(state): State<AppState>) -> Response {
    page(
        StatusCode::OK,
        "Forgot your password?",
        request_form(&state, "", &[]),
    )
}

/// `POST /forgot-password`: the same answer for every well-formed email.
pub async fn request(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    SameOriginForm(fields): SameOriginForm,
) -> Response {
    let email = field(&fields, "email").unwrap_or_default().trim();
    match state.core.request_password_reset(email, client).await {
        Ok(()) => page(
            StatusCode::OK,
            "Check your email",
            html! {
                h1 { "Check your email" }
                p role="status" { "If " strong { (email) } " belongs to an account, a link to choose a new password is on its way. It works once, for " (RESET_TTL_MINUTES) " minutes." }
                p { "Nothing after a few minutes? Look in the spam folder, or " a href="/forgot-password" { "ask again" } "." }
            },
        ),
        Err(err) => form_again(
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Forgot your password?",
            request_form(&state, email, &errors_of(&err)),
        ),
    }
}

fn token_of(raw: Option<&str>) -> String {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn reset_form(token: &str, sign_out: bool, errors: &[(String, String)]) -> Markup {
    html! {
        h1 { "Choose a new password" }
        (error_list(errors))
        form.stack method="post" action="/reset-password" {
            input type="hidden" name="token" value=(token);
            label for="password" { "New password (at least 10 characters)" }
            input #password type="password" name="password" autocomplete="new-password" minlength="10" maxlength="128" required;
            div.account-choice {
                input #sign_out_everywhere type="checkbox" name="sign_out_everywhere" value="1" checked[sign_out];
                label for="sign_out_everywhere" { "Sign out everywhere: end my other sessions and API tokens" }
            }
            button type="submit" { "Set the new password" }
        }
    }
}

/// `GET /reset-password?token=…`: the form; the token is checked when it is sent, once.
pub async fn reset_page(RawQuery(raw): RawQuery) -> Response {
    let mut response = page(
        StatusCode::OK,
        "Choose a new password",
        reset_form(&token_of(raw.as_deref()), false, &[]),
    );
    // The token is in this page's address: never sent on to another site.
    response.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `POST /reset-password`: sets the password and sends the person to sign in with it.
pub async fn reset(
    State(state): State<AppState>,
    SameOriginForm(fields): SameOriginForm,
) -> Response {
    let token = field(&fields, "token").unwrap_or_default();
    let password = field(&fields, "password").unwrap_or_default();
    let sign_out = field(&fields, "sign_out_everywhere").is_some();
    match state.core.reset_password(token, password, sign_out).await {
        Ok(()) => see_other("/login?reset=done"),
        Err(err) => form_again(
            &err,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a new password",
            reset_form(token, sign_out, &errors_of(&err)),
        ),
    }
}
