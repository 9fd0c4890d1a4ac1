//! The presence board of the cluster: every agent's presence as each node reports it, merged
//! into one row per agent (the most present status wins); who is viewing a ticket; reports of
//! nodes that went silent expire. A service of its own: live delivery shows it to supervisors,
//! the API and (next) the router read it. It knows nothing of sockets or the broker: callers
//! feed it reports and node liveness, and get back which rows changed.

use std::collections::HashMap;
use std::time::Duration;

use dashmap::DashMap;
use jiff::{SignedDuration, Timestamp};
use switchboard_actors::agent::AgentPresence;
use switchboard_actors::domain::{AccountId, PresenceStatus, TicketId, UserId};

/// One agent's presence as each node reported it.
type NodeReports = HashMap<String, AgentPresence>;

/// One agent's row before and after a report or an expiry, and the report that changed it.
#[derive(Clone, Debug, PartialEq)]
pub struct RowChange {
    pub account: AccountId,
    pub before: Option<AgentPresence>,
    pub after: Option<AgentPresence>,
    /// What to show for the agent: the row after, or (when it left the board) the last report.
    pub shown: AgentPresence,
}

pub struct PresenceBoard {
    /// This node's name: its own reports never expire (its agent sessions report their changes).
    node: String,
    /// Reports of a node not heard from for this long are dropped.
    expiry: Duration,
    /// Reports by account, agent and reporting node (an agent's row merges only their own
    /// reports, so one report costs the same with 20 agents or 20,000).
    boards: DashMap<AccountId, HashMap<UserId, NodeReports>>,
    /// When each other node was last heard from.
    nodes_seen: DashMap<String, Timestamp>,
}

impl PresenceBoard {
    pub fn new(node: String, expiry: Duration) -> PresenceBoard {
        PresenceBoard { node, expiry, boards: DashMap::new(), nodes_seen: DashMap::new() }
    }

    /// The account's board: one row per agent, merging the reports of every node.
    pub fn board(&self, account: AccountId) -> Vec<AgentPresence> {
        let Some(agents) = self.boards.get(&account) else { return Vec::new() };
        let mut rows: Vec<AgentPresence> = agents.values().filter_map(merged_row).collect();
        rows.sort_by_key(|row| row.user_id);
        rows
    }

    /// One agent's merged row, if any node reports them.
    pub fn row(&self, account: AccountId, user: UserId) -> Option<AgentPresence> {
        self.boards.get(&account)?.get(&user).and_then(merged_row)
    }

    /// Records a report (from this node's agents or another node's): an offline report without
    /// sockets removes that node's word on the agent.
    pub fn apply(&self, presence: AgentPresence) -> RowChange {
        let account = presence.account_id;
        let user = presence.user_id;
        let before = self.row(account, user);
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
        let after = self.row(account, user);
        let shown = after.clone().unwrap_or(presence);
        RowChange { account, before, after, shown }
    }

    /// Another node was heard from at `at`: its agents' reports still hold.
    pub fn heard_from(&self, node: &str, at: Timestamp) {
        self.nodes_seen.insert(node.to_owned(), at);
    }

    /// This node's own reports for the account (to re-announce to a node that joined late).
    pub fn own_reports(&self, account: AccountId) -> Vec<AgentPresence> {
        self.boards
            .get(&account)
            .map(|agents| agents.values().filter_map(|reports| reports.get(&self.node).cloned()).collect())
            .unwrap_or_default()
    }

    /// The agents on the ticket now (not offline), by user id.
    pub fn viewing(&self, account: AccountId, ticket: TicketId) -> Vec<AgentPresence> {
        let mut rows: Vec<AgentPresence> = self
            .boards
            .get(&account)
            .map(|agents| {
                agents
                    .values()
                    .filter(|reports| reports.values().any(|report| report.viewing == Some(ticket)))
                    .filter_map(merged_row)
                    .filter(|row| row.viewing == Some(ticket) && row.status != PresenceStatus::Offline)
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by_key(|row| row.user_id);
        rows
    }

    /// Drops the reports of other nodes not heard from within the expiry (they died or lost
    /// their link) and says which rows changed.
    pub fn expire(&self, now: Timestamp) -> Vec<RowChange> {
        let Ok(expiry) = SignedDuration::try_from(self.expiry) else { return Vec::new() };
        let heard = |report: &AgentPresence| {
            self.nodes_seen.get(&report.node).map_or(report.reported_at, |seen| (*seen).max(report.reported_at))
        };
        let mut expired = Vec::new();
        for entry in self.boards.iter() {
            for reports in entry.value().values() {
                for report in reports.values() {
                    if report.node != self.node && now.duration_since(heard(report)) > expiry {
                        expired.push((*entry.key(), report.clone()));
                    }
                }
            }
        }
        let mut changes = Vec::with_capacity(expired.len());
        for (account, report) in expired {
            let user = report.user_id;
            let before = self.row(account, user);
            if let Some(mut agents) = self.boards.get_mut(&account)
                && let Some(reports) = agents.get_mut(&user)
            {
                reports.remove(&report.node);
                if reports.is_empty() {
                    agents.remove(&user);
                }
            }
            let after = self.row(account, user);
            changes.push(RowChange { account, before, after, shown: report });
        }
        changes
    }
}

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

/// Online outranks busy outranks away outranks offline when nodes disagree about an agent.
fn rank(status: PresenceStatus) -> u8 {
    match status {
        PresenceStatus::Online => 3,
        PresenceStatus::Busy => 2,
        PresenceStatus::Away => 1,
        PresenceStatus::Offline => 0,
    }
}

#[cfg(test)]
mod tests;
