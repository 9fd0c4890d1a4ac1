//! The second factor: TOTP codes (RFC 6238 through totp-rs: SHA-1, 6 digits, 30-second steps,
//! one step of skew either way, as every authenticator app expects), the `otpauth://` URI and
//! its QR code as SVG, and single-use recovery codes.
//!
//! Time is the hub's injected clock, never the system's, so tests step through codes with a
//! manual clock. A code is accepted once: `check` answers the step it matched, and the store
//! accepts each step only if it is later than the last one accepted (`SecurityPort::use_totp_step`).

use jiff::Timestamp;
use sha2::{Digest, Sha256};
use switchboard_actors::domain::UserId;
use switchboard_actors::security::SecurityPort;
use switchboard_actors::store::StoreError;
use totp_rs::{Builder, Secret, Totp};

/// What appears as the issuer in authenticator apps.
pub const ISSUER: &str = "Switchboard";
/// Recovery codes handed out when MFA is enabled.
pub const RECOVERY_CODES: usize = 10;
/// Secret bytes: 160 bits, RFC 4226's recommendation (and what apps expect).
const SECRET_BYTES: usize = 20;
/// Random bytes per recovery code: 80 bits, so a SHA-256 of it is as good as a keyed hash.
const RECOVERY_CODE_BYTES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("stored TOTP secret is unusable: {0}")]
    BadSecret(String),
}

/// A new random secret, base32 (what is stored and shown for manual entry).
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    Secret::new_stack(bytes).to_base32()
}

/// The TOTP of a stored secret, labelled with the user's email for the URI.
fn totp(secret: &str, account_name: &str) -> Result<Totp, MfaError> {
    let secret = Secret::try_from_base32(secret).map_err(|error| MfaError::BadSecret(error.to_string()))?;
    // An email has no `:` (the only character the label refuses); an odd one is cut at it.
    let label: String = account_name.split(':').next().unwrap_or_default().to_owned();
    Builder::new()
        .with_secret(secret)
        .with_account_name(label)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|error| MfaError::BadSecret(error.to_string()))
}

/// The `otpauth://totp/…` URI an authenticator app reads.
pub fn otpauth_uri(secret: &str, account_name: &str) -> Result<String, MfaError> {
    totp(secret, account_name)?.to_url().map_err(|error| MfaError::BadSecret(error.to_string()))
}

/// The URI as a QR code, an SVG document (black on white, 4-module quiet zone).
pub fn qr_svg(uri: &str) -> Result<String, MfaError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|error| MfaError::BadSecret(error.to_string()))?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).build())
}

/// The time step `code` is valid for at `now` (± one step), if any. Only six ASCII digits pass.
pub fn check(secret: &str, code: &str, now: Timestamp) -> Result<Option<i64>, MfaError> {
    let seconds = u64::try_from(now.as_second()).unwrap_or_default();
    let totp = totp(secret, "")?;
    Ok(totp.check(code, seconds).and_then(|step| i64::try_from(step).ok()))
}

/// The code for `now` (tests and the demo play the authenticator app with it).
pub fn code_at(secret: &str, now: Timestamp) -> Result<String, MfaError> {
    let seconds = u64::try_from(now.as_second()).unwrap_or_default();
    Ok(totp(secret, "")?.generate(seconds).to_string())
}

/// Ten new recovery codes as shown once (`abcd-efgh-ijkl-mnop`, lower-case base32).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; RECOVERY_CODE_BYTES];
            rand::fill(&mut bytes);
            let text = Secret::new(Box::from(bytes.as_slice())).to_base32().to_lowercase();
            let groups: Vec<&str> =
                text.as_bytes().chunks(4).filter_map(|chunk| std::str::from_utf8(chunk).ok()).collect();
            groups.join("-")
        })
        .collect()
}

/// A recovery code's normal form: lower-case, without spaces and dashes.
fn normal_recovery_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

/// What is stored of a recovery code.
pub fn recovery_code_hash(code: &str) -> Vec<u8> {
    Sha256::digest(normal_recovery_code(code).as_bytes()).to_vec()
}

/// How a second factor was proved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proof {
    Totp,
    RecoveryCode,
}

/// Checks `code` as the user's second factor at `now`: six digits are a TOTP code (each step
/// accepted once), anything else a recovery code (each used once). `None`: wrong, reused or no
/// MFA enabled.
pub async fn verify(
    store: &dyn SecurityPort,
    user: UserId,
    code: &str,
    now: Timestamp,
) -> Result<Option<Proof>, VerifyError> {
    let Some(enrolment) = store.totp_enrolment(user).await?.filter(|enrolment| enrolment.enabled()) else {
        return Ok(None);
    };
    let code = code.trim();
    if code.len() == 6 && code.bytes().all(|byte| byte.is_ascii_digit()) {
        let Some(step) = check(&enrolment.secret, code, now)? else { return Ok(None) };
        return Ok(store.use_totp_step(user, step).await?.then_some(Proof::Totp));
    }
    if normal_recovery_code(code).len() != 16 {
        return Ok(None);
    }
    Ok(store.use_recovery_code(user, &recovery_code_hash(code)).await?.then_some(Proof::RecoveryCode))
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mfa(#[from] MfaError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_its_neighbours_only() {
        let secret = new_secret();
        assert_eq!(secret.len(), 32, "160 bits in base32");
        let now = Timestamp::from_second(1_800_000_015).expect("time");
        let step = 1_800_000_015 / 30;
        let code = code_at(&secret, now).expect("code");
        assert_eq!(check(&secret, &code, now).expect("check"), Some(step));
        let later = now.checked_add(jiff::SignedDuration::from_secs(30)).expect("later");
        assert_eq!(check(&secret, &code, later).expect("check"), Some(step), "one step of skew");
        let much_later = now.checked_add(jiff::SignedDuration::from_secs(90)).expect("later");
        assert_eq!(check(&secret, &code, much_later).expect("check"), None);
        assert_eq!(check(&secret, "12345", now).expect("check"), None);
        assert_eq!(check(&secret, "+12345", now).expect("check"), None);
    }

    #[test]
    fn the_rfc_6238_vector_holds() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the last six are ours.
        let secret = Secret::new(Box::from(b"12345678901234567890".as_slice())).to_base32();
        assert_eq!(code_at(&secret, Timestamp::from_second(59).expect("time")).expect("code"), "287082");
    }

    #[test]
    fn the_uri_and_qr_name_the_issuer_and_user() {
        let secret = new_secret();
        let uri = otpauth_uri(&secret, "ana@example.com").expect("uri");
        assert!(uri.starts_with("otpauth://totp/Switchboard:ana%40example.com?secret="), "{uri}");
        assert!(uri.contains("issuer=Switchboard"), "{uri}");
        let svg = qr_svg(&uri).expect("svg");
        assert!(svg.contains("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        assert_eq!(codes.iter().collect::<std::collections::HashSet<_>>().len(), RECOVERY_CODES);
        let code = &codes[0];
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(recovery_code_hash(code), recovery_code_hash(&code.replace('-', " ").to_uppercase()));
    }
}
