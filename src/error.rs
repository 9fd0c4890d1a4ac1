//! The one place errors become HTTP: every refusal is `{"error": code, "message": text}` with a
//! stable snake_case code and the right status. Internal causes are logged, never sent.

use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use switchboard_actors::store::StoreError;
use switchboard_actors::ticket::{LinkRefusal, TicketError};
use utoipa::ToSchema;

/// Declares the stable error codes once: the enum, its wire spelling, and the list of all.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident => $code:literal,)*) => {
        /// Every stable error code the hub answers with, over HTTP (`{"error": code}`) and in
        /// WebSocket error frames (`{"type": "error", "code": …}`). Clients branch on these;
        /// a code, once shipped, keeps its spelling.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }
        }
    };
}

error_codes! {
    MalformedJson => "malformed_json",
    InvalidQuery => "invalid_query",
    WebsocketRequired => "websocket_required",
    Unauthenticated => "unauthenticated",
    InvalidCredentials => "invalid_credentials",
    /// Login: the password is right but the registration's emailed code was never verified.
    EmailUnverified => "email_unverified",
    /// Login: the password is right and the user has MFA on: send `totp` (a code or a recovery code).
    MfaRequired => "mfa_required",
    /// A TOTP code that is wrong, out of its step, already used, or a used recovery code.
    InvalidMfaCode => "invalid_mfa_code",
    /// MFA enrolment: MFA is already on (turn it off first, with a current code).
    MfaAlreadyEnabled => "mfa_already_enabled",
    /// MFA: there is no enrolment to confirm, or no MFA to turn off.
    MfaNotEnrolled => "mfa_not_enrolled",
    /// The account requires staff to use MFA and this user has not enrolled: only `/me`, the
    /// enrolment routes, their preferences and sessions, and logout answer until they do (their
    /// API keys and sockets included).
    MfaEnrolmentRequired => "mfa_enrolment_required",
    /// Password login or a reset link of an agent or supervisor whose account requires single
    /// sign-on of staff: sign in with the identity provider.
    SsoRequired => "sso_required",
    /// SSO: the account has no enabled identity provider.
    SsoNotConfigured => "sso_not_configured",
    /// SSO settings: the issuer's discovery document or key set could not be fetched or used.
    SsoDiscoveryFailed => "sso_discovery_failed",
    /// SSO callback: no waiting sign-in with this `state`, or it expired, was used, or came back
    /// to another browser.
    SsoInvalidState => "sso_invalid_state",
    /// SSO callback: the provider answered with an error or refused the code.
    SsoRefused => "sso_refused",
    /// SSO callback: the ID token is missing, badly signed, for another client, replayed (nonce)
    /// or expired.
    SsoInvalidToken => "sso_invalid_token",
    /// SSO callback: the provider did not say it verified the email address (`email_verified`).
    SsoEmailUnverified => "sso_email_unverified",
    /// SSO callback: no active staff member of the account has the provider's email address.
    SsoUnknownUser => "sso_unknown_user",
    /// A one-time code that is wrong, expired, used, out of tries, or for someone else.
    InvalidCode => "invalid_code",
    /// A password-reset token that is unknown, expired or used.
    InvalidToken => "invalid_token",
    /// WhatsApp verification: the number belongs to another account with a password.
    PhoneInUse => "phone_in_use",
    /// WhatsApp verification: the account already has another verified number.
    PhoneAlreadyVerified => "phone_already_verified",
    InvalidSignature => "invalid_signature",
    Forbidden => "forbidden",
    /// An API key without the scope a request needs (the message names it).
    InsufficientScope => "insufficient_scope",
    CrossOrigin => "cross_origin",
    NotFound => "not_found",
    Conflict => "conflict",
    EmailTaken => "email_taken",
    TeamExists => "team_exists",
    CompanyExists => "company_exists",
    /// A company domain another company of the account already holds.
    DomainTaken => "domain_taken",
    CategoryExists => "category_exists",
    /// Knowledge base: another article translation or category of the account has this slug.
    SlugTaken => "slug_taken",
    /// Knowledge base: the article already has a translation in this locale.
    LocaleExists => "locale_exists",
    /// Knowledge base: the category still holds articles or sub-categories.
    CategoryNotEmpty => "category_not_empty",
    /// A ticket turned into an article must be resolved (or closed) first.
    TicketNotResolved => "ticket_not_resolved",
    CannedResponseExists => "canned_response_exists",
    /// CSAT: the ticket has no survey waiting for an answer (none asked, or cancelled by a reopen).
    SurveyNotPending => "survey_not_pending",
    /// CSAT: the survey was already answered (its comment can still be added).
    SurveyAnswered => "survey_answered",
    /// CSAT: a comment on a survey that was not rated yet.
    SurveyNotAnswered => "survey_not_answered",
    /// CSAT: a score that is not on the survey's scale.
    InvalidScore => "invalid_score",
    StaleSeq => "stale_seq",
    StaleView => "stale_view",
    TicketClosed => "ticket_closed",
    /// Merge: the target is the ticket itself.
    MergeIntoSelf => "merge_into_self",
    /// Merge: the ticket is already merged into another.
    AlreadyMerged => "already_merged",
    /// Merge: the target was merged into this ticket.
    MergeCycle => "merge_cycle",
    /// Merge: the target is itself merged into another ticket.
    MergeTargetMerged => "merge_target_merged",
    /// Merge: the target is closed.
    MergeTargetClosed => "merge_target_closed",
    /// Merge: the tickets have different requesters and `force` was not sent.
    RequesterMismatch => "requester_mismatch",
    /// Unmerge: the ticket is not merged.
    NotMerged => "not_merged",
    /// Unmerge: the merge is older than the 7 days it can be undone within.
    UnmergeExpired => "unmerge_expired",
    /// Split: messages that are not the ticket's own, or all of them.
    InvalidSplit => "invalid_split",
    PayloadTooLarge => "payload_too_large",
    UnsupportedMediaType => "unsupported_media_type",
    ValidationFailed => "validation_failed",
    /// Webhooks: the URL is (or resolves to) a loopback, private or link-local address and the
    /// subscription does not set `allow_private`.
    PrivateAddress => "private_address",
    SelfLockout => "self_lockout",
    /// Data protection: an erasure without `confirm` naming the customer (it cannot be undone).
    ConfirmationRequired => "confirmation_required",
    /// Data protection: export and erasure are for customers, not staff.
    NotACustomer => "not_a_customer",
    /// Data protection: the request was already approved or declined.
    RequestDecided => "request_decided",
    WindowClosed => "window_closed",
    NoEmailAddress => "no_email_address",
    NoWhatsappContact => "no_whatsapp_contact",
    RateLimited => "rate_limited",
    TooManySockets => "too_many_sockets",
    TooManyReplays => "too_many_replays",
    StoreUnavailable => "store_unavailable",
    TicketUnavailable => "ticket_unavailable",
    GraphUnavailable => "graph_unavailable",
    Internal => "internal",
    /// WebSocket: a frame the server does not understand.
    InvalidFrame => "invalid_frame",
    /// WebSocket: a topic that does not exist.
    UnknownTopic => "unknown_topic",
    /// WebSocket: a topic the socket may not follow.
    ForbiddenTopic => "forbidden_topic",
    AlreadySubscribed => "already_subscribed",
    NotSubscribed => "not_subscribed",
    /// WebSocket: the store did not answer a subscription's read.
    Unavailable => "unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedJson(String),
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// A query (`q`, a view's query) that does not parse or names what is not there.
    #[error("{message}")]
    InvalidQuery { message: String, position: Option<usize>, expected: Option<String> },
    #[error("authentication required: log in or send a session token")]
    Unauthenticated,
    #[error(
        "this account requires staff to use MFA: enrol first (POST /api/v1/me/mfa/totp, then …/confirm); until then \
         only /me, MFA enrolment and logout answer"
    )]
    MfaEnrolmentRequired,
    #[error("wrong email or password")]
    InvalidCredentials,
    /// The password is right, but the account's address was never verified.
    #[error("verify your email address first: enter the code we emailed you (POST /api/v1/auth/verify)")]
    EmailUnverified,
    /// The password is right; the second factor is missing.
    #[error(
        "this account uses two-factor authentication: send `totp`, the code from your authenticator app (or a recovery code)"
    )]
    MfaRequired,
    #[error("wrong, expired or already used authentication code")]
    InvalidMfaCode,
    /// An agent or supervisor of an account that requires single sign-on of staff, on a
    /// password way in.
    #[error("this account signs its staff in with single sign-on: use \"Sign in with SSO\"")]
    SsoRequired,
    /// Single sign-on refused (`code` is one of the `sso_*` codes; the status follows from it).
    #[error("{message}")]
    Sso { code: ErrorCode, message: String },
    #[error("missing or wrong X-Hub-Signature-256")]
    BadSignature,
    #[error("{0}")]
    Forbidden(String),
    /// An API key without the scope the request needs (or a key asked for a scope its maker lacks).
    #[error("this needs the `{0}` scope, which the API key (or its user) does not hold")]
    InsufficientScope(switchboard_actors::api_keys::Scope),
    /// A cookie-authenticated request from another origin (cross-site request forgery).
    #[error("this request came from another site ({0}); the session cookie only works from the hub's own pages")]
    CrossOrigin(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    Conflict { code: ErrorCode, message: String },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A well-formed request the current state cannot accept (e.g. `window_closed`).
    #[error("{message}")]
    Unprocessable { code: ErrorCode, message: String },
    #[error("too many attempts; try again in a minute")]
    RateLimited,
    /// A per-user limit on something held (sockets, replays in flight).
    #[error("{message}")]
    TooMany { code: ErrorCode, message: String },
    /// Like `RateLimited`, with the wait known (sent as `Retry-After` too).
    #[error("too many attempts; try again in {} s", retry_after_secs(*.0))]
    RateLimitedFor(Duration),
    /// An API key over its per-minute budget (sent with `Retry-After`).
    #[error("this API key's rate limit is used up; try again in {} s", retry_after_secs(*.0))]
    KeyRateLimited(Duration),
    #[error("{message}")]
    Unavailable { code: ErrorCode, message: String },
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
    /// For `invalid_query`: the character offset in the query where it stopped making sense.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// For `invalid_query`: what the query language accepts at `position`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, message: String) -> ErrorBody {
        ErrorBody { error: error.as_str(), message, field: None, position: None, expected: None }
    }
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::Invalid { field: field.into(), message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::Forbidden(message.into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::MalformedJson(_) => ErrorCode::MalformedJson,
            ApiError::BadRequest { code, .. } => *code,
            ApiError::InvalidQuery { .. } => ErrorCode::InvalidQuery,
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::InvalidCredentials => ErrorCode::InvalidCredentials,
            ApiError::EmailUnverified => ErrorCode::EmailUnverified,
            ApiError::MfaRequired => ErrorCode::MfaRequired,
            ApiError::MfaEnrolmentRequired => ErrorCode::MfaEnrolmentRequired,
            ApiError::InvalidMfaCode => ErrorCode::InvalidMfaCode,
            ApiError::SsoRequired => ErrorCode::SsoRequired,
            ApiError::Sso { code, .. } => *code,
            ApiError::BadSignature => ErrorCode::InvalidSignature,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::InsufficientScope(_) => ErrorCode::InsufficientScope,
            ApiError::CrossOrigin(_) => ErrorCode::CrossOrigin,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::Conflict { code, .. } => *code,
            ApiError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            ApiError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            ApiError::Invalid { .. } => ErrorCode::ValidationFailed,
            ApiError::Unprocessable { code, .. } => *code,
            ApiError::RateLimited | ApiError::RateLimitedFor(_) | ApiError::KeyRateLimited(_) => ErrorCode::RateLimited,
            ApiError::TooMany { code, .. } => *code,
            ApiError::Unavailable { code, .. } => *code,
            ApiError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest { .. } | ApiError::InvalidQuery { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Unauthenticated
            | ApiError::InvalidCredentials
            | ApiError::MfaRequired
            | ApiError::InvalidMfaCode
            | ApiError::BadSignature => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_)
            | ApiError::MfaEnrolmentRequired
            | ApiError::InsufficientScope(_)
            | ApiError::CrossOrigin(_)
            | ApiError::EmailUnverified
            | ApiError::SsoRequired => StatusCode::FORBIDDEN,
            ApiError::Sso { code, .. } => match code {
                ErrorCode::SsoNotConfigured => StatusCode::NOT_FOUND,
                ErrorCode::SsoDiscoveryFailed => StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::SsoInvalidState => StatusCode::BAD_REQUEST,
                ErrorCode::SsoRefused | ErrorCode::SsoInvalidToken => StatusCode::UNAUTHORIZED,
                _ => StatusCode::FORBIDDEN,
            },
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } | ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited
            | ApiError::RateLimitedFor(_)
            | ApiError::KeyRateLimited(_)
            | ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
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
            ApiError::RateLimitedFor(wait) | ApiError::KeyRateLimited(wait) => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs(*wait).to_string()))
            }
            // RFC 6750 §3: a client library can tell which scope to ask for.
            ApiError::InsufficientScope(scope) => response.insert_header((
                header::WWW_AUTHENTICATE,
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\""),
            )),
            _ => &mut response,
        };
        let (position, expected) = match self {
            ApiError::InvalidQuery { position, expected, .. } => (*position, expected.clone()),
            _ => (None, None),
        };
        response.json(ErrorBody { error: self.code().as_str(), message, field, position, expected })
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

