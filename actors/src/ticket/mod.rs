//! TicketActor: the only place a ticket's state changes. One actor kind of the
//! [`registry`](crate::registry): activated on first use by loading from the store, passivated
//! when idle, restarted under supervision. Each command is handled in order: decide → persist →
//! apply → publish → reply.

/// The kind of the timers tickets own (SLA, snooze): the timer task hands them to [`Tickets`].
pub const TIMER_KIND: &str = "ticket";

mod automate;
#[cfg(test)]
mod link_tests;
pub mod link_types;
mod linking;
mod links;
mod messages;
mod state;
#[cfg(test)]
mod tests;
mod tickets;
#[cfg(test)]
mod tier_tests;

use std::sync::Arc;

pub use linking::LinkOutcome;
pub use links::{LINK_SETTLE_AFTER, MERGE_TIMER, SPLIT_TIMER, UNMERGE_WINDOW, check_merge, check_split};
pub use messages::*;
pub use state::{
    Decision, MAX_BODY_BYTES, MAX_SUBJECT_CHARS, SLA_TIMER, SNOOZE_TIMER, TicketDraft, messages_of, open_ticket,
    sla_timer_of_new,
};
pub use tickets::{Tickets, TicketsConfig};

use crate::domain::{EventKind, Ticket, TicketEvent, TicketId};
use crate::registry::{Activation, ActorKind, Myself, Next};
use crate::store::{StoreError, TicketCommit};
use tickets::Runtime;

/// The ticket kind of actor (see [`crate::registry`]): what activation loads and how a ticket's
/// actor handles its mailbox.
pub struct TicketActor {
    runtime: Arc<Runtime>,
}

pub struct TicketActorState {
    ticket: Ticket,
    runtime: Arc<Runtime>,
}

#[async_trait::async_trait]
impl ActorKind for TicketActor {
    type Key = TicketId;
    /// A ticket just created here, which its first actor starts from instead of reading it
    /// back ([`Tickets::create`] runs the new ticket's rules in it at once).
    type Seed = Option<Arc<Ticket>>;
    type Loaded = Ticket;
    type Msg = TicketMsg;
    type State = TicketActorState;
    type Error = TicketError;
    const NAME: &'static str = "ticket";

    async fn load(
        &self,
        ticket_id: &TicketId,
        seed: &Option<Arc<Ticket>>,
        why: Activation,
    ) -> Result<Ticket, TicketError> {
        if let (Some(created), Activation::FirstUse) = (seed, why)
            && created.id == *ticket_id
        {
            return Ok(Ticket::clone(created));
        }
        self.runtime.store.ticket(*ticket_id).await?.ok_or(TicketError::NotFound)
    }

    async fn start(
        &self,
        _myself: &Myself<TicketMsg>,
        _ticket_id: &TicketId,
        _seed: Option<Arc<Ticket>>,
        ticket: Ticket,
    ) -> Result<TicketActorState, TicketError> {
        metrics::gauge!("switchboard_ticket_actors_active").increment(1.0);
        Ok(TicketActorState { ticket, runtime: self.runtime.clone() })
    }

    fn stopped(&self, _state: &mut TicketActorState) {
        metrics::gauge!("switchboard_ticket_actors_active").decrement(1.0);
    }

    fn is_activity(message: &TicketMsg) -> bool {
        !matches!(message, TicketMsg::Refresh { .. })
    }

    async fn handle(&self, _myself: &Myself<TicketMsg>, state: &mut TicketActorState, message: TicketMsg) -> Next {
        match message {
            TicketMsg::Command { command, context, reply } => {
                let result = state.handle_command(&command, &context).await;
                if let Err(TicketError::Store(StoreError::Conflict(reason))) = &result {
                    // Another writer (another node) appended first: our state is behind. Reload
                    // in place, so the caller's retry and everything queued see fresh state.
                    tracing::debug!(ticket_id = state.ticket.id, %reason, "seq conflict; reloading");
                    state.reload().await;
                }
                let _ = reply.send(result);
            }
            TicketMsg::Get { reply } => {
                let _ = reply.send(Ok(state.ticket.clone()));
            }
            TicketMsg::Erase { reply } => {
                let result = state.erase().await;
                let _ = reply.send(result);
            }
            TicketMsg::Refresh { seq } => {
                if seq > state.ticket.seq {
                    state.reload().await;
                }
            }
            #[cfg(any(test, feature = "test-hooks"))]
            TicketMsg::CrashForTest { reply } => {
                let _in_flight = reply;
                panic!("crash requested for ticket {}", state.ticket.id)
            }
        }
        Next::Continue
    }
}

