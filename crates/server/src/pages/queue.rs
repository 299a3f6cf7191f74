//! Posting times of an account (`/accounts/{id}/queue`) or of a client (`/clients/{id}/queue`, which
//! each of its accounts without times of its own takes): written one per line ("Mon-Fri 09:00",
//! "Sat, Sun 11:30") in a time zone; "Add to queue" on the Posts page schedules at the next free one.

use super::auth::field;
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::{CheckedForm, PageCaller};
use crate::pages::see_other;
use crate::routes::accounts::parse_id;
use crate::routes::clients::parse_client_id;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_core::posts::QueueSpec;
use iquivity_core::{Caller, CoreError};
use iquivity_store::{QueueOwner, QueueRecord, QueueSlot};
use maud::html;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day(word: &str) -> Option<usize> {
    let word = word.trim().to_lowercase();
    DAYS.iter().position(|d| word.starts_with(d))
}

/// One line: days (`Mon`, `Mon-Fri`, `Sat, Sun`) and a time (`09:00`). `None` when it cannot be read.
fn slot_of(line: &str) -> Option<QueueSlot> {
    let (days, time) = line.trim().rsplit_once(char::is_whitespace)?;
    let mut chosen = Vec::new();
    for part in days.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once(['-', '–']) {
            Some((from, to)) => {
                let (from, to) = (day(from)?, day(to)?);
                if from > to {
                    return None;
                }
                chosen.extend(from..=to);
            }
            None => chosen.push(day(part)?),
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    (!chosen.is_empty()).then(|| QueueSlot {
        days: chosen.into_iter().map(|d| DAYS[d].to_string()).collect(),
        time: time.trim().to_string(),
    })
}

fn lines_of(queue: &QueueRecord) -> String {
    queue
        .slots
        .iter()
        .map(|s| format!("{} {}", s.days.join(", "), s.time))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whose times a page shows: its name, its own page, where the form posts, and what the times do.
struct Owner {
    name: String,
    page: String,
    action: String,
    lead: &'static str,
}

async fn owner_of(state: &AppState, caller: &Caller, owner: QueueOwner) -> Result<Owner, AppError> {
    Ok(match owner {
        QueueOwner::Account(id) => Owner {
            name: state.core.account(caller, id).await?.display_name,
            page: format!("/accounts/{id}"),
            action: format!("/accounts/{id}/queue"),
            lead: "\"Add to queue\" on the Posts page schedules a post at this account's next posting time that no other scheduled post holds. Without times of its own, an account takes its client's.",
        },
        QueueOwner::Client(id) => Owner {
            name: state.core.client(caller, id).await?.name.as_str().to_string(),
            page: format!("/?client={id}"),
            action: format!("/clients/{id}/queue"),
            lead: "Each account of this client that has no posting times of its own takes these: \"Add to queue\" schedules a post at the account's next one that no other scheduled post of it holds.",
        },
    })
}

async fn render(
    state: &AppState,
    caller: &Caller,
    session: &str,
    owner: QueueOwner,
    typed: Option<(&str, &str)>,
    error: Option<String>,
) -> Result<Response, AppError> {
    let about = owner_of(state, caller, owner).await?;
    let queue = state.core.queue(caller, owner).await?;
    let summary = state.core.account_summary(caller).await?;
    let chrome = Chrome::of(state, caller, session, &summary).await?;
    let (zone, lines) = match (typed, &queue) {
        (Some((zone, lines)), _) => (zone.to_string(), lines.to_string()),
        (None, Some(queue)) => (queue.time_zone.clone(), lines_of(queue)),
        (None, None) => (String::new(), "Mon-Fri 09:00\nMon-Fri 17:30".to_string()),
    };
    let body = html! {
        p { a href=(about.page) { "← " (about.name) } }
        h1 { "Posting times of " (about.name) }
        p.lead { (about.lead) }
        @if error.is_some() { p.notice.error role="alert" { "The posting times were not saved: see below." } }
        form.stack #queue-form method="post" action=(about.action) {
            input type="hidden" name="csrf" value=(chrome.csrf);
            label for="time_zone" { "Time zone (a name such as Europe/Berlin)" }
            input #time_zone type="text" name="time_zone" value=(zone) required autocomplete="off";
            label for="slots" { "Posting times, one per line: days and a time (Mon-Fri 09:00, Sat, Sun 11:30)" }
            textarea #slots name="slots" rows="6" required
                aria-describedby=[error.is_some().then_some("slots-error")] { (lines) }
            @if let Some(error) = &error { p.field-error #slots-error { (error) } }
            button type="submit" { "Save the posting times" }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(app_page(
        status,
        "Posting times",
        Section::Platforms,
        &chrome,
        body,
    ))
}

/// `GET /accounts/{id}/queue`.
pub async fn show(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let owner = QueueOwner::Account(parse_id(&id)?);
    render(&state, &caller, &session, owner, None, None).await
}

/// `GET /clients/{id}/queue`.
pub async fn show_client(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let owner = QueueOwner::Client(parse_client_id(&id)?);
    render(&state, &caller, &session, owner, None, None).await
}

/// `POST /accounts/{id}/queue`.
pub async fn save(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    save_for(state, QueueOwner::Account(parse_id(&id)?), sc).await
}

/// `POST /clients/{id}/queue`.
pub async fn save_client(
    State(state): State<AppState>,
    Path(id): Path<String>,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    save_for(state, QueueOwner::Client(parse_client_id(&id)?), sc).await
}

async fn save_for(
    state: AppState,
    owner: QueueOwner,
    sc: CheckedForm,
) -> Result<Response, AppError> {
    let zone = field(&sc.fields, "time_zone").unwrap_or_default();
    let lines = field(&sc.fields, "slots").unwrap_or_default();
    let mut slots = Vec::new();
    let mut unreadable = Vec::new();
    for line in lines.lines().filter(|l| !l.trim().is_empty()) {
        match slot_of(line) {
            Some(slot) => slots.push(slot),
            None => unreadable.push(line.trim().to_string()),
        }
    }
    let outcome = if unreadable.is_empty() {
        state
            .core
            .set_queue(
                &sc.caller,
                owner,
                QueueSpec {
                    time_zone: zone.to_string(),
                    slots,
                },
            )
            .await
            .map(|_| ())
    } else {
        Err(CoreError::invalid(
            "slots",
            format!(
                "these lines could not be read: {}; write days and a time, such as Mon-Fri 09:00",
                unreadable.join("; ")
            ),
        ))
    };
    match outcome {
        Ok(()) => Ok(see_other(&owner_of(&state, &sc.caller, owner).await?.page)),
        Err(CoreError::Validation(errors)) => {
            let said = errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join(" ");
            render(
                &state,
                &sc.caller,
                &sc.session,
                owner,
                Some((zone, lines)),
                Some(said),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_as_days_and_a_time() {
        let weekdays = slot_of("Mon-Fri 09:00").unwrap();
        assert_eq!(weekdays.days, ["mon", "tue", "wed", "thu", "fri"]);
        assert_eq!(weekdays.time, "09:00");
        let weekend = slot_of("Sat, Sun 11:30").unwrap();
        assert_eq!(weekend.days, ["sat", "sun"]);
        assert_eq!(slot_of("tuesday 08:15").unwrap().days, ["tue"]);
        assert!(slot_of("Fri-Mon 09:00").is_none());
        assert!(slot_of("09:00").is_none());
        assert!(slot_of("Funday 09:00").is_none());
    }
}
