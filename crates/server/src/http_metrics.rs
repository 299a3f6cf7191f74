//! HTTP requests by method, route template and status class, with their latency, for `/metrics`. Route
//! templates (`/api/v1/accounts/{id}`), never paths, so that ids do not make a series each.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use iquivity_core::metrics::Exposition;
use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 9] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default, Clone)]
struct Stats {
    count: u64,
    seconds: f64,
    /// Requests at or under each bound of [`BUCKETS`].
    buckets: [u64; BUCKETS.len()],
}

/// (method, route, status class) → what was seen.
type Table = BTreeMap<(String, String, &'static str), Stats>;

fn table() -> &'static Mutex<Table> {
    static TABLE: OnceLock<Mutex<Table>> = OnceLock::new();
    TABLE.get_or_init(Mutex::default)
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Times one request to a matched route.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let took = started.elapsed().as_secs_f64();
    let class = status_class(response.status().as_u16());
    let mut table = table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stats = table.entry((method, route, class)).or_default();
    stats.count += 1;
    stats.seconds += took;
    for (bucket, bound) in stats.buckets.iter_mut().zip(BUCKETS) {
        if took <= bound {
            *bucket += 1;
        }
    }
    response
}

/// Appends the requests histogram.
pub(crate) fn render(out: &mut Exposition) {
    let snapshot = table()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    out.family(
        "iquivity_http_request_seconds",
        "histogram",
        "HTTP requests by method, route template and status class, with their latency.",
    );
    for ((method, route, class), stats) in snapshot {
        out.histogram(
            "iquivity_http_request_seconds",
            &[("method", &method), ("route", &route), ("status", class)],
            BUCKETS.into_iter().zip(stats.buckets),
            stats.seconds,
            stats.count,
        );
    }
}
