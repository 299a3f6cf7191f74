//! What a person reads about an alert: one line, the same in the app's panel and in emails.

use iquivity_domain::{AccountStatus, AlertKind, Platform};
use iquivity_store::AlertRecord;

/// One line a person reads about an alert.
pub fn alert_text(alert: &AlertRecord) -> String {
    let account = &alert.payload["account"];
    let name = account["display_name"].as_str().unwrap_or("An account");
    let platform = account["platform"]
        .as_str()
        .and_then(|p| p.parse::<Platform>().ok())
        .map(|p| p.display_name())
        .unwrap_or("its platform");
    match alert.kind {
        AlertKind::Connected if account["connected_via_link"].is_string() => {
            format!("{name} on {platform} was connected by its owner through a connect link.")
        }
        AlertKind::Connected => format!("{name} on {platform} was connected."),
        AlertKind::RemovalRequested => format!(
            "{name} on {platform}: its owner asked, on the client's access page, that it be removed. Remove it, or talk it over with them."
        ),
        AlertKind::Recovered => format!("{name} on {platform} is working again."),
        AlertKind::Removed => format!("{name} on {platform} was removed."),
        AlertKind::PostsAtRisk => format!(
            "{name} on {platform} has posts scheduled within a day but is not Active: refresh it before then."
        ),
        AlertKind::Expiring => format!(
            "{name} on {platform} stops working soon and cannot be renewed automatically: refresh it before it expires."
        ),
        AlertKind::WebhookDisabled => {
            let host = alert.payload["webhook"]["host"].as_str().unwrap_or("its host");
            format!("A webhook to {host} failed for 3 days and was disabled: enable it in Settings once it works.")
        }
        AlertKind::StatusChanged => {
            let state = match account["status"].as_str().and_then(AccountStatus::parse) {
                Some(AccountStatus::Failed) => "has failed",
                Some(AccountStatus::Inactive) => "is inactive",
                Some(AccountStatus::Active) => "is active",
                None => "has changed",
            };
            let message = account["status_message"]
                .as_str()
                .unwrap_or_default()
                .replace('\n', " ");
            let advice = account["status_advice"].as_str().unwrap_or_default();
            format!("{name} on {platform} {state}. {message} {advice}")
                .trim()
                .to_string()
        }
    }
}
