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
        for row in &store.accounts {
            let _ = writeln!(
                out,
                "iquivity_accounts{{platform=\"{}\",status=\"{}\"}} {}",
                row.platform, row.status, row.count
            );
        }
        let _ = writeln!(out, "# HELP iquivity_jobs_total Lifecycle jobs run, by kind and outcome (done, retried, rate_limited, error).");
        let _ = writeln!(out, "# TYPE iquivity_jobs_total counter");
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
        let _ = writeln!(
            out,
            "# HELP iquivity_job_queue_depth Unfinished lifecycle jobs by kind."
        );
        let _ = writeln!(out, "# TYPE iquivity_job_queue_depth gauge");
        let _ = writeln!(out, "# HELP iquivity_job_queue_oldest_due_seconds How long the oldest due job of a kind has waited.");
        let _ = writeln!(out, "# TYPE iquivity_job_queue_oldest_due_seconds gauge");
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
