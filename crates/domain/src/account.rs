use crate::named_enum;
use crate::validation::bounded_text;
use crate::{AccountId, ClientId, LinkId, Platform, UserId, ValidationError, WorkspaceId};
use chrono::{DateTime, Utc};
use serde::Serialize;

named_enum! {
    /// What sort of presence on the platform an account is.
    #[derive(Hash)]
    pub enum AccountKind {
        Profile = "profile",
        Page = "page",
        Business = "business",
        Creator = "creator",
        Organization = "organization",
    }
    unknown = |s| ValidationError::new("kind", format!("unknown account kind {s:?}"));
}

named_enum! {
    /// One status, with a reason when it is not active (seed: "Account Status").
    #[derive(Hash, PartialOrd, Ord)]
    pub enum AccountStatus {
        /// Connected and working: posts can be published.
        Active = "active",
        /// Expired or needs re-authentication: the user can fix it with Refresh.
        Inactive = "inactive",
        /// Authentication failed, a permission is missing or the platform keeps failing: act now.
        Failed = "failed",
    }
    unknown = |s| {
        ValidationError::new(
            "status",
            format!("unknown status {s:?}; expected one of active, inactive, failed"),
        )
    };
}

impl AccountStatus {
    /// How urgent the status is, most urgent first: the order of a sort by status (failed, inactive,
    /// active), not the alphabet's.
    pub fn severity_rank(self) -> i64 {
        match self {
            AccountStatus::Failed => 0,
            AccountStatus::Inactive => 1,
            AccountStatus::Active => 2,
        }
    }
}

// The statuses and their advice: docs/product.md#statuses.
named_enum! {
    /// Why an account is not active. Each reason knows the status it implies and the product's advice for it.
    #[derive(Hash)]
    pub enum StatusReason {
        TokenExpired = "token_expired",
        TokenRevoked = "token_revoked",
        RefreshFailed = "refresh_failed",
        MissingPermissions = "missing_permissions",
        AuthenticationFailed = "authentication_failed",
        PlatformUnavailable = "platform_unavailable",
    }
    unknown = |s| ValidationError::new("reason", format!("unknown status reason {s:?}"));
}

impl StatusReason {
    /// The status an account with this reason is in.
    pub fn status(self) -> AccountStatus {
        match self {
            StatusReason::TokenExpired
            | StatusReason::TokenRevoked
            | StatusReason::RefreshFailed => AccountStatus::Inactive,
            StatusReason::MissingPermissions
            | StatusReason::AuthenticationFailed
            | StatusReason::PlatformUnavailable => AccountStatus::Failed,
        }
    }

    /// The default message a person reads when nothing more specific is known.
    pub fn default_message(self) -> &'static str {
        match self {
            StatusReason::TokenExpired => "The connection expired.",
            StatusReason::TokenRevoked => "Access was revoked on the platform.",
            StatusReason::RefreshFailed => "The platform refused to renew the connection.",
            StatusReason::MissingPermissions => "A permission needed to publish was not granted.",
            StatusReason::AuthenticationFailed => "The platform rejected the sign-in.",
            StatusReason::PlatformUnavailable => "The platform's API has been failing for a while.",
        }
    }

    /// The product's troubleshooting advice for this reason (docs/product.md#statuses).
    pub fn advice(self) -> &'static str {
        match self {
            StatusReason::TokenExpired
            | StatusReason::TokenRevoked
            | StatusReason::RefreshFailed => "Click Refresh to renew authentication.",
            // Refresh goes back through the platform's consent and keeps the account's history, labels and
            // scheduled posts, which removing and adding it again would not.
            StatusReason::MissingPermissions => {
                "Click Refresh and grant every requested permission on the platform; removing and adding the account again is only the last resort."
            }
            StatusReason::AuthenticationFailed => {
                "Check your login credentials and the platform's status, then click Refresh."
            }
            StatusReason::PlatformUnavailable => {
                "Check the platform's status page; contact support if it persists."
            }
        }
    }
}

/// A free-text tag on an account: personal / business / a client's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Label(String);

impl Label {
    pub const MAX_CHARS: usize = 40;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("labels", raw, 1, Self::MAX_CHARS).map(Label)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account's labels: at most 20, without duplicates (compared case-insensitively), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Labels(Vec<Label>);

impl Labels {
    pub const MAX_COUNT: usize = 20;

    pub fn parse<S: AsRef<str>>(raw: &[S]) -> Result<Self, ValidationError> {
        if raw.len() > Self::MAX_COUNT {
            return Err(ValidationError::new(
                "labels",
                format!("at most {} labels (got {})", Self::MAX_COUNT, raw.len()),
            ));
        }
        let mut labels: Vec<Label> = Vec::with_capacity(raw.len());
        for item in raw {
            let label = Label::parse(item.as_ref())?;
            if !labels
                .iter()
                .any(|l| l.0.to_lowercase() == label.0.to_lowercase())
            {
                labels.push(label);
            }
        }
        Ok(Labels(labels))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|l| l.0.clone()).collect()
    }
}

