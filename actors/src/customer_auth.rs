//! Customer accounts' one-time secrets and what using them changes: registration codes,
//! passwordless login codes, WhatsApp number verification codes and password-reset tokens, and
//! the port that stores them. Codes and tokens are stored only as hashes (the server hashes; the
//! store never sees a code), and every change a verified code allows is one transaction.

use async_trait::async_trait;
use jiff::Timestamp;

use crate::domain::{AccountId, User, UserId};
use crate::store::StoreResult;

/// Wrong tries a code survives: the fifth wrong one kills it.
pub const MAX_CODE_ATTEMPTS: i64 = 5;

/// What a one-time code is for. With its destination it names the code: one alive per pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodePurpose {
    /// Completes a registration (`POST /auth/register`, then `/auth/verify`).
    Register,
    /// Logs in without a password (`POST /auth/code`, then `/auth/code/verify`).
    Login,
    /// Proves a customer holds a WhatsApp number (from their profile).
    Phone,
}

impl CodePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            CodePurpose::Register => "register",
            CodePurpose::Login => "login",
            CodePurpose::Phone => "phone",
        }
    }
}

/// Where a code went: an email address or a WhatsApp number (its digits, the wa_id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    Email(String),
    Phone(String),
}

impl Destination {
    /// The stored form: `email:<address>` or `phone:<digits>`.
    pub fn key(&self) -> String {
        match self {
            Destination::Email(address) => format!("email:{address}"),
            Destination::Phone(digits) => format!("phone:{digits}"),
        }
    }
}

/// A code as stored: its hash, never the code.
#[derive(Clone, Debug, PartialEq)]
pub struct OneTimeCode {
    pub purpose: CodePurpose,
    /// [`Destination::key`].
    pub destination: String,
    pub account_id: AccountId,
    /// Login: the user it logs in. Phone: the customer who asked to verify the number.
    /// Register: the existing profile the registration completes, if any.
    pub user_id: Option<UserId>,
    pub code_hash: Vec<u8>,
    pub attempts: i64,
    /// Register: the name and the (argon2) password hash the account gets once verified.
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub expires_at: Timestamp,
}

impl OneTimeCode {
    /// Whether the code may still be tried at `now`.
    pub fn alive(&self, now: Timestamp) -> bool {
        self.expires_at > now && self.attempts < MAX_CODE_ATTEMPTS
    }
}

/// What a verified registration does to the directory.
#[derive(Clone, Debug, PartialEq)]
pub enum Registration {
    /// Nobody had the address: a new customer with it as their email and email contact.
    NewCustomer { account_id: AccountId, email: String, name: String, password_hash: String },
    /// A customer profile without a password had the address (as login email or email
    /// contact): it gets the email, name and password, and keeps its tickets and contacts.
    CompleteProfile { account_id: AccountId, user_id: UserId, email: String, name: String, password_hash: String },
}

/// Two customer profiles of one person become one: `from` (the account that verified the
/// number) folds into `into` (the profile the number's conversations belong to), which takes
/// `from`'s email, name, password and contacts; `from` is deactivated and its sessions end.
#[derive(Clone, Debug, PartialEq)]
pub struct ProfileMerge {
    pub account_id: AccountId,
    pub from: UserId,
    pub into: UserId,
    /// The verified WhatsApp number, recorded as `into`'s phone.
    pub phone: String,
}

/// One-time codes, reset tokens and the account changes they allow.
#[async_trait]
pub trait CustomerAuthPort: Send + Sync + 'static {
    /// Stores `code`, replacing any earlier code of its purpose and destination.
    async fn put_code(&self, code: &OneTimeCode, now: Timestamp) -> StoreResult<()>;
    /// The code of `purpose` for `destination` (a key), alive or not.
    async fn code(&self, purpose: CodePurpose, destination: &str) -> StoreResult<Option<OneTimeCode>>;
    /// Counts a wrong try against the code whose hash is `code_hash` (a code replaced meanwhile
    /// is left alone). Answers whether the code is dead now.
    async fn code_failed(&self, purpose: CodePurpose, destination: &str, code_hash: &[u8]) -> StoreResult<bool>;
    /// Takes (removes) the code if it is still the one whose hash is `code_hash` and alive at
    /// `now`; `false` when another request took it first or it died meanwhile. Single use.
    async fn take_code(
        &self,
        purpose: CodePurpose,
        destination: &str,
        code_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// Applies a verified registration; `Conflict` (and nothing written) when the address was
    /// taken or the profile got a password meanwhile. Answers the customer.
    async fn register_customer(&self, registration: &Registration) -> StoreResult<User>;
    /// Records `user`'s verified WhatsApp number: a contact on the channel and their phone.
    async fn add_verified_phone(&self, account: AccountId, user: UserId, phone: &str) -> StoreResult<()>;
    /// Folds one profile into another (see [`ProfileMerge`]) in one transaction; `Conflict` when
    /// either is not an active customer of the account or `into` has a password.
    async fn merge_profiles(&self, merge: &ProfileMerge) -> StoreResult<User>;
    /// Stores a reset token's hash for `user`, valid until `expires_at`.
    async fn put_reset_token(
        &self,
        account: AccountId,
        user: UserId,
        token_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()>;
    /// The active user an unexpired reset token is for.
    async fn reset_token_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<User>>;
    /// Uses a reset token: in one transaction removes it (and every other token of its user),
    /// sets the password, and ends all of the user's sessions. `None` (nothing written) when the
    /// token is unknown, expired or already used.
    async fn reset_password(&self, token_hash: &[u8], password_hash: &str, now: Timestamp)
    -> StoreResult<Option<User>>;
}
