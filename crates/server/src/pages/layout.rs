use crate::error::AppError;
use crate::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::accounts::Summary;
use iquivity_core::Caller;
use iquivity_domain::Plan;
use maud::{html, Markup, DOCTYPE};
use sha2::{Digest, Sha256};

pub const ASSETS_CSS: &str = include_str!("../../assets/app.css");
pub const ASSETS_JS: &str = include_str!("../../assets/app.js");
pub const ASSETS_ICON: &str = include_str!("../../assets/icon.svg");

/// The CSRF token of a session: derived from the session id, so it needs no storage and changes with it.
pub fn csrf_token(session_id: &str) -> String {
    Sha256::digest(format!("iquivity-csrf:{session_id}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the header shows to a signed-in person.
pub struct Chrome {
    pub workspace: String,
    pub email: String,
    pub plan: Plan,
    pub used: u32,
    pub csrf: String,
}

impl Chrome {
    /// The header of `caller`'s pages, with the plan's use from `summary`.
    pub async fn of(
        state: &AppState,
        caller: &Caller,
        session: &str,
        summary: &Summary,
    ) -> Result<Chrome, AppError> {
        Ok(Chrome {
            workspace: state.core.workspace_name(caller).await?,
            email: caller.email.clone(),
            plan: summary.plan.name,
            used: summary.plan.used,
            csrf: csrf_token(session),
        })
    }
}

/// A page for someone not signed in (sign-in, sign-up, errors).
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    render(status, title, None, html! { main { (body) } })
}

/// A page of the signed-in app, with the workspace header and the page script.
pub fn app_page(status: StatusCode, title: &str, chrome: &Chrome, body: Markup) -> Response {
    let limit = chrome.plan.limits().max_accounts;
    let header = html! {
        nav aria-label="Main" { a href="/" { "Platforms" } " " a href="/posts" { "Posts" } " " a href="/settings" { "Settings" } }
        div.workspace {
            strong { (chrome.workspace) }
            span.plan { (chrome.plan.as_str()) " plan" }
            span.usage {
                @match limit {
                    Some(max) => { (chrome.used) " of " (max) " accounts used" }
                    None => { (chrome.used) " accounts (unlimited)" }
                }
            }
        }
        div.user {
            span { (chrome.email) }
            form method="post" action="/logout" {
                input type="hidden" name="csrf" value=(chrome.csrf);
                button.link type="submit" { "Sign out" }
            }
        }
    };
    render(
        status,
        title,
        Some((header, &chrome.csrf)),
        html! { main.wide { (body) } },
    )
}

fn render(
    status: StatusCode,
    title: &str,
    chrome: Option<(Markup, &str)>,
    main: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · iQuivity Social" }
                link rel="stylesheet" href="/assets/app.css";
                link rel="icon" type="image/svg+xml" href="/assets/icon.svg";
                @if let Some((_, csrf)) = &chrome {
                    meta name="csrf-token" content=(csrf);
                    script src="/assets/app.js" defer {}
                }
            }
            body {
                header.topbar {
                    a.brand href="/" { "iQuivity Social" }
                    @if let Some((header, _)) = &chrome { (header) }
                }
                (main)
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
