//! TimersPort: durable timers and their claims.

use super::*;

pub async fn timers(store: &dyn Store) {
    let account = store.create_account("Timers").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@timers.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, customer.id, "Snooze me")).await;
    let until = now().saturating_add(SignedDuration::from_mins(5)).expect("time");
    let snoozed = apply(
        store,
        &config,
        &ticket,
        TicketCommand::Update(TicketPatch { snooze_until: Some(Some(until)), ..TicketPatch::default() }),
    )
    .await
    .expect("snooze");
    let horizon = until.saturating_add(SignedDuration::from_secs(1)).expect("time");
    let due = store.due_timers(horizon, 100).await.expect("timers");
    assert!(due.contains(&TimerEntry {
        owner: TimerOwner::new(switchboard_actors::ticket::TIMER_KIND, ticket.id),
        name: "snooze".into(),
        due_at: until
    }));
    assert!(
        !store
            .due_timers(until, 100)
            .await
            .expect("timers")
            .iter()
            .any(|entry| entry.owner == TimerOwner::new(switchboard_actors::ticket::TIMER_KIND, ticket.id))
    );
    apply(
        store,
        &config,
        &snoozed,
        TicketCommand::Update(TicketPatch { snooze_until: Some(None), ..TicketPatch::default() }),
    )
    .await
    .expect("unsnooze");
    assert!(
        !store
            .due_timers(horizon, 100)
            .await
            .expect("timers")
            .iter()
            .any(|entry| entry.owner == TimerOwner::new(switchboard_actors::ticket::TIMER_KIND, ticket.id))
    );
}

/// With several nodes each reads the same due timers; the one that claims a timer fires it.
pub async fn timer_claims(store: &dyn Store) {
    let owner = TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, 987_654);
    let due = now();
    let set = |due_at: Option<Timestamp>| TimerChange { owner: owner.clone(), name: "window_closed".into(), due_at };
    store.set_timer(&set(Some(due))).await.expect("set");
    let entry = TimerEntry { owner: owner.clone(), name: "window_closed".into(), due_at: due };
    let hold = |at: Timestamp| at.saturating_add(SignedDuration::from_secs(5)).expect("time");
    let (one, two) = tokio::join!(store.claim_timer(&entry, due, hold(due)), store.claim_timer(&entry, due, hold(due)));
    assert_eq!([one.expect("claim"), two.expect("claim")].iter().filter(|won| **won).count(), 1, "one node fires it");
    assert!(!store.claim_timer(&entry, due, hold(due)).await.expect("claim"), "held");
    assert!(store.claim_timer(&entry, hold(due), hold(hold(due))).await.expect("claim"), "a hold that ran out");

    // Re-armed: the old due time is not claimable, the new one is at once.
    let later = due.saturating_add(SignedDuration::from_mins(1)).expect("time");
    store.set_timer(&set(Some(later))).await.expect("re-arm");
    assert!(!store.claim_timer(&entry, due, hold(due)).await.expect("claim"), "the old due time");
    let rearmed = TimerEntry { due_at: later, ..entry.clone() };
    assert!(store.claim_timer(&rearmed, due, hold(due)).await.expect("claim"), "the new due time");

    // Handled (cleared): nothing to claim.
    store.set_timer(&set(None)).await.expect("clear");
    assert!(!store.claim_timer(&rearmed, hold(hold(due)), hold(hold(hold(due)))).await.expect("claim"));
}
