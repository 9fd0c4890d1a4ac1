//! The one place errors become HTTP: every refusal is `{"error": code, "message": text}` with a
//! stable snake_case code and the right status. Internal causes are logged, never sent.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::TicketError;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("authentication required: log in or send a session token")]
    Unauthenticated,
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("missing or wrong X-Hub-Signature-256")]
    BadSignature,
    #[error("{0}")]
    Forbidden(String),
    /// A cookie-authenticated request from another origin (cross-site request forgery).
    #[error("this request came from another site ({0}); the session cookie only works from the hub's own pages")]
    CrossOrigin(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A well-formed request the current state cannot accept (e.g. `window_closed`).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("too many attempts; try again in a minute")]
    RateLimited,
    /// A per-user limit on something held (sockets, replays in flight).
    #[error("{message}")]
    TooMany { code: &'static str, message: String },
    /// Like `RateLimited`, with the wait known (sent as `Retry-After` too).
    #[error("too many attempts; try again in {} s", retry_after_secs(*.0))]
    RateLimitedFor(Duration),
    #[error("{message}")]
    Unavailable { code: &'static str, message: String },
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub error: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: field.into(), message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(message.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::BadSignature => "invalid_signature",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::CrossOrigin(_) => "cross_origin",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { code, .. } => code,
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Invalid { .. } => "validation_failed",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::RateLimited | ApiError::RateLimitedFor(_) => "rate_limited",
            ApiError::TooMany { code, .. } => code,
            ApiError::Unavailable { code, .. } => code,
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::InvalidCredentials | ApiError::BadSignature => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(_) | ApiError::CrossOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited | ApiError::RateLimitedFor(_) | ApiError::TooMany { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                "internal error; the details are in the server log".to_owned()
            }
            ApiError::Unavailable { message, .. } => {
                tracing::warn!(%message, "unavailable");
                message.clone()
            }
            other => other.to_string(),
        };
        let field = match self {
            ApiError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        let message = match self {
            ApiError::Invalid { message, .. } => message.clone(),
            _ => message,
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            ApiError::RateLimited => response.insert_header((header::RETRY_AFTER, "60")),
            ApiError::RateLimitedFor(wait) => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*wait).to_string()))
            }
            _ => &mut response,
        };
        response.json(ErrorBody { error: self.code(), message, field })
    }
}

/// `Retry-After` is whole seconds: round up, and never 0 (which invites an immediate retry).
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl From<crate::auth::PoolError> for ApiError {
    fn from(error: crate::auth::PoolError) -> ApiError {
        match error {
            crate::auth::PoolError::Busy { retry_after } => ApiError::RateLimitedFor(retry_after),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound => ApiError::NotFound("resource"),
            // The database's own words (constraint and table names, driver errors) stay in the
            // log: handlers that know what a conflict means say so in their own words.
            StoreError::Conflict(detail) => {
                tracing::info!(%detail, "store conflict");
                ApiError::Conflict {
                    code: "conflict",
                    message: "the change conflicts with data that already exists".to_owned(),
                }
            }
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                ApiError::Unavailable {
                    code: "store_unavailable",
                    message: "the database did not answer in time; try again".to_owned(),
                }
            }
            StoreError::Internal(message) => ApiError::Internal(message),
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> ApiError {
        match error {
            TicketError::NotFound => ApiError::NotFound("ticket"),
            TicketError::Invalid { field, message } => ApiError::invalid(field, message),
            error @ TicketError::StaleSeq { .. } => {
                ApiError::Conflict { code: "stale_seq", message: error.to_string() }
            }
            error @ TicketError::StaleView { .. } => {
                ApiError::Conflict { code: "stale_view", message: error.to_string() }
            }
            TicketError::Closed => ApiError::Conflict {
                code: "ticket_closed",
                message: "the ticket is closed; open a new ticket instead".to_owned(),
            },
            error @ (TicketError::ActorRestarted | TicketError::Timeout) => {
                ApiError::Unavailable { code: "ticket_unavailable", message: format!("{error}; retry the request") }
            }
            TicketError::Store(error) => error.into(),
        }
    }
}

/// garde's report → 422 naming the first offending field.
impl From<garde::Report> for ApiError {
    fn from(report: garde::Report) -> ApiError {
        match report.iter().next() {
            Some((path, error)) => ApiError::invalid(path.to_string(), error.to_string()),
            None => ApiError::invalid("body", "invalid"),
        }
    }
}

pub fn query_error(error: actix_web::error::QueryPayloadError) -> ApiError {
    ApiError::BadRequest { code: "invalid_query", message: format!("invalid query string: {error}") }
}

/// A path segment that does not parse (e.g. `/tickets/abc`) names no resource.
pub fn path_error(_: actix_web::error::PathError) -> ApiError {
    ApiError::NotFound("resource")
}
