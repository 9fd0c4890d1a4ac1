//! Single sign-on for staff with OpenID Connect (issue 17 item 3), the server's half: checking a
//! provider when an admin saves it (the issuer's shape, then its discovery document and key set),
//! sending a browser to it (authorization code flow with PKCE, `state` and `nonce` kept in the
//! store for [`LOGIN_TTL`], bound to the browser by a cookie), and taking it back: the waiting
//! sign-in used once, the code exchanged, the ID token verified (signature against the provider's
//! JWKS, issuer, audience, nonce, expiry on the injected clock, `at_hash`), then the account's
//! active staff member with that **verified** email. Nobody is created: an unknown address is
//! refused. The provider's documents are fetched again for every sign-in (two requests each way),
//! so a rotated key is seen at once and nothing is cached across nodes.

mod http_client;

use std::sync::Arc;

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdTokenVerifier, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse as _,
};
use subtle::ConstantTimeEq as _;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::{AccountId, User};
use switchboard_actors::sso::{LOGIN_TTL, SsoLogin, SsoSettings, signs_in_with_sso};
use switchboard_actors::store::{Store, StoreError};

pub use http_client::OidcHttp;

/// The longest issuer URL accepted.
pub const MAX_ISSUER: usize = 2_000;
/// Sign-ins one client address may start at once, and more a minute: starting one needs no
/// session, writes a row and costs two requests to the provider, so a script must not loop it.
const START_BURST: u32 = 20;
const STARTS_PER_MINUTE: u32 = 20;

#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The issuer is not an https URL (or http to this machine), or has parts an issuer cannot.
    #[error("{0}")]
    InvalidIssuer(String),
    /// The discovery document or key set could not be fetched, or does not describe the issuer.
    #[error("the provider's discovery document could not be used: {0}")]
    Discovery(String),
    #[error("single sign-on is not set up for this account")]
    NotConfigured,
    /// No waiting sign-in with this state, or it expired, or it came back to another browser.
    #[error("this sign-in expired, was already used or was started in another browser; start again")]
    InvalidState,
    /// The provider answered the callback with an error, or refused the code.
    #[error("the identity provider did not sign you in: {0}")]
    Provider(String),
    /// The ID token is missing, badly signed, for someone else, replayed or expired.
    #[error("the identity provider's ID token was refused: {0}")]
    InvalidToken(String),
    #[error("the identity provider did not confirm this email address")]
    EmailUnverified,
    #[error("no active staff member of this account has this email address")]
    UnknownUser,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SsoError {
    /// The `reason` a failed sign-in is recorded with in the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoError::InvalidIssuer(_) => "invalid_issuer",
            SsoError::Discovery(_) => "discovery_failed",
            SsoError::NotConfigured => "not_configured",
            SsoError::InvalidState => "invalid_state",
            SsoError::Provider(_) => "provider_refused",
            SsoError::InvalidToken(_) => "invalid_token",
            SsoError::EmailUnverified => "email_unverified",
            SsoError::UnknownUser => "unknown_email",
            SsoError::Store(_) => "store",
        }
    }
}

/// A failed callback, with what is known of it for the audit log.
#[derive(Debug)]
pub struct SsoFailure {
    /// The account of the waiting sign-in, once it was found.
    pub account: Option<AccountId>,
    /// The address the provider vouched for (or not), once the token was verified.
    pub email: Option<String>,
    pub error: SsoError,
}

/// Where the browser goes, and the value of the cookie that binds the sign-in to it.
pub struct Started {
    pub authorize_url: String,
    pub browser_token: String,
}

/// The issuer as a URL the hub will fetch: https, or http only to this machine (a provider run
/// beside the hub for development and the tests; loopback traffic never crosses a network).
/// No credentials, query or fragment (the discovery path is appended to it).
pub fn issuer_url(issuer: &str) -> Result<IssuerUrl, SsoError> {
    let invalid = |message: &str| SsoError::InvalidIssuer(message.to_owned());
    let issuer = issuer.trim();
    if issuer.is_empty() || issuer.len() > MAX_ISSUER {
        return Err(invalid("an issuer URL such as https://accounts.google.com"));
    }
    let url = reqwest::Url::parse(issuer).map_err(|error| invalid(&format!("not a URL: {error}")))?;
    let host = url.host().ok_or_else(|| invalid("the URL has no host"))?;
    let loopback = match host {
        openidconnect::url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        openidconnect::url::Host::Ipv4(address) => address.is_loopback(),
        openidconnect::url::Host::Ipv6(address) => address.is_loopback(),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid("the issuer must be an https URL (http only for a provider on this machine)")),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("the issuer URL takes no credentials, query or fragment"));
    }
    IssuerUrl::new(issuer.to_owned()).map_err(|error| invalid(&error.to_string()))
}

