//! Secrets at rest (issue 17 item 8): every secret the hub keeps in its database — the
//! generated channel and sandbox secrets (`generated_secrets`), TOTP seeds (`user_totp`),
//! outbound webhook secrets (`webhooks`) and automation rules' webhook secrets (inside
//! `automation_rules.rule`) — is stored sealed with XChaCha20-Poly1305 under the install's
//! master key, so a copy of the database (a backup, a dump, a stolen disk) holds none of them.
//!
//! A sealed value is text: `sb1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`. `sb1` is the
//! format (XChaCha20-Poly1305, a random 24-byte nonce, the column's name as associated data, so
//! a sealed value copied into another column does not open); the key id names the key that
//! sealed it (the first 4 bytes of a SHA-256 over the key, in hex), which is what lets
//! `switchboard keys rotate` find what is still under an old key and lets startup say which key
//! a database wants.
//!
//! The master key comes from `security.master_key` (`SWITCHBOARD__SECURITY__MASTER_KEY`, 32
//! bytes as base64 or hex) or, when that is empty, from a key file created on first run with
//! mode 0600 ([`key_file`]). The store seals on every write and opens on every read of the
//! columns in [`SEALED_COLUMNS`]; callers above the store see plaintext only.
//!
//! **Adding a secret column**, in three lines (as the SSO client secret did):
//! 1. a constant beside the others, e.g. `pub const SSO_CLIENT_SECRETS: SealedColumn =
//!    SealedColumn { table: "sso_settings", key: "account_id", column: "client_secret",
//!    shape: Shape::Text };` (`key`: a column naming one row; the secret column is text, NULL
//!    allowed), and that constant in [`SEALED_COLUMNS`]: the startup sweep then seals the rows
//!    already there and `keys rotate` moves them;
//! 2. in the store's SQL (inside the `shared_sql!` expansion, where `self.secrets` is the
//!    node's [`Keyring`]), bind `self.seal(&crate::secrets::SSO_CLIENT_SECRETS, plaintext)`
//!    when writing the column;
//! 3. read it with `open_secret(&self.secrets, &crate::secrets::SSO_CLIENT_SECRETS, &stored)?`
//!    (a `StoreResult<String>`).
//!
//! `storage/sql/webhooks.rs` and `security.rs` are whole examples. Outside the store,
//! [`Keyring::seal`] / [`Keyring::open`] are the same operations on a [`Sealed`] value.

pub mod key_file;
pub mod rotate;

use std::fmt;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::Digest as _;
use zeroize::Zeroizing;

/// The format tag every sealed value starts with.
pub const FORMAT: &str = "sb1";

/// Bytes in a master key.
pub const KEY_BYTES: usize = 32;

const NONCE_BYTES: usize = 24;

/// Where a sealed secret lives: the table, the column that identifies a row, the column
/// holding the secret, and how the secret sits in it. The `table.column` pair is the sealed
/// value's associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedColumn {
    pub table: &'static str,
    pub key: &'static str,
    pub column: &'static str,
    pub shape: Shape,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The column is the sealed value.
    Text,
    /// The column is an automation rule (JSON); each `then[].webhook.secret` is a sealed value.
    RuleWebhookSecrets,
}

impl SealedColumn {
    /// `table.column`, the associated data of its sealed values.
    pub fn name(&self) -> String {
        format!("{}.{}", self.table, self.column)
    }
}

pub const GENERATED_SECRETS: SealedColumn =
    SealedColumn { table: "generated_secrets", key: "name", column: "value", shape: Shape::Text };
pub const TOTP_SECRETS: SealedColumn =
    SealedColumn { table: "user_totp", key: "user_id", column: "secret", shape: Shape::Text };
pub const WEBHOOK_SECRETS: SealedColumn =
    SealedColumn { table: "webhooks", key: "id", column: "secret", shape: Shape::Text };
pub const AUTOMATION_WEBHOOK_SECRETS: SealedColumn =
    SealedColumn { table: "automation_rules", key: "id", column: "rule", shape: Shape::RuleWebhookSecrets };

pub const SSO_CLIENT_SECRETS: SealedColumn =
    SealedColumn { table: "sso_settings", key: "account_id", column: "client_secret", shape: Shape::Text };

