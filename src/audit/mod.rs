//! The audit log (issue 17 item 6), the server's half: [`record`], the one call handlers make
//! after a change succeeds, and [`retention`], the daily durable timer deleting what an
//! account no longer keeps. What is recorded is redacted here ([`switchboard_actors::audit::redact`]),
//! so no handler can put a secret into the log by forgetting to.
//!
//! Entries are written right after the change, not in its transaction: the changes go through
//! many store methods (and actors) that own their transactions, and threading one through each
//! would widen every port. A crash between the change and its entry loses that entry; a failed
//! write is logged at `error` (the change stands, and the client is not told to retry it).

pub mod retention;

use std::net::IpAddr;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use switchboard_actors::audit::{NewAuditEntry, redact};
use switchboard_actors::domain::{AccountId, UserId};
use switchboard_actors::store::Store;

use crate::auth::request::Caller;

/// Who acted: a user with the address they came from, or the system (`user: None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Actor {
    pub account: AccountId,
    pub user: Option<UserId>,
    pub ip: Option<IpAddr>,
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Actor {
        Actor { account: caller.account(), user: Some(caller.user.id), ip: caller.ip }
    }
}

/// What an action was done to: a kind (`user`, `team`, `account`…) and its id.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub kind: &'static str,
    pub id: String,
}

impl Target {
    pub fn new(kind: &'static str, id: impl ToString) -> Target {
        Target { kind, id: id.to_string() }
    }
}

/// `value` as JSON for a before/after (redaction follows in [`record`]).
pub fn snapshot<T: Serialize + ?Sized>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

/// Appends one entry: `action` (a stable dotted name such as `user.role_changed`) by `actor` on
/// `target`, with the target's state `before` and `after`, secrets redacted.
pub async fn record(
    store: &dyn Store,
    at: Timestamp,
    actor: impl Into<Actor>,
    action: &str,
    target: Option<Target>,
    before: Option<Value>,
    after: Option<Value>,
) {
    let actor = actor.into();
    let (target_type, target_id) = target.map(|target| (target.kind.to_owned(), target.id)).unzip();
    let entry = NewAuditEntry {
        account_id: actor.account,
        at,
        actor_id: actor.user,
        actor_ip: actor.ip.map(|ip| ip.to_string()),
        action: action.to_owned(),
        target_type,
        target_id,
        before: before.map(redact),
        after: after.map(redact),
    };
    if let Err(error) = store.append_audit(entry).await {
        tracing::error!(%error, action, account = actor.account, "an audit entry could not be written");
    }
}
