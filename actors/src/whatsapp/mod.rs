//! The WhatsApp channel's domain: what a webhook means once parsed (inbound messages, statuses,
//! errors), the 24-hour customer service window, and the ConversationActor that serialises one
//! customer's traffic on one business number.

pub mod conversation;
pub mod window;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, DeliveryError, DeliveryStatus, TicketId, UserId};

/// The customer as a webhook identifies them. Keyed on the business-scoped user id (BSUID) when
/// present, else the wa_id; both are kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhatsAppUser {
    pub wa_id: Option<String>,
    pub user_id: Option<String>,
    pub name: Option<String>,
}

impl WhatsAppUser {
    /// The key customers are found by: BSUID first, wa_id otherwise.
    pub fn key(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.wa_id.as_deref())
    }

    /// The addresses a known customer is looked up by, in order: the key, then the wa_id (a
    /// customer first met before Meta sent BSUIDs is known by their wa_id only). Each address
    /// once: without a BSUID the key is the wa_id, looked up once.
    pub fn lookup(&self) -> Vec<&str> {
        let wa_id = self.wa_id.as_deref().filter(|wa_id| Some(*wa_id) != self.key());
        self.key().into_iter().chain(wa_id).collect()
    }

    /// Every identifier the sender is named by (BSUID, wa_id), recorded as their addresses.
    pub fn addresses(&self) -> Vec<&str> {
        [self.user_id.as_deref(), self.wa_id.as_deref()].into_iter().flatten().collect()
    }

    /// Whether the sender's ids have the shapes Meta documents: a `wa_id` of digits, a BSUID of a
    /// country code, a dot and letters or digits (`US.13491208655302741918`), and at least one
    /// of them. Anything else is not from Meta and names no customer.
    pub fn check(&self) -> Result<(), String> {
        if let Some(wa_id) = &self.wa_id
            && (wa_id.is_empty() || wa_id.len() > 20 || !wa_id.bytes().all(|byte| byte.is_ascii_digit()))
        {
            return Err(format!("`from` {:?} is not a WhatsApp id (digits)", truncated(wa_id, 40)));
        }
        if let Some(user_id) = &self.user_id {
            let shaped = user_id.split_once('.').is_some_and(|(country, rest)| {
                country.len() == 2
                    && country.bytes().all(|byte| byte.is_ascii_uppercase())
                    && (1..=64).contains(&rest.len())
                    && rest.bytes().all(|byte| byte.is_ascii_alphanumeric())
            });
            if !shaped {
                return Err(format!("`from_user_id` {:?} is not a business-scoped user id", truncated(user_id, 40)));
            }
        }
        if self.key().is_none() {
            return Err("the message names no sender".to_owned());
        }
        Ok(())
    }
}

/// Longest text WhatsApp carries in one message (Meta's limit; the hub keeps no more).
pub const MAX_TEXT_CHARS: usize = 4096;

/// A message body cut to [`MAX_TEXT_CHARS`], with a note saying so (never dropped silently).
pub fn fit_text(body: String) -> String {
    let length = body.chars().count();
    if length <= MAX_TEXT_CHARS {
        return body;
    }
    let kept: String = body.chars().take(MAX_TEXT_CHARS).collect();
    format!("{kept}\n\n[Truncated: the message had {length} characters; WhatsApp carries at most {MAX_TEXT_CHARS}.]")
}

fn truncated(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// Media the customer sent; the bytes are fetched from the Graph API after the message is stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MediaRef {
    pub kind: String,
    pub media_id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub voice: bool,
}

/// One inbound message, normalised.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    pub phone_number_id: String,
    pub wamid: String,
    pub from: WhatsAppUser,
    /// Meta's timestamp of the message: the window runs from here, not from arrival.
    pub timestamp: Timestamp,
    /// The `type` as Meta sent it (`unsupported` for anything this hub does not know).
    pub kind: String,
    /// What an agent reads: the text, caption, or a rendering of the content.
    pub body: String,
    /// The content as structured data (type-specific fields, `context`, `referral`, forwarding).
    pub payload: serde_json::Value,
    pub media: Option<MediaRef>,
    /// Whether this message opens or renews the customer service window. Reactions, system and
    /// unsupported messages do not (the reference: be conservative).
    pub renews_window: bool,
    /// `system` messages that move the customer to a new wa_id / BSUID.
    pub identity_change: Option<WhatsAppUser>,
}

