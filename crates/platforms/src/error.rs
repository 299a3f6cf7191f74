//! Every platform failure lands in one of a few classes; the lifecycle and the UI act on the class.

use chrono::{DateTime, Utc};
use iquivity_domain::StatusReason;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorClass {
    /// The access token expired: a refresh (or the user) can fix it.
    TokenExpired,
    /// The user or platform withdrew access: only the user can fix it, by reconnecting.
    TokenRevoked,
    /// The platform refused to renew the grant (spent or expired refresh token): reconnect.
    RefreshRejected,
    /// The grant lacks a permission; `scopes` names them when the platform says which.
    MissingPermission { scopes: Vec<String> },
    /// Too many calls; try again after `until` (when the platform says).
    RateLimited { until: Option<DateTime<Utc>> },
    /// The platform failed or could not be reached (5xx, timeout, refused connection, garbled answer).
    Unavailable,
    /// The platform rejected this request as such (bad input, policy, duplicate, misconfigured app).
    Rejected,
}

impl ErrorClass {
    /// A short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            ErrorClass::TokenExpired => "token_expired",
            ErrorClass::TokenRevoked => "token_revoked",
            ErrorClass::RefreshRejected => "refresh_rejected",
            ErrorClass::MissingPermission { .. } => "missing_permission",
            ErrorClass::RateLimited { .. } => "rate_limited",
            ErrorClass::Unavailable => "unavailable",
            ErrorClass::Rejected => "rejected",
        }
    }

    /// The account status reason this class implies, if it implies one.
    pub fn status_reason(&self) -> Option<StatusReason> {
        match self {
            ErrorClass::TokenExpired => Some(StatusReason::TokenExpired),
            ErrorClass::TokenRevoked => Some(StatusReason::TokenRevoked),
            ErrorClass::RefreshRejected => Some(StatusReason::RefreshFailed),
            ErrorClass::MissingPermission { .. } => Some(StatusReason::MissingPermissions),
            ErrorClass::RateLimited { .. } | ErrorClass::Unavailable | ErrorClass::Rejected => None,
        }
    }

    /// Whether only the user, going through consent again, can fix it.
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            ErrorClass::TokenRevoked
                | ErrorClass::RefreshRejected
                | ErrorClass::MissingPermission { .. }
        )
    }
}

/// A classified platform failure with the platform's own words (never a token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{platform}: {message}")]
pub struct PlatformError {
    pub platform: &'static str,
    pub class: ErrorClass,
    pub message: String,
}

impl PlatformError {
    pub fn new(platform: &'static str, class: ErrorClass, message: impl Into<String>) -> Self {
        PlatformError {
            platform,
            class,
            message: message.into(),
        }
    }
}
