//! The WhatsApp channel as staff see it: templates (synced from the Graph API) and
//! conversations with their window state.

use actix_web::{get, post, web};
use serde::Serialize;
use switchboard_actors::domain::{Attachment, Message, TicketId, WindowState};
use switchboard_actors::store::WebhookStats;
use switchboard_actors::whatsapp::{Conversation, NumberProfile, Template, window};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::tickets::Page;
use super::{Api, ApiError, Caller, NoParams};
use crate::error::ErrorBody;

pub fn routes(config: &mut ServiceConfig) {
    config
        .service(list_numbers)
        .service(list_templates)
        .service(sync_templates)
        .service(list_conversations)
        .service(media_file)
        .service(upload);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NumbersView {
    /// The business numbers in `[whatsapp] numbers`, with what the Graph API says about each.
    pub items: Vec<NumberView>,
    /// Replies go to the built-in simulator, not Meta.
    pub sandbox: bool,
    /// Whose templates are synced (empty: none).
    pub business_account_id: String,
    pub webhook: WebhookView,
    /// Templates synced, and how many of them are approved (sendable).
    pub templates: usize,
    pub approved_templates: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NumberView {
    pub phone_number_id: String,
    pub display_phone_number: String,
    /// From `GET /{phone_number_id}` on the Graph API; absent in the sandbox or when it failed.
    pub profile: Option<NumberProfile>,
    /// Why the profile could not be read.
    pub profile_error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Where Meta must post (relative to this hub's public address).
    pub path: &'static str,
    /// Signed payloads can be verified (an app secret is configured, or the sandbox's own).
    pub signature_check: bool,
    /// The verification handshake can succeed (a verify token is set).
    pub verify_token_set: bool,
    #[serde(flatten)]
    pub stats: WebhookStats,
}

/// The business numbers this hub serves, their Graph API profile (verified name, quality), the
/// webhook's record and the template count.
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = NumbersView), (status = 403, body = ErrorBody)))]
#[get("/whatsapp/numbers")]
async fn list_numbers(state: Api, caller: Caller, _: web::Query<NoParams>) -> Result<web::Json<NumbersView>, ApiError> {
    caller.require_staff()?;
    let settings = &state.settings.whatsapp;
    let mut items = Vec::new();
    for number in &settings.numbers {
        let (profile, profile_error) = if settings.sandbox_on() {
            (None, None)
        } else {
            match state.channels.whatsapp.conversations.graph().number_profile(&number.phone_number_id).await {
                Ok(profile) => (profile, None),
                Err(error) => (None, Some(format!("{} {}", error.title, error.details).trim().to_owned())),
            }
        };
        items.push(NumberView {
            phone_number_id: number.phone_number_id.clone(),
            display_phone_number: number.display_phone_number.clone(),
            profile,
            profile_error,
        });
    }
    let secrets = &state.channels.whatsapp.secrets;
    let templates = state.store.templates(caller.account()).await?;
    Ok(web::Json(NumbersView {
        items,
        sandbox: settings.sandbox_on(),
        business_account_id: settings.business_account_id.clone(),
        webhook: WebhookView {
            path: "/webhooks/whatsapp",
            signature_check: !secrets.app_secret.is_empty(),
            verify_token_set: !secrets.verify_token.is_empty(),
            stats: state.store.whatsapp_webhook_stats().await?,
        },
        approved_templates: templates.iter().filter(|template| template.sendable()).count(),
        templates: templates.len(),
    }))
}

/// Templates known to the hub; only `APPROVED` ones can be sent.
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = Page<Template>), (status = 403, body = ErrorBody)))]
#[get("/whatsapp/templates")]
async fn list_templates(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<Template>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.templates(caller.account()).await?, next: None }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    pub synced: usize,
}

