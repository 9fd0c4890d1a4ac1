//! Customer accounts (issue 14 item 1): registration with an emailed code, password recovery by
//! a single-use link, passwordless login by a code over email or WhatsApp, and WhatsApp number
//! verification from the profile (`profiles.rs`), which makes the number's customer profile the
//! customer's own.
//!
//! The rules every flow keeps:
//! - **Nothing changes before a code is verified.** A registration is only a code row carrying
//!   the name and password hash it will install; the user (new, or the existing profile of that
//!   address) is written when the code checks out. So registering someone else's address gains
//!   nothing, and a staff account or a customer with a password is never touched: the address
//!   gets a note saying someone tried, and the answer is the same.
//! - **The same answer whether or not an address exists**, for register, forgot and code
//!   requests (rate limits are applied before anything is looked up), and one error,
//!   `invalid_code`, for every way a code can be wrong (unknown, expired, used, dead, mistyped).
//! - **Codes and tokens are stored hashed** (codes keyed, see `codes.rs`), compared in constant
//!   time, single use (taken in one conditional delete), five wrong tries kill a code.
//! - **Limits reuse `auth::login_limits`:** sending is limited per destination and client
//!   address and per destination alone ([`LoginLimits::admit_key`]), and per client address;
//!   checking a code goes through the login limits, like a password.
//! - **A confirmed registration joins the company holding the address's domain** (if the
//!   customer is in none): the code proved the address. Profiles made by inbound email never do.

pub mod codes;
mod delivery;
mod profiles;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::Clock;
use switchboard_actors::customer_auth::{CodePurpose, Destination, OneTimeCode, Registration};
use switchboard_actors::domain::{AccountId, Channel, Role, User};
use switchboard_actors::store::{Store, StoreError};
use switchboard_actors::ticket::{TicketError, Tickets};

pub use delivery::{CODE_TEMPLATE, CODE_TEMPLATE_LANGUAGE, DeliveryError};

use crate::auth::{LoginAttempt, LoginLimits, PasswordPool, PoolError};
use crate::channels::email::EmailChannel;
use crate::channels::whatsapp::WhatsAppChannel;
use crate::live::{Hub, SessionEnd};

