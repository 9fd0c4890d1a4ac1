//! The in-process broker: a single node talks to itself. Several instances can share one
//! [`MemoryNetwork`] to stand in for nodes in tests; delivery is then exactly like Redis pub/sub
//! (every subscriber, the publisher included).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use switchboard_actors::broker::{Broker, BrokerError, BrokerEvent};
use tokio::sync::broadcast;

/// Messages a node may fall behind by before it sees a lag (treated as a link restore).
const EVENTS_CAPACITY: usize = 65_536;

struct Member {
    channels: Mutex<HashSet<String>>,
    events: broadcast::Sender<BrokerEvent>,
}

/// Brokers that see each other's messages.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    members: Arc<Mutex<Vec<Arc<Member>>>>,
}

pub struct MemoryBroker {
    network: MemoryNetwork,
    me: Arc<Member>,
}

impl Default for MemoryBroker {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryBroker {
    /// A broker alone on its own network.
    pub fn new() -> MemoryBroker {
        MemoryBroker::join(&MemoryNetwork::default())
    }

    pub fn join(network: &MemoryNetwork) -> MemoryBroker {
        let me =
            Arc::new(Member { channels: Mutex::new(HashSet::new()), events: broadcast::channel(EVENTS_CAPACITY).0 });
        lock(&network.members).push(me.clone());
        MemoryBroker { network: network.clone(), me }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[async_trait]
impl Broker for MemoryBroker {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BrokerError> {
        let channel: Arc<str> = channel.into();
        let payload: Arc<[u8]> = payload.into();
        for member in lock(&self.network.members).iter() {
            if lock(&member.channels).contains(&*channel) {
                let _ = member.events.send(BrokerEvent::Message { channel: channel.clone(), payload: payload.clone() });
            }
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        lock(&self.me.channels).insert(channel.to_owned());
        Ok(())
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError> {
        lock(&self.me.channels).remove(channel);
        Ok(())
    }

    fn events(&self) -> broadcast::Receiver<BrokerEvent> {
        self.me.events.subscribe()
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        Ok(())
    }

    fn alone(&self) -> bool {
        lock(&self.network.members).len() == 1
    }
}
