//! TicketsPort: group-committed ticket writes, the fencing by seq, reads and lists.

use switchboard_actors::query::filter::Test;

use super::*;

pub async fn tickets_events_and_fencing(store: &dyn Store) {
    let account = store.create_account("Tickets").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@tickets.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let first = create(store, &config, draft(account.id, customer.id, "First")).await;
    let second = create(store, &config, draft(account.id, customer.id, "Second")).await;
    assert_eq!((first.number, second.number), (1, 2), "numbers run per account");
    assert_eq!(first.seq, 2, "created + the first message");

    let stored = store.ticket(first.id).await.expect("read").expect("exists");
    assert_eq!(stored, first, "the stored row is the actor's state");
    let events = store.ticket_events(first.id, 0, 100).await.expect("events");
    assert_eq!(events.iter().map(|event| event.seq).collect::<Vec<_>>(), vec![1, 2]);
    assert!(matches!(&events[0].kind, EventKind::Created { number: 1, .. }));
    let messages = store.ticket_messages(first.id).await.expect("messages");
    assert_eq!((messages.len(), messages[0].seq, messages[0].ticket_id), (1, 2, first.id));

    let reply = message(MessageKind::Reply, "On it");
    let replied = apply(store, &config, &first, reply).await.expect("reply");
    assert_eq!(replied.seq, 4, "message + status new→open");
    let tagged = apply(
        store,
        &config,
        &replied,
        TicketCommand::Update(TicketPatch {
            add_tags: vec!["vip".into()],
            urgency: Some(Level::Critical),
            ..TicketPatch::default()
        }),
    )
    .await
    .expect("tag");
    assert_eq!(store.ticket(first.id).await.expect("read").expect("exists"), tagged);
    assert_eq!(store.ticket_events(first.id, 2, 100).await.expect("events").len(), 4);
    assert_eq!(store.ticket_messages(first.id).await.expect("messages").len(), 2);

    // Fencing: a stale writer appending the same seq again fails and writes nothing.
    let stale = apply(
        store,
        &config,
        &replied,
        TicketCommand::Update(TicketPatch { subject: Some("Hijack".into()), ..TicketPatch::default() }),
    )
    .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "duplicate seq must be refused: {stale:?}");
    let after = store.ticket(first.id).await.expect("read").expect("exists");
    assert_eq!(after, tagged, "the refused commit changed nothing");
    let seqs: Vec<i64> =
        store.ticket_events(first.id, 0, 100).await.expect("events").iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=tagged.seq).collect::<Vec<_>>(), "no gap, no duplicate");
}

/// Writes that meet in one group-committed batch: many tickets updated together, one ticket
/// twice (its latest state wins), and a write for a missing ticket failing alone.
pub async fn batched_ticket_writes(store: &dyn Store) {
    let account = store.create_account("Batches").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@batches.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let mut tickets = Vec::new();
    for n in 0..20 {
        tickets.push(create(store, &config, draft(account.id, customer.id, &format!("Batch {n}"))).await);
    }
    let results = futures_util::future::join_all(tickets.iter().map(|ticket| {
        let subject = format!("{} renamed", ticket.subject);
        let command = TicketCommand::Update(TicketPatch { subject: Some(subject), ..TicketPatch::default() });
        apply(store, &config, ticket, command)
    }))
    .await;
    for (ticket, result) in tickets.iter().zip(results) {
        let renamed = result.expect("renamed");
        assert_eq!(store.ticket(ticket.id).await.expect("read"), Some(renamed));
    }

    // Two commits of one ticket side by side: seq 3 then seq 4 (the second built on the first).
    let base = store.ticket(tickets[0].id).await.expect("read").expect("exists");
    let context = CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None };
    let mut first = base.clone();
    let patch =
        |subject: &str| TicketCommand::Update(TicketPatch { subject: Some(subject.into()), ..TicketPatch::default() });
    let events = first.append(first.decide(&patch("Once"), &context, now()).expect("valid").events, None, now());
    let mut second = first.clone();
    let more = second.append(second.decide(&patch("Twice"), &context, now()).expect("valid").events, None, now());
    let commit = |ticket: &Ticket, events: Vec<TicketEvent>| TicketCommit {
        ticket: ticket.clone(),
        messages: messages_of(&events),
        events,
        timers: Vec::new(),
    };
    let (one, two) = tokio::join!(store.commit(commit(&first, events)), store.commit(commit(&second, more)));
    one.expect("first commit");
    two.expect("second commit");
    assert_eq!(store.ticket(base.id).await.expect("read"), Some(second.clone()), "the latest state is stored");
    let seqs: Vec<i64> =
        store.ticket_events(base.id, 0, 100).await.expect("events").iter().map(|event| event.seq).collect();
    assert_eq!(seqs, (1..=second.seq).collect::<Vec<_>>());

    // A commit for a ticket that does not exist fails alone; its neighbour lands.
    let mut ghost = tickets[1].clone();
    ghost.id = i64::MAX - 7;
    let ghost_events = ghost.append(ghost.decide(&patch("Ghost"), &context, now()).expect("valid").events, None, now());
    let neighbour = store.ticket(tickets[2].id).await.expect("read").expect("exists");
    let mut next = neighbour.clone();
    let next_events =
        next.append(next.decide(&patch("Neighbour"), &context, now()).expect("valid").events, None, now());
    let (lost, landed) =
        tokio::join!(store.commit(commit(&ghost, ghost_events)), store.commit(commit(&next, next_events)));
    assert!(lost.is_err(), "a missing ticket cannot be written: {lost:?}");
    landed.expect("the neighbour's commit");
    assert_eq!(store.ticket(neighbour.id).await.expect("read"), Some(next));
}

