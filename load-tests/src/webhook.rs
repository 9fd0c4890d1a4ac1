//! Signed WhatsApp webhooks, as Meta sends them (`X-Hub-Signature-256` over the raw body).

use hmac::{KeyInit as _, Mac as _};
use serde_json::json;

/// `sha256=<hex>` of `body` under `secret`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One inbound text message.
pub struct Inbound {
    pub from: u64,
    pub wamid: String,
    pub text: String,
}

/// A `messages` webhook for `phone_number_id` carrying `messages` (Meta batches several at times).
pub fn payload(phone_number_id: &str, messages: &[Inbound]) -> String {
    let now = jiff::Timestamp::now().as_second().to_string();
    let contacts: Vec<_> = messages
        .iter()
        .map(|m| json!({"profile": {"name": format!("Load {}", m.from)}, "wa_id": m.from.to_string()}))
        .collect();
    let items: Vec<_> = messages
        .iter()
        .map(|m| json!({"from": m.from.to_string(), "id": m.wamid, "timestamp": now, "type": "text", "text": {"body": m.text}}))
        .collect();
    json!({"object": "whatsapp_business_account", "entry": [{"id": "LOADWABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100001", "phone_number_id": phone_number_id},
        "contacts": contacts,
        "messages": items
    }}]}]})
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_known_hmac() {
        // HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog"), RFC 4231-style vector.
        assert_eq!(
            sign("key", b"The quick brown fox jumps over the lazy dog"),
            "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
    }

    #[test]
    fn payload_carries_every_message_and_contact() {
        let body = payload(
            "123",
            &[
                Inbound { from: 5511, wamid: "wamid.A".into(), text: "hi".into() },
                Inbound { from: 5522, wamid: "wamid.B".into(), text: "yo".into() },
            ],
        );
        let value: serde_json::Value = serde_json::from_str(&body).expect("json");
        let change = &value["entry"][0]["changes"][0]["value"];
        assert_eq!(change["metadata"]["phone_number_id"], "123");
        assert_eq!(change["messages"].as_array().map(Vec::len), Some(2));
        assert_eq!(change["contacts"][1]["wa_id"], "5522");
    }
}
