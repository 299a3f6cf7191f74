//! `/metrics` in the Prometheus text format: accounts by platform and status, lifecycle jobs by outcome,
//! platform calls by outcome with their latency, the job queue's depth and age, and sign-in outcomes.

use crate::{Core, CoreError};
use iquivity_platforms::telemetry::{self, LATENCY_BUCKETS};
use std::fmt::Write;

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A metric's `# HELP` and `# TYPE` lines.
fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl Core {
    pub async fn render_metrics(&self) -> Result<String, CoreError> {
        let store = self.store.metrics(self.clock.now()).await?;
        let mut out = String::new();
        // Writing to a String cannot fail; the results are ignored for that reason.
        describe(
            &mut out,
            "iquivity_accounts",
            "gauge",
            "Connected accounts by platform and status.",
        );
        for row in &store.accounts {
            let _ = writeln!(
                out,
                "iquivity_accounts{{platform=\"{}\",status=\"{}\"}} {}",
                row.platform, row.status, row.count
            );
        }
        describe(
            &mut out,
            "iquivity_jobs_total",
            "counter",
            "Lifecycle jobs run, by kind and outcome (done, retried, rate_limited, error).",
        );
        let outcomes = self
            .job_outcomes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for ((kind, outcome), count) in &outcomes {
            let _ = writeln!(
                out,
                "iquivity_jobs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        describe(
            &mut out,
            "iquivity_job_queue_depth",
            "gauge",
            "Unfinished lifecycle jobs by kind.",
        );
        describe(
            &mut out,
            "iquivity_job_queue_oldest_due_seconds",
            "gauge",
            "How long the oldest due job of a kind has waited.",
        );
        for (kind, open, age) in &store.jobs {
            let _ = writeln!(
                out,
                "iquivity_job_queue_depth{{kind=\"{}\"}} {open}",
                kind.as_str()
            );
            let _ = writeln!(
                out,
                "iquivity_job_queue_oldest_due_seconds{{kind=\"{}\"}} {age:.3}",
                kind.as_str()
            );
        }
        describe(
            &mut out,
            "iquivity_webhook_deliveries_pending",
            "gauge",
            "Webhook deliveries waiting to be sent.",
        );
        let _ = writeln!(
            out,
            "iquivity_webhook_deliveries_pending {}",
            store.pending_deliveries
        );
        describe(
            &mut out,
            "iquivity_unsaved_renewals",
            "gauge",
            "Accounts whose renewed tokens the database refused and only this process holds (saved as soon as it takes writes again; lost if the process ends first).",
        );
        let _ = writeln!(
            out,
            "iquivity_unsaved_renewals {}",
            self.unsaved_token_count()
        );
        describe(
            &mut out,
            "iquivity_platform_call_seconds",
            "histogram",
            "Platform API calls by platform and outcome (ok, http_<status>, or an error class).",
        );
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
        describe(
            &mut out,
            "iquivity_logins_total",
            "counter",
            "Sign-in attempts by outcome: signed_in, bad_credentials (password checked and wrong), locked (refused unchecked: too many attempts for the account).",
        );
        for (outcome, count) in self.auth_counts.logins() {
            let _ = writeln!(
                out,
                "iquivity_logins_total{{outcome=\"{outcome}\"}} {count}"
            );
        }
        describe(
            &mut out,
            "iquivity_login_slowdowns_total",
            "counter",
            "Sign-in answers delayed because their client address made too many attempts.",
        );
        let _ = writeln!(
            out,
            "iquivity_login_slowdowns_total {}",
            self.auth_counts.slowed()
        );
        describe(
            &mut out,
            "iquivity_signups_limited_total",
            "counter",
            "Sign-ups refused because their client address made too many.",
        );
        let _ = writeln!(
            out,
            "iquivity_signups_limited_total {}",
            self.auth_counts.signups_limited()
        );
        Ok(out)
    }
}
