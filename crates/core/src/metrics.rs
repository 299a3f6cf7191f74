//! `/metrics` in the Prometheus text format: accounts by platform and status, lifecycle jobs by outcome,
//! platform calls by outcome with their latency, the job queue's depth and age, and sign-in outcomes.

use crate::{Core, CoreError};
use iquivity_domain::{AccountStatus, Platform};
use iquivity_platforms::telemetry::{self, LATENCY_BUCKETS};
use iquivity_store::JobKind;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// What a lifecycle job can come to, as `iquivity_jobs_total` labels it.
pub(crate) const JOB_OUTCOMES: [&str; 5] = ["done", "retried", "rate_limited", "error", "deferred"];

/// Who asked for an account check: a person (the Refresh button or API) or the engine's schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trigger {
    Manual,
    Scheduled,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Scheduled => "scheduled",
        }
    }
}

/// The checks an account gets, by who asked: a person can only ask for a refresh.
const CHECKS: [(&str, Trigger); 3] = [
    ("refresh", Trigger::Manual),
    ("refresh", Trigger::Scheduled),
    ("health_check", Trigger::Scheduled),
];

/// How a check ended: it worked, the platform refused or failed it, the platform limited it, or this
/// service failed.
pub(crate) const CHECK_OUTCOMES: [&str; 4] = ["done", "failed", "rate_limited", "error"];

/// (platform, check, trigger, outcome).
type CheckKey = (Platform, &'static str, Trigger, &'static str);

/// Renewals and health checks so far, by [`CheckKey`].
#[derive(Default)]
pub(crate) struct CheckCounts(Mutex<BTreeMap<CheckKey, u64>>);

