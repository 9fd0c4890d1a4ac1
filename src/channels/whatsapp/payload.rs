//! Webhook payloads → [`WebhookBatch`]. Walks every entry, change, message, status and error
//! (Meta batches; never only the first), tolerates missing optional fields and ignores unknown
//! ones (Meta adds fields often). Anything it cannot make sense of becomes an `unsupported`
//! message carrying the raw JSON, never an error that blocks the channel.

use jiff::Timestamp;
use serde_json::{Value, json};
use switchboard_actors::domain::{DeliveryError, DeliveryStatus};
use switchboard_actors::whatsapp::*;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PayloadError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a WhatsApp Business Account webhook (object = {0:?})")]
    WrongObject(Option<String>),
}

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Digits only: webhooks send `16505551234`, parameter tables show `+16505551234`.
pub fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// Meta's timestamps are strings of Unix seconds.
fn timestamp(value: &Value) -> Timestamp {
    text(value, "timestamp")
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
        .unwrap_or_else(Timestamp::now)
}

pub fn parse(body: &[u8]) -> Result<WebhookBatch, PayloadError> {
    let root: Value = serde_json::from_slice(body).map_err(|error| PayloadError::NotJson(error.to_string()))?;
    let object = text(&root, "object");
    if object.as_deref() != Some("whatsapp_business_account") {
        return Err(PayloadError::WrongObject(object));
    }
    let mut batch = WebhookBatch::default();
    for entry in root.get("entry").and_then(Value::as_array).into_iter().flatten() {
        for change in entry.get("changes").and_then(Value::as_array).into_iter().flatten() {
            let field = text(change, "field").unwrap_or_default();
            let value = change.get("value").cloned().unwrap_or(Value::Null);
            match field.as_str() {
                "messages" => parse_messages_value(&value, &mut batch),
                "user_preferences" => parse_preferences(&value, &mut batch),
                "message_template_status_update" => {
                    if let (Some(name), Some(language), Some(event)) = (
                        text(&value, "message_template_name"),
                        text(&value, "message_template_language"),
                        text(&value, "event"),
                    ) {
                        // Webhooks say `en-US`, sends use `en_US`.
                        batch.template_statuses.push((name, language.replace('-', "_"), event));
                    }
                }
                other => batch.ignored.push(other.to_owned()),
            }
        }
    }
    Ok(batch)
}

fn phone_number_id(value: &Value) -> String {
    value.get("metadata").and_then(|metadata| text(metadata, "phone_number_id")).unwrap_or_default()
}

fn parse_messages_value(value: &Value, batch: &mut WebhookBatch) {
    let number = phone_number_id(value);
    let contacts: Vec<&Value> = value.get("contacts").and_then(Value::as_array).into_iter().flatten().collect();
    for message in value.get("messages").and_then(Value::as_array).into_iter().flatten() {
        let parsed = parse_message(&number, message, &contacts);
        match parsed.from.check() {
            Ok(()) => batch.messages.push(parsed),
            Err(reason) => batch.rejected.push(format!("message {:?}: {reason}", parsed.wamid)),
        }
    }
    for status in value.get("statuses").and_then(Value::as_array).into_iter().flatten() {
        if let Some(status) = parse_status(&number, status) {
            batch.statuses.push(status);
        }
    }
    for error in value.get("errors").and_then(Value::as_array).into_iter().flatten() {
        batch.errors.push(ChannelError { phone_number_id: number.clone(), error: delivery_error(error) });
    }
}

fn parse_preferences(value: &Value, batch: &mut WebhookBatch) {
    let number = phone_number_id(value);
    for preference in value.get("user_preferences").and_then(Value::as_array).into_iter().flatten() {
        let opted_out = match text(preference, "value").as_deref() {
            Some("stop") => true,
            Some("resume") => false,
            _ => continue,
        };
        let user = WhatsAppUser { wa_id: text(preference, "wa_id"), user_id: text(preference, "user_id"), name: None };
        batch.preferences.push(PreferenceChange { phone_number_id: number.clone(), user, opted_out });
    }
}

pub fn delivery_error(error: &Value) -> DeliveryError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let title = text(error, "title").or_else(|| text(error, "message")).unwrap_or_else(|| "unknown error".to_owned());
    let details = error.get("error_data").and_then(|data| text(data, "details"));
    let (meaning, _) = explain(code);
    let explanation = match details {
        Some(details) if !details.is_empty() => format!("{meaning} ({details})"),
        _ => meaning.to_owned(),
    };
    DeliveryError { code, title, explanation }
}

