//! Durable timers: an actor asks to be woken at an absolute time; the due time is stored in the
//! same transaction as the event that set it, so a timer survives passivation and restarts.
//!
//! One [`run_timers`] task per node keeps the timers due within a horizon in memory, sleeps until
//! the earliest, and delivers it through [`TimerDispatch`] (which activates the owning actor).
//! The owner clears the stored timer when it handles it, so delivery is at least once and the
//! owner's handling is idempotent; a failed delivery is retried after a back-off. Every node reads
//! the same stored timers, so the node about to fire one first claims it in the store for the
//! back-off (`Store::claim_timer`): with several nodes one of them fires it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::store::{TimerChange, TimerEntry, TimerOwner, TimersPort};

/// Delivers a due timer to its owner.
#[async_trait::async_trait]
pub trait TimerDispatch: Send + Sync + 'static {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String>;
}

/// The handler of each kind of timer owner: an actor kind registers itself under its
/// `TIMER_KIND`, and a due timer goes to the handler of its owner's kind.
#[derive(Default)]
pub struct TimerHandlers {
    handlers: std::collections::HashMap<String, Arc<dyn TimerDispatch>>,
}

impl TimerHandlers {
    pub fn register(mut self, kind: &str, handler: Arc<dyn TimerDispatch>) -> TimerHandlers {
        self.handlers.insert(kind.to_owned(), handler);
        self
    }
}

#[async_trait::async_trait]
impl TimerDispatch for TimerHandlers {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        match self.handlers.get(owner.kind()) {
            Some(handler) => handler.fire(owner, name).await,
            None => Err(format!("no handler for timers of kind `{}`", owner.kind())),
        }
    }
}

#[derive(Clone, Debug)]
pub struct TimerSettings {
    /// Timers due within this window are held in memory; later ones are read from the store as
    /// the window moves on.
    pub horizon: Duration,
    /// Wait before delivering a timer again after its owner failed to handle it; also how long
    /// the node firing a timer holds it against the other nodes.
    pub retry_after: Duration,
    /// Most timers read from the store at once.
    pub batch: i64,
}

impl Default for TimerSettings {
    fn default() -> Self {
        TimerSettings { horizon: Duration::from_secs(600), retry_after: Duration::from_secs(5), batch: 10_000 }
    }
}

/// Tells the timer task about timers set or cleared by committed events.
#[derive(Clone)]
pub struct TimerHandle {
    sender: mpsc::UnboundedSender<TimerChange>,
}

pub struct TimerInbox {
    receiver: mpsc::UnboundedReceiver<TimerChange>,
}

pub fn timer_channel() -> (TimerHandle, TimerInbox) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (TimerHandle { sender }, TimerInbox { receiver })
}

impl TimerHandle {
    /// Call only after the change is durable.
    pub fn changed(&self, change: TimerChange) {
        // The task is gone only at shutdown; the stored timer is then picked up on the next start.
        let _ = self.sender.send(change);
    }
}

type Key = (TimerOwner, String);

#[derive(Default)]
struct Pending {
    by_due: BTreeSet<(Timestamp, TimerOwner, String)>,
    due_of: HashMap<Key, Timestamp>,
}

impl Pending {
    fn set(&mut self, owner: TimerOwner, name: String, due: Timestamp) {
        self.clear(&owner, &name);
        self.by_due.insert((due, owner.clone(), name.clone()));
        self.due_of.insert((owner, name), due);
    }
    fn clear(&mut self, owner: &TimerOwner, name: &str) {
        if let Some(due) = self.due_of.remove(&(owner.clone(), name.to_owned())) {
            self.by_due.remove(&(due, owner.clone(), name.to_owned()));
        }
    }
    fn next_due(&self) -> Option<Timestamp> {
        self.by_due.first().map(|(due, _, _)| *due)
    }
    fn take_due(&mut self, now: Timestamp) -> Vec<TimerEntry> {
        let mut due = Vec::new();
        while let Some((at, owner, name)) = self.by_due.first().cloned() {
            if at > now {
                break;
            }
            self.clear(&owner, &name);
            due.push(TimerEntry { owner, name, due_at: at });
        }
        due
    }
}

