//! The email channel's domain: outbound send attempts, and the pure rules that thread mail to
//! tickets (the `[#123]` subject token, `Re:`/`Fwd:` prefixes, Message-ID shapes). No I/O; the
//! SMTP transport, MIME parsing and the inbox processor live in the server crate.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, Message, TicketId, User};

/// One outbound email's delivery attempts, kept so retries survive restarts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSend {
    pub message_id: String,
    pub account_id: AccountId,
    pub ticket_id: TicketId,
    pub attempts: i64,
    /// Not tried again before this (back-off after a temporary failure).
    pub next_attempt_at: Option<Timestamp>,
    /// The latest failure, in the SMTP server's words.
    pub last_error: Option<String>,
    /// Sent, or failed for good: never tried again.
    pub done: bool,
}

impl EmailSend {
    /// No attempt made yet.
    pub fn fresh(message: &Message) -> EmailSend {
        EmailSend {
            message_id: message.id.clone(),
            account_id: message.account_id,
            ticket_id: message.ticket_id,
            attempts: 0,
            next_attempt_at: None,
            last_error: None,
            done: false,
        }
    }
}

/// The ticket number in a subject's `[#123]` token (the last one wins: replies quote subjects).
pub fn ticket_number_in_subject(subject: &str) -> Option<i64> {
    let mut found = None;
    let mut rest = subject;
    while let Some(start) = rest.find("[#") {
        let after = &rest[start + 2..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        if !digits.is_empty() && after[digits.len()..].starts_with(']') {
            found = digits.parse().ok();
        }
        rest = after;
    }
    found
}

/// A subject without reply and forward prefixes (`Re:`, `RE:`, `Fwd:`, `AW:` …) or the ticket
/// token, for a new ticket's subject.
pub fn clean_subject(subject: &str) -> String {
    let mut text = subject.trim();
    loop {
        let lower = text.to_ascii_lowercase();
        let prefix =
            ["re:", "fw:", "fwd:", "aw:", "wg:", "sv:", "antw:"].iter().find(|prefix| lower.starts_with(**prefix));
        match prefix {
            Some(prefix) => text = text[prefix.len()..].trim_start(),
            None => break,
        }
    }
    let mut cleaned = text.to_owned();
    if let Some(number) = ticket_number_in_subject(&cleaned) {
        cleaned = cleaned.replace(&format!("[#{number}]"), "");
    }
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The subject of a reply on ticket `number`: `Re: <subject> [#number]`, so the customer's answer
/// threads back even when their client drops the headers.
pub fn reply_subject(subject: &str, number: i64) -> String {
    let base = clean_subject(subject);
    let base = if base.is_empty() { "Your request".to_owned() } else { base };
    format!("Re: {base} [#{number}]")
}

/// The Message-ID of an outbound message: derived from its id, so a retry after a crash reuses it
/// and receivers can de-duplicate.
pub fn outbound_message_id(message_id: &str, domain: &str) -> String {
    format!("<{message_id}@{domain}>")
}

/// Message-IDs compare without their angle brackets, case-sensitively on the left part.
pub fn normalise_message_id(id: &str) -> String {
    let trimmed = id.trim().trim_start_matches('<').trim_end_matches('>').trim();
    format!("<{trimmed}>")
}

/// Lower-cased, trimmed address; `None` when it is not one (no `@`, spaces).
pub fn normalise_address(address: &str) -> Option<String> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>').to_lowercase();
    let (local, domain) = address.split_once('@')?;
    let valid = !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace);
    valid.then_some(address)
}

/// Where email to `user` goes: their address, unless it is a placeholder (customers first met on
/// WhatsApp get `…@whatsapp.invalid`).
pub fn address_of(user: &User) -> Option<String> {
    if user.email.ends_with(".invalid") { None } else { normalise_address(&user.email) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_numbers_come_from_the_last_token() {
        assert_eq!(ticket_number_in_subject("Re: Parcel [#42]"), Some(42));
        assert_eq!(ticket_number_in_subject("Fwd: [#1] was merged into [#7]"), Some(7));
        assert_eq!(ticket_number_in_subject("Order #42 [# 3] [#x]"), None);
        assert_eq!(ticket_number_in_subject("no token"), None);
    }

    #[test]
    fn subjects_lose_prefixes_and_tokens() {
        assert_eq!(clean_subject("RE: Fwd:  Where is my parcel? [#12]"), "Where is my parcel?");
        assert_eq!(clean_subject("Reply needed"), "Reply needed");
        assert_eq!(reply_subject("Re: Where is it [#3]", 3), "Re: Where is it [#3]");
        assert_eq!(reply_subject("", 9), "Re: Your request [#9]");
    }

    #[test]
    fn addresses_and_ids_are_normalised() {
        assert_eq!(normalise_address(" <Lia@Example.COM> ").as_deref(), Some("lia@example.com"));
        assert_eq!(normalise_address("not an address"), None);
        assert_eq!(normalise_address("a@localhost"), None);
        assert_eq!(normalise_message_id("abc@x"), "<abc@x>");
        assert_eq!(normalise_message_id(" <abc@x> "), "<abc@x>");
        assert_eq!(outbound_message_id("0192", "hub.test"), "<0192@hub.test>");
    }
}
