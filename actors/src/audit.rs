//! The audit log (issue 17 item 6), the pure half: an entry as stored, the filter a page is
//! read with, the redaction every before/after passes through, and the storage port
//! (`AuditPort`, migration 0035). The log is append-only: the port has no update, and its only
//! delete is retention (`delete_audit_before`). Recording and the HTTP surface are the server's
//! (`src/audit/`).

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::*;
use crate::store::StoreResult;

pub type AuditEntryId = i64;

/// How long an account keeps its audit log unless an admin sets otherwise: a year, what most
/// compliance regimes ask of access logs.
pub const DEFAULT_RETENTION_DAYS: u32 = 365;
/// The retention an admin may set: at least a month (an attacker who got in must not be able to
/// wipe yesterday), at most ten years.
pub const MIN_RETENTION_DAYS: u32 = 30;
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// One recorded action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: AuditEntryId,
    pub account_id: AccountId,
    pub at: Timestamp,
    /// Who acted; `null` for the system, and for a failed login whose email matched no user.
    pub actor_id: Option<UserId>,
    /// The client address the request came from (after trusted proxies), if there was a request.
    pub actor_ip: Option<String>,
    /// A stable dotted name, e.g. `auth.login_failed`, `user.role_changed`, `api_key.revoked`.
    pub action: String,
    /// What was acted on, e.g. `user`, `team`, `api_key`, `account`.
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The target before and after, secrets replaced by `"[redacted]"`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<Value>,
}

/// What recording stores (the id and the time come from the store).
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    pub account_id: AccountId,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub actor_ip: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// Which entries a page holds: all bounds optional, newest first, `before_id` the cursor (the
/// last id of the previous page: ids grow with time, so it pages without gaps or repeats).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AuditFilter {
    pub from: Option<Timestamp>,
    /// Exclusive.
    pub to: Option<Timestamp>,
    pub actor_id: Option<UserId>,
    /// An exact name (`user.created`), or a prefix ending in a dot (`auth.`) for a family.
    pub action: Option<String>,
    pub before_id: Option<AuditEntryId>,
}

/// Whether a JSON key names something secret, at any depth (`password_hash`, `app_secret`,
/// `access_token`, `key_hash`, `api_key`…): matched by name so a field added later is covered.
fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token", "hash"].iter().any(|part| key.contains(part)) || key.ends_with("_key")
}

/// `value` with every secret-named field's value replaced by `"[redacted]"` (`null` stays
/// `null`, so "was a secret set" remains visible).
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::Null => Value::Null,
                        _ if is_secret_key(&key) => Value::String(REDACTED.to_owned()),
                        value => redact(value),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

pub const REDACTED: &str = "[redacted]";

/// The audit log (migration 0035).
#[async_trait]
pub trait AuditPort: Send + Sync + 'static {
    async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry>;
    /// Up to `limit` of the account's entries matching `filter`, newest first.
    async fn audit_entries(&self, account: AccountId, filter: &AuditFilter, limit: u32)
    -> StoreResult<Vec<AuditEntry>>;
    /// Retention: deletes the account's entries older than `before`; how many went.
    async fn delete_audit_before(&self, account: AccountId, before: Timestamp) -> StoreResult<u64>;
    /// The accounts with at least one entry (whose logs need sweeping).
    async fn audit_account_ids(&self) -> StoreResult<Vec<AccountId>>;
    async fn audit_retention_days(&self, account: AccountId) -> StoreResult<u32>;
    async fn set_audit_retention_days(&self, account: AccountId, days: u32) -> StoreResult<()>;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_the_rest_kept() {
        let value = json!({
            "name": "Ada",
            "password_hash": "$argon2id$…",
            "whatsapp": {"app_secret": "s3cr3t", "access_token": "EAAB", "phone": "+1"},
            "keys": [{"key_hash": "ab", "prefix": "sbk_1"}],
            "webhook_secret": null,
            "role": "admin",
        });
        assert_eq!(
            redact(value),
            json!({
                "name": "Ada",
                "password_hash": "[redacted]",
                "whatsapp": {"app_secret": "[redacted]", "access_token": "[redacted]", "phone": "+1"},
                "keys": [{"key_hash": "[redacted]", "prefix": "sbk_1"}],
                "webhook_secret": null,
                "role": "admin",
            })
        );
    }
}
