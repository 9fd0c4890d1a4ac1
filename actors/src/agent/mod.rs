//! Agent sessions: one per agent on each node, fed by all of that agent's sockets. A session
//! derives presence (online / away / busy / offline) from heartbeats and activity, keeps what the
//! agent views and types and their load, and reports every change to a [`PresenceSink`].
//!
//! A session is plain state behind a lock, changed in the caller's task, and one task per node
//! wakes the sessions whose presence changes with time alone (idle → away, the offline grace).
//! It was an actor: an idle agent then cost four mailboxes, a task and a timer task of its own,
//! about 7 KB of the 22 KB an idle socket held (issue 16 item 6). Nothing in it awaits but
//! counting the agent's load, which runs beside it and is applied when it comes back.

mod state;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use dashmap::DashMap;
use jiff::Timestamp;
use tokio::sync::Notify;

pub use state::{AgentPresence, AgentState, PresenceRules, TYPING_TTL};

use crate::clock::Clock;
use crate::domain::{PresenceStatus, TicketId, User, UserId};
use crate::registry::DeliveryError;
use crate::store::TicketsPort;

/// Where presence reports go (the node's board, other nodes, supervisors' sockets).
pub trait PresenceSink: Send + Sync + 'static {
    fn report(&self, presence: AgentPresence);
}

#[derive(Clone, Debug)]
pub struct AgentSettings {
    pub rules: PresenceRules,
    /// Node name written into reports.
    pub node: String,
}

pub enum AgentMsg {
    Connected(u64),
    Disconnected(u64),
    /// The socket is alive (heartbeat); re-registers it if the actor was restarted.
    Heartbeat(u64),
    /// The agent did something (subscribed, viewed, typed, clicked).
    Activity,
    SetStatus(Option<PresenceStatus>),
    Viewing(Option<TicketId>),
    Typing(TicketId, bool),
    /// Recount open assigned tickets.
    RefreshLoad,
    /// A moment when time alone may change presence (see [`AgentState::next_change`]).
    Wake,
    /// The agent's open tickets were counted (after `RefreshLoad`, or when the session started).
    LoadCounted(i64),
}

/// What every agent session shares (opaque outside this module).
struct Shared {
    /// An agent's open tickets (their load) are all a session reads.
    store: Arc<dyn TicketsPort>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn PresenceSink>,
    settings: AgentSettings,
    sessions: DashMap<UserId, Arc<Mutex<Session>>>,
    /// When each session next changes by time alone, earliest first.
    wakes: Mutex<BTreeSet<(Timestamp, UserId)>>,
    /// Tells the wake-up task that an earlier wake-up was scheduled.
    rescheduled: Notify,
}

/// The node's agent sessions, by agent.
#[derive(Clone)]
pub struct AgentSessions {
    shared: Arc<Shared>,
}

/// Woken this much after a change is due, so the derivation at wake-up sees it as due.
const WAKE_SLACK: Duration = Duration::from_millis(5);

struct Session {
    user: User,
    state: AgentState,
    /// The wake-up scheduled for this session, if any.
    wake_at: Option<Timestamp>,
    /// Ended (reported offline with no socket): a caller that held it must look again.
    ended: bool,
}

/// Takes a lock even if a panic poisoned it: a session's state is valid after every change.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl AgentSessions {
    pub async fn start(
        store: Arc<dyn TicketsPort>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn PresenceSink>,
        settings: AgentSettings,
    ) -> Result<AgentSessions, DeliveryError> {
        let shared = Arc::new(Shared {
            store,
            clock,
            sink,
            settings,
            sessions: DashMap::new(),
            wakes: Mutex::new(BTreeSet::new()),
            rescheduled: Notify::new(),
        });
        tokio::spawn(wake_sessions(shared.clone()));
        Ok(AgentSessions { shared })
    }

    /// Tells the agent's session, starting it if needed (its load is counted first, so the
    /// first report carries it).
    pub async fn deliver(&self, user: &User, message: AgentMsg) {
        loop {
            let session = match self.shared.sessions.get(&user.id).map(|entry| entry.clone()) {
                Some(session) => session,
                None => {
                    let load = count_load(&self.shared, user).await;
                    let now = self.shared.clock.now();
                    let mut state = AgentState::new(now);
                    state.load = load;
                    let fresh = Session { user: user.clone(), state, wake_at: None, ended: false };
                    self.shared.sessions.entry(user.id).or_insert_with(|| Arc::new(Mutex::new(fresh))).clone()
                }
            };
            let mut held = lock(&session);
            if held.ended {
                continue;
            }
            handle(&self.shared, &mut held, message);
            return;
        }
    }

    /// Tells the agent's session if it runs on this node (a message for no session has nothing
    /// to update).
    pub fn send(&self, user: UserId, message: AgentMsg) {
        if let Some(session) = self.shared.sessions.get(&user).map(|entry| entry.clone()) {
            let mut held = lock(&session);
            if !held.ended {
                handle(&self.shared, &mut held, message);
            }
        }
    }

    /// Whether the agent has a session on this node.
    pub fn running(&self, user: UserId) -> bool {
        self.shared.sessions.contains_key(&user)
    }

    pub fn count(&self) -> usize {
        self.shared.sessions.len()
    }
}

