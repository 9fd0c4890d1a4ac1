//! The registry of live TicketActors and the supervisor that starts and restarts them.
//!
//! [`Tickets`] is the handle the rest of the program uses: it finds or activates a ticket's actor
//! and sends it a command. [`TicketSupervisor`] is the ractor parent of every TicketActor: it
//! serialises activations (so one ticket never has two actors on this node) and restarts an actor
//! that panicked, which reloads its state from the store.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use ractor::{Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent};
use tokio::sync::oneshot;

use super::*;
use crate::bus::{EventBus, TicketChange};
use crate::clock::Clock;
use crate::store::{SettingsPort, Store, StoreError, StoreResult, TicketsPort, TimerOwner};
use crate::timers::{TimerDispatch, TimerHandle};

#[derive(Clone, Debug)]
pub struct TicketsConfig {
    /// An actor idle this long stops; the next command reactivates it from the store.
    pub idle_timeout: Duration,
    /// How long a caller waits for a ticket's answer before giving up.
    pub call_timeout: Duration,
}

impl Default for TicketsConfig {
    fn default() -> Self {
        TicketsConfig { idle_timeout: Duration::from_secs(300), call_timeout: Duration::from_secs(30) }
    }
}

/// What every TicketActor shares (opaque outside this crate).
pub struct Runtime {
    /// Tickets and their events: all a TicketActor reads and writes.
    pub(crate) store: Arc<dyn TicketsPort>,
    /// Account settings, for the commands timers fire.
    pub(crate) settings: Arc<dyn SettingsPort>,
    pub(crate) bus: EventBus,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) timers: TimerHandle,
    pub(crate) config: TicketsConfig,
    pub(crate) live: DashMap<TicketId, LiveTicket>,
}

/// A registry entry: the actor and the id of the request it is handling.
#[derive(Clone)]
pub(crate) struct LiveTicket {
    actor: ActorRef<TicketMsg>,
    handling: Arc<AtomicU64>,
}

impl LiveTicket {
    fn alive(&self) -> bool {
        matches!(self.actor.get_status(), ActorStatus::Starting | ActorStatus::Running)
    }
}

impl Runtime {
    /// Removes `actor` from the registry if it is still the one registered for `ticket_id`.
    pub(crate) fn forget(&self, ticket_id: TicketId, actor: &ActorRef<TicketMsg>) {
        self.live.remove_if(&ticket_id, |_, registered| registered.actor.get_id() == actor.get_id());
    }
}

/// How often a command is decided again after losing a seq race to another node.
const CONFLICT_RETRIES: usize = 25;

/// Source of request ids, unique on this node.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// The program's handle on ticket actors.
#[derive(Clone)]
pub struct Tickets {
    runtime: Arc<Runtime>,
    supervisor: ActorRef<SupervisorMsg>,
}

/// How often a command is re-sent after finding its actor already gone (passivated or dead)
/// before it was enqueued; such a command never reached a handler, so resending is safe.
const SEND_ATTEMPTS: usize = 3;

impl Tickets {
    pub async fn start(
        store: Arc<dyn Store>,
        bus: EventBus,
        clock: Arc<dyn Clock>,
        timers: TimerHandle,
        config: TicketsConfig,
    ) -> StoreResult<Tickets> {
        let settings: Arc<dyn SettingsPort> = store.clone();
        let runtime = Arc::new(Runtime { store, settings, bus, clock, timers, config, live: DashMap::new() });
        let (supervisor, _) = Actor::spawn(None, TicketSupervisor, runtime.clone())
            .await
            .map_err(|error| crate::store::StoreError::Internal(format!("ticket supervisor: {error}")))?;
        Ok(Tickets { runtime, supervisor })
    }

    /// Where durable timers set outside ticket commits are announced.
    pub fn timers(&self) -> &TimerHandle {
        &self.runtime.timers
    }

    pub fn bus(&self) -> &EventBus {
        &self.runtime.bus
    }

    /// Number of ticket actors alive on this node.
    pub fn active(&self) -> usize {
        self.runtime.live.len()
    }

    /// Stores a new ticket and publishes its first events. The ticket's actor starts on first use.
    pub async fn create(
        &self,
        draft: TicketDraft,
        config: &crate::domain::AccountConfig,
    ) -> Result<CommandOutcome, TicketError> {
        let now = self.runtime.clock.now();
        let (ticket, events, messages) = open_ticket(draft, config, now)?;
        let timers = sla_timer_of_new(&ticket);
        let mut commit = TicketCommit { ticket, events, messages, timers };
        let identity = self.runtime.store.create_ticket(commit.clone()).await?;
        commit.assign_identity(identity);
        let TicketCommit { ticket, events, timers, .. } = commit;
        for change in timers {
            self.runtime.timers.changed(change);
        }
        self.runtime.bus.publish(TicketChange { ticket: ticket.clone(), events: events.clone() });
        Ok(CommandOutcome { ticket, events })
    }