/// A name the team prefers over the platform's own, shown everywhere instead of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameOverride(String);

impl NameOverride {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        bounded_text("display_name", raw, 1, Self::MAX_CHARS).map(NameOverride)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A connected social media account as the rest of the system sees it. Its credentials live apart, encrypted.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Account {
    pub id: AccountId,
    pub workspace_id: WorkspaceId,
    pub platform: Platform,
    pub kind: AccountKind,
    /// The platform's own id for this account (Page id, open_id, person URN id, ...).
    pub platform_account_id: String,
    /// The name shown: the team's override when set, else the platform's name.
    pub display_name: String,
    /// The name the platform reports.
    pub platform_display_name: String,
    pub display_name_override: Option<String>,
    pub handle: Option<String>,
    pub avatar_url: Option<String>,
    pub status: AccountStatus,
    pub status_reason: Option<StatusReason>,
    /// What a person reads about the status; empty advice when active.
    pub status_message: Option<String>,
    pub status_since: DateTime<Utc>,
    pub scopes: Vec<String>,
    pub labels: Labels,
    /// The client it belongs to, if any.
    pub client_id: Option<ClientId>,
    /// When the account was connected (the "Creation Date" of docs/product.md#account-list).
    pub created_at: DateTime<Utc>,
    pub connected_by: Option<UserId>,
    /// The link its owner connected it through, when it came through one.
    pub connected_via_link: Option<LinkId>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_refreshed_at: Option<DateTime<Utc>>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the service will next renew the credentials; `None` when it cannot without the person.
    pub next_refresh_at: Option<DateTime<Utc>>,
    /// Followers as the last health check read them, where the platform reports them.
    pub followers: Option<u64>,
    /// Connected through the local sandbox rather than the real platform.
    pub sandbox: bool,
}

impl Account {
    /// Active, but the token ends within 7 days and nothing can renew it without the person.
    pub fn expiring_soon(&self, now: DateTime<Utc>) -> bool {
        self.status == AccountStatus::Active
            && self.next_refresh_at.is_none()
            && self
                .token_expires_at
                .is_some_and(|at| at < now + chrono::Duration::days(7))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_maps_to_a_non_active_status_with_advice() {
        for r in StatusReason::ALL {
            assert_ne!(r.status(), AccountStatus::Active);
            assert!(!r.advice().is_empty());
            assert_eq!(r.as_str().parse::<StatusReason>().unwrap(), r);
        }
        assert_eq!(StatusReason::TokenExpired.status(), AccountStatus::Inactive);
        assert_eq!(
            StatusReason::MissingPermissions.status(),
            AccountStatus::Failed
        );
    }

    /// An Active account whose token ends at `expires_at`, which nothing renews.
    fn unrenewable(expires_at: Option<DateTime<Utc>>) -> Account {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Account {
            id: AccountId::new(),
            workspace_id: WorkspaceId::new(),
            platform: Platform::Linkedin,
            kind: AccountKind::Profile,
            platform_account_id: "p".into(),
            display_name: "Ann".into(),
            platform_display_name: "Ann".into(),
            display_name_override: None,
            handle: None,
            avatar_url: None,
            status: AccountStatus::Active,
            status_reason: None,
            status_message: None,
            status_since: at,
            scopes: Vec::new(),
            labels: Labels::default(),
            client_id: None,
            created_at: at,
            connected_by: None,
            connected_via_link: None,
            token_expires_at: expires_at,
            last_refreshed_at: None,
            last_checked_at: None,
            last_used_at: None,
            next_refresh_at: None,
            followers: None,
            sandbox: false,
        }
    }

    #[test]
    fn expiring_soon_is_a_token_ending_within_7_days_that_nothing_renews() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(1000);
        let week = chrono::Duration::days(7);
        let tick = chrono::Duration::microseconds(1);
        assert!(unrenewable(Some(now + week - tick)).expiring_soon(now));
        assert!(
            !unrenewable(Some(now + week)).expiring_soon(now),
            "7 days away exactly is not within 7 days"
        );
        assert!(unrenewable(Some(now)).expiring_soon(now));
        assert!(!unrenewable(None).expiring_soon(now), "never ends");

        let renewed = Account {
            next_refresh_at: Some(now + week - chrono::Duration::days(1)),
            ..unrenewable(Some(now + week - tick))
        };
        assert!(
            !renewed.expiring_soon(now),
            "the service renews it without the person"
        );
        for status in [AccountStatus::Inactive, AccountStatus::Failed] {
            let broken = Account {
                status,
                ..unrenewable(Some(now + week - tick))
            };
            assert!(
                !broken.expiring_soon(now),
                "{status:?} already says more than expiring soon"
            );
        }
    }

