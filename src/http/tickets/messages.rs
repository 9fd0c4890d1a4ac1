//! Replies, notes and customer messages: channel reachability, files, WhatsApp reply rules.

use super::*;

/// The channels a reply can reach the ticket's customer on: WhatsApp when they have a
/// conversation with one of our numbers, email when they have an address.
pub(super) async fn reply_channels(state: &AppState, ticket: &Ticket) -> Result<Vec<Channel>, ApiError> {
    let mut channels = Vec::new();
    if state.whatsapp.is_some()
        && state.store.conversation_of_customer(ticket.account_id, ticket.requester_id).await?.is_some()
    {
        channels.push(Channel::Whatsapp);
    }
    if state.email.is_some()
        && let Some(customer) = state.store.user(ticket.account_id, ticket.requester_id).await?
        && crate::channels::email::email_mailbox(state.store.as_ref(), &customer).await?.is_some()
    {
        channels.push(Channel::Email);
    }
    Ok(channels)
}

/// Refuses a reply on a channel the customer cannot be reached on (422 `no_email_address` /
/// `no_whatsapp_contact`); replies only go out on WhatsApp or email.
pub(super) async fn check_reply_channel(state: &AppState, ticket: &Ticket, channel: Channel) -> Result<(), ApiError> {
    let reachable = || async { reply_channels(state, ticket).await.map(|channels| channels.contains(&channel)) };
    match channel {
        Channel::Email if !reachable().await? => Err(ApiError::Unprocessable {
            code: "no_email_address",
            message: "this customer has no email address: reply on WhatsApp, or add their address first".to_owned(),
        }),
        Channel::Whatsapp if !reachable().await? => Err(ApiError::Unprocessable {
            code: "no_whatsapp_contact",
            message:
                "this customer has never written on WhatsApp, so there is no conversation to reply in; reply by email"
                    .to_owned(),
        }),
        Channel::Email | Channel::Whatsapp => Ok(()),
        other => Err(ApiError::invalid("channel", format!("replies go out on `whatsapp` or `email`, not `{other}`"))),
    }
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    #[garde(length(max = 65536))]
    pub body: String,
    /// Staff only: an internal note, never shown to the customer.
    #[garde(skip)]
    #[serde(default)]
    pub internal: bool,
    /// Defaults to the ticket's channel.
    #[garde(skip)]
    pub channel: Option<Channel>,
    /// Staff only: status to set with the message ("send and resolve").
    #[garde(skip)]
    pub then_status: Option<String>,
    /// Refuse with 409 `stale_seq` unless the ticket's seq is still this.
    #[garde(skip)]
    pub expected_seq: Option<i64>,
    /// The newest seq the sender has seen. A reply or status change is refused with 409
    /// `stale_view` when a customer message newer than this arrived (default: what this node
    /// pushed to the sender's sockets).
    #[garde(skip)]
    pub seen_seq: Option<i64>,
    /// Send even if a newer customer message arrived.
    #[garde(skip)]
    #[serde(default)]
    pub force: bool,
    /// WhatsApp: send an approved template (the only thing allowed outside the 24-hour window).
    #[garde(dive)]
    pub template: Option<TemplateRequest>,
    /// WhatsApp: an interactive message (`{"type": "button" | "list", "body": …, "action": …}`),
    /// sent as the Graph API describes it.
    #[garde(skip)]
    #[schema(value_type = Option<Object>)]
    pub interactive: Option<serde_json::Value>,
    /// WhatsApp: react to a customer message (its id in this API) with an emoji.
    #[garde(dive)]
    pub reaction: Option<ReactionRequest>,
    /// WhatsApp: quote this message (its id in this API) in the reply.
    #[garde(skip)]
    pub reply_to: Option<String>,
    /// Files uploaded with `POST /api/v1/uploads`; WhatsApp sends one per message, with the
    /// body as its caption.
    #[garde(length(max = 10), dive)]
    #[serde(default)]
    pub attachments: Vec<FileRef>,
}

