//! The node's live-push hub: which socket listens to what, and delivery.
//!
//! Every committed change reaches [`Hub::deliver`] twice over: from this node's event bus, and —
//! relayed through the broker — on every other node. A `ticket:<id>` subscription keeps a cursor
//! (the last seq it delivered) so it sends each event exactly once and in order: a duplicate is
//! dropped, and a gap (a replay still running, a lost broker message) parks live events while the
//! missing ones are read from the store. Nothing here waits on a socket: frames go into each
//! socket's bounded outbox with `try_send`, and a socket whose outbox is full is dropped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use dashmap::DashMap;
use jiff::Timestamp;
use switchboard_actors::agent::{AgentPresence, AgentSessions, PresenceSink};
use switchboard_actors::broker::{Broker, BrokerEvent};
use switchboard_actors::bus::TicketChange;
use switchboard_actors::clock::Clock;
use switchboard_actors::domain::*;
use switchboard_actors::query::filter::TicketFilter;
use switchboard_actors::store::{TicketQuery, TicketScope, TicketSort, TicketsPort};
use switchboard_actors::ticket::Tickets;
use tokio::sync::{Notify, mpsc};

use switchboard_actors::rows::{TicketRow, row_event};
use switchboard_actors::visibility::{customer_ticket, event_view};

use crate::accounts::AccountConfigs;
use crate::broker::ChannelKind;
pub use crate::cluster::SessionEnd;
use crate::cluster::{Cluster, RelayBody};
use crate::presence::PresenceBoard;
use cursor::{Advance, Cursor, Offer};
use protocol::*;

mod cursor;
mod dashboard;
mod delivery;
mod notifications;
mod presence;
pub mod protocol;
mod relay;
mod tail;
mod views;
#[cfg(test)]
mod wire_snapshots;

pub use dashboard::DashboardSource;
pub use presence::HubPresence;
pub use views::{ViewFilters, ViewRefusal};

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
    /// The SHA-256 of the session token the socket authenticated with, hex (as session ends
    /// name it).
    session: String,
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

/// Whether a session end closes this socket.
fn ends(end: &SessionEnd, socket: &SocketEntry) -> bool {
    end.covers(socket.user.id, &socket.session)
}

struct TicketSub {
    socket: Arc<SocketEntry>,
    ticket_id: TicketId,
    topic: String,
    cursor: Mutex<Cursor>,
}

