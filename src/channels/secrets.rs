//! The channels' secrets for this install. A secret the configuration leaves empty is generated
//! on first run (256 random bits, URL-safe base64) and stored in the database, so nothing well
//! known is compiled into the binary, a restart keeps it, and every node on one database agrees
//! (the first node to store a name wins; see [`Store::generated_secret`]). A configured value
//! always wins over a generated one. `switchboard config check` prints them and admins read them
//! at `GET /api/v1/account/channel-secrets`.

use std::fmt;

use base64::Engine as _;
use jiff::Timestamp;
use switchboard_actors::store::{Store, StoreResult};

use crate::config::{Secret, Settings};

/// Random bytes in a generated secret: 256 bits.
const SECRET_BYTES: usize = 32;

/// One secret in effect, and whether the hub made it up (else it came from the configuration).
#[derive(Clone, PartialEq, Eq)]
pub struct ChannelSecret {
    pub value: String,
    pub generated: bool,
}

impl fmt::Debug for ChannelSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = if self.generated { "generated" } else { "configured" };
        if self.value.is_empty() { write!(f, "\"\" ({origin})") } else { write!(f, "[redacted] ({origin})") }
    }
}

/// Every secret the channels check or present.
#[derive(Clone, Debug)]
pub struct ChannelSecrets {
    /// Signs WhatsApp webhooks (`X-Hub-Signature-256`); the sandbox phone signs with it too.
    pub whatsapp_app_secret: ChannelSecret,
    /// Echoed in the WhatsApp webhook's verification handshake.
    pub whatsapp_verify_token: ChannelSecret,
    /// The bearer token the hub sends to the Graph API. Generated only with the sandbox on (the
    /// simulator then accepts nothing else); for Meta it is whatever Meta issued, or empty.
    pub graph_access_token: ChannelSecret,
    /// Authenticates `POST /webhooks/email` (the sandbox mailbox posts with it).
    pub email_inbound_secret: ChannelSecret,
}

impl ChannelSecrets {
    /// The configured secrets, with the empty ones filled from the database (generated and
    /// stored the first time, stamped `now`).
    pub async fn resolve(settings: &Settings, store: &dyn Store, now: Timestamp) -> StoreResult<ChannelSecrets> {
        let whatsapp = &settings.whatsapp;
        Ok(ChannelSecrets {
            whatsapp_app_secret: resolve(store, "whatsapp.app_secret", &whatsapp.app_secret, true, now).await?,
            whatsapp_verify_token: resolve(store, "whatsapp.verify_token", &whatsapp.verify_token, true, now).await?,
            graph_access_token: resolve(
                store,
                "whatsapp.access_token",
                &whatsapp.access_token,
                whatsapp.sandbox_on(),
                now,
            )
            .await?,
            email_inbound_secret: resolve(store, "email.inbound_secret", &settings.email.inbound_secret, true, now)
                .await?,
        })
    }

    /// Each secret under its configuration key, in a stable order.
    pub fn listing(&self) -> [(&'static str, &ChannelSecret); 4] {
        [
            ("whatsapp.app_secret", &self.whatsapp_app_secret),
            ("whatsapp.verify_token", &self.whatsapp_verify_token),
            ("whatsapp.access_token", &self.graph_access_token),
            ("email.inbound_secret", &self.email_inbound_secret),
        ]
    }
}

async fn resolve(
    store: &dyn Store,
    name: &str,
    configured: &Secret,
    generate: bool,
    now: Timestamp,
) -> StoreResult<ChannelSecret> {
    if !configured.is_empty() || !generate {
        return Ok(ChannelSecret { value: configured.expose().to_owned(), generated: false });
    }
    let value = store.generated_secret(name, &random_secret(), now).await?;
    Ok(ChannelSecret { value, generated: true })
}

/// A fresh secret: 256 random bits as URL-safe base64 without padding (43 characters), safe in
/// a header, a query string or a shell.
pub fn random_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_long_url_safe_and_fresh() {
        let (one, two) = (random_secret(), random_secret());
        assert_ne!(one, two);
        assert_eq!(one.len(), 43);
        assert!(one.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{one}");
    }

    #[test]
    fn debug_never_shows_a_value() {
        let secret = ChannelSecret { value: "hunter2".to_owned(), generated: true };
        assert_eq!(format!("{secret:?}"), "[redacted] (generated)");
    }
}
