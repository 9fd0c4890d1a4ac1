//! How codes and links reach people: by email through the email channel's transport (SMTP, or
//! the sandbox mailbox), and by WhatsApp through the channel's Graph API client (Meta, or the
//! sandbox phone) — as text inside the customer's 24-hour window, else as the approved
//! authentication template, the only thing WhatsApp delivers outside it.

use serde_json::{Value, json};
use switchboard_actors::domain::UserId;
use switchboard_actors::store::StoreError;

use super::CustomerAccounts;

/// The WhatsApp template codes go out with outside the window: an authentication template whose
/// body takes the code as `{{1}}` and whose copy-code button takes it too.
pub const CODE_TEMPLATE: &str = "verification_code";
/// The template's language.
pub const CODE_TEMPLATE_LANGUAGE: &str = "en_US";

/// Why a code or link did not go out.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no email transport is configured (email.smtp_host, or email.sandbox)")]
    NoMailTransport,
    #[error("mail: {0}")]
    Mail(String),
    #[error("no WhatsApp number is configured (whatsapp.numbers)")]
    NoWhatsAppNumber,
    #[error("WhatsApp: {0}")]
    WhatsApp(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CustomerAccounts {
    /// Mails `body` to `address` from the support address.
    pub(super) async fn mail(&self, address: &str, subject: &str, body: String) -> Result<(), DeliveryError> {
        self.email.send_notice("", address, subject, body).await.map_err(|reason| {
            if reason.contains("smtp_host") { DeliveryError::NoMailTransport } else { DeliveryError::Mail(reason) }
        })
    }

    /// Sends `code` to WhatsApp number `wa_id`: as text when `customer` (the profile the number
    /// belongs to) has an open window with the hub's number, else as [`CODE_TEMPLATE`].
    pub(super) async fn send_whatsapp_code(
        &self,
        customer: Option<UserId>,
        wa_id: &str,
        code: &str,
    ) -> Result<(), DeliveryError> {
        let conversations = &self.whatsapp.conversations;
        let number = conversations.settings().numbers.first().ok_or(DeliveryError::NoWhatsAppNumber)?;
        let window_open = match customer {
            Some(customer) => self
                .store
                .conversation(number, customer)
                .await?
                .and_then(|conversation| conversation.window_expires_at)
                .is_some_and(|expires| expires > self.clock.now()),
            None => false,
        };
        let body = if window_open { code_text(wa_id, code) } else { code_template(wa_id, code) };
        conversations
            .graph()
            .send(number, &body)
            .await
            .map(|_| ())
            .map_err(|error| DeliveryError::WhatsApp(format!("{} ({}): {}", error.title, error.code, error.details)))
    }
}

/// A code as a text message (inside the window).
fn code_text(wa_id: &str, code: &str) -> Value {
    let text = format!("{code} is your verification code. It expires in 10 minutes. Do not share it with anyone.");
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "text",
           "text": {"preview_url": false, "body": text}})
}

/// A code as the authentication template (outside the window): the code in the body and in
/// the copy-code button, as Meta requires of authentication templates.
fn code_template(wa_id: &str, code: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "template",
    "template": {"name": CODE_TEMPLATE, "language": {"code": CODE_TEMPLATE_LANGUAGE}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": code}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": code}]}
    ]}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_go_as_text_in_the_window_and_as_the_template_outside() {
        let text = code_text("5511987654321", "012345");
        assert_eq!(text["type"], "text");
        assert!(text["text"]["body"].as_str().is_some_and(|body| body.starts_with("012345 ")));
        let template = code_template("5511987654321", "012345");
        assert_eq!(template["type"], "template");
        assert_eq!(template["template"]["name"], CODE_TEMPLATE);
        assert_eq!(template["template"]["components"][0]["parameters"][0]["text"], "012345");
        assert_eq!(template["template"]["components"][1]["parameters"][0]["text"], "012345");
    }
}
