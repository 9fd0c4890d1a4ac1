//! Audit retention: each account has one durable timer (owner `audit_retention`/its id, named
//! `sweep`). When it fires, the account's entries older than its retention (default 365 days,
//! `PUT /api/v1/audit/retention`) are deleted and the timer is set a day on. Every start sets
//! the timer of each account with entries due at once, so a node down over its due time sweeps
//! as it comes back; an account's first entry in this process sets its timer a day on
//! ([`AuditRetention::ensure`]); a changed retention sets it due at once. Accounts with no
//! entries have no timer.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::AccountId;
use switchboard_actors::store::{Store, StoreError, TimerChange, TimerOwner};
use switchboard_actors::timers::{TimerDispatch, TimerHandle};

/// The timer owner kind the retention registers with the timer task.
pub const TIMER_KIND: &str = "audit_retention";
const TIMER_NAME: &str = "sweep";
/// How often an account's log is swept: retention is counted in days, so daily keeps every
/// entry at most a day past its end.
const SWEEP_EVERY: SignedDuration = SignedDuration::from_hours(24);

pub struct AuditRetention {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    timers: TimerHandle,
    /// The accounts whose timer this process has set (so an entry costs one set lookup).
    scheduled: std::sync::Mutex<std::collections::HashSet<AccountId>>,
}

impl AuditRetention {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, timers: TimerHandle) -> Arc<AuditRetention> {
        Arc::new(AuditRetention { store, clock, timers, scheduled: Default::default() })
    }

    /// Sets `account`'s sweep due at `due_at`.
    pub async fn schedule(&self, account: AccountId, due_at: Timestamp) -> Result<(), StoreError> {
        let change = TimerChange {
            owner: TimerOwner::new(TIMER_KIND, account),
            name: TIMER_NAME.to_owned(),
            due_at: Some(due_at),
        };
        self.store.set_timer(&change).await?;
        self.timers.changed(change);
        self.scheduled.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(account);
        Ok(())
    }

    /// At a start: the sweep of every account with entries due now.
    pub async fn schedule_all(&self) -> Result<(), StoreError> {
        let now = self.clock.now();
        for account in self.store.audit_account_ids().await? {
            self.schedule(account, now).await?;
        }
        Ok(())
    }

    /// After an entry of `account`: its sweep set a day on, unless this process set it already.
    pub async fn ensure(&self, account: AccountId) {
        if self.scheduled.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&account) {
            return;
        }
        let due = self.clock.now().saturating_add(SWEEP_EVERY).unwrap_or_else(|_| self.clock.now());
        if let Err(error) = self.schedule(account, due).await {
            tracing::warn!(%error, account, "the audit retention sweep could not be set; the next entry tries again");
        }
    }

    /// Deletes what `account` no longer keeps; how many entries went.
    pub async fn sweep(&self, account: AccountId) -> Result<u64, StoreError> {
        let days = self.store.audit_retention_days(account).await?;
        let keep = SignedDuration::from_hours(24 * i64::from(days));
        let cutoff = self.clock.now().saturating_sub(keep).map_err(|error| StoreError::Internal(error.to_string()))?;
        let deleted = self.store.delete_audit_before(account, cutoff).await?;
        if deleted > 0 {
            tracing::info!(account, deleted, days, "audit entries past their retention deleted");
        }
        Ok(deleted)
    }
}

#[async_trait::async_trait]
impl TimerDispatch for AuditRetention {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        if name != TIMER_NAME {
            return Err(format!("an audit retention timer named `{name}`"));
        }
        let account = owner.id();
        self.sweep(account).await.map_err(|error| error.to_string())?;
        let next = self.clock.now().saturating_add(SWEEP_EVERY).map_err(|error| error.to_string())?;
        self.schedule(account, next).await.map_err(|error| error.to_string())
    }
}
