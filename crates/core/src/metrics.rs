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

/// Text in the Prometheus exposition format, written family by family. Writing to a `String` cannot fail,
/// so the results of `write!` are ignored here, and only here.
#[derive(Default)]
pub struct Exposition(String);

impl Exposition {
    /// A family's `# HELP` and `# TYPE` lines.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample, `name{labels} value`, its label values escaped.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.0.push_str(name);
        for (i, (label, text)) in labels.iter().enumerate() {
            let opening = if i == 0 { '{' } else { ',' };
            let _ = write!(self.0, "{opening}{label}=\"{}\"", escape(text));
        }
        if !labels.is_empty() {
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    /// One label set of a histogram: how many were at or under each bound, then all of them (`+Inf`),
    /// their sum and their count.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        buckets: impl IntoIterator<Item = (f64, u64)>,
        sum: f64,
        count: u64,
    ) {
        let bucket = format!("{name}_bucket");
        for (bound, at_or_under) in buckets {
            let bound = bound.to_string();
            self.sample(
                &bucket,
                &[labels, &[("le", bound.as_str())]].concat(),
                at_or_under,
            );
        }
        self.sample(&bucket, &[labels, &[("le", "+Inf")]].concat(), count);
        self.sample(&format!("{name}_sum"), labels, format!("{sum:.6}"));
        self.sample(&format!("{name}_count"), labels, count);
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl Core {
    pub async fn render_metrics(&self) -> Result<Exposition, CoreError> {
        let store = self.store.metrics(self.clock.now()).await?;
        let mut out = Exposition::default();
        out.family(
            "iquivity_accounts",
            "gauge",
            "Connected accounts by platform and status.",
        );
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
        for ((platform, status), count) in &accounts {
            out.sample(
                "iquivity_accounts",
                &[("platform", platform), ("status", status)],
                count,
            );
        }
        out.family(
            "iquivity_jobs_total",
            "counter",
            "Lifecycle jobs run, by kind and outcome (done, retried, rate_limited, error).",
        );
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
            out.sample(
                "iquivity_jobs_total",
                &[("kind", kind), ("outcome", outcome)],
                count,
            );
        }
        out.family(
            "iquivity_job_queue_depth",
            "gauge",
            "Unfinished lifecycle jobs by kind.",
        );
        out.family(
            "iquivity_job_queue_oldest_due_seconds",
            "gauge",
            "How long the oldest due job of a kind has waited.",
        );
        let mut jobs: BTreeMap<&str, (u64, f64)> = JobKind::ALL
            .into_iter()
            .map(|k| (k.as_str(), (0, 0.0)))
            .collect();
        for (kind, open, age) in &store.jobs {
            jobs.insert(kind.as_str(), (*open, *age));
        }
        for (kind, (open, age)) in &jobs {
            out.sample("iquivity_job_queue_depth", &[("kind", kind)], open);
            out.sample(
                "iquivity_job_queue_oldest_due_seconds",
                &[("kind", kind)],
                format!("{age:.3}"),
            );
        }
        out.family(
            "iquivity_account_checks_total",
            "counter",
            "Renewals and health checks by platform, check (refresh, health_check), trigger (manual, \
             scheduled) and outcome (done, failed, rate_limited, error).",
        );
        for ((platform, check, trigger, outcome), count) in self.check_counts.snapshot() {
            out.sample(
                "iquivity_account_checks_total",
                &[
                    ("platform", platform.as_str()),
                    ("check", check),
                    ("trigger", trigger.as_str()),
                    ("outcome", outcome),
                ],
                count,
            );
        }
        out.family(
            "iquivity_webhook_deliveries_pending",
            "gauge",
            "Webhook deliveries waiting to be sent.",
        );
        out.sample(
            "iquivity_webhook_deliveries_pending",
            &[],
            store.pending_deliveries,
        );
        out.family(
            "iquivity_db_pool_connections",
            "gauge",
            "Database connections of this instance's pool by state (in_use, idle).",
        );
        for (state, count) in [("in_use", store.pool.in_use), ("idle", store.pool.idle)] {
            out.sample("iquivity_db_pool_connections", &[("state", state)], count);
        }
        out.family(
            "iquivity_db_pool_max_connections",
            "gauge",
            "The most connections this instance's pool opens.",
        );
        out.sample("iquivity_db_pool_max_connections", &[], store.pool.max);
        out.family(
            "iquivity_unsaved_renewals",
            "gauge",
            "Accounts whose renewed tokens the database refused and only this process holds (saved as \
             soon as it takes writes again; lost if the process ends first).",
        );
        out.sample("iquivity_unsaved_renewals", &[], self.unsaved_token_count());
        out.family(
            "iquivity_platform_call_seconds",
            "histogram",
            "Platform API calls by platform and outcome (ok, http_<status>, or an error class).",
        );
        for ((platform, outcome), stats) in telemetry::snapshot() {
            out.histogram(
                "iquivity_platform_call_seconds",
                &[("platform", &platform), ("outcome", &outcome)],
                LATENCY_BUCKETS.into_iter().zip(stats.buckets),
                stats.seconds,
                stats.count,
            );
        }
        out.family(
            "iquivity_logins_total",
            "counter",
            "Sign-in attempts by outcome: signed_in, bad_credentials (password checked and wrong), locked \
             (refused unchecked: too many attempts for the account).",
        );
        for (outcome, count) in self.auth_counts.logins() {
            out.sample("iquivity_logins_total", &[("outcome", outcome)], count);
        }
        out.family(
            "iquivity_login_slowdowns_total",
            "counter",
            "Sign-in answers delayed because their client address made too many attempts.",
        );
        out.sample(
            "iquivity_login_slowdowns_total",
            &[],
            self.auth_counts.slowed(),
        );
        out.family(
            "iquivity_signups_limited_total",
            "counter",
            "Sign-ups refused because their client address made too many.",
        );
        out.sample(
            "iquivity_signups_limited_total",
            &[],
            self.auth_counts.signups_limited(),
        );
        Ok(out)
    }
}
