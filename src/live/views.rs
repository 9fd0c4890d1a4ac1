//! `view:<id>`: a saved view's tickets as they change. Each subscription has a task of its own
//! that takes the account's committed changes in order, decides whether each ticket matches the
//! view now (in memory when the query needs no messages, else by asking the store about that one
//! ticket), and sends an `event` frame for a ticket that matches, `view_left` for one that stopped
//! matching, and `view_count` whenever the number of matching tickets changed. The set of
//! matching ids is loaded when the subscription starts (registered first, so no change is
//! missed meanwhile). Delivery never waits: a subscription that falls too far behind gets a
//! `resync` and ends, like a slow queue listener.

use std::collections::HashSet;

use async_trait::async_trait;
use switchboard_actors::query::filter::{Test, TicketFilter};
use switchboard_actors::views::ViewId;

use super::*;

/// Changes waiting for one view subscription's task before it counts as too far behind.
const VIEW_BACKLOG: usize = 1024;
/// Most matching tickets a subscription keeps ids of (a view beyond that is a search, not a queue).
const VIEW_MEMBERS_LIMIT: i64 = 20_000;
/// A query is compiled again after this long, so `created: today` moves with the day.
const RECOMPILE_AFTER: Duration = Duration::from_secs(60);

/// Why a user cannot follow a view.
#[derive(Debug)]
pub enum ViewRefusal {
    /// No such view, or not one the user sees.
    NotFound,
    /// Its query no longer compiles (e.g. a team it names was renamed).
    Invalid(String),
    Unavailable,
}

/// Compiles a saved view's query for a user (the search service implements it; the hub knows no
/// names or settings).
#[async_trait]
pub trait ViewFilters: Send + Sync {
    async fn view_filter(&self, user: &User, view: ViewId) -> Result<TicketFilter, ViewRefusal>;
}

pub(super) struct ViewSub {
    socket: Arc<SocketEntry>,
    view_id: ViewId,
    changes: mpsc::Sender<Arc<TicketChange>>,
}

impl Hub {
    pub fn set_view_filters(&self, filters: Arc<dyn ViewFilters>) {
        let _ = self.view_filters.set(filters);
    }

    /// `subscribe {topic: "view:<id>", after}`: staff only, a view they see.
    pub async fn subscribe_view(
        self: &Arc<Self>,
        socket: &Arc<SocketEntry>,
        view_id: ViewId,
        after: Option<i64>,
    ) -> Result<(), Frame> {
        let not_found = || error(ErrorCode::ForbiddenTopic, "no such view, or not one you see");
        if !socket.staff() {
            return Err(not_found());
        }
        let account = socket.user.account_id;
        if self
            .view_subs
            .get(&account)
            .is_some_and(|subs| subs.iter().any(|sub| sub.socket.id == socket.id && sub.view_id == view_id))
        {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows that view"));
        }
        let filters = self.view_filters.get().ok_or_else(not_found)?.clone();
        let filter = match filters.view_filter(&socket.user, view_id).await {
            Ok(filter) => filter,
            Err(ViewRefusal::NotFound) => return Err(not_found()),
            Err(ViewRefusal::Invalid(message)) => return Err(error(ErrorCode::InvalidQuery, &message)),
            Err(ViewRefusal::Unavailable) => {
                return Err(error(ErrorCode::Unavailable, "the store did not answer; try again"));
            }
        };
        let (changes, inbox) = mpsc::channel(VIEW_BACKLOG);
        let sub = Arc::new(ViewSub { socket: socket.clone(), view_id, changes });
        // Registered before the members are read, so a change committed meanwhile waits in the
        // inbox and is judged after them.
        self.view_subs.entry(account).or_default().push(sub.clone());
        let topic = Topic::View(view_id).name();
        let mut query = TicketQuery::new(account);
        query.filter = filter.clone();
        query.limit = VIEW_MEMBERS_LIMIT;
        let members = match self.store.matching_ticket_ids(&query).await {
            Ok(ids) => ids.into_iter().collect::<HashSet<_>>(),
            Err(_) => {
                self.drop_view_sub(socket, view_id);
                return Err(error(ErrorCode::Unavailable, "the store did not answer; try again"));
            }
        };
        let now = self.now().as_millisecond();
        if let Some(after) = after {
            self.resume(socket, &topic, filter.clone(), after, None).await?;
        }
        self.send(socket, Frame::control(&ControlFrame::Ack { topic: &topic, seq: None, cursor: Some(now) }));
        self.send(socket, count_frame(&topic, view_id, members.len()));
        let watch = ViewWatch { hub: self.clone(), sub, topic, filter, compiled: std::time::Instant::now(), members };
        tokio::spawn(watch.run(inbox, filters));
        Ok(())
    }

