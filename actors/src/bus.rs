//! The in-process event bus: every committed ticket change is published here, after the write,
//! for whatever listens on this node (the WebSocket hub, which also relays it to other nodes).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::domain::{Ticket, TicketEvent};

/// How many changes a slow subscriber may fall behind before it is told it lagged (it then
/// catches up from the store by seq, so a lag loses nothing).
const BUS_CAPACITY: usize = 65_536;

/// One committed command: the events it appended, in seq order, and the ticket after them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketChange {
    pub ticket: Ticket,
    pub events: Vec<TicketEvent>,
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<TicketChange>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { sender: broadcast::channel(BUS_CAPACITY).0 }
    }
}

impl EventBus {
    pub fn publish(&self, change: TicketChange) {
        // No subscriber is fine: the change is already durable.
        let _ = self.sender.send(Arc::new(change));
    }
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TicketChange>> {
        self.sender.subscribe()
    }
}