/// Events read per page while erasing a ticket's log.
const ERASE_PAGE: i64 = 1000;

impl TicketActorState {
    /// Erases the ticket's personal text in the store (see [`TicketMsg::Erase`]) and in this
    /// state; the stored files its messages pointed at.
    async fn erase(&mut self) -> Result<Vec<String>, TicketError> {
        let store = &self.runtime.store;
        let id = self.ticket.id;
        // The committed state, not a copy that another node may have moved past.
        let mut ticket = store.ticket(id).await?.ok_or(TicketError::NotFound)?;
        let mut events = Vec::new();
        loop {
            let after = events.last().map_or(0, |event: &TicketEvent| event.seq);
            let page = store.ticket_events(id, after, ERASE_PAGE).await?;
            let done = (page.len() as i64) < ERASE_PAGE;
            events.extend(page);
            if done {
                break;
            }
        }
        let mut messages = store.ticket_messages(id).await?;
        let mut files: Vec<String> = messages.iter().flat_map(crate::gdpr::attachment_files).collect();
        for event in &events {
            if let EventKind::MessageAdded { message, .. } = &event.kind {
                files.extend(crate::gdpr::attachment_files(message));
            }
        }
        files.sort();
        files.dedup();
        crate::gdpr::erase_ticket(&mut ticket);
        messages.iter_mut().for_each(crate::gdpr::erase_message);
        events.iter_mut().for_each(|event| crate::gdpr::erase_event(&mut event.kind));
        store.rewrite_ticket_content(&ticket, &events, &messages).await?;
        self.ticket = ticket;
        Ok(files)
    }

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
        let rules = self.account_rules().await;
        if let TicketCommand::FireTimer { name } = command
            && let Some(rule_id) = crate::automation::engine::rule_of_timer(name)
        {
            return self.fire_time_rule(rule_id, rules, context).await;
        }
        let now = self.runtime.clock.now();
        let decision = self.ticket.decide(command, context, now)?;
        let mut next = self.ticket.clone();
        let events = next.append(decision.events, context.actor_id, now);
        let mut timers = decision.timers;
        if let Some(rules) = &rules {
            timers.extend(crate::automation::engine::follow_waits(&mut next, rules, now));
        }
        if !events.is_empty() || !timers.is_empty() || next.automations != self.ticket.automations {
            self.commit(next, events.clone(), timers).await?;
        }
        let outcome = CommandOutcome { ticket: self.ticket.clone(), events: events.clone() };
        if let Some(rules) = rules {
            let trigger = match command {
                TicketCommand::RunAutomations { after } => after.as_slice(),
                _ => events.as_slice(),
            };
            if !trigger.is_empty() {
                self.cascade(&rules, trigger, 1, &mut Default::default(), context).await;
            }
        }
        Ok(outcome)
    }

    /// Commits `next` with `events` and `timers`, then takes it as the state, announces the
    /// timers and publishes the events.
    async fn commit(
        &mut self,
        next: Ticket,
        events: Vec<crate::domain::TicketEvent>,
        timers: Vec<crate::store::TimerChange>,
    ) -> Result<(), TicketError> {
        let commit = TicketCommit {
            ticket: next.clone(),
            messages: messages_of(&events),
            events: events.clone(),
            timers: timers.clone(),
        };
        self.runtime.store.commit(commit).await?;
        self.ticket = next;
        for change in timers {
            self.runtime.timers.changed(change);
        }
        if !events.is_empty() {
            self.runtime.bus.publish(crate::bus::TicketChange { ticket: self.ticket.clone(), events });
        }
        Ok(())
    }
}