async fn count_load(shared: &Shared, user: &User) -> i64 {
    match shared.store.open_load(user.account_id, user.id).await {
        Ok(load) => load,
        Err(error) => {
            tracing::warn!(user_id = user.id, %error, "could not count the agent's load");
            0
        }
    }
}

fn presence(shared: &Shared, session: &Session, now: Timestamp) -> AgentPresence {
    let state = &session.state;
    AgentPresence {
        user_id: session.user.id,
        account_id: session.user.account_id,
        name: session.user.name.clone(),
        status: state.status,
        since: state.since,
        manual: state.manual,
        viewing: state.viewing,
        typing: state.typing.map(|(ticket, _)| ticket),
        load: state.load,
        capacity: session.user.capacity,
        sockets: state.sockets.len(),
        node: shared.settings.node.clone(),
        reported_at: now,
    }
}

/// One message to one session, under its lock: the state changes, a change is reported, and
/// the session ends once offline with no socket or sleeps until its next time-driven change.
fn handle(shared: &Arc<Shared>, session: &mut Session, message: AgentMsg) {
    let now = shared.clock.now();
    let rules = shared.settings.rules;
    let state = &mut session.state;
    let mut changed = match message {
        AgentMsg::Connected(socket) => {
            state.connect(socket, now);
            true
        }
        AgentMsg::Disconnected(socket) => {
            state.disconnect(socket, now);
            true
        }
        AgentMsg::Heartbeat(socket) => {
            let known = state.sockets.contains(&socket);
            if !known {
                state.connect(socket, now);
            }
            !known
        }
        AgentMsg::Activity => {
            state.last_activity = now;
            false
        }
        AgentMsg::SetStatus(status) => {
            state.manual = status;
            state.last_activity = now;
            true
        }
        AgentMsg::Viewing(ticket) => {
            state.last_activity = now;
            let changed = state.viewing != ticket;
            state.viewing = ticket;
            if state.typing.is_some_and(|(typing, _)| Some(typing) != ticket) {
                state.typing = None;
            }
            changed
        }
        AgentMsg::Typing(ticket, on) => {
            state.last_activity = now;
            let before = state.typing.map(|(ticket, _)| ticket);
            state.typing = on.then_some((ticket, now));
            before != state.typing.map(|(ticket, _)| ticket)
        }
        AgentMsg::RefreshLoad => {
            // Counted beside the session; the count comes back as `LoadCounted`.
            let (shared, user) = (shared.clone(), session.user.clone());
            tokio::spawn(async move {
                let load = count_load(&shared, &user).await;
                AgentSessions { shared }.send(user.id, AgentMsg::LoadCounted(load));
            });
            false
        }
        AgentMsg::LoadCounted(load) => {
            let changed = state.load != load;
            state.load = load;
            changed
        }
        AgentMsg::Wake => {
            session.wake_at = None;
            false
        }
    };
    changed |= session.state.refresh(now, &rules);
    if changed {
        shared.sink.report(presence(shared, session, now));
    }
    if session.state.status == PresenceStatus::Offline && session.state.sockets.is_empty() {
        // Reported offline; nothing left to track until the agent connects again.
        session.ended = true;
        if let Some(at) = session.wake_at.take() {
            lock(&shared.wakes).remove(&(at, session.user.id));
        }
        shared.sessions.remove(&session.user.id);
        return;
    }
    schedule_wake(shared, session);
}

/// Schedules the session's next time-driven change, unless an earlier wake-up is already set.
fn schedule_wake(shared: &Shared, session: &mut Session) {
    let Some(at) = session.state.next_change(&shared.settings.rules) else { return };
    if session.wake_at.is_some_and(|due| due <= at) {
        return;
    }
    let mut wakes = lock(&shared.wakes);
    if let Some(old) = session.wake_at.replace(at) {
        wakes.remove(&(old, session.user.id));
    }
    let earliest = wakes.first().is_none_or(|(first, _)| at < *first);
    wakes.insert((at, session.user.id));
    drop(wakes);
    if earliest {
        shared.rescheduled.notify_one();
    }
}

/// The node's one wake-up task: sleeps until the earliest scheduled change and wakes every
/// session due by then. Ends with the runtime.
async fn wake_sessions(shared: Arc<Shared>) {
    loop {
        let strong = &shared;
        let now = strong.clock.now();
        let first = lock(&strong.wakes).first().copied();
        let mut due = Vec::new();
        if let Some((at, _)) = first
            && at <= now
        {
            let mut wakes = lock(&strong.wakes);
            while let Some(&(at, user)) = wakes.first()
                && at <= now
            {
                wakes.pop_first();
                due.push(user);
            }
        }
        if !due.is_empty() {
            let sessions = AgentSessions { shared: shared.clone() };
            for user in due {
                sessions.send(user, AgentMsg::Wake);
            }
            continue;
        }
        let sleep = first.map(|(at, _)| Duration::try_from(now.duration_until(at)).unwrap_or_default() + WAKE_SLACK);
        let rescheduled = strong.rescheduled.notified();
        match sleep {
            Some(sleep) => {
                tokio::select! {
                    _ = tokio::time::sleep(sleep) => {}
                    _ = rescheduled => {}
                }
            }
            None => rescheduled.await,
        }
    }
}
