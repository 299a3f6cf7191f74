//! The plan page (`/settings/plan`): the workspace's plan, its limits, and the use of each. Owners read how
//! the plan is changed on a self-hosted install; everyone else reads whom to ask.

use super::layout::{Chrome, Section};
use super::{app_page, icons::platform_mark};
use crate::error::AppError;
use crate::extract::PageCaller;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use iquivity_domain::{Plan, Platform, Role};
use maud::{html, Markup};

fn limit_text(limit: Option<u32>) -> String {
    limit.map_or_else(|| "unlimited".to_string(), |max| max.to_string())
}

/// Every plan's limits side by side, the workspace's own marked.
fn plans_table(current: Plan) -> Markup {
    html! {
        table.plans {
            caption { "The plans" }
            thead { tr { th scope="col" { "Plan" } th scope="col" { "Accounts in all" } th scope="col" { "Accounts per platform" } } }
            tbody {
                @for plan in Plan::ALL {
                    @let limits = plan.limits();
                    tr class=[(plan == current).then_some("current")] {
                        th scope="row" { (plan.as_str()) @if plan == current { " (this workspace)" } }
                        td { (limit_text(limits.max_accounts)) }
                        td { (limit_text(limits.max_accounts_per_platform)) }
                    }
                }
            }
        }
    }
}

/// `GET /settings/plan`.
pub async fn index(
    State(state): State<AppState>,
    PageCaller { caller, session }: PageCaller,
) -> Result<Response, AppError> {
    let summary = state.core.account_summary(&caller).await?;
    let chrome = Chrome::of(&state, &caller, &session, &summary).await?;
    let members = state.core.members(&caller).await?;
    let owners: Vec<&str> = members
        .iter()
        .filter(|(_, _, role)| *role == Role::Owner)
        .map(|(_, email, _)| email.as_str())
        .collect();
    let plan = summary.plan.name;
    let limits = plan.limits();
    let body = html! {
        p { a href="/settings" { "← Settings" } }
        h1 { "Plan: " (plan.as_str()) }
        dl.details {
            dt { "Accounts in use" }
            dd {
                @match limits.max_accounts {
                    Some(max) => { (summary.counts.total) " of " (max) }
                    None => { (summary.counts.total) " (no limit)" }
                }
            }
            dt { "Accounts per platform" }
            dd { (limit_text(limits.max_accounts_per_platform)) }
        }
        h2 { "Use per platform" }
        table.usage {
            caption.visually-hidden { "Accounts connected on each platform" }
            thead { tr { th scope="col" { "Platform" } th scope="col" { "Connected" } th scope="col" { "Room left" } } }
            tbody {
                @for platform in Platform::ALL {
                    @let used = summary.per_platform.get(&platform).map(|c| c.total).unwrap_or(0);
                    @let room = plan.check_room(platform, summary.counts.total, used);
                    tr data-platform=(platform) {
                        th scope="row" { (platform_mark(platform, 20)) " " (platform.display_name()) }
                        td { (used) @if let Some(max) = limits.max_accounts_per_platform { " of " (max) } }
                        td { @if room.is_ok() { "Room for more" } @else { strong { "Limit reached" } } }
                    }
                }
            }
        }
        h2 { "Changing the plan" }
        @if caller.role.can_invite() {
            p { "This is a self-hosted install: the operator of the server changes a workspace's plan with" }
            pre { code { "iquivity workspace set-plan " (caller.workspace_id) " PLAN" } }
            p { "where PLAN is " code { "free" } ", " code { "starter" } ", " code { "professional" } " or " code { "enterprise" } ". The change applies at once; removing accounts is never needed to move up." }
        } @else {
            p {
                "Only the workspace's owner can have the plan changed: ask "
                @if owners.is_empty() { "the owner" } @else { (owners.join(" or ")) }
                "."
            }
        }
        (plans_table(plan))
    };
    Ok(app_page(
        StatusCode::OK,
        "Plan",
        Section::Settings,
        &chrome,
        body,
    ))
}
