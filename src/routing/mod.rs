//! The router: one per account in the cluster (DESIGN §5, "presence board / router"). Each
//! node runs a task per account that competes for the account's lease in the store; the holder
//! routes, the others stand by and take over when its lease lapses (a node that stops gives it
//! up at once). The holder makes a pass when this node commits a change in the account (the
//! event bus), when the routing settings or people change (`wake`), and every [`TICK`] (other
//! nodes' commits, presence changes, the clock moving past a grace or a no-reply limit). A pass
//! reads the presence board, the routed teams' unassigned open tickets and everyone's load,
//! applies the offline policy and the no-reply limit to the tickets agents hold, and hands out
//! the queue in `routing::queue_order` (SLA due soonest, WhatsApp window closing soonest,
//! longest waiting) with `routing::choose`; each assignment goes to the ticket's actor with the
//! explanation, and only if the ticket is still what the router read (`expected_seq`), so a
//! person's change in between wins. Everything the router decides from is in the store or on
//! the board, so a restart or a failover just makes the next pass.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use futures_util::future::join_all;
use jiff::{SignedDuration, Timestamp};
use switchboard_actors::bus::TicketChange;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::*;
use switchboard_actors::routing::{
    Choice, Member, OfflinePolicy, TeamRouting, TicketNeeds, choose, queue_order, ticket_language,
};
use switchboard_actors::store::{Store, StoreError};
use switchboard_actors::ticket::{Assignment, CommandContext, TicketCommand, TicketError, Tickets};
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;

use crate::accounts::AccountConfigs;
use crate::presence::PresenceBoard;

/// A pass at least this often: other nodes' commits and presence changes wake nothing here,
/// and an assignment is promised within a second.
const TICK: Duration = Duration::from_millis(250);
/// How long a lease holds without renewal: a standby takes over this long after its holder died.
const LEASE: SignedDuration = SignedDuration::from_secs(10);
/// How often the holder renews its lease (a renewal delayed by a busy writer still lands well
/// within the lease).
const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How often a standby tries the lease.
const STANDBY: Duration = Duration::from_secs(1);
/// Settings, teams and people are read again at least this often (a change on another node
/// reaches this one's router by then; on this node `wake` reads them at once).
const DIRECTORY_TTL: Duration = Duration::from_secs(2);
/// The tickets agents hold are checked against the offline policy and no-reply limit this often.
const WATCH_EVERY: Duration = Duration::from_secs(1);
/// Tickets read per pass (the queue's head; the rest wait for the next pass).
const BATCH: i64 = 1_000;
/// Held tickets read per watch.
const HELD_BATCH: i64 = 5_000;
/// Languages remembered per account (detection reads a ticket's thread once).
const LANGUAGE_CACHE: usize = 10_000;
/// How often the accounts are listed again (a new account gets its router by then).
const ACCOUNTS_EVERY: Duration = Duration::from_secs(10);
/// Wait after a failed pass (the store did not answer).
const RETRY: Duration = Duration::from_millis(500);

/// What wakes an account's router, and whether it must read settings and people again.
#[derive(Default)]
struct Wake {
    notify: Notify,
    reread: std::sync::atomic::AtomicBool,
}

pub struct Router {
    store: Arc<dyn Store>,
    tickets: Tickets,
    accounts: Arc<AccountConfigs>,
    presence: Arc<PresenceBoard>,
    clock: Arc<dyn Clock>,
    node: String,
    wakes: DashMap<AccountId, Arc<Wake>>,
    /// Each account's router task on this node.
    running: DashMap<AccountId, JoinHandle<()>>,
}

impl Router {
    pub fn new(
        store: Arc<dyn Store>,
        tickets: Tickets,
        accounts: Arc<AccountConfigs>,
        presence: Arc<PresenceBoard>,
        clock: Arc<dyn Clock>,
        node: String,
    ) -> Arc<Router> {
        Arc::new(Router {
            store,
            tickets,
            accounts,
            presence,
            clock,
            node,
            wakes: DashMap::new(),
            running: DashMap::new(),
        })
    }

