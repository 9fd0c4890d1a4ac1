//! TicketActor: the only place a ticket's state changes. Activated on first use by loading from
//! the store, passivated when idle, supervised by [`TicketSupervisor`]. Each command is handled in
//! order: decide → persist → apply → publish → reply.

/// The kind of the timers tickets own (SLA, snooze): the timer task hands them to [`Tickets`].
pub const TIMER_KIND: &str = "ticket";

mod messages;
mod state;
mod supervisor;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tokio::task::JoinHandle;

pub use messages::*;
pub use state::{
    Decision, MAX_BODY_BYTES, MAX_SUBJECT_CHARS, SLA_TIMER, SNOOZE_TIMER, TicketDraft, messages_of, open_ticket,
    sla_timer_of_new,
};
pub use supervisor::{TicketSupervisor, Tickets, TicketsConfig};

use crate::domain::{Ticket, TicketId};
use crate::store::{StoreError, TicketCommit};
use supervisor::Runtime;

pub struct TicketActor;

pub struct TicketActorArgs {
    pub(crate) ticket_id: TicketId,
    /// Already loaded by the caller; `None` on restart, when the actor reloads it itself.
    pub(crate) preloaded: Option<Ticket>,
    pub(crate) runtime: Arc<Runtime>,
    /// The request being handled; shared with the registry entry so callers can read it after a crash.
    pub(crate) handling: Arc<AtomicU64>,
}

pub struct TicketActorState {
    ticket: Ticket,
    runtime: Arc<Runtime>,
    last_active: Instant,
    idle_check: Option<JoinHandle<()>>,
    handling: Arc<AtomicU64>,
}

impl Actor for TicketActor {
    type Msg = TicketMsg;
    type State = TicketActorState;
    type Arguments = TicketActorArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<TicketMsg>,
        args: TicketActorArgs,
    ) -> Result<TicketActorState, ActorProcessingErr> {
        let ticket = match args.preloaded {
            Some(ticket) => ticket,
            None => args.runtime.store.ticket(args.ticket_id).await?.ok_or(StoreError::NotFound)?,
        };
        metrics::gauge!("switchboard_ticket_actors_active").increment(1.0);
        Ok(TicketActorState {
            ticket,
            runtime: args.runtime,
            last_active: Instant::now(),
            idle_check: None,
            handling: args.handling,
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<TicketMsg>,
        state: &mut TicketActorState,
    ) -> Result<(), ActorProcessingErr> {
        let every = (state.runtime.config.idle_timeout / 2).max(Duration::from_millis(50));
        state.idle_check = Some(myself.send_interval(every, || TicketMsg::IdleCheck));
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<TicketMsg>,
        state: &mut TicketActorState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(check) = state.idle_check.take() {
            check.abort();
        }
        metrics::gauge!("switchboard_ticket_actors_active").decrement(1.0);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<TicketMsg>,
        message: TicketMsg,
        state: &mut TicketActorState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            TicketMsg::Command { request, command, context, reply } => {
                state.handling.store(request, Ordering::SeqCst);
                state.last_active = Instant::now();
                let result = state.handle_command(&command, &context).await;
                if let Err(TicketError::Store(StoreError::Conflict(reason))) = &result {
                    // Another writer (another node) appended first: our state is behind. Reload
                    // in place, so the caller's retry and everything queued see fresh state.
                    tracing::debug!(ticket_id = state.ticket.id, %reason, "seq conflict; reloading");
                    state.reload().await;
                }
                let _ = reply.send(result);
            }
            TicketMsg::Get { request, reply } => {
                state.handling.store(request, Ordering::SeqCst);
                state.last_active = Instant::now();
                let _ = reply.send(Ok(state.ticket.clone()));
            }
            TicketMsg::Refresh { seq } => {
                if seq > state.ticket.seq {
                    state.reload().await;
                }
            }
            TicketMsg::IdleCheck => {
                if state.last_active.elapsed() >= state.runtime.config.idle_timeout {
                    // Leave the registry first: senders enqueue while holding its entry, so
                    // every message sent to us so far is ahead of `Passivate` in the mailbox.
                    state.runtime.forget(state.ticket.id, &myself);
                    let _ = myself.send_message(TicketMsg::Passivate);
                }
            }
            TicketMsg::Passivate => myself.stop(Some("idle".to_owned())),
            TicketMsg::CrashForTest { request, reply } => {
                state.handling.store(request, Ordering::SeqCst);
                let _in_flight = reply;
                panic!("crash requested for ticket {}", state.ticket.id)
            }
        }
        Ok(())
    }
}

impl TicketActorState {
    async fn reload(&mut self) {
        match self.runtime.store.ticket(self.ticket.id).await {
            Ok(Some(fresh)) => self.ticket = fresh,
            Ok(None) => tracing::error!(ticket_id = self.ticket.id, "ticket vanished from the store"),
            // Keep the stale state: the next commit fails on the seq fence and reloads again.
            Err(error) => tracing::warn!(ticket_id = self.ticket.id, %error, "reload failed"),
        }
    }

    async fn handle_command(
        &mut self,
        command: &TicketCommand,
        context: &CommandContext,
    ) -> Result<CommandOutcome, TicketError> {
        let now = self.runtime.clock.now();
        let decision = self.ticket.decide(command, context, now)?;
        if decision.events.is_empty() && decision.timers.is_empty() {
            return Ok(CommandOutcome { ticket: self.ticket.clone(), events: Vec::new() });
        }
        let mut next = self.ticket.clone();
        let events = next.append(decision.events, context.actor_id, now);
        let commit = TicketCommit {
            ticket: next.clone(),
            messages: messages_of(&events),
            events: events.clone(),
            timers: decision.timers.clone(),
        };
        self.runtime.store.commit(commit).await?;
        self.ticket = next;
        for change in decision.timers {
            self.runtime.timers.changed(change);
        }
        self.runtime.bus.publish(crate::bus::TicketChange { ticket: self.ticket.clone(), events: events.clone() });
        Ok(CommandOutcome { ticket: self.ticket.clone(), events })
    }
}