/// An uploaded file, as `POST /api/v1/uploads` answered it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct FileRef {
    /// The `url` the upload answered.
    #[garde(length(min = 1, max = 200))]
    pub url: String,
    /// The name the customer sees.
    #[garde(inner(length(min = 1, max = 200)))]
    #[serde(alias = "file_name")]
    pub name: Option<String>,
}

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

/// The uploaded files a message names: each must exist and be the author's to attach (they
/// uploaded it, or it arrived on this ticket), so no one can pass on a file of another account or
/// another customer by its hash.
pub(super) async fn uploaded_files(
    state: &AppState,
    caller: &Caller,
    ticket: TicketId,
    refs: &[FileRef],
) -> Result<Vec<Attachment>, ApiError> {
    let mut files = Vec::with_capacity(refs.len());
    for FileRef { url, name } in refs {
        let hash = url.rsplit('/').next().unwrap_or_default();
        let missing = || ApiError::invalid("attachments", format!("no uploaded file `{url}`"));
        if !state.store.media_attachable(caller.account(), hash, caller.user.id, ticket).await? {
            return Err(missing());
        }
        let stored = match &state.whatsapp {
            Some(channel) => channel.media.get(hash).await,
            None => None,
        };
        let (bytes, content_type) = stored.ok_or_else(missing)?;
        let name = name.clone().unwrap_or_else(|| format!("file-{}", &hash[..hash.len().min(12)]));
        files.push(crate::channels::whatsapp::media::attachment(name, content_type, bytes.len(), hash));
    }
    Ok(files)
}

/// What a staff reply on a WhatsApp ticket becomes: body and channel payload, after the window
/// and template checks.
pub(super) async fn whatsapp_reply(
    state: &AppState,
    ticket: &Ticket,
    body: &mut PostMessage,
) -> Result<Option<serde_json::Value>, ApiError> {
    let stored_wamid = |id: &str, messages: &[Message]| {
        messages
            .iter()
            .find(|message| message.id == id)
            .and_then(|message| message.provider_id.clone())
            .ok_or_else(|| ApiError::invalid("reply_to", "no such message with a WhatsApp id on this ticket"))
    };
    let needs_messages = body.reply_to.is_some() || body.reaction.is_some();
    let messages = if needs_messages { state.store.ticket_messages(ticket.id).await? } else { Vec::new() };
    let mut payload = serde_json::Map::new();
    if let Some(template) = &body.template {
        let known = state.store.templates(ticket.account_id).await?;
        let found = known
            .iter()
            .find(|candidate| {
                candidate.name == template.name && candidate.language == template.language && candidate.sendable()
            })
            .ok_or_else(|| {
                ApiError::invalid(
                    "template",
                    format!("no approved template `{}` in `{}`", template.name, template.language),
                )
            })?;
        if template.parameters.len() as i64 != found.parameter_count {
            return Err(ApiError::invalid(
                "template.parameters",
                format!("`{}` takes {} parameter(s)", found.name, found.parameter_count),
            ));
        }
        body.body = found.render(&template.parameters);
        payload.insert(
            "template".to_owned(),
            serde_json::json!({"name": found.name, "language": found.language, "parameters": template.parameters}),
        );
    } else {
        let conversation = state.store.conversation_of_customer(ticket.account_id, ticket.requester_id).await?;
        let open = conversation
            .and_then(|conversation| conversation.window_expires_at)
            .is_some_and(|until| until > state.now());
        if !open {
            let templates: Vec<String> = state
                .store
                .templates(ticket.account_id)
                .await?
                .into_iter()
                .filter(|template| template.sendable())
                .map(|template| format!("{} ({})", template.name, template.language))
                .collect();
            return Err(ApiError::Unprocessable {
                code: "window_closed",
                message: format!(
                    "the customer last wrote more than 24 hours ago: only a template can be sent. Approved templates: {}",
                    if templates.is_empty() { "none synced yet".to_owned() } else { templates.join(", ") }
                ),
            });
        }
        if let Some(interactive) = &body.interactive {
            if body.body.trim().is_empty() {
                body.body = interactive["body"]["text"].as_str().unwrap_or("[interactive message]").to_owned();
            }
            payload.insert("interactive".to_owned(), interactive.clone());
        }
        if let Some(reaction) = &body.reaction {
            let wamid = stored_wamid(&reaction.message_id, &messages)?;
            body.body = format!("Reacted {}", reaction.emoji);
            payload.insert("reaction".to_owned(), serde_json::json!({"message_id": wamid, "emoji": reaction.emoji}));
        }
    }
    if let Some(quoted) = &body.reply_to {
        payload.insert("reply_to".to_owned(), serde_json::Value::String(stored_wamid(quoted, &messages)?));
    }
    Ok((!payload.is_empty()).then_some(serde_json::Value::Object(payload)))
}

