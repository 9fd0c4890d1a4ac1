//! GdprPort and `TicketsPort::rewrite_ticket_content`: data protection (migration 0036).

use switchboard_actors::gdpr::{
    CustomerErasure, ERASED, RequestKind, RequestStatus, RetentionPolicy, erase_event, erase_message, erase_ticket,
};
use switchboard_actors::query::filter::TicketFilter;

use super::*;

fn listed_ids(tickets: Vec<Ticket>) -> Vec<TicketId> {
    tickets.iter().map(|ticket| ticket.id).collect()
}

/// A ticket's erased copy replaces its subject, events and messages (and leaves search); a
/// customer's erasure empties their profile and addresses and refuses staff; closed tickets
/// are archived (out of lists unless asked, still readable) and deleted past their time;
/// requests are decided once.
pub async fn erasure_retention_and_requests(store: &dyn Store) {
    let account = store.create_account("Protected").await.expect("account");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let customer = store
        .create_customer(
            NewUser::customer(account.id, "wendy@protected.example".into(), "Wendy Protected".into(), None),
            Channel::Email,
            &["wendy@protected.example"],
        )
        .await
        .expect("customer");
    let agent = store.create_user(new_user(account.id, "agent@protected.example", Role::Agent)).await.expect("agent");
    let mut first = draft(account.id, customer.id, "Quokkas in my parcel");
    first.body = Some("the quokkas ate the receipt".into());
    let ticket = create(store, &config, first).await;
    let other = create(store, &config, draft(account.id, agent.id, "Staff ticket")).await;
    assert_eq!(store.customer_ticket_ids(account.id, customer.id).await.expect("ids"), vec![ticket.id]);

    // The erased copy, as the ticket's actor writes it.
    let search = |word: &str| {
        let mut query = TicketQuery::new(account.id);
        query.filter = TicketFilter { words: vec![word.into()], ..TicketFilter::default() };
        query
    };
    assert_eq!(listed_ids(store.list_tickets(&search("quokkas")).await.expect("search")), vec![ticket.id]);
    let mut events = store.ticket_events(ticket.id, 0, 100).await.expect("events");
    let mut messages = store.ticket_messages(ticket.id).await.expect("messages");
    let mut erased = store.ticket(ticket.id).await.expect("read").expect("ticket");
    erase_ticket(&mut erased);
    events.iter_mut().for_each(|event| erase_event(&mut event.kind));
    messages.iter_mut().for_each(erase_message);
    store.rewrite_ticket_content(&erased, &events, &messages).await.expect("rewrite");
    let read = store.ticket(ticket.id).await.expect("read").expect("ticket");
    assert_eq!((read.subject.as_str(), read.seq), (ERASED, ticket.seq));
    assert!(store.ticket_messages(ticket.id).await.expect("messages").iter().all(|message| message.body == ERASED));
    let stored = store.ticket_events(ticket.id, 0, 100).await.expect("events");
    assert_eq!(stored.len(), events.len(), "the log keeps every event");
    assert!(!format!("{stored:?}").contains("quokka"), "{stored:?}");
    assert!(store.list_tickets(&search("quokkas")).await.expect("search").is_empty());

    // The customer's erasure; staff are not customers.
    let erasure = CustomerErasure {
        account_id: account.id,
        customer_id: customer.id,
        tickets: vec![ticket.id],
        needles: vec!["wendy@protected.example".into(), "Wendy Protected".into()],
        texts: Vec::new(),
    };
    assert_eq!(store.erase_customer(&erasure, &[]).await.expect("erase"), Vec::<String>::new());
    let profile = store.user(account.id, customer.id).await.expect("read").expect("profile");
    assert_eq!((profile.name.as_str(), profile.active, profile.phone), (ERASED, false, None));
    assert!(!profile.email.contains("wendy"), "{}", profile.email);
    assert!(store.contacts(account.id, customer.id).await.expect("contacts").is_empty());
    let staff = CustomerErasure { customer_id: agent.id, ..erasure.clone() };
    assert!(matches!(store.erase_customer(&staff, &[]).await, Err(StoreError::NotFound)));
    let elsewhere = CustomerErasure { account_id: store.create_account("Else").await.expect("account").id, ..erasure };
    assert!(matches!(store.erase_customer(&elsewhere, &[]).await, Err(StoreError::NotFound)));

    // Retention: the policy, the accounts that have one, archiving and deleting closed tickets.
    assert_eq!(store.retention_policy(account.id).await.expect("policy"), RetentionPolicy::default());
    assert!(!store.retention_account_ids().await.expect("accounts").contains(&account.id));
    let policy = RetentionPolicy { archive_after_days: Some(30), delete_after_days: Some(90) };
    store.set_retention_policy(account.id, &policy).await.expect("set");
    assert_eq!(store.retention_policy(account.id).await.expect("policy"), policy);
    assert!(store.retention_account_ids().await.expect("accounts").contains(&account.id));
    let close = TicketCommand::Update(TicketPatch { status: Some("closed".into()), ..TicketPatch::default() });
    let closed = apply(store, &config, &ticket_now(store, ticket.id).await, close).await.expect("close");
    let closed_at = closed.closed_at.expect("closed_at");
    let later = closed_at.saturating_add(SignedDuration::from_secs(1)).expect("later");
    assert_eq!(store.archive_closed_tickets(account.id, closed_at, later).await.expect("archive"), 0, "not before");
    assert_eq!(store.archive_closed_tickets(account.id, later, later).await.expect("archive"), 1);
    assert_eq!(store.archive_closed_tickets(account.id, later, later).await.expect("archive"), 0, "once");
    assert_eq!(store.ticket_archived_at(ticket.id).await.expect("archived"), Some(later));
    assert_eq!(store.ticket_archived_at(other.id).await.expect("archived"), None);
    let mut all = TicketQuery::new(account.id);
    assert_eq!(listed_ids(store.list_tickets(&all).await.expect("list")), vec![other.id]);
    all.include_archived = true;
    assert_eq!(sorted_ids(store.list_tickets(&all).await.expect("list")), vec![ticket.id, other.id]);
    assert!(store.ticket(ticket.id).await.expect("read").is_some(), "readable by id");
    let (deleted, files) = store.delete_closed_tickets(account.id, later).await.expect("delete");
    assert_eq!((deleted, files), (1, Vec::new()));
    assert!(store.ticket(ticket.id).await.expect("read").is_none());
    assert!(store.ticket_events(ticket.id, 0, 10).await.expect("events").is_empty());
    assert!(store.ticket(other.id).await.expect("read").is_some());

    // Requests: per customer, newest first, decided once.
    let asked = store.create_data_request(account.id, customer.id, RequestKind::Export, now()).await.expect("ask");
    assert_eq!(asked.status, RequestStatus::Pending);
    let erase = store.create_data_request(account.id, customer.id, RequestKind::Erase, now()).await.expect("ask");
    let listed: Vec<i64> = store.data_requests(account.id, None).await.expect("list").iter().map(|r| r.id).collect();
    assert_eq!(listed, vec![erase.id, asked.id]);
    assert!(store.data_requests(account.id, Some(agent.id)).await.expect("list").is_empty());
    assert!(
        store
            .decide_data_request(account.id, asked.id, RequestStatus::Approved, agent.id, now())
            .await
            .expect("decide")
    );
    assert!(
        !store
            .decide_data_request(account.id, asked.id, RequestStatus::Declined, agent.id, now())
            .await
            .expect("again")
    );
    let decided = store.data_request(account.id, asked.id).await.expect("read").expect("request");
    assert_eq!((decided.status, decided.decided_by), (RequestStatus::Approved, Some(agent.id)));
    assert!(store.data_request(account.id + 1, asked.id).await.expect("read").is_none(), "per account");
}

async fn ticket_now(store: &dyn Store, id: TicketId) -> Ticket {
    store.ticket(id).await.expect("read").expect("ticket")
}

fn sorted_ids(tickets: Vec<Ticket>) -> Vec<TicketId> {
    let mut ids = listed_ids(tickets);
    ids.sort_unstable();
    ids
}
