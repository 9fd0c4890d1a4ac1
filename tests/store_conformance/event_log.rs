//! EventLogPort: every committed ticket event at a position in commit order, across tickets and
//! accounts, with no gap, never reused, read by tailers from a position they remember.

use super::*;

fn rename(subject: &str) -> TicketCommand {
    TicketCommand::Update(TicketPatch { subject: Some(subject.into()), ..TicketPatch::default() })
}

/// `(ticket, seq)` of each event, in the order given.
fn ticket_seqs(events: &[LoggedEvent]) -> Vec<(TicketId, i64)> {
    events.iter().map(|logged| (logged.event.ticket_id, logged.event.seq)).collect()
}

/// Reads the whole log after `after`, `page` events at a time.
async fn read_in_pages(store: &dyn Store, mut after: i64, page: i64) -> Vec<LoggedEvent> {
    let mut all = Vec::new();
    loop {
        let events = store.events_after(after, page).await.expect("events after");
        assert!(events.len() as i64 <= page, "a page holds at most `limit` events");
        let Some(last) = events.last() else { return all };
        after = last.position;
        all.extend(events);
    }
}

/// Commits one after another across two accounts and several tickets get consecutive positions
/// in exactly that order; a refused commit gives its positions back; `events_after` pages.
pub async fn positions_follow_commit_order(store: &dyn Store) {
    let start = store.last_event_position().await.expect("last position");
    let ours = store.create_account("Log A").await.expect("account");
    let theirs = store.create_account("Log B").await.expect("account");
    let customer = store.create_user(new_user(ours.id, "c@log-a.example", Role::Customer)).await.expect("user");
    let other = store.create_user(new_user(theirs.id, "c@log-b.example", Role::Customer)).await.expect("user");
    let our_config = Arc::new(store.account_config(ours.id).await.expect("config"));
    let their_config = Arc::new(store.account_config(theirs.id).await.expect("config"));

    let mut expected = Vec::new();
    let first = create(store, &our_config, draft(ours.id, customer.id, "Log one")).await;
    expected.extend([(first.id, 1), (first.id, 2)]);
    let second = create(store, &their_config, draft(theirs.id, other.id, "Log two")).await;
    expected.extend([(second.id, 1), (second.id, 2)]);
    let first = apply(store, &our_config, &first, rename("Log one, renamed")).await.expect("rename");
    expected.push((first.id, 3));
    let second = apply(store, &their_config, &second, rename("Log two, renamed")).await.expect("rename");
    expected.push((second.id, 3));

    // A stale writer's commit is refused, and its positions are handed out again, not skipped.
    let stale = apply(store, &our_config, &create_stale(&first), rename("Hijack")).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let third = create(store, &our_config, draft(ours.id, customer.id, "Log three")).await;
    expected.extend([(third.id, 1), (third.id, 2)]);
    apply(store, &our_config, &first, rename("Log one, again")).await.expect("rename");
    expected.push((first.id, 4));

    let logged = store.events_after(start, 100).await.expect("events after");
    assert_eq!(ticket_seqs(&logged), expected, "commit order, across tickets and accounts");
    let positions: Vec<i64> = logged.iter().map(|logged| logged.position).collect();
    let consecutive: Vec<i64> = (start + 1..=start + expected.len() as i64).collect();
    assert_eq!(positions, consecutive, "consecutive from the last position before, no gap");
    assert_eq!(store.last_event_position().await.expect("last"), start + expected.len() as i64);
    let stored = store.ticket_events(first.id, 0, 100).await.expect("ticket events");
    let logged_first: Vec<TicketEvent> =
        logged.iter().filter(|logged| logged.event.ticket_id == first.id).map(|logged| logged.event.clone()).collect();
    assert_eq!(logged_first, stored, "the log holds the events as the ticket's own log does");

    for page in [1, 2, 3, 7] {
        assert_eq!(read_in_pages(store, start, page).await, logged, "pages of {page}");
    }
    let middle = logged[4].position;
    assert_eq!(store.events_after(middle, 2).await.expect("page"), logged[5..7].to_vec(), "from any position");
    assert!(store.events_after(start + expected.len() as i64, 10).await.expect("page").is_empty(), "nothing after");
}

/// The ticket as a writer that missed the last commit holds it (seq one behind).
fn create_stale(ticket: &Ticket) -> Ticket {
    Ticket { seq: ticket.seq - 1, ..ticket.clone() }
}

/// Writers on many tickets in two accounts commit at once (in several concurrent transactions
/// on PostgreSQL) while a reader tails the log: the reader must see every event exactly once, in
/// position order, and never a gap — a gap it stepped over would be an event committed later
/// with a smaller position, which it would never read.
pub async fn tailing_reader_sees_every_event_once(store: &dyn Store) {
    const TICKETS: usize = 12;
    const COMMITS: usize = 30;
    let start = store.last_event_position().await.expect("last position");
    let mut tickets = Vec::new();
    let mut configs = Vec::new();
    for name in ["Tail A", "Tail B"] {
        let account = store.create_account(name).await.expect("account");
        let customer = store
            .create_user(new_user(account.id, &format!("{name}@tail.example"), Role::Customer))
            .await
            .expect("user");
        configs.push((account.id, customer.id, Arc::new(store.account_config(account.id).await.expect("config"))));
    }
    for n in 0..TICKETS {
        let (account, customer, config) = &configs[n % 2];
        tickets.push((create(store, config, draft(*account, *customer, &format!("Tail {n}"))).await, config.clone()));
    }
    let created = store.last_event_position().await.expect("last position");
    assert_eq!(created, start + 2 * TICKETS as i64, "two events a new ticket");

    let done = std::sync::atomic::AtomicBool::new(false);
    let writers = futures_util::future::join_all(tickets.iter().map(|(ticket, config)| async move {
        let mut ticket = ticket.clone();
        for n in 0..COMMITS {
            ticket = apply(store, config, &ticket, rename(&format!("{} #{n}", ticket.id))).await.expect("commit");
        }
    }));
    let tailer = async {
        let mut seen: Vec<LoggedEvent> = Vec::new();
        let mut cursor = created;
        loop {
            // Read whether the writers finished before the page: a page after that holds the rest.
            let finished = done.load(std::sync::atomic::Ordering::SeqCst);
            let page = store.events_after(cursor, 17).await.expect("tail");
            for logged in &page {
                assert_eq!(logged.position, cursor + 1, "no gap: every position in turn, once");
                cursor = logged.position;
            }
            seen.extend(page);
            if finished && cursor == store.last_event_position().await.expect("last") {
                return seen;
            }
            tokio::task::yield_now().await;
        }
    };
    let writing = async {
        writers.await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
    };
    let ((), seen) = tokio::join!(writing, tailer);

    assert_eq!(seen.len(), TICKETS * COMMITS, "every commit's event, once");
    let distinct: BTreeSet<(TicketId, i64)> = ticket_seqs(&seen).into_iter().collect();
    assert_eq!(distinct.len(), seen.len(), "no event twice");
    for (ticket, _) in &tickets {
        let seqs: Vec<i64> =
            seen.iter().filter(|logged| logged.event.ticket_id == ticket.id).map(|logged| logged.event.seq).collect();
        assert_eq!(seqs, (3..3 + COMMITS as i64).collect::<Vec<_>>(), "a ticket's events in its own order");
    }
    assert_eq!(read_in_pages(store, created, 50).await, seen, "the tail is the log as stored");
}
