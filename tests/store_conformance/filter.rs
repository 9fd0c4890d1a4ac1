//! The query language's filter in the store: every test, with OR, negation over empty columns,
//! dates, custom fields, full text and `has:`, gives the same tickets on both backends and — for
//! the tests that need no messages — the same answer as `TicketFilter::matches` in memory (what
//! live views decide with).

use switchboard_actors::query::filter::{Condition, Test, TicketFilter};
use switchboard_actors::query::{HasThing, InstantRange, SlaCondition, WaitingOn};

use super::*;

pub async fn query_filters(store: &dyn Store) {
    let account = store.create_account("Filters").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@filters.example", Role::Customer)).await.expect("c");
    let other = store.create_user(new_user(account.id, "d@filters.example", Role::Customer)).await.expect("d");
    let agent = store.create_user(new_user(account.id, "a@filters.example", Role::Agent)).await.expect("agent");
    let team = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Tier 1".into(),
            description: String::new(),
            member_ids: vec![],
        })
        .await
        .expect("team");
    let company = store
        .create_company(NewCompany {
            account_id: account.id,
            name: "Acme Corp".into(),
            members_see_company_tickets: false,
            members_write_company_tickets: false,
            domains: Vec::new(),
            sla_tier: None,
        })
        .await
        .expect("company");
    for (key, field_type) in [("order", FieldType::Text), ("rush", FieldType::Boolean), ("amount", FieldType::Number)] {
        let field = CustomFieldDef {
            key: key.into(),
            label: key.into(),
            field_type,
            options: Vec::new(),
            customer_visible: false,
        };
        store.upsert_custom_field(account.id, &field).await.expect("custom field");
    }
    let billing = store.create_category(account.id, None, "Billing").await.expect("category");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));

    // #1: critical × critical on WhatsApp, everything set, answered (waits on the customer).
    let mut first = draft(account.id, customer.id, "Printer on fire");
    first.urgency = Level::Critical;
    first.importance = Level::Critical;
    first.tags = vec!["vip".into(), "hardware".into()];
    first.ticket_type = Some("incident".into());
    first.custom_fields =
        CustomFields::from([("order".into(), "A-1".into()), ("rush".into(), true.into()), ("amount".into(), 3.into())]);
    first.channel = Channel::Whatsapp;
    first.team_id = Some(team.id);
    first.assignee_id = Some(agent.id);
    first.company_id = Some(company.id);
    first.category_id = Some(billing.id);
    let first = create(store, &config, first).await;
    apply(store, &config, &first, message(MessageKind::Reply, "We are on it")).await.expect("reply");
    // #2: low by email, nothing set, with a private note and a file (waits on the agent).
    let mut second = draft(account.id, other.id, "Invoice question");
    second.urgency = Level::Low;
    second.importance = Level::Low;
    second.tags = Vec::new();
    second.channel = Channel::Email;
    second.first_attachments = vec![
        serde_json::from_value(serde_json::json!({
            "file_name": "invoice.pdf", "content_type": "application/pdf", "size": 10, "url": "/files/1"
        }))
        .expect("attachment"),
    ];
    let second = create(store, &config, second).await;
    apply(store, &config, &second, message(MessageKind::Note, "the secret handshake")).await.expect("note");
    // #3: resolved, a question, `rush` off and a fractional amount.
    let mut third = draft(account.id, customer.id, "Password reset");
    third.ticket_type = Some("question".into());
    third.custom_fields = CustomFields::from([("rush".into(), false.into()), ("amount".into(), 3.5.into())]);
    let third = create(store, &config, third).await;
    apply(
        store,
        &config,
        &third,
        TicketCommand::Update(TicketPatch { status: Some("resolved".into()), ..TicketPatch::default() }),
    )
    .await
    .expect("resolve");

    let tickets: Vec<Ticket> = {
        let mut query = TicketQuery::new(account.id);
        query.sort = TicketSort::CreatedAsc;
        store.list_tickets(&query).await.expect("all")
    };
    assert_eq!(tickets.len(), 3);
    let hour = |hours: i64| now().saturating_add(SignedDuration::from_hours(hours)).expect("time");
    let cases: Vec<(&str, TicketFilter, Vec<i64>)> = vec![
        (
            "status category",
            cond(false, Test::Status { keys: vec![], categories: vec![StatusCategory::Resolved] }),
            vec![3],
        ),
        (
            "status key or category",
            cond(false, Test::Status { keys: vec!["resolved".into()], categories: vec![StatusCategory::Open] }),
            vec![1, 3],
        ),
        ("-status", cond(true, Test::Status { keys: vec!["resolved".into()], categories: vec![] }), vec![1, 2]),
        ("urgency OR", cond(false, Test::Urgency(vec![Level::Critical, Level::Low])), vec![1, 2]),
        ("importance", cond(false, Test::Importance(vec![Level::Critical])), vec![1]),
        ("priority", cond(false, Test::Priority(vec![Priority::Urgent])), vec![1]),
        ("assignee", cond(false, Test::Assignee(vec![Some(agent.id)])), vec![1]),
        ("assignee none", cond(false, Test::Assignee(vec![None])), vec![2, 3]),
        ("-assignee keeps unassigned", cond(true, Test::Assignee(vec![Some(agent.id)])), vec![2, 3]),
        ("team", cond(false, Test::Team(vec![Some(team.id)])), vec![1]),
        ("-team keeps no team", cond(true, Test::Team(vec![Some(team.id)])), vec![2, 3]),
        ("team or none", cond(false, Test::Team(vec![Some(team.id), None])), vec![1, 2, 3]),
        ("requester", cond(false, Test::Requester(vec![other.id])), vec![2]),
        ("company", cond(false, Test::Company(vec![Some(company.id)])), vec![1]),
        ("company none", cond(false, Test::Company(vec![None])), vec![2, 3]),
        ("category", cond(false, Test::Category(vec![Some(billing.id)])), vec![1]),
        ("channel OR", cond(false, Test::Channel(vec![Channel::Whatsapp, Channel::Email])), vec![1, 2]),
        ("tag", cond(false, Test::Tag(vec![Some("vip".into())])), vec![1]),
        ("tag none", cond(false, Test::Tag(vec![None])), vec![2]),
        ("-tag", cond(true, Test::Tag(vec![Some("alpha".into())])), vec![1, 2]),
        ("type", cond(false, Test::Type(vec![Some("incident".into()), Some("question".into())])), vec![1, 3]),
        ("type none", cond(false, Test::Type(vec![None])), vec![2]),
        (
            "created in range",
            cond(false, Test::Created(vec![InstantRange { start: Some(hour(-1)), end: Some(hour(1)) }])),
            vec![1, 2, 3],
        ),
        ("created before", cond(false, Test::Created(vec![InstantRange { start: None, end: Some(hour(-1)) }])), vec![]),
        (
            "updated since",
            cond(false, Test::Updated(vec![InstantRange { start: Some(hour(-1)), end: None }])),
            vec![1, 2, 3],
        ),
        (
            "resolved in range",
            cond(false, Test::Resolved(vec![Some(InstantRange { start: Some(hour(-1)), end: None })])),
            vec![3],
        ),
        ("resolved none", cond(false, Test::Resolved(vec![None])), vec![1, 2]),
        ("waiting agent", cond(false, Test::Waiting(vec![WaitingOn::Agent])), vec![2, 3]),
        ("waiting customer", cond(false, Test::Waiting(vec![WaitingOn::Customer])), vec![1]),
        (
            "sla breached later",
            cond(false, Test::Sla { conditions: vec![SlaCondition::Breached], now: hour(1000) }),
            vec![],
        ),
        ("custom text", custom("order", FieldType::Text, vec![Some("a-1".into())]), vec![1]),
        ("custom bool true", custom("rush", FieldType::Boolean, vec![Some("true".into())]), vec![1]),
        ("custom bool false", custom("rush", FieldType::Boolean, vec![Some("false".into())]), vec![3]),
        ("custom number", custom("amount", FieldType::Number, vec![Some("3".into())]), vec![1]),
        ("custom fraction", custom("amount", FieldType::Number, vec![Some("3.5".into())]), vec![3]),
        ("custom none", custom("order", FieldType::Text, vec![None]), vec![2, 3]),
        ("ids", cond(false, Test::Ids(vec![second.id, third.id])), vec![2, 3]),
        ("always false", cond(false, Test::Always(false)), vec![]),
        ("has attachment", cond(false, Test::Has(vec![HasThing::Attachment])), vec![2]),
        ("has note", cond(false, Test::Has(vec![HasThing::Note])), vec![2]),
        ("word in a message", TicketFilter { words: vec!["handshake".into()], ..TicketFilter::default() }, vec![2]),
        ("phrase in order", TicketFilter { phrases: vec!["on fire".into()], ..TicketFilter::default() }, vec![1]),
        ("phrase out of order", TicketFilter { phrases: vec!["fire on".into()], ..TicketFilter::default() }, vec![]),
        ("a word's prefix", TicketFilter { words: vec!["print".into()], ..TicketFilter::default() }, vec![1]),
        ("not a word's middle", TicketFilter { words: vec!["rinter".into()], ..TicketFilter::default() }, vec![]),
        (
            "every word, anywhere",
            TicketFilter { words: vec!["WE".into(), "fire".into()], ..TicketFilter::default() },
            vec![1],
        ),
        (
            "punctuation is a separator",
            TicketFilter { words: vec!["(handshake)".into()], ..TicketFilter::default() },
            vec![2],
        ),
        ("a word with no letters", TicketFilter { words: vec!["%".into()], ..TicketFilter::default() }, vec![]),
    ];
    for (name, filter, expected) in cases {
        let mut query = TicketQuery::new(account.id);
        query.filter = filter.clone();
        let found: BTreeSet<i64> =
            store.list_tickets(&query).await.expect(name).iter().map(|ticket| ticket.number).collect();
        assert_eq!(found, expected.iter().copied().collect(), "{name}");
        if filter.matches(&tickets[0]).is_some() {
            let in_memory: BTreeSet<i64> = tickets
                .iter()
                .filter(|ticket| filter.matches(ticket) == Some(true))
                .map(|ticket| ticket.number)
                .collect();
            assert_eq!(in_memory, found, "{name}: memory and store agree");
        }
    }

    // Relevance: a subject holding the terms comes before newer tickets that only mention them,
    // and keyed pages cover every match once.
    let titled = create(store, &config, draft(account.id, customer.id, "Refund for order 77")).await;
    let mut mentioned = draft(account.id, customer.id, "A question");
    mentioned.body = Some("about my refund for that order".into());
    let mentioned = create(store, &config, mentioned).await;
    apply(store, &config, &mentioned, message(MessageKind::Reply, "checking")).await.expect("newer activity");
    let mut query = TicketQuery::new(account.id);
    query.sort = TicketSort::Relevance;
    query.filter.words = vec!["refund".into(), "order".into()];
    let ranked: Vec<i64> = store.list_tickets(&query).await.expect("ranked").iter().map(|ticket| ticket.id).collect();
    assert_eq!(ranked, [titled.id, mentioned.id], "the subject match first, though older");
    query.limit = 1;
    let mut paged = Vec::new();
    loop {
        let page = store.list_tickets_keyed(&query).await.expect("page");
        let Some((last, key)) = page.last() else { break };
        query.after = Some((*key, last.id));
        paged.extend(page.iter().map(|(ticket, _)| ticket.id));
    }
    assert_eq!(paged, ranked, "keyed pages of one");

    // A long thread: its messages fall in several index bands (seq / 32); words from the first
    // and the last are found together, a note's word only by staff, and a renamed subject is
    // found by its new words only.
    let mut opening = draft(account.id, other.id, "Long thread");
    opening.body = Some("opening words".into());
    let mut long = create(store, &config, opening).await;
    for n in 0..70 {
        let body = match n {
            0 => "aardvark at the start".to_owned(),
            20 => "a private zebrafish".to_owned(),
            69 => "yak at the end".to_owned(),
            _ => format!("filler {n}"),
        };
        let kind = if n == 20 { MessageKind::Note } else { MessageKind::Customer };
        long = apply(store, &config, &long, message(kind, &body)).await.expect("long thread");
    }
    assert!(long.seq > 64, "the thread spans three bands: {}", long.seq);
    let words = |scope: TicketScope, words: &[&str]| {
        let mut query = TicketQuery::new(account.id);
        query.scope = scope;
        query.filter.words = words.iter().map(|word| (*word).to_owned()).collect();
        query
    };
    let ids = |tickets: Vec<Ticket>| tickets.iter().map(|ticket| ticket.id).collect::<Vec<_>>();
    let found = store.list_tickets(&words(TicketScope::Account, &["aardvark", "yak"])).await.expect("two bands");
    assert_eq!(ids(found), [long.id], "words from the first and the last band");
    let found = store.list_tickets(&words(TicketScope::Account, &["zebrafish", "yak"])).await.expect("note, staff");
    assert_eq!(ids(found), [long.id], "staff search notes");
    let found = store.list_tickets(&words(TicketScope::Requester(other.id), &["zebrafish"])).await.expect("note");
    assert!(found.is_empty(), "a customer never finds a note's word");
    let found = store.list_tickets(&words(TicketScope::Requester(other.id), &["yak"])).await.expect("customer");
    assert_eq!(ids(found), [long.id], "a customer finds their own messages");
    let renamed = TicketCommand::Update(TicketPatch { subject: Some("Renamed epic".into()), ..TicketPatch::default() });
    apply(store, &config, &long, renamed).await.expect("rename");
    assert!(store.list_tickets(&words(TicketScope::Account, &["long", "thread"])).await.expect("old").is_empty());
    let found = store.list_tickets(&words(TicketScope::Account, &["renamed", "epic"])).await.expect("new subject");
    assert_eq!(ids(found), [long.id], "the new subject's words");

    // A customer's view never searches or reveals internal notes.
    let mut query = TicketQuery::new(account.id);
    query.scope = TicketScope::Requester(other.id);
    query.filter.words = vec!["handshake".into()];
    assert!(store.list_tickets(&query).await.expect("customer words").is_empty(), "notes are not searched");
    query.filter = cond(false, Test::Has(vec![HasThing::Note]));
    assert!(store.list_tickets(&query).await.expect("customer has:note").is_empty(), "has:note reveals nothing");
    let _ = (first, third);
}