/// Re-read templates from the Graph API now (admin only).
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = SyncResult), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/whatsapp/templates/sync")]
async fn sync_templates(state: Api, caller: Caller) -> Result<web::Json<SyncResult>, ApiError> {
    caller.require_admin()?;
    let channel = &state.channels.whatsapp;
    let synced = channel.sync_templates().await?;
    Ok(web::Json(SyncResult { synced }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub customer_name: String,
    pub window: WindowState,
    /// The newest customer message or reply on the current ticket.
    pub last_message: Option<Message>,
}

/// One row per customer conversation, most recent first, with the window state.
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = Page<ConversationView>), (status = 403, body = ErrorBody)))]
#[get("/whatsapp/conversations")]
async fn list_conversations(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Page<ConversationView>>, ApiError> {
    caller.require_staff()?;
    let lead = state.channels.whatsapp.conversations.settings().closing_lead;
    let now = state.now();
    let items = state
        .store
        .list_conversations(caller.account(), 200)
        .await?
        .into_iter()
        .map(|row| {
            let window = window::state(row.conversation.window_expires_at, now, lead);
            ConversationView {
                conversation: row.conversation,
                customer_name: row.customer_name,
                window,
                last_message: row.last_message,
            }
        })
        .collect();
    Ok(web::Json(Page { items, next: None }))
}

/// A file of the caller's account by the SHA-256 in its attachment's `url`: staff any file of the
/// account; customers a file on a public message of a ticket they may read, named by `ticket`
/// (the portal adds it), or one they uploaded themselves. Every file is untrusted: it downloads (`Content-Disposition: attachment`) unless its bytes prove it a
/// raster image, audio or video, and the response may run nothing even if a browser renders it
/// (`nosniff`, and a CSP of `default-src 'none'; sandbox`).
#[utoipa::path(tag = "whatsapp", params(("hash" = String, Path), MediaParams), responses((status = 200, description = "the file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/media/{hash}")]
async fn media_file(
    state: Api,
    caller: Caller,
    hash: web::Path<String>,
    params: web::Query<MediaParams>,
) -> Result<actix_web::HttpResponse, ApiError> {
    use actix_web::http::header;
    let channel = &state.channels.whatsapp;
    let readable = if caller.user.role.is_staff() {
        state.store.media_in_account(caller.account(), &hash).await?
    } else {
        customer_may_download(&state, &caller, &hash, params.ticket).await?
    };
    if !readable {
        return Err(ApiError::NotFound("media"));
    }
    let (bytes, recorded) = channel.media.get(&hash).await.ok_or(ApiError::NotFound("media"))?;
    let served = crate::channels::whatsapp::media::served(&bytes, &recorded);
    let content_type = header::HeaderValue::from_str(&served.content_type)
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    Ok(actix_web::HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, if served.inline { "inline" } else { "attachment" }))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"))
        .body(bytes))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MediaParams {
    /// Customers: the ticket whose message carries the file.
    ticket: Option<TicketId>,
}

/// Whether a customer may download the file: they uploaded it, or it is on a message they may
/// read of a ticket they may see. Anything else is answered as missing.
async fn customer_may_download(
    state: &Api,
    caller: &Caller,
    hash: &str,
    ticket: Option<TicketId>,
) -> Result<bool, ApiError> {
    use switchboard_actors::visibility::customer_may_read;
    let hash = hash.to_ascii_lowercase();
    if state.store.media_attachable(caller.account(), &hash, caller.user.id, 0).await? {
        return Ok(true);
    }
    let Some(id) = ticket else { return Ok(false) };
    let scope = state.sessions.customer_scope(&caller.user).await?;
    let visible =
        state.store.ticket(id).await?.filter(|found| found.account_id == caller.account() && scope.allows(found));
    if visible.is_none() {
        return Ok(false);
    }
    let messages = state.store.ticket_messages(id).await?;
    Ok(messages
        .iter()
        .filter(|message| customer_may_read(message))
        .any(|message| message.attachments.iter().any(|file| file.url.rsplit('/').next() == Some(hash.as_str()))))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// The file's name as the customer will see it.
    name: String,
}

/// Largest file an agent may upload (WhatsApp's image/audio/video limit; documents may be larger
/// on WhatsApp but are kept to this here).
const MAX_UPLOAD: usize = 16 * 1024 * 1024;

/// Store a file to attach to a reply (staff) or to a customer's message or new ticket (customers,
/// from the portal): the raw bytes as the body, its type as `Content-Type`. Answers the
/// attachment; pass its `url` in a message's `attachments`. Only its uploader may attach it.
#[utoipa::path(
    tag = "whatsapp",
    params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Attachment), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/uploads")]
async fn upload(
    state: Api,
    caller: Caller,
    request: actix_web::HttpRequest,
    params: web::Query<UploadParams>,
    body: web::Payload,
) -> Result<actix_web::HttpResponse, ApiError> {
    use futures_util::StreamExt as _;
    let channel = &state.channels.whatsapp;
    let content_type = request
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .filter(|value| value.contains('/') && !value.starts_with("multipart/"))
        .ok_or_else(|| ApiError::invalid("content-type", "send the file's own type, e.g. image/png"))?
        .to_owned();
    let name = params.name.trim();
    if name.is_empty() || name.len() > 200 || name.contains(['/', '\\']) {
        return Err(ApiError::invalid("name", "a file name of 1–200 characters without slashes"));
    }
    let mut body = body;
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| ApiError::MalformedJson(format!("unreadable body: {error}")))?;
        if bytes.len() + chunk.len() > MAX_UPLOAD {
            return Err(ApiError::PayloadTooLarge(MAX_UPLOAD));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.is_empty() {
        return Err(ApiError::invalid("body", "the file is empty"));
    }
    let (hash, content_type) =
        channel.media.put(&bytes, &content_type).await.map_err(|error| ApiError::Internal(error.to_string()))?;
    let owner = switchboard_actors::store::MediaOwner::Uploader(caller.user.id);
    state.store.add_media(caller.account(), &hash, owner, state.now()).await?;
    let attachment = crate::channels::whatsapp::media::attachment(name.to_owned(), content_type, bytes.len(), &hash);
    Ok(actix_web::HttpResponse::Created().json(attachment))
}