pub struct Hub {
    settings: HubSettings,
    /// Tickets and their events, for replays, gap fills and queue resumes.
    store: Arc<dyn TicketsPort>,
    tickets: Tickets,
    /// The link to the other nodes (the broker and the relay messages).
    cluster: Arc<Cluster>,
    agents: OnceLock<AgentSessions>,
    next_socket: AtomicU64,
    sockets: DashMap<SocketId, Arc<SocketEntry>>,
    ticket_subs: DashMap<TicketId, Vec<Arc<TicketSub>>>,
    /// The last events of each ticket followed here, for replays without the store.
    ticket_tails: DashMap<TicketId, tail::TicketTail>,
    /// `queue` subscribers: each socket's own queue ([`in_own_queue`](delivery)).
    queue_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    /// `queue:all` subscribers (supervisors and admins): the whole account.
    queue_all_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    presence_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    /// `notifications` subscribers, by the user whose notifications they follow.
    notification_subs: DashMap<UserId, Vec<Arc<SocketEntry>>>,
    view_subs: DashMap<AccountId, Vec<Arc<views::ViewSub>>>,
    /// `dashboard` subscribers by account, and what each was last sent (the board without its
    /// time) so only a change is pushed.
    dashboard_subs: DashMap<AccountId, Vec<Arc<SocketEntry>>>,
    dashboard_sent: DashMap<SocketId, String>,
    /// Reads the live boards (set by the app once the reports exist).
    dashboard_source: OnceLock<Arc<dyn DashboardSource>>,
    /// Compiles saved views' queries (set by the app once the search service exists).
    view_filters: OnceLock<Arc<dyn ViewFilters>>,
    /// The cluster's presence board (a service of its own; the API and the router read it too).
    presence: Arc<PresenceBoard>,
    /// Open sockets per user on this node.
    sockets_per_user: DashMap<UserId, usize>,
    /// Ticket replays running per user.
    replays_per_user: DashMap<UserId, usize>,
    accounts: Arc<AccountConfigs>,
    clock: Arc<dyn Clock>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    pub fn new(
        settings: HubSettings,
        store: Arc<dyn TicketsPort>,
        tickets: Tickets,
        cluster: Arc<Cluster>,
        accounts: Arc<AccountConfigs>,
        presence: Arc<PresenceBoard>,
        clock: Arc<dyn Clock>,
    ) -> Arc<Hub> {
        Arc::new(Hub {
            settings,
            store,
            tickets,
            cluster,
            agents: OnceLock::new(),
            next_socket: AtomicU64::new(1),
            sockets: DashMap::new(),
            ticket_subs: DashMap::new(),
            ticket_tails: DashMap::new(),
            queue_subs: DashMap::new(),
            queue_all_subs: DashMap::new(),
            presence_subs: DashMap::new(),
            notification_subs: DashMap::new(),
            view_subs: DashMap::new(),
            dashboard_subs: DashMap::new(),
            dashboard_sent: DashMap::new(),
            dashboard_source: OnceLock::new(),
            view_filters: OnceLock::new(),
            presence,
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
        self.cluster.broker()
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
        session: &[u8],
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
            session: hex::encode(session),
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

    pub fn remove_socket(&self, socket: &Arc<SocketEntry>) {
        if self.sockets.remove(&socket.id).is_some() {
            metrics::gauge!("switchboard_ws_sockets").decrement(1.0);
            self.sockets_per_user.remove_if_mut(&socket.user.id, |_, held| {
                *held = held.saturating_sub(1);
                *held == 0
            });
        }
        let account = socket.user.account_id;
        for subs in [&self.queue_subs, &self.queue_all_subs] {
            subs.alter(&account, |_, mut subs| {
                subs.retain(|entry| entry.id != socket.id);
                subs
            });
        }
        self.presence_subs.alter(&account, |_, mut subs| {
            subs.retain(|entry| entry.id != socket.id);
            subs
        });
        self.notification_subs.remove_if_mut(&socket.user.id, |_, subs| {
            subs.retain(|entry| entry.id != socket.id);
            subs.is_empty()
        });
        self.drop_view_subs_of(socket);
        self.dashboard_subs.alter(&account, |_, mut subs| {
            subs.retain(|entry| entry.id != socket.id);
            subs
        });
        self.dashboard_sent.remove(&socket.id);
        self.ticket_subs.retain(|_, subs| {
            subs.retain(|sub| sub.socket.id != socket.id);
            !subs.is_empty()
        });
        self.ticket_tails.retain(|ticket, _| self.ticket_subs.contains_key(ticket));
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
}

/// An event on a `ticket:<id>` topic: the whole event as the audience sees it.
fn event_frame(staff: bool, config: &AccountConfig, topic: &str, event: &TicketEvent, sent_at: Timestamp) -> Frame {
    frame_of(topic, event, &event_view(staff, event, config), None, sent_at)
}

/// An event on a list topic (`queue`, `view:<id>`): what happened, slimmed
/// ([`row_event`]), and the ticket's row after it as the audience sees it. The whole ticket
/// and event are on the ticket's own topic.
fn list_event_frame(
    staff: bool,
    config: &AccountConfig,
    topic: &str,
    event: &TicketEvent,
    row: &TicketRow,
    sent_at: Timestamp,
) -> Frame {
    frame_of(topic, event, &row_event(&event_view(staff, event, config)), Some(row), sent_at)
}

fn frame_of(
    topic: &str,
    event: &TicketEvent,
    body: &serde_json::Value,
    row: Option<&TicketRow>,
    sent_at: Timestamp,
) -> Frame {
    let frame = EventFrame {
        kind: "event",
        topic,
        ticket_id: row.is_none().then_some(event.ticket_id),
        seq: event.seq,
        cursor: event.at.as_millisecond(),
        sent_at: row.is_none().then_some(sent_at),
        event: body,
        row,
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
