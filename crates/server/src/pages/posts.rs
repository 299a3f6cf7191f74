//! The Posts page: compose once for several accounts (with each platform's character limit shown as one
//! types), publish now or at a time, and the list of posts with each account's result.

use super::auth::{field, form_fields};
use super::icons::platform_icon;
use super::{app_page, Chrome};
use crate::error::AppError;
use crate::extract::SessionCaller;
use crate::AppState;
use axum::extract::{RawForm, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use iquivity_core::posts::NewPost;
use iquivity_core::{Caller, CoreError};
use iquivity_domain::{Account, Platform};
use iquivity_store::{MediaRecord, PostRecord, TargetState};
use maud::{html, Markup};

fn limit_of(platform: Platform) -> Option<usize> {
    match platform {
        Platform::X => Some(280),
        Platform::Linkedin => Some(3000),
        _ => None,
    }
}

async fn chrome(state: &AppState, caller: &Caller, session: &str) -> Result<Chrome, AppError> {
    let summary = state.core.account_summary(caller).await?;
    Ok(Chrome {
        workspace: state.core.workspace_name(caller).await?,
        email: caller.email.clone(),
        plan: summary.plan.name,
        used: summary.plan.used,
        csrf: super::csrf_token(session),
    })
}

fn state_label(state: TargetState) -> &'static str {
    match state {
        TargetState::Scheduled => "Scheduled",
        TargetState::Publishing => "Publishing",
        TargetState::Published => "Published",
        TargetState::Failed => "Failed",
        TargetState::Cancelled => "Cancelled",
    }
}

fn compose(accounts: &[Account], csrf: &str, errors: &[String]) -> Markup {
    html! {
        section aria-labelledby="compose-heading" {
            h2 #compose-heading { "New post" }
            @if !errors.is_empty() {
                div.notice.error role="alert" { ul { @for e in errors { li { (e) } } } }
            }
            form #compose.stack.wide-form method="post" action="/posts" {
                input type="hidden" name="csrf" value=(csrf);
                label for="text" { "Text" }
                textarea #text name="text" rows="5" required maxlength="5000" {}
                p #counters.muted aria-live="polite" {}
                label for="link" { "Link (optional)" }
                input #link type="url" name="link" placeholder="https://";
                label for="media_url" { "Image or video URL (optional; Instagram and TikTok need one)" }
                input #media_url type="url" name="media_url" placeholder="https://cdn.example.com/picture.jpg";
                label for="media_file" { "…or upload one (up to 50 MB)" }
                input #media_file type="file" accept="image/jpeg,image/png,image/gif,image/webp,video/mp4,video/quicktime";
                p #upload-status.muted aria-live="polite" {}
                fieldset {
                    legend { "Accounts" }
                    @if accounts.is_empty() { p.muted { "No active account can receive posts yet. " a href="/" { "Connect one" } "." } }
                    @for account in accounts {
                        @let id = format!("account-{}", account.id);
                        div.account-choice {
                            input type="checkbox" name="accounts" id=(id) value=(account.id)
                                data-platform=(account.platform) data-limit=[limit_of(account.platform)];
                            label for=(id) { (platform_icon(account.platform, 18)) " " (account.display_name) }
                        }
                    }
                }
                label for="publish_at" { "Publish at (leave empty to publish now; your local time)" }
                input #publish_at type="datetime-local" name="publish_at";
                input #tz type="hidden" name="tz" value="0";
                button type="submit" { "Publish" }
            }
        }
    }
}

