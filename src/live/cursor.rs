//! A `ticket:<id>` subscription's cursor as pure rules: which events go out now, which are
//! duplicates, which wait (parked) until the ones before them were read from the store, and when
//! the subscription is live again. The hub holds each cursor under its subscription's lock and
//! does the I/O around these answers (sending frames, reading the store, spawning catch-ups);
//! nothing here touches a socket or the store, so exactly-once in-order delivery is tested
//! without either.

use std::collections::BTreeMap;

use switchboard_actors::domain::TicketEvent;

/// Where one ticket subscription stands.
pub(super) struct Cursor {
    /// The last seq delivered.
    pub(super) seq: i64,
    /// A replay or gap fill is running; live events wait in `pending`.
    catching_up: bool,
    pending: BTreeMap<i64, TicketEvent>,
}

/// What became of a live event offered to a cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offer {
    /// The next seq: send it now (the cursor has moved to it).
    Deliver,
    /// Already delivered (the bus and the broker both bring every change on a node): drop it.
    Duplicate,
    /// A replay or gap fill is running: parked until it is through.
    Parked,
    /// Beyond the next seq (a lost broker message): parked, and the cursor is now catching up;
    /// the caller reads the gap from the store.
    Gap,
}

/// Where a catch-up stands after one page from the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Advance {
    /// Nothing missing: the subscription is live again.
    Live,
    /// The page was full, or parked events are still ahead: read the next page.
    More,
    /// The store showed nothing new but parked events are ahead of it (their commit is not
    /// readable yet): look again shortly.
    Waiting,
}

impl Cursor {
    /// A new subscription's cursor at `seq`, catching up from there (live events park until the
    /// replay is through).
    pub(super) fn replaying_from(seq: i64) -> Cursor {
        Cursor { seq, catching_up: true, pending: BTreeMap::new() }
    }

    /// A live event arrives.
    pub(super) fn offer(&mut self, event: &TicketEvent) -> Offer {
        if self.catching_up {
            self.pending.insert(event.seq, event.clone());
            Offer::Parked
        } else if event.seq == self.seq + 1 {
            self.seq = event.seq;
            Offer::Deliver
        } else if event.seq > self.seq + 1 {
            self.catching_up = true;
            self.pending.insert(event.seq, event.clone());
            Offer::Gap
        } else {
            Offer::Duplicate
        }
    }

    /// One page of `events` read from the store after [`seq`](Self::seq) (at most `page_size`):
    /// `deliver` is called, in seq order and once each, for those that follow on, then for the
    /// parked events that follow on from them; parked events already delivered are dropped.
    /// Live again when the page was not full and nothing is left parked.
    pub(super) fn advance(
        &mut self,
        events: &[TicketEvent],
        page_size: usize,
        mut deliver: impl FnMut(&TicketEvent),
    ) -> Advance {
        for event in events {
            if event.seq == self.seq + 1 {
                self.seq = event.seq;
                deliver(event);
            }
        }
        while let Some(event) = self.pending.remove(&(self.seq + 1)) {
            self.seq = event.seq;
            deliver(&event);
        }
        let delivered = self.seq;
        self.pending.retain(|seq, _| *seq > delivered);
        if events.len() < page_size && self.pending.is_empty() {
            self.catching_up = false;
            Advance::Live
        } else if events.is_empty() {
            Advance::Waiting
        } else {
            Advance::More
        }
    }

