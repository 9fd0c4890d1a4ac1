//! The cross-node broker: in-process by default, Redis pub/sub when `redis.url` is set. Channel
//! names come from [`channel`] only.

pub mod memory;
pub mod redis;

use std::sync::Arc;

use switchboard_actors::broker::{Broker, BrokerError};
use switchboard_actors::domain::AccountId;

/// What a channel carries. One channel per account and kind: exact names, no patterns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// Committed ticket changes.
    Changes,
    /// Agent presence reports.
    Presence,
}

/// The one place channel names are made: `<prefix>:<account>:<kind>`. The prefix separates
/// deployments (or test runs) sharing a Redis.
pub fn channel(prefix: &str, account: AccountId, kind: ChannelKind) -> String {
    let kind = match kind {
        ChannelKind::Changes => "changes",
        ChannelKind::Presence => "presence",
    };
    format!("{prefix}:{account}:{kind}")
}

/// The broker the configuration asks for.
pub async fn open(redis_url: &str) -> Result<Arc<dyn Broker>, BrokerError> {
    if redis_url.is_empty() {
        Ok(Arc::new(memory::MemoryBroker::new()))
    } else {
        Ok(Arc::new(redis::RedisBroker::connect(redis_url).await?))
    }
}
