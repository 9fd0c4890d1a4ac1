//! The node's live-push hub: which socket listens to what, and delivery.
//!
//! Every committed change reaches [`Hub::deliver`] twice over: from this node's event bus, and —
//! relayed through the broker — on every other node. A `ticket:<id>` subscription keeps a cursor
//! (the last seq it delivered) so it sends each event exactly once and in order: a duplicate is
//! dropped, and a gap (a replay still running, a lost broker message) parks live events while the
//! missing ones are read from the store. Nothing here waits on a socket: frames go into each
//! socket's bounded outbox with `try_send`, and a socket whose outbox is full is dropped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use switchboard_actors::agent::{AgentPresence, AgentSessions, PresenceSink};
use switchboard_actors::broker::{Broker, BrokerEvent};
use switchboard_actors::bus::TicketChange;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::*;
use switchboard_actors::store::{Store, TicketQuery, TicketScope, TicketSort};
use switchboard_actors::ticket::Tickets;
use tokio::sync::{Notify, mpsc};

use switchboard_actors::visibility::{TicketView, event_view};

use super::protocol::*;
use crate::accounts::AccountConfigs;
use crate::broker::{ChannelKind, channel};

pub type SocketId = u64;

/// Events read from the store per page while a subscription catches up.
const CATCH_UP_PAGE: i64 = 500;
/// Most queue snapshots sent on a resume; more means "reload the list".
const QUEUE_RESUME_LIMIT: i64 = 500;
/// Queue resumes look this far before the client's cursor: clocks of different nodes and commit
/// latency may put a change's timestamp slightly before a cursor already delivered.
const QUEUE_RESUME_SLACK_MS: i64 = 5_000;

#[derive(Clone, Debug)]
pub struct HubSettings {
    /// This node's name in broker messages and presence reports.
    pub node: String,
    /// Broker channel prefix.
    pub prefix: String,
    /// How often this node tells the others it is alive (its agents' reports stay valid).
    pub presence_refresh: Duration,
    /// Reports of a node not heard from for this long are dropped from the board (it died).
    pub presence_expiry: Duration,
    /// Open sockets one user may hold on this node.
    pub max_sockets_per_user: usize,
    /// Ticket replays one user may run at once.
    pub max_replays_per_user: usize,
}

/// A connected socket.
pub struct SocketEntry {
    pub id: SocketId,
    pub user: User,
    pub scope: TicketScope,
    /// The SHA-256 of the session token the socket authenticated with.
    session: Vec<u8>,
    outbox: mpsc::Sender<Frame>,
    /// Notified when the socket must close (too slow, or its session ended).
    pub kill: Notify,
    killed: AtomicBool,
    ended: AtomicBool,
}

impl SocketEntry {
    pub fn staff(&self) -> bool {
        self.user.role.is_staff()
    }

    /// Whether the socket is closing because its session ended (not because it was slow).
    pub fn session_ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }
}

/// Which sockets a session end closes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "which", rename_all = "snake_case")]
pub enum SessionEnd {
    /// The sockets of one session (logout): its token's SHA-256, hex.
    Session { session: String },
    /// Every socket of a user (deactivated, role changed), but those of `except` (hex), the
    /// session that changed its own password.
    User { user_id: UserId, except: Option<String> },
}

impl SessionEnd {
    fn closes(&self, socket: &SocketEntry) -> bool {
        match self {
            SessionEnd::Session { session } => hex::encode(&socket.session) == *session,
            SessionEnd::User { user_id, except } => {
                socket.user.id == *user_id && except.as_ref().is_none_or(|kept| hex::encode(&socket.session) != *kept)
            }
        }
    }
}

struct Cursor {
    /// The last seq delivered.
    seq: i64,
    /// A replay or gap fill is running; live events wait in `pending`.
    catching_up: bool,
    pending: BTreeMap<i64, TicketEvent>,
}

enum Advance {
    Live,
    More,
    Waiting,
}

struct TicketSub {
    socket: Arc<SocketEntry>,
    ticket_id: TicketId,
    topic: String,
    cursor: Mutex<Cursor>,
}