/// An event that changes a message written in the same commit reaches the message's row: a
/// reply and its `sent` together (the writers once applied it before inserting the message).
pub async fn a_message_and_its_delivery_in_one_commit(store: &dyn Store) {
    let account = store.create_account("Sent at once").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@sent-at-once.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, customer.id, "Sent at once")).await;
    let context = CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None };
    let mut next = ticket.clone();
    let reply = message(MessageKind::Reply, "Sent with its delivery");
    let mut events = next.append(next.decide(&reply, &context, now()).expect("valid").events, None, now());
    let message_id = events
        .iter()
        .find_map(|event| match &event.kind {
            EventKind::MessageAdded { message, .. } => Some(message.id.clone()),
            _ => None,
        })
        .expect("a message");
    let sent = TicketCommand::RecordDelivery {
        message_id: message_id.clone(),
        status: DeliveryStatus::Sent,
        provider_id: Some("provider-sent-at-once".into()),
        error: None,
    };
    events.extend(next.append(next.decide(&sent, &context, now()).expect("valid").events, None, now()));
    store
        .commit(TicketCommit { ticket: next.clone(), messages: messages_of(&events), events, timers: Vec::new() })
        .await
        .expect("commit");
    let messages = store.ticket_messages(ticket.id).await.expect("messages");
    let stored = messages.iter().find(|message| message.id == message_id).expect("the reply is stored");
    assert_eq!(stored.delivery_status, Some(DeliveryStatus::Sent), "the delivery in its commit reached the row");
    assert_eq!(stored.provider_id.as_deref(), Some("provider-sent-at-once"));
}

