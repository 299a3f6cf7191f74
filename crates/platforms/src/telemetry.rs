//! Counts and times every platform call, by platform and outcome, for `/metrics`. Process-wide, like the
//! HTTP client it observes: every adapter shares one.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallStats {
    pub count: u64,
    pub seconds: f64,
    /// Calls at or under each bound of [`LATENCY_BUCKETS`].
    pub buckets: [u64; 8],
}

/// (platform, outcome) → stats; outcome is `ok` or an error class (`token_expired`, `unavailable`, ...).
type Table = BTreeMap<(String, String), CallStats>;

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

pub(crate) fn record(platform: &str, outcome: &str, took: Duration) {
    let mut table = table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stats = table
        .entry((platform.to_string(), outcome.to_string()))
        .or_default();
    let seconds = took.as_secs_f64();
    stats.count += 1;
    stats.seconds += seconds;
    for (bucket, bound) in stats.buckets.iter_mut().zip(LATENCY_BUCKETS) {
        if seconds <= bound {
            *bucket += 1;
        }
    }
}

/// A copy of the call statistics so far.
pub fn snapshot() -> Vec<((String, String), CallStats)> {
    table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