/// Every column holding sealed secrets: what the startup sweep seals and `keys rotate` re-seals.
pub const SEALED_COLUMNS: &[SealedColumn] =
    &[GENERATED_SECRETS, TOTP_SECRETS, WEBHOOK_SECRETS, AUTOMATION_WEBHOOK_SECRETS, SSO_CLIENT_SECRETS];

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "a secret in {column} was sealed under key {key_id}, which this node does not have (its key is {primary}); \
         start it with the key that sealed the database (security.master_key or the key file)"
    )]
    UnknownKey { column: String, key_id: String, primary: String },
    #[error("a secret in {column} under key {key_id} does not open: the key is wrong or the value was altered")]
    Tampered { column: String, key_id: String },
    #[error("a secret in {column} is not a sealed value")]
    Malformed { column: String },
}

/// Parses a master key written as base64 (standard or URL-safe, padded or not) or as 64 hex
/// digits. The message never repeats the input.
pub fn parse_key(text: &str) -> Result<MasterKey, String> {
    let text = text.trim();
    let decoded = if text.len() == 2 * KEY_BYTES && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).ok()
    } else {
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|engine| engine.decode(text).ok())
    };
    let Some(bytes) = decoded.map(Zeroizing::new) else {
        return Err(format!(
            "the master key must be {KEY_BYTES} bytes written as base64 or as {} hex digits; this is neither",
            2 * KEY_BYTES
        ));
    };
    let Ok(bytes) = <[u8; KEY_BYTES]>::try_from(bytes.as_slice()) else {
        return Err(format!("the master key must be {KEY_BYTES} bytes; this one decodes to {}", bytes.len()));
    };
    Ok(MasterKey::from_bytes(bytes))
}

/// One 256-bit key and its id.
#[derive(Clone)]
pub struct MasterKey {
    bytes: Zeroizing<[u8; KEY_BYTES]>,
    id: String,
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> MasterKey {
        let digest = sha2::Sha256::new().chain_update(b"switchboard master key id\0").chain_update(bytes).finalize();
        MasterKey { bytes: Zeroizing::new(bytes), id: hex::encode(&digest[..4]) }
    }

    /// A fresh random key.
    pub fn generate() -> MasterKey {
        let mut bytes = [0u8; KEY_BYTES];
        rand::fill(&mut bytes);
        MasterKey::from_bytes(bytes)
    }

    /// The key's id, as sealed values name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as standard base64, as `security.master_key` and the key file take it.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(self.bytes.as_slice()))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.bytes).into())
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl PartialEq for MasterKey {
    fn eq(&self, other: &MasterKey) -> bool {
        self.id == other.id && subtle::ConstantTimeEq::ct_eq(self.bytes.as_slice(), other.bytes.as_slice()).into()
    }
}

/// A sealed value as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(String);

impl Sealed {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({})", key_id_of(&self.0).unwrap_or("?"))
    }
}

/// The key id a stored value was sealed under, or `None` for a value that is not sealed (a
/// plaintext row from before sealing, which the startup sweep seals).
pub fn key_id_of(stored: &str) -> Option<&str> {
    let rest = stored.strip_prefix(FORMAT)?.strip_prefix(':')?;
    let (id, body) = rest.split_once(':')?;
    (id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()) && !body.is_empty()).then_some(id)
}

/// The keys a node holds: the primary seals, every key opens what it sealed. Besides the
/// primary there is at most the other half of an unfinished rotation (see [`rotate`]).
#[derive(Clone, Debug)]
pub struct Keyring {
    primary: MasterKey,
    others: Vec<MasterKey>,
}

impl Keyring {
    pub fn new(primary: MasterKey) -> Keyring {
        Keyring { primary, others: Vec::new() }
    }

    /// Adds a key that opens (never seals); the primary and keys already held are skipped.
    pub fn with_readable(mut self, key: MasterKey) -> Keyring {
        if key != self.primary && !self.others.contains(&key) {
            self.others.push(key);
        }
        self
    }

    pub fn primary(&self) -> &MasterKey {
        &self.primary
    }

    /// Whether this keyring holds the key with this id.
    pub fn has(&self, key_id: &str) -> bool {
        self.key(key_id).is_some()
    }

    fn key(&self, key_id: &str) -> Option<&MasterKey> {
        std::iter::once(&self.primary).chain(&self.others).find(|key| key.id == key_id)
    }

