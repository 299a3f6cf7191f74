//! A refusal or failure on a page is a page: the problem the handler answered (problem+json, for the API)
//! is rendered as HTML for anything a browser navigates to, so a person never reads raw JSON.

use super::page;
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

/// The largest problem body read back: problems are small; anything larger is passed through.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;

/// Paths a script reads as JSON, whatever a browser sends: the API and the list fragments.
fn answers_json(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/fragments/")
}

pub async fn as_html(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if answers_json(&path) || !is_problem {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_PROBLEM_BYTES).await else {
        return (parts.status, "The request could not be completed.").into_response();
    };
    let Ok(problem) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let text = |key: &str| problem[key].as_str().unwrap_or_default().to_string();
    let title = match text("title") {
        t if t.is_empty() => "Something went wrong".to_string(),
        t => t,
    };
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or_default().to_string(),
                        e["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let status = parts.status;
    let mut rendered = page(
        status,
        &title,
        html! {
            h1 { (title) }
            p.notice.error role="alert" { (text("detail")) }
            @if !errors.is_empty() {
                ul { @for (field, message) in &errors { li { strong { (field) } ": " (message) } } }
            }
            @if status == StatusCode::INTERNAL_SERVER_ERROR && !text("request_id").is_empty() {
                p.muted { "If it happens again, quote this to the operator: " code { (text("request_id")) } }
            }
            p { a href="/" { "Back to your accounts" } }
        },
    );
    for (name, value) in parts.headers.iter() {
        if name == header::RETRY_AFTER || name == header::SET_COOKIE {
            rendered.headers_mut().append(name, value.clone());
        }
    }
    rendered
}