    /// Starts the task that wakes routers on this node's commits and the one that gives each
    /// account its router.
    pub fn start(self: &Arc<Self>, mut changes: broadcast::Receiver<Arc<TicketChange>>) -> Vec<JoinHandle<()>> {
        let waker = {
            let router = self.clone();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(change) if may_need_routing(&change) => router.wake_only(change.ticket.account_id),
                        Ok(_) => {}
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            router.wakes.iter().for_each(|wake| wake.notify.notify_one())
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let spawner = {
            let router = self.clone();
            tokio::spawn(async move {
                loop {
                    match router.store.account_ids().await {
                        Ok(accounts) => {
                            for account in accounts {
                                router.running.entry(account).or_insert_with(|| {
                                    let router = router.clone();
                                    tokio::spawn(AccountRouter::new(account).run(router))
                                });
                            }
                        }
                        Err(error) => tracing::warn!(%error, "the router could not list the accounts"),
                    }
                    tokio::time::sleep(ACCOUNTS_EVERY).await;
                }
            })
        };
        vec![waker, spawner]
    }

    fn wake_of(&self, account: AccountId) -> Arc<Wake> {
        self.wakes.entry(account).or_default().clone()
    }

    fn wake_only(&self, account: AccountId) {
        if let Some(wake) = self.wakes.get(&account) {
            wake.notify.notify_one();
        }
    }

    /// Routing settings or people changed on this node: the account's router reads them again
    /// and makes a pass now.
    pub fn wake(&self, account: AccountId) {
        let wake = self.wake_of(account);
        wake.reread.store(true, std::sync::atomic::Ordering::Relaxed);
        wake.notify.notify_one();
    }

    /// Stops this node's account routers and gives up their leases, so a standby node routes at
    /// once (called on shutdown, after the spawning task was stopped).
    pub async fn release(&self) {
        for task in self.running.iter() {
            task.abort();
        }
        let accounts: Vec<AccountId> = self.running.iter().map(|entry| *entry.key()).collect();
        for account in accounts {
            if let Err(error) = self.store.release_router_lease(account, &self.node).await {
                tracing::warn!(%error, account, "the router lease could not be released");
            }
        }
    }
}

/// What an account's router reads of the directory, kept for [`DIRECTORY_TTL`].
struct Directory {
    routings: HashMap<TeamId, TeamRouting>,
    members: HashMap<TeamId, Vec<UserId>>,
    staff: HashMap<UserId, User>,
    read_at: Instant,
}

/// One account's router: its lease, turn order and what it has noticed of absent agents.
struct AccountRouter {
    account: AccountId,
    directory: Option<Directory>,
    /// The member each team's round robin served last.
    last_in_turn: HashMap<TeamId, UserId>,
    /// Since when each agent holding routed tickets has been seen offline.
    offline_since: HashMap<UserId, Timestamp>,
    languages: HashMap<TicketId, Option<String>>,
    watched_at: Option<Instant>,
    in_flight: Arc<std::sync::Mutex<InFlight>>,
    /// The tickets in flight when this pass began (the watch leaves them alone).
    sending: HashSet<TicketId>,
}

/// Each routed team's members as one pass sees them.
type TeamMembers = HashMap<TeamId, Vec<Member>>;

/// Aborts the task when dropped (the account router's lease renewal ends with it).
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Claims the account's lease and renews it every [`RENEW_EVERY`]; `held` says until when this
/// node holds it (`None` while another node does).
async fn hold_lease(router: Arc<Router>, account: AccountId, held: Arc<std::sync::Mutex<Option<Timestamp>>>) {
    let mut holding = false;
    loop {
        let now = router.clock.now();
        let until = now + LEASE;
        let pause = match router.store.claim_router_lease(account, &router.node, now, until).await {
            Ok(claimed) => {
                if claimed != holding {
                    if claimed {
                        tracing::info!(account, node = %router.node, "this node routes the account");
                    } else {
                        tracing::info!(account, "another node routes the account");
                    }
                    holding = claimed;
                }
                if let Ok(mut held) = held.lock() {
                    *held = claimed.then_some(until);
                }
                if claimed { RENEW_EVERY } else { STANDBY }
            }
            Err(error) => {
                tracing::warn!(%error, account, "the router lease could not be claimed; retrying");
                RETRY
            }
        };
        tokio::time::sleep(pause).await;
    }
}

/// Assignments sent to their tickets and not answered yet. A pass goes on while they commit (the
/// next tickets do not wait for the last ones' commit): it leaves these tickets alone and counts
/// these loads on top of the store's. Taken before the store is read and cleared only after the
/// commit answered, so an assignment is counted at least once, never missed (briefly twice,
/// which only holds a ticket back, never overfills an agent).
#[derive(Default)]
struct InFlight {
    tickets: HashSet<TicketId>,
    loads: HashMap<UserId, i64>,
}

/// One change the router sends a ticket, with the seq it decided on.
struct Decision {
    ticket: TicketId,
    seq: i64,
    assignment: Assignment,
}

impl AccountRouter {
    fn new(account: AccountId) -> AccountRouter {
        AccountRouter {
            account,
            directory: None,
            last_in_turn: HashMap::new(),
            offline_since: HashMap::new(),
            languages: HashMap::new(),
            watched_at: None,
            in_flight: Arc::default(),
            sending: HashSet::new(),
        }
    }