    /// Seals `plaintext` for `column` under the primary key.
    pub fn seal(&self, column: &SealedColumn, plaintext: &str) -> Sealed {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::fill(&mut nonce);
        let aad = column.name();
        // XChaCha20-Poly1305 refuses only plaintexts over 256 GiB, which no secret is; were it
        // to happen, the empty body stored would fail to open (never a silent plaintext).
        let ciphertext = self
            .primary
            .cipher()
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext.as_bytes(), aad: aad.as_bytes() })
            .unwrap_or_default();
        let mut body = nonce.to_vec();
        body.extend_from_slice(&ciphertext);
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body);
        Sealed(format!("{FORMAT}:{}:{encoded}", self.primary.id))
    }

    /// The plaintext of a value read from `column`. A value that is not sealed is a row written
    /// before sealing existed (or by an older node during an upgrade): it is returned as it is,
    /// and the next start seals it.
    pub fn open(&self, column: &SealedColumn, stored: &str) -> Result<String, SecretError> {
        let Some(key_id) = key_id_of(stored) else {
            return Ok(stored.to_owned());
        };
        let key = self.key(key_id).ok_or_else(|| SecretError::UnknownKey {
            column: column.name(),
            key_id: key_id.to_owned(),
            primary: self.primary.id.clone(),
        })?;
        let tampered = || SecretError::Tampered { column: column.name(), key_id: key_id.to_owned() };
        let encoded = &stored[FORMAT.len() + 1 + key_id.len() + 1..];
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).map_err(|_| tampered())?;
        if body.len() < NONCE_BYTES {
            return Err(tampered());
        }
        let (nonce, ciphertext) = body.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| tampered())?;
        let aad = column.name();
        let plaintext =
            key.cipher().decrypt(&nonce, Payload { msg: ciphertext, aad: aad.as_bytes() }).map_err(|_| tampered())?;
        String::from_utf8(plaintext).map_err(|_| SecretError::Malformed { column: column.name() })
    }

    /// `stored` again, sealed under the primary key (plaintext or under another key), or
    /// `None` when it already is: one step of a rotation.
    pub fn reseal(&self, column: &SealedColumn, stored: &str) -> Result<Option<Sealed>, SecretError> {
        match key_id_of(stored) {
            Some(id) if id == self.primary.id => Ok(None),
            _ => Ok(Some(self.seal(column, &self.open(column, stored)?))),
        }
    }
}

/// How many sealed values each key holds, and how many are still plaintext.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub by_key: std::collections::BTreeMap<String, u64>,
    pub plaintext: u64,
}

impl Census {
    pub fn count(&mut self, stored: &str) {
        match key_id_of(stored) {
            Some(id) => *self.by_key.entry(id.to_owned()).or_default() += 1,
            None => self.plaintext += 1,
        }
    }

    /// The sealed values whose key this keyring does not hold: the "wrong key" startup error.
    pub fn check(&self, keys: &Keyring) -> Result<(), String> {
        let missing: Vec<String> = self
            .by_key
            .iter()
            .filter(|(id, _)| !keys.has(id))
            .map(|(id, count)| format!("{count} under key {id}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the database holds secrets sealed under a key this node does not have ({}); this node's master key is \
             {}. Start it with the key that sealed them: set security.master_key \
             (SWITCHBOARD__SECURITY__MASTER_KEY) to it, or restore its key file",
            missing.join(", "),
            keys.primary.id
        ))
    }
}

/// Applies `change` to every automation-rule webhook secret in `rule` (JSON text); `None` when
/// nothing changed. Used by the store on writes and reads, and by the sweeps.
pub fn map_rule_secrets(
    rule: &str,
    mut change: impl FnMut(&str) -> Result<Option<String>, SecretError>,
) -> Result<Option<String>, SecretError> {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(rule) else {
        return Err(SecretError::Malformed { column: AUTOMATION_WEBHOOK_SECRETS.name() });
    };
    let mut changed = false;
    if let Some(actions) = value.get_mut("then").and_then(serde_json::Value::as_array_mut) {
        for action in actions {
            let Some(secret) = action.get_mut("webhook").and_then(|webhook| webhook.get_mut("secret")) else {
                continue;
            };
            let Some(text) = secret.as_str() else { continue };
            if let Some(new) = change(text)? {
                *secret = serde_json::Value::String(new);
                changed = true;
            }
        }
    }
    Ok(changed.then(|| value.to_string()))
}