/// A new message only marks its full-text band pending (migration 0042): the background pass
/// rebuilds pending bands, each once, at most `limit` a write; a search brings the index up to
/// date before it reads it, so it finds what was written just before it.
pub async fn search_index_follows_writes(store: &dyn Store) {
    let account = store.create_account("Indexing").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@indexing.example", Role::Customer)).await.expect("c");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    store.index_pending_search(None, false).await.expect("earlier writes indexed");
    let mut tickets = Vec::new();
    for n in 0..3 {
        let mut opening = draft(account.id, customer.id, &format!("Indexing {n}"));
        opening.body = Some(format!("quokka number {n}"));
        tickets.push(create(store, &config, opening).await);
    }
    // Two more messages in the first ticket's band: still one band to rebuild.
    for body in ["wombat here", "numbat too"] {
        tickets[0] = apply(store, &config, &tickets[0], message(MessageKind::Customer, body)).await.expect("message");
    }
    assert_eq!(store.index_pending_search(Some(2), true).await.expect("pass"), 2, "at most the limit");
    assert_eq!(store.index_pending_search(Some(2), true).await.expect("pass"), 1, "each band once");
    assert_eq!(store.index_pending_search(None, true).await.expect("pass"), 0, "nothing left");
    let mut query = TicketQuery::new(account.id);
    query.filter.words = vec!["numbat".into()];
    let found: Vec<i64> = store.list_tickets(&query).await.expect("search").iter().map(|ticket| ticket.id).collect();
    assert_eq!(found, [tickets[0].id], "a rebuilt band holds every message written to it");

    // Written and searched at once, with no pass in between: the search indexes first.
    tickets[2] = apply(store, &config, &tickets[2], message(MessageKind::Customer, "platypus")).await.expect("new");
    query.filter.words = vec!["platypus".into()];
    let found: Vec<i64> = store.list_tickets(&query).await.expect("search").iter().map(|ticket| ticket.id).collect();
    assert_eq!(found, [tickets[2].id], "the ticket list searches what was just written");
    tickets[1] = apply(store, &config, &tickets[1], message(MessageKind::Customer, "echidna")).await.expect("new");
    let filter = TicketFilter { words: vec!["echidna".into()], ..TicketFilter::default() };
    assert_eq!(store.filter_tickets(account.id, &filter).await.expect("reports' filter"), [tickets[1].id]);
    assert_eq!(store.index_pending_search(None, true).await.expect("pass"), 0, "the searches left nothing");
}

fn cond(negated: bool, test: Test) -> TicketFilter {
    TicketFilter { conditions: vec![Condition { negated, test }], ..TicketFilter::default() }
}

fn custom(key: &str, field_type: FieldType, values: Vec<Option<String>>) -> TicketFilter {
    cond(false, Test::Custom { key: key.into(), field_type, values })
}