    /// Sends `command` to the ticket's actor and waits for its outcome. When another node appended
    /// to the ticket first (a seq conflict), the actor reloads and the command is decided again
    /// on the fresh state.
    pub async fn execute(
        &self,
        ticket_id: TicketId,
        command: TicketCommand,
        context: CommandContext,
    ) -> Result<CommandOutcome, TicketError> {
        let mut attempt = 0;
        loop {
            match self.execute_once(ticket_id, &command, &context).await {
                Err(TicketError::Store(StoreError::Conflict(_))) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    metrics::counter!("switchboard_ticket_conflict_retries_total").increment(1);
                    // Jittered back-off, so two nodes racing for one ticket stop colliding.
                    let jitter = NEXT_REQUEST.load(Ordering::Relaxed) % 5;
                    tokio::time::sleep(std::time::Duration::from_millis(jitter + attempt as u64)).await;
                }
                other => return other,
            }
        }
    }

    /// Another node appended to the ticket up to `seq`: if its actor runs here, it reloads (in
    /// order with its queued commands) instead of failing its next command on a seq conflict.
    pub fn refresh(&self, ticket_id: TicketId, seq: i64) {
        if let Some(entry) = self.runtime.live.get(&ticket_id) {
            let _ = entry.actor.send_message(TicketMsg::Refresh { seq });
        }
    }

    async fn execute_once(
        &self,
        ticket_id: TicketId,
        command: &TicketCommand,
        context: &CommandContext,
    ) -> Result<CommandOutcome, TicketError> {
        self.ask(ticket_id, |request, reply| TicketMsg::Command {
            request,
            command: Box::new(command.clone()),
            context: context.clone(),
            reply,
        })
        .await
    }

    /// The ticket's current state, from its actor (activating it if needed).
    pub async fn get(&self, ticket_id: TicketId) -> Result<Ticket, TicketError> {
        self.ask(ticket_id, |request, reply| TicketMsg::Get { request, reply }).await
    }

    /// Test hook: makes the ticket's actor panic while handling a request; answers
    /// [`TicketError::ActorRestarted`] like any command caught in a crash.
    #[doc(hidden)]
    pub async fn crash_for_test(&self, ticket_id: TicketId) -> Result<(), TicketError> {
        self.ask(ticket_id, |request, reply| TicketMsg::CrashForTest { request, reply }).await
    }

    /// Stops every ticket actor (each finishes the message it is handling; all writes are already
    /// durable) and then the supervisor.
    pub async fn shutdown(&self) {
        let _ = self.supervisor.stop_and_wait(Some("shutdown".to_owned()), Some(Duration::from_secs(10))).await;
    }

    async fn ask<T>(
        &self,
        ticket_id: TicketId,
        message: impl Fn(u64, Reply<T>) -> TicketMsg,
    ) -> Result<T, TicketError> {
        for _ in 0..SEND_ATTEMPTS {
            let request = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
            let (reply, answer) = oneshot::channel();
            let sent = match self.runtime.live.get(&ticket_id).filter(|entry| entry.alive()) {
                // Sent while holding the registry entry; see `TicketMsg::Passivate`.
                Some(entry) => entry.actor.send_message(message(request, reply)).is_ok().then(|| entry.clone()),
                None => None,
            };
            let Some(entry) = sent else {
                self.activate(ticket_id).await?;
                continue;
            };
            return match tokio::time::timeout(self.runtime.config.call_timeout, answer).await {
                Ok(Ok(result)) => result,
                // The actor dropped our reply: it failed. If it failed handling this very request,
                // that is the caller's error; if the request was still queued, it was never
                // handled and goes to the restarted actor.
                Ok(Err(_)) if entry.handling.load(Ordering::SeqCst) == request => Err(TicketError::ActorRestarted),
                Ok(Err(_)) => {
                    // Let the failed actor finish dying before a replacement is looked for.
                    let _ = entry.actor.get_cell().wait(Some(self.runtime.config.call_timeout)).await;
                    self.activate(ticket_id).await?;
                    continue;
                }
                Err(_) => Err(TicketError::Timeout),
            };
        }
        Err(TicketError::ActorRestarted)
    }

    async fn activate(&self, ticket_id: TicketId) -> Result<(), TicketError> {
        if self.runtime.live.get(&ticket_id).is_some_and(|entry| entry.alive()) {
            return Ok(());
        }
        // Load outside the supervisor so cold activations run in parallel.
        let ticket = self.runtime.store.ticket(ticket_id).await?.ok_or(TicketError::NotFound)?;
        let (reply, answer) = oneshot::channel();
        self.supervisor
            .send_message(SupervisorMsg::Activate { ticket, reply })
            .map_err(|_| TicketError::ActorRestarted)?;
        answer.await.map_err(|_| TicketError::ActorRestarted)?
    }
}

