//! What the store reports about itself.

use super::{JobKind, PlatformStatusCount};

/// Figures for `/metrics`, across all workspaces.
#[derive(Debug, Clone, Default)]
pub struct StoreMetrics {
    pub accounts: Vec<PlatformStatusCount>,
    /// Unfinished jobs by kind: how many, and how long the oldest due one has waited (seconds).
    pub jobs: Vec<(JobKind, u64, f64)>,
    pub pending_deliveries: u64,
    pub pool: PoolUsage,
}

/// The database connection pool, as the metrics were read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUsage {
    pub in_use: u32,
    pub idle: u32,
    pub max: u32,
}
