//! The calendar (`/calendar`): a month or a week of posts, one item per account, in the viewer's time zone
//! (the script sends its offset; without script the page says it shows UTC), filtered by client, platform
//! and account with a plain form. Each item opens the post's page (`/posts/{id}`, in `post.rs`), where a
//! form moves it to another time; with script, items are dragged to another day.

use super::icons::platform_mark;
use super::posts::{parse_tz, state_label};
use super::{app_page, Chrome, Section};
use crate::error::AppError;
use crate::extract::PageCaller;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use iquivity_core::clients::ClientSummary;
use iquivity_core::posts::{CalendarItem, CalendarQuery};
use iquivity_domain::{Account, Platform};
use iquivity_store::TargetState;
use maud::{html, Markup};
use std::collections::BTreeMap;

#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    Month,
    Week,
}

/// What the calendar page was asked for: every field optional, an empty one meaning "any" or "now".
struct Params {
    view: View,
    date: Option<NaiveDate>,
    /// The viewer's offset from UTC, in minutes.
    tz: i64,
    client: String,
    platform: String,
    account: String,
}

impl Params {
    fn parse(raw: Option<&str>) -> Self {
        let mut params = Params {
            view: View::Month,
            date: None,
            tz: 0,
            client: String::new(),
            platform: String::new(),
            account: String::new(),
        };
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                "view" if value == "week" => params.view = View::Week,
                "date" => params.date = NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok(),
                "tz" => params.tz = parse_tz(Some(&value)).unwrap_or(0),
                "client" => params.client = value.into_owned(),
                "platform" => params.platform = value.into_owned(),
                "account" => params.account = value.into_owned(),
                _ => {}
            }
        }
        params
    }

    /// The page's address with `date` (and `view`) changed and the rest kept.
    fn link(&self, view: View, date: NaiveDate) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("view", if view == View::Week { "week" } else { "month" });
        query.append_pair("date", &date.format("%Y-%m-%d").to_string());
        query.append_pair("tz", &self.tz.to_string());
        for (key, value) in [
            ("client", &self.client),
            ("platform", &self.platform),
            ("account", &self.account),
        ] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        format!("/calendar?{}", query.finish())
    }
}

/// The days a view shows: whole weeks from Monday, around the month or the week of `date`.
fn days_shown(view: View, date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let monday = |d: NaiveDate| d - Duration::days(i64::from(d.weekday().num_days_from_monday()));
    match view {
        View::Week => {
            let start = monday(date);
            (start, start + Duration::days(7))
        }
        View::Month => {
            let first = date.with_day(1).unwrap_or(date);
            let next_month = (first + Duration::days(32)).with_day(1).unwrap_or(first);
            let last = next_month - Duration::days(1);
            (monday(first), monday(last) + Duration::days(7))
        }
    }
}

fn local_midnight_utc(day: NaiveDate, tz: i64) -> DateTime<Utc> {
    (day.and_time(chrono::NaiveTime::MIN) - Duration::minutes(tz)).and_utc()
}

fn local(at: DateTime<Utc>, tz: i64) -> NaiveDateTime {
    at.naive_utc() + Duration::minutes(tz)
}

fn item(entry: &CalendarItem, tz: i64, back: &str) -> Markup {
    let at = local(entry.at, tz);
    let movable = entry.state == TargetState::Scheduled;
    html! {
        li class={ "cal-item state-" (entry.state.as_str()) @if entry.at_risk { " at-risk" } }
            draggable=[movable.then_some("true")] data-post=(entry.post_id) data-time=(at.format("%H:%M")) {
            a href={ "/posts/" (entry.post_id) "?back=" (url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()) } {
                (platform_mark(entry.platform, 16)) " "
                time datetime=(entry.at.to_rfc3339()) { (at.format("%H:%M")) } " "
                span.cal-account { (entry.account_name) }
                span.visually-hidden { ", " (entry.platform.display_name()) ", " (state_label(entry.state)) }
                @if entry.at_risk { span.visually-hidden { ", at risk: the account is not Active" } }
            }
        }
    }
}

fn filters(params: &Params, clients: &[ClientSummary], accounts: &[Account]) -> Markup {
    html! {
        form #calendar-filters.filters method="get" action="/calendar" aria-label="Calendar filters" {
            input type="hidden" name="view" value=(if params.view == View::Week { "week" } else { "month" });
            @if let Some(date) = params.date { input type="hidden" name="date" value=(date.format("%Y-%m-%d")); }
            input #calendar-tz type="hidden" name="tz" value=(params.tz);
            div {
                label for="cal-client" { "Client" }
                select #cal-client name="client" {
                    option value="" { "All clients" }
                    @for c in clients {
                        @let id = c.client.id.to_string();
                        option value=(id) selected[params.client == id] { (c.client.name.as_str()) }
                    }
                }
            }
            div {
                label for="cal-platform" { "Platform" }
                select #cal-platform name="platform" {
                    option value="" { "All platforms" }
                    @for p in Platform::ALL {
                        option value=(p) selected[params.platform == p.as_str()] { (p.display_name()) }
                    }
                }
            }
            div {
                label for="cal-account" { "Account" }
                select #cal-account name="account" {
                    option value="" { "All accounts" }
                    @for a in accounts {
                        @let id = a.id.to_string();
                        option value=(id) selected[params.account == id] { (a.display_name) " (" (a.platform.display_name()) ")" }
                    }
                }
            }
            div.filter-actions {
                button type="submit" { "Apply" }
                a href="/calendar" { "Clear" }
            }
        }
    }
}