impl From<crate::auth::mfa::MfaError> for ApiError {
    fn from(error: crate::auth::mfa::MfaError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}

impl From<crate::auth::mfa::VerifyError> for ApiError {
    fn from(error: crate::auth::mfa::VerifyError) -> ApiError {
        match error {
            crate::auth::mfa::VerifyError::Store(error) => error.into(),
            crate::auth::mfa::VerifyError::Mfa(error) => error.into(),
        }
    }
}

impl From<crate::sso::SsoError> for ApiError {
    fn from(error: crate::sso::SsoError) -> ApiError {
        use crate::sso::SsoError;
        let message = error.to_string();
        let code = match error {
            SsoError::InvalidIssuer(message) => return ApiError::invalid("issuer", message),
            SsoError::Store(error) => return error.into(),
            SsoError::Discovery(_) => ErrorCode::SsoDiscoveryFailed,
            SsoError::NotConfigured => ErrorCode::SsoNotConfigured,
            SsoError::InvalidState => ErrorCode::SsoInvalidState,
            SsoError::Provider(_) => ErrorCode::SsoRefused,
            SsoError::InvalidToken(_) => ErrorCode::SsoInvalidToken,
            SsoError::EmailUnverified => ErrorCode::SsoEmailUnverified,
            SsoError::UnknownUser => ErrorCode::SsoUnknownUser,
        };
        ApiError::Sso { code, message }
    }
}

impl From<crate::webhooks::WebhookError> for ApiError {
    fn from(error: crate::webhooks::WebhookError) -> ApiError {
        use crate::webhooks::WebhookError;
        match error {
            WebhookError::InvalidUrl(message) => ApiError::invalid("url", message),
            WebhookError::InvalidEvents(message) => ApiError::invalid("events", message),
            WebhookError::InvalidSecret(message) => ApiError::invalid("secret", message),
            WebhookError::PrivateAddress(message) => {
                ApiError::Unprocessable { code: ErrorCode::PrivateAddress, message }
            }
            WebhookError::Store(error) => error.into(),
        }
    }
}

impl From<crate::customer_accounts::AccountError> for ApiError {
    fn from(error: crate::customer_accounts::AccountError) -> ApiError {
        use crate::customer_accounts::{AccountError, DeliveryError};
        let message = error.to_string();
        match error {
            AccountError::InvalidCode => ApiError::Unprocessable { code: ErrorCode::InvalidCode, message },
            AccountError::InvalidToken => ApiError::Unprocessable { code: ErrorCode::InvalidToken, message },
            AccountError::EmailTaken => ApiError::Conflict { code: ErrorCode::EmailTaken, message },
            AccountError::PhoneInUse => ApiError::Conflict { code: ErrorCode::PhoneInUse, message },
            AccountError::PhoneAlreadyVerified => ApiError::Conflict { code: ErrorCode::PhoneAlreadyVerified, message },
            AccountError::NotACustomer => ApiError::Forbidden(message),
            AccountError::RateLimited(wait) => ApiError::RateLimitedFor(wait),
            AccountError::NotDelivered(DeliveryError::Store(error)) | AccountError::Store(error) => error.into(),
            AccountError::NotDelivered(reason) => {
                tracing::warn!(%reason, "a verification code was not delivered");
                ApiError::Unavailable {
                    code: ErrorCode::GraphUnavailable,
                    message: "the code could not be sent to this number now; try again in a minute".to_owned(),
                }
            }
            AccountError::Password(error) => error.into(),
            AccountError::Ticket(error) => error.into(),
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
                    code: ErrorCode::Conflict,
                    message: "the change conflicts with data that already exists".to_owned(),
                }
            }
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                ApiError::Unavailable {
                    code: ErrorCode::StoreUnavailable,
                    message: "the database did not answer in time; try again".to_owned(),
                }
            }
            StoreError::Internal(message) => ApiError::Internal(message),
        }
    }
}

