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

/// A file mailed with a notice (a scheduled report).
pub struct NoticeFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl EmailChannel {
    /// Sends a plain-text message with one file attached to each of `to` (one mail per address,
    /// so recipients do not see each other). One attempt each; the first failure is returned
    /// after every address was tried.
    pub async fn send_notice_with_file(
        &self,
        to: &[String],
        subject: &str,
        body: &str,
        file: &NoticeFile,
    ) -> Result<(), String> {
        use lettre::message::header::ContentType;
        use lettre::message::{Attachment, MultiPart, SinglePart};
        let Some(transport) = self.transport.clone() else {
            return Err("no SMTP server is configured (email.smtp_host)".to_owned());
        };
        let from_address: lettre::Address =
            self.settings.from_address.parse().map_err(|error| format!("email.from_address: {error}"))?;
        let content_type = ContentType::parse(&file.content_type).map_err(|error| error.to_string())?;
        let mut first_failure = None;
        for address in to {
            let mail = address.parse::<lettre::Address>().map_err(|error| format!("`{address}`: {error}")).and_then(
                |address| {
                    lettre::Message::builder()
                        .from(Mailbox::new(Some(self.settings.from_name.clone()), from_address.clone()))
                        .to(Mailbox::new(None, address))
                        .subject(subject)
                        .date(std::time::SystemTime::from(self.clock.now()))
                        .multipart(MultiPart::mixed().singlepart(SinglePart::plain(body.to_owned())).singlepart(
                            Attachment::new(file.name.clone()).body(file.bytes.clone(), content_type.clone()),
                        ))
                        .map_err(|error| error.to_string())
                },
            );
            let sent = match mail {
                Ok(mail) => transport.send(mail).await.map_err(|failure| failure.reason),
                Err(error) => Err(error),
            };
            if let Err(error) = sent {
                first_failure.get_or_insert(error);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }
}