/// A status for a message the hub sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub phone_number_id: String,
    pub wamid: String,
    pub status: DeliveryStatus,
    pub timestamp: Timestamp,
    pub recipient: WhatsAppUser,
    pub error: Option<DeliveryError>,
}

/// An error about the channel rather than a message (`value.errors[]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChannelError {
    pub phone_number_id: String,
    pub error: DeliveryError,
}

/// A marketing opt-out or resume (`user_preferences`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreferenceChange {
    pub phone_number_id: String,
    pub user: WhatsAppUser,
    pub opted_out: bool,
}

/// Everything one webhook payload carried, in order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    pub errors: Vec<ChannelError>,
    pub preferences: Vec<PreferenceChange>,
    /// `message_template_status_update`: (name, language, new status).
    pub template_statuses: Vec<(String, String, String)>,
    /// Changes of fields this hub does not act on (kept for the log).
    pub ignored: Vec<String>,
    /// Messages refused for what they are (e.g. a sender id of the wrong shape), with why; the
    /// reasons are recorded on the webhook's inbox row.
    pub rejected: Vec<String>,
}

/// One customer on one business number: the window, the current ticket, opt-out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: i64,
    pub account_id: AccountId,
    pub phone_number_id: String,
    pub customer_id: UserId,
    /// The customer's WhatsApp number (digits), when known.
    pub wa_id: Option<String>,
    /// BSUID when known, else the wa_id.
    pub user_key: String,
    /// The 24-hour customer service window ends here (`None`: never opened).
    pub window_expires_at: Option<Timestamp>,
    pub last_inbound_at: Option<Timestamp>,
    pub current_ticket_id: Option<TicketId>,
    /// Opted out of marketing templates (stop keyword or `user_preferences`).
    pub opted_out: bool,
    /// Click-to-WhatsApp ad attribution of the first message, if any.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub referral: Option<serde_json::Value>,
    pub updated_at: Timestamp,
}

/// A conversation as the console lists it: with the customer's name and the newest message of
/// its current ticket that is not an internal note.
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationOverview {
    pub conversation: Conversation,
    pub customer_name: String,
    pub last_message: Option<crate::domain::Message>,
}

/// An approved (or not) message template, as synced from the Graph API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub name: String,
    pub language: String,
    pub category: String,
    /// `APPROVED` is the only status that can be sent.
    pub status: String,
    /// The body text with `{{1}}`, `{{2}}` … placeholders.
    pub body: String,
    pub parameter_count: i64,
}

