//! Single sign-on for staff with OpenID Connect (issue 17 item 3), the pure half: an account's
//! provider settings, who they let in and whom they keep out of the password ways in, a sign-in
//! waiting for the provider's answer, and the port storing both (tables `sso_settings` and
//! `sso_logins`, migration 0038).

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};

use crate::domain::{AccountId, Role};
use crate::store::StoreResult;

/// How long a sign-in may wait between leaving for the provider and coming back: enough to type
/// a password and a second factor there, short enough that a stolen `state` is soon worthless.
pub const LOGIN_TTL: SignedDuration = SignedDuration::from_mins(10);

/// An account's OpenID Connect provider, as an admin saved it.
#[derive(Clone, Debug, PartialEq)]
pub struct SsoSettings {
    /// The issuer URL; its discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Kept in a column of its own (so secrets at rest, issue 17 item 8, can seal it); the API
    /// never returns it.
    pub client_secret: Option<String>,
    pub enabled: bool,
    /// Agents and supervisors may sign in only through the provider.
    pub sso_only_for_staff: bool,
    pub updated_at: Timestamp,
}

impl SsoSettings {
    /// Whether a user of this `role` is kept out of the password ways in (password login, a
    /// reset link): agents and supervisors when SSO is on and required of staff. Admins keep
    /// their password (and their second factor, if they have one) as the way back in when the
    /// provider is down or misconfigured; customers never use the provider.
    pub fn password_refused(&self, role: Role) -> bool {
        self.enabled && self.sso_only_for_staff && matches!(role, Role::Agent | Role::Supervisor)
    }

    /// Whether the provider vouches for a staff member's second factor: with SSO required of
    /// them, agents and supervisors only ever sign in at the provider, which owns their factors,
    /// so the account's "staff must use MFA" does not send them to enrol a TOTP here.
    pub fn provider_owns_factors(&self, role: Role) -> bool {
        self.password_refused(role)
    }
}

/// Whether an account's users of `role` may sign in through its provider: staff only
/// (customers sign in with their password or a code, and are never matched by the provider).
pub fn signs_in_with_sso(role: Role) -> bool {
    role.is_staff()
}

/// A sign-in that left for the provider and has not come back yet. Single-use: the callback
/// takes (deletes) it before anything else.
#[derive(Clone, Debug, PartialEq)]
pub struct SsoLogin {
    /// SHA-256 of the `state` sent to the provider (the key it comes back with).
    pub state_hash: Vec<u8>,
    pub account_id: AccountId,
    /// SHA-256 of the value of the browser's sign-in cookie: the callback must come back in the
    /// browser that started it (no one can log a victim in as themselves with their own code).
    pub browser_hash: Vec<u8>,
    /// The ID token must carry it back.
    pub nonce: String,
    /// The PKCE verifier of the challenge the provider got.
    pub pkce_verifier: String,
    /// The redirect URI the provider was given (the exchange must repeat it).
    pub redirect_uri: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

impl SsoLogin {
    pub fn expired(&self, now: Timestamp) -> bool {
        now >= self.expires_at
    }
}

#[async_trait]
pub trait SsoPort: Send + Sync + 'static {
    async fn sso_settings(&self, account: AccountId) -> StoreResult<Option<SsoSettings>>;
    /// Saves the account's settings (one row per account, replaced).
    async fn set_sso_settings(&self, account: AccountId, settings: &SsoSettings) -> StoreResult<()>;
    /// Stores a sign-in waiting for its callback, and deletes those expired by `login.created_at`.
    async fn create_sso_login(&self, login: &SsoLogin) -> StoreResult<()>;
    /// Takes the sign-in with this state (deleting it, so a state is used once, even by two
    /// nodes at once); expired or not, the caller judges.
    async fn take_sso_login(&self, state_hash: &[u8]) -> StoreResult<Option<SsoLogin>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(enabled: bool, only: bool) -> SsoSettings {
        SsoSettings {
            issuer: "https://id.example".to_owned(),
            client_id: "switchboard".to_owned(),
            client_secret: None,
            enabled,
            sso_only_for_staff: only,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn only_agents_and_supervisors_lose_their_password_and_only_when_sso_is_on_and_required() {
        let required = settings(true, true);
        assert!(required.password_refused(Role::Agent));
        assert!(required.password_refused(Role::Supervisor));
        assert!(!required.password_refused(Role::Admin), "admins keep the way back in");
        assert!(!required.password_refused(Role::Customer), "customers never use the provider");
        for other in [settings(true, false), settings(false, true), settings(false, false)] {
            for role in [Role::Agent, Role::Supervisor, Role::Admin, Role::Customer] {
                assert!(!other.password_refused(role), "{other:?} {role:?}");
            }
        }
        assert!(required.provider_owns_factors(Role::Agent));
        assert!(!required.provider_owns_factors(Role::Admin));
        assert!(!settings(true, false).provider_owns_factors(Role::Agent));
    }

    #[test]
    fn only_staff_sign_in_with_the_provider() {
        assert!(
            signs_in_with_sso(Role::Agent) && signs_in_with_sso(Role::Supervisor) && signs_in_with_sso(Role::Admin)
        );
        assert!(!signs_in_with_sso(Role::Customer));
    }

    #[test]
    fn a_waiting_sign_in_expires_at_its_deadline() {
        let created_at = Timestamp::from_second(1_800_000_000).expect("time");
        let login = SsoLogin {
            state_hash: vec![1],
            account_id: 1,
            browser_hash: vec![2],
            nonce: "n".to_owned(),
            pkce_verifier: "v".to_owned(),
            redirect_uri: "http://127.0.0.1/cb".to_owned(),
            created_at,
            expires_at: created_at + LOGIN_TTL,
        };
        assert!(!login.expired(created_at + SignedDuration::from_mins(9)));
        assert!(login.expired(created_at + LOGIN_TTL));
    }
}
