//! The last events of each ticket followed on this node, kept from the changes delivered here, so
//! a replay that starts inside them (a reconnect storm after a node died: thousands of agents
//! asking for the same ticket's last few events) is served without the store (issue 16 item 7).
//!
//! A replay is served from the tail only when the tail reaches the head the store gives (the
//! subscription reads the ticket anyway, to check access): a node can be behind the store.
//!
//! A tail is always contiguous by seq: a duplicate (the same change from the broker) is ignored,
//! and a gap (a change this node never got) starts the tail again after it, so a replay served
//! from it can never skip an event.

use std::collections::VecDeque;

use switchboard_actors::domain::TicketEvent;

/// Events kept per followed ticket.
pub(super) const TAIL_EVENTS: usize = 64;

#[derive(Default)]
pub(super) struct TicketTail {
    events: VecDeque<TicketEvent>,
}

impl TicketTail {
    /// Takes in one delivered change's events, in seq order.
    pub fn record(&mut self, events: &[TicketEvent]) {
        for event in events {
            match self.events.back() {
                Some(last) if event.seq <= last.seq => continue,
                Some(last) if event.seq != last.seq + 1 => self.events.clear(),
                _ => {}
            }
            if self.events.len() == TAIL_EVENTS {
                self.events.pop_front();
            }
            self.events.push_back(event.clone());
        }
    }

    /// Every event after `after`, when the tail holds them all up to the store's `head` at least
    /// (a tail behind the store, missing changes this node was never told of, answers `None`).
    pub fn after(&self, after: i64, head: i64) -> Option<Vec<TicketEvent>> {
        let first = self.events.front()?.seq;
        let last = self.events.back()?.seq;
        if after + 1 < first || after > last || last < head {
            return None;
        }
        Some(self.events.iter().filter(|event| event.seq > after).cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use switchboard_actors::domain::EventKind;

    use super::*;

    fn event(seq: i64) -> TicketEvent {
        TicketEvent {
            ticket_id: 1,
            account_id: 1,
            seq,
            actor_id: None,
            at: Timestamp::UNIX_EPOCH,
            kind: EventKind::SnoozeEnded,
        }
    }

    fn seqs(events: Option<Vec<TicketEvent>>) -> Option<Vec<i64>> {
        events.map(|events| events.iter().map(|event| event.seq).collect())
    }

    #[test]
    fn a_replay_inside_the_tail_is_served_whole_and_one_outside_it_is_not() {
        let mut tail = TicketTail::default();
        tail.record(&[event(1), event(2), event(3)]);
        tail.record(&[event(3)]);
        assert_eq!(seqs(tail.after(1, 3)), Some(vec![2, 3]), "a duplicate from the broker is kept once");
        assert_eq!(seqs(tail.after(0, 3)), Some(vec![1, 2, 3]));
        assert_eq!(seqs(tail.after(3, 3)), Some(vec![]), "at the head: nothing to replay");
        assert_eq!(tail.after(4, 4), None, "ahead of what this node has seen");
        assert_eq!(tail.after(1, 4), None, "behind the store's head: the store answers");

        tail.record(&[event(5), event(6)]);
        assert_eq!(seqs(tail.after(4, 6)), Some(vec![5, 6]), "after a gap the tail starts again");
        assert_eq!(tail.after(3, 6), None, "the missed event 4 is never skipped");
    }

    #[test]
    fn the_tail_keeps_the_newest_events_only() {
        let mut tail = TicketTail::default();
        let events: Vec<TicketEvent> = (1..=100).map(event).collect();
        tail.record(&events);
        let first_kept = 100 - TAIL_EVENTS as i64 + 1;
        assert_eq!(seqs(tail.after(first_kept - 1, 100)).map(|seqs| seqs.len()), Some(TAIL_EVENTS));
        assert_eq!(tail.after(first_kept - 2, 100), None);
    }
}