/// The sender of `message`, matched to `contacts[]` by wa_id or BSUID (not by position).
fn sender(message: &Value, contacts: &[&Value]) -> WhatsAppUser {
    let wa_id = text(message, "from");
    let user_id = text(message, "from_user_id");
    let contact = contacts.iter().find(|contact| {
        (wa_id.is_some() && text(contact, "wa_id") == wa_id)
            || (user_id.is_some() && text(contact, "user_id") == user_id)
    });
    let name = contact.and_then(|contact| contact.get("profile")).and_then(|profile| text(profile, "name"));
    WhatsAppUser {
        wa_id: wa_id.or_else(|| contact.and_then(|contact| text(contact, "wa_id"))),
        user_id: user_id.or_else(|| contact.and_then(|contact| text(contact, "user_id"))),
        name,
    }
}

const MEDIA_KINDS: &[&str] = &["image", "audio", "video", "document", "sticker"];

fn parse_message(number: &str, message: &Value, contacts: &[&Value]) -> InboundMessage {
    let kind = text(message, "type").unwrap_or_else(|| "unknown".to_owned());
    let content = message.get(&kind).cloned().unwrap_or(Value::Null);
    let mut payload = json!({ "type": kind });
    let mut media = None;
    let mut renews_window = true;
    let mut identity_change = None;
    let body = match kind.as_str() {
        "text" => text(&content, "body").unwrap_or_default(),
        kind if MEDIA_KINDS.contains(&kind) => {
            media = text(&content, "id").map(|media_id| MediaRef {
                kind: kind.to_owned(),
                media_id,
                mime_type: text(&content, "mime_type"),
                sha256: text(&content, "sha256"),
                filename: text(&content, "filename"),
                voice: content.get("voice").and_then(Value::as_bool).unwrap_or(false),
            });
            payload[kind] = content.clone();
            let caption = text(&content, "caption").unwrap_or_default();
            match (kind, caption.is_empty()) {
                (_, false) => caption,
                ("audio", true) if media.as_ref().is_some_and(|media| media.voice) => "🎤 Voice note".to_owned(),
                ("document", true) => {
                    format!("📄 {}", text(&content, "filename").unwrap_or_else(|| "Document".to_owned()))
                }
                (kind, true) => format!("[{kind}]"),
            }
        }
        "location" => {
            payload["location"] = content.clone();
            let coordinate =
                |key: &str| content.get(key).and_then(|value| value.as_f64().or_else(|| value.as_str()?.parse().ok()));
            let place = [text(&content, "name"), text(&content, "address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let at = match (coordinate("latitude"), coordinate("longitude")) {
                (Some(latitude), Some(longitude)) => format!("{latitude}, {longitude}"),
                _ => "unknown position".to_owned(),
            };
            if place.is_empty() { format!("📍 Location ({at})") } else { format!("📍 {place} ({at})") }
        }
        "contacts" => {
            payload["contacts"] = content.clone();
            let cards: Vec<String> = content
                .as_array()
                .into_iter()
                .flatten()
                .map(|card| {
                    let name = card
                        .get("name")
                        .and_then(|name| text(name, "formatted_name"))
                        .unwrap_or_else(|| "Contact".to_owned());
                    let phones: Vec<String> = card
                        .get("phones")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|phone| text(phone, "phone"))
                        .collect();
                    if phones.is_empty() { name } else { format!("{name} ({})", phones.join(", ")) }
                })
                .collect();
            format!("👤 {}", cards.join("; "))
        }
        "interactive" => {
            payload["interactive"] = content.clone();
            let reply_type = text(&content, "type").unwrap_or_default();
            let reply = content.get(&reply_type).cloned().unwrap_or(Value::Null);
            match reply_type.as_str() {
                "button_reply" | "list_reply" => text(&reply, "title").unwrap_or_default(),
                "nfm_reply" => text(&reply, "body").unwrap_or_else(|| "Form submitted".to_owned()),
                other => format!("[interactive reply: {other}]"),
            }
        }
        "button" => {
            payload["button"] = content.clone();
            text(&content, "text").or_else(|| text(&content, "payload")).unwrap_or_default()
        }
        "reaction" => {
            renews_window = false;
            payload["reaction"] = content.clone();
            match text(&content, "emoji").filter(|emoji| !emoji.is_empty()) {
                Some(emoji) => format!("Reacted {emoji}"),
                None => "Removed a reaction".to_owned(),
            }
        }
        "order" => {
            payload["order"] = content.clone();
            let items = content.get("product_items").and_then(Value::as_array).map_or(0, Vec::len);
            format!("🛒 Order with {items} item(s)")
        }
        "system" => {
            renews_window = false;
            payload["system"] = content.clone();
            let new = WhatsAppUser { wa_id: text(&content, "wa_id"), user_id: text(&content, "user_id"), name: None };
            if new.key().is_some() {
                identity_change = Some(new);
            }
            text(&content, "body").unwrap_or_else(|| "The customer's WhatsApp account changed".to_owned())
        }
        "edit" => {
            payload["edit"] = content.clone();
            let edited = content
                .get("message")
                .and_then(|message| message.get("text"))
                .and_then(|text_content| text(text_content, "body"));
            format!("✏️ Edited a message: {}", edited.unwrap_or_default())
        }
        "revoke" => {
            renews_window = false;
            payload["revoke"] = content.clone();
            "🗑️ Deleted a message".to_owned()
        }
        other => {
            // `unsupported`, legacy `unknown`, or a type this hub has never seen: keep it all.
            renews_window = false;
            payload = json!({ "type": "unsupported", "original_type": other, "raw": message });
            let detail = content.get("type").and_then(Value::as_str).unwrap_or(other);
            format!("[Unsupported message ({detail}): ask the customer to send it another way]")
        }
    };
    if let Some(context) = message.get("context") {
        payload["context"] = context.clone();
    }
    if let Some(referral) = message.get("referral") {
        payload["referral"] = referral.clone();
    }
    if let Some(errors) = message.get("errors") {
        payload["errors"] = errors.clone();
    }
    InboundMessage {
        phone_number_id: number.to_owned(),
        wamid: text(message, "id").unwrap_or_default(),
        from: sender(message, contacts),
        timestamp: timestamp(message),
        kind: payload["type"].as_str().unwrap_or("unsupported").to_owned(),
        body: switchboard_actors::whatsapp::fit_text(body),
        payload,
        media,
        renews_window,
        identity_change,
    }
}

