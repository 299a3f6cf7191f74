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
    /// `delivery` on the error says whether the request may have gone out.
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

/// How far a failed call got. Whether repeating a call could do twice what it did once depends on it,
/// so it is decided where the call is made, never read back from the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The platform answered; the class says what the answer meant.
    Answered,
    /// No connection could be made: the request never reached the platform.
    Unreached,
    /// The request went out and no answer came in time. It may have taken effect.
    TimedOut,
    /// The request went out and the exchange broke off (the connection dropped before the whole answer
    /// came). It may have taken effect.
    BrokenOff,
    /// The platform took the request but did not say what came of it: its success answer could not be
    /// read, or what it made was still being processed when the service stopped asking.
    Accepted,
}

impl Delivery {
    /// Whether the request's bytes may have reached the platform.
    pub fn was_sent(self) -> bool {
        self != Delivery::Unreached
    }
}

/// A classified platform failure with the platform's own words (never a token). `message` is for
/// people; code acts on `class` and `delivery`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{platform}: {message}")]
pub struct PlatformError {
    pub platform: &'static str,
    pub class: ErrorClass,
    pub delivery: Delivery,
    pub message: String,
}

impl PlatformError {
    /// A failure the platform answered with.
    pub fn new(platform: &'static str, class: ErrorClass, message: impl Into<String>) -> Self {
        PlatformError {
            platform,
            class,
            delivery: Delivery::Answered,
            message: message.into(),
        }
    }

    /// A failure of the exchange itself, before or instead of an answer.
    pub fn undelivered(
        platform: &'static str,
        delivery: Delivery,
        message: impl Into<String>,
    ) -> Self {
        PlatformError {
            delivery,
            ..PlatformError::new(platform, ErrorClass::Unavailable, message)
        }
    }

    /// The failure of a step on the way to publishing (an upload of the post's media), named: whatever
    /// became of that step, the post itself was never sent, so it cannot have been published and is safe
    /// to try again.
    pub fn before_publishing(self, step: &str) -> Self {
        let delivery = if self.may_have_taken_effect() {
            Delivery::Unreached
        } else {
            self.delivery
        };
        PlatformError {
            delivery,
            message: format!("{step}: {}", self.message),
            ..self
        }
    }

    /// Whether the request may have taken effect although no answer says what it did: it went out and
    /// no error answer came back. A call that changes something must then be looked up, not repeated.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(
            self.delivery,
            Delivery::TimedOut | Delivery::BrokenOff | Delivery::Accepted
        )
    }
}
