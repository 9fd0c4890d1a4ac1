//! An agent's presence as pure state: sockets, activity, manual status, what they view and type.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::{AccountId, PresenceStatus, TicketId, UserId};

/// What the presence board shows for one agent (on one node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentPresence {
    pub user_id: UserId,
    pub account_id: AccountId,
    pub name: String,
    pub status: PresenceStatus,
    /// When the status last changed.
    pub since: Timestamp,
    /// A status the agent chose; `None` when derived from activity.
    pub manual: Option<PresenceStatus>,
    pub viewing: Option<TicketId>,
    pub typing: Option<TicketId>,
    /// Open tickets assigned to the agent.
    pub load: i64,
    pub capacity: i64,
    /// Open sockets (tabs) on this node.
    pub sockets: usize,
    /// The node that reports it; boards merge reports of the same agent from several nodes.
    pub node: String,
    /// When this report was made; boards expire reports that stop being refreshed.
    pub reported_at: Timestamp,
}

/// How long a typing indicator lasts without a refresh.
pub const TYPING_TTL: SignedDuration = SignedDuration::from_secs(8);

#[derive(Clone, Debug)]
pub struct AgentState {
    pub sockets: HashSet<u64>,
    pub last_activity: Timestamp,
    pub manual: Option<PresenceStatus>,
    pub viewing: Option<TicketId>,
    pub typing: Option<(TicketId, Timestamp)>,
    pub load: i64,
    pub status: PresenceStatus,
    pub since: Timestamp,
    pub disconnected_at: Option<Timestamp>,
}

/// Timing rules of presence.
#[derive(Clone, Copy, Debug)]
pub struct PresenceRules {
    /// No activity for this long: away.
    pub idle: SignedDuration,
    /// Last socket gone for this long: offline.
    pub offline_grace: SignedDuration,
}

impl AgentState {
    pub fn new(now: Timestamp) -> AgentState {
        AgentState {
            sockets: HashSet::new(),
            last_activity: now,
            manual: None,
            viewing: None,
            typing: None,
            load: 0,
            status: PresenceStatus::Offline,
            since: now,
            disconnected_at: Some(now),
        }
    }

    pub fn connect(&mut self, socket: u64, now: Timestamp) {
        self.sockets.insert(socket);
        self.disconnected_at = None;
        self.last_activity = now;
    }

    pub fn disconnect(&mut self, socket: u64, now: Timestamp) {
        self.sockets.remove(&socket);
        if self.sockets.is_empty() {
            self.disconnected_at = Some(now);
            self.viewing = None;
            self.typing = None;
        }
    }

    /// The status the rules give now.
    pub fn derive(&self, now: Timestamp, rules: &PresenceRules) -> PresenceStatus {
        if self.sockets.is_empty() {
            let gone_for = self.disconnected_at.map_or(SignedDuration::MAX, |since| now.duration_since(since));
            return if gone_for >= rules.offline_grace { PresenceStatus::Offline } else { self.status };
        }
        if let Some(manual) = self.manual {
            return manual;
        }
        if now.duration_since(self.last_activity) >= rules.idle { PresenceStatus::Away } else { PresenceStatus::Online }
    }

    /// The next moment presence changes by time alone (idle → away, grace over → offline, a
    /// typing flag expiring); None when only a message can change it. The actor sleeps until then
    /// instead of re-deriving on a tick, so an idle agent costs nothing between heartbeats.
    pub fn next_change(&self, rules: &PresenceRules) -> Option<Timestamp> {
        let typing = self.typing.and_then(|(_, at)| at.checked_add(TYPING_TTL).ok());
        let status = if self.sockets.is_empty() {
            match (self.status, self.disconnected_at) {
                (PresenceStatus::Offline, _) | (_, None) => None,
                (_, Some(since)) => since.checked_add(rules.offline_grace).ok(),
            }
        } else if self.manual.is_none() && self.status != PresenceStatus::Away {
            self.last_activity.checked_add(rules.idle).ok()
        } else {
            None
        };
        [typing, status].into_iter().flatten().min()
    }

    /// Re-derives status and drops an expired typing flag; true if anything visible changed.
    pub fn refresh(&mut self, now: Timestamp, rules: &PresenceRules) -> bool {
        let mut changed = false;
        if self.typing.is_some_and(|(_, at)| now.duration_since(at) >= TYPING_TTL) {
            self.typing = None;
            changed = true;
        }
        let status = self.derive(now, rules);
        if status != self.status {
            self.status = status;
            self.since = now;
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + secs).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    const RULES: PresenceRules =
        PresenceRules { idle: SignedDuration::from_secs(60), offline_grace: SignedDuration::from_secs(10) };

    #[test]
    fn online_then_away_when_idle_then_offline_after_the_grace() {
        let mut state = AgentState::new(at(0));
        state.connect(1, at(0));
        assert!(state.refresh(at(0), &RULES));
        assert_eq!(state.status, PresenceStatus::Online);
        assert!(!state.refresh(at(59), &RULES));
        assert!(state.refresh(at(60), &RULES));
        assert_eq!((state.status, state.since), (PresenceStatus::Away, at(60)));
        state.last_activity = at(61);
        state.refresh(at(61), &RULES);
        assert_eq!(state.status, PresenceStatus::Online, "activity brings the agent back");
        state.disconnect(1, at(70));
        state.refresh(at(75), &RULES);
        assert_eq!(state.status, PresenceStatus::Online, "within the grace a reload does not flap");
        state.refresh(at(80), &RULES);
        assert_eq!(state.status, PresenceStatus::Offline);
    }

    #[test]
    fn the_next_change_is_when_time_alone_would_change_the_status() {
        let mut state = AgentState::new(at(0));
        state.connect(1, at(0));
        state.refresh(at(0), &RULES);
        assert_eq!(state.next_change(&RULES), Some(at(60)), "online: away once idle");
        state.last_activity = at(30);
        assert_eq!(state.next_change(&RULES), Some(at(90)), "activity moves it");
        state.typing = Some((7, at(40)));
        assert_eq!(state.next_change(&RULES), Some(at(48)), "a typing flag expires first");
        state.typing = None;
        state.refresh(at(90), &RULES);
        assert_eq!(state.status, PresenceStatus::Away);
        assert_eq!(state.next_change(&RULES), None, "away stays away until a message");
        state.manual = Some(PresenceStatus::Busy);
        state.refresh(at(91), &RULES);
        assert_eq!(state.next_change(&RULES), None, "a manual status does not time out");
        state.disconnect(1, at(100));
        assert_eq!(state.next_change(&RULES), Some(at(110)), "gone: offline after the grace");
        state.refresh(at(110), &RULES);
        assert_eq!(state.status, PresenceStatus::Offline);
        assert_eq!(state.next_change(&RULES), None);
    }

    #[test]
    fn a_manual_status_wins_while_connected_and_typing_expires() {
        let mut state = AgentState::new(at(0));
        state.connect(1, at(0));
        state.connect(2, at(0));
        state.manual = Some(PresenceStatus::Busy);
        state.typing = Some((7, at(0)));
        state.refresh(at(1), &RULES);
        assert_eq!(state.status, PresenceStatus::Busy);
        state.disconnect(1, at(2));
        assert_eq!(state.sockets.len(), 1, "one tab closed, the other keeps the agent here");
        assert!(state.refresh(at(9), &RULES));
        assert_eq!(state.typing, None);
    }
}
