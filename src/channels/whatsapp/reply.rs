//! What a staff reply on WhatsApp may be, and what it becomes: inside the 24-hour window text,
//! files, interactive messages, reactions and quotes; outside it only an approved template.
//! [`compose`] is the rule, pure; [`WhatsAppChannel::compose_reply`] reads what it needs.

use garde::Validate;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchboard_actors::domain::{Message, Ticket};
use switchboard_actors::store::StoreError;
use switchboard_actors::whatsapp::Template;
use utoipa::ToSchema;

use super::WhatsAppChannel;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRequest {
    #[garde(length(min = 1, max = 512))]
    pub name: String,
    /// e.g. `en_US`.
    #[garde(length(min = 2, max = 16))]
    pub language: String,
    /// Positional values for `{{1}}`, `{{2}}` …
    #[garde(length(max = 20))]
    #[serde(default)]
    pub parameters: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReactionRequest {
    #[garde(length(min = 1, max = 100))]
    pub message_id: String,
    #[garde(length(min = 1, max = 32))]
    pub emoji: String,
}

/// What a reply asks of WhatsApp beyond its text.
#[derive(Default)]
pub struct ReplyAsk<'a> {
    pub template: Option<&'a TemplateRequest>,
    pub interactive: Option<&'a Value>,
    pub reaction: Option<&'a ReactionRequest>,
    /// The id (in this API) of the message to quote.
    pub reply_to: Option<&'a str>,
}

impl ReplyAsk<'_> {
    /// Whether any of it needs the ticket's messages (to find the WhatsApp ids it names).
    fn names_messages(&self) -> bool {
        self.reply_to.is_some() || self.reaction.is_some()
    }
}

/// The reply as it is stored and sent: the text agents see, and the channel payload.
#[derive(Debug, PartialEq)]
pub struct ComposedReply {
    pub body: String,
    pub payload: Option<Value>,
}

/// Why a reply cannot go out on WhatsApp as asked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReplyRefusal {
    #[error("no approved template `{name}` in `{language}`")]
    UnknownTemplate { name: String, language: String },
    #[error("`{name}` takes {expected} parameter(s)")]
    TemplateParameters { name: String, expected: i64 },
    /// Outside the 24-hour window: only a template; the approved ones are listed.
    #[error(
        "the customer last wrote more than 24 hours ago: only a template can be sent. Approved templates: {}",
        if .approved.is_empty() { "none synced yet".to_owned() } else { .approved.join(", ") }
    )]
    WindowClosed { approved: Vec<String> },
    /// A quoted or reacted-to message that is not on the ticket, or has no WhatsApp id.
    #[error("no such message with a WhatsApp id on this ticket")]
    UnknownMessage,
}

/// A refusal, or the store failing under the checks.
#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Refused(#[from] ReplyRefusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The reply `body` becomes, given the approved templates, whether the window is open and the
/// ticket's messages (only read when the reply quotes or reacts).
pub fn compose(
    body: &str,
    ask: &ReplyAsk<'_>,
    templates: &[Template],
    window_open: bool,
    messages: &[Message],
) -> Result<ComposedReply, ReplyRefusal> {
    let wamid_of = |id: &str| {
        messages
            .iter()
            .find(|message| message.id == id)
            .and_then(|message| message.provider_id.clone())
            .ok_or(ReplyRefusal::UnknownMessage)
    };
    let mut body = body.to_owned();
    let mut payload = Map::new();
    if let Some(template) = ask.template {
        let found = templates
            .iter()
            .find(|candidate| {
                candidate.name == template.name && candidate.language == template.language && candidate.sendable()
            })
            .ok_or_else(|| ReplyRefusal::UnknownTemplate {
                name: template.name.clone(),
                language: template.language.clone(),
            })?;
        if template.parameters.len() as i64 != found.parameter_count {
            return Err(ReplyRefusal::TemplateParameters { name: found.name.clone(), expected: found.parameter_count });
        }
        body = found.render(&template.parameters);
        payload.insert(
            "template".to_owned(),
            json!({"name": found.name, "language": found.language, "parameters": template.parameters}),
        );
    } else {
        if !window_open {
            let approved = templates
                .iter()
                .filter(|template| template.sendable())
                .map(|template| format!("{} ({})", template.name, template.language))
                .collect();
            return Err(ReplyRefusal::WindowClosed { approved });
        }
        if let Some(interactive) = ask.interactive {
            if body.trim().is_empty() {
                body = interactive["body"]["text"].as_str().unwrap_or("[interactive message]").to_owned();
            }
            payload.insert("interactive".to_owned(), interactive.clone());
        }
        if let Some(reaction) = ask.reaction {
            let wamid = wamid_of(&reaction.message_id)?;
            body = format!("Reacted {}", reaction.emoji);
            payload.insert("reaction".to_owned(), json!({"message_id": wamid, "emoji": reaction.emoji}));
        }
    }
    if let Some(quoted) = ask.reply_to {
        payload.insert("reply_to".to_owned(), Value::String(wamid_of(quoted)?));
    }
    Ok(ComposedReply { body, payload: (!payload.is_empty()).then_some(Value::Object(payload)) })
}

