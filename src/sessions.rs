//! Who a session token belongs to, for every transport (REST, WebSocket, the staff-only tools):
//! the one place a token becomes a user and a customer becomes the tickets they may see, and
//! where the account's session policy (idle timeout, absolute lifetime) ends login sessions.

use std::sync::Arc;

use switchboard_actors::clock::Clock;
use switchboard_actors::companies::CompaniesPort;
use switchboard_actors::domain::User;
use switchboard_actors::security::{SecurityPolicy, SecurityPort, SessionKind};
use switchboard_actors::sso::SsoPort;
use switchboard_actors::store::{SessionsPort, Store, TicketScope};

use crate::error::ApiError;
use crate::live::{Hub, SessionEnd};

/// A session's `last_seen_at` is written at most this often: a request within a minute of the
/// last write costs no write (so an idle timeout counts from up to a minute early).
const TOUCH_EVERY: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);

pub struct Sessions {
    sessions: Arc<dyn SessionsPort>,
    security: Arc<dyn SecurityPort>,
    sso: Arc<dyn SsoPort>,
    /// Closes the sockets of a session the policy ended, like a logout does.
    live: Arc<Hub>,
    companies: Arc<dyn CompaniesPort>,
    clock: Arc<dyn Clock>,
}

impl Sessions {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, live: Arc<Hub>) -> Sessions {
        Sessions { sessions: store.clone(), security: store.clone(), sso: store.clone(), companies: store, clock, live }
    }

    /// The user of a live session token. A login session that its account's policy ended (idle
    /// too long, or too old) is deleted here, its sockets close (4001, on every node), and it
    /// answers like an unknown token.
    pub async fn authenticate(&self, token: Option<String>) -> Result<User, ApiError> {
        Ok(self.authenticate_with_policy(token).await?.0)
    }

    /// [`Sessions::authenticate`], with the account's security policy the session was judged by.
    pub async fn authenticate_with_policy(&self, token: Option<String>) -> Result<(User, SecurityPolicy), ApiError> {
        let token = token.filter(|token| !token.is_empty()).ok_or(ApiError::Unauthenticated)?;
        let token_hash = crate::auth::token_hash(&token);
        let now = self.clock.now();
        let found = self.sessions.session_user(&token_hash, now).await?.ok_or(ApiError::Unauthenticated)?;
        if found.kind == SessionKind::Login && found.policy.session_ended(found.created_at, found.last_seen_at, now) {
            self.sessions.delete_session(&token_hash).await?;
            let end = SessionEnd::Session { session: hex::encode(&token_hash) };
            self.live.end_sessions(found.user.account_id, end);
            return Err(ApiError::Unauthenticated);
        }
        if now.duration_since(found.last_seen_at) >= TOUCH_EVERY {
            self.security.touch_session(&token_hash, now).await?;
        }
        Ok((found.user, found.policy))
    }

    /// Whether "staff must use MFA" holds `user` back: staff, the policy on (`policy`, or the
    /// account's when `None`), not kept to single sign-on (the provider owns their factors),
    /// and no MFA enabled. Such a user's sessions and API keys reach
    /// only `/me`, MFA enrolment and logout ([`mfa_enrolment_exempt`]).
    pub async fn mfa_enrolment_pending(&self, user: &User, policy: Option<SecurityPolicy>) -> Result<bool, ApiError> {
        if !user.role.is_staff() {
            return Ok(false);
        }
        let policy = match policy {
            Some(policy) => policy,
            None => self.security.security_policy(user.account_id).await?,
        };
        if !policy.enrolment_required(user.role, false) {
            return Ok(false);
        }
        // Staff kept to single sign-on prove their factors at the identity provider.
        if self.sso.sso_settings(user.account_id).await?.is_some_and(|sso| sso.provider_owns_factors(user.role)) {
            return Ok(false);
        }
        let enabled = self.security.totp_enrolment(user.id).await?.is_some_and(|enrolment| enrolment.enabled());
        Ok(policy.enrolment_required(user.role, enabled))
    }

    /// Which tickets a customer may see: their own, or their company's when it shares.
    pub async fn customer_scope(&self, user: &User) -> Result<TicketScope, ApiError> {
        if let Some(company_id) = user.company_id
            && let Some(company) = self.companies.company(user.account_id, company_id).await?
            && company.members_see_company_tickets
        {
            return Ok(TicketScope::RequesterOrCompany(user.id, company_id));
        }
        Ok(TicketScope::Requester(user.id))
    }
}

/// The routes a staff member held back by "staff must use MFA" may still call (method and
/// route pattern): who they are, enrolling, and logging out — plus what the console's
/// preferences page (where enrolment lives) reads to show itself, and ending their own
/// sessions. Nothing of the account's data.
pub const MFA_ENROLMENT_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/me/mfa/totp"),
    ("POST", "/api/v1/me/mfa/totp/confirm"),
    ("GET", "/api/v1/me/preferences"),
    ("GET", "/api/v1/me/sessions"),
    ("DELETE", "/api/v1/me/sessions/{id}"),
];

/// Whether a request (its method and matched route pattern) is one of [`MFA_ENROLMENT_ROUTES`].
pub fn mfa_enrolment_exempt(method: &str, pattern: Option<&str>) -> bool {
    pattern.is_some_and(|pattern| MFA_ENROLMENT_ROUTES.contains(&(method, pattern)))
}
