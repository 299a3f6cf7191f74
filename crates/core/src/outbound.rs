//! The client for every request the service makes on a user's behalf (webhooks, profile pictures): its
//! resolver drops every address the policy refuses, so the address connected to is the address checked
//! (see [`crate::alerts::addresses`]); redirects are never followed and proxies are not used.

pub use crate::alerts::addresses::*;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// How a delivery failed, as recorded in the delivery log: a class (and the status an endpoint answered
/// with), never error text, which would map the network around the service for whoever reads the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    /// The URL or every address its host resolved to is not allowed.
    RefusedDestination,
    /// No connection (DNS failure, refused, reset, TLS failure).
    ConnectionFailed,
    Timeout,
    /// The endpoint answered with a redirect, which is not followed.
    Redirect(u16),
    /// The endpoint answered with a status other than 2xx or 3xx.
    HttpStatus(u16),
}

impl DeliveryFailure {
    pub fn class(self) -> iquivity_store::FailureClass {
        use iquivity_store::FailureClass;
        match self {
            DeliveryFailure::RefusedDestination => FailureClass::RefusedDestination,
            DeliveryFailure::ConnectionFailed => FailureClass::ConnectionFailed,
            DeliveryFailure::Timeout => FailureClass::Timeout,
            DeliveryFailure::Redirect(_) => FailureClass::Redirect,
            DeliveryFailure::HttpStatus(_) => FailureClass::HttpStatus,
        }
    }

    pub fn status(self) -> Option<u16> {
        match self {
            DeliveryFailure::Redirect(status) | DeliveryFailure::HttpStatus(status) => Some(status),
            _ => None,
        }
    }
}

/// Every address a name resolved to was refused (the resolver's error, found again in reqwest's).
#[derive(Debug, thiserror::Error)]
#[error("no allowed address")]
struct DestinationRefused;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Resolves with the system resolver and keeps only the addresses the policy allows.
struct FilteringResolver {
    policy: Arc<DestinationPolicy>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port on the addresses it gets back.
            let resolved = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| Box::new(e) as BoxError)?;
            let allowed: Vec<_> = resolved
                .filter(|addr| policy.allows_address(&host, addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(DestinationRefused) as BoxError);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client for webhooks could not be built (TLS initialisation failed).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for webhooks")]
pub struct ClientBuildError(#[source] reqwest::Error);

/// Posts to webhook URLs under a [`DestinationPolicy`].
#[derive(Clone)]
pub struct OutboundClient {
    client: reqwest::Client,
    policy: Arc<DestinationPolicy>,
}

impl OutboundClient {
    pub fn new(policy: DestinationPolicy) -> Result<OutboundClient, ClientBuildError> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(FilteringResolver {
                policy: policy.clone(),
            }))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(ClientBuildError)?;
        Ok(OutboundClient { client, policy })
    }

    pub fn policy(&self) -> &DestinationPolicy {
        &self.policy
    }

    /// Posts `body` to `url`; answers the (2xx) status, or how it failed.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
        timeout: Duration,
    ) -> Result<u16, DeliveryFailure> {
        let url = Url::parse(url).map_err(|_| DeliveryFailure::RefusedDestination)?;
        // Again at each delivery: the operator may have narrowed the policy since the webhook was added.
        self.policy
            .check_url(&url)
            .map_err(|_| DeliveryFailure::RefusedDestination)?;
        let mut request = self.client.post(url).timeout(timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Ok(status.as_u16())
                } else if status.is_redirection() {
                    Err(DeliveryFailure::Redirect(status.as_u16()))
                } else {
                    Err(DeliveryFailure::HttpStatus(status.as_u16()))
                }
            }
            Err(err) if caused_by_refusal(&err) => Err(DeliveryFailure::RefusedDestination),
            Err(err) if err.is_timeout() => Err(DeliveryFailure::Timeout),
            Err(_) => Err(DeliveryFailure::ConnectionFailed),
        }
    }
}

/// Why a file could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FetchFailure {
    #[error("the address is not an allowed destination")]
    RefusedDestination,
    #[error("no connection could be made")]
    ConnectionFailed,
    #[error("it did not answer in time")]
    Timeout,
    #[error("it answered with a redirect ({0}), which is not followed")]
    Redirect(u16),
    #[error("it answered with HTTP {0}")]
    HttpStatus(u16),
    #[error("the file is larger than {0} bytes")]
    TooLarge(usize),
}

/// A file as fetched: the type the server said, and the bytes.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl OutboundClient {
    /// Fetches `url` under the policy, reading at most `max_bytes`: a longer file is refused, not cut.
    pub async fn fetch(
        &self,
        url: &str,
        max_bytes: usize,
        timeout: Duration,
    ) -> Result<Fetched, FetchFailure> {
        let url = Url::parse(url).map_err(|_| FetchFailure::RefusedDestination)?;
        self.policy
            .check_url(&url)
            .map_err(|_| FetchFailure::RefusedDestination)?;
        let failed = |err: reqwest::Error| {
            if caused_by_refusal(&err) {
                FetchFailure::RefusedDestination
            } else if err.is_timeout() {
                FetchFailure::Timeout
            } else {
                FetchFailure::ConnectionFailed
            }
        };
        let mut response = self
            .client
            .get(url)
            .timeout(timeout)
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchFailure::Redirect(status.as_u16()));
        }
        if !status.is_success() {
            return Err(FetchFailure::HttpStatus(status.as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes as u64)
        {
            return Err(FetchFailure::TooLarge(max_bytes));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > max_bytes {
                return Err(FetchFailure::TooLarge(max_bytes));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            content_type,
            bytes,
        })
    }
}

fn caused_by_refusal(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if cause.is::<DestinationRefused>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn listener() -> (tokio::net::TcpListener, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        (listener, port)
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_a_refused_address_is_never_connected_to() {
        let (listener, port) = listener().await;
        // The port and the scheme pass; only the address `localhost` resolves to is left to refuse.
        let sender =
            OutboundClient::new(DestinationPolicy::new(&[] as &[&str], &[port]).unwrap()).unwrap();
        let sent = sender
            .post(
                &format!("https://localhost:{port}/hook"),
                &[],
                "{}".into(),
                Duration::from_secs(5),
            )
            .await;
        assert_eq!(sent, Err(DeliveryFailure::RefusedDestination));
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "a connection was made");

        // Allowed by name, the same request does connect (and fails on TLS against a plain listener).
        let sender =
            OutboundClient::new(DestinationPolicy::new(&["localhost"], &[port]).unwrap()).unwrap();
        let sending = tokio::spawn(async move {
            sender
                .post(
                    &format!("https://localhost:{port}/hook"),
                    &[],
                    "{}".into(),
                    Duration::from_secs(5),
                )
                .await
        });
        let (stream, _) = listener.accept().await.unwrap();
        drop(stream);
        assert_eq!(
            sending.await.unwrap(),
            Err(DeliveryFailure::ConnectionFailed)
        );
    }
}