impl CheckCounts {
    pub(crate) fn count(
        &self,
        platform: Platform,
        check: &'static str,
        trigger: Trigger,
        outcome: &'static str,
    ) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry((platform, check, trigger, outcome))
            .or_default() += 1;
    }

    /// Every known label set, at zero where nothing happened yet.
    fn snapshot(&self) -> BTreeMap<CheckKey, u64> {
        let mut all: BTreeMap<_, u64> = Platform::ALL
            .into_iter()
            .flat_map(|platform| {
                CHECKS.into_iter().flat_map(move |(check, trigger)| {
                    CHECK_OUTCOMES
                        .into_iter()
                        .map(move |outcome| ((platform, check, trigger, outcome), 0))
                })
            })
            .collect();
        let counted = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.extend(counted.iter().map(|(key, count)| (*key, *count)));
        all
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Core {
    pub async fn render_metrics(&self) -> Result<String, CoreError> {
        let store = self.store.metrics(self.clock.now()).await?;
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored for that reason.
        let _ = writeln!(
            out,
            "# HELP iquivity_accounts Connected accounts by platform and status."
        );
        let _ = writeln!(out, "# TYPE iquivity_accounts gauge");
        let mut accounts: BTreeMap<(String, String), u64> = Platform::ALL
            .into_iter()
            .flat_map(|p| {
                AccountStatus::ALL
                    .into_iter()
                    .map(move |st| ((p.as_str().to_string(), st.as_str().to_string()), 0))
            })
            .collect();
        for row in &store.accounts {
            accounts.insert(
                (row.platform.to_string(), row.status.to_string()),
                u64::from(row.count),
            );
        }
        for ((platform, status), count) in accounts {
            let _ = writeln!(
                out,
                "iquivity_accounts{{platform=\"{platform}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP iquivity_jobs_total Lifecycle jobs run, by kind and outcome (done, retried, rate_limited, error).");
        let _ = writeln!(out, "# TYPE iquivity_jobs_total counter");
        let mut outcomes: BTreeMap<(String, String), u64> = JobKind::ALL
            .into_iter()
            .flat_map(|kind| {
                JOB_OUTCOMES
                    .into_iter()
                    .map(move |o| ((kind.as_str().to_string(), o.to_string()), 0))
            })
            .collect();
        outcomes.extend(
            self.job_outcomes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .map(|(key, count)| (key.clone(), *count)),
        );
        for ((kind, outcome), count) in &outcomes {
            let _ = writeln!(
                out,
                "iquivity_jobs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP iquivity_job_queue_depth Unfinished lifecycle jobs by kind."
        );
        let _ = writeln!(out, "# TYPE iquivity_job_queue_depth gauge");
        let _ = writeln!(out, "# HELP iquivity_job_queue_oldest_due_seconds How long the oldest due job of a kind has waited.");
        let _ = writeln!(out, "# TYPE iquivity_job_queue_oldest_due_seconds gauge");
        let mut jobs: BTreeMap<&str, (u64, f64)> = JobKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), (0, 0.0)))
            .collect();
        for (kind, open, age) in &store.jobs {
            jobs.insert(kind.as_str(), (*open, *age));
        }
        for (kind, (open, age)) in &jobs {
            let _ = writeln!(out, "iquivity_job_queue_depth{{kind=\"{kind}\"}} {open}");
            let _ = writeln!(
                out,
                "iquivity_job_queue_oldest_due_seconds{{kind=\"{kind}\"}} {age:.3}"
            );
        }
        let _ = writeln!(out, "# HELP iquivity_account_checks_total Renewals and health checks by platform, check (refresh, health_check), trigger (manual, scheduled) and outcome (done, failed, rate_limited, error).");
        let _ = writeln!(out, "# TYPE iquivity_account_checks_total counter");
        for ((platform, check, trigger, outcome), count) in self.check_counts.snapshot() {
            let _ = writeln!(
                out,
                "iquivity_account_checks_total{{platform=\"{platform}\",check=\"{check}\",trigger=\"{}\",outcome=\"{outcome}\"}} {count}",
                trigger.as_str()
            );
        }
        let _ = writeln!(
            out,
            "# HELP iquivity_webhook_deliveries_pending Webhook deliveries waiting to be sent."
        );
        let _ = writeln!(out, "# TYPE iquivity_webhook_deliveries_pending gauge");
        let _ = writeln!(
            out,
            "iquivity_webhook_deliveries_pending {}",
            store.pending_deliveries
        );
        let _ = writeln!(out, "# HELP iquivity_db_pool_connections Database connections of this instance's pool by state (in_use, idle).");
        let _ = writeln!(out, "# TYPE iquivity_db_pool_connections gauge");
        for (state, count) in [("in_use", store.pool.in_use), ("idle", store.pool.idle)] {
            let _ = writeln!(
                out,
                "iquivity_db_pool_connections{{state=\"{state}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP iquivity_db_pool_max_connections The most connections this instance's pool opens.");
        let _ = writeln!(out, "# TYPE iquivity_db_pool_max_connections gauge");
        let _ = writeln!(out, "iquivity_db_pool_max_connections {}", store.pool.max);
        let _ = writeln!(out, "# HELP iquivity_unsaved_renewals Accounts whose renewed tokens the database refused and only this process holds (saved as soon as it takes writes again; lost if the process ends first).");
        let _ = writeln!(out, "# TYPE iquivity_unsaved_renewals gauge");
        let _ = writeln!(
            out,
            "iquivity_unsaved_renewals {}",
            self.unsaved_token_count()
        );
        let _ = writeln!(out, "# HELP iquivity_platform_call_seconds Platform API calls by platform and outcome (ok, http_<status>, or an error class).");
        let _ = writeln!(out, "# TYPE iquivity_platform_call_seconds histogram");
        for ((platform, outcome), stats) in telemetry::snapshot() {
            let labels = format!(
                "platform=\"{}\",outcome=\"{}\"",
                escape(&platform),
                escape(&outcome)
            );
            for (bound, count) in LATENCY_BUCKETS.iter().zip(stats.buckets) {
                let _ = writeln!(
                    out,
                    "iquivity_platform_call_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "iquivity_platform_call_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ = writeln!(
                out,
                "iquivity_platform_call_seconds_sum{{{labels}}} {:.6}",
                stats.seconds
            );
            let _ = writeln!(
                out,
                "iquivity_platform_call_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        let _ = writeln!(out, "# HELP iquivity_logins_total Sign-in attempts by outcome: signed_in, bad_credentials (password checked and wrong), locked (refused unchecked: too many attempts for the account).");
        let _ = writeln!(out, "# TYPE iquivity_logins_total counter");
        for (outcome, count) in self.auth_counts.logins() {
            let _ = writeln!(
                out,
                "iquivity_logins_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP iquivity_login_slowdowns_total Sign-in answers delayed because their client address made too many attempts.");
        let _ = writeln!(out, "# TYPE iquivity_login_slowdowns_total counter");
        let _ = writeln!(
            out,
            "iquivity_login_slowdowns_total {}",
            self.auth_counts.slowed()
        );
        let _ = writeln!(out, "# HELP iquivity_signups_limited_total Sign-ups refused because their client address made too many.");
        let _ = writeln!(out, "# TYPE iquivity_signups_limited_total counter");
        let _ = writeln!(
            out,
            "iquivity_signups_limited_total {}",
            self.auth_counts.signups_limited()
        );
        Ok(out)
    }
}
