//! One-time codes as pure code: six random digits, their keyed hash (what the store keeps), the
//! constant-time comparison, and the normal forms of what a code is sent to.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use switchboard_actors::customer_auth::CodePurpose;

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// A fresh code: six digits, uniformly drawn from the thread's CSPRNG (leading zeros kept).
pub fn new_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// What the store keeps of `code`: HMAC-SHA256 under the install's key over the purpose, the
/// destination and the code. A plain hash of six digits is undone by trying a million; the key
/// lives apart from the codes' table (generated once per install), and binding purpose and
/// destination means a code stored for one use never matches another.
pub fn code_hash(key: &[u8], purpose: CodePurpose, destination: &str, code: &str) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return Vec::new() };
    for part in [purpose.as_str(), destination, code] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether two hashes are equal, in time that does not depend on where they differ.
pub fn same_hash(stored: &[u8], offered: &[u8]) -> bool {
    !stored.is_empty() && bool::from(stored.ct_eq(offered))
}

/// A code as typed (spaces and dashes people copy along are dropped), if it is six digits.
pub fn typed_code(text: &str) -> Option<String> {
    let code: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    (code.len() == CODE_DIGITS && code.bytes().all(|byte| byte.is_ascii_digit())).then_some(code)
}

/// An email address as accounts are keyed: trimmed, lower case.
pub fn email_key(text: &str) -> String {
    text.trim().to_lowercase()
}

/// A phone number as WhatsApp names it (the wa_id): its digits, with country code, 8 to 15 of
/// them (E.164); `+`, spaces, dashes, dots and brackets are dropped, anything else refused.
pub fn phone_digits(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')')) {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    ((8..=15).contains(&digits.len()) && !digits.starts_with('0')).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_vary() {
        let codes: Vec<String> = (0..50).map(|_| new_code()).collect();
        assert!(codes.iter().all(|code| typed_code(code).as_deref() == Some(code.as_str())), "{codes:?}");
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert!(distinct.len() > 40, "{codes:?}");
    }

    #[test]
    fn hashes_bind_key_purpose_destination_and_code() {
        let hash = code_hash(b"key", CodePurpose::Login, "email:a@example.com", "123456");
        assert_eq!(hash.len(), 32);
        assert!(same_hash(&hash, &code_hash(b"key", CodePurpose::Login, "email:a@example.com", "123456")));
        for other in [
            code_hash(b"other", CodePurpose::Login, "email:a@example.com", "123456"),
            code_hash(b"key", CodePurpose::Register, "email:a@example.com", "123456"),
            code_hash(b"key", CodePurpose::Login, "email:b@example.com", "123456"),
            code_hash(b"key", CodePurpose::Login, "email:a@example.com", "123457"),
            // Length prefixes: moving a character from one part to the next changes the hash.
            code_hash(b"key", CodePurpose::Login, "email:a@example.com1", "23456"),
        ] {
            assert!(!same_hash(&hash, &other));
        }
        assert!(!same_hash(&[], &[]), "an empty stored hash matches nothing");
    }

    #[test]
    fn typed_codes_and_addresses_normalise() {
        assert_eq!(typed_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(typed_code("123-456").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(typed_code(bad), None, "{bad}");
        }
        assert_eq!(email_key("  Ana@Example.COM "), "ana@example.com");
        assert_eq!(phone_digits("+55 (11) 98765-4321").as_deref(), Some("5511987654321"));
        for bad in ["", "1234567", "+0123456789", "5511abc87654321", "1234567890123456"] {
            assert_eq!(phone_digits(bad), None, "{bad}");
        }
    }
}
