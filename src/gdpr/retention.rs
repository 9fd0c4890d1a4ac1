//! Retention of closed tickets: each account with a policy has one daily durable timer (owner
//! `ticket_retention`/its id, a [`DailySweep`]). When it fires, the account's tickets closed more
//! than `archive_after_days` ago are archived (out of lists and search, still readable by id and
//! exported) and those closed more than `delete_after_days` ago are deleted with everything that
//! hangs off them (their files too, when no other ticket holds them); then the timer is set a day
//! on. Every start sets the timer of each account with a policy due at once, and a changed
//! policy sets it due at once. Accounts without a policy have no timer.

use std::sync::Arc;

use jiff::Timestamp;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::AccountId;
use switchboard_actors::store::{Store, StoreError, TimerOwner};
use switchboard_actors::timers::{TimerDispatch, TimerHandle};

use crate::channels::whatsapp::media::MediaStore;
use crate::daily_sweep::DailySweep;

/// The timer owner kind the retention registers with the timer task.
pub const TIMER_KIND: &str = "ticket_retention";

pub struct TicketRetention {
    daily: DailySweep,
    media: MediaStore,
}

/// What one sweep did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub archived: u64,
    pub deleted: u64,
}

impl TicketRetention {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        timers: TimerHandle,
        media: MediaStore,
    ) -> Arc<TicketRetention> {
        Arc::new(TicketRetention { daily: DailySweep::new(TIMER_KIND, store, clock, timers), media })
    }

    /// Sets `account`'s sweep due at `due_at` (a changed policy: now).
    pub async fn schedule(&self, account: AccountId, due_at: Timestamp) -> Result<(), StoreError> {
        self.daily.schedule(account, due_at).await
    }

    /// At a start: the sweep of every account with a policy due now.
    pub async fn schedule_all(&self) -> Result<(), StoreError> {
        self.daily.schedule_all(self.daily.store().retention_account_ids().await?).await
    }

    /// Archives and deletes what `account`'s policy says is due.
    pub async fn sweep(&self, account: AccountId) -> Result<Swept, StoreError> {
        let store = self.daily.store();
        let policy = store.retention_policy(account).await?;
        let mut swept = Swept::default();
        if let Some(days) = policy.delete_after_days {
            let (deleted, files) = store.delete_closed_tickets(account, self.daily.days_ago(days)?).await?;
            swept.deleted = deleted;
            for hash in files {
                if let Err(error) = self.media.delete(&hash).await {
                    tracing::error!(%error, hash, "a deleted ticket's file could not be deleted");
                }
            }
        }
        if let Some(days) = policy.archive_after_days {
            swept.archived =
                store.archive_closed_tickets(account, self.daily.days_ago(days)?, self.daily.now()).await?;
        }
        if swept != Swept::default() {
            tracing::info!(
                account,
                archived = swept.archived,
                deleted = swept.deleted,
                "closed tickets past retention"
            );
        }
        Ok(swept)
    }
}

#[async_trait::async_trait]
impl TimerDispatch for TicketRetention {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        let account = self.daily.account_of(owner, name)?;
        self.sweep(account).await.map_err(|error| error.to_string())?;
        if self.daily.store().retention_policy(account).await.map_err(|error| error.to_string())?.is_set() {
            self.daily.again(account).await
        } else {
            self.daily.clear(account).await
        }
    }
}
