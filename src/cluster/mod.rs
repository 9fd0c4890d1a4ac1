//! The cluster link: what crosses the broker between nodes (changes, presence, liveness,
//! session ends), which accounts' channels this node listens to, and publishing without
//! waiting. A service of its own under live delivery: it knows the broker and the relay
//! messages, not sockets; live delivery decides what a message means for this node.

use std::sync::Arc;

use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use switchboard_actors::agent::AgentPresence;
use switchboard_actors::broker::{Broker, BrokerEvent};
use switchboard_actors::bus::TicketChange;
use switchboard_actors::domain::{AccountId, UserId};
use switchboard_actors::notifications::NotificationPush;
use tokio::sync::broadcast;

use crate::broker::{ChannelKind, channel};

/// What crosses the broker between nodes.
#[derive(Serialize, Deserialize)]
pub struct Relay {
    pub node: String,
    #[serde(flatten)]
    pub body: RelayBody,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RelayBody {
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
    /// Notifications stored by the sending node's notifier, for their users' sockets here.
    Notifications {
        pushes: Vec<NotificationPush>,
    },
    /// A user read notifications: their sockets here get the new unread count.
    NotificationsRead {
        user_id: UserId,
        unread: i64,
    },
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
    /// Whether the end covers a socket of `user` opened with the session `session` (hex).
    pub fn covers(&self, user: UserId, session: &str) -> bool {
        match self {
            SessionEnd::Session { session: ended } => ended == session,
            SessionEnd::User { user_id, except } => *user_id == user && except.as_deref() != Some(session),
        }
    }
}

pub struct Cluster {
    /// This node's name in relay messages.
    node: String,
    /// Broker channel prefix.
    prefix: String,
    broker: Arc<dyn Broker>,
    /// Accounts whose channels this node listens to.
    joined: DashMap<AccountId, ()>,
}

impl Cluster {
    pub fn new(node: String, prefix: String, broker: Arc<dyn Broker>) -> Cluster {
        Cluster { node, prefix, broker, joined: DashMap::new() }
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// What the broker delivers: messages, and the link going down or coming back.
    pub fn events(&self) -> broadcast::Receiver<BrokerEvent> {
        self.broker.events()
    }

    pub fn joined_accounts(&self) -> Vec<AccountId> {
        self.joined.iter().map(|entry| *entry.key()).collect()
    }

    /// Publishes to other nodes without waiting (at most once; seq catch-up repairs losses).
    pub fn publish(&self, body: RelayBody, account: AccountId, kind: ChannelKind) {
        if self.broker.alone() {
            // A single node: serializing every change only to decode and drop its echo was ~5 %
            // of the hub's CPU at full WhatsApp ingest (issue 16).
            return;
        }
        let relay = Relay { node: self.node.clone(), body };
        let Ok(payload) = serde_json::to_vec(&relay) else { return };
        let broker = self.broker.clone();
        let name = channel(&self.prefix, account, kind);
        tokio::spawn(async move {
            if let Err(error) = broker.publish(&name, payload).await {
                metrics::counter!("switchboard_broker_publish_failures_total").increment(1);
                tracing::debug!(%error, "broker publish failed");
            }
        });
    }

    /// Listens to the account's channels (once). True when this call joined it: the caller
    /// then asks the other nodes for what they already know.
    pub async fn join(&self, account: AccountId) -> bool {
        if self.joined.insert(account, ()).is_some() {
            return false;
        }
        for kind in [ChannelKind::Changes, ChannelKind::Presence] {
            if let Err(error) = self.broker.subscribe(&channel(&self.prefix, account, kind)).await {
                tracing::error!(account, %error, "cannot subscribe to the broker");
                self.joined.remove(&account);
            }
        }
        true
    }

    /// A message from another node; `None` for this node's own (the broker echoes them) and for
    /// anything unreadable.
    pub fn decode(&self, payload: &[u8]) -> Option<Relay> {
        match serde_json::from_slice::<Relay>(payload) {
            Ok(relay) if relay.node == self.node => None,
            Ok(relay) => Some(relay),
            Err(error) => {
                tracing::warn!(%error, "ignoring an unreadable broker message");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_end_covers_the_sockets_it_names() {
        let logout = SessionEnd::Session { session: "aa".to_owned() };
        assert!(logout.covers(1, "aa"));
        assert!(!logout.covers(1, "bb"));
        let deactivated = SessionEnd::User { user_id: 1, except: None };
        assert!(deactivated.covers(1, "aa") && deactivated.covers(1, "bb"));
        assert!(!deactivated.covers(2, "aa"));
        let password_changed = SessionEnd::User { user_id: 1, except: Some("aa".to_owned()) };
        assert!(!password_changed.covers(1, "aa"), "the session that changed it stays");
        assert!(password_changed.covers(1, "bb"));
    }

    #[tokio::test]
    async fn a_node_alone_on_its_in_process_broker_publishes_nothing() {
        use crate::broker::memory::{MemoryBroker, MemoryNetwork};
        let network = MemoryNetwork::default();
        let broker = Arc::new(MemoryBroker::join(&network));
        let cluster = Cluster::new("node-a".to_owned(), "sb".to_owned(), broker.clone());
        let mut heard = broker.events();
        assert!(cluster.join(7).await);
        let quiet = std::time::Duration::from_millis(200);
        cluster.publish(RelayBody::NodeAlive, 7, ChannelKind::Presence);
        assert!(broker.alone());
        assert!(tokio::time::timeout(quiet, heard.recv()).await.is_err(), "nobody else could hear it: not published");
        // A second node on the network: published (and echoed, as Redis does).
        let _other = MemoryBroker::join(&network);
        assert!(!broker.alone());
        cluster.publish(RelayBody::NodeAlive, 7, ChannelKind::Presence);
        let echoed = tokio::time::timeout(quiet, heard.recv()).await;
        assert!(matches!(echoed, Ok(Ok(BrokerEvent::Message { .. }))), "published for the other node");
    }

    #[tokio::test]
    async fn own_and_unreadable_messages_are_not_received() {
        let cluster =
            Cluster::new("node-a".to_owned(), "sb".to_owned(), Arc::new(crate::broker::memory::MemoryBroker::new()));
        let own = serde_json::to_vec(&Relay { node: "node-a".to_owned(), body: RelayBody::NodeAlive }).expect("json");
        assert!(cluster.decode(&own).is_none());
        let other = serde_json::to_vec(&Relay { node: "node-b".to_owned(), body: RelayBody::NodeAlive }).expect("json");
        assert_eq!(cluster.decode(&other).map(|relay| relay.node).as_deref(), Some("node-b"));
        assert!(cluster.decode(b"{not json").is_none());
        assert!(cluster.join(7).await, "first join");
        assert!(!cluster.join(7).await, "joined once");
        assert_eq!(cluster.joined_accounts(), [7]);
    }
}
