//! The cross-node link: nodes publish ticket changes and presence to named channels and receive
//! what other nodes published. Implementations: in-process (one node) and Redis pub/sub.
//!
//! **Guarantee: at most once.** A message published while a node's link is down never reaches
//! that node. The product recovers through sequence numbers: when the link returns,
//! [`BrokerEvent::LinkRestored`] tells the node to bring every ticket subscription up to date
//! from the store by seq, so a user never misses an event.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::broadcast;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker unavailable: {0}")]
    Unavailable(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BrokerEvent {
    Message {
        channel: Arc<str>,
        payload: Arc<[u8]>,
    },
    /// The link dropped; messages may be lost until [`BrokerEvent::LinkRestored`].
    LinkDown,
    /// The link is back and every channel is subscribed again: catch up from the store.
    LinkRestored,
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    /// Delivers `payload` to every subscriber of `channel` on every node, this one included.
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BrokerError>;
    /// Starts receiving `channel` (an exact name; never a pattern).
    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError>;
    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError>;
    /// Everything arriving on subscribed channels, and changes of the link.
    fn events(&self) -> broadcast::Receiver<BrokerEvent>;
    /// Cheap round trip, for readiness probes.
    async fn ping(&self) -> Result<(), BrokerError>;
    /// True when no other node can hear this broker (the in-process one, alone): what is
    /// published for other nodes would only come back to this one, to be decoded and dropped.
    fn alone(&self) -> bool {
        false
    }
}