pub async fn listing_filters_and_pages(store: &dyn Store) {
    let account = store.create_account("Lists").await.expect("account");
    let alice = store.create_user(new_user(account.id, "alice@lists.example", Role::Customer)).await.expect("user");
    let bob = store.create_user(new_user(account.id, "bob@lists.example", Role::Customer)).await.expect("user");
    let agent = store.create_user(new_user(account.id, "agent@lists.example", Role::Agent)).await.expect("user");
    let policy = SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![
            SlaTarget {
                priority: Priority::Urgent,
                first_response_minutes: Some(30),
                resolution_minutes: None,
                window_minutes: None,
            },
            SlaTarget {
                priority: Priority::Medium,
                first_response_minutes: Some(120),
                resolution_minutes: None,
                window_minutes: None,
            },
        ],
        business_hours: None,
    };
    store.set_sla_policy(account.id, &policy).await.expect("policy");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let mut created = Vec::new();
    for n in 0..7 {
        let requester = if n % 2 == 0 { alice.id } else { bob.id };
        let mut draft = draft(account.id, requester, &format!("Printer {n} jammed"));
        if n == 3 {
            draft.subject = "Refund request".into();
            draft.body = Some("Please refund the 100% markup".into());
            draft.tags = vec!["billing".into()];
            draft.urgency = Level::Critical;
            draft.importance = Level::Critical;
            draft.assignee_id = Some(agent.id);
        }
        if n == 5 {
            // Low priority has no SLA target: it sorts after every ticket with one.
            draft.urgency = Level::Low;
            draft.importance = Level::Low;
        }
        created.push(create(store, &config, draft).await);
    }
    let query = |configure: &dyn Fn(&mut TicketQuery)| {
        let mut query = TicketQuery::new(account.id);
        configure(&mut query);
        query
    };
    let ids = |tickets: Vec<Ticket>| tickets.into_iter().map(|ticket| ticket.number).collect::<BTreeSet<_>>();
    assert_eq!(store.list_tickets(&query(&|_| {})).await.expect("all").len(), 7);
    assert_eq!(
        ids(store.list_tickets(&query(&|q| q.scope = TicketScope::Requester(bob.id))).await.expect("bob")),
        BTreeSet::from([2, 4, 6])
    );
    assert_eq!(
        ids(store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Tag(vec![Some("billing".into())]));
            }))
            .await
            .expect("tag")),
        BTreeSet::from([4])
    );
    assert_eq!(
        ids(store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Priority(vec![Priority::Urgent]));
            }))
            .await
            .expect("prio")),
        BTreeSet::from([4])
    );
    assert_eq!(
        ids(store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Assignee(vec![Some(agent.id)]));
            }))
            .await
            .expect("mine")),
        BTreeSet::from([4])
    );
    assert_eq!(
        store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Assignee(vec![None]));
            }))
            .await
            .expect("none")
            .len(),
        6
    );
    assert_eq!(
        store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Status { keys: vec!["open".into()], categories: vec![] });
            }))
            .await
            .expect("open")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_tickets(&query(&|q| {
                q.filter.and(Test::Status { keys: vec![], categories: vec![StatusCategory::New] });
            }))
            .await
            .expect("new")
            .len(),
        6
    );
    assert_eq!(
        ids(store.list_tickets(&query(&|q| q.filter.words = vec!["100%".into()])).await.expect("text")),
        BTreeSet::from([4]),
        "LIKE wildcards are escaped"
    );
    assert_eq!(
        store
            .list_tickets(&query(&|q| q.filter.words = vec!["printer".into(), "JAMMED".into()]))
            .await
            .expect("words")
            .len(),
        6
    );
    let top = store.list_tickets(&query(&|q| q.sort = TicketSort::PriorityDesc)).await.expect("sorted");
    assert_eq!(top[0].number, 4);
    let urgent = &created[3];
    assert!(urgent.sla.is_some(), "the urgent ticket has SLA clocks");
    assert_eq!(store.ticket(urgent.id).await.expect("read").as_ref(), Some(urgent), "SLA state round-trips");
    let by_due: Vec<i64> = store
        .list_tickets(&query(&|q| q.sort = TicketSort::SlaDueAsc))
        .await
        .expect("sla sort")
        .iter()
        .map(|ticket| ticket.number)
        .collect();
    assert_eq!(by_due, [4, 1, 2, 3, 5, 7, 6], "soonest due first (30 min, then 2 h by creation), no SLA last");
    let risk_at = |minutes: i64| now().saturating_add(SignedDuration::from_mins(minutes)).expect("time");
    assert!(store.sla_risk(account.id, now()).await.expect("risk").is_empty(), "nothing at risk yet");
    assert_eq!(
        store.sla_risk(account.id, risk_at(25)).await.expect("risk"),
        [SlaRisk { assignee_id: agent.id, breached: 0, at_risk: 1 }],
        "past 80 % of 30 minutes"
    );
    assert_eq!(
        store.sla_risk(account.id, risk_at(31)).await.expect("risk"),
        [SlaRisk { assignee_id: agent.id, breached: 1, at_risk: 0 }]
    );

    for sort in [
        TicketSort::UpdatedDesc,
        TicketSort::UpdatedAsc,
        TicketSort::CreatedDesc,
        TicketSort::CreatedAsc,
        TicketSort::PriorityDesc,
        TicketSort::SlaDueAsc,
    ] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .list_tickets(&query(&|q| {
                    q.sort = sort;
                    q.after = after;
                    q.limit = 3;
                }))
                .await
                .expect("page");
            let Some(last) = page.last() else { break };
            after = Some((sort.key(last), last.id));
            seen.extend(page.iter().map(|ticket| ticket.number));
        }
        assert_eq!(seen.len(), 7, "{sort:?} pages cover every ticket once: {seen:?}");
        assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 7);
    }
    let other = store.create_account("Elsewhere").await.expect("account");
    assert!(store.list_tickets(&TicketQuery::new(other.id)).await.expect("empty").is_empty());
    let _ = created;
}

pub async fn concurrent_creates_get_unique_numbers(store: &dyn Store) {
    let account = store.create_account("Concurrent").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@concurrent.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let creates = (0..50).map(|n| create(store, &config, draft(account.id, customer.id, &format!("Parallel {n}"))));
    let tickets = futures_util::future::join_all(creates).await;
    let numbers: BTreeSet<i64> = tickets.iter().map(|ticket| ticket.number).collect();
    assert_eq!(numbers, (1..=50).collect(), "group-committed creates get unique, gap-free numbers");
}

