//! The knowledge base's API (issue 14 item 3): categories and articles. Staff read everything;
//! customers read published articles only; admins, and agents or supervisors holding the
//! `kb_editor` permission, write. `GET /kb/suggest` and article feedback are public: they serve
//! the public site's account (the one the channels serve), published articles only.

mod articles;
mod categories;
mod deflections;
mod public;

use switchboard_actors::domain::Role;
use switchboard_actors::knowledge_base::{KB_EDITOR, text};
use switchboard_actors::store::{Store, StoreError};
use utoipa_actix_web::service_config::ServiceConfig;

use super::{Api, ApiError, Caller};
use crate::error::ErrorCode;

pub use public::{MAX_COMMENT_CHARS, record_feedback, site_account};

pub fn routes(config: &mut ServiceConfig) {
    categories::routes(config);
    articles::routes(config);
    public::routes(config);
    deflections::routes(config);
}

/// Refuses callers who may not write the knowledge base: everyone but admins and staff holding
/// [`KB_EDITOR`].
pub(super) async fn require_editor(state: &Api, caller: &Caller) -> Result<(), ApiError> {
    if may_edit(state.store.as_ref(), caller).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden("writing the knowledge base needs an admin or the kb_editor permission"))
    }
}

async fn may_edit(store: &dyn Store, caller: &Caller) -> Result<bool, ApiError> {
    Ok(match caller.user.role {
        Role::Admin => true,
        Role::Customer => false,
        _ => store.user_permissions(caller.account(), caller.user.id).await?.iter().any(|held| held == KB_EDITOR),
    })
}

/// A slug as stored, refused naming `field`.
fn slug(field: &str, given: &str) -> Result<String, ApiError> {
    text::normalise_slug(given).map_err(|reason| ApiError::invalid(field, reason))
}

fn locale(given: &str) -> Result<String, ApiError> {
    text::normalise_locale(given).map_err(|reason| ApiError::invalid("locale", reason))
}

/// Trimmed, not blank, at most `max` characters.
fn required_text(field: &str, given: &str, max: usize) -> Result<String, ApiError> {
    let trimmed = given.trim();
    if trimmed.is_empty() || trimmed.chars().count() > max {
        return Err(ApiError::invalid(field, format!("1 to {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// A store refusal as the API says it; `missing` names what a `NotFound` was.
fn refusal(error: StoreError, missing: &'static str) -> ApiError {
    match error {
        StoreError::Conflict(reason) => match reason.as_str() {
            "locale_exists" => ApiError::Conflict {
                code: ErrorCode::LocaleExists,
                message: "the article already has a translation in this locale".to_owned(),
            },
            "category_not_empty" => ApiError::Conflict {
                code: ErrorCode::CategoryNotEmpty,
                message: "move or remove the category's articles and sub-categories first".to_owned(),
            },
            _ => ApiError::Conflict { code: ErrorCode::SlugTaken, message: "this slug is already in use".to_owned() },
        },
        StoreError::NotFound => ApiError::NotFound(missing),
        other => other.into(),
    }
}

/// A page cursor: the last row's `(updated_at millis, translation row)` as `millis.row`.
fn encode_cursor((updated, row): (i64, i64)) -> String {
    format!("{updated}.{row}")
}

fn decode_cursor(cursor: &str) -> Result<(i64, i64), ApiError> {
    cursor.split_once('.').and_then(|(updated, row)| Some((updated.parse().ok()?, row.parse().ok()?))).ok_or_else(
        || ApiError::BadRequest {
            code: ErrorCode::InvalidQuery,
            message: "cursor: not a cursor this list gave".to_owned(),
        },
    )
}

/// The list limit: 50 unless given, at most 200 (DESIGN §6).
fn limit(given: Option<i64>) -> Result<i64, ApiError> {
    match given {
        None => Ok(50),
        Some(limit) if (1..=200).contains(&limit) => Ok(limit),
        Some(_) => Err(ApiError::invalid("limit", "1 to 200")),
    }
}