/// Every secret sealed inside `rule` counted into `census`.
pub fn count_rule_secrets(rule: &str, census: &mut Census) -> Result<(), SecretError> {
    map_rule_secrets(rule, |secret| {
        census.count(secret);
        Ok(None)
    })
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keyring {
        Keyring::new(MasterKey::generate())
    }

    #[test]
    fn a_sealed_value_opens_to_its_plaintext_and_shows_nothing_of_it() {
        let keys = keys();
        let sealed = keys.seal(&WEBHOOK_SECRETS, "whsec-plain-value");
        assert!(sealed.as_str().starts_with(&format!("sb1:{}:", keys.primary().id())), "{sealed:?}");
        assert!(!sealed.as_str().contains("plain"));
        assert_ne!(sealed, keys.seal(&WEBHOOK_SECRETS, "whsec-plain-value"), "a fresh nonce each time");
        assert_eq!(keys.open(&WEBHOOK_SECRETS, sealed.as_str()).expect("opens"), "whsec-plain-value");
    }

    #[test]
    fn a_value_opens_only_in_its_own_column_under_its_own_key() {
        let keys = keys();
        let sealed = keys.seal(&WEBHOOK_SECRETS, "s3cret");
        assert!(matches!(keys.open(&TOTP_SECRETS, sealed.as_str()), Err(SecretError::Tampered { .. })));
        let other = Keyring::new(MasterKey::generate());
        assert!(matches!(other.open(&WEBHOOK_SECRETS, sealed.as_str()), Err(SecretError::UnknownKey { .. })));
        // One character of the ciphertext changed (to another one: the same would still open).
        let mut altered = sealed.into_string().into_bytes();
        let middle = altered.len() - 8;
        altered[middle] = if altered[middle] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ASCII");
        assert!(keys.open(&WEBHOOK_SECRETS, &altered).is_err());
    }

    #[test]
    fn a_rotation_keyring_opens_both_and_reseals_under_the_new_key() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let before = Keyring::new(old.clone()).seal(&GENERATED_SECRETS, "v");
        let rotating = Keyring::new(new.clone()).with_readable(old);
        let after = rotating.reseal(&GENERATED_SECRETS, before.as_str()).expect("opens").expect("moved");
        assert_eq!(key_id_of(after.as_str()), Some(new.id()));
        assert_eq!(rotating.reseal(&GENERATED_SECRETS, after.as_str()).expect("opens"), None);
        assert_eq!(Keyring::new(new).open(&GENERATED_SECRETS, after.as_str()).expect("opens"), "v");
        let plain = rotating.reseal(&GENERATED_SECRETS, "legacy-plaintext").expect("plaintext").expect("sealed");
        assert_eq!(rotating.open(&GENERATED_SECRETS, plain.as_str()).expect("opens"), "legacy-plaintext");
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_bad_ones_are_refused_without_echo() {
        let key = MasterKey::generate();
        let base64 = key.to_base64();
        assert_eq!(parse_key(&base64).expect("base64"), key);
        assert_eq!(parse_key(&hex::encode(key.bytes.as_slice())).expect("hex"), key);
        let short = parse_key("c2hvcnQ=").expect_err("8 bytes");
        assert!(short.contains("decodes to 5"), "{short}");
        let garbage = parse_key("not a key at all!").expect_err("garbage");
        assert!(!garbage.contains("not a key"), "{garbage}");
    }

    #[test]
    fn rule_secrets_are_found_inside_the_rule() {
        let keys = keys();
        let rule = r#"{"when":{"event":"ticket_created"},"then":[{"note":"x"},{"webhook":{"url":"https://e.example","secret":"0123456789abcdef"}}]}"#;
        let sealed =
            map_rule_secrets(rule, |secret| Ok(Some(keys.seal(&AUTOMATION_WEBHOOK_SECRETS, secret).into_string())))
                .expect("json")
                .expect("changed");
        assert!(!sealed.contains("0123456789abcdef"));
        let mut census = Census::default();
        count_rule_secrets(&sealed, &mut census).expect("json");
        assert_eq!(census.by_key.get(keys.primary().id()), Some(&1));
        let opened = map_rule_secrets(&sealed, |secret| keys.open(&AUTOMATION_WEBHOOK_SECRETS, secret).map(Some))
            .expect("opens")
            .expect("changed");
        assert!(opened.contains("0123456789abcdef"));
    }
}