/// Reply drafts: one per author and ticket, replaced whole, removed with `None`, never read
/// from another account.
pub async fn reply_drafts(store: &dyn Store) {
    let account = store.create_account("Drafts").await.expect("account");
    let config = store.account_config(account.id).await.expect("config");
    let customer =
        store.create_user(new_user(account.id, "draft-customer@example.com", Role::Customer)).await.expect("customer");
    let agent = store.create_user(new_user(account.id, "draft-agent@example.com", Role::Agent)).await.expect("agent");
    let other_agent =
        store.create_user(new_user(account.id, "draft-agent2@example.com", Role::Agent)).await.expect("agent");
    let ticket = create(store, &config, draft(account.id, customer.id, "Drafted")).await;
    assert_eq!(store.reply_draft(account.id, agent.id, ticket.id).await.expect("none yet"), None);

    let mut kept = ReplyDraft {
        ticket_id: ticket.id,
        body: "Refund approved".to_owned(),
        channel: Some(Channel::Email),
        internal: true,
        updated_at: now(),
    };
    store.set_reply_draft(account.id, agent.id, ticket.id, Some(&kept)).await.expect("keep");
    assert_eq!(store.reply_draft(account.id, agent.id, ticket.id).await.expect("read"), Some(kept.clone()));
    kept.body = "Refund approved, label attached".to_owned();
    kept.channel = None;
    kept.internal = false;
    store.set_reply_draft(account.id, agent.id, ticket.id, Some(&kept)).await.expect("replace");
    assert_eq!(store.reply_draft(account.id, agent.id, ticket.id).await.expect("read"), Some(kept.clone()));
    assert_eq!(store.reply_draft(account.id, other_agent.id, ticket.id).await.expect("another author"), None);
    let other = store.create_account("Other drafts").await.expect("account");
    assert_eq!(store.reply_draft(other.id, agent.id, ticket.id).await.expect("another account"), None);

    store.set_reply_draft(account.id, agent.id, ticket.id, None).await.expect("remove");
    assert_eq!(store.reply_draft(account.id, agent.id, ticket.id).await.expect("removed"), None);
    store.set_reply_draft(account.id, agent.id, ticket.id, None).await.expect("removing none is fine");
}

/// Tickets by their per-account number (an email subject's `[#123]`).
pub async fn tickets_by_number(store: &dyn Store) {
    let account = store.create_account("Mail").await.expect("account");
    let config = store.account_config(account.id).await.expect("config");
    let customer =
        store.create_user(new_user(account.id, "mail-customer@example.com", Role::Customer)).await.expect("customer");

    let mut email_draft = draft(account.id, customer.id, "Mail ticket");
    email_draft.channel = Channel::Email;
    let ticket = create(store, &config, email_draft).await;
    let found = store.ticket_by_number(account.id, ticket.number).await.expect("by number").expect("found");
    assert_eq!(found.id, ticket.id);
    assert_eq!(store.ticket_by_number(account.id, ticket.number + 100).await.expect("by number"), None);
    let other = store.create_account("Other mail").await.expect("account");
    assert_eq!(store.ticket_by_number(other.id, ticket.number).await.expect("other account"), None);

    // Several by id in one read: the ones that exist, each once, as `ticket` reads them.
    let second = create(store, &config, draft(account.id, customer.id, "Second mail")).await;
    let mut many = store.tickets(&[second.id, ticket.id, ticket.id + 100_000, second.id]).await.expect("by ids");
    many.sort_by_key(|found| found.id);
    let one_by_one = vec![
        store.ticket(ticket.id).await.expect("read").expect("first"),
        store.ticket(second.id).await.expect("read").expect("second"),
    ];
    assert_eq!(many, one_by_one);
    assert!(store.tickets(&[]).await.expect("none asked").is_empty());
    let ids: Vec<TicketId> = (0..1_200).map(|n| ticket.id + 1_000_000 + n).chain([second.id]).collect();
    assert_eq!(store.tickets(&ids).await.expect("more ids than one statement binds").len(), 1);
}

/// A provider id (a wamid, an email's Message-ID) finds its message only in the account asked.
pub async fn messages_by_provider(store: &dyn Store) {
    let account = store.create_account("Provider ids").await.expect("account");
    let other = store.create_account("Provider ids elsewhere").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@provider.example", Role::Customer)).await.expect("customer");
    let config = store.account_config(account.id).await.expect("config");
    let mut inbound = draft(account.id, customer.id, "From WhatsApp");
    inbound.first_provider_id = Some("wamid.conformance-1".into());
    let ticket = create(store, &config, inbound).await;
    let found = store.message_by_provider(account.id, "wamid.conformance-1").await.expect("read").expect("found");
    assert_eq!((found.ticket_id, found.provider_id.as_deref()), (ticket.id, Some("wamid.conformance-1")));
    assert_eq!(store.message_by_provider(other.id, "wamid.conformance-1").await.expect("read"), None);
    assert_eq!(store.message_by_provider(account.id, "wamid.unknown").await.expect("read"), None);
}
