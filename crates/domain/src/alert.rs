//! What a person (and each webhook) is told about an account, by kind.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of an alert: stored, sent as a webhook's event type, and shown, always as the documented
/// string (`account.connected`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AlertKind {
    #[serde(rename = "account.connected")]
    Connected,
    #[serde(rename = "account.status_changed")]
    StatusChanged,
    #[serde(rename = "account.recovered")]
    Recovered,
    /// A token that ends within days and cannot be renewed without the person.
    #[serde(rename = "account.expiring")]
    Expiring,
    #[serde(rename = "account.removed")]
    Removed,
    /// Posts are scheduled soon to an account that is not Active.
    #[serde(rename = "account.posts_at_risk")]
    PostsAtRisk,
}

impl AlertKind {
    pub const ALL: [AlertKind; 6] = [
        AlertKind::Connected,
        AlertKind::StatusChanged,
        AlertKind::Recovered,
        AlertKind::Expiring,
        AlertKind::Removed,
        AlertKind::PostsAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Connected => "account.connected",
            AlertKind::StatusChanged => "account.status_changed",
            AlertKind::Recovered => "account.recovered",
            AlertKind::Expiring => "account.expiring",
            AlertKind::Removed => "account.removed",
            AlertKind::PostsAtRisk => "account.posts_at_risk",
        }
    }

    /// The kind a stored string names, if any.
    pub fn parse(raw: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_written_read_and_serialised_as_its_documented_string() {
        for kind in AlertKind::ALL {
            assert_eq!(AlertKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::String(kind.as_str().into())
            );
            assert_eq!(
                serde_json::from_value::<AlertKind>(kind.as_str().into()).unwrap(),
                kind
            );
        }
        assert_eq!(AlertKind::parse("account.unknown"), None);
    }
}
