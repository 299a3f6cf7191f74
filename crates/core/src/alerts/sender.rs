//! The webhook client: its resolver drops every address the policy refuses, so the address connected to is the
//! address checked (see [`super::addresses`]); redirects are never followed and proxies are not used.

use super::addresses::DestinationPolicy;
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
pub struct WebhookSender {
    client: reqwest::Client,
    policy: Arc<DestinationPolicy>,
}

impl WebhookSender {
    pub fn new(policy: DestinationPolicy) -> Result<WebhookSender, ClientBuildError> {
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
        Ok(WebhookSender { client, policy })
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
            WebhookSender::new(DestinationPolicy::new(&[] as &[&str], &[port]).unwrap()).unwrap();
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
            WebhookSender::new(DestinationPolicy::new(&["localhost"], &[port]).unwrap()).unwrap();
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
