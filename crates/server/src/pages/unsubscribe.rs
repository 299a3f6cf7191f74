//! `/unsubscribe/{token}`: the link in every alert email. Opening it shows a button (a mail scanner that
//! follows links must not unsubscribe anyone); pressing it, or a mail client's one-click POST
//! (`List-Unsubscribe-Post`), turns that kind of alert email off. No sign-in is needed: the token, sealed
//! by the service, names the member, the workspace and the kind.

use super::auth::{error_list, errors_of};
use super::page;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;

/// `GET /unsubscribe/{token}`.
pub async fn ask(Path(token): Path<String>) -> Response {
    page_with(
        StatusCode::OK,
        html! {
            h1 { "Stop these emails?" }
            p { "You will no longer be emailed about this kind of alert (or, from a daily digest, get the digest). You can turn it back on in Settings." }
            form method="post" action={ "/unsubscribe/" (token) } {
                button type="submit" { "Stop these emails" }
            }
        },
    )
}

fn page_with(status: StatusCode, body: maud::Markup) -> Response {
    let mut response = page(status, "Alert emails", body);
    response.headers_mut().insert(
        axum::http::header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `POST /unsubscribe/{token}`.
pub async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match state.core.unsubscribe(&token).await {
        Ok(kind) => page_with(
            StatusCode::OK,
            html! {
                h1 { "You are unsubscribed" }
                p role="status" {
                    @match kind {
                        Some(kind) => { "You will no longer be emailed about " code { (kind.as_str()) } " alerts." }
                        None => { "You will no longer get the daily digest." }
                    }
                }
                p { "To choose again, sign in and open " a href="/settings#alert-emails" { "Settings" } "." }
            },
        ),
        Err(err) => page_with(
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { h1 { "This link does not work" } (error_list(&errors_of(&err))) },
        ),
    }
}
