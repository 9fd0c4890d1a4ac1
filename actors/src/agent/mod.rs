//! AgentSessionActor: one per agent on each node, fed by all of that agent's sockets. It derives
//! presence (online / away / busy / offline) from heartbeats and activity, keeps what the agent
//! views and types and their load, and reports every change to a [`PresenceSink`].

mod state;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use ractor::ActorId;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use state::{AgentPresence, AgentState, PresenceRules, TYPING_TTL};

use crate::clock::Clock;
use crate::domain::{PresenceStatus, TicketId, User, UserId};
use crate::registry::{Activation, ActorKind, DeliveryError, Myself, Next, Registry, RegistrySettings};
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
}

/// The node's agent session actors, by agent.
#[derive(Clone)]
pub struct AgentSessions {
    actors: Registry<AgentSessionActor>,
}

impl AgentSessions {
    pub async fn start(
        store: Arc<dyn TicketsPort>,
        clock: Arc<dyn Clock>,
        sink: Arc<dyn PresenceSink>,
        settings: AgentSettings,
    ) -> Result<AgentSessions, DeliveryError> {
        let shared = Arc::new(Shared { store, clock, sink, settings });
        // Sessions stop themselves once their agent is offline, never for mere idleness.
        let registry_settings = RegistrySettings { idle_timeout: None, call_timeout: None };
        Ok(AgentSessions { actors: Registry::start(AgentSessionActor { shared }, registry_settings).await? })
    }

    /// Tells the agent's session, starting it if needed; the id of the session that took it.
    pub async fn deliver(&self, user: &User, message: AgentMsg) -> Option<ActorId> {
        match self.actors.tell(&user.id, user, message).await {
            Ok(session) => Some(session),
            Err(error) => {
                tracing::error!(user_id = user.id, %error, "agent session failed to start");
                None
            }
        }
    }

    /// The id of the agent's session if it runs on this node.
    pub fn running(&self, user: UserId) -> Option<ActorId> {
        self.actors.running(&user)
    }

    /// Tells the agent's session if it runs on this node (a message for no session has nothing
    /// to update).
    pub fn send(&self, user: UserId, message: AgentMsg) {
        self.actors.tell_if_running(&user, message);
    }

    pub fn count(&self) -> usize {
        self.actors.active()
    }
}

/// The agent session kind of actor (see [`crate::registry`]), keyed by agent.
pub struct AgentSessionActor {
    shared: Arc<Shared>,
}

/// A scheduled [`AgentMsg::Wake`].
type PendingWake = JoinHandle<()>;

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
    fn schedule_wake(&mut self, myself: &Myself<AgentMsg>, now: Timestamp) {
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

#[async_trait::async_trait]
impl ActorKind for AgentSessionActor {
    type Key = UserId;
    type Seed = User;
    /// The agent's open load, counted at start.
    type Loaded = i64;
    type Msg = AgentMsg;
    type State = AgentActorState;
    type Error = DeliveryError;
    const NAME: &'static str = "agent_session";

    async fn load(&self, _user_id: &UserId, user: &User, _why: Activation) -> Result<i64, DeliveryError> {
        match self.shared.store.open_load(user.account_id, user.id).await {
            Ok(load) => Ok(load),
            Err(error) => {
                tracing::warn!(user_id = user.id, %error, "could not count the agent's load");
                Ok(0)
            }
        }
    }

    async fn start(
        &self,
        _myself: &Myself<AgentMsg>,
        _user_id: &UserId,
        user: User,
        load: i64,
    ) -> Result<AgentActorState, DeliveryError> {
        let now = self.shared.clock.now();
        let mut state = AgentActorState { user, state: AgentState::new(now), shared: self.shared.clone(), wake: None };
        state.state.load = load;
        Ok(state)
    }

    fn stopped(&self, state: &mut AgentActorState) {
        if let Some((_, pending)) = state.wake.take() {
            pending.abort();
        }
    }

    async fn handle(&self, myself: &Myself<AgentMsg>, state: &mut AgentActorState, message: AgentMsg) -> Next {
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
            return Next::Stop;
        }
        state.schedule_wake(myself, now);
        Next::Continue
    }
}
