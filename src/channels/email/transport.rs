//! Where outbound mail goes: [`SmtpRelay`] (lettre's async SMTP client over rustls) or the
//! sandbox's mailbox. Both answer a send with success or a [`SendFailure`] that says whether
//! trying again can help.

use std::time::Duration;

use async_trait::async_trait;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor};

use crate::config::{EmailSettings, SmtpTls};

/// Why a message was not accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendFailure {
    /// The SMTP reply code (e.g. 550), 0 when the server never answered.
    pub code: i64,
    /// A 5xx refusal: the same message will never be accepted.
    pub permanent: bool,
    /// In the server's (or the network's) words.
    pub reason: String,
}

#[async_trait]
pub trait MailTransport: Send + Sync + 'static {
    async fn send(&self, mail: lettre::Message) -> Result<(), SendFailure>;
}

/// An SMTP server: `starttls` (587), implicit `tls` (465) or plain `none` (local relays).
pub struct SmtpRelay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpRelay {
    pub fn new(settings: &EmailSettings) -> Result<SmtpRelay, lettre::transport::smtp::Error> {
        crate::install_tls_provider();
        let host = settings.smtp_host.as_str();
        let mut builder = match settings.smtp_tls {
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        }
        .port(settings.smtp_port)
        .timeout(Some(Duration::from_secs(settings.smtp_timeout_secs)));
        if !settings.smtp_username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.smtp_username.clone(),
                settings.smtp_password.expose().to_owned(),
            ));
        }
        Ok(SmtpRelay { transport: builder.build() })
    }
}

#[async_trait]
impl MailTransport for SmtpRelay {
    async fn send(&self, mail: lettre::Message) -> Result<(), SendFailure> {
        self.transport.send(mail).await.map(|_| ()).map_err(|error| SendFailure {
            code: error.status().map_or(0, |code| code.to_string().parse().unwrap_or(0)),
            permanent: error.is_permanent(),
            reason: error.to_string(),
        })
    }
}
