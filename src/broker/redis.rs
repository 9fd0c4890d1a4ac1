//! The Redis broker: one multiplexed `ConnectionManager` (RESP3) publishes and subscribes; pushed
//! messages arrive through its push channel. The manager reconnects and re-subscribes by itself;
//! this module watches the link so the node can catch up after a drop.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands as _, PushInfo, PushKind, Value};
use switchboard_actors::broker::{Broker, BrokerError, BrokerEvent};
use tokio::sync::{broadcast, mpsc};

/// Messages a node may fall behind by before it sees a lag (treated as a link restore).
const EVENTS_CAPACITY: usize = 65_536;
/// Longest wait between attempts to bring a dropped link back.
const MAX_RECONNECT_BACKOFF: Duration = Duration::from_secs(2);

pub struct RedisBroker {
    manager: ConnectionManager,
    events: broadcast::Sender<BrokerEvent>,
}

fn unavailable(error: redis::RedisError) -> BrokerError {
    BrokerError::Unavailable(error.to_string())
}

/// Pub/sub over a multiplexed connection needs RESP3.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl RedisBroker {
    pub async fn connect(url: &str) -> Result<RedisBroker, BrokerError> {
        let client = redis::Client::open(with_resp3(url)).map_err(unavailable)?;
        let (push_sender, push_receiver) = mpsc::unbounded_channel();
        let config = ConnectionManagerConfig::new()
            .set_push_sender(push_sender)
            .set_automatic_resubscription()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)));
        let manager = client.get_connection_manager_with_config(config).await.map_err(unavailable)?;
        let events = broadcast::channel(EVENTS_CAPACITY).0;
        tokio::spawn(pump(push_receiver, events.clone(), manager.clone()));
        Ok(RedisBroker { manager, events })
    }

    /// This connection's id on the server (tests kill it to simulate a dropped link).
    #[cfg(any(test, feature = "test-hooks"))]
    pub async fn connection_id(&self) -> Result<i64, BrokerError> {
        redis::cmd("CLIENT").arg("ID").query_async(&mut self.manager.clone()).await.map_err(unavailable)
    }
}

/// Turns pushed messages into broker events and watches the link.
async fn pump(
    mut pushes: mpsc::UnboundedReceiver<PushInfo>,
    events: broadcast::Sender<BrokerEvent>,
    manager: ConnectionManager,
) {
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message => {
                if let [channel, payload] = push.data.as_slice()
                    && let (Some(channel), Some(payload)) = (bytes(channel), bytes(payload))
                {
                    metrics::counter!("switchboard_broker_received_total").increment(1);
                    let channel: Arc<str> = String::from_utf8_lossy(channel).into();
                    let _ = events.send(BrokerEvent::Message { channel, payload: payload.into() });
                }
            }
            PushKind::Disconnection => {
                metrics::counter!("switchboard_broker_link_drops_total").increment(1);
                tracing::warn!("Redis link dropped; reconnecting");
                let _ = events.send(BrokerEvent::LinkDown);
                // The manager reconnects (and re-subscribes) on the next command: keep asking.
                let mut backoff = Duration::from_millis(50);
                let mut manager = manager.clone();
                loop {
                    tokio::time::sleep(backoff).await;
                    if redis::cmd("PING").query_async::<String>(&mut manager).await.is_ok() {
                        break;
                    }
                    backoff = (backoff * 2).min(MAX_RECONNECT_BACKOFF);
                }
                tracing::info!("Redis link restored");
                let _ = events.send(BrokerEvent::LinkRestored);
            }
            _ => {}
        }
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

#[async_trait]
impl Broker for RedisBroker {
    async fn publish(&self, channel: &str, payload: Vec<u8>) -> Result<(), BrokerError> {
        metrics::counter!("switchboard_broker_published_total").increment(1);
        self.manager.clone().publish::<_, _, ()>(channel, payload).await.map_err(unavailable)
    }

    async fn subscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.manager.clone().subscribe(channel).await.map_err(unavailable)
    }

    async fn unsubscribe(&self, channel: &str) -> Result<(), BrokerError> {
        self.manager.clone().unsubscribe(channel).await.map_err(unavailable)
    }

    fn events(&self) -> broadcast::Receiver<BrokerEvent> {
        self.events.subscribe()
    }

    async fn ping(&self) -> Result<(), BrokerError> {
        redis::cmd("PING").query_async::<String>(&mut self.manager.clone()).await.map(|_| ()).map_err(unavailable)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn resp3_is_requested_once() {
        assert_eq!(super::with_resp3("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379?protocol=resp3");
        assert_eq!(super::with_resp3("redis://h:1/2"), "redis://h:1/2?protocol=resp3");
        assert_eq!(super::with_resp3("redis://h:1/?protocol=resp3"), "redis://h:1/?protocol=resp3");
    }
}
