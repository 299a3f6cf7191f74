//! `/metrics` from the first second: every series an operator graphs exists at zero on a fresh start,
//! and a manual refresh is counted beside the scheduled ones.

use crate::helpers::*;
use crate::lifecycle::rig;
use iquivity_domain::{AccountStatus, Platform};

/// The value of the series written exactly `series` (name and labels).
fn value_of(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn every_series_is_there_at_zero_on_a_fresh_start() {
    let app = spawn_app().await;
    let text = app.metrics().await;
    let mut expected = Vec::new();
    for platform in Platform::ALL {
        let p = platform.as_str();
        for status in AccountStatus::ALL {
            expected.push(format!(
                "iquivity_accounts{{platform=\"{p}\",status=\"{}\"}}",
                status.as_str()
            ));
        }
        for (check, trigger) in [
            ("refresh", "manual"),
            ("refresh", "scheduled"),
            ("health_check", "scheduled"),
        ] {
            for outcome in ["done", "failed", "rate_limited", "error"] {
                expected.push(format!("iquivity_account_checks_total{{platform=\"{p}\",check=\"{check}\",trigger=\"{trigger}\",outcome=\"{outcome}\"}}"));
            }
        }
    }
    for kind in ["refresh", "health_check", "revoke"] {
        expected.push(format!("iquivity_job_queue_depth{{kind=\"{kind}\"}}"));
        expected.push(format!(
            "iquivity_job_queue_oldest_due_seconds{{kind=\"{kind}\"}}"
        ));
        for outcome in ["done", "retried", "rate_limited", "error", "deferred"] {
            expected.push(format!(
                "iquivity_jobs_total{{kind=\"{kind}\",outcome=\"{outcome}\"}}"
            ));
        }
    }
    for outcome in ["signed_in", "bad_credentials", "locked"] {
        expected.push(format!("iquivity_logins_total{{outcome=\"{outcome}\"}}"));
    }
    expected.extend(
        [
            "iquivity_webhook_deliveries_pending",
            "iquivity_unsaved_renewals",
            "iquivity_login_slowdowns_total",
            "iquivity_signups_limited_total",
        ]
        .map(String::from),
    );
    for series in &expected {
        assert_eq!(value_of(&text, series), Some(0.0), "{series} in:\n{text}");
    }
    assert!(text.contains("# TYPE iquivity_http_request_seconds histogram"));
    // The pool: the reading itself opened a connection; never more than the pool may open.
    let in_use = value_of(&text, "iquivity_db_pool_connections{state=\"in_use\"}").unwrap();
    let idle = value_of(&text, "iquivity_db_pool_connections{state=\"idle\"}").unwrap();
    let max = value_of(&text, "iquivity_db_pool_max_connections").unwrap();
    assert!(in_use + idle >= 1.0 && in_use + idle <= max, "{text}");
}

#[tokio::test]
async fn a_manual_refresh_is_counted_and_requests_by_route_template() {
    let rig = rig().await;
    let x = rig.connect(Platform::X, "Counted").await;
    let series = "iquivity_account_checks_total{platform=\"x\",check=\"refresh\",trigger=\"manual\",outcome=\"done\"}";
    // The registry is the process's: other tests in this binary may have refreshed X already.
    let before = value_of(&rig.app.metrics().await, series).unwrap();
    let (status, _) = rig
        .post_bare(&format!("/api/v1/accounts/{x}/refresh"))
        .await;
    assert!(status.is_success(), "{status}");
    let text = rig.app.metrics().await;
    assert_eq!(value_of(&text, series), Some(before + 1.0), "{text}");
    let route = "iquivity_http_request_seconds_count{method=\"POST\",route=\"/api/v1/accounts/{id}/refresh\",status=\"2xx\"}";
    assert!(value_of(&text, route).is_some_and(|n| n >= 1.0), "{text}");
}