#[async_trait::async_trait]
impl TimerDispatch for Tickets {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        if !owner.is(TIMER_KIND) {
            return Err("not a ticket timer".to_owned());
        }
        let ticket_id = owner.id;
        let account_id = self.get(ticket_id).await.map_err(|error| error.to_string())?.account_id;
        let config = self.runtime.settings.account_config(account_id).await.map_err(|error| error.to_string())?;
        let context = CommandContext::system(Arc::new(config));
        match self.execute(ticket_id, TicketCommand::FireTimer { name: name.to_owned() }, context).await {
            Ok(_) | Err(TicketError::NotFound) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}

pub enum SupervisorMsg {
    Activate { ticket: Ticket, reply: Reply<()> },
}

pub struct TicketSupervisor;

pub struct SupervisorState {
    runtime: Arc<Runtime>,
    /// Which ticket each child actor serves, to restart the right one.
    children: HashMap<ActorId, TicketId>,
}

impl TicketSupervisor {
    async fn spawn_child(
        myself: &ActorRef<SupervisorMsg>,
        state: &mut SupervisorState,
        ticket_id: TicketId,
        preloaded: Option<Ticket>,
    ) -> Result<(), TicketError> {
        let handling = Arc::new(AtomicU64::new(0));
        let args = TicketActorArgs { ticket_id, preloaded, runtime: state.runtime.clone(), handling: handling.clone() };
        let (actor, _) = Actor::spawn_linked(None, TicketActor, args, myself.get_cell()).await.map_err(|error| {
            tracing::error!(ticket_id, %error, "ticket actor failed to start");
            TicketError::Store(crate::store::StoreError::Unavailable(error.to_string()))
        })?;
        state.children.insert(actor.get_id(), ticket_id);
        state.runtime.live.insert(ticket_id, LiveTicket { actor, handling });
        Ok(())
    }
}

impl Actor for TicketSupervisor {
    type Msg = SupervisorMsg;
    type State = SupervisorState;
    type Arguments = Arc<Runtime>;

    async fn pre_start(
        &self,
        _myself: ActorRef<SupervisorMsg>,
        runtime: Arc<Runtime>,
    ) -> Result<SupervisorState, ActorProcessingErr> {
        Ok(SupervisorState { runtime, children: HashMap::new() })
    }

    async fn handle(
        &self,
        myself: ActorRef<SupervisorMsg>,
        message: SupervisorMsg,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SupervisorMsg::Activate { ticket, reply } => {
                let alive = state.runtime.live.get(&ticket.id).is_some_and(|entry| entry.alive());
                let result =
                    if alive { Ok(()) } else { Self::spawn_child(&myself, state, ticket.id, Some(ticket)).await };
                let _ = reply.send(result);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SupervisorMsg>,
        event: SupervisionEvent,
        state: &mut SupervisorState,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some(ticket_id) = state.children.remove(&cell.get_id()) {
                    forget_cell(&state.runtime, ticket_id, &cell);
                }
            }
            SupervisionEvent::ActorFailed(cell, error) => {
                if let Some(ticket_id) = state.children.remove(&cell.get_id()) {
                    metrics::counter!("switchboard_ticket_actor_restarts_total").increment(1);
                    tracing::error!(ticket_id, %error, "ticket actor failed; restarting from the store");
                    forget_cell(&state.runtime, ticket_id, &cell);
                    // A caller may already have activated a replacement.
                    let replaced = state.runtime.live.get(&ticket_id).is_some_and(|entry| entry.alive());
                    if replaced {
                        return Ok(());
                    }
                    if let Err(error) = Self::spawn_child(&myself, state, ticket_id, None).await {
                        // It will be activated again by the next command.
                        tracing::error!(ticket_id, %error, "restart failed");
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn forget_cell(runtime: &Runtime, ticket_id: TicketId, cell: &ActorCell) {
    runtime.live.remove_if(&ticket_id, |_, registered| registered.actor.get_id() == cell.get_id());
}
