//! Scoped API keys (issue 17 item 4), the pure half: the scopes, what each role may grant, a key
//! as stored (only its SHA-256 and a display prefix), and the storage port (`ApiKeysPort`,
//! migration 0032). Which scope each route needs is the server's (`src/api_keys/scopes.rs`).

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::store::StoreResult;

pub type ApiKeyId = i64;

/// What a key may do. A key acts as the user who made it, limited to its scopes; `admin` holds
/// every other scope too. Sessions (and tokens issued before keys) hold every scope of their
/// user's role. (Not `string_enum!`: its serde names are snake_case, these have a colon.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    #[serde(rename = "tickets:read")]
    TicketsRead,
    #[serde(rename = "tickets:write")]
    TicketsWrite,
    #[serde(rename = "messages:write")]
    MessagesWrite,
    #[serde(rename = "users:read")]
    UsersRead,
    #[serde(rename = "reports:read")]
    ReportsRead,
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub const ALL: &'static [Scope] = &[
        Scope::TicketsRead,
        Scope::TicketsWrite,
        Scope::MessagesWrite,
        Scope::UsersRead,
        Scope::ReportsRead,
        Scope::WebhooksManage,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TicketsRead => "tickets:read",
            Scope::TicketsWrite => "tickets:write",
            Scope::MessagesWrite => "messages:write",
            Scope::UsersRead => "users:read",
            Scope::ReportsRead => "reports:read",
            Scope::WebhooksManage => "webhooks:manage",
            Scope::Admin => "admin",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = UnknownVariant;
    fn from_str(text: &str) -> Result<Scope, UnknownVariant> {
        Scope::ALL
            .iter()
            .copied()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| UnknownVariant { kind: "scope", value: text.to_owned() })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl Scope {
    /// The scopes a user of `role` holds, and so may put on a key: staff work tickets, read
    /// people and reports; only admins manage webhooks and administer. Customers hold none
    /// (they log in; keys are for integrations).
    pub fn granted_to(role: Role) -> BTreeSet<Scope> {
        match role {
            Role::Admin => Scope::ALL.iter().copied().collect(),
            Role::Supervisor | Role::Agent => {
                [Scope::TicketsRead, Scope::TicketsWrite, Scope::MessagesWrite, Scope::UsersRead, Scope::ReportsRead]
                    .into_iter()
                    .collect()
            }
            Role::Customer => BTreeSet::new(),
        }
    }
}

/// Whether `held` covers `needed` (`admin` covers everything).
pub fn allows(held: &BTreeSet<Scope>, needed: Scope) -> bool {
    held.contains(&needed) || held.contains(&Scope::Admin)
}

/// The characters of a key shown after creation (its `sbk_` prefix and the next eight), enough
/// to tell keys apart in a list and in logs, far too few to guess the rest.
pub const DISPLAY_PREFIX_CHARS: usize = 12;

/// A key as listed: never the secret, only its first characters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    /// The user the key acts as.
    pub user_id: UserId,
    pub name: String,
    /// The key's first characters, e.g. `sbk_3fA9xQ2m`.
    pub prefix: String,
    pub scopes: BTreeSet<Scope>,
    /// Requests per minute this key may make (bursts up to the same number).
    pub rate_limit_per_minute: u32,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    /// When the key was last used, to the minute (recorded at most once a minute per key).
    pub last_used_at: Option<Timestamp>,
}

/// What creating a key stores.
#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub account_id: AccountId,
    pub user_id: UserId,
    pub name: String,
    pub prefix: String,
    /// SHA-256 of the whole key.
    pub key_hash: Vec<u8>,
    pub scopes: BTreeSet<Scope>,
    pub rate_limit_per_minute: u32,
    pub expires_at: Option<Timestamp>,
}

/// API keys (migration 0032). Revoking deletes the row, so a revoked key is unknown at once.
#[async_trait]
pub trait ApiKeysPort: Send + Sync + 'static {
    async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey>;
    /// The live key with this hash (unexpired at `now`) and its active user.
    async fn api_key_user(&self, key_hash: &[u8], now: Timestamp) -> StoreResult<Option<(ApiKey, User)>>;
    /// The account's keys, or only `user`'s, newest first.
    async fn list_api_keys(&self, account: AccountId, user: Option<UserId>) -> StoreResult<Vec<ApiKey>>;
    async fn api_key(&self, account: AccountId, id: ApiKeyId) -> StoreResult<Option<ApiKey>>;
    /// Deletes the key and answers its hash (what its sockets were opened with); `None` when the
    /// account has no such key.
    async fn delete_api_key(&self, account: AccountId, id: ApiKeyId) -> StoreResult<Option<Vec<u8>>>;
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_hold_admin_and_webhooks_and_customers_hold_nothing() {
        assert!(Scope::granted_to(Role::Admin).contains(&Scope::Admin));
        for role in [Role::Supervisor, Role::Agent] {
            let granted = Scope::granted_to(role);
            assert!(!granted.contains(&Scope::Admin) && !granted.contains(&Scope::WebhooksManage));
            assert!(granted.contains(&Scope::TicketsRead));
        }
        assert!(Scope::granted_to(Role::Customer).is_empty());
    }

    #[test]
    fn admin_covers_every_scope_and_others_only_themselves() {
        let admin = BTreeSet::from([Scope::Admin]);
        assert!(Scope::ALL.iter().all(|scope| allows(&admin, *scope)));
        let read = BTreeSet::from([Scope::TicketsRead]);
        assert!(allows(&read, Scope::TicketsRead));
        assert!(!allows(&read, Scope::TicketsWrite));
        assert_eq!("tickets:write".parse::<Scope>().ok(), Some(Scope::TicketsWrite));
        assert!("tickets:delete".parse::<Scope>().is_err());
        for scope in Scope::ALL {
            let json = serde_json::to_value(scope).expect("serialises");
            assert_eq!(json, serde_json::json!(scope.as_str()), "serde and as_str agree");
        }
    }
}