/// How long a login or phone-verification code works.
pub const CODE_TTL: SignedDuration = SignedDuration::from_mins(10);
/// How long a registration's code works: the account waits this long for its address to be
/// proved, then the registration is gone (registering again sends a new code).
pub const REGISTRATION_TTL: SignedDuration = SignedDuration::from_hours(1);
/// How long a password-reset link works.
pub const RESET_TTL: SignedDuration = SignedDuration::from_mins(30);
/// The name of the install's code-hashing key among the generated secrets.
pub const CODE_KEY_SECRET: &str = "customer_code_key";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the code is wrong, expired or already used; ask for a new one")]
    InvalidCode,
    #[error("this reset link is unknown, expired or already used; ask for a new one")]
    InvalidToken,
    #[error("this address now belongs to another account; log in or reset its password")]
    EmailTaken,
    #[error("this WhatsApp number belongs to another account with a password; log in to that one")]
    PhoneInUse,
    #[error("this account already has a verified WhatsApp number")]
    PhoneAlreadyVerified,
    #[error("only customers have a customer profile")]
    NotACustomer,
    #[error("too many requests; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("the code could not be sent: {0}")]
    NotDelivered(#[from] DeliveryError),
    #[error(transparent)]
    Password(#[from] PoolError),
    #[error(transparent)]
    Ticket(#[from] TicketError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The answer every request for a code or link gets, whoever the address is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sent {
    /// How long what was sent works, in seconds.
    pub expires_in: i64,
}

pub struct CustomerAccounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    tickets: Tickets,
    email: Arc<EmailChannel>,
    whatsapp: Arc<WhatsAppChannel>,
    live: Arc<Hub>,
    passwords: Arc<PasswordPool>,
    /// Code checks, counted like password attempts (shared with `POST /auth/login`).
    logins: Arc<LoginLimits>,
    /// Codes and links sent: per destination and client, per destination, per client.
    sends: LoginLimits,
    /// The account customers register with: the one the channels serve.
    account: AccountId,
    /// Keys the codes' HMAC (generated once per install, see `channels::secrets`).
    code_key: Vec<u8>,
    /// `scheme://host[:port]` the reset link points at.
    public_origin: String,
}

/// What [`CustomerAccounts::new`] takes.
pub struct CustomerAccountsSetup {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tickets: Tickets,
    pub email: Arc<EmailChannel>,
    pub whatsapp: Arc<WhatsAppChannel>,
    pub live: Arc<Hub>,
    pub passwords: Arc<PasswordPool>,
    pub logins: Arc<LoginLimits>,
    pub sends: LoginLimits,
    pub account: AccountId,
    pub code_key: String,
    pub public_origin: String,
}

impl CustomerAccounts {
    pub fn new(setup: CustomerAccountsSetup) -> CustomerAccounts {
        CustomerAccounts {
            store: setup.store,
            clock: setup.clock,
            tickets: setup.tickets,
            email: setup.email,
            whatsapp: setup.whatsapp,
            live: setup.live,
            passwords: setup.passwords,
            logins: setup.logins,
            sends: setup.sends,
            account: setup.account,
            code_key: setup.code_key.into_bytes(),
            public_origin: setup.public_origin,
        }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn expiry(&self, ttl: SignedDuration) -> Timestamp {
        self.now().saturating_add(ttl).unwrap_or(Timestamp::MAX)
    }

    /// Counts a code or link about to be sent to `destination` for `client`, or says how long to
    /// wait: per destination and client, per destination whoever asks, per client.
    fn admit_send(&self, destination: &Destination, client: IpAddr) -> Result<(), AccountError> {
        let key = destination.key();
        let now = Instant::now();
        let _pair = self.sends.admit(&key, client, now).map_err(AccountError::RateLimited)?;
        self.sends.admit_key(&key, now).map_err(AccountError::RateLimited)
    }

    /// Admits a check of a code sent to `destination`, like a password attempt.
    fn admit_check(&self, destination: &Destination, client: IpAddr) -> Result<LoginAttempt, AccountError> {
        self.logins.admit(&destination.key(), client, Instant::now()).map_err(AccountError::RateLimited)
    }

    /// Stores a fresh code for `purpose` and `destination`; answers the code to send.
    async fn issue(&self, template: OneTimeCode) -> Result<String, AccountError> {
        let code = codes::new_code();
        let code_hash = codes::code_hash(&self.code_key, template.purpose, &template.destination, &code);
        self.store.put_code(&OneTimeCode { code_hash, ..template }, self.now()).await?;
        Ok(code)
    }

    fn code_template(&self, purpose: CodePurpose, destination: &Destination, ttl: SignedDuration) -> OneTimeCode {
        OneTimeCode {
            purpose,
            destination: destination.key(),
            account_id: self.account,
            user_id: None,
            code_hash: Vec::new(),
            attempts: 0,
            name: None,
            password_hash: None,
            expires_at: self.expiry(ttl),
        }
    }

    /// The live code for `purpose` and `destination` if `typed` is it: a wrong code counts a
    /// try, a right one is taken (single use). `accept` may refuse a matching code (it is for
    /// someone else) without taking it. Every refusal is [`AccountError::InvalidCode`].
    async fn redeem(
        &self,
        purpose: CodePurpose,
        destination: &Destination,
        typed: &str,
        accept: impl FnOnce(&OneTimeCode) -> bool,
    ) -> Result<OneTimeCode, AccountError> {
        let key = destination.key();
        let typed = codes::typed_code(typed).ok_or(AccountError::InvalidCode)?;
        let stored = self.store.code(purpose, &key).await?.filter(|code| code.alive(self.now()));
        let Some(stored) = stored else { return Err(AccountError::InvalidCode) };
        let offered = codes::code_hash(&self.code_key, purpose, &key, &typed);
        if !codes::same_hash(&stored.code_hash, &offered) {
            self.store.code_failed(purpose, &key, &stored.code_hash).await?;
            return Err(AccountError::InvalidCode);
        }
        if !accept(&stored) || !self.store.take_code(purpose, &key, &stored.code_hash, self.now()).await? {
            return Err(AccountError::InvalidCode);
        }
        Ok(stored)
    }

    /// `POST /auth/register`: a code to the address, carrying the account it will make. The
    /// password is hashed whoever the address belongs to (the answer takes as long either way).
    pub async fn register(
        &self,
        email: &str,
        name: &str,
        password: String,
        client: IpAddr,
    ) -> Result<Sent, AccountError> {
        let email = codes::email_key(email);
        let destination = Destination::Email(email.clone());
        self.admit_send(&destination, client)?;
        let password_hash = self.passwords.hash(password).await?;
        let sent = Sent { expires_in: REGISTRATION_TTL.as_secs() };
        let profile = match self.store.user_credentials(&email).await? {
            Some(found) => Some(found),
            None => match self.store.customer_by_contact(self.account, Channel::Email, &email).await? {
                Some(user) => self.store.user_credentials(&user.email).await?,
                None => None,
            },
        };
        let completes = match &profile {
            None => None,
            Some(found)
                if found.user.account_id == self.account
                    && found.user.role == Role::Customer
                    && found.user.active
                    && found.password_hash.as_deref().is_none_or(str::is_empty) =>
            {
                Some(found.user.id)
            }
            // Staff, a customer with a password, or someone of another account: nothing is
            // stored; the owner hears that someone tried.
            Some(found) => {
                if found.user.active {
                    let body = format!(
                        "Someone asked to create an account with this address, which already has one.\n\n\
                         If it was you, log in, or ask for a password reset if you forgot your password.\n\
                         If it was not you, you can ignore this message: nothing was changed.\n\n{}\n",
                        self.public_origin
                    );
                    self.deliver_quietly(self.mail(&email, "You already have an account", body).await);
                }
                return Ok(sent);
            }
        };
        let mut template = self.code_template(CodePurpose::Register, &destination, REGISTRATION_TTL);
        template.user_id = completes;
        template.name = Some(name.trim().to_owned());
        template.password_hash = Some(password_hash);
        let code = self.issue(template).await?;
        let body = format!(
            "Your verification code is {code}\n\nEnter it to finish creating your account. It works for one hour.\n\
             If you did not ask for an account, ignore this message.\n"
        );
        self.deliver_quietly(self.mail(&email, &format!("{code} is your verification code"), body).await);
        Ok(sent)
    }

    /// `POST /auth/verify`: the registration's code, then the account it carries is written.
    pub async fn verify_registration(&self, email: &str, typed: &str, client: IpAddr) -> Result<User, AccountError> {
        let email = codes::email_key(email);
        let destination = Destination::Email(email.clone());
        let attempt = self.admit_check(&destination, client)?;
        let code = self.redeem(CodePurpose::Register, &destination, typed, |_| true).await?;
        self.logins.succeeded(attempt);
        let (Some(name), Some(password_hash)) = (code.name, code.password_hash) else {
            return Err(AccountError::InvalidCode);
        };
        let registration = match code.user_id {
            Some(user_id) => {
                Registration::CompleteProfile { account_id: code.account_id, user_id, email, name, password_hash }
            }
            None => Registration::NewCustomer { account_id: code.account_id, email, name, password_hash },
        };
        let mut user = self.store.register_customer(&registration).await.map_err(|error| match error {
            StoreError::Conflict(_) => AccountError::EmailTaken,
            other => other.into(),
        })?;
        // The code proved the address: a company holding its domain takes the customer in.
        if user.company_id.is_none()
            && let Some(domain) = switchboard_actors::companies::email_domain(&user.email)
        {
            user.company_id = self.store.join_company_by_domain(user.account_id, user.id, &domain).await?;
        }
        Ok(user)
    }

    /// `POST /auth/forgot`: a single-use reset link to an active user's address.
    pub async fn forgot(&self, email: &str, client: IpAddr) -> Result<Sent, AccountError> {
        let email = codes::email_key(email);
        self.admit_send(&Destination::Email(email.clone()), client)?;
        let sent = Sent { expires_in: RESET_TTL.as_secs() };
        let Some(found) = self.store.user_credentials(&email).await? else { return Ok(sent) };
        if !found.user.active {
            return Ok(sent);
        }
        // Staff kept to single sign-on get no reset link (the same answer, so nobody learns it).
        let sso = self.store.sso_settings(found.user.account_id).await?;
        if sso.is_some_and(|sso| sso.password_refused(found.user.role)) {
            return Ok(sent);
        }
        let (token, token_hash) = crate::auth::new_token();
        let user = &found.user;
        self.store.put_reset_token(user.account_id, user.id, &token_hash, self.now(), self.expiry(RESET_TTL)).await?;
        let body = format!(
            "Someone (hopefully you) asked to reset the password of this account.\n\n\
             Choose a new password here within 30 minutes (the link works once):\n{}/portal/reset?token={token}\n\n\
             Or send the token to POST /api/v1/auth/reset: {token}\n\n\
             If it was not you, ignore this message: your password stays as it is.\n",
            self.public_origin
        );
        self.deliver_quietly(self.mail(&email, "Reset your password", body).await);
        Ok(sent)
    }

    /// `POST /auth/reset`: a new password for the token's user; every session they had ends
    /// (and its sockets close, on every node). Answers the user, to start the one new session.
    pub async fn reset(&self, token: &str, password: String) -> Result<User, AccountError> {
        let token_hash = crate::auth::token_hash(token.trim());
        if self.store.reset_token_user(&token_hash, self.now()).await?.is_none() {
            return Err(AccountError::InvalidToken);
        }
        let password_hash = self.passwords.hash(password).await?;
        let user = self
            .store
            .reset_password(&token_hash, &password_hash, self.now())
            .await?
            .ok_or(AccountError::InvalidToken)?;
        self.live.end_sessions(user.account_id, SessionEnd::User { user_id: user.id, except: None });
        Ok(user)
    }

    /// `POST /auth/code`: a login code to an active customer known by the address (their email,
    /// or a WhatsApp number they wrote from or verified). Staff log in with their password.
    pub async fn send_login_code(&self, destination: &Destination, client: IpAddr) -> Result<Sent, AccountError> {
        self.admit_send(destination, client)?;
        let sent = Sent { expires_in: CODE_TTL.as_secs() };
        let Some(user) = self.login_customer(destination).await? else { return Ok(sent) };
        let mut template = self.code_template(CodePurpose::Login, destination, CODE_TTL);
        template.user_id = Some(user.id);
        let code = self.issue(template).await?;
        let delivered = match destination {
            Destination::Email(address) => {
                let body = format!(
                    "Your login code is {code}\n\nIt works once, for 10 minutes. If you did not ask for it, ignore this \
                     message.\n"
                );
                self.mail(address, &format!("{code} is your login code"), body).await
            }
            Destination::Phone(wa_id) => self.send_whatsapp_code(Some(user.id), wa_id, &code).await,
        };
        self.deliver_quietly(delivered);
        Ok(sent)
    }

    /// `POST /auth/code/verify`: the user a login code was sent for.
    pub async fn verify_login_code(
        &self,
        destination: &Destination,
        typed: &str,
        client: IpAddr,
    ) -> Result<User, AccountError> {
        let attempt = self.admit_check(destination, client)?;
        let code = self.redeem(CodePurpose::Login, destination, typed, |_| true).await?;
        self.logins.succeeded(attempt);
        let user = match code.user_id {
            Some(id) => self.store.user(code.account_id, id).await?,
            None => None,
        };
        // Deactivated (or changed into staff) since the code went out: the code logs nobody in.
        user.filter(|user| user.active && user.role == Role::Customer).ok_or(AccountError::InvalidCode)
    }

    /// The active customer of the account a login code for `destination` would be for.
    async fn login_customer(&self, destination: &Destination) -> Result<Option<User>, AccountError> {
        let user = match destination {
            Destination::Email(address) => self.store.user_credentials(address).await?.map(|found| found.user),
            Destination::Phone(wa_id) => self.store.customer_by_contact(self.account, Channel::Whatsapp, wa_id).await?,
        };
        Ok(user.filter(|user| user.account_id == self.account && user.role == Role::Customer && user.active))
    }

    /// A send whose failure must not change the answer (it would tell which addresses exist):
    /// the failure goes to the log.
    fn deliver_quietly(&self, delivered: Result<(), DeliveryError>) {
        if let Err(error) = delivered {
            tracing::warn!(%error, "a customer account's code or link was not sent");
        }
    }
}