pub struct Sso {
    http: OidcHttp,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// The login limiter's per-address bucket, with its own numbers, for starts.
    starts: crate::auth::LoginLimits,
}

impl Sso {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Result<Sso, reqwest::Error> {
        let policy = crate::auth::LoginPolicy {
            // Only the per-address bucket limits starts: no pair ever waits.
            free_failures: u32::MAX,
            delay_base: std::time::Duration::from_secs(60),
            delay_max: std::time::Duration::from_secs(60),
            burst: START_BURST,
            per_minute: STARTS_PER_MINUTE,
        };
        // The client address comes from the caller (the login limits' reading of it).
        let starts = crate::auth::LoginLimits::new(policy, &[]);
        Ok(Sso { http: OidcHttp::new()?, store, clock, starts })
    }

    /// Counts a start from `client`, or says how long it must wait.
    pub fn admit_start(&self, client: std::net::IpAddr) -> Result<(), std::time::Duration> {
        self.starts.admit("sso-start", client, std::time::Instant::now()).map(|_| ())
    }

    /// The provider's discovery document (and key set), checked: it names this issuer, has a
    /// token endpoint and offers the authorization code flow.
    pub async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, SsoError> {
        let issuer = issuer_url(issuer)?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|error| SsoError::Discovery(error_chain(&error)))?;
        if metadata.token_endpoint().is_none() {
            return Err(SsoError::Discovery("it names no token endpoint".to_owned()));
        }
        let code_flow = metadata
            .response_types_supported()
            .iter()
            .any(|types| types.len() == 1 && types.contains(&openidconnect::core::CoreResponseType::Code));
        if !code_flow {
            return Err(SsoError::Discovery("it does not offer the authorization code flow".to_owned()));
        }
        if metadata.jwks().keys().is_empty() {
            return Err(SsoError::Discovery("its key set (jwks_uri) holds no keys".to_owned()));
        }
        Ok(metadata)
    }

    async fn enabled_settings(&self, account: AccountId) -> Result<SsoSettings, SsoError> {
        self.store.sso_settings(account).await?.filter(|settings| settings.enabled).ok_or(SsoError::NotConfigured)
    }

    /// Starts a sign-in with the account's provider, coming back to `redirect_uri`.
    pub async fn start(&self, account: AccountId, redirect_uri: String) -> Result<Started, SsoError> {
        let settings = self.enabled_settings(account).await?;
        let metadata = self.discover(&settings.issuer).await?;
        let redirect = RedirectUrl::new(redirect_uri.clone()).map_err(|error| SsoError::Provider(error.to_string()))?;
        let client = client(metadata, &settings).set_redirect_uri(redirect);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        let (browser_token, browser_hash) = crate::auth::new_token();
        let now = self.clock.now();
        self.store
            .create_sso_login(&SsoLogin {
                state_hash: crate::auth::token_hash(state.secret()),
                account_id: account,
                browser_hash,
                nonce: nonce.secret().clone(),
                pkce_verifier: verifier.secret().clone(),
                redirect_uri,
                created_at: now,
                expires_at: now + LOGIN_TTL,
            })
            .await?;
        Ok(Started { authorize_url: url.to_string(), browser_token })
    }

    /// Finishes the sign-in `state` names with the provider's `code`, in the browser holding
    /// `browser_token`: the account's active staff member the verified ID token is about.
    pub async fn finish(&self, state: &str, browser_token: Option<&str>, code: &str) -> Result<User, SsoFailure> {
        let fail = |account, email, error| SsoFailure { account, email, error };
        let taken = self.store.take_sso_login(&crate::auth::token_hash(state)).await;
        let login = match taken {
            Ok(Some(login)) => login,
            Ok(None) => return Err(fail(None, None, SsoError::InvalidState)),
            Err(error) => return Err(fail(None, None, error.into())),
        };
        let account = Some(login.account_id);
        let same_browser =
            browser_token.is_some_and(|token| bool::from(crate::auth::token_hash(token).ct_eq(&login.browser_hash)));
        if login.expired(self.clock.now()) || !same_browser {
            return Err(fail(account, None, SsoError::InvalidState));
        }
        let (email, verified) =
            self.verified_identity(&login, code).await.map_err(|error| fail(account, None, error))?;
        if !verified {
            return Err(fail(account, Some(email), SsoError::EmailUnverified));
        }
        match self.staff_member(login.account_id, &email).await {
            Ok(user) => Ok(user),
            Err(error) => Err(fail(account, Some(email), error)),
        }
    }

    /// The code exchanged and the ID token verified: the email it carries and whether the
    /// provider says it verified it.
    async fn verified_identity(&self, login: &SsoLogin, code: &str) -> Result<(String, bool), SsoError> {
        let settings = self.enabled_settings(login.account_id).await?;
        let metadata = self.discover(&settings.issuer).await?;
        let redirect =
            RedirectUrl::new(login.redirect_uri.clone()).map_err(|error| SsoError::Provider(error.to_string()))?;
        let client = client(metadata, &settings).set_redirect_uri(redirect);
        let answer = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| SsoError::Provider(error.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|error| SsoError::Provider(error_chain(&error)))?;
        let id_token =
            answer.id_token().ok_or_else(|| SsoError::InvalidToken("the answer has no ID token".to_owned()))?;
        let clock = self.clock.clone();
        let verifier: CoreIdTokenVerifier<'_> = client.id_token_verifier().set_time_fn(move || {
            // Out of chrono's range cannot happen; if it did, every token would be expired.
            chrono::DateTime::from_timestamp_millis(clock.now().as_millisecond())
                .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        });
        let invalid = |error: &dyn std::error::Error| SsoError::InvalidToken(error_chain(error));
        let claims = id_token.claims(&verifier, &Nonce::new(login.nonce.clone())).map_err(|error| invalid(&error))?;
        // The access token is the one the ID token was issued with (when the provider says).
        if let Some(expected) = claims.access_token_hash() {
            let algorithm = id_token.signing_alg().map_err(|error| invalid(&error))?;
            let key = id_token.signing_key(&verifier).map_err(|error| invalid(&error))?;
            let actual =
                AccessTokenHash::from_token(answer.access_token(), algorithm, key).map_err(|error| invalid(&error))?;
            if actual != *expected {
                return Err(SsoError::InvalidToken("the access token does not match at_hash".to_owned()));
            }
        }
        let email =
            claims.email().map(|email| email.as_str().trim().to_lowercase()).ok_or(SsoError::EmailUnverified)?;
        Ok((email, claims.email_verified() == Some(true)))
    }

    /// The account's active staff member with this address.
    async fn staff_member(&self, account: AccountId, email: &str) -> Result<User, SsoError> {
        let found = self.store.user_credentials(email).await?.map(|credentials| credentials.user);
        found
            .filter(|user| user.account_id == account && user.active && signs_in_with_sso(user.role))
            .ok_or(SsoError::UnknownUser)
    }
}