    /// Hands a committed change to the account's view subscriptions (never waits).
    pub(super) fn offer_to_views(&self, change: &Arc<TicketChange>) {
        let Some(subs) = self.view_subs.get(&change.ticket.account_id).map(|subs| subs.clone()) else { return };
        for sub in subs {
            if sub.changes.try_send(change.clone()).is_err() {
                let topic = Topic::View(sub.view_id).name();
                self.send(
                    &sub.socket,
                    Frame::control(&ControlFrame::Resync { topic: &topic, reason: "too_many_changes" }),
                );
                self.drop_view_sub(&sub.socket, sub.view_id);
            }
        }
    }

    /// Ends a socket's subscription to a view; whether there was one.
    pub(super) fn drop_view_sub(&self, socket: &Arc<SocketEntry>, view_id: ViewId) -> bool {
        let mut found = false;
        if let Some(mut subs) = self.view_subs.get_mut(&socket.user.account_id) {
            let before = subs.len();
            subs.retain(|sub| !(sub.socket.id == socket.id && sub.view_id == view_id));
            found = subs.len() != before;
        }
        found
    }

    pub(super) fn drop_view_subs_of(&self, socket: &Arc<SocketEntry>) {
        if let Some(mut subs) = self.view_subs.get_mut(&socket.user.account_id) {
            subs.retain(|sub| sub.socket.id != socket.id);
        }
    }
}

fn count_frame(topic: &str, view_id: ViewId, count: usize) -> Frame {
    Frame::control(&ControlFrame::ViewCount { topic, view_id, count: count as i64 })
}

/// One subscription's task: the view's filter and the ids matching it now.
struct ViewWatch {
    hub: Arc<Hub>,
    sub: Arc<ViewSub>,
    topic: String,
    filter: TicketFilter,
    compiled: std::time::Instant,
    members: HashSet<TicketId>,
}

impl ViewWatch {
    async fn run(mut self, mut inbox: mpsc::Receiver<Arc<TicketChange>>, filters: Arc<dyn ViewFilters>) {
        while let Some(change) = inbox.recv().await {
            if self.compiled.elapsed() >= RECOMPILE_AFTER {
                if let Ok(filter) = filters.view_filter(&self.sub.socket.user, self.sub.view_id).await {
                    self.filter = filter;
                }
                self.compiled = std::time::Instant::now();
            }
            self.judge(&change).await;
        }
    }

    async fn judge(&mut self, change: &TicketChange) {
        let ticket = &change.ticket;
        let socket = &self.sub.socket;
        if !socket.scope.allows(ticket) {
            return;
        }
        let matches = match self.filter.matches(ticket) {
            Some(answer) => answer,
            None => {
                let mut query = TicketQuery::new(ticket.account_id);
                query.filter = self.filter.clone();
                query.filter.and(Test::Ids(vec![ticket.id]));
                // When the store cannot say, keep what was known rather than flicker.
                self.hub.store.count_tickets(&query).await.map_or(self.members.contains(&ticket.id), |count| count > 0)
            }
        };
        let before = self.members.len();
        let hub = &self.hub;
        if matches {
            self.members.insert(ticket.id);
            let config = hub.audience_config(true, ticket.account_id);
            let now = hub.now();
            let row = TicketRow::staff(ticket);
            for event in &change.events {
                hub.send(socket, list_event_frame(true, &config, &self.topic, event, &row, now));
            }
        } else if self.members.remove(&ticket.id) {
            let frame = ControlFrame::ViewLeft { topic: &self.topic, view_id: self.sub.view_id, ticket_id: ticket.id };
            hub.send(socket, Frame::control(&frame));
        }
        if self.members.len() != before {
            hub.send(socket, count_frame(&self.topic, self.sub.view_id, self.members.len()));
        }
    }
}