fn post_list(posts: &[PostRecord], names: &[(iquivity_domain::AccountId, String)]) -> Markup {
    html! {
        section aria-labelledby="posts-heading" {
            h2 #posts-heading { "Posts" }
            @if posts.is_empty() { p.muted { "No posts yet." } }
            ol.posts {
                @for post in posts {
                    li.post data-id=(post.id) {
                        p.post-text { (post.text) }
                        p.muted { "Publish at " time datetime=(post.publish_at.to_rfc3339()) data-local { (post.publish_at.format("%b %d %Y, %H:%M")) " UTC" } }
                        ul.results {
                            @for target in &post.targets {
                                @let name = names.iter().find(|(id, _)| *id == target.account_id);
                                li class={ "result result-" (target.state.as_str()) } {
                                    (platform_icon(target.platform, 18)) " "
                                    (name.map(|(_, n)| n.as_str()).unwrap_or("a removed account")) ": "
                                    strong.result-state { (state_label(target.state)) }
                                    @if let Some(url) = &target.url { " " a href=(url) rel="noopener" { "view" } }
                                    @if let Some(message) = &target.error_message { span.reason { (message) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn render(
    state: &AppState,
    caller: &Caller,
    session: &str,
    errors: &[String],
    status: StatusCode,
) -> Result<Response, AppError> {
    let chrome = chrome(state, caller, session).await?;
    let active = state.core.postable_accounts(caller).await?;
    let names = state.core.account_names(caller).await?;
    let posts = state.core.posts(caller).await?;
    let body = html! {
        p { a href="/" { "← Platforms" } }
        h1 { "Posts" }
        (compose(&active, &chrome.csrf, errors))
        (post_list(&posts, &names))
    };
    let mut response = app_page(StatusCode::OK, "Posts", &chrome, body);
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /posts`.
pub async fn index(
    State(state): State<AppState>,
    caller: Result<SessionCaller, AppError>,
) -> Result<Response, AppError> {
    let Ok(SessionCaller { caller, session }) = caller else {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response());
    };
    render(&state, &caller, &session, &[], StatusCode::OK).await
}

/// `POST /posts` from the compose form.
pub async fn create(
    State(state): State<AppState>,
    session_caller: SessionCaller,
    RawForm(form): RawForm,
) -> Result<Response, AppError> {
    let fields = form_fields(&form);
    session_caller.check_form(field(&fields, "csrf"))?;
    let mut errors = Vec::new();
    let accounts = fields
        .iter()
        .filter(|(k, _)| k == "accounts")
        .filter_map(|(_, v)| {
            v.parse()
                .map_err(|_| errors.push(format!("{v:?} is not an account")))
                .ok()
        })
        .collect();
    let tz_minutes: i64 = field(&fields, "tz")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let publish_at: Option<DateTime<Utc>> =
        match field(&fields, "publish_at").filter(|v| !v.is_empty()) {
            None => None,
            Some(local) => match NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M") {
                Ok(at) => Some(at.and_utc() - chrono::Duration::minutes(tz_minutes)),
                Err(_) => {
                    errors.push("Publish at must be a date and time".into());
                    None
                }
            },
        };
    let media = field(&fields, "media_url")
        .filter(|u| !u.is_empty())
        .map(|url| {
            let lower = url.to_lowercase();
            let video = [".mp4", ".mov", ".webm"]
                .iter()
                .any(|ext| lower.ends_with(ext));
            vec![MediaRecord {
                url: url.to_string(),
                kind: if video { "video" } else { "image" }.to_string(),
            }]
        })
        .unwrap_or_default();
    if errors.is_empty() {
        let created = state
            .core
            .create_post(
                &session_caller.caller,
                NewPost {
                    text: field(&fields, "text").unwrap_or_default().to_string(),
                    link: field(&fields, "link")
                        .filter(|l| !l.is_empty())
                        .map(str::to_string),
                    media,
                    privacy_level: None,
                    accounts,
                    publish_at,
                },
            )
            .await;
        match created {
            Ok(_) => {
                return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/posts")]).into_response())
            }
            Err(CoreError::Validation(found)) => {
                errors.extend(found.into_iter().map(|e| e.message))
            }
            Err(other) => return Err(other.into()),
        }
    }
    render(
        &state,
        &session_caller.caller,
        &session_caller.session,
        &errors,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}