/// Runs until the inbox's senders are all dropped or the task is aborted.
pub async fn run_timers(
    mut inbox: TimerInbox,
    handle: TimerHandle,
    store: Arc<dyn TimersPort>,
    clock: Arc<dyn Clock>,
    dispatch: Arc<dyn TimerDispatch>,
    settings: TimerSettings,
) {
    let horizon = SignedDuration::try_from(settings.horizon).unwrap_or(SignedDuration::from_secs(600));
    let mut pending = Pending::default();
    let mut loaded_until = Timestamp::MIN;
    loop {
        let now = clock.now();
        if now.saturating_add(horizon / 2).unwrap_or(now) >= loaded_until {
            let until = now.saturating_add(horizon).unwrap_or(now);
            match store.due_timers(until, settings.batch).await {
                Ok(entries) => {
                    let full = entries.len() as i64 >= settings.batch;
                    for entry in entries {
                        pending.set(entry.owner, entry.name, entry.due_at);
                    }
                    // A full batch may have left later timers behind: read again soon.
                    loaded_until = if full { pending.by_due.last().map_or(until, |(due, _, _)| *due) } else { until };
                }
                Err(error) => {
                    tracing::warn!(%error, "could not read timers; retrying");
                    loaded_until = now.saturating_add(SignedDuration::from_secs(1)).unwrap_or(now);
                }
            }
        }
        for entry in pending.take_due(now) {
            let dispatch = dispatch.clone();
            let handle = handle.clone();
            let retry_after = settings.retry_after;
            let clock = clock.clone();
            let store = store.clone();
            tokio::spawn(async move {
                // Held for `retry_after`: with several nodes, one of them fires it.
                let hold = SignedDuration::try_from(retry_after).unwrap_or_default();
                let mut looked_again = false;
                let fired = loop {
                    let now = clock.now();
                    match store.claim_timer(&entry, now, now.saturating_add(hold).unwrap_or(now)).await {
                        Ok(true) => break dispatch.fire(&entry.owner, &entry.name).await,
                        // Held by another node (or re-armed or handled since): look once more when
                        // the hold is over, in case the holder died before handling it.
                        Ok(false) if !looked_again => {
                            looked_again = true;
                            tokio::time::sleep(retry_after).await;
                        }
                        Ok(false) => {
                            metrics::counter!("switchboard_timers_skipped_total").increment(1);
                            return;
                        }
                        Err(error) => break Err(error.to_string()),
                    }
                };
                metrics::counter!("switchboard_timers_fired_total").increment(1);
                if let Err(error) = fired {
                    tracing::warn!(owner = ?entry.owner, name = %entry.name, %error, "timer delivery failed; will retry");
                    tokio::time::sleep(retry_after).await;
                    // Still due (in the past), and still the stored due time, so it can be claimed.
                    handle.changed(TimerChange { owner: entry.owner, name: entry.name, due_at: Some(entry.due_at) });
                }
            });
        }
        let wake_in = pending
            .next_due()
            .map(|due| clock.now().duration_until(due).unsigned_abs())
            .unwrap_or(settings.horizon / 2)
            .min(settings.horizon / 2);
        tokio::select! {
            change = inbox.receiver.recv() => match change {
                Some(TimerChange { owner, name, due_at: Some(due) }) => {
                    if due < loaded_until { pending.set(owner, name, due) }
                }
                Some(TimerChange { owner, name, due_at: None }) => pending.clear(&owner, &name),
                None => return,
            },
            _ = tokio::time::sleep(wake_in) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what it was asked to fire.
    struct Recorder(std::sync::Mutex<Vec<(TimerOwner, String)>>);

    #[async_trait::async_trait]
    impl TimerDispatch for Recorder {
        async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
            self.0.lock().map_err(|_| "poisoned".to_owned())?.push((owner.clone(), name.to_owned()));
            Ok(())
        }
    }

    #[tokio::test]
    async fn each_kind_of_owner_gets_its_own_timers() {
        let tickets = Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        let routines = Arc::new(Recorder(std::sync::Mutex::new(Vec::new())));
        // A kind nobody matched on before registers itself like the built-in ones.
        let handlers =
            TimerHandlers::default().register("ticket", tickets.clone()).register("routine", routines.clone());
        handlers.fire(&TimerOwner::new("ticket", 7), "sla").await.expect("ticket timer");
        handlers.fire(&TimerOwner::new("routine", 3), "tick").await.expect("routine timer");
        assert!(handlers.fire(&TimerOwner::new("nobody", 1), "x").await.is_err(), "an unknown kind is an error");
        let fired = |recorder: &Recorder| recorder.0.lock().map(|calls| calls.clone()).unwrap_or_default();
        assert_eq!(fired(&tickets), vec![(TimerOwner::new("ticket", 7), "sla".to_owned())]);
        assert_eq!(fired(&routines), vec![(TimerOwner::new("routine", 3), "tick".to_owned())]);
        assert_eq!(
            serde_json::to_value(TimerOwner::new("ticket", 7)).ok(),
            Some(serde_json::json!({"kind": "ticket", "id": 7})),
            "stored and relayed as before"
        );
    }

    #[test]
    fn pending_timers_come_due_in_order_and_can_be_cleared() {
        let mut pending = Pending::default();
        let at = |secs| Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH);
        pending.set(TimerOwner::new(crate::ticket::TIMER_KIND, 1), "a".into(), at(30));
        pending.set(TimerOwner::new(crate::ticket::TIMER_KIND, 2), "a".into(), at(10));
        pending.set(TimerOwner::new(crate::ticket::TIMER_KIND, 3), "a".into(), at(20));
        pending.clear(&TimerOwner::new(crate::ticket::TIMER_KIND, 3), "a");
        // Re-setting moves a timer instead of duplicating it.
        pending.set(TimerOwner::new(crate::ticket::TIMER_KIND, 1), "a".into(), at(15));
        let due: Vec<_> = pending.take_due(at(25)).into_iter().map(|entry| entry.owner).collect();
        assert_eq!(
            due,
            vec![TimerOwner::new(crate::ticket::TIMER_KIND, 2), TimerOwner::new(crate::ticket::TIMER_KIND, 1)]
        );
        assert_eq!(pending.next_due(), None);
    }
}