/// `GET /calendar`.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, AppError> {
    let params = Params::parse(raw.as_deref());
    let today = local(state.core.clock.now(), params.tz).date();
    let date = params.date.unwrap_or(today);
    let (start, end) = days_shown(params.view, date);
    let query = CalendarQuery {
        from: local_midnight_utc(start, params.tz),
        to: local_midnight_utc(end, params.tz),
        clients: params.client.parse().into_iter().collect(),
        platforms: params.platform.parse().into_iter().collect(),
        accounts: params.account.parse().into_iter().collect(),
    };
    let calendar = state.core.calendar(&caller, &query).await?;
    let clients = state.core.clients(&caller).await?;
    let accounts = state.core.postable_accounts(&caller).await?;
    let summary = state.core.account_summary(&caller).await?;
    let chrome = Chrome::of(&state, &caller, &session, &summary).await?;
    let mut by_day: BTreeMap<NaiveDate, Vec<&CalendarItem>> = BTreeMap::new();
    for entry in &calendar.items {
        by_day
            .entry(local(entry.at, params.tz).date())
            .or_default()
            .push(entry);
    }
    let back = params.link(params.view, date);
    let (title, previous, next) = match params.view {
        View::Month => (
            date.format("%B %Y").to_string(),
            (date.with_day(1).unwrap_or(date) - Duration::days(1))
                .with_day(1)
                .unwrap_or(date),
            (date.with_day(1).unwrap_or(date) + Duration::days(32))
                .with_day(1)
                .unwrap_or(date),
        ),
        View::Week => (
            format!("Week of {}", start.format("%b %d %Y")),
            date - Duration::days(7),
            date + Duration::days(7),
        ),
    };
    let weeks: Vec<Vec<NaiveDate>> = start
        .iter_days()
        .take_while(|d| *d < end)
        .collect::<Vec<_>>()
        .chunks(7)
        .map(<[NaiveDate]>::to_vec)
        .collect();
    let zone = if params.tz == 0 {
        "UTC".to_string()
    } else {
        format!("UTC{:+03}:{:02}", params.tz / 60, (params.tz % 60).abs())
    };
    let body = html! {
        div.calendar-head {
            h1 { "Calendar: " (title) }
            nav.calendar-nav aria-label="Calendar" {
                a.button.secondary href=(params.link(params.view, previous)) { "← Previous" }
                a.button.secondary href=(params.link(params.view, today)) { "Today" }
                a.button.secondary href=(params.link(params.view, next)) { "Next →" }
                a href=(params.link(View::Month, date)) aria-current=[(params.view == View::Month).then_some("page")] { "Month" }
                a href=(params.link(View::Week, date)) aria-current=[(params.view == View::Week).then_some("page")] { "Week" }
            }
        }
        p.muted #calendar-zone { "Times are in " (zone) ". " a href="/posts" { "Write a post" } }
        (filters(&params, &clients, &accounts))
        @if calendar.truncated { p.notice role="status" { "This range holds more posts than one page shows; choose a week or filter it." } }
        p #calendar-status.visually-hidden aria-live="polite" {}
        div.table-wrap {
            table class={ "calendar" @if params.view == View::Week { " week" } } {
                caption.visually-hidden { "Posts by day, " (title) }
                thead { tr { @for name in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] { th scope="col" { (name) } } } }
                tbody {
                    @for week in &weeks {
                        tr {
                            @for day in week {
                                @let items = by_day.get(day).map(Vec::as_slice).unwrap_or_default();
                                @let at_risk = items.iter().any(|i| i.at_risk);
                                td data-date=(day.format("%Y-%m-%d"))
                                    class={ @if day.month() != date.month() && params.view == View::Month { "other-month " } @if *day == today { "today " } @if at_risk { "has-risk" } } {
                                    div.day-head {
                                        span.day-number { (day.format("%b %d")) }
                                        @if at_risk { span.tag.at-risk title="Posts are scheduled to an account that is not Active: refresh it first" { "at risk" } }
                                    }
                                    @if !items.is_empty() {
                                        ul.day-items { @for entry in items { (item(entry, params.tz, &back)) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(app_page(
        StatusCode::OK,
        "Calendar",
        Section::Calendar,
        &chrome,
        body,
    ))
}
