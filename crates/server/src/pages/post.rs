//! One post's page (`/posts/{id}`): each account's state, the platform's link and the failure with its
//! advice, and what can be done from it without script: move, edit or cancel what is still scheduled,
//! schedule a draft, duplicate, retry a failed account, its first comment or its thread, and delete what was
//! published where the platform allows it. Every refusal is said on the page with what was typed kept.

use super::auth::field;
use super::icons::platform_mark;
use super::posts::{parse_tz, state_label};
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::{local_time, see_other};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use iquivity_core::posts::{PostEdit, TargetRef};
use iquivity_core::{Caller, CoreError};
use iquivity_platforms::descriptor;
use iquivity_store::{CommentResult, PostRecord, TargetState};
use maud::html;

/// Where "back" may lead: a page of this service, never elsewhere.
fn back_to(raw: Option<&str>) -> String {
    raw.filter(|b| b.starts_with('/') && !b.starts_with("//"))
        .unwrap_or("/calendar")
        .to_string()
}

/// What was typed into a post's edit form, shown again when it is refused.
struct Typed {
    text: String,
    link: String,
    publish_at: String,
    tz: String,
}

async fn post_page(
    state: &AppState,
    caller: &Caller,
    session: &str,
    post: PostRecord,
    back: &str,
    problem: Option<String>,
    typed: Option<&Typed>,
) -> Result<Response, AppError> {
    let names = state
        .core
        .target_account_names(caller, std::slice::from_ref(&post))
        .await?;
    let summary = state.core.account_summary(caller).await?;
    let chrome = Chrome::of(state, caller, session, &summary).await?;
    let movable = post
        .targets
        .iter()
        .any(|t| t.state == TargetState::Scheduled);
    let mut draft_names = Vec::new();
    for id in post.draft_accounts.iter().flatten() {
        if let Ok(account) = state.core.account(caller, *id).await {
            draft_names.push(format!(
                "{} ({})",
                account.display_name,
                account.platform.display_name()
            ));
        }
    }
    let is_draft = post.draft_accounts.is_some();
    let can_manage = caller.role.can_manage_accounts();
    let name_of = |id| {
        names
            .iter()
            .find(|(n, _)| *n == id)
            .map(|(_, name)| name.as_str())
            .unwrap_or("an account")
    };
    let body = html! {
        p { a href=(back) { "← Back" } }
        h1 { @if is_draft { "Draft" } @else { "Post" } }
        @if let Some(problem) = &problem { p.notice.error role="alert" { (problem) } }
        p.post-text { (post.text) }
        @if let Some(link) = &post.link { p { "Link: " a href=(link) rel="noopener" { (link) } } }
        p.muted { "Publish at " (local_time(post.publish_at)) }
        h2 { "Accounts" }
        @if is_draft {
            p { "A draft reserves nothing and is never published until it is scheduled. For: " (draft_names.join(", ")) "." }
            @if can_manage {
                form.stack #schedule-draft method="post" action={ "/posts/" (post.id) "/publish" } {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    input type="hidden" name="back" value=(back);
                    input #tz type="hidden" name="tz" value="0";
                    label for="draft_publish_at" { "Publish at (leave empty to publish now; your local time)" }
                    input #draft_publish_at type="datetime-local" name="publish_at";
                    button type="submit" { "Schedule" }
                }
                form.inline method="post" action={ "/posts/" (post.id) "/cancel" } {
                    input type="hidden" name="csrf" value=(chrome.csrf);
                    input type="hidden" name="back" value="/posts";
                    button.secondary type="submit" { "Delete the draft" }
                }
            }
        }
        ul.results {
            @for target in &post.targets {
                li class={ "result result-" (target.state.as_str()) } {
                    (platform_mark(target.platform, 18)) " " (name_of(target.account_id)) " (" (target.platform.display_name()) "): "
                    strong.result-state { (state_label(target.state)) }
                    @if let Some(url) = &target.url { " " a href=(url) rel="noopener" { "view on " (target.platform.display_name()) } }
                    @if let Some(message) = &target.error_message { span.reason { (message) } }
                    @if let Some(at) = target.deleted_at {
                        " " span.tag { "Deleted from " (target.platform.display_name()) " " (local_time(at)) }
                    } @else if target.state == TargetState::Published && can_manage && descriptor(target.platform).deletes_posts {
                        form.inline method="post" action={ "/posts/" (post.id) "/targets/" (target.id) "/delete" } {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            input type="hidden" name="back" value=(back);
                            button.secondary type="submit" aria-label={ "Delete from " (target.platform.display_name()) " for " (name_of(target.account_id)) } { "Delete from " (target.platform.display_name()) }
                        }
                    }
                    @if !post.thread.is_empty() && target.state == TargetState::Published && descriptor(target.platform).threads {
                        @let out = target.thread.published.len() + 1;
                        @let total = post.thread.len() + 1;
                        " " span.tag { "Thread: " (out) " of " (total) " parts out" }
                        @if let Some(error) = &target.thread.error { span.reason { "The thread " (error) } }
                        @if can_manage && out < total {
                            form.inline method="post" action={ "/posts/" (post.id) "/targets/" (target.id) "/thread" } {
                                input type="hidden" name="csrf" value=(chrome.csrf);
                                input type="hidden" name="back" value=(back);
                                button.secondary type="submit" aria-label={ "Continue the thread on " (name_of(target.account_id)) } { "Continue the thread" }
                            }
                        }
                    }
                    @if post.first_comment.is_some() && target.state == TargetState::Published && descriptor(target.platform).first_comment {
                        @match &target.comment {
                            Some(CommentResult::Published { .. }) => { " " span.tag { "First comment added" } }
                            Some(CommentResult::Failed { message }) => { span.reason { "The first comment failed: " (message) } }
                            None => { span.reason { "The first comment was not added yet." } }
                        }
                        @if can_manage && !matches!(target.comment, Some(CommentResult::Published { .. })) {
                            form.inline method="post" action={ "/posts/" (post.id) "/targets/" (target.id) "/comment" } {
                                input type="hidden" name="csrf" value=(chrome.csrf);
                                input type="hidden" name="back" value=(back);
                                button.secondary type="submit" aria-label={ "Add the first comment on " (name_of(target.account_id)) } { "Add the first comment" }
                            }
                        }
                    }
                    @if target.state == TargetState::Failed && caller.role.can_manage_accounts() {
                        @if target.error_class.as_deref() == Some(UNKNOWN_OUTCOME) {
                            span.reason.warning { "It is not known whether this was published: look at the account on " (target.platform.display_name()) " first, since retrying may publish it twice." }
                        }
                        form.inline method="post" action={ "/posts/" (post.id) "/targets/" (target.id) "/retry" } {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            input type="hidden" name="back" value=(back);
                            button.secondary type="submit" aria-label={ "Retry on " (name_of(target.account_id)) } { "Retry" }
                        }
                    }
                }
            }
        }
        @if can_manage {
            form.inline method="post" action={ "/posts/" (post.id) "/duplicate" } {
                input type="hidden" name="csrf" value=(chrome.csrf);
                button.secondary type="submit" { "Duplicate as a new draft" }
            }
        }
        @if movable && can_manage {
            h2 { "Edit, move or cancel" }
            p.muted { "Editing is open while nothing of the post is published." }
            form.stack #reschedule method="post" action={ "/posts/" (post.id) "/reschedule" } {
                input type="hidden" name="csrf" value=(chrome.csrf);
                input type="hidden" name="back" value=(back);
                input #tz type="hidden" name="tz" value=(typed.map_or("0", |t| t.tz.as_str()));
                label for="edit_text" { "Text" }
                textarea #edit_text name="text" rows="4" maxlength="5000" required {
                    (typed.map_or(post.text.as_str(), |t| t.text.as_str()))
                }
                label for="edit_link" { "Link (optional)" }
                input #edit_link type="url" name="link"
                    value=(typed.map_or(post.link.as_deref().unwrap_or_default(), |t| t.link.as_str()));
                label for="publish_at" { "Time (your local time; UTC without script)" }
                @match typed {
                    // What was typed is already in the viewer's zone: the script leaves it as it is.
                    Some(t) => { input #publish_at type="datetime-local" name="publish_at" required value=(t.publish_at) data-typed="true"; }
                    None => { input #publish_at type="datetime-local" name="publish_at" required value=(post.publish_at.format("%Y-%m-%dT%H:%M")); }
                }
                button type="submit" { "Save the post" }
            }
            form.inline method="post" action={ "/posts/" (post.id) "/cancel" } {
                input type="hidden" name="csrf" value=(chrome.csrf);
                input type="hidden" name="back" value=(back);
                button.secondary type="submit" { "Cancel what is still scheduled" }
            }
        }
    };
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(app_page(status, "Post", Section::Calendar, &chrome, body))
}

