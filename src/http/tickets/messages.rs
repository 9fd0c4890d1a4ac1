//! Replies, notes and customer messages: the request, its files, and the channel checks
//! (reachability and the WhatsApp reply rules live in `channels`).

use super::*;
use crate::channels::whatsapp::reply::ReplyAsk;

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

pub use crate::channels::whatsapp::reply::{ReactionRequest, TemplateRequest};

/// The uploaded files a message names: each must exist and be the author's to attach (they
/// uploaded it, or it arrived on this ticket), so no one can pass on a file of another account or
/// another customer by its hash.
pub(super) async fn uploaded_files(
    state: &Api,
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
        let stored = state.channels.whatsapp.media.get(hash).await;
        let (bytes, content_type) = stored.ok_or_else(missing)?;
        let name = name.clone().unwrap_or_else(|| format!("file-{}", &hash[..hash.len().min(12)]));
        files.push(crate::channels::whatsapp::media::attachment(name, content_type, bytes.len(), hash));
    }
    Ok(files)
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
    state: Api,
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
    let whatsapp = kind == MessageKind::Reply && body.channel.unwrap_or(ticket.reply_channel()) == Channel::Whatsapp;
    // A reply goes out on the channel picked (default: where the customer last wrote, else the
    // ticket's), which must reach the customer; tickets opened on the web or by phone may keep
    // replies in the hub.
    if kind == MessageKind::Reply {
        match (body.channel, ticket.reply_channel()) {
            (Some(channel), _) | (None, channel @ (Channel::Whatsapp | Channel::Email)) => {
                state.channels.check_reply_channel(&ticket, channel).await?
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
    let payload = if whatsapp {
        let ask = ReplyAsk {
            template: body.template.as_ref(),
            interactive: body.interactive.as_ref(),
            reaction: body.reaction.as_ref(),
            reply_to: body.reply_to.as_deref(),
        };
        let reply = state.channels.whatsapp.compose_reply(&ticket, &body.body, &ask).await?;
        body.body = reply.body;
        reply.payload
    } else {
        None
    };
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
        window_until: None,
    };
    let seen = Seen { seen_seq: body.seen_seq, force: body.force }.resolve(&state, &caller, ticket.id);
    let context = context(&state, &caller, body.expected_seq, seen).await?;
    let outcome = state.tickets.execute(ticket.id, TicketCommand::AddMessage(message), context).await?;
    metrics::counter!("switchboard_messages_added_total", "kind" => kind.as_str()).increment(1);
    if staff {
        // What was being written is now sent: the author's draft on this ticket goes with it.
        state.store.set_reply_draft(caller.account(), caller.user.id, ticket.id, None).await?;
    }
    Ok(HttpResponse::Created().json(ChangeOutcome::for_caller(&state, &caller, outcome).await?))
}