/// Add a public reply or internal note (staff), or a customer message (the requester).
#[utoipa::path(
    tag = "tickets",
    params(("id" = i64, Path, description = "ticket id")),
    request_body = PostMessage,
    responses(
        (status = 201, body = ChangeOutcome), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)
    )
)]
#[post("/tickets/{id}/messages")]
pub(super) async fn add_message(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<TicketId>,
    body: ApiJson<PostMessage>,
) -> Result<HttpResponse, ApiError> {
    let mut body = body.into_inner();
    body.validate()?;
    let staff = caller.user.role.is_staff();
    if !staff && (body.internal || body.then_status.is_some()) {
        return Err(ApiError::forbidden("customers cannot write internal notes or set a status"));
    }
    let ticket = visible_ticket(&state, &caller, *id).await?;
    if !staff && ticket.requester_id != caller.user.id {
        company_may_write(&state, &caller).await?;
    }
    let kind = match (staff, body.internal) {
        (false, _) => MessageKind::Customer,
        (true, true) => MessageKind::Note,
        (true, false) => MessageKind::Reply,
    };
    let whatsapp = kind == MessageKind::Reply && body.channel.unwrap_or(ticket.channel) == Channel::Whatsapp;
    // A reply goes out on the channel picked (default: the ticket's), which must reach the
    // customer; tickets opened on the web or by phone may keep replies in the hub.
    if kind == MessageKind::Reply {
        match (body.channel, ticket.channel) {
            (Some(channel), _) | (None, channel @ (Channel::Whatsapp | Channel::Email)) => {
                check_reply_channel(&state, &ticket, channel).await?
            }
            (None, _) => {}
        }
    }
    let channel_only =
        body.template.is_some() || body.interactive.is_some() || body.reaction.is_some() || body.reply_to.is_some();
    if channel_only && !whatsapp {
        return Err(ApiError::invalid(
            "template",
            "templates, interactive messages, reactions and quotes are WhatsApp replies",
        ));
    }
    let payload = if whatsapp { whatsapp_reply(&state, &ticket, &mut body).await? } else { None };
    let attachments = uploaded_files(&state, &caller, ticket.id, &body.attachments).await?;
    if whatsapp && attachments.len() > 1 {
        return Err(ApiError::invalid("attachments", "WhatsApp sends one file per message"));
    }
    let message = NewMessage {
        kind,
        body: body.body,
        channel: body.channel,
        attachments,
        then_status: body.then_status,
        payload,
        provider_id: None,
    };
    let seen = Seen { seen_seq: body.seen_seq, force: body.force }.resolve(&state, &caller, ticket.id);
    let context = context(&state, &caller, body.expected_seq, seen).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::AddMessage(message), context).await?;
    metrics::counter!("switchboard_messages_added_total", "kind" => kind.as_str()).increment(1);
    Ok(HttpResponse::Created().json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}