impl From<crate::channels::ChannelError> for ApiError {
    fn from(error: crate::channels::ChannelError) -> ApiError {
        use crate::channels::{ChannelError, Unreachable};
        match error {
            ChannelError::Store(error) => error.into(),
            ChannelError::Unreachable(reason @ Unreachable::NoEmailAddress) => {
                ApiError::Unprocessable { code: ErrorCode::NoEmailAddress, message: reason.to_string() }
            }
            ChannelError::Unreachable(reason @ Unreachable::NoWhatsAppContact) => {
                ApiError::Unprocessable { code: ErrorCode::NoWhatsappContact, message: reason.to_string() }
            }
            ChannelError::Unreachable(reason @ Unreachable::NotAReplyChannel(_)) => {
                ApiError::invalid("channel", reason.to_string())
            }
        }
    }
}

impl From<crate::channels::whatsapp::reply::ReplyError> for ApiError {
    fn from(error: crate::channels::whatsapp::reply::ReplyError) -> ApiError {
        use crate::channels::whatsapp::reply::{ReplyError, ReplyRefusal};
        let refusal = match error {
            ReplyError::Store(error) => return error.into(),
            ReplyError::Refused(refusal) => refusal,
        };
        match refusal {
            error @ ReplyRefusal::UnknownTemplate { .. } => ApiError::invalid("template", error.to_string()),
            error @ ReplyRefusal::TemplateParameters { .. } => {
                ApiError::invalid("template.parameters", error.to_string())
            }
            error @ ReplyRefusal::UnknownMessage => ApiError::invalid("reply_to", error.to_string()),
            error @ ReplyRefusal::WindowClosed { .. } => {
                ApiError::Unprocessable { code: ErrorCode::WindowClosed, message: error.to_string() }
            }
        }
    }
}

