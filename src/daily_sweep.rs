//! One durable timer per account that fires once a day: the shape the audit log's retention and
//! data protection's retention share. An account's timer (owner `<kind>`/its id, named `sweep`)
//! is set due at once at each start (so a node down over its due time sweeps as it comes back) and
//! when its setting changes, a day on when the account first needs it in this process
//! ([`DailySweep::ensure`]), and a day on again after each sweep ([`DailySweep::again`]). The
//! owner's [`TimerDispatch`](switchboard_actors::timers::TimerDispatch) does the sweep itself.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::AccountId;
use switchboard_actors::store::{Store, StoreError, TimerChange, TimerOwner};
use switchboard_actors::timers::TimerHandle;

/// The name of every daily sweep's timer.
pub const TIMER_NAME: &str = "sweep";
/// How often an account is swept: retention is counted in days, so daily keeps everything at
/// most a day past its end.
pub const SWEEP_EVERY: SignedDuration = SignedDuration::from_hours(24);

pub struct DailySweep {
    kind: &'static str,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    timers: TimerHandle,
    /// The accounts whose timer this process has set (so `ensure` costs one set lookup).
    scheduled: Mutex<HashSet<AccountId>>,
}

impl DailySweep {
    /// The daily sweeps of timer owner kind `kind`.
    pub fn new(kind: &'static str, store: Arc<dyn Store>, clock: Arc<dyn Clock>, timers: TimerHandle) -> DailySweep {
        DailySweep { kind, store, clock, timers, scheduled: Mutex::default() }
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Sets `account`'s sweep due at `due_at`.
    pub async fn schedule(&self, account: AccountId, due_at: Timestamp) -> Result<(), StoreError> {
        let change = TimerChange {
            owner: TimerOwner::new(self.kind, account),
            name: TIMER_NAME.to_owned(),
            due_at: Some(due_at),
        };
        self.store.set_timer(&change).await?;
        self.timers.changed(change);
        self.scheduled.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(account);
        Ok(())
    }

    /// At a start: the sweep of each of `accounts` due now.
    pub async fn schedule_all(&self, accounts: Vec<AccountId>) -> Result<(), StoreError> {
        let now = self.clock.now();
        for account in accounts {
            self.schedule(account, now).await?;
        }
        Ok(())
    }

    /// `account`'s sweep set a day on, unless this process set it already.
    pub async fn ensure(&self, account: AccountId) {
        if self.scheduled.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&account) {
            return;
        }
        let due = self.clock.now().saturating_add(SWEEP_EVERY).unwrap_or_else(|_| self.clock.now());
        if let Err(error) = self.schedule(account, due).await {
            tracing::warn!(%error, account, kind = self.kind, "a daily sweep could not be set; the next need tries again");
        }
    }

    /// The fired timer's account, once its name is checked.
    pub fn account_of(&self, owner: &TimerOwner, name: &str) -> Result<AccountId, String> {
        if name != TIMER_NAME {
            return Err(format!("a `{}` timer named `{name}`", self.kind));
        }
        Ok(owner.id())
    }

    /// After a sweep: the next one a day on.
    pub async fn again(&self, account: AccountId) -> Result<(), String> {
        let next = self.clock.now().saturating_add(SWEEP_EVERY).map_err(|error| error.to_string())?;
        self.schedule(account, next).await.map_err(|error| error.to_string())
    }

    /// Clears `account`'s sweep (its setting no longer asks for one).
    pub async fn clear(&self, account: AccountId) -> Result<(), String> {
        let change =
            TimerChange { owner: TimerOwner::new(self.kind, account), name: TIMER_NAME.to_owned(), due_at: None };
        self.store.set_timer(&change).await.map_err(|error| error.to_string())?;
        self.timers.changed(change);
        self.scheduled.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(&account);
        Ok(())
    }

    /// The instant `days` days before now.
    pub fn days_ago(&self, days: u32) -> Result<Timestamp, StoreError> {
        let span = SignedDuration::from_hours(24 * i64::from(days));
        self.clock.now().saturating_sub(span).map_err(|error| StoreError::Internal(error.to_string()))
    }
}