/// What the Graph API says about one business number (`GET /{phone_number_id}`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberProfile {
    pub display_phone_number: Option<String>,
    /// The business name Meta verified for the number.
    pub verified_name: Option<String>,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN`.
    pub quality_rating: Option<String>,
    /// Review state of the display name (`APPROVED`, `PENDING_REVIEW` …).
    pub name_status: Option<String>,
    pub code_verification_status: Option<String>,
}

impl Template {
    pub fn sendable(&self) -> bool {
        self.status == "APPROVED"
    }

    /// The body with positional parameters filled in.
    pub fn render(&self, parameters: &[String]) -> String {
        let mut text = self.body.clone();
        for (index, value) in parameters.iter().enumerate() {
            text = text.replace(&format!("{{{{{}}}}}", index + 1), value);
        }
        text
    }
}

/// Progress of sending one outbound message through the Graph API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendState {
    pub message_id: String,
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub attempts: i64,
    pub next_attempt_at: Option<Timestamp>,
    pub wamid: Option<String>,
    /// Sent, or failed for good: never tried again.
    pub done: bool,
}

impl SendState {
    /// No attempt made yet.
    pub fn fresh(message: &crate::domain::Message) -> SendState {
        SendState {
            message_id: message.id.clone(),
            account_id: message.account_id,
            ticket_id: message.ticket_id,
            attempts: 0,
            next_attempt_at: None,
            wamid: None,
            done: false,
        }
    }
}

/// Plain-words meaning of a Graph API error code for agents, and whether sending may be retried
/// (reference §3.4).
pub fn explain(code: i64) -> (&'static str, bool) {
    match code {
        130429 => ("Sending too fast for this number; retrying shortly.", true),
        131056 => ("Too many messages to this customer in a short time; retrying shortly.", true),
        131016 | 131057 | 1 | 2 => ("WhatsApp is temporarily unavailable; retrying.", true),
        131000 => ("WhatsApp reported an unknown error; retrying a few times.", true),
        4 | 80007 => ("The app hit WhatsApp's API rate limit; retrying later.", true),
        131047 => ("More than 24 hours since the customer last wrote: send an approved template instead.", false),
        131026 => ("Undeliverable: not a WhatsApp number, or the customer has not accepted WhatsApp's terms.", false),
        131050 => ("The customer stopped marketing messages from this business.", false),
        131049 => (
            "WhatsApp held it back to protect the customer from too many marketing messages; try again tomorrow.",
            false,
        ),
        131048 => ("Spam rate limit reached: outreach is paused until the number's quality recovers.", false),
        131052 => ("The customer's file could not be downloaded; ask them to send it again.", false),
        131053 => ("The file type is not accepted by WhatsApp or does not match its content.", false),
        131051 => ("WhatsApp does not support this message type.", false),
        131009 => {
            ("A value in the message was not valid (for example a reaction to an old or unknown message).", false)
        }
        132000 | 132001 | 132005 | 132007 | 132012 | 132015 | 132016 => {
            ("The template could not be used (missing, not approved, paused, or wrong parameters).", false)
        }
        0 | 190 => ("The WhatsApp access token is invalid or expired: an admin must replace it.", false),
        368 | 131031 => ("The WhatsApp business account is restricted: sending is stopped.", false),
        131042 => ("A billing problem on the WhatsApp business account blocks sending.", false),
        _ => ("WhatsApp refused the message.", false),
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;

    fn user(wa_id: Option<&str>, user_id: Option<&str>) -> WhatsAppUser {
        WhatsAppUser { wa_id: wa_id.map(str::to_owned), user_id: user_id.map(str::to_owned), name: None }
    }

    #[test]
    fn only_documented_sender_ids_are_accepted() {
        assert!(user(Some("16505551234"), None).check().is_ok());
        assert!(user(None, Some("US.13491208655302741918")).check().is_ok());
        assert!(user(Some("16505551234"), Some("BR.abc123XYZ")).check().is_ok());
        for (wa_id, user_id) in [
            (Some("+16505551234"), None),
            (Some("1650 555"), None),
            (Some("../../etc"), None),
            (Some(""), None),
            (Some("1234567890123456789012"), None),
            (None, Some("us.123")),
            (None, Some("US-123")),
            (None, Some("US.")),
            (None, Some("US.12<script>")),
            (None, None),
        ] {
            assert!(user(wa_id, user_id).check().is_err(), "{wa_id:?} {user_id:?} must be refused");
        }
    }

    #[test]
    fn a_sender_is_looked_up_by_each_address_once() {
        assert_eq!(user(Some("16505551234"), None).lookup(), ["16505551234"]);
        assert_eq!(user(None, Some("US.1349")).lookup(), ["US.1349"]);
        assert_eq!(user(Some("16505551234"), Some("US.1349")).lookup(), ["US.1349", "16505551234"]);
    }

    #[test]
    fn long_text_is_cut_with_a_note() {
        assert_eq!(fit_text("short".to_owned()), "short");
        let long = "é".repeat(MAX_TEXT_CHARS + 10);
        let fitted = fit_text(long);
        assert!(fitted.starts_with(&"é".repeat(MAX_TEXT_CHARS)));
        assert!(
            fitted.ends_with("[Truncated: the message had 4106 characters; WhatsApp carries at most 4096.]"),
            "{fitted}"
        );
    }
}
