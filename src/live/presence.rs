//! The presence board on the wire: supervisors' `presence` topic, viewers of a ticket, and
//! this node's agent sessions reporting into the board (`crate::presence`) and the cluster.

use super::*;
use crate::presence::RowChange;

impl Hub {
    /// `subscribe {topic: "presence"}`: the whole board first, then every change.
    pub fn subscribe_presence(&self, socket: &Arc<SocketEntry>) -> Result<(), Frame> {
        if !matches!(socket.user.role, Role::Supervisor | Role::Admin) {
            return Err(error(ErrorCode::ForbiddenTopic, "the presence board is for supervisors and admins"));
        }
        let account = socket.user.account_id;
        if self.presence_subs.get(&account).is_some_and(|subs| subs.iter().any(|entry| entry.id == socket.id)) {
            return Err(error(ErrorCode::AlreadySubscribed, "this socket already follows presence"));
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

    /// The account's board: one row per agent, merging the reports of every node.
    pub fn board(&self, account: AccountId) -> Vec<AgentPresence> {
        self.presence.board(account)
    }

    /// Records a report (from this node's agents or another node) and tells who needs to know.
    pub(super) fn apply_presence(&self, presence: AgentPresence) {
        let change = self.presence.apply(presence);
        self.announce(&change);
    }

    /// Tells the account's board watchers about a changed row, and the ticket's followers about
    /// changed viewers.
    pub(super) fn announce(&self, change: &RowChange) {
        let (account, before, after, shown) =
            (change.account, change.before.as_ref(), change.after.as_ref(), &change.shown);
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
    pub(super) fn viewers_frame(&self, account: AccountId, ticket: TicketId, staff: bool) -> Frame {
        let viewers: Vec<Viewer> = self
            .presence
            .viewing(account, ticket)
            .into_iter()
            .map(|row| {
                let typing = row.typing == Some(ticket);
                if staff {
                    Viewer { user_id: row.user_id, name: row.name, typing }
                } else {
                    let (user_id, name, typing) = switchboard_actors::visibility::customer_viewer(typing);
                    Viewer { user_id, name: name.to_owned(), typing }
                }
            })
            .collect();
        let topic = Topic::Ticket(ticket).name();
        Frame::control(&ControlFrame::Viewers { topic: &topic, ticket_id: ticket, viewers: &viewers })
    }

    /// Drops the reports of nodes not heard from within the expiry, and says so.
    pub(super) fn expire_presence(&self) {
        for change in self.presence.expire(self.now()) {
            self.announce(&change);
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