/// The instant a form's local date and time (`datetime-local`) stand for, in the zone the page sent.
fn typed_instant(when: &str, tz: Option<&str>) -> Option<DateTime<Utc>> {
    let local = NaiveDateTime::parse_from_str(when, "%Y-%m-%dT%H:%M").ok()?;
    let tz = parse_tz(tz).ok()?;
    Some((local - Duration::minutes(tz)).and_utc())
}

/// `POST /posts/{id}/publish`: schedules a draft, at the form's time or now; refusals are said on its page.
pub async fn publish(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let id = post_id(&id)?;
    let back = back_to(field(&sc.fields, "back"));
    let when = field(&sc.fields, "publish_at").filter(|w| !w.is_empty());
    let at = match when {
        None => Ok(None),
        Some(when) => typed_instant(when, field(&sc.fields, "tz"))
            .map(Some)
            .ok_or_else(|| CoreError::invalid("publish_at", "must be a date and time")),
    };
    let outcome = match at {
        Ok(at) => state
            .core
            .publish_draft(&sc.caller, id, at)
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => Ok(see_other("/posts")),
        Err(CoreError::Validation(errors)) => {
            let message = said(errors);
            let post = state.core.post(&sc.caller, id).await?;
            post_page(
                &state,
                &sc.caller,
                &sc.session,
                post,
                &back,
                Some(message),
                None,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /posts/{id}/duplicate`: a new draft with the post's content, opened at once.
pub async fn duplicate(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let copy = state.core.duplicate_post(&sc.caller, post_id(&id)?).await?;
    let to = format!("/posts/{}?back=/posts", copy.id);
    Ok(see_other(&to))
}

/// The error class of a publish whose outcome nobody could tell (the request went out, no answer came).
const UNKNOWN_OUTCOME: &str = "unknown_outcome";

/// `POST /posts/{id}/targets/{target}/retry`: puts a failed target back on the schedule.
pub async fn retry(
    State(state): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let at = target_ref(&id, &target)?;
    state.core.retry_target(&sc.caller, at).await?;
    let back = back_to(field(&sc.fields, "back"));
    let to = format!(
        "/posts/{}?back={}",
        at.post,
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    Ok(see_other(&to))
}

/// `POST /posts/{id}/targets/{target}/thread`: the thread from where it stopped; a refusal is said on the
/// post's page.
pub async fn continue_thread(
    State(state): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let at = target_ref(&id, &target)?;
    let done = state.core.continue_thread_of(&sc.caller, at).await;
    after_target_action(&state, &sc, at.post, done).await
}

/// `POST /posts/{id}/targets/{target}/comment`: the first comment alone, again; a refusal is said on the
/// post's page.
pub async fn retry_comment(
    State(state): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let at = target_ref(&id, &target)?;
    let done = state.core.retry_comment(&sc.caller, at).await;
    after_target_action(&state, &sc, at.post, done).await
}

/// `POST /posts/{id}/targets/{target}/delete`: deletes what the target published, on its platform; a
/// refusal (the platform's, or one it does not allow) is said on the post's page.
pub async fn delete_published(
    State(state): State<AppState>,
    Path((id, target)): Path<(String, String)>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let at = target_ref(&id, &target)?;
    let done = state.core.delete_published(&sc.caller, at).await;
    after_target_action(&state, &sc, at.post, done).await
}

/// The post and target a `/posts/{id}/targets/{target}/…` address names; either unreadable is not found.
fn target_ref(post: &str, target: &str) -> Result<TargetRef, AppError> {
    Ok(TargetRef {
        post: post_id(post)?,
        target: target.parse().map_err(|_| AppError::not_found("target"))?,
    })
}

/// The post's page after an action on one of its targets: a refusal (the platform's, or one it does not
/// allow) is said on it.
async fn after_target_action(
    state: &AppState,
    sc: &CheckedForm,
    id: uuid::Uuid,
    done: Result<PostRecord, CoreError>,
) -> Result<Response, AppError> {
    let problem = match done {
        Ok(_) => None,
        Err(CoreError::Conflict(why)) => Some(why),
        Err(other) => return Err(other.into()),
    };
    let back = back_to(field(&sc.fields, "back"));
    let post = state.core.post(&sc.caller, id).await?;
    post_page(state, &sc.caller, &sc.session, post, &back, problem, None).await
}

fn post_id(raw: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse().map_err(|_| AppError::not_found("post"))
}

/// `GET /posts/{id}`: one post, each account's state, and (while something is scheduled) a form to move it.
pub async fn show(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let back = back_to(
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "back")
            .map(|(_, v)| v.into_owned())
            .as_deref(),
    );
    let post = state.core.post(&caller, post_id(&id)?).await?;
    post_page(&state, &caller, &session, post, &back, None, None).await
}

/// `POST /posts/{id}/reschedule`: the form's new time, in the viewer's zone.
pub async fn reschedule(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let id = post_id(&id)?;
    let back = back_to(field(&sc.fields, "back"));
    let when = field(&sc.fields, "publish_at").unwrap_or_default();
    let at = typed_instant(when, field(&sc.fields, "tz"));
    // The text and the link are on the form since it edits them too; a form without them moves only.
    let text = field(&sc.fields, "text").map(str::to_string);
    let link =
        field(&sc.fields, "link").map(|l| Some(l.trim().to_string()).filter(|l| !l.is_empty()));
    let outcome = match at {
        Some(at) => state
            .core
            .update_post(
                &sc.caller,
                id,
                PostEdit {
                    text: text.clone(),
                    link,
                    publish_at: Some(at),
                    ..PostEdit::default()
                },
            )
            .await
            .map(|_| ()),
        None => Err(CoreError::invalid("publish_at", "must be a date and time")),
    };
    match outcome {
        Ok(()) => Ok(see_other(&back)),
        Err(CoreError::Validation(errors)) => {
            let message = said(errors);
            let typed = Typed {
                text: text.unwrap_or_default(),
                link: field(&sc.fields, "link").unwrap_or_default().to_string(),
                publish_at: when.to_string(),
                tz: field(&sc.fields, "tz").unwrap_or("0").to_string(),
            };
            let post = state.core.post(&sc.caller, id).await?;
            post_page(
                &state,
                &sc.caller,
                &sc.session,
                post,
                &back,
                Some(message),
                Some(&typed),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// What a refusal says, field by field, on the post's page.
fn said(errors: Vec<iquivity_domain::ValidationError>) -> String {
    errors
        .into_iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `POST /posts/{id}/cancel`: cancels what is still scheduled.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let id = post_id(&id)?;
    state.core.cancel_post(&sc.caller, id).await?;
    let back = back_to(field(&sc.fields, "back"));
    Ok(see_other(&back))
}
