//! The WhatsApp channel as staff see it: templates (synced from the Graph API) and
//! conversations with their window state.

use actix_web::{get, post, web};
use serde::Serialize;
use switchboard_actors::domain::{Message, WindowState};
use switchboard_actors::whatsapp::{Conversation, Template, window};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::error::ErrorBody;
use super::tickets::Page;
use super::{ApiError, AppState, Caller};

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_templates).service(sync_templates).service(list_conversations).service(media_file);
}

/// Templates known to the hub; only `APPROVED` ones can be sent.
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = Page<Template>), (status = 403, body = ErrorBody)))]
#[get("/whatsapp/templates")]
async fn list_templates(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<Page<Template>>, ApiError> {
    caller.require_staff()?;
    Ok(web::Json(Page { items: state.store.templates().await?, next: None }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    pub synced: usize,
}

/// Re-read templates from the Graph API now (admin only).
#[utoipa::path(tag = "whatsapp", responses((status = 200, body = SyncResult), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)))]
#[post("/whatsapp/templates/sync")]
async fn sync_templates(state: web::Data<AppState>, caller: Caller) -> Result<web::Json<SyncResult>, ApiError> {
    caller.require_admin()?;
    let channel = state.whatsapp.as_ref().ok_or(ApiError::NotFound("channel"))?;
    let synced = channel
        .sync_templates()
        .await
        .map_err(|message| ApiError::Unavailable { code: "graph_unavailable", message })?;
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
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<web::Json<Page<ConversationView>>, ApiError> {
    caller.require_staff()?;
    let lead = state
        .whatsapp
        .as_ref()
        .map_or(jiff::SignedDuration::from_hours(1), |channel| channel.conversations.settings().closing_lead);
    let now = state.now();
    let mut items = Vec::new();
    for conversation in state.store.list_conversations(caller.account(), 200).await? {
        let customer_name = state
            .store
            .user(caller.account(), conversation.customer_id)
            .await?
            .map_or_else(|| "unknown".to_owned(), |user| user.name);
        let last_message = match conversation.current_ticket_id {
            Some(ticket) => {
                state.store.ticket_messages(ticket).await?.into_iter().rev().find(|message| !message.is_internal())
            }
            None => None,
        };
        let window = window::state(conversation.window_expires_at, now, lead);
        items.push(ConversationView { conversation, customer_name, window, last_message });
    }
    Ok(web::Json(Page { items, next: None }))
}

/// A file customers sent, by the SHA-256 in its attachment's `url` (staff only).
#[utoipa::path(tag = "whatsapp", params(("hash" = String, Path)), responses((status = 200, description = "the file"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
#[get("/media/{hash}")]
async fn media_file(
    state: web::Data<AppState>,
    caller: Caller,
    hash: web::Path<String>,
) -> Result<actix_web::HttpResponse, ApiError> {
    caller.require_staff()?;
    let channel = state.whatsapp.as_ref().ok_or(ApiError::NotFound("media"))?;
    let (bytes, mime) = channel.media.get(&hash).await.ok_or(ApiError::NotFound("media"))?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(mime)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "private, max-age=86400"))
        .insert_header((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
