use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};

pub const ASSETS_CSS: &str = include_str!("../../assets/app.css");

/// The CSRF token of a session: derived from the session id, so it needs no storage and changes with it.
pub fn csrf_token(session_id: &str) -> String {
    Sha256::digest(format!("iquivity-csrf:{session_id}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A whole page with the security headers every page carries.
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · iQuivity Social" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                header.topbar { a.brand href="/" { "iQuivity Social" } }
                main { (body) }
            }
        }
    };
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data: http: https:; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}
