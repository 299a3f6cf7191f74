//! Limits on guessing: sign-in attempts per account (refused past the limit) and per client address (slowed,
//! never refused), sign-ups per address, and the counts `/metrics` shows.

use crate::{Core, CoreError};
use chrono::{DateTime, Utc};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

/// Sign-in and sign-up outcomes since the start, for `/metrics`.
#[derive(Debug, Default)]
pub struct AuthCounts {
    /// Sign-ins whose password was right.
    pub(super) signed_in: AtomicU64,
    /// Sign-ins whose password was checked and wrong (or whose email is unknown).
    pub(super) bad_credentials: AtomicU64,
    /// Sign-ins refused without a check: too many attempts for the account.
    pub(super) locked: AtomicU64,
    /// Sign-in answers delayed: too many attempts from the client address.
    pub(super) slowed: AtomicU64,
    /// Sign-ups refused: too many from the client address.
    pub(super) signups_limited: AtomicU64,
}

impl AuthCounts {
    pub(super) fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// `(outcome, count)` of sign-ins: signed_in, bad_credentials, locked.
    pub fn logins(&self) -> [(&'static str, u64); 3] {
        [
            ("signed_in", self.signed_in.load(Ordering::Relaxed)),
            (
                "bad_credentials",
                self.bad_credentials.load(Ordering::Relaxed),
            ),
            ("locked", self.locked.load(Ordering::Relaxed)),
        ]
    }

    pub fn slowed(&self) -> u64 {
        self.slowed.load(Ordering::Relaxed)
    }

    pub fn signups_limited(&self) -> u64 {
        self.signups_limited.load(Ordering::Relaxed)
    }
}

/// The key a client address is counted under. An IPv6 client usually holds a whole /64, so that is
/// what is counted: otherwise every attempt could come from a fresh address.
pub(crate) fn address_key(prefix: &str, ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("{prefix}:{v4}"),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{prefix}:{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

/// How long to wait before answering the `attempts`-th attempt from one address: nothing up to `limit`,
/// then `start`, doubling with each further attempt, up to `cap`.
fn slowdown(
    attempts: u32,
    limit: u32,
    start: std::time::Duration,
    cap: std::time::Duration,
) -> Option<std::time::Duration> {
    let doublings = attempts.checked_sub(limit)?.checked_sub(1)?.min(31);
    Some(start.saturating_mul(1u32 << doublings).min(cap))
}

/// Whole seconds of a window, for `Retry-After`.
pub(crate) fn seconds(window: chrono::Duration) -> u64 {
    u64::try_from(window.num_seconds()).unwrap_or(0).max(1)
}

impl Core {
    pub(super) fn login_slowdown(&self, attempts: u32) -> Option<std::time::Duration> {
        slowdown(
            attempts,
            self.settings.login_attempts_per_address,
            self.settings.login_slowdown_start,
            self.settings.login_slowdown_cap,
        )
    }

    /// Deletes attempt counts that no longer limit anything: one row per email or address ever tried
    /// would otherwise grow without bound.
    pub(crate) async fn purge_login_attempts(&self, now: DateTime<Utc>) -> Result<(), CoreError> {
        let longest = self.settings.login_window.max(self.settings.signup_window);
        self.store.purge_login_attempts(now - longest).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn answers_slow_down_past_the_limit_doubling_up_to_the_cap() {
        let delay = |attempts| {
            slowdown(
                attempts,
                20,
                Duration::from_secs(1),
                Duration::from_secs(10),
            )
        };
        assert_eq!(delay(1), None);
        assert_eq!(delay(20), None);
        assert_eq!(delay(21), Some(Duration::from_secs(1)));
        assert_eq!(delay(22), Some(Duration::from_secs(2)));
        assert_eq!(delay(23), Some(Duration::from_secs(4)));
        assert_eq!(delay(24), Some(Duration::from_secs(8)));
        assert_eq!(delay(25), Some(Duration::from_secs(10)));
        assert_eq!(delay(u32::MAX), Some(Duration::from_secs(10)));
    }

    #[test]
    fn addresses_are_counted_per_ipv4_address_and_per_ipv6_64() {
        let key = |ip: &str| address_key("ip", ip.parse().unwrap());
        assert_eq!(key("192.0.2.1"), "ip:192.0.2.1");
        assert_eq!(key("::ffff:192.0.2.1"), "ip:192.0.2.1");
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "ip:2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff::1"), key("2001:db8:1:2::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
