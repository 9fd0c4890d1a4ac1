//! AgentSessionActor: one per agent on each node, fed by all of that agent's sockets. It derives
//! presence (online / away / busy / offline) from heartbeats and activity, keeps what the agent
//! views and types and their load, and reports every change to a [`PresenceSink`].

mod state;

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use jiff::Timestamp;
use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{AgentPresence, AgentState, PresenceRules, TYPING_TTL};

use crate::clock::Clock;
use crate::domain::{PresenceStatus, TicketId, User, UserId};
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
    Get(oneshot::Sender<AgentPresence>),
}

/// What every agent session shares (opaque outside this module).
pub struct Shared {
    /// An agent's open tickets (their load) are all a session reads.
    store: Arc<dyn TicketsPort>,
    clock: Arc<dyn Clock>,
    sink: Arc<dyn PresenceSink>,
    settings: AgentSettings,
    live: DashMap<UserId, ActorRef<AgentMsg>>,
    spawning: tokio::sync::Mutex<()>,
}

/// The node's agent session actors, by agent.
#[derive(Clone)]
pub struct AgentSessions {
    shared: Arc<Shared>,
}

impl AgentSessions {
    pub fn new(
        store: Arc<dyn TicketsPort>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn PresenceSink>,
        settings: AgentSettings,
    ) -> AgentSessions {
        AgentSessions {
            shared: Arc::new(Shared {
                store,
                clock,
                sink,
                settings,
                live: DashMap::new(),
                spawning: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The agent's actor, started if needed.
    pub async fn session(&self, user: &User) -> Option<ActorRef<AgentMsg>> {
        if let Some(actor) = self.running(user.id) {
            return Some(actor);
        }
        // Counted before taking the lock: spawns are one at a time, and with the store read
        // inside, a reconnect storm queued every agent behind everyone else's read.
        let load = match self.shared.store.open_load(user.account_id, user.id).await {
            Ok(load) => load,
            Err(error) => {
                tracing::warn!(user_id = user.id, %error, "could not count the agent's load");
                0
            }
        };
        let _one_at_a_time = self.shared.spawning.lock().await;
        if let Some(actor) = self.running(user.id) {
            return Some(actor);
        }
        match Actor::spawn(None, AgentSessionActor, (user.clone(), self.shared.clone(), load)).await {
            Ok((actor, _)) => {
                self.shared.live.insert(user.id, actor.clone());
                Some(actor)
            }
            Err(error) => {
                tracing::error!(user_id = user.id, %error, "agent session failed to start");
                None
            }
        }
    }

    /// The agent's actor if it runs on this node.
    pub fn running(&self, user: UserId) -> Option<ActorRef<AgentMsg>> {
        self.shared
            .live
            .get(&user)
            .map(|actor| actor.clone())
            .filter(|actor| matches!(actor.get_status(), ActorStatus::Starting | ActorStatus::Running))
    }

    pub fn send(&self, user: UserId, message: AgentMsg) {
        if let Some(actor) = self.running(user) {
            let _ = actor.send_message(message);
        }
    }

    pub fn count(&self) -> usize {
        self.shared.live.len()
    }
}

pub struct AgentSessionActor;

/// A scheduled [`AgentMsg::Wake`].
type PendingWake = JoinHandle<Result<(), ractor::MessagingErr<AgentMsg>>>;

/// Woken this much after a change is due, so the derivation at wake-up sees it as due.
const WAKE_SLACK: Duration = Duration::from_millis(5);

pub struct AgentActorState {
    user: User,
    state: AgentState,
    shared: Arc<Shared>,
    /// The pending wake-up and when it is due (one per agent at most).
    wake: Option<(Timestamp, PendingWake)>,
}

impl AgentActorState {
    fn presence(&self, now: Timestamp) -> AgentPresence {
        AgentPresence {
            user_id: self.user.id,
            account_id: self.user.account_id,
            name: self.user.name.clone(),
            status: self.state.status,
            since: self.state.since,
            manual: self.state.manual,
            viewing: self.state.viewing,
            typing: self.state.typing.map(|(ticket, _)| ticket),
            load: self.state.load,
            capacity: self.user.capacity,
            sockets: self.state.sockets.len(),
            node: self.shared.settings.node.clone(),
            reported_at: now,
        }
    }

    fn report(&mut self, now: Timestamp) {
        self.shared.sink.report(self.presence(now));
    }

    /// Sleeps until the next time-driven change, unless an earlier wake-up is already set.
    fn schedule_wake(&mut self, myself: &ActorRef<AgentMsg>, now: Timestamp) {
        let Some(at) = self.state.next_change(&self.shared.settings.rules) else { return };
        if self.wake.as_ref().is_some_and(|(due, _)| *due <= at) {
            return;
        }
        if let Some((_, pending)) = self.wake.take() {
            pending.abort();
        }
        let delay = Duration::try_from(now.duration_until(at)).unwrap_or_default() + WAKE_SLACK;
        self.wake = Some((at, myself.send_after(delay, || AgentMsg::Wake)));
    }

    async fn recount(&mut self) {
        match self.shared.store.open_load(self.user.account_id, self.user.id).await {
            Ok(load) => self.state.load = load,
            Err(error) => tracing::warn!(user_id = self.user.id, %error, "could not count the agent's load"),
        }
    }
}

impl Actor for AgentSessionActor {
    type Msg = AgentMsg;
    type State = AgentActorState;
    /// The agent, what every session shares, and the agent's open load counted at start.
    type Arguments = (User, Arc<Shared>, i64);

    async fn pre_start(
        &self,
        _myself: ActorRef<AgentMsg>,
        (user, shared, load): (User, Arc<Shared>, i64),
    ) -> Result<AgentActorState, ActorProcessingErr> {
        let now = shared.clock.now();
        let mut state = AgentActorState { user, state: AgentState::new(now), shared, wake: None };
        state.state.load = load;
        Ok(state)
    }

    async fn post_stop(
        &self,
        myself: ActorRef<AgentMsg>,
        state: &mut AgentActorState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some((_, pending)) = state.wake.take() {
            pending.abort();
        }
        state.shared.live.remove_if(&state.user.id, |_, registered| registered.get_id() == myself.get_id());
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<AgentMsg>,
        message: AgentMsg,
        state: &mut AgentActorState,
    ) -> Result<(), ActorProcessingErr> {
        let now = state.shared.clock.now();
        let rules = state.shared.settings.rules;
        let mut changed = match message {
            AgentMsg::Connected(socket) => {
                state.state.connect(socket, now);
                true
            }
            AgentMsg::Disconnected(socket) => {
                state.state.disconnect(socket, now);
                true
            }
            AgentMsg::Heartbeat(socket) => {
                let known = state.state.sockets.contains(&socket);
                if !known {
                    state.state.connect(socket, now);
                }
                !known
            }
            AgentMsg::Activity => {
                state.state.last_activity = now;
                false
            }
            AgentMsg::SetStatus(status) => {
                state.state.manual = status;
                state.state.last_activity = now;
                true
            }
            AgentMsg::Viewing(ticket) => {
                state.state.last_activity = now;
                let changed = state.state.viewing != ticket;
                state.state.viewing = ticket;
                if state.state.typing.is_some_and(|(typing, _)| Some(typing) != ticket) {
                    state.state.typing = None;
                }
                changed
            }
            AgentMsg::Typing(ticket, on) => {
                state.state.last_activity = now;
                let before = state.state.typing.map(|(ticket, _)| ticket);
                state.state.typing = on.then_some((ticket, now));
                before != state.state.typing.map(|(ticket, _)| ticket)
            }
            AgentMsg::RefreshLoad => {
                let before = state.state.load;
                state.recount().await;
                before != state.state.load
            }
            AgentMsg::Wake => {
                state.wake = None;
                false
            }
            AgentMsg::Get(reply) => {
                let _ = reply.send(state.presence(now));
                false
            }
        };
        changed |= state.state.refresh(now, &rules);
        if changed {
            state.report(now);
        }
        if state.state.status == PresenceStatus::Offline && state.state.sockets.is_empty() {
            // Reported offline; nothing left to track until the agent connects again.
            state.shared.live.remove_if(&state.user.id, |_, registered| registered.get_id() == myself.get_id());
            myself.stop(Some("offline".to_owned()));
            return Ok(());
        }
        state.schedule_wake(&myself, now);
        Ok(())
    }
}
