//! One suite for every `Broker`: the in-process network and the real Redis (which must be
//! reachable at `SWITCHBOARD_TEST_REDIS_URL`, default `redis://127.0.0.1:6379`).

use std::sync::Arc;
use std::time::Duration;

use switchboard::broker::memory::{MemoryBroker, MemoryNetwork};
use switchboard::broker::redis::RedisBroker;
use switchboard::broker::{ChannelKind, channel};
use switchboard_actors::broker::{Broker, BrokerEvent};
use tokio::sync::broadcast;

fn redis_url() -> String {
    std::env::var("SWITCHBOARD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A channel name no other test run uses.
fn fresh_channel() -> String {
    channel(&format!("test-{}", uuid::Uuid::now_v7().simple()), 1, ChannelKind::Changes)
}

async fn next_message(events: &mut broadcast::Receiver<BrokerEvent>, wait: Duration) -> Option<(String, Vec<u8>)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Ok(BrokerEvent::Message { channel, payload })) => return Some((channel.to_string(), payload.to_vec())),
            Ok(Ok(_)) => continue,
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

/// `a` and `b` are two nodes' brokers on one network.
async fn suite(a: Arc<dyn Broker>, b: Arc<dyn Broker>) {
    a.ping().await.expect("ping");
    let name = fresh_channel();
    let mut a_events = a.events();
    let mut b_events = b.events();
    b.subscribe(&name).await.expect("subscribe");
    a.subscribe(&name).await.expect("subscribe");
    // Redis confirms subscriptions asynchronously; publish until the first one lands.
    let mut delivered = None;
    for _ in 0..50 {
        a.publish(&name, b"hello".to_vec()).await.expect("publish");
        delivered = next_message(&mut b_events, Duration::from_millis(100)).await;
        if delivered.is_some() {
            break;
        }
    }
    assert_eq!(delivered, Some((name.clone(), b"hello".to_vec())), "another node receives what was published");
    assert!(
        next_message(&mut a_events, Duration::from_secs(2)).await.is_some(),
        "the publisher's own node receives it too"
    );
    while next_message(&mut b_events, Duration::from_millis(200)).await.is_some() {}
    while next_message(&mut a_events, Duration::from_millis(50)).await.is_some() {}

    for n in 0..100u32 {
        a.publish(&name, n.to_be_bytes().to_vec()).await.expect("publish");
    }
    let mut received = Vec::new();
    while received.len() < 100 {
        let (_, payload) = next_message(&mut b_events, Duration::from_secs(2)).await.expect("message");
        received.push(u32::from_be_bytes(payload.try_into().expect("4 bytes")));
    }
    assert_eq!(received, (0..100).collect::<Vec<_>>(), "one publisher's messages arrive in order");

    let other = fresh_channel();
    a.publish(&other, b"elsewhere".to_vec()).await.expect("publish");
    b.unsubscribe(&name).await.expect("unsubscribe");
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.publish(&name, b"after".to_vec()).await.expect("publish");
    assert_eq!(
        next_message(&mut b_events, Duration::from_millis(500)).await,
        None,
        "nothing after unsubscribing, nothing from other channels"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_broker_conforms() {
    let network = MemoryNetwork::default();
    suite(Arc::new(MemoryBroker::join(&network)), Arc::new(MemoryBroker::join(&network))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_broker_conforms() {
    let url = redis_url();
    let a = RedisBroker::connect(&url).await.unwrap_or_else(|error| panic!("Redis at {url} is required: {error}"));
    let b = RedisBroker::connect(&url).await.expect("second connection");
    suite(Arc::new(a), Arc::new(b)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_redis_link_is_reported_restored_and_resubscribed() {
    let url = redis_url();
    let node = RedisBroker::connect(&url).await.unwrap_or_else(|error| panic!("Redis at {url} is required: {error}"));
    let other = RedisBroker::connect(&url).await.expect("publisher");
    let name = fresh_channel();
    let mut events = node.events();
    node.subscribe(&name).await.expect("subscribe");

    let id = node.connection_id().await.expect("client id");
    let killer = redis::Client::open(url.as_str()).expect("client");
    let mut admin = killer.get_multiplexed_async_connection().await.expect("admin connection");
    let _: i64 =
        redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(&mut admin).await.expect("kill the link");

    let mut saw_down = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await.expect("link events in time").expect("open") {
            BrokerEvent::LinkDown => saw_down = true,
            BrokerEvent::LinkRestored => break,
            BrokerEvent::Message { .. } => {}
        }
    }
    assert!(saw_down, "the drop was reported before the restore");
    let mut delivered = None;
    for _ in 0..50 {
        other.publish(&name, b"after the drop".to_vec()).await.expect("publish");
        delivered = next_message(&mut events, Duration::from_millis(100)).await;
        if delivered.is_some() {
            break;
        }
    }
    assert_eq!(
        delivered.map(|(_, payload)| payload),
        Some(b"after the drop".to_vec()),
        "subscriptions came back with the link"
    );
}
