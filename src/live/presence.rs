//! The presence board: every agent's presence as each node reports it, merged into one row per
//! agent; viewers of a ticket; reports of nodes that went silent expire.

use super::*;

/// One agent's presence as each node reported it.
pub(super) type NodeReports = HashMap<String, AgentPresence>;

/// An agent's row on the board: the most present status any node reports (the newest report
/// among equals), with the sockets of every node.
pub(super) fn merged_row(reports: &NodeReports) -> Option<AgentPresence> {
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
        let Some(agents) = self.boards.get(&account) else { return Vec::new() };
        let mut rows: Vec<AgentPresence> = agents.values().filter_map(merged_row).collect();
        rows.sort_by_key(|row| row.user_id);
        rows
    }

    pub(super) fn agent_row(&self, account: AccountId, user: UserId) -> Option<AgentPresence> {
        self.boards.get(&account)?.get(&user).and_then(merged_row)
    }

    /// Records a report (from this node's agents or another node) and tells who needs to know.
    pub(super) fn apply_presence(&self, presence: AgentPresence) {
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

    pub(super) fn announce(
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
    pub(super) fn viewers_frame(&self, account: AccountId, ticket: TicketId, staff: bool) -> Frame {
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
    pub(super) fn expire_presence(&self) {
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
pub(super) fn rank(status: PresenceStatus) -> u8 {
    match status {
        PresenceStatus::Online => 3,
        PresenceStatus::Busy => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    }
}
