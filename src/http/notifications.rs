//! A staff member's own notifications and notification preferences: the list (newest first,
//! paged, optionally unread only), marking read, and `GET/PUT /me/preferences`. Nobody reads or
//! marks another user's notifications; customers have none.

use actix_web::{get, post, put, web};
use serde::{Deserialize, Serialize};
use switchboard_actors::notifications::{Notification, NotificationId, Preferences};
use switchboard_actors::store::NotificationQuery;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::json::ApiJson;
use super::tickets::page_limit;
use super::{Api, ApiError, Caller, NoParams};
use crate::error::ErrorBody;
use crate::notifications::Notifier;

/// Most ids one `POST /notifications/read` names.
const MAX_READ_IDS: usize = 500;

pub fn routes(config: &mut ServiceConfig) {
    config.service(list_notifications).service(read_notifications).service(get_preferences).service(put_preferences);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NotificationFilter {
    /// Only notifications not read yet.
    unread: Option<bool>,
    /// Page size, 1–200 (default 50).
    limit: Option<i64>,
    /// The `next` value of the previous page.
    cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct NotificationPage {
    items: Vec<Notification>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next: Option<String>,
    /// The caller's unread notifications, all pages.
    unread: i64,
}

/// The caller's notifications, newest first (staff only).
#[utoipa::path(
    tag = "notifications",
    params(NotificationFilter),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[get("/notifications")]
async fn list_notifications(
    state: Api,
    caller: Caller,
    filter: web::Query<NotificationFilter>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    caller.require_staff()?;
    let limit = page_limit(filter.limit)?;
    let before = match filter.cursor.as_deref() {
        None => None,
        Some(cursor) => Some(
            cursor
                .parse::<NotificationId>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::invalid("cursor", "pass the `next` of the previous page"))?,
        ),
    };
    let query = NotificationQuery {
        account: caller.account(),
        user: caller.user.id,
        unread_only: filter.unread.unwrap_or(false),
        before,
        limit: limit + 1,
    };
    let mut items = state.store.notifications(&query).await?;
    let next = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| last.id.to_string())
    } else {
        None
    };
    let unread = state.store.unread_notifications(caller.account(), caller.user.id).await?;
    Ok(web::Json(NotificationPage { items, next, unread }))
}

/// Which notifications to mark read: `{"ids": [...]}` or `{"all": true}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReadNotifications {
    ids: Option<Vec<NotificationId>>,
    all: Option<bool>,
}

#[derive(Serialize, ToSchema)]
struct ReadResult {
    /// How many were unread and are read now.
    marked: u64,
    /// The caller's unread notifications left.
    unread: i64,
}

/// Marks the caller's notifications read: the ones named, or all. Ids that are not the
/// caller's change nothing.
#[utoipa::path(
    tag = "notifications",
    request_body = ReadNotifications,
    responses((status = 200, body = ReadResult), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[post("/notifications/read")]
async fn read_notifications(
    state: Api,
    caller: Caller,
    notifier: web::Data<Notifier>,
    body: ApiJson<ReadNotifications>,
) -> Result<web::Json<ReadResult>, ApiError> {
    caller.require_staff()?;
    let ids = match body.into_inner() {
        ReadNotifications { ids: Some(ids), all: None } => {
            if ids.is_empty() || ids.len() > MAX_READ_IDS {
                return Err(ApiError::invalid("ids", format!("name 1 to {MAX_READ_IDS} notifications")));
            }
            Some(ids)
        }
        ReadNotifications { ids: None, all: Some(true) } => None,
        ReadNotifications { ids: None, all: Some(false) } => {
            return Err(ApiError::invalid("all", "must be true (or send `ids` instead)"));
        }
        _ => return Err(ApiError::invalid("ids", "send either `ids` or `all: true`")),
    };
    let marked =
        state.store.mark_notifications_read(caller.account(), caller.user.id, ids.as_deref(), state.now()).await?;
    let unread = notifier.read(caller.account(), caller.user.id).await?;
    Ok(web::Json(ReadResult { marked, unread }))
}

/// The caller's notification preferences (every kind on, no quiet hours, no digest until set).
#[utoipa::path(
    tag = "notifications",
    responses((status = 200, body = Preferences), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody))
)]
#[get("/me/preferences")]
async fn get_preferences(
    state: Api,
    caller: Caller,
    _: web::Query<NoParams>,
) -> Result<web::Json<Preferences>, ApiError> {
    caller.require_staff()?;
    let stored = state.store.notification_preferences(caller.account(), caller.user.id).await?;
    Ok(web::Json(stored.map(|(preferences, _)| preferences).unwrap_or_default()))
}

/// Replaces the caller's notification preferences. Quiet hours are `HH:MM` times of day in the
/// caller's time zone; a digest (`hourly`, `daily`) mails unread notifications on that period.
#[utoipa::path(
    tag = "notifications",
    request_body = Preferences,
    responses((status = 200, body = Preferences), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody))
)]
#[put("/me/preferences")]
async fn put_preferences(
    state: Api,
    caller: Caller,
    notifier: web::Data<Notifier>,
    body: ApiJson<Preferences>,
) -> Result<web::Json<Preferences>, ApiError> {
    caller.require_staff()?;
    let preferences = body.into_inner();
    if let Some(quiet) = &preferences.quiet_hours {
        quiet.bounds().map_err(|error| ApiError::invalid("quiet_hours", error.to_string()))?;
    }
    state.store.set_notification_preferences(caller.account(), caller.user.id, &preferences, state.now()).await?;
    notifier.preferences_saved(caller.account(), caller.user.id, &preferences).await?;
    Ok(web::Json(preferences))
}
