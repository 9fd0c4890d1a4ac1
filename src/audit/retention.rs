//! Audit retention: each account has one daily durable timer (owner `audit_retention`/its id,
//! a [`DailySweep`]). When it fires, the account's entries older than its retention (default 365
//! days, `PUT /api/v1/audit/retention`) are deleted and the timer is set a day on. Every start
//! sets the timer of each account with entries due at once; an account's first entry in this
//! process sets its timer a day on ([`AuditRetention::ensure`]); a changed retention sets it due
//! at once. Accounts with no entries have no timer.

use std::sync::Arc;

use jiff::Timestamp;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::AccountId;
use switchboard_actors::store::{Store, StoreError, TimerOwner};
use switchboard_actors::timers::{TimerDispatch, TimerHandle};

use crate::daily_sweep::DailySweep;

/// The timer owner kind the retention registers with the timer task.
pub const TIMER_KIND: &str = "audit_retention";

pub struct AuditRetention {
    daily: DailySweep,
}

impl AuditRetention {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, timers: TimerHandle) -> Arc<AuditRetention> {
        Arc::new(AuditRetention { daily: DailySweep::new(TIMER_KIND, store, clock, timers) })
    }

    /// Sets `account`'s sweep due at `due_at`.
    pub async fn schedule(&self, account: AccountId, due_at: Timestamp) -> Result<(), StoreError> {
        self.daily.schedule(account, due_at).await
    }

    /// At a start: the sweep of every account with entries due now.
    pub async fn schedule_all(&self) -> Result<(), StoreError> {
        self.daily.schedule_all(self.daily.store().audit_account_ids().await?).await
    }

    /// After an entry of `account`: its sweep set a day on, unless this process set it already.
    pub async fn ensure(&self, account: AccountId) {
        self.daily.ensure(account).await;
    }

    /// Deletes what `account` no longer keeps; how many entries went.
    pub async fn sweep(&self, account: AccountId) -> Result<u64, StoreError> {
        let store = self.daily.store();
        let days = store.audit_retention_days(account).await?;
        let deleted = store.delete_audit_before(account, self.daily.days_ago(days)?).await?;
        if deleted > 0 {
            tracing::info!(account, deleted, days, "audit entries past their retention deleted");
        }
        Ok(deleted)
    }
}

#[async_trait::async_trait]
impl TimerDispatch for AuditRetention {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        let account = self.daily.account_of(owner, name)?;
        self.sweep(account).await.map_err(|error| error.to_string())?;
        self.daily.again(account).await
    }
}
