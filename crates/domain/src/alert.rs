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

named_enum! {
    /// When a member is emailed about one kind of alert.
    #[derive(Hash)]
    pub enum AlertEmail {
        /// One email per incident, as it happens.
        Immediately = "immediately",
        /// In the daily digest.
        Digest = "digest",
        Off = "off",
    }
}

impl AlertEmail {
    /// What a member gets without having chosen: owners and admins hear of status changes and posts at
    /// risk at once and of the rest in the digest; members get the digest.
    pub fn default_for(role: crate::Role, kind: AlertKind) -> AlertEmail {
        let urgent = matches!(kind, AlertKind::StatusChanged | AlertKind::PostsAtRisk);
        if urgent && role.can_manage_accounts() {
            AlertEmail::Immediately
        } else {
            AlertEmail::Digest
        }
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

    #[test]
    fn owners_and_admins_hear_of_status_changes_and_posts_at_risk_at_once_and_members_daily() {
        use crate::Role;
        for role in [Role::Owner, Role::Admin] {
            for kind in AlertKind::ALL {
                let urgent = matches!(kind, AlertKind::StatusChanged | AlertKind::PostsAtRisk);
                let expected = if urgent {
                    AlertEmail::Immediately
                } else {
                    AlertEmail::Digest
                };
                assert_eq!(
                    AlertEmail::default_for(role, kind),
                    expected,
                    "{role:?} {kind}"
                );
            }
        }
        for kind in AlertKind::ALL {
            assert_eq!(
                AlertEmail::default_for(Role::Member, kind),
                AlertEmail::Digest
            );
        }
    }
}
