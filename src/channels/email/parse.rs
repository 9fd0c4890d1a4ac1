//! Raw RFC 5322 bytes → [`InboundEmail`], with mail-parser: sender, subject, the threading
//! headers, plain text (HTML converted when a message has no text part, quoted history cut off)
//! and attachments.

use mail_parser::{MessageParser, MimeHeaders as _};
use sha2::Digest as _;
use switchboard_actors::email::{normalise_address, normalise_message_id};
use switchboard_actors::ticket::MAX_BODY_BYTES;

/// What the inbox needs from one email.
#[derive(Clone, Debug, PartialEq)]
pub struct InboundEmail {
    /// `<…>`; a message without one gets `<sha256-of-the-bytes@switchboard.invalid>`, so
    /// re-deliveries of it are still recognised.
    pub message_id: String,
    /// Lower-cased.
    pub from_address: String,
    pub from_name: Option<String>,
    pub subject: String,
    pub text: String,
    /// `In-Reply-To` first, then `References` newest first: the order to look threads up in.
    pub thread_ids: Vec<String>,
    pub attachments: Vec<InboundFile>,
    /// `Auto-Submitted` other than `no` (vacation replies, bounces): never answered, never a ticket.
    pub automatic: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InboundFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParseError {
    #[error("not an RFC 5322 message")]
    NotAMessage,
    #[error("the message has no usable From address")]
    NoSender,
}

pub fn parse(raw: &[u8]) -> Result<InboundEmail, ParseError> {
    let message = MessageParser::default().parse(raw).ok_or(ParseError::NotAMessage)?;
    if message.headers().is_empty() {
        return Err(ParseError::NotAMessage);
    }
    let sender = message.from().and_then(|from| from.first()).ok_or(ParseError::NoSender)?;
    let from_address = sender.address().and_then(normalise_address).ok_or(ParseError::NoSender)?;
    let from_name = sender.name().map(str::trim).filter(|name| !name.is_empty()).map(str::to_owned);
    let message_id = match message.message_id() {
        Some(id) if !id.trim().is_empty() => normalise_message_id(id),
        _ => format!("<{}@switchboard.invalid>", hex::encode(sha2::Sha256::digest(raw))),
    };
    let mut thread_ids: Vec<String> = Vec::new();
    let mut push = |id: &str| {
        let id = normalise_message_id(id);
        if id.len() > 2 && !thread_ids.contains(&id) {
            thread_ids.push(id);
        }
    };
    for id in message.in_reply_to().as_text_list().unwrap_or_default() {
        push(id);
    }
    for id in message.references().as_text_list().unwrap_or_default().iter().rev() {
        push(id);
    }
    let text = message.body_text(0).map(|text| text.into_owned()).unwrap_or_default();
    let attachments = message
        .attachments()
        .filter(|part| !part.is_message())
        .enumerate()
        .map(|(index, part)| {
            let content_type =
                part.content_type().map_or("application/octet-stream".to_owned(), |ctype| match ctype.subtype() {
                    Some(subtype) => format!("{}/{}", ctype.ctype(), subtype),
                    None => ctype.ctype().to_owned(),
                });
            InboundFile {
                name: part.attachment_name().map_or_else(|| format!("attachment-{}", index + 1), str::to_owned),
                content_type: content_type.to_lowercase(),
                bytes: part.contents().to_vec(),
            }
        })
        .collect();
    let automatic = message
        .header("Auto-Submitted")
        .and_then(|value| value.as_text())
        .is_some_and(|value| !value.trim().eq_ignore_ascii_case("no"));
    Ok(InboundEmail {
        message_id,
        from_address,
        from_name,
        subject: message.subject().unwrap_or_default().trim().to_owned(),
        text: fit_body(&strip_quoted_history(&text)),
        thread_ids,
        attachments,
        automatic,
    })
}

/// Cuts the quoted history mail clients append to replies: from an "On … wrote:" line followed
/// by `>` lines, or from a run of `>` lines that ends the message. The full message stays in the
/// inbox.
pub fn strip_quoted_history(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut end = lines.len();
    while end > 0 && (lines[end - 1].trim().is_empty() || lines[end - 1].starts_with('>')) {
        end -= 1;
    }
    let quoted_tail = lines[end..].iter().any(|line| line.starts_with('>'));
    if quoted_tail
        && end > 0
        && lines[end - 1].trim_end().ends_with("wrote:")
        && (end == 1 || lines[..end - 1].iter().any(|line| !line.trim().is_empty()))
    {
        end -= 1;
    }
    if !quoted_tail {
        end = lines.len();
    }
    let kept = lines[..end].join("\n");
    let kept = kept.trim();
    if kept.is_empty() { text.trim().to_owned() } else { kept.to_owned() }
}

/// Bodies longer than a message may be are cut (at a character boundary) with a note.
fn fit_body(text: &str) -> String {
    const NOTE: &str = "\n[… cut: the email was longer than a message may be]";
    if text.len() <= MAX_BODY_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_BODY_BYTES - NOTE.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{NOTE}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &[u8] = b"From: Lia Souza <Lia@Example.com>\r\n\
To: support@switchboard.localhost\r\n\
Subject: Re: Parcel missing [#12]\r\n\
Message-ID: <abc-1@mail.example.com>\r\n\
In-Reply-To: <0192@switchboard.localhost>\r\n\
References: <first@mail.example.com> <0192@switchboard.localhost>\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Still nothing arrived.\r\n\
\r\n\
On Mon, 2 Nov 2026, Support wrote:\r\n\
> We shipped it.\r\n\
> Regards\r\n";

    #[test]
    fn headers_text_and_threading() {
        let email = parse(PLAIN).expect("parses");
        assert_eq!(email.message_id, "<abc-1@mail.example.com>");
        assert_eq!(email.from_address, "lia@example.com");
        assert_eq!(email.from_name.as_deref(), Some("Lia Souza"));
        assert_eq!(email.subject, "Re: Parcel missing [#12]");
        assert_eq!(email.text, "Still nothing arrived.");
        assert_eq!(email.thread_ids, vec!["<0192@switchboard.localhost>", "<first@mail.example.com>"]);
        assert!(email.attachments.is_empty());
        assert!(!email.automatic);
    }

    #[test]
    fn html_only_becomes_text_and_attachments_are_kept() {
        let raw = b"From: bob@example.org\r\n\
Subject: Invoice\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<html><body><p>Hello <b>there</b></p><p>Invoice attached.</p></body></html>\r\n\
--b1\r\n\
Content-Type: application/pdf; name=\"invoice.pdf\"\r\n\
Content-Disposition: attachment; filename=\"invoice.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--b1--\r\n";
        let email = parse(raw).expect("parses");
        assert!(email.text.contains("Hello there"), "{}", email.text);
        assert!(email.text.contains("Invoice attached."));
        assert!(!email.text.contains('<'), "no markup left: {}", email.text);
        assert_eq!(email.attachments.len(), 1);
        assert_eq!(email.attachments[0].name, "invoice.pdf");
        assert_eq!(email.attachments[0].content_type, "application/pdf");
        assert_eq!(email.attachments[0].bytes, b"%PDF-1.4\n");
        assert!(email.message_id.ends_with("@switchboard.invalid>"), "synthesised: {}", email.message_id);
        assert_eq!(parse(raw).expect("again").message_id, email.message_id, "stable across re-deliveries");
    }

    #[test]
    fn refusals_and_automatic_mail() {
        assert_eq!(parse(b"Subject: hi\r\n\r\nno sender").map(|_| ()), Err(ParseError::NoSender));
        assert!(parse(b"").is_err());
        let auto = parse(b"From: a@b.example\r\nAuto-Submitted: auto-replied\r\n\r\nOut of office").expect("parses");
        assert!(auto.automatic);
    }

    #[test]
    fn quoted_history_is_cut_only_at_the_end() {
        assert_eq!(strip_quoted_history("Yes\n\n> earlier"), "Yes");
        assert_eq!(strip_quoted_history("> a quote\nmy answer"), "> a quote\nmy answer");
        assert_eq!(strip_quoted_history("> only a quote"), "> only a quote");
        assert_eq!(strip_quoted_history("Thanks!\nOn Tue, Ana wrote:\n> hi"), "Thanks!");
    }
}