    #[test]
    fn labels_are_trimmed_deduplicated_and_bounded() {
        let labels = Labels::parse(&[" Client A ", "client a", "personal"]).unwrap();
        assert_eq!(labels.to_strings(), vec!["Client A", "personal"]);
        assert!(Labels::parse(&[""]).is_err());
        assert!(Labels::parse(&["x".repeat(41)]).is_err());
        let many: Vec<String> = (0..21).map(|i| i.to_string()).collect();
        assert!(Labels::parse(&many).is_err());
    }

    #[test]
    fn each_reason_has_a_message_of_its_own_and_advice_that_fits_it() {
        let messages: std::collections::HashSet<&str> =
            StatusReason::ALL.map(StatusReason::default_message).into();
        assert_eq!(messages.len(), StatusReason::ALL.len(), "{messages:?}");
        assert!(messages.iter().all(|m| m.ends_with('.')), "{messages:?}");

        for renewable in [
            StatusReason::TokenExpired,
            StatusReason::TokenRevoked,
            StatusReason::RefreshFailed,
        ] {
            assert_eq!(renewable.status(), AccountStatus::Inactive);
            assert!(renewable.advice().contains("Refresh"), "{renewable}");
        }
        let missing = StatusReason::MissingPermissions.advice();
        assert!(missing.starts_with("Click Refresh"), "{missing}");
        let rejected = StatusReason::AuthenticationFailed.advice();
        assert!(rejected.contains("login credentials"), "{rejected}");
        let unavailable = StatusReason::PlatformUnavailable.advice();
        assert!(unavailable.contains("status page"), "{unavailable}");
    }

    #[test]
    fn twenty_labels_fit_and_each_reads_as_given() {
        let twenty: Vec<String> = (0..Labels::MAX_COUNT)
            .map(|i| format!("client {i}"))
            .collect();
        let labels = Labels::parse(&twenty).unwrap();
        let read: Vec<&str> = labels.iter().map(Label::as_str).collect();
        assert_eq!(read, twenty);
        assert_eq!(Label::parse(" vip ").unwrap().as_str(), "vip");
        assert!(Label::parse(&"x".repeat(Label::MAX_CHARS)).is_ok());
    }

    #[test]
    fn a_name_override_is_trimmed_and_bounded() {
        assert_eq!(
            NameOverride::parse("  Acme EU ").unwrap().as_str(),
            "Acme EU"
        );
        assert!(NameOverride::parse(&"n".repeat(NameOverride::MAX_CHARS)).is_ok());
        let err = NameOverride::parse(&"n".repeat(NameOverride::MAX_CHARS + 1)).unwrap_err();
        assert_eq!(err.field, "display_name");
        assert!(NameOverride::parse(" ").is_err());
    }

    fn account(
        status: AccountStatus,
        token_expires_at: Option<DateTime<Utc>>,
        next_refresh_at: Option<DateTime<Utc>>,
    ) -> Account {
        let created_at = DateTime::parse_from_rfc3339("2025-08-25T09:00:00Z")
            .unwrap()
            .to_utc();
        Account {
            id: AccountId::new(),
            workspace_id: WorkspaceId::new(),
            platform: Platform::Linkedin,
            kind: AccountKind::Profile,
            platform_account_id: "abc123".into(),
            display_name: "Ann".into(),
            platform_display_name: "Ann".into(),
            display_name_override: None,
            handle: None,
            avatar_url: None,
            status,
            status_reason: None,
            status_message: None,
            status_since: created_at,
            scopes: Vec::new(),
            labels: Labels::default(),
            client_id: None,
            created_at,
            connected_by: None,
            connected_via_link: None,
            token_expires_at,
            last_refreshed_at: None,
            last_checked_at: None,
            last_used_at: None,
            next_refresh_at,
            followers: None,
            sandbox: false,
        }
    }

    #[test]
    fn expiring_soon_means_active_unrenewable_and_ending_within_seven_days() {
        let now = DateTime::parse_from_rfc3339("2025-09-01T12:00:00Z")
            .unwrap()
            .to_utc();
        let days = chrono::Duration::days;
        let active = AccountStatus::Active;

        assert!(account(active, Some(now + days(1)), None).expiring_soon(now));
        let just_inside = now + days(7) - chrono::Duration::seconds(1);
        assert!(account(active, Some(just_inside), None).expiring_soon(now));

        // Exactly seven days away is not yet "within" them.
        assert!(!account(active, Some(now + days(7)), None).expiring_soon(now));
        assert!(!account(active, Some(now + days(30)), None).expiring_soon(now));
        assert!(!account(active, None, None).expiring_soon(now));
        // The service renews it on its own: nothing for the person to do.
        assert!(!account(active, Some(now + days(1)), Some(now)).expiring_soon(now));
        // Already not active: its status says more than "expiring" would.
        let inactive = AccountStatus::Inactive;
        assert!(!account(inactive, Some(now + days(1)), None).expiring_soon(now));
    }
}