fn parse_status(number: &str, status: &Value) -> Option<StatusUpdate> {
    let wamid = text(status, "id")?;
    let state = match text(status, "status")?.as_str() {
        "sent" => DeliveryStatus::Sent,
        "delivered" => DeliveryStatus::Delivered,
        "read" => DeliveryStatus::Read,
        "played" => DeliveryStatus::Played,
        "failed" => DeliveryStatus::Failed,
        _ => return None,
    };
    let error = status.get("errors").and_then(Value::as_array).and_then(|errors| errors.first()).map(delivery_error);
    Some(StatusUpdate {
        phone_number_id: number.to_owned(),
        wamid,
        status: state,
        timestamp: timestamp(status),
        recipient: WhatsAppUser {
            wa_id: text(status, "recipient_id"),
            user_id: text(status, "recipient_user_id"),
            name: None,
        },
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(value: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn batches_are_walked_whole_and_senders_matched_by_id() {
        let body = envelope(json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100001", "phone_number_id": "PN1"},
            "contacts": [
                {"profile": {"name": "Bea"}, "wa_id": "222"},
                {"profile": {"name": "Al"}, "wa_id": "111", "user_id": "US.1"}
            ],
            "messages": [
                {"from": "111", "id": "wamid.A", "timestamp": "1750000000", "type": "text", "text": {"body": "hi"}, "brand_new_field": 1},
                {"from": "222", "id": "wamid.B", "timestamp": "1750000001", "type": "location",
                 "location": {"latitude": 38.7, "longitude": "-9.1", "name": "Office"}}
            ],
            "statuses": [{"id": "wamid.OUT", "status": "failed", "timestamp": "1750000002", "recipient_id": "111",
                          "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24h passed"}}]}]
        }));
        let batch = parse(&body).expect("parses");
        assert_eq!(batch.messages.len(), 2);
        assert_eq!(
            batch.messages[0].from,
            WhatsAppUser { wa_id: Some("111".into()), user_id: Some("US.1".into()), name: Some("Al".into()) }
        );
        assert_eq!(batch.messages[0].from.key(), Some("US.1"), "keyed on the BSUID when present");
        assert_eq!(batch.messages[1].from.name.as_deref(), Some("Bea"));
        assert_eq!(batch.messages[1].body, "📍 Office (38.7, -9.1)");
        assert_eq!(batch.messages[0].timestamp.as_second(), 1_750_000_000);
        let status = &batch.statuses[0];
        assert_eq!(
            (status.status, status.error.as_ref().map(|error| error.code)),
            (DeliveryStatus::Failed, Some(131047))
        );
        assert!(status.error.as_ref().is_some_and(|error| error.explanation.contains("template")));
    }

    #[test]
    fn unknown_types_are_kept_as_unsupported_with_raw_json() {
        let body = envelope(json!({
            "metadata": {"phone_number_id": "PN1"},
            "messages": [{"from": "1", "id": "wamid.X", "timestamp": "1", "type": "poll_creation", "poll_creation": {"q": "?"}}]
        }));
        let message = &parse(&body).expect("parses").messages[0];
        assert_eq!(message.kind, "unsupported");
        assert_eq!(message.payload["raw"]["poll_creation"]["q"], "?");
        assert!(!message.renews_window);
    }

    #[test]
    fn other_objects_and_garbage_are_refused() {
        assert!(matches!(parse(b"{\"object\":\"page\"}"), Err(PayloadError::WrongObject(_))));
        assert!(matches!(parse(b"nope"), Err(PayloadError::NotJson(_))));
        let empty = parse(br#"{"object":"whatsapp_business_account","entry":[]}"#).expect("parses");
        assert_eq!(empty, WebhookBatch::default());
    }
}