    /// Everything may have been missed (a broker link drop, a lagging bus): catch up from the
    /// store. `true` when the caller must start the catch-up; one already running covers it.
    pub(super) fn start_catch_up(&mut self) -> bool {
        !std::mem::replace(&mut self.catching_up, true)
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use switchboard_actors::domain::EventKind;

    use super::*;

    fn event(seq: i64) -> TicketEvent {
        TicketEvent {
            ticket_id: 41,
            account_id: 7,
            seq,
            at: Timestamp::UNIX_EPOCH,
            actor_id: None,
            kind: EventKind::SnoozeEnded,
        }
    }

    fn events(seqs: impl IntoIterator<Item = i64>) -> Vec<TicketEvent> {
        seqs.into_iter().map(event).collect()
    }

    /// A cursor at `seq` that is live (its replay is through).
    fn live_at(seq: i64) -> Cursor {
        let mut cursor = Cursor::replaying_from(seq);
        assert_eq!(cursor.advance(&[], 500, |_| {}), Advance::Live);
        cursor
    }

    /// Runs one catch-up page; the seqs delivered and the outcome.
    fn page(cursor: &mut Cursor, seqs: impl IntoIterator<Item = i64>, page_size: usize) -> (Vec<i64>, Advance) {
        let mut delivered = Vec::new();
        let advance = cursor.advance(&events(seqs), page_size, |event| delivered.push(event.seq));
        (delivered, advance)
    }

    #[test]
    fn live_events_in_order_are_delivered_and_duplicates_dropped() {
        let mut cursor = live_at(3);
        assert!(!cursor.catching_up);
        assert_eq!(cursor.offer(&event(4)), Offer::Deliver);
        assert_eq!(cursor.seq, 4);
        assert_eq!(cursor.offer(&event(4)), Offer::Duplicate, "the same event from the broker");
        assert_eq!(cursor.offer(&event(2)), Offer::Duplicate, "an old one");
        assert_eq!(cursor.offer(&event(5)), Offer::Deliver);
        assert_eq!(cursor.seq, 5);
        assert!(!cursor.catching_up);
        assert!(cursor.pending.is_empty(), "duplicates are not kept");
    }

    #[test]
    fn a_gap_parks_later_events_until_the_store_fills_it() {
        let mut cursor = live_at(3);
        // 4 and 5 were lost on the broker; 6 arrives.
        assert_eq!(cursor.offer(&event(6)), Offer::Gap);
        assert!(cursor.catching_up);
        assert_eq!(cursor.seq, 3, "nothing after the gap is delivered");
        // More arrive while the gap is read: parked, whatever their seq.
        assert_eq!(cursor.offer(&event(8)), Offer::Parked);
        assert_eq!(cursor.offer(&event(7)), Offer::Parked);
        assert_eq!(cursor.offer(&event(6)), Offer::Parked, "a duplicate of a parked one");
        assert_eq!(cursor.offer(&event(3)), Offer::Parked, "an old one, dropped on the drain");
        // The store has 4..=6 by now: delivered, then the parked 7 and 8, each once, in order.
        assert_eq!(page(&mut cursor, 4..=6, 500), (vec![4, 5, 6, 7, 8], Advance::Live));
        assert_eq!(cursor.seq, 8);
        assert!(!cursor.catching_up);
        assert!(cursor.pending.is_empty());
        assert_eq!(cursor.offer(&event(9)), Offer::Deliver);
        assert_eq!(cursor.offer(&event(8)), Offer::Duplicate);
    }

    #[test]
    fn parked_events_ahead_of_the_store_wait_for_it() {
        let mut cursor = live_at(3);
        assert_eq!(cursor.offer(&event(5)), Offer::Gap);
        // The store does not show 4 yet (its commit is not readable here yet).
        assert_eq!(page(&mut cursor, [], 500), (vec![], Advance::Waiting));
        assert!(cursor.catching_up);
        assert_eq!(cursor.seq, 3);
        // Next look: 4 and 5; 5 was parked too and goes out once.
        assert_eq!(page(&mut cursor, 4..=5, 500), (vec![4, 5], Advance::Live));
        assert!(cursor.pending.is_empty());
    }

    #[test]
    fn replay_then_live_without_loss_or_duplication() {
        // Subscribed after seq 2 while the ticket is at 6; 7 and 8 commit during the replay.
        let mut cursor = Cursor::replaying_from(2);
        assert!(cursor.catching_up);
        assert_eq!(cursor.offer(&event(7)), Offer::Parked);
        // The replay reads 3..=7 (7 committed before the read), then the parked 8 follows.
        assert_eq!(cursor.offer(&event(8)), Offer::Parked);
        assert_eq!(page(&mut cursor, 3..=7, 500), (vec![3, 4, 5, 6, 7, 8], Advance::Live));
        assert_eq!(cursor.seq, 8);
        // Live from here: the relayed copy of 8 is a duplicate, 9 goes out.
        assert_eq!(cursor.offer(&event(8)), Offer::Duplicate);
        assert_eq!(cursor.offer(&event(9)), Offer::Deliver);
        assert_eq!(cursor.seq, 9);
    }

    #[test]
    fn a_replay_longer_than_a_page_reads_on() {
        let mut cursor = Cursor::replaying_from(0);
        assert_eq!(cursor.offer(&event(6)), Offer::Parked);
        // Pages of three: a full page means there may be more.
        assert_eq!(page(&mut cursor, 1..=3, 3), (vec![1, 2, 3], Advance::More));
        assert!(cursor.catching_up);
        assert_eq!(cursor.offer(&event(7)), Offer::Parked);
        assert_eq!(page(&mut cursor, 4..=6, 3), (vec![4, 5, 6, 7], Advance::More));
        assert!(cursor.catching_up, "a full page is read on even with nothing parked");
        assert_eq!(page(&mut cursor, [], 3), (vec![], Advance::Live));
        assert!(!cursor.catching_up);
        assert_eq!(cursor.seq, 7);
    }

    #[test]
    fn a_page_that_overlaps_what_was_delivered_sends_nothing_twice() {
        let mut cursor = Cursor::replaying_from(4);
        // A page that starts before the cursor (or skips ahead) only delivers what follows on.
        assert_eq!(page(&mut cursor, [3, 4, 5, 7], 500), (vec![5], Advance::Live));
        assert_eq!(cursor.seq, 5);
        assert_eq!(cursor.offer(&event(6)), Offer::Deliver);
    }

    #[test]
    fn an_empty_replay_goes_live_at_once() {
        let mut cursor = Cursor::replaying_from(6);
        assert_eq!(page(&mut cursor, [], 500), (vec![], Advance::Live));
        assert!(!cursor.catching_up);
        assert_eq!(cursor.offer(&event(7)), Offer::Deliver);
    }

    #[test]
    fn catching_up_everything_starts_once_and_parks_live_events() {
        let mut cursor = live_at(3);
        assert!(cursor.start_catch_up(), "a live cursor starts a catch-up");
        assert!(cursor.catching_up);
        assert!(!cursor.start_catch_up(), "the running one covers a second resync");
        assert_eq!(cursor.offer(&event(4)), Offer::Parked, "even the next seq waits for the catch-up");
        assert_eq!(page(&mut cursor, 4..=4, 500), (vec![4], Advance::Live));
        assert!(!cursor.catching_up);
        assert!(cursor.start_catch_up(), "live again: the next resync starts one");

        let mut replaying = Cursor::replaying_from(0);
        assert!(!replaying.start_catch_up(), "a replay already running covers it");
    }
}