/// What crosses the broker between nodes.
#[derive(Serialize, Deserialize)]
struct Relay {
    node: String,
    #[serde(flatten)]
    body: RelayBody,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum RelayBody {
    Change {
        change: Box<TicketChange>,
    },
    /// An agent's presence changed on the sending node.
    Presence {
        presence: AgentPresence,
    },
    /// The sending node is alive: its agents' reports still hold. One message per node and
    /// account every refresh, however many agents it serves.
    NodeAlive,
    /// The sending node just joined the account: every node re-announces its agents.
    PresenceSync {
        account: AccountId,
    },
    /// Sessions ended: every node closes the matching sockets.
    SessionEnded {
        end: SessionEnd,
    },
}

pub struct Hub {
    settings: HubSettings,
    store: Arc<dyn Store>,
    tickets: Tickets,
    broker: Arc<dyn Broker>,
    agents: OnceLock<AgentSessions>,
    next_socket: AtomicU64,
    sockets: DashMap<SocketId, Arc<SocketEntry>>,
    ticket_subs: DashMap<TicketId, Vec<Arc<TicketSub>>>,
    queue_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    presence_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    /// Presence reports by account, agent and reporting node (an agent's row merges only their
    /// own reports, so one report costs the same with 20 agents or 20,000).
    boards: DashMap<AccountId, HashMap<UserId, NodeReports>>,
    /// Accounts whose broker channels this node listens to.
    joined: DashMap<AccountId, ()>,
    /// When each other node was last heard from.
    nodes_seen: DashMap<String, Timestamp>,
    /// Open sockets per user on this node.
    sockets_per_user: DashMap<UserId, usize>,
    /// Ticket replays running per user.
    replays_per_user: DashMap<UserId, usize>,
    accounts: Arc<AccountConfigs>,
    clock: Arc<dyn Clock>,
}

/// One agent's presence as each node reported it.
type NodeReports = HashMap<String, AgentPresence>;

/// An agent's row on the board: the most present status any node reports (the newest report
/// among equals), with the sockets of every node.
fn merged_row(reports: &NodeReports) -> Option<AgentPresence> {
    let mut merged: Option<AgentPresence> = None;
    for report in reports.values() {
        match &mut merged {
            None => merged = Some(report.clone()),
            Some(row) => {
                let sockets = row.sockets + report.sockets;
                if rank(report.status) > rank(row.status)
                    || (rank(report.status) == rank(row.status) && report.reported_at > row.reported_at)
                {
                    *row = report.clone();
                }
                row.sockets = sockets;
            }
        }
    }
    merged
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    pub fn new(
        settings: HubSettings,
        store: Arc<dyn Store>,
        tickets: Tickets,
        broker: Arc<dyn Broker>,
        accounts: Arc<AccountConfigs>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            settings,
            store,
            tickets,
            broker,
            agents: OnceLock::new(),
            next_socket: AtomicU64::new(1),
            sockets: DashMap::new(),
            ticket_subs: DashMap::new(),
            queue_subs: DashMap::new(),
            presence_subs: DashMap::new(),
            boards: DashMap::new(),
            joined: DashMap::new(),
            nodes_seen: DashMap::new(),
            sockets_per_user: DashMap::new(),
            replays_per_user: DashMap::new(),
            accounts,
            clock,
        })
    }

    /// The time stamped on frames and presence (the node's clock, as everywhere).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Each account's configuration (what customers may see of custom fields, among others).
    pub fn accounts(&self) -> &Arc<AccountConfigs> {
        &self.accounts
    }

    pub fn set_agents(&self, agents: AgentSessions) {
        let _ = self.agents.set(agents);
    }

    pub fn agents(&self) -> Option<&AgentSessions> {
        self.agents.get()
    }

    pub fn node(&self) -> &str {
        &self.settings.node
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// Starts the tasks that feed the hub: this node's event bus, the broker, and board expiry.
    pub fn start(self: &Arc<Self>) -> Vec<tokio::task::JoinHandle<()>> {
        let local = {
            let hub = self.clone();
            let mut changes = self.tickets.bus().subscribe();
            tokio::spawn(async move {
                loop {
                    match changes.recv().await {
                        Ok(change) => {
                            hub.deliver(&change);
                            hub.relay(
                                RelayBody::Change { change: Box::new((*change).clone()) },
                                change.ticket.account_id,
                                ChannelKind::Changes,
                            );
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "live hub fell behind the event bus; catching up from the store");
                            hub.catch_up_everything("lagged");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let remote = {
            let hub = self.clone();
            let mut events = self.broker.events();
            tokio::spawn(async move {
                loop {
                    match events.recv().await {
                        Ok(BrokerEvent::Message { payload, .. }) => hub.receive(&payload),
                        Ok(BrokerEvent::LinkDown) => {}
                        Ok(BrokerEvent::LinkRestored) => hub.catch_up_everything("broker_reconnected"),
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => hub.catch_up_everything("lagged"),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    }
                }
            })
        };
        let expiry = {
            let hub = self.clone();
            tokio::spawn(async move {
                let mut tick =
                    tokio::time::interval((hub.settings.presence_expiry / 10).max(Duration::from_millis(100)));
                loop {
                    tick.tick().await;
                    hub.expire_presence();
                }
            })
        };
        let alive = {
            let hub = self.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(hub.settings.presence_refresh.max(Duration::from_millis(100)));
                loop {
                    tick.tick().await;
                    let accounts: Vec<AccountId> = hub.joined.iter().map(|entry| *entry.key()).collect();
                    for account in accounts {
                        hub.relay(RelayBody::NodeAlive, account, ChannelKind::Presence);
                    }
                }
            })
        };
        vec![local, remote, expiry, alive]
    }

    /// Publishes to other nodes without waiting (at most once; seq catch-up repairs losses).
    fn relay(self: &Arc<Self>, body: RelayBody, account: AccountId, kind: ChannelKind) {
        let relay = Relay { node: self.settings.node.clone(), body };
        let Ok(payload) = serde_json::to_vec(&relay) else { return };
        let broker = self.broker.clone();
        let name = channel(&self.settings.prefix, account, kind);
        tokio::spawn(async move {
            if let Err(error) = broker.publish(&name, payload).await {
                metrics::counter!("switchboard_broker_publish_failures_total").increment(1);
                tracing::debug!(%error, "broker publish failed");
            }
        });
    }

    fn receive(self: &Arc<Self>, payload: &[u8]) {
        let relay: Relay = match serde_json::from_slice(payload) {
            Ok(relay) => relay,
            Err(error) => {
                tracing::warn!(%error, "ignoring an unreadable broker message");
                return;
            }
        };
        if relay.node == self.settings.node {
            return;
        }
        self.nodes_seen.insert(relay.node.clone(), self.now());
        match relay.body {
            RelayBody::Change { change } => {
                if let Some(event) = change.events.last() {
                    let lag = self.now().as_millisecond() - event.at.as_millisecond();
                    metrics::histogram!("switchboard_broker_lag_seconds").record(lag.max(0) as f64 / 1000.0);
                }
                // Our actor for this ticket (if any) is now behind: have it reload.
                self.tickets.refresh(change.ticket.id, change.ticket.seq);
                self.deliver(&Arc::new(*change));
            }
            RelayBody::Presence { presence } => self.apply_presence(presence),
            RelayBody::NodeAlive => {}
            RelayBody::PresenceSync { account } => self.announce_own_agents(account),
            RelayBody::SessionEnded { end } => self.close_local(&end),
        }
    }

    /// Re-announces this node's agents of `account` to the other nodes (one joined late).
    fn announce_own_agents(self: &Arc<Self>, account: AccountId) {
        let own: Vec<AgentPresence> = self
            .boards
            .get(&account)
            .map(|agents| agents.values().filter_map(|reports| reports.get(&self.settings.node).cloned()).collect())
            .unwrap_or_default();
        for presence in own {
            self.relay(RelayBody::Presence { presence }, account, ChannelKind::Presence);
        }
    }

    /// Closes the sockets a session end names, on this node and (through the broker) every
    /// other node serving the account.
    pub fn end_sessions(self: &Arc<Self>, account: AccountId, end: SessionEnd) {
        self.close_local(&end);
        self.relay(RelayBody::SessionEnded { end }, account, ChannelKind::Presence);
    }

    fn close_local(&self, end: &SessionEnd) {
        let closing: Vec<Arc<SocketEntry>> =
            self.sockets.iter().filter(|entry| end.closes(entry.value())).map(|entry| entry.value().clone()).collect();
        for socket in closing {
            socket.ended.store(true, Ordering::SeqCst);
            socket.killed.store(true, Ordering::SeqCst);
            // Nothing more reaches it, even before its reader task gets to close it.
            self.remove_socket(&socket);
            socket.kill.notify_one();
        }
    }

    /// Whether the socket may follow (and announce presence on) a ticket: one of its account it
    /// may see. A socket already following the ticket was checked when it subscribed.
    pub async fn may_follow(&self, socket: &Arc<SocketEntry>, ticket_id: TicketId) -> bool {
        if self.ticket_subs.get(&ticket_id).is_some_and(|subs| subs.iter().any(|sub| sub.socket.id == socket.id)) {
            return true;
        }
        matches!(
            self.store.ticket(ticket_id).await,
            Ok(Some(ticket)) if ticket.account_id == socket.user.account_id && socket.scope.allows(&ticket)
        )
    }

    /// Registers a socket; joins its account's broker channels on first use. `None` when the
    /// user already holds as many sockets as allowed.
    pub async fn add_socket(
        self: &Arc<Self>,
        user: User,
        scope: TicketScope,
        session: Vec<u8>,
        outbox: mpsc::Sender<Frame>,
    ) -> Option<Arc<SocketEntry>> {
        {
            let mut held = self.sockets_per_user.entry(user.id).or_insert(0);
            if *held >= self.settings.max_sockets_per_user {
                return None;
            }
            *held += 1;
        }
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let account = user.account_id;
        let entry = Arc::new(SocketEntry {
            id,
            user,
            scope,
            session,
            outbox,
            kill: Notify::new(),
            killed: AtomicBool::new(false),
            ended: AtomicBool::new(false),
        });
        self.sockets.insert(id, entry.clone());
        metrics::gauge!("switchboard_ws_sockets").increment(1.0);
        self.join(account).await;
        Some(entry)
    }

    /// Listens to the account's broker channels (once): its changes, presence and session ends
    /// reach this node from then on. Every account is joined at start ([`Hub::join_all`]); an
    /// account created later is joined by its first socket.
    pub async fn join(self: &Arc<Self>, account: AccountId) {
        if self.joined.insert(account, ()).is_none() {
            for kind in [ChannelKind::Changes, ChannelKind::Presence] {
                if let Err(error) = self.broker.subscribe(&channel(&self.settings.prefix, account, kind)).await {
                    tracing::error!(account, %error, "cannot subscribe to the broker");
                    self.joined.remove(&account);
                }
            }
            // Other nodes only report changes: ask them for the agents they already serve.
            self.relay(RelayBody::PresenceSync { account }, account, ChannelKind::Presence);
        }
    }

    /// Joins every account the installation serves, so presence and session ends from other
    /// nodes are known here before any of the account's sockets connects (routing reads them).
    pub async fn join_all(self: &Arc<Self>) -> switchboard_actors::store::StoreResult<usize> {
        let accounts = self.store.account_ids().await?;
        for account in &accounts {
            self.join(*account).await;
        }
        Ok(accounts.len())
    }

    pub fn remove_socket(&self, socket: &Arc<SocketEntry>) {
        if self.sockets.remove(&socket.id).is_some() {
            metrics::gauge!("switchboard_ws_sockets").decrement(1.0);
            self.sockets_per_user.remove_if_mut(&socket.user.id, |_, held| {
                *held = held.saturating_sub(1);
                *held == 0
            });
        }
        let account = socket.user.account_id;
        self.queue_subs.alter(&account, |_, mut subs| {
            subs.retain(|entry| entry.id != socket.id);
            subs
        });
        self.presence_subs.alter(&account, |_, mut subs| {
            subs.retain(|entry| entry.id != socket.id);
            subs
        });
        self.ticket_subs.retain(|_, subs| {
            subs.retain(|sub| sub.socket.id != socket.id);
            !subs.is_empty()
        });
    }

    /// Queues `frame` for `socket`; a full outbox means the client stopped reading: drop it.
    fn send(&self, socket: &Arc<SocketEntry>, frame: Frame) {
        match socket.outbox.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !socket.killed.swap(true, Ordering::SeqCst) {
                    metrics::counter!("switchboard_ws_dropped_slow_total").increment(1);
                    tracing::info!(
                        socket = socket.id,
                        user_id = socket.user.id,
                        "dropping a client that stopped reading"
                    );
                    socket.kill.notify_one();
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    pub fn send_to(&self, socket: &Arc<SocketEntry>, frame: Frame) {
        self.send(socket, frame);
    }

    /// Delivers one committed change to this node's subscribers.
    pub fn deliver(self: &Arc<Self>, change: &Arc<TicketChange>) {
        let ticket = &change.ticket;
        if let Some(subs) = self.ticket_subs.get(&ticket.id).map(|subs| subs.clone()) {
            for sub in subs {
                for event in &change.events {
                    self.offer(&sub, event);
                }
            }
        }
        if let Some(subs) = self.queue_subs.get(&ticket.account_id).map(|subs| subs.clone()) {
            let mut frames: [Option<Vec<Frame>>; 2] = [None, None];
            for socket in subs.iter().filter(|socket| socket.scope.allows(ticket)) {
                let staff = socket.staff();
                let frames = frames[usize::from(staff)].get_or_insert_with(|| {
                    let config = self.audience_config(staff, ticket.account_id);
                    let view = TicketView::new(staff, ticket.clone(), &config);
                    change
                        .events
                        .iter()
                        .map(|event| event_frame(staff, &config, "queue", event, Some(&view), self.now()))
                        .collect()
                });
                for frame in frames.iter() {
                    self.send(socket, frame.clone());
                }
            }
        }
        if change
            .events
            .iter()
            .any(|event| matches!(event.kind, EventKind::Assigned { .. } | EventKind::StatusChanged { .. }))
        {
            self.refresh_loads(change);
        }
    }

    /// Agents whose open-ticket count may have changed recount it.
    fn refresh_loads(&self, change: &TicketChange) {
        let Some(agents) = self.agents.get() else { return };
        let mut affected = vec![change.ticket.assignee_id];
        for event in &change.events {
            if let EventKind::Assigned { from_assignee_id, .. } = event.kind {
                affected.push(from_assignee_id);
            }
        }
        for user in affected.into_iter().flatten() {
            agents.send(user, switchboard_actors::agent::AgentMsg::RefreshLoad);
        }
    }

    /// Offers one event to a ticket subscription, keeping its order exactly once.
    fn offer(self: &Arc<Self>, sub: &Arc<TicketSub>, event: &TicketEvent) {
        let mut cursor = lock(&sub.cursor);
        if cursor.catching_up {
            cursor.pending.insert(event.seq, event.clone());
        } else if event.seq == cursor.seq + 1 {
            cursor.seq = event.seq;
            let staff = sub.socket.staff();
            let config = self.audience_config(staff, event.account_id);
            self.send(&sub.socket, event_frame(staff, &config, &sub.topic, event, None, self.now()));
        } else if event.seq > cursor.seq + 1 {
            // Something was missed (a lost broker message): fetch it before going on.
            cursor.catching_up = true;
            cursor.pending.insert(event.seq, event.clone());
            drop(cursor);
            self.spawn_catch_up(sub.clone());
        }
    }

    fn spawn_catch_up(self: &Arc<Self>, sub: Arc<TicketSub>) {
        let hub = self.clone();
        tokio::spawn(async move { hub.catch_up(&sub).await });
    }

    /// The account's configuration as far as the audience needs it: staff see every field, so
    /// they need none; customers' frames are cut by it (all custom fields hidden until it is read).
    fn audience_config(&self, staff: bool, account: AccountId) -> Arc<AccountConfig> {
        if staff {
            return Arc::default();
        }
        self.accounts.cached(account).unwrap_or_default()
    }

    /// Sends what the subscription misses from the store, then the parked live events, then
    /// goes live.
    async fn catch_up(self: &Arc<Self>, sub: &Arc<TicketSub>) {
        loop {
            if sub.socket.killed.load(Ordering::SeqCst) || !self.sockets.contains_key(&sub.socket.id) {
                return;
            }
            let from = lock(&sub.cursor).seq;
            let events = match self.store.ticket_events(sub.ticket_id, from, CATCH_UP_PAGE).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(ticket_id = sub.ticket_id, %error, "catch-up read failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            };
            match self.advance(sub, &events) {
                Advance::Live => return,
                Advance::More => {}
                Advance::Waiting => {
                    // Parked events are ahead of what the store has shown yet; look again shortly.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    /// Sends `events` read from the store, then parked live events that follow on; goes live
    /// when nothing is missing.
    fn advance(&self, sub: &TicketSub, events: &[TicketEvent]) -> Advance {
        let mut cursor = lock(&sub.cursor);
        let staff = sub.socket.staff();
        let config = self.audience_config(staff, sub.socket.user.account_id);
        for event in events {
            if event.seq == cursor.seq + 1 {
                cursor.seq = event.seq;
                self.send(&sub.socket, event_frame(staff, &config, &sub.topic, event, None, self.now()));
            }
        }
        loop {
            let next = cursor.seq + 1;
            let Some(event) = cursor.pending.remove(&next) else { break };
            cursor.seq = event.seq;
            self.send(&sub.socket, event_frame(staff, &config, &sub.topic, &event, None, self.now()));
        }
        let delivered = cursor.seq;
        cursor.pending.retain(|seq, _| *seq > delivered);
        if events.len() < CATCH_UP_PAGE as usize && cursor.pending.is_empty() {
            cursor.catching_up = false;
            Advance::Live
        } else if events.is_empty() {
            Advance::Waiting
        } else {
            Advance::More
        }
    }

    fn catch_up_everything(self: &Arc<Self>, reason: &str) {
        metrics::counter!("switchboard_ws_resyncs_total").increment(1);
        let subs: Vec<Arc<TicketSub>> = self.ticket_subs.iter().flat_map(|entry| entry.value().clone()).collect();
        for sub in subs {
            let mut cursor = lock(&sub.cursor);
            if !cursor.catching_up {
                cursor.catching_up = true;
                drop(cursor);
                self.spawn_catch_up(sub);
            }
        }
        // Queue listeners resume from their own cursor.
        let frame = Frame::control(&ControlFrame::Resync { topic: "queue", reason });
        let sockets: Vec<Arc<SocketEntry>> = self.queue_subs.iter().flat_map(|entry| entry.value().clone()).collect();
        for socket in sockets {
            self.send(&socket, frame.clone());
        }
    }

    /// `subscribe {topic: "ticket:<id>", after}`: replay after `after` (or from the current head),
    /// then live, with no gap and no duplicate at the seam.
    pub async fn subscribe_ticket(
        self: &Arc<Self>,
        socket: &Arc<SocketEntry>,
        ticket_id: TicketId,
        after: Option<i64>,
    ) -> Result<(), Frame> {
        let ticket = self
            .store
            .ticket(ticket_id)
            .await
            .map_err(|_| error("unavailable", "the store did not answer; try again"))?;
        let ticket = ticket
            .filter(|ticket| ticket.account_id == socket.user.account_id && socket.scope.allows(ticket))
            .ok_or_else(|| error("forbidden_topic", "no such ticket, or not yours to follow"))?;
        if after.is_some_and(|after| after < 0) {
            return Err(error("invalid_frame", "`after` must be 0 or more"));
        }
        let topic = Topic::Ticket(ticket_id).name();
        if self.ticket_subs.get(&ticket_id).is_some_and(|subs| subs.iter().any(|sub| sub.socket.id == socket.id)) {
            return Err(error("already_subscribed", "this socket already follows that ticket"));
        }
        // Registered before the replay is read, so nothing committed from now on is missed;
        // live events wait in `pending` until the replay is through.
        let start = after.unwrap_or(ticket.seq).min(ticket.seq);
        let _replay = if start < ticket.seq {
            Some(self.start_replay(socket.user.id).ok_or_else(|| {
                error("too_many_replays", "this user is already catching up on several tickets; try again shortly")
            })?)
        } else {
            None
        };
        let sub = Arc::new(TicketSub {
            socket: socket.clone(),
            ticket_id,
            topic: topic.clone(),
            cursor: Mutex::new(Cursor { seq: start, catching_up: true, pending: BTreeMap::new() }),
        });
        self.ticket_subs.entry(ticket_id).or_default().push(sub.clone());
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: &topic, seq: Some(start), cursor: None }));
        self.catch_up(&sub).await;
        self.send(socket, self.viewers_frame(socket.user.account_id, ticket_id, socket.staff()));
        Ok(())
    }

    /// Counts a replay of `user` for as long as the guard lives; `None` at the limit.
    fn start_replay(self: &Arc<Self>, user: UserId) -> Option<ReplayGuard> {
        let mut running = self.replays_per_user.entry(user).or_insert(0);
        if *running >= self.settings.max_replays_per_user {
            return None;
        }
        *running += 1;
        Some(ReplayGuard { hub: self.clone(), user })
    }

    /// `subscribe {topic: "queue", after}`: every change the user may see from now on; with
    /// `after` (a `cursor` from an earlier frame) first the tickets changed since, as snapshots.
    pub async fn subscribe_queue(self: &Arc<Self>, socket: &Arc<SocketEntry>, after: Option<i64>) -> Result<(), Frame> {
        let account = socket.user.account_id;
        if self.queue_subs.get(&account).is_some_and(|subs| subs.iter().any(|entry| entry.id == socket.id)) {
            return Err(error("already_subscribed", "this socket already follows the queue"));
        }
        self.queue_subs.entry(account).or_default().push(socket.clone());
        let now = self.now().as_millisecond();
        if let Some(after) = after {
            let mut query = TicketQuery::new(account);
            query.scope = socket.scope.clone();
            query.sort = TicketSort::UpdatedAsc;
            query.after = Some((after - QUEUE_RESUME_SLACK_MS, 0));
            query.limit = QUEUE_RESUME_LIMIT + 1;
            let changed = self
                .store
                .list_tickets(&query)
                .await
                .map_err(|_| error("unavailable", "the store did not answer; try again"))?;
            if changed.len() as i64 > QUEUE_RESUME_LIMIT {
                self.send(socket, Frame::control(&ControlFrame::Resync { topic: "queue", reason: "too_many_changes" }));
            } else {
                let sent_at = self.now();
                let staff = socket.staff();
                let config = self.audience_config(staff, account);
                for ticket in changed.into_iter().map(|ticket| TicketView::new(staff, ticket, &config)) {
                    let frame = SnapshotFrame {
                        kind: "snapshot",
                        topic: "queue",
                        ticket_id: ticket.id(),
                        seq: ticket.seq(),
                        cursor: ticket.updated_at().as_millisecond(),
                        sent_at,
                        ticket: &ticket,
                    };
                    self.send(socket, Frame::control(&frame));
                }
            }
        }
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: "queue", seq: None, cursor: Some(now) }));
        Ok(())
    }

    /// `subscribe {topic: "presence"}`: the whole board first, then every change.
    pub fn subscribe_presence(&self, socket: &Arc<SocketEntry>) -> Result<(), Frame> {
        if !matches!(socket.user.role, Role::Supervisor | Role::Admin) {
            return Err(error("forbidden_topic", "the presence board is for supervisors and admins"));
        }
        let account = socket.user.account_id;
        if self.presence_subs.get(&account).is_some_and(|subs| subs.iter().any(|entry| entry.id == socket.id)) {
            return Err(error("already_subscribed", "this socket already follows presence"));
        }
        self.presence_subs.entry(account).or_default().push(socket.clone());
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: "presence", seq: None, cursor: None }));
        let board = self.board(account);
        self.send(
            socket,
            Frame::control(&ControlFrame::Presence { topic: "presence", board: Some(&board), agent: None }),
        );
        Ok(())
    }

    pub fn unsubscribe(&self, socket: &Arc<SocketEntry>, topic: Topic) -> bool {
        let account = socket.user.account_id;
        let mut found = false;
        let mut drop_from = |subs: &mut Vec<Arc<SocketEntry>>| {
            let before = subs.len();
            subs.retain(|entry| entry.id != socket.id);
            found |= subs.len() != before;
        };
        match topic {
            Topic::Queue => {
                if let Some(mut subs) = self.queue_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
            }
            Topic::Presence => {
                if let Some(mut subs) = self.presence_subs.get_mut(&account) {
                    drop_from(&mut subs);
                }
            }
            Topic::Ticket(id) => {
                if let Some(mut subs) = self.ticket_subs.get_mut(&id) {
                    let before = subs.len();
                    subs.retain(|sub| sub.socket.id != socket.id);
                    found = subs.len() != before;
                }
            }
        }
        found
    }

    /// The newest seq this node delivered to `user` on `ticket`, for collision control.
    pub fn last_seen(&self, user: UserId, ticket: TicketId) -> Option<i64> {
        self.ticket_subs
            .get(&ticket)?
            .iter()
            .filter(|sub| sub.socket.user.id == user)
            .map(|sub| lock(&sub.cursor).seq)
            .max()
    }

    /// The account's board: one row per agent, merging the reports of every node.
    pub fn board(&self, account: AccountId) -> Vec<AgentPresence> {
        let Some(agents) = self.boards.get(&account) else { return Vec::new() };
        let mut rows: Vec<AgentPresence> = agents.values().filter_map(merged_row).collect();
        rows.sort_by_key(|row| row.user_id);
        rows
    }

    fn agent_row(&self, account: AccountId, user: UserId) -> Option<AgentPresence> {
        self.boards.get(&account)?.get(&user).and_then(merged_row)
    }

    /// Records a report (from this node's agents or another node) and tells who needs to know.
    fn apply_presence(&self, presence: AgentPresence) {
        let account = presence.account_id;
        let user = presence.user_id;
        let before = self.agent_row(account, user);
        {
            let mut agents = self.boards.entry(account).or_default();
            if presence.status == PresenceStatus::Offline && presence.sockets == 0 {
                if let Some(reports) = agents.get_mut(&user) {
                    reports.remove(&presence.node);
                    if reports.is_empty() {
                        agents.remove(&user);
                    }
                }
            } else {
                agents.entry(user).or_default().insert(presence.node.clone(), presence.clone());
            }
        }
        let after = self.agent_row(account, user);
        let shown = after.clone().unwrap_or(presence);
        self.announce(account, before.as_ref(), after.as_ref(), &shown);
    }

    fn announce(
        &self,
        account: AccountId,
        before: Option<&AgentPresence>,
        after: Option<&AgentPresence>,
        shown: &AgentPresence,
    ) {
        let visible = |row: Option<&AgentPresence>| {
            row.map(|row| (row.status, row.viewing, row.typing, row.load, row.manual, row.sockets, row.since))
        };
        if (visible(before) != visible(after) || before.is_none())
            && let Some(subs) = self.presence_subs.get(&account).map(|subs| subs.clone())
        {
            let mut row = shown.clone();
            if after.is_none() {
                row.status = PresenceStatus::Offline;
                row.viewing = None;
                row.typing = None;
                row.sockets = 0;
            }
            let frame = Frame::control(&ControlFrame::Presence { topic: "presence", board: None, agent: Some(&row) });
            for socket in subs {
                self.send(&socket, frame.clone());
            }
        }
        let watched = |row: Option<&AgentPresence>| row.map(|row| (row.viewing, row.typing));
        if watched(before) != watched(after) {
            let mut tickets: Vec<TicketId> =
                [before, after].into_iter().flatten().filter_map(|row| row.viewing).collect();
            tickets.dedup();
            for ticket in tickets {
                let frame = self.viewers_frame(account, ticket, true);
                if let Some(subs) = self.ticket_subs.get(&ticket).map(|subs| subs.clone()) {
                    // Only the account's own staff: a ticket id says nothing about its account.
                    for sub in subs.iter().filter(|sub| sub.socket.staff() && sub.socket.user.account_id == account) {
                        self.send(&sub.socket, frame.clone());
                    }
                }
            }
        }
    }

    /// Who is on the ticket; customers are told "an agent", never who.
    fn viewers_frame(&self, account: AccountId, ticket: TicketId, staff: bool) -> Frame {
        let mut viewers: Vec<Viewer> = self
            .boards
            .get(&account)
            .map(|agents| {
                agents
                    .values()
                    .filter(|reports| reports.values().any(|report| report.viewing == Some(ticket)))
                    .filter_map(merged_row)
                    .filter(|row| row.viewing == Some(ticket) && row.status != PresenceStatus::Offline)
                    .map(|row| {
                        let typing = row.typing == Some(ticket);
                        if staff {
                            Viewer { user_id: row.user_id, name: row.name, typing }
                        } else {
                            let (user_id, name, typing) = switchboard_actors::visibility::customer_viewer(typing);
                            Viewer { user_id, name: name.to_owned(), typing }
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        viewers.sort_by_key(|viewer| viewer.user_id);
        let topic = Topic::Ticket(ticket).name();
        Frame::control(&ControlFrame::Viewers { topic: &topic, ticket_id: ticket, viewers: &viewers })
    }

    /// Drops the reports of nodes not heard from within the expiry (they died or lost their
    /// link). This node's own reports never expire: its agent sessions report their changes.
    fn expire_presence(&self) {
        let Ok(expiry) = SignedDuration::try_from(self.settings.presence_expiry) else { return };
        let now = self.now();
        let heard = |report: &AgentPresence| {
            self.nodes_seen.get(&report.node).map_or(report.reported_at, |seen| (*seen).max(report.reported_at))
        };
        let mut expired = Vec::new();
        for entry in self.boards.iter() {
            for reports in entry.value().values() {
                for report in reports.values() {
                    if report.node != self.settings.node && now.duration_since(heard(report)) > expiry {
                        expired.push((*entry.key(), report.clone()));
                    }
                }
            }
        }
        for (account, report) in expired {
            let user = report.user_id;
            let before = self.agent_row(account, user);
            if let Some(mut agents) = self.boards.get_mut(&account)
                && let Some(reports) = agents.get_mut(&user)
            {
                reports.remove(&report.node);
                if reports.is_empty() {
                    agents.remove(&user);
                }
            }
            let after = self.agent_row(account, user);
            self.announce(account, before.as_ref(), after.as_ref(), &report);
        }
    }
}

/// Agent sessions report here: the local board first, then the other nodes.
pub struct HubPresence(pub Arc<Hub>);

impl PresenceSink for HubPresence {
    fn report(&self, presence: AgentPresence) {
        let account = presence.account_id;
        self.0.apply_presence(presence.clone());
        self.0.relay(RelayBody::Presence { presence }, account, ChannelKind::Presence);
    }
}

/// Online outranks busy outranks away outranks offline when nodes disagree about an agent.
fn rank(status: PresenceStatus) -> u8 {
    match status {
        PresenceStatus::Online => 3,
        PresenceStatus::Busy => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    }
}

fn event_frame(
    staff: bool,
    config: &AccountConfig,
    topic: &str,
    event: &TicketEvent,
    ticket: Option<&TicketView>,
    sent_at: Timestamp,
) -> Frame {
    let body = event_view(staff, event, config);
    let frame = EventFrame {
        kind: "event",
        topic,
        ticket_id: event.ticket_id,
        seq: event.seq,
        cursor: event.at.as_millisecond(),
        sent_at,
        event: &body,
        ticket,
    };
    Frame { text: serde_json::to_string(&frame).unwrap_or_default().into(), committed_ms: event.at.as_millisecond() }
}

/// A replay counted against its user's limit until dropped.
struct ReplayGuard {
    hub: Arc<Hub>,
    user: UserId,
}

impl Drop for ReplayGuard {
    fn drop(&mut self) {
        self.hub.replays_per_user.remove_if_mut(&self.user, |_, running| {
            *running = running.saturating_sub(1);
            *running == 0
        });
    }
}

/// Snapshots of what this module puts on the wire (the broker's relay messages, event frames for
/// staff and customers, resync frames), built from fixed values so they never change by
/// themselves: a refactoring that changes one fails here (snapshots in `snapshots/`).
#[cfg(test)]
mod wire_snapshots {
    use std::collections::BTreeMap;

    use serde_json::{Value, json};

    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_750_000_000 + seconds).expect("a fixed time")
    }

    fn ticket() -> Ticket {
        Ticket {
            id: 41,
            account_id: 7,
            number: 12,
            subject: "Parcel missing".to_owned(),
            status: "open".to_owned(),
            status_category: StatusCategory::Open,
            urgency: Level::High,
            importance: Level::Medium,
            priority: Priority::High,
            ticket_type: Some("incident".to_owned()),
            category_id: Some(3),
            tags: vec!["vip".to_owned()],
            custom_fields: CustomFields::from([
                ("order_number".to_owned(), json!("A-1")),
                ("fraud_score".to_owned(), json!(93)),
            ]),
            channel: Channel::Whatsapp,
            requester_id: 5,
            company_id: None,
            assignee_id: Some(9),
            team_id: Some(2),
            assigned_at: Some(at(10)),
            snoozed_until: None,
            seq: 3,
            created_at: at(0),
            updated_at: at(30),
            first_response_at: Some(at(20)),
            resolved_at: None,
            closed_at: None,
            last_customer_message_at: Some(at(0)),
            last_agent_message_at: Some(at(20)),
            last_customer_seq: 2,
            sla: None,
        }
    }

    /// `order_number` is shown to customers, `fraud_score` is not.
    fn config() -> AccountConfig {
        let field = |key: &str, customer_visible| CustomFieldDef {
            key: key.to_owned(),
            label: key.to_owned(),
            field_type: FieldType::Text,
            options: Vec::new(),
            customer_visible,
        };
        AccountConfig {
            custom_fields: vec![field("order_number", true), field("fraud_score", false)],
            ..AccountConfig::default()
        }
    }

    fn message(kind: MessageKind, body: &str) -> Message {
        Message {
            id: "0197a0b0-0000-7000-8000-000000000001".to_owned(),
            ticket_id: 41,
            account_id: 7,
            seq: 3,
            kind,
            author_id: Some(9),
            channel: Channel::Whatsapp,
            body: body.to_owned(),
            attachments: Vec::new(),
            delivery_status: None,
            provider_id: None,
            delivery_error: None,
            payload: None,
            created_at: at(30),
        }
    }

    fn event(seq: i64, kind: EventKind) -> TicketEvent {
        TicketEvent { ticket_id: 41, account_id: 7, seq, at: at(30), actor_id: Some(9), kind }
    }

    fn presence() -> AgentPresence {
        AgentPresence {
            user_id: 9,
            account_id: 7,
            name: "Ana Agent".to_owned(),
            status: PresenceStatus::Busy,
            since: at(5),
            manual: Some(PresenceStatus::Busy),
            viewing: Some(41),
            typing: None,
            load: 2,
            capacity: 5,
            sockets: 1,
            node: "node-a".to_owned(),
            reported_at: at(6),
        }
    }

    /// A relay message as the broker carries it (the bytes `Hub::relay` publishes), parsed back
    /// to check it also reads as `Hub::receive` expects.
    fn relayed(body: RelayBody) -> Value {
        let bytes = serde_json::to_vec(&Relay { node: "node-a".to_owned(), body }).expect("serialises");
        let read: Relay = serde_json::from_slice(&bytes).expect("reads back");
        assert_eq!(read.node, "node-a");
        serde_json::from_slice(&bytes).expect("json")
    }

    /// An event frame as `event_frame` writes it; `sent_at` is the clock's, so it is redacted.
    fn frame_json(frame: &Frame) -> Value {
        let mut value: Value = serde_json::from_str(&frame.text).expect("frames are JSON");
        if let Some(sent_at) = value.get_mut("sent_at") {
            assert!(sent_at.is_string(), "sent_at is a timestamp: {sent_at}");
            *sent_at = json!("[sent_at]");
        }
        value
    }

    #[test]
    fn relay_change() {
        let change = TicketChange {
            ticket: ticket(),
            events: vec![event(3, EventKind::MessageAdded { message: message(MessageKind::Reply, "It ships today") })],
        };
        insta::assert_json_snapshot!("relay_change", relayed(RelayBody::Change { change: Box::new(change) }));
    }

    #[test]
    fn relay_presence_and_liveness() {
        insta::assert_json_snapshot!("relay_presence", relayed(RelayBody::Presence { presence: presence() }));
        insta::assert_json_snapshot!("relay_node_alive", relayed(RelayBody::NodeAlive));
        insta::assert_json_snapshot!("relay_presence_sync", relayed(RelayBody::PresenceSync { account: 7 }));
    }

    #[test]
    fn relay_session_ended() {
        let session = SessionEnd::Session { session: "ab".repeat(32) };
        insta::assert_json_snapshot!("relay_session_ended_session", relayed(RelayBody::SessionEnded { end: session }));
        let user = SessionEnd::User { user_id: 9, except: Some("cd".repeat(32)) };
        insta::assert_json_snapshot!("relay_session_ended_user", relayed(RelayBody::SessionEnded { end: user }));
        let everywhere = SessionEnd::User { user_id: 9, except: None };
        insta::assert_json_snapshot!(
            "relay_session_ended_user_everywhere",
            relayed(RelayBody::SessionEnded { end: everywhere })
        );
    }

    #[test]
    fn event_frames_on_a_ticket_topic_for_staff_and_customers() {
        let config = config();
        let note = event(3, EventKind::MessageAdded { message: message(MessageKind::Note, "check the fraud score") });
        let reply = event(3, EventKind::MessageAdded { message: message(MessageKind::Reply, "It ships today") });
        let fields = event(
            4,
            EventKind::FieldsChanged {
                changes: BTreeMap::from([
                    ("custom_fields.order_number".to_owned(), FieldChange { from: json!("A-1"), to: json!("A-2") }),
                    ("custom_fields.fraud_score".to_owned(), FieldChange { from: json!(null), to: json!(93) }),
                ]),
            },
        );
        let frames: BTreeMap<&str, Value> = BTreeMap::from([
            (
                "note_staff",
                frame_json(&event_frame(true, &config, "ticket:41", &note, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
            (
                "note_customer",
                frame_json(&event_frame(false, &config, "ticket:41", &note, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
            (
                "reply_staff",
                frame_json(&event_frame(true, &config, "ticket:41", &reply, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
            (
                "reply_customer",
                frame_json(&event_frame(false, &config, "ticket:41", &reply, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
            (
                "fields_staff",
                frame_json(&event_frame(true, &config, "ticket:41", &fields, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
            (
                "fields_customer",
                frame_json(&event_frame(false, &config, "ticket:41", &fields, None, jiff::Timestamp::UNIX_EPOCH)),
            ),
        ]);
        insta::assert_json_snapshot!("event_frames_ticket_topic", frames);
    }

    #[test]
    fn event_frames_on_the_queue_carry_the_ticket_as_each_audience_sees_it() {
        let config = config();
        let created = event(
            1,
            EventKind::Created {
                subject: "Parcel missing".to_owned(),
                number: 12,
                status: "new".to_owned(),
                priority: Priority::High,
                channel: Channel::Whatsapp,
                requester_id: 5,
            },
        );
        let staff_view = TicketView::new(true, ticket(), &config);
        let customer_view = TicketView::new(false, ticket(), &config);
        let frames: BTreeMap<&str, Value> = BTreeMap::from([
            (
                "staff",
                frame_json(&event_frame(
                    true,
                    &config,
                    "queue",
                    &created,
                    Some(&staff_view),
                    jiff::Timestamp::UNIX_EPOCH,
                )),
            ),
            (
                "customer",
                frame_json(&event_frame(
                    false,
                    &config,
                    "queue",
                    &created,
                    Some(&customer_view),
                    jiff::Timestamp::UNIX_EPOCH,
                )),
            ),
        ]);
        insta::assert_json_snapshot!("event_frames_queue", frames);
    }

    #[test]
    fn resync_frames() {
        // The reasons the hub sends: a lagging bus, a restored broker link, a resume too large.
        let frames: Vec<Value> = ["lagged", "broker_reconnected", "too_many_changes"]
            .into_iter()
            .map(|reason| frame_json(&Frame::control(&ControlFrame::Resync { topic: "queue", reason })))
            .collect();
        insta::assert_json_snapshot!("resync_frames", frames);
    }
}
