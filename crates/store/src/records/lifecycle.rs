//! The engine's jobs and an account's run of failures.

use super::StoredCredential;
use chrono::{DateTime, Utc};
use iquivity_domain::{named_enum, AccountId, Platform, WorkspaceId};

named_enum! {
    pub enum JobKind {
        /// Renew an account's credentials ahead of their expiry.
        Refresh = "refresh",
        /// A cheap identity call: does the token still work, which scopes, which name and picture.
        HealthCheck = "health_check",
        /// Withdraw a removed account's access on the platform.
        Revoke = "revoke",
    }
}

/// A durable unit of background work.
#[derive(Debug, Clone)]
pub struct JobRecord {
    pub id: uuid::Uuid,
    pub kind: JobKind,
    pub account_id: AccountId,
    pub workspace_id: WorkspaceId,
    pub platform: Platform,
    pub payload: Option<StoredCredential>,
    pub run_at: DateTime<Utc>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

/// An account's run of failed platform calls, as the lifecycle engine counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRun {
    pub count: u32,
    pub since: DateTime<Utc>,
}

/// A claim of due work (jobs, post targets, webhook deliveries, mail) under a lease: who claims, the time
/// it is (what is due by then, and whose lease has run out), until when the lease holds, how many at most.
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub owner: &'a str,
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub limit: u32,
}

impl<'a> Claim<'a> {
    pub fn new(owner: &'a str, now: DateTime<Utc>, lease_until: DateTime<Utc>, limit: u32) -> Self {
        Claim {
            owner,
            now,
            lease_until,
            limit,
        }
    }
}
