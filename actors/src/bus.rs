//! The in-process event bus: every committed ticket event is published here, after the write,
//! for whatever listens on this node (WebSocket fan-out, metrics, automation).

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::domain::TicketEvent;

/// How many events a slow subscriber may fall behind before it is told it lagged (it then
/// resumes from the store by seq, so a lag loses nothing).
const BUS_CAPACITY: usize = 65_536;

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<TicketEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { sender: broadcast::channel(BUS_CAPACITY).0 }
    }
}

impl EventBus {
    pub fn publish(&self, event: TicketEvent) {
        // No subscriber is fine: the event is already durable.
        let _ = self.sender.send(Arc::new(event));
    }
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TicketEvent>> {
        self.sender.subscribe()
    }
}
