//! [`Tickets`], the program's handle on ticket actors: it creates tickets and sends commands to
//! their actors through the [`Registry`] (which activates, passivates and restarts them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::*;
use crate::bus::{EventBus, TicketChange};
use crate::clock::Clock;
use crate::registry::{Registry, RegistrySettings};
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
    /// The server's side of automation rules; set once at start (the server's automation
    /// service needs `Tickets` itself), absent in tests of the actor alone.
    pub(crate) automations: std::sync::OnceLock<Arc<dyn crate::automation::AutomationPort>>,
}

/// How often a command is decided again after losing a seq race to another node.
const CONFLICT_RETRIES: usize = 25;

/// Varies the back-off between conflict retries.
static NEXT_JITTER: AtomicU64 = AtomicU64::new(1);

/// The program's handle on ticket actors.
#[derive(Clone)]
pub struct Tickets {
    pub(super) runtime: Arc<Runtime>,
    actors: Registry<TicketActor>,
    /// Merges, unmerges and splits on this node run one at a time, so two of them never decide
    /// on each other's half-done state (A into B while B goes into A).
    pub(super) links_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Tickets {
    pub async fn start(
        store: Arc<dyn Store>,
        bus: EventBus,
        clock: Arc<dyn Clock>,
        timers: TimerHandle,
        config: TicketsConfig,
    ) -> StoreResult<Tickets> {
        let settings: Arc<dyn SettingsPort> = store.clone();
        let runtime =
            Arc::new(Runtime { store, settings, bus, clock, timers, automations: std::sync::OnceLock::new() });
        let registry_settings =
            RegistrySettings { idle_timeout: Some(config.idle_timeout), call_timeout: Some(config.call_timeout) };
        let actors = Registry::start(TicketActor { runtime: runtime.clone() }, registry_settings)
            .await
            .map_err(|error| StoreError::Internal(format!("ticket supervisor: {error}")))?;
        Ok(Tickets { runtime, actors, links_lock: Arc::default() })
    }

    /// Lets ticket actors run the account's automation rules (once; later calls are ignored).
    pub fn set_automations(&self, port: Arc<dyn crate::automation::AutomationPort>) {
        let _ = self.runtime.automations.set(port);
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
        self.actors.active()
    }

    /// Stores a new ticket and publishes its first events. The ticket's actor starts on first use.
    pub async fn create(
        &self,
        draft: TicketDraft,
        config: &Arc<crate::domain::AccountConfig>,
    ) -> Result<CommandOutcome, TicketError> {
        let now = self.runtime.clock.now();
        let (ticket, events, messages) = open_ticket(draft, config, now)?;
        let timers = sla_timer_of_new(&ticket);
        self.create_commit(TicketCommit { ticket, events, messages, timers }, config).await
    }

    /// Stores a new ticket's first commit (id 0 until the store gives it one) and publishes it;
    /// then its rules run, with the `config` it was opened with.
    pub(super) async fn create_commit(
        &self,
        mut commit: TicketCommit,
        config: &Arc<crate::domain::AccountConfig>,
    ) -> Result<CommandOutcome, TicketError> {
        let identity = self.runtime.store.create_ticket(commit.clone()).await?;
        commit.assign_identity(identity);
        let TicketCommit { ticket, events, timers, .. } = commit;
        for change in timers {
            self.runtime.timers.changed(change);
        }
        self.runtime.bus.publish(TicketChange { ticket: ticket.clone(), events: events.clone() });
        if self.runtime.automations.get().is_some() {
            // The first commit went around the actor: its rules run now, in the actor, which
            // starts from the ticket as just stored rather than reading it back.
            let command = TicketCommand::RunAutomations { after: events.clone() };
            let seed = Some(Arc::new(ticket.clone()));
            let run = self.execute_seeded(ticket.id, command, CommandContext::system(config.clone()), &seed).await;
            if let Err(error) = run {
                tracing::warn!(ticket_id = ticket.id, %error, "automations on a new ticket failed");
            }
        }
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
        self.execute_seeded(ticket_id, command, context, &None).await
    }

    /// [`execute`](Self::execute), starting the actor (when it is not running) from `seed`.
    async fn execute_seeded(
        &self,
        ticket_id: TicketId,
        command: TicketCommand,
        context: CommandContext,
        seed: &Option<Arc<Ticket>>,
    ) -> Result<CommandOutcome, TicketError> {
        let mut attempt = 0;
        loop {
            match self.execute_once(ticket_id, &command, &context, seed).await {
                Err(TicketError::Store(StoreError::Conflict(_))) if attempt < CONFLICT_RETRIES => {
                    attempt += 1;
                    metrics::counter!("switchboard_ticket_conflict_retries_total").increment(1);
                    // Jittered back-off, so two nodes racing for one ticket stop colliding.
                    let jitter = NEXT_JITTER.fetch_add(1, Ordering::Relaxed) % 5;
                    tokio::time::sleep(std::time::Duration::from_millis(jitter + attempt as u64)).await;
                }
                other => return other,
            }
        }
    }

    /// Another node appended to the ticket up to `seq`: if its actor runs here, it reloads (in
    /// order with its queued commands) instead of failing its next command on a seq conflict.
    pub fn refresh(&self, ticket_id: TicketId, seq: i64) {
        self.actors.tell_if_running(&ticket_id, TicketMsg::Refresh { seq });
    }

    async fn execute_once(
        &self,
        ticket_id: TicketId,
        command: &TicketCommand,
        context: &CommandContext,
        seed: &Option<Arc<Ticket>>,
    ) -> Result<CommandOutcome, TicketError> {
        self.actors
            .ask(&ticket_id, seed, |reply| TicketMsg::Command {
                command: Box::new(command.clone()),
                context: context.clone(),
                reply,
            })
            .await?
    }

    /// Data protection: the ticket's actor erases its personal text ([`crate::gdpr`]); answers
    /// the stored files its messages pointed at (for the caller to delete).
    pub async fn erase(&self, ticket_id: TicketId) -> Result<Vec<String>, TicketError> {
        self.actors.ask(&ticket_id, &None, |reply| TicketMsg::Erase { reply }).await?
    }

    /// The ticket's current state, from its actor (activating it if needed). A read is safe to
    /// ask twice: one that met the actor's restart (its replacement not yet live) is asked once
    /// more rather than failed.
    pub async fn get(&self, ticket_id: TicketId) -> Result<Ticket, TicketError> {
        let ask = || self.actors.ask(&ticket_id, &None, |reply| TicketMsg::Get { reply });
        match ask().await {
            Err(TicketError::ActorRestarted) => ask().await?,
            answered => answered?,
        }
    }

    /// Test hook: makes the ticket's actor panic while handling a request; answers
    /// [`TicketError::ActorRestarted`] like any command caught in a crash.
    #[cfg(any(test, feature = "test-hooks"))]
    pub async fn crash_for_test(&self, ticket_id: TicketId) -> Result<(), TicketError> {
        self.actors.ask(&ticket_id, &None, |reply| TicketMsg::CrashForTest { reply }).await?
    }

    /// Stops every ticket actor (each finishes the message it is handling; all writes are already
    /// durable) and then the supervisor.
    pub async fn shutdown(&self) {
        self.actors.shutdown().await;
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
        if name == MERGE_TIMER || name == SPLIT_TIMER {
            self.settle(ticket_id, name, &context).await.map_err(|error| error.to_string())?;
            return Ok(());
        }
        match self.execute(ticket_id, TicketCommand::FireTimer { name: name.to_owned() }, context).await {
            Ok(_) | Err(TicketError::NotFound) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    }
}