impl WhatsAppChannel {
    /// What a staff reply with `body` on `ticket` becomes, after the window and template checks.
    pub async fn compose_reply(
        &self,
        ticket: &Ticket,
        body: &str,
        ask: &ReplyAsk<'_>,
    ) -> Result<ComposedReply, ReplyError> {
        let messages = if ask.names_messages() { self.store.ticket_messages(ticket.id).await? } else { Vec::new() };
        let window_open = match ask.template {
            Some(_) => true,
            None => self
                .store
                .conversation_of_customer(ticket.account_id, ticket.requester_id)
                .await?
                .and_then(|conversation| conversation.window_expires_at)
                .is_some_and(|until| until > self.clock.now()),
        };
        // The templates matter only for a template, or to list them when the window is closed.
        let templates = if ask.template.is_some() || !window_open {
            self.store.templates(ticket.account_id).await?
        } else {
            Vec::new()
        };
        Ok(compose(body, ask, &templates, window_open, &messages)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(name: &str, status: &str, parameter_count: i64) -> Template {
        Template {
            name: name.to_owned(),
            language: "en_US".to_owned(),
            category: "UTILITY".to_owned(),
            status: status.to_owned(),
            body: "Hello {{1}}, your order {{2}} shipped".to_owned(),
            parameter_count,
        }
    }

    fn message(id: &str, wamid: Option<&str>) -> Message {
        Message {
            id: id.to_owned(),
            ticket_id: 1,
            account_id: 1,
            seq: 1,
            kind: switchboard_actors::domain::MessageKind::Customer,
            author_id: None,
            channel: switchboard_actors::domain::Channel::Whatsapp,
            body: "hello".to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: wamid.map(str::to_owned),
            delivery_error: None,
            payload: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn outside_the_window_only_an_approved_template_goes() {
        let templates = [template("shipped", "APPROVED", 2), template("draft", "PENDING", 0)];
        let refused = compose("hi", &ReplyAsk::default(), &templates, false, &[]).expect_err("closed");
        assert_eq!(refused, ReplyRefusal::WindowClosed { approved: vec!["shipped (en_US)".to_owned()] });
        assert!(refused.to_string().ends_with("Approved templates: shipped (en_US)"), "{refused}");
        let none = compose("hi", &ReplyAsk::default(), &[], false, &[]).expect_err("closed");
        assert!(none.to_string().ends_with("Approved templates: none synced yet"), "{none}");

        let ask = TemplateRequest {
            name: "shipped".to_owned(),
            language: "en_US".to_owned(),
            parameters: vec!["Ana".to_owned(), "#42".to_owned()],
        };
        let sent = compose("", &ReplyAsk { template: Some(&ask), ..ReplyAsk::default() }, &templates, false, &[])
            .expect("an approved template goes outside the window");
        assert_eq!(sent.body, "Hello Ana, your order #42 shipped");
        assert_eq!(
            sent.payload,
            Some(json!({"template": {"name": "shipped", "language": "en_US", "parameters": ["Ana", "#42"]}}))
        );
    }

    #[test]
    fn a_template_must_be_approved_and_get_its_parameters() {
        let templates = [template("shipped", "APPROVED", 2), template("draft", "PENDING", 0)];
        let draft = TemplateRequest { name: "draft".to_owned(), language: "en_US".to_owned(), parameters: vec![] };
        assert_eq!(
            compose("", &ReplyAsk { template: Some(&draft), ..ReplyAsk::default() }, &templates, true, &[]),
            Err(ReplyRefusal::UnknownTemplate { name: "draft".to_owned(), language: "en_US".to_owned() })
        );
        let short = TemplateRequest {
            name: "shipped".to_owned(),
            language: "en_US".to_owned(),
            parameters: vec!["Ana".into()],
        };
        assert_eq!(
            compose("", &ReplyAsk { template: Some(&short), ..ReplyAsk::default() }, &templates, true, &[]),
            Err(ReplyRefusal::TemplateParameters { name: "shipped".to_owned(), expected: 2 })
        );
    }

    #[test]
    fn reactions_and_quotes_name_messages_by_their_whatsapp_id() {
        let messages = [message("m1", Some("wamid.ONE")), message("m2", None)];
        let reaction = ReactionRequest { message_id: "m1".to_owned(), emoji: "👍".to_owned() };
        let ask = ReplyAsk { reaction: Some(&reaction), reply_to: Some("m1"), ..ReplyAsk::default() };
        let sent = compose("ignored", &ask, &[], true, &messages).expect("inside the window");
        assert_eq!(sent.body, "Reacted 👍");
        assert_eq!(
            sent.payload,
            Some(json!({"reaction": {"message_id": "wamid.ONE", "emoji": "👍"}, "reply_to": "wamid.ONE"}))
        );
        let unsent = ReplyAsk { reply_to: Some("m2"), ..ReplyAsk::default() };
        assert_eq!(compose("hi", &unsent, &[], true, &messages), Err(ReplyRefusal::UnknownMessage));
        let elsewhere = ReplyAsk { reply_to: Some("m9"), ..ReplyAsk::default() };
        assert_eq!(compose("hi", &elsewhere, &[], true, &messages), Err(ReplyRefusal::UnknownMessage));
    }

    #[test]
    fn plain_text_and_interactive_replies_inside_the_window() {
        let plain = compose("Thanks!", &ReplyAsk::default(), &[], true, &[]).expect("text");
        assert_eq!(plain, ComposedReply { body: "Thanks!".to_owned(), payload: None });
        let buttons = json!({"type": "button", "body": {"text": "Pick one"}, "action": {"buttons": []}});
        let ask = ReplyAsk { interactive: Some(&buttons), ..ReplyAsk::default() };
        let sent = compose("  ", &ask, &[], true, &[]).expect("interactive");
        assert_eq!(sent.body, "Pick one");
        assert_eq!(sent.payload, Some(json!({"interactive": buttons})));
    }
}