/// A client for the provider: its endpoints and algorithms from discovery, the account's id and
/// secret (sent as the provider prefers: HTTP Basic, or in the body when that is all it takes).
fn client(
    metadata: CoreProviderMetadata,
    settings: &SsoSettings,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    let body_only = metadata.token_endpoint_auth_methods_supported().is_some_and(|methods| {
        methods.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
    });
    let secret = settings.client_secret.clone().filter(|secret| !secret.is_empty()).map(ClientSecret::new);
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new(settings.client_id.clone()), secret);
    if body_only { client.set_auth_type(AuthType::RequestBody) } else { client }
}

/// An error with its causes, for a message an admin can act on ("… : connection refused").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_on_this_machine() {
        for good in [
            "https://accounts.google.com",
            "https://id.example/realms/acme",
            "http://127.0.0.1:8081",
            "http://localhost/x",
            "http://[::1]:9000",
        ] {
            assert!(issuer_url(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "accounts.google.com",
            "http://id.example",
            "http://10.0.0.1",
            "ftp://id.example",
            "https://user:pw@id.example",
            "https://id.example/?tenant=1",
            "https://id.example/#x",
        ] {
            assert!(matches!(issuer_url(bad), Err(SsoError::InvalidIssuer(_))), "{bad}");
        }
        assert!(issuer_url(&format!("https://id.example/{}", "a".repeat(MAX_ISSUER))).is_err());
    }
}
