//! Sending through an SMTP server with lettre: STARTTLS, implicit TLS, or (for a relay on the same host
//! or a test sink) plain.

use super::{MailError, MailTransport, Message};
use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
    /// None: only for a relay on the same host or network.
    Plain,
}

impl std::str::FromStr for SmtpTls {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "starttls" => Ok(SmtpTls::StartTls),
            "tls" => Ok(SmtpTls::Implicit),
            "none" => Ok(SmtpTls::Plain),
            other => Err(format!("must be starttls, tls or none (got {other:?})")),
        }
    }
}

#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    /// The sender, e.g. `iQuivity <social@example.com>`.
    pub from: String,
    pub tls: SmtpTls,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from)
            .field("tls", &self.tls)
            .finish()
    }
}

/// `List-Unsubscribe: <address>`, which mail clients show as an unsubscribe button.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(value: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(value.trim_matches(['<', '>']).to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`: the address takes a POST, without a page (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

pub struct SmtpTransport {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("smtp_from is not an address: {e}"))?;
        let builder = match settings.tls {
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
            }
            SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host),
            SmtpTls::Plain => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &settings.host,
            )),
        }
        .map_err(|e| format!("smtp_host: {e}"))?;
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(std::time::Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(SmtpTransport {
            transport: builder.build(),
            from,
        })
    }
}

#[async_trait]
impl MailTransport for SmtpTransport {
    fn delivers(&self) -> bool {
        true
    }

    async fn send(&self, _kind: &str, message: &Message) -> Result<(), MailError> {
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|e| MailError::Rejected(format!("the recipient is not an address: {e}")))?;
        let mut email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject);
        if let Some(address) = &message.list_unsubscribe {
            email = email
                .header(ListUnsubscribe(address.clone()))
                .header(ListUnsubscribePost);
        }
        let email = email
            .multipart(MultiPart::alternative_plain_html(
                message.text.clone(),
                message.html.clone(),
            ))
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            // A permanent refusal (5xx) of this message is final; anything else may pass later.
            Err(e) if e.is_permanent() => Err(MailError::Rejected(e.to_string())),
            Err(e) => Err(MailError::Unavailable(e.to_string())),
        }
    }
}
