//! Login security (issue 17 items 1–2), the pure half: an account's security policy (staff must
//! use MFA, sessions' idle timeout and absolute lifetime) and when it ends a session, a user's
//! TOTP enrolment as stored, a session as its owner sees it (with the device read from its
//! User-Agent), and the storage port (`SecurityPort`, migration 0031).
//!
//! The TOTP arithmetic itself (codes, steps, the `otpauth://` URI) is the server's
//! (`src/auth/mfa.rs`, totp-rs); this module only knows what is stored.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::store::StoreResult;

/// Longest idle timeout an admin may set: 30 days, in minutes.
pub const MAX_IDLE_MINUTES: u32 = 30 * 24 * 60;
/// Longest absolute lifetime an admin may set: one year, in hours.
pub const MAX_LIFETIME_HOURS: u32 = 365 * 24;
/// Shortest idle timeout: below this a console left to read a ticket logs out mid-sentence.
pub const MIN_IDLE_MINUTES: u32 = 5;

/// An account's security policy (`GET/PUT /api/v1/account/security`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Staff (agents, supervisors, admins) without MFA are sent to enrol after they log in
    /// (`mfa_enrolment_required` on the login answer and on `/me`).
    #[serde(default)]
    pub staff_mfa_required: bool,
    /// A login session unused for this many minutes ends (`null`: never idles out).
    #[serde(default)]
    pub session_idle_minutes: Option<u32>,
    /// A login session ends this many hours after it started, used or not (`null`: only the
    /// server's `[auth] session_ttl_hours`).
    #[serde(default)]
    pub session_lifetime_hours: Option<u32>,
}

impl SecurityPolicy {
    /// `Err((field, message))` for a value out of range.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(minutes) = self.session_idle_minutes
            && !(MIN_IDLE_MINUTES..=MAX_IDLE_MINUTES).contains(&minutes)
        {
            let message = format!("between {MIN_IDLE_MINUTES} and {MAX_IDLE_MINUTES} minutes, or null");
            return Err(("session_idle_minutes", message));
        }
        if let Some(hours) = self.session_lifetime_hours
            && !(1..=MAX_LIFETIME_HOURS).contains(&hours)
        {
            return Err(("session_lifetime_hours", format!("between 1 and {MAX_LIFETIME_HOURS} hours, or null")));
        }
        Ok(())
    }

    /// Whether a login session started at `created_at` and last used at `last_seen_at` has ended
    /// by `now` under this policy.
    pub fn session_ended(&self, created_at: Timestamp, last_seen_at: Timestamp, now: Timestamp) -> bool {
        let idle = self
            .session_idle_minutes
            .is_some_and(|minutes| now.duration_since(last_seen_at) >= SignedDuration::from_mins(i64::from(minutes)));
        let old = self
            .session_lifetime_hours
            .is_some_and(|hours| now.duration_since(created_at) >= SignedDuration::from_hours(i64::from(hours)));
        idle || old
    }

    /// Whether `role` without MFA must enrol before working.
    pub fn enrolment_required(&self, role: Role, mfa_enabled: bool) -> bool {
        self.staff_mfa_required && role.is_staff() && !mfa_enabled
    }
}

crate::domain::string_enum!(
    /// A login session (a person's browser or client), or an API token an admin issued for an
    /// integration (not subject to the idle timeout and lifetime policy).
    SessionKind { Login => "login", Token => "token" }
);

/// What the store knows of the session a request came with.
#[derive(Clone, Debug)]
pub struct SessionUser {
    pub user: User,
    pub kind: SessionKind,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The user's account's policy (the defaults when none was saved).
    pub policy: SecurityPolicy,
}

/// A session as its owner sees it (`GET /api/v1/me/sessions`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionSummary {
    /// The session's public id (its token never leaves the server after login).
    pub id: String,
    pub kind: SessionKind,
    /// The browser and system, read from the User-Agent it logged in with ("Firefox on Linux").
    pub device: String,
    pub user_agent: String,
    /// The address it logged in from.
    pub ip: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    /// The session this request came with.
    pub current: bool,
}

/// A user's TOTP enrolment as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpEnrolment {
    pub user_id: UserId,
    /// The shared secret, base32 (RFC 4648, no padding).
    pub secret: String,
    /// `None` while the enrolment waits for its first code.
    pub enabled_at: Option<Timestamp>,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

