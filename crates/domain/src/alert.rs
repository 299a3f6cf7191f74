//! What a person (and each webhook) is told about an account or a webhook, by kind.

use crate::named_enum;

named_enum! {
    /// The kind of an alert: stored, sent as a webhook's event type, and shown, always as the documented
    /// string (`account.connected`, ...).
    #[derive(Hash)]
    pub enum AlertKind {
        Connected = "account.connected",
        StatusChanged = "account.status_changed",
        Recovered = "account.recovered",
        /// A token that ends within days and cannot be renewed without the person.
        Expiring = "account.expiring",
        Removed = "account.removed",
        /// Posts are scheduled soon to an account that is not Active.
        PostsAtRisk = "account.posts_at_risk",
        /// The account's owner asked, through the client's access page, that the account be removed.
        RemovalRequested = "account.removal_requested",
        /// A webhook kept failing for days and was disabled until someone enables it again.
        WebhookDisabled = "webhook.disabled",
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
