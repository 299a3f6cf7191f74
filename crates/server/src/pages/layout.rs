use crate::error::AppError;
use crate::AppState;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use iquivity_core::accounts::Summary;
use iquivity_core::Caller;
use iquivity_domain::Plan;
use iquivity_store::AlertRecord;
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
    /// The newest notifications, for the bell's drawer.
    pub alerts: Vec<AlertRecord>,
    pub unread: u32,
}

/// How many notifications the bell's drawer shows; the rest are on the history page.
const DRAWER_ALERTS: u32 = 8;

/// The part of the app a page belongs to, marked in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The accounts list itself, which the skip link leads to.
    AccountsList,
    Platforms,
    Posts,
    Calendar,
    Settings,
    Notifications,
}

impl Section {
    /// The navigation entry the page is under.
    fn nav(self) -> Section {
        match self {
            Section::AccountsList => Section::Platforms,
            other => other,
        }
    }

    /// Where the skip link leads: straight to the thing the page is for.
    fn skip_link(self) -> (&'static str, &'static str) {
        match self {
            Section::AccountsList => ("#accounts-heading", "Skip to the accounts list"),
            _ => ("#main", "Skip to content"),
        }
    }
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
            alerts: state.core.alerts(caller, None, DRAWER_ALERTS).await?,
            unread: state.core.unread_alerts(caller).await?,
        })
    }
}

/// A page for someone not signed in (sign-in, sign-up, errors).
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    render(status, title, None, html! { main #main { (body) } })
}

/// A page of the signed-in app, with the workspace header, the notification bell and the page script.
pub fn app_page(
    status: StatusCode,
    title: &str,
    section: Section,
    chrome: &Chrome,
    body: Markup,
) -> Response {
    let limit = chrome.plan.limits().max_accounts;
    let link = |href: &str, label: &str, of: Section| {
        html! { a href=(href) aria-current=[(of == section.nav()).then_some("page")] { (label) } }
    };
    let header = html! {
        nav aria-label="Main" {
            (link("/", "Platforms", Section::Platforms))
            (link("/posts", "Posts", Section::Posts))
            (link("/calendar", "Calendar", Section::Calendar))
            (link("/settings", "Settings", Section::Settings))
        }
        div.workspace {
            strong { (chrome.workspace) }
            a.plan href="/settings/plan" { (chrome.plan.as_str()) " plan" }
            span.usage {
                @match limit {
                    Some(max) => { (chrome.used) " of " (max) " accounts used" }
                    None => { (chrome.used) " accounts (unlimited)" }
                }
            }
        }
        (super::notifications::bell(chrome))
        div.user {
            span { (chrome.email) }
            form method="post" action="/logout" {
                input type="hidden" name="csrf" value=(chrome.csrf);
                button.link type="submit" { "Sign out" }
            }
        }
    };
    let (skip_to, skip_text) = section.skip_link();
    let skip = html! { a.skip-link href=(skip_to) { (skip_text) } };
    render(
        status,
        title,
        Some(AppChrome {
            skip,
            header,
            csrf: &chrome.csrf,
        }),
        html! { main #main.wide tabindex="-1" { (body) } },
    )
}

/// What a signed-in page adds around its content.
struct AppChrome<'a> {
    skip: Markup,
    header: Markup,
    csrf: &'a str,
}

fn render(status: StatusCode, title: &str, chrome: Option<AppChrome>, main: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · iQuivity Social" }
                link rel="stylesheet" href="/assets/app.css";
                link rel="icon" type="image/svg+xml" href="/assets/icon.svg";
                @if let Some(chrome) = &chrome {
                    meta name="csrf-token" content=(chrome.csrf);
                    script src="/assets/app.js" defer {}
                }
            }
            body {
                header.topbar {
                    @if let Some(chrome) = &chrome { (chrome.skip) }
                    a.brand href="/" { "iQuivity Social" }
                    @if let Some(chrome) = &chrome { (chrome.header) }
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
            "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self' http: https:",
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
