//! The last events of each ticket followed on this node, kept from the changes delivered here, so
//! a replay that starts inside them (a reconnect storm after a node died: thousands of agents
//! asking for the same ticket's last few events) is served without the store (issue 16 item 7).
//!
//! A tail is always contiguous by seq: a duplicate (the same change from the broker) is ignored,
//! and a gap (a change this node never got) starts the tail again after it, so a replay served
//! from it can never skip an event.

use std::collections::VecDeque;

use switchboard_actors::domain::{Ticket, TicketEvent};

/// Events kept per followed ticket.
pub(super) const TAIL_EVENTS: usize = 64;

pub(super) struct TicketTail {
    /// The ticket as its newest delivered change left it.
    pub ticket: Ticket,
    events: VecDeque<TicketEvent>,
}

impl TicketTail {
    pub fn new(ticket: Ticket) -> TicketTail {
        TicketTail { ticket, events: VecDeque::new() }
    }

    /// Takes in one delivered change: the ticket after it and its events, in seq order.
    pub fn record(&mut self, ticket: &Ticket, events: &[TicketEvent]) {
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
        if ticket.seq >= self.ticket.seq {
            self.ticket = ticket.clone();
        }
    }

    /// Every event after `after` up to the newest, when the tail holds them all.
    pub fn after(&self, after: i64) -> Option<Vec<TicketEvent>> {
        let first = self.events.front()?.seq;
        let last = self.events.back()?.seq;
        if after + 1 < first || after > last {
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

    fn ticket(seq: i64) -> Ticket {
        Ticket { seq, ..super::super::wire_snapshots::ticket() }
    }

    fn seqs(events: Option<Vec<TicketEvent>>) -> Option<Vec<i64>> {
        events.map(|events| events.iter().map(|event| event.seq).collect())
    }

    #[test]
    fn a_replay_inside_the_tail_is_served_whole_and_one_outside_it_is_not() {
        let mut tail = TicketTail::new(ticket(0));
        tail.record(&ticket(3), &[event(1), event(2), event(3)]);
        tail.record(&ticket(3), &[event(3)]);
        assert_eq!(seqs(tail.after(1)), Some(vec![2, 3]), "a duplicate from the broker is kept once");
        assert_eq!(seqs(tail.after(0)), Some(vec![1, 2, 3]));
        assert_eq!(seqs(tail.after(3)), Some(vec![]), "at the head: nothing to replay");
        assert_eq!(tail.after(4), None, "ahead of what this node has seen");
        assert_eq!(tail.ticket.seq, 3);

        tail.record(&ticket(6), &[event(5), event(6)]);
        assert_eq!(seqs(tail.after(4)), Some(vec![5, 6]), "after a gap the tail starts again");
        assert_eq!(tail.after(3), None, "the missed event 4 is never skipped");
    }

    #[test]
    fn the_tail_keeps_the_newest_events_only() {
        let mut tail = TicketTail::new(ticket(0));
        let events: Vec<TicketEvent> = (1..=100).map(event).collect();
        tail.record(&ticket(100), &events);
        let first_kept = 100 - TAIL_EVENTS as i64 + 1;
        assert_eq!(seqs(tail.after(first_kept - 1)).map(|seqs| seqs.len()), Some(TAIL_EVENTS));
        assert_eq!(tail.after(first_kept - 2), None);
    }
}
