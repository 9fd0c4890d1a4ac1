//! A ticket's language, for routing it to an agent who writes it: the customer's profile says
//! it when it lists languages; otherwise it is detected (whatlang, offline trigram models) from
//! the customer's first messages. Codes are ISO 639-3 (`eng`, `spa`, `por`), whatlang's own.

use crate::domain::{Message, MessageKind, User};

/// Customer messages read to detect a language: the first few say it; later ones add quotes.
pub const DETECTION_MESSAGES: usize = 3;
/// Fewer letters than this say too little to tell languages apart.
const MIN_LETTERS: usize = 12;

/// Whether `code` is a language the detector knows (an ISO 639-3 code such as `eng`).
pub fn is_language_code(code: &str) -> bool {
    whatlang::Lang::from_code(code).is_some()
}

/// The language's English name (`spa` → "Spanish"), or the code when unknown.
pub fn language_name(code: &str) -> String {
    whatlang::Lang::from_code(code).map_or_else(|| code.to_owned(), |lang| lang.eng_name().to_owned())
}

/// The language of a ticket: the first language of the customer's profile, else the one
/// detected in the customer's first messages of the thread, else unknown. `known` are the
/// languages the team's agents write: detection chooses among them (a Spanish message is never
/// taken for Galician by a team that writes no Galician); empty, among every language.
pub fn ticket_language(customer: Option<&User>, thread: &[Message], known: &[String]) -> Option<String> {
    if let Some(language) = customer.and_then(|customer| customer.languages.first()) {
        return Some(language.clone());
    }
    let text: Vec<&str> = thread
        .iter()
        .filter(|message| message.kind == MessageKind::Customer)
        .take(DETECTION_MESSAGES)
        .map(|message| message.body.as_str())
        .collect();
    detect(&text.join("\n"), known)
}

/// The most likely language of a text among `known` (or all, when empty), when the text has
/// enough letters to tell. whatlang's confidence compares the two likeliest languages, which for
/// close pairs (Spanish and Portuguese) stays low even when the first is right, so the router
/// takes the likeliest and narrows the field instead.
pub fn detect(text: &str, known: &[String]) -> Option<String> {
    if text.chars().filter(|c| c.is_alphabetic()).count() < MIN_LETTERS {
        return None;
    }
    let allowed: Vec<whatlang::Lang> =
        known.iter().filter_map(|code| whatlang::Lang::from_code(code.as_str())).collect();
    let detector =
        if allowed.is_empty() { whatlang::Detector::new() } else { whatlang::Detector::with_allowlist(allowed) };
    detector.detect(text).map(|info| info.lang().code().to_owned())
}