    async fn run(mut self, router: Arc<Router>) {
        let wake = router.wake_of(self.account);
        let held = Arc::new(std::sync::Mutex::new(None::<Timestamp>));
        // The lease is renewed by a task of its own: on SQLite a write waits for the writer
        // (the group commit's batches), and routing must not stall behind it.
        let _renewal = AbortOnDrop(tokio::spawn(hold_lease(router.clone(), self.account, held.clone())));
        let mut holding = false;
        loop {
            let until = held.lock().map(|until| *until).unwrap_or_default();
            let now_holding = until.is_some_and(|until| until > router.clock.now());
            if now_holding != holding {
                // A router taking over starts from what is stored, not what it noticed before.
                self.offline_since.clear();
                self.directory = None;
                holding = now_holding;
            }
            let pause = if !holding {
                STANDBY
            } else {
                if wake.reread.swap(false, std::sync::atomic::Ordering::Relaxed) {
                    self.directory = None;
                }
                match self.pass(&router).await {
                    Ok(true) => continue,
                    Ok(false) => TICK,
                    Err(error) => {
                        tracing::warn!(%error, account = self.account, "the router could not read or write; retrying");
                        RETRY
                    }
                }
            };
            tokio::select! {
                _ = wake.notify.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn directory(&mut self, router: &Router) -> Result<&Directory, StoreError> {
        let fresh = self.directory.as_ref().is_some_and(|directory| directory.read_at.elapsed() < DIRECTORY_TTL);
        if !fresh {
            let store = &router.store;
            let routings: HashMap<TeamId, TeamRouting> = store
                .team_routings(self.account)
                .await?
                .into_iter()
                .filter(|(_, routing)| routing.is_routed())
                .collect();
            let mut members = HashMap::new();
            let mut staff = HashMap::new();
            if !routings.is_empty() {
                for team in store.list_teams(self.account).await? {
                    if routings.contains_key(&team.id) {
                        members.insert(team.id, team.member_ids);
                    }
                }
                // Role by role: an account's customers (most of its users) are never candidates.
                for role in Role::ALL.iter().filter(|role| role.is_staff()) {
                    for user in store.list_users(self.account, Some(*role)).await? {
                        if user.active {
                            staff.insert(user.id, user);
                        }
                    }
                }
            }
            self.directory = Some(Directory { routings, members, staff, read_at: Instant::now() });
        }
        self.directory.as_ref().ok_or_else(|| StoreError::Internal("the router's directory was not read".to_owned()))
    }

    /// One pass over the account. `Ok(true)` when there may be more to do at once.
    async fn pass(&mut self, router: &Arc<Router>) -> Result<bool, StoreError> {
        if self.directory(router).await?.routings.is_empty() {
            return Ok(false);
        }
        let pass_started = Instant::now();
        let now = router.clock.now();
        let board: HashMap<UserId, (PresenceStatus, Timestamp)> =
            router.presence.board(self.account).into_iter().map(|row| (row.user_id, (row.status, row.since))).collect();
        // Before the store is read (see `InFlight`).
        let (sending, sending_loads) = match self.in_flight.lock() {
            Ok(in_flight) => (in_flight.tickets.clone(), in_flight.loads.clone()),
            Err(_) => (HashSet::new(), HashMap::new()),
        };
        let mut loads: HashMap<UserId, i64> = router.store.open_loads(self.account).await?.into_iter().collect();
        for (agent, count) in sending_loads {
            *loads.entry(agent).or_default() += count;
        }
        let mut decisions = Vec::new();
        let mut teams_seen = TeamMembers::new();
        if self.watched_at.is_none_or(|at| at.elapsed() >= WATCH_EVERY) {
            self.watched_at = Some(Instant::now());
            self.sending = sending.clone();
            self.watch_holders(router, &board, &mut loads, &mut teams_seen, now, &mut decisions).await?;
        }
        let directory = self.directory(router).await?;
        let teams: Vec<TeamId> = directory.routings.keys().copied().collect();
        let mut queue = router.store.routable_tickets(self.account, &teams, BATCH).await?;
        let more = queue.len() as i64 >= BATCH;
        queue.retain(|ticket| !sending.contains(&ticket.id));
        queue.sort_by(queue_order);
        for ticket in queue {
            let trigger = if ticket.status_category == StatusCategory::New { "new" } else { "returned" };
            let Some(choice) = self.choose_for(router, &ticket, &board, &loads, &mut teams_seen, None, trigger).await?
            else {
                continue;
            };
            if let Some(agent) = choice.assignee {
                *loads.entry(agent).or_default() += 1;
                decisions.push(decision(&ticket, Some(agent), choice.explanation));
            }
        }
        let decided = decisions.len();
        self.send(router, decisions);
        tracing::debug!(account = self.account, decided, took = ?pass_started.elapsed(), "router pass");
        Ok(more)
    }

    /// Applies the offline policy and the no-reply limit to the tickets agents hold in routed
    /// teams that have either.
    async fn watch_holders(
        &mut self,
        router: &Router,
        board: &HashMap<UserId, (PresenceStatus, Timestamp)>,
        loads: &mut HashMap<UserId, i64>,
        teams_seen: &mut TeamMembers,
        now: Timestamp,
        decisions: &mut Vec<Decision>,
    ) -> Result<(), StoreError> {
        // Whoever is back is no longer counted as absent.
        self.offline_since
            .retain(|agent, _| board.get(agent).is_none_or(|(status, _)| *status == PresenceStatus::Offline));
        let directory = self.directory(router).await?;
        let watched: Vec<TeamId> =
            directory.routings.iter().filter(|(_, routing)| routing.watches_holders()).map(|(team, _)| *team).collect();
        if watched.is_empty() {
            return Ok(());
        }
        let mut held = router.store.held_tickets(self.account, &watched, HELD_BATCH).await?;
        held.retain(|ticket| !self.sending.contains(&ticket.id));
        for ticket in held {
            let (Some(holder), Some(team)) = (ticket.assignee_id, ticket.team_id) else { continue };
            let Some(routing) = self.directory(router).await?.routings.get(&team).cloned() else { continue };
            let offline = match board.get(&holder) {
                None => true,
                Some((status, _)) => *status == PresenceStatus::Offline,
            };
            if offline {
                // The board knows when an offline row went offline; an agent without a row has
                // been gone at least since this router noticed.
                let since = board.get(&holder).map_or(now, |(_, since)| *since);
                let since = *self.offline_since.entry(holder).or_insert(since);
                if routing.offline_policy != OfflinePolicy::Keep && routing.offline_past_grace(since, now) {
                    let choice = match routing.offline_policy {
                        OfflinePolicy::Reassign => {
                            self.choose_for(router, &ticket, board, loads, teams_seen, Some(holder), "assignee_offline")
                                .await?
                        }
                        _ => None,
                    };
                    let (to, mut explanation) = match choice {
                        Some(Choice { assignee: Some(agent), explanation }) => (Some(agent), explanation),
                        _ => (None, AssignmentExplanation { mode: routing.mode, ..AssignmentExplanation::default() }),
                    };
                    let name = self.name(router, holder).await?;
                    let gone = format!("{name} offline for more than {} s", routing.offline_grace_secs);
                    explanation.trigger = "assignee_offline".to_owned();
                    explanation.why = match to {
                        Some(_) => format!("{gone}; {}", explanation.why),
                        None => format!("{gone}: returned to the queue"),
                    };
                    move_load(loads, holder, to);
                    decisions.push(decision(&ticket, to, explanation));
                    continue;
                }
            }
            if routing.no_reply_past_limit(&ticket, now)
                && let Some(Choice { assignee: Some(agent), mut explanation }) =
                    self.choose_for(router, &ticket, board, loads, teams_seen, Some(holder), "no_reply").await?
            {
                let name = self.name(router, holder).await?;
                let minutes = routing.reassign_if_no_reply_minutes.unwrap_or_default();
                explanation.why = format!("{name} did not reply within {minutes} min; {}", explanation.why);
                move_load(loads, holder, Some(agent));
                decisions.push(decision(&ticket, Some(agent), explanation));
            }
        }
        Ok(())
    }

    async fn name(&mut self, router: &Router, user: UserId) -> Result<String, StoreError> {
        Ok(self
            .directory(router)
            .await?
            .staff
            .get(&user)
            .map_or_else(|| format!("user {user}"), |user| user.name.clone()))
    }

    /// The choice for one ticket of a routed team (`None` when its team is not routed).
    #[allow(
        clippy::too_many_arguments,
        reason = "one pass's state, passed down rather than kept on the router between passes"
    )]
    async fn choose_for(
        &mut self,
        router: &Router,
        ticket: &Ticket,
        board: &HashMap<UserId, (PresenceStatus, Timestamp)>,
        loads: &HashMap<UserId, i64>,
        teams_seen: &mut TeamMembers,
        not: Option<UserId>,
        trigger: &str,
    ) -> Result<Option<Choice>, StoreError> {
        let Some(team) = ticket.team_id else { return Ok(None) };
        let directory = self.directory(router).await?;
        let Some(routing) = directory.routings.get(&team).cloned() else { return Ok(None) };
        // Built once a pass per team (presence is read once a pass); only loads move between
        // the pass's choices.
        let members = teams_seen.entry(team).or_insert_with(|| {
            directory
                .members
                .get(&team)
                .map(|ids| ids.iter().filter_map(|id| directory.staff.get(id)).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|user| Member {
                    user_id: user.id,
                    name: user.name.clone(),
                    presence: board.get(&user.id).map_or(PresenceStatus::Offline, |(status, _)| *status),
                    load: 0,
                    capacity: user.capacity,
                    skills: user.skills.clone(),
                    languages: user.languages.clone(),
                })
                .collect()
        });
        for member in members.iter_mut() {
            member.load = loads.get(&member.user_id).copied().unwrap_or_default();
        }
        let members: &[Member] = members;
        let language = if routing.match_language { self.language(router, ticket, members).await? } else { None };
        let needs = TicketNeeds { skills: routing.required_skills(&ticket.tags), language, not };
        let choice = choose(&routing, &needs, members, self.last_in_turn.get(&team).copied(), trigger);
        if let Some(agent) = choice.assignee {
            self.last_in_turn.insert(team, agent);
        }
        Ok(Some(choice))
    }

    /// The ticket's language, read once: the customer's profile, else detected in their first
    /// messages among the languages the team writes.
    async fn language(
        &mut self,
        router: &Router,
        ticket: &Ticket,
        members: &[Member],
    ) -> Result<Option<String>, StoreError> {
        if let Some(known) = self.languages.get(&ticket.id) {
            return Ok(known.clone());
        }
        let customer = router.store.user(self.account, ticket.requester_id).await?;
        let thread = router.store.ticket_messages(ticket.id).await?;
        let mut spoken: Vec<String> = members.iter().flat_map(|member| member.languages.iter().cloned()).collect();
        spoken.sort();
        spoken.dedup();
        let language = ticket_language(customer.as_ref(), &thread, &spoken);
        if self.languages.len() >= LANGUAGE_CACHE {
            self.languages.clear();
        }
        self.languages.insert(ticket.id, language.clone());
        Ok(language)
    }

    /// Sends the decisions to their tickets at once (the group commit batches them) from a task
    /// of their own, so the next pass need not wait for their commit; they count as in flight
    /// until answered. One that finds its ticket changed since it was read (someone else acted)
    /// wakes the router to decide again on what the ticket is now.
    fn send(&self, router: &Arc<Router>, decisions: Vec<Decision>) {
        if decisions.is_empty() {
            return;
        }
        if let Ok(mut in_flight) = self.in_flight.lock() {
            for decision in &decisions {
                in_flight.tickets.insert(decision.ticket);
                if let Some(agent) = decision.assignment.assignee_id {
                    *in_flight.loads.entry(agent).or_default() += 1;
                }
            }
        }
        let (router, account, in_flight) = (router.clone(), self.account, self.in_flight.clone());
        tokio::spawn(async move {
            let done: Vec<(TicketId, Option<UserId>)> =
                decisions.iter().map(|decision| (decision.ticket, decision.assignment.assignee_id)).collect();
            let retry = send_all(&router, account, decisions).await;
            if let Ok(mut in_flight) = in_flight.lock() {
                for (ticket, agent) in done {
                    in_flight.tickets.remove(&ticket);
                    if let Some(agent) = agent
                        && let Some(count) = in_flight.loads.get_mut(&agent)
                    {
                        *count -= 1;
                        if *count <= 0 {
                            in_flight.loads.remove(&agent);
                        }
                    }
                }
            }
            if retry {
                router.wake_only(account);
            }
        });
    }
}

/// Executes the decisions at once; `true` when one should be decided again (its ticket changed
/// since it was read, or the account's configuration could not be read).
async fn send_all(router: &Router, account: AccountId, decisions: Vec<Decision>) -> bool {
    let config = match router.accounts.get(account).await {
        Ok(config) => config,
        Err(error) => {
            tracing::warn!(%error, account, "the router could not read the account's configuration");
            return true;
        }
    };
    let sends = decisions.into_iter().map(|decision| {
        let context =
            CommandContext { actor_id: None, config: config.clone(), expected_seq: Some(decision.seq), seen_seq: None };
        let tickets = router.tickets.clone();
        async move { tickets.execute(decision.ticket, TicketCommand::Assign(decision.assignment), context).await }
    });
    let mut retry = false;
    for outcome in join_all(sends).await {
        match outcome {
            Ok(_) => metrics::counter!("switchboard_router_assignments_total").increment(1),
            // Someone changed the ticket since the router read it: decide again on what it is now.
            Err(TicketError::StaleSeq { .. }) => retry = true,
            Err(error) => tracing::warn!(%error, account, "a routed assignment failed"),
        }
    }
    retry
}

/// Whether a committed change can give the router work: a ticket waiting unassigned in the
/// queue, or room freed on someone (a ticket taken from an agent, a status change, a merge).
/// The router's own assignments (and a reply on a held ticket) wake nothing: at 200 new tickets
/// a second, every second change is one of them, and a pass over nothing new costs the reads.
/// Time-based work (grace periods, no-reply limits) is the [`TICK`]'s.
fn may_need_routing(change: &TicketChange) -> bool {
    let ticket = &change.ticket;
    let waiting = ticket.assignee_id.is_none()
        && ticket.team_id.is_some()
        && matches!(ticket.status_category, StatusCategory::New | StatusCategory::Open);
    waiting
        || change.events.iter().any(|event| match &event.kind {
            EventKind::Assigned { from_assignee_id, .. } => from_assignee_id.is_some(),
            EventKind::StatusChanged { .. }
            | EventKind::MergedInto { .. }
            | EventKind::MergedIn { .. }
            | EventKind::Unmerged { .. }
            | EventKind::MergeUndone { .. }
            | EventKind::SplitTo { .. }
            | EventKind::SplitFrom { .. } => true,
            _ => false,
        })
}

fn decision(ticket: &Ticket, to: Option<UserId>, explanation: AssignmentExplanation) -> Decision {
    Decision {
        ticket: ticket.id,
        seq: ticket.seq,
        assignment: Assignment {
            assignee_id: to,
            team_id: ticket.team_id,
            reason: Some(explanation.why.clone()),
            explanation: Some(explanation),
        },
    }
}

fn move_load(loads: &mut HashMap<UserId, i64>, from: UserId, to: Option<UserId>) {
    if let Some(load) = loads.get_mut(&from) {
        *load = (*load - 1).max(0);
    }
    if let Some(to) = to {
        *loads.entry(to).or_default() += 1;
    }
}
