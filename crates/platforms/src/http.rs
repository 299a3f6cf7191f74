//! The one HTTP client every adapter uses, for the real platforms and the sandbox alike.

use crate::error::{Delivery, ErrorClass, PlatformError};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// A platform's answer, read in full.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as `T`. A garbled success is the platform failing, not us; and since it said success,
    /// what it did is unknown rather than undone.
    pub fn json<T: DeserializeOwned>(&self, platform: &'static str) -> Result<T, PlatformError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let delivery = if self.status.is_success() {
                Delivery::Accepted
            } else {
                Delivery::Answered
            };
            PlatformError::undelivered(
                platform,
                delivery,
                format!("the platform answered with something that is not the expected JSON ({e})"),
            )
        })
    }
}

/// The client every adapter shares; `timeout` bounds a whole call.
pub(crate) fn client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("iquivity-social/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// Sends and reads the answer. A connection that fails or times out is "platform unavailable", with how
/// far the request got.
pub(crate) async fn send(
    platform: &'static str,
    request: RequestBuilder,
) -> Result<Answer, PlatformError> {
    let started = std::time::Instant::now();
    let answer = exchange(platform, request).await;
    let outcome = match &answer {
        Ok(a) if a.status.is_success() => "ok".to_string(),
        Ok(a) => format!("http_{}", a.status.as_u16()),
        Err(e) => e.class.label().to_string(),
    };
    crate::telemetry::record(platform, &outcome, started.elapsed());
    answer
}

async fn exchange(
    platform: &'static str,
    request: RequestBuilder,
) -> Result<Answer, PlatformError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(platform, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(platform, &e))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

fn transport_error(platform: &'static str, err: &reqwest::Error) -> PlatformError {
    // Only the kind of failure: reqwest's message may carry the URL, and Meta URLs carry secrets.
    // A failed or timed-out connect sent nothing. Once connected, the request may be on the wire: a
    // timeout or a dropped connection cannot tell whether the platform got it, so it is taken to have.
    let (delivery, what) = if err.is_connect() {
        (Delivery::Unreached, "could not be reached")
    } else if err.is_timeout() {
        (Delivery::TimedOut, "did not answer in time")
    } else {
        (
            Delivery::BrokenOff,
            "broke off the connection before answering in full",
        )
    };
    PlatformError::undelivered(platform, delivery, format!("the platform {what}"))
}

/// Sends and demands a success; any other answer is turned into an error by the platform's own rules.
pub(crate) async fn send_ok(
    platform: &'static str,
    request: RequestBuilder,
    classify: impl FnOnce(&Answer) -> PlatformError,
) -> Result<Answer, PlatformError> {
    let answer = send(platform, request).await?;
    if answer.status.is_success() {
        Ok(answer)
    } else {
        Err(classify(&answer))
    }
}

/// Sends, demands a success and reads the body as `T`.
pub(crate) async fn send_json<T: DeserializeOwned>(
    platform: &'static str,
    request: RequestBuilder,
    classify: impl FnOnce(&Answer) -> PlatformError,
) -> Result<T, PlatformError> {
    send_ok(platform, request, classify).await?.json(platform)
}

/// How long to wait between looks at a publish that the platform is still processing.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// How many looks before giving up on it (about four seconds).
pub(crate) const MAX_POLLS: u32 = 20;

/// A canned answer, for the adapters' classification tests.
#[cfg(test)]
pub(crate) fn canned(status: u16, body: &str, headers: HeaderMap) -> Answer {
    Answer {
        status: StatusCode::from_u16(status).expect("a valid status"),
        headers,
        body: body.as_bytes().to_vec(),
    }
}

/// The class of a failure that a platform's own error body did not settle.
pub(crate) fn class_from_status(status: StatusCode) -> ErrorClass {
    match status.as_u16() {
        401 => ErrorClass::TokenExpired,
        403 => ErrorClass::MissingPermission { scopes: Vec::new() },
        429 => ErrorClass::RateLimited { until: None },
        500..=599 => ErrorClass::Unavailable,
        _ => ErrorClass::Rejected,
    }
}

/// Splits a scope string that may use commas or spaces (platforms differ, and some URL-encode spaces).
pub(crate) fn split_scopes(raw: &str) -> Vec<String> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Seconds from now as an instant.
pub(crate) fn in_seconds(seconds: Option<i64>) -> Option<chrono::DateTime<chrono::Utc>> {
    seconds
        .filter(|s| *s > 0)
        .map(|s| chrono::Utc::now() + chrono::Duration::seconds(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_was_never_sent() {
        // A port that was free a moment ago: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let request = client(Duration::from_secs(5)).get(format!("http://127.0.0.1:{port}/"));
        let err = send("test", request).await.err().expect("no answer");
        assert_eq!(err.delivery, Delivery::Unreached);
        assert_eq!(err.class, ErrorClass::Unavailable);
        assert!(!err.may_have_taken_effect());
    }

    #[tokio::test]
    async fn a_request_left_unanswered_may_have_taken_effect() {
        // Takes the connection and reads the request, but never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a listener");
        let port = listener.local_addr().expect("an address").port();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("a connection");
            tokio::time::sleep(Duration::from_secs(10)).await;
            drop(socket);
        });
        let request =
            client(Duration::from_millis(300)).post(format!("http://127.0.0.1:{port}/publish"));
        let err = send("test", request).await.err().expect("no answer");
        server.abort();
        assert_eq!(err.delivery, Delivery::TimedOut);
        assert_eq!(err.class, ErrorClass::Unavailable);
        assert!(err.may_have_taken_effect());
    }

    /// A server that reads one request, writes `answer` and closes the connection.
    async fn answering(answer: &'static [u8]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a listener");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            socket.write_all(answer).await.expect("written");
        });
        port
    }

    #[tokio::test]
    async fn a_connection_dropped_mid_answer_may_have_taken_effect() {
        let port = answering(b"HTTP/1.1 201 Created\r\ncontent-length: 40\r\n\r\n{\"id\":").await;
        let request = client(Duration::from_secs(5)).post(format!("http://127.0.0.1:{port}/"));
        let err = send("test", request).await.err().expect("no whole answer");
        assert_eq!(err.delivery, Delivery::BrokenOff);
        assert!(err.delivery.was_sent());
        assert!(err.may_have_taken_effect());
    }

    #[tokio::test]
    async fn an_unreadable_success_was_accepted_and_an_unreadable_failure_answered() {
        let port = answering(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n<html>").await;
        let request = client(Duration::from_secs(5)).post(format!("http://127.0.0.1:{port}/"));
        let err = send_json::<serde_json::Value>("test", request, |_| {
            PlatformError::new("test", ErrorClass::Rejected, "not a success")
        })
        .await
        .expect_err("not JSON");
        assert_eq!(err.delivery, Delivery::Accepted);
        assert!(err.may_have_taken_effect());

        let refused = canned(400, "<html>", HeaderMap::new());
        let err = refused
            .json::<serde_json::Value>("test")
            .expect_err("not JSON");
        assert_eq!(err.delivery, Delivery::Answered);
        assert!(!err.may_have_taken_effect());
    }

    #[test]
    fn an_answered_failure_says_so() {
        let err = PlatformError::new("test", ErrorClass::Rejected, "no");
        assert_eq!(err.delivery, Delivery::Answered);
        assert!(!err.may_have_taken_effect());
    }
}
