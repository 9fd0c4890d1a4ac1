//! Mail from the hub to its own staff (the notification digest), through the same transport as
//! replies: SMTP, or the sandbox mailbox in development.

use lettre::message::Mailbox;

use super::EmailChannel;

impl EmailChannel {
    /// Sends a plain-text message to a staff member. One attempt: the caller (a durable timer)
    /// tries again on its next round.
    pub async fn send_notice(
        &self,
        to_name: &str,
        to_address: &str,
        subject: &str,
        body: String,
    ) -> Result<(), String> {
        let Some(transport) = self.transport.clone() else {
            return Err("no SMTP server is configured (email.smtp_host)".to_owned());
        };
        let from_address =
            self.settings.from_address.parse().map_err(|error| format!("email.from_address: {error}"))?;
        let to_address = to_address.parse().map_err(|error| format!("`{to_address}`: {error}"))?;
        let mail = lettre::Message::builder()
            .from(Mailbox::new(Some(self.settings.from_name.clone()), from_address))
            .to(Mailbox::new(Some(to_name.to_owned()), to_address))
            .subject(subject)
            .date(std::time::SystemTime::from(self.clock.now()))
            .body(body)
            .map_err(|error| error.to_string())?;
        transport.send(mail).await.map_err(|failure| failure.reason)
    }
}