impl From<crate::channels::whatsapp::WhatsAppError> for ApiError {
    fn from(error: crate::channels::whatsapp::WhatsAppError) -> ApiError {
        use crate::channels::whatsapp::WhatsAppError;
        match error {
            WhatsAppError::Store(error) => error.into(),
            WhatsAppError::Ticket(error) | WhatsAppError::Inbound { source: error, .. } => error.into(),
            // Meta's words (code and title) help the admin who asked; they are not internal.
            error @ WhatsAppError::Graph(_) => {
                ApiError::Unavailable { code: ErrorCode::GraphUnavailable, message: error.to_string() }
            }
            error @ (WhatsAppError::Media(_)
            | WhatsAppError::Time(_)
            | WhatsAppError::WebhookUnreachable(_)
            | WhatsAppError::WebhookRefused(_)) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<crate::channels::email::EmailError> for ApiError {
    fn from(error: crate::channels::email::EmailError) -> ApiError {
        use crate::channels::email::EmailError;
        match error {
            EmailError::Store(error) => error.into(),
            EmailError::Inbound { source, .. } => source.into(),
            // What the sandbox says when the letter it was asked to write cannot go to the hub.
            error @ (EmailError::NotAnAddress
            | EmailError::SupportAddress(_)
            | EmailError::Build(_)
            | EmailError::WebhookUnreachable(_)
            | EmailError::WebhookRefused(_)) => ApiError::invalid("from", error.to_string()),
            error @ (EmailError::Time(_) | EmailError::FromAddress(_) | EmailError::MissingAttachment(_)) => {
                ApiError::Internal(error.to_string())
            }
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(error: TicketError) -> ApiError {
        match error {
            TicketError::NotFound => ApiError::NotFound("ticket"),
            TicketError::Invalid { field, message } => ApiError::invalid(field, message),
            error @ TicketError::StaleSeq { .. } => {
                ApiError::Conflict { code: ErrorCode::StaleSeq, message: error.to_string() }
            }
            error @ TicketError::StaleView { .. } => {
                ApiError::Conflict { code: ErrorCode::StaleView, message: error.to_string() }
            }
            TicketError::Closed => ApiError::Conflict {
                code: ErrorCode::TicketClosed,
                message: "the ticket is closed; open a new ticket instead".to_owned(),
            },
            error @ (TicketError::ActorRestarted | TicketError::Timeout) => ApiError::Unavailable {
                code: ErrorCode::TicketUnavailable,
                message: format!("{error}; retry the request"),
            },
            TicketError::Link(refusal) => refusal.into(),
            TicketError::Store(error) => error.into(),
        }
    }
}

impl From<LinkRefusal> for ApiError {
    fn from(refusal: LinkRefusal) -> ApiError {
        let message = refusal.to_string();
        let conflict = |code| ApiError::Conflict { code, message: message.clone() };
        match refusal {
            LinkRefusal::IntoItself => ApiError::Unprocessable { code: ErrorCode::MergeIntoSelf, message },
            LinkRefusal::Split(_) => ApiError::Unprocessable { code: ErrorCode::InvalidSplit, message },
            LinkRefusal::AlreadyMerged(_) => conflict(ErrorCode::AlreadyMerged),
            LinkRefusal::Cycle { .. } => conflict(ErrorCode::MergeCycle),
            LinkRefusal::TargetMerged { .. } => conflict(ErrorCode::MergeTargetMerged),
            LinkRefusal::TargetClosed(_) => conflict(ErrorCode::MergeTargetClosed),
            LinkRefusal::RequesterMismatch { .. } => conflict(ErrorCode::RequesterMismatch),
            LinkRefusal::NotMerged => conflict(ErrorCode::NotMerged),
            LinkRefusal::UnmergeExpired { .. } => conflict(ErrorCode::UnmergeExpired),
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

/// A query string that does not fit the endpoint's parameters. An unknown parameter is named with
/// the ones the endpoint takes (no parameter is ever silently ignored); other causes keep serde's
/// words.
pub fn query_error(error: actix_web::error::QueryPayloadError) -> ApiError {
    let unknown = match &error {
        actix_web::error::QueryPayloadError::Deserialize(cause) => unknown_parameter(&cause.to_string()),
        _ => None,
    };
    let message = unknown.unwrap_or_else(|| format!("invalid query string: {error}"));
    ApiError::BadRequest { code: ErrorCode::InvalidQuery, message }
}

/// serde's "unknown field `x`, expected one of `a`, `b`" (or "…, there are no fields") in the
/// words of a query string.
fn unknown_parameter(cause: &str) -> Option<String> {
    let rest = cause.strip_prefix("unknown field ")?;
    let (name, known) = rest.split_once(", ").unwrap_or((rest, ""));
    let known = match known {
        "there are no fields" | "" => "this endpoint takes no query parameters".to_owned(),
        known => known.to_owned(),
    };
    Some(format!("unknown query parameter {name}; {known}"))
}

/// A path segment that does not parse (e.g. `/tickets/abc`) names no resource.
pub fn path_error(_: actix_web::error::PathError) -> ApiError {
    ApiError::NotFound("resource")
}

impl From<crate::search::SearchError> for ApiError {
    fn from(error: crate::search::SearchError) -> ApiError {
        match error {
            crate::search::SearchError::Invalid(problem) => ApiError::InvalidQuery {
                message: problem.message,
                position: problem.position,
                expected: problem.expected,
            },
            crate::search::SearchError::Store(error) => error.into(),
        }
    }
}

impl From<crate::csat::CsatError> for ApiError {
    fn from(error: crate::csat::CsatError) -> ApiError {
        use crate::csat::CsatError;
        let message = error.to_string();
        match error {
            CsatError::NotPending => ApiError::Conflict { code: ErrorCode::SurveyNotPending, message },
            CsatError::AlreadyAnswered => ApiError::Conflict { code: ErrorCode::SurveyAnswered, message },
            CsatError::NotAnswered => ApiError::Conflict { code: ErrorCode::SurveyNotAnswered, message },
            CsatError::InvalidScore(_) => ApiError::BadRequest { code: ErrorCode::InvalidScore, message },
            CsatError::InvalidComment(reason) => ApiError::invalid("comment", reason),
            CsatError::InvalidToken => ApiError::NotFound("survey"),
            CsatError::Ticket(error) => error.into(),
            CsatError::Store(error) => error.into(),
        }
    }
}