impl TotpEnrolment {
    pub fn enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// "Firefox on Linux", "Safari on iPhone", "curl": a short name for a User-Agent, good enough
/// for a person to recognise their own devices (not for analytics).
pub fn device_label(user_agent: &str) -> String {
    let ua = user_agent;
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else if let Some(tool) = ua.split(['/', ' ']).next().filter(|tool| !tool.is_empty() && !has("Mozilla/")) {
        return tool.chars().take(40).collect();
    } else {
        ""
    };
    let system = if has("iPhone") {
        "iPhone"
    } else if has("iPad") {
        "iPad"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, system) {
        ("", "") => "Unknown device".to_owned(),
        (browser, "") => browser.to_owned(),
        ("", system) => system.to_owned(),
        (browser, system) => format!("{browser} on {system}"),
    }
}

/// The security policy, TOTP enrolments and recovery codes, and a user's sessions.
#[async_trait]
pub trait SecurityPort: Send + Sync + 'static {
    /// The account's policy (the defaults when none was saved).
    async fn security_policy(&self, account: AccountId) -> StoreResult<SecurityPolicy>;
    async fn set_security_policy(&self, account: AccountId, policy: &SecurityPolicy) -> StoreResult<()>;
    async fn totp_enrolment(&self, user: UserId) -> StoreResult<Option<TotpEnrolment>>;
    /// Starts (or restarts) an enrolment with `secret`, unless one is enabled (then `false`).
    async fn start_totp(&self, account: AccountId, user: UserId, secret: &str) -> StoreResult<bool>;
    /// Enables the waiting enrolment, accepting `step`, with these recovery code hashes (any
    /// earlier ones are replaced), in one transaction; `false` if it was enabled meanwhile or
    /// none waits.
    async fn enable_totp(&self, user: UserId, step: i64, recovery_hashes: &[Vec<u8>]) -> StoreResult<bool>;
    /// Accepts `step` once: `true` only if no code of this step or a later one was accepted
    /// before (a conditional update, so two requests with one code cannot both pass).
    async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool>;
    /// Uses up a recovery code: `true` if it was there (a conditional delete).
    async fn use_recovery_code(&self, user: UserId, code_hash: &[u8]) -> StoreResult<bool>;
    async fn recovery_codes_left(&self, user: UserId) -> StoreResult<i64>;
    /// Removes the enrolment and the recovery codes.
    async fn disable_totp(&self, user: UserId) -> StoreResult<()>;
    /// The user's unexpired sessions, newest first; `current` marks the one with `current_hash`.
    async fn user_sessions(
        &self,
        user: UserId,
        current_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Vec<SessionSummary>>;
    /// Deletes the user's session with public id `id`; its token hash, if there was one.
    async fn delete_session_by_id(&self, user: UserId, id: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Records that the session was used at `at`.
    async fn touch_session(&self, token_hash: &[u8], at: Timestamp) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("timestamp")
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let policy =
            SecurityPolicy { session_idle_minutes: Some(30), session_lifetime_hours: Some(8), ..Default::default() };
        assert!(!policy.session_ended(at(0), at(0), at(29 * 60)));
        assert!(policy.session_ended(at(0), at(0), at(30 * 60)), "idle for 30 minutes");
        assert!(!policy.session_ended(at(0), at(7 * 3600 + 1800), at(7 * 3600 + 3500)));
        assert!(policy.session_ended(at(0), at(8 * 3600 - 60), at(8 * 3600)), "8 hours old, used a minute ago");
        assert!(!SecurityPolicy::default().session_ended(at(0), at(0), at(365 * 86_400)), "no policy, no end");
    }

    #[test]
    fn policy_values_are_bounded() {
        let idle = |minutes| SecurityPolicy { session_idle_minutes: Some(minutes), ..Default::default() };
        assert_eq!(idle(4).validate().map_err(|(field, _)| field), Err("session_idle_minutes"));
        assert!(idle(5).validate().is_ok());
        assert!(idle(MAX_IDLE_MINUTES + 1).validate().is_err());
        let life = |hours| SecurityPolicy { session_lifetime_hours: Some(hours), ..Default::default() };
        assert_eq!(life(0).validate().map_err(|(field, _)| field), Err("session_lifetime_hours"));
        assert!(life(MAX_LIFETIME_HOURS).validate().is_ok());
    }

    #[test]
    fn only_staff_without_mfa_must_enrol() {
        let policy = SecurityPolicy { staff_mfa_required: true, ..Default::default() };
        assert!(policy.enrolment_required(Role::Agent, false));
        assert!(!policy.enrolment_required(Role::Agent, true));
        assert!(!policy.enrolment_required(Role::Customer, false));
        assert!(!SecurityPolicy::default().enrolment_required(Role::Admin, false));
    }

    #[test]
    fn devices_are_named_from_the_user_agent() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
        assert_eq!(device_label(firefox), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(device_label(chrome), "Chrome on Windows");
        let edge = format!("{chrome} Edg/156.0.0.0");
        assert_eq!(device_label(&edge), "Edge on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1";
        assert_eq!(device_label(iphone), "Safari on iPhone");
        assert_eq!(device_label("curl/8.5.0"), "curl");
        assert_eq!(device_label(""), "Unknown device");
    }
}
