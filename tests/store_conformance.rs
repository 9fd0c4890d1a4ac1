//! One conformance suite for every `Store` implementation: each check runs on SQLite and on the
//! real PostgreSQL (which must be reachable; see tests/common).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::{Backend, TestDb};
use jiff::{SignedDuration, Timestamp};
use switchboard_actors::clock::truncate_to_millis;
use switchboard_actors::domain::*;
use switchboard_actors::store::*;
use switchboard_actors::ticket::{
    CommandContext, NewMessage, TicketCommand, TicketDraft, TicketPatch, messages_of, open_ticket,
};

fn now() -> Timestamp {
    truncate_to_millis(Timestamp::now())
}

fn new_user(account: AccountId, email: &str, role: Role) -> NewUser {
    NewUser {
        account_id: account,
        email: email.to_owned(),
        name: email.to_owned(),
        role,
        password_hash: Some("hash".to_owned()),
        company_id: None,
        team_ids: Vec::new(),
        capacity: 5,
        time_zone: "UTC".to_owned(),
        phone: None,
    }
}

fn draft(account: AccountId, requester: UserId, subject: &str) -> TicketDraft {
    TicketDraft {
        account_id: account,
        subject: subject.to_owned(),
        body: Some(format!("body of {subject}")),
        body_kind: MessageKind::Customer,
        status: None,
        urgency: Level::Medium,
        importance: Level::Medium,
        ticket_type: None,
        category_id: None,
        tags: vec!["alpha".to_owned()],
        custom_fields: CustomFields::new(),
        channel: Channel::Web,
        requester_id: requester,
        company_id: None,
        assignee_id: None,
        team_id: None,
        created_by: Some(requester),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    }
}

async fn create(store: &dyn Store, config: &AccountConfig, draft: TicketDraft) -> Ticket {
    let (ticket, events, messages) = open_ticket(draft, config, now()).expect("valid draft");
    let mut commit = TicketCommit { ticket, events, messages, timers: Vec::new() };
    let identity = store.create_ticket(commit.clone()).await.expect("create ticket");
    commit.assign_identity(identity);
    commit.ticket
}

/// Decides and commits `command` the way a TicketActor does; returns the new state.
async fn apply(
    store: &dyn Store,
    config: &Arc<AccountConfig>,
    ticket: &Ticket,
    command: TicketCommand,
) -> StoreResult<Ticket> {
    let context = CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None };
    let decision = ticket.decide(&command, &context, now()).expect("valid command");
    let mut next = ticket.clone();
    let events = next.append(decision.events, None, now());
    store
        .commit(TicketCommit { ticket: next.clone(), messages: messages_of(&events), events, timers: decision.timers })
        .await?;
    Ok(next)
}

async fn suite(store: Arc<dyn Store>) {
    let store = store.as_ref();
    store.ping().await.expect("ping");
    accounts_and_config(store).await;
    people_and_sessions(store).await;
    tickets_events_and_fencing(store).await;
    batched_ticket_writes(store).await;
    listing_filters_and_pages(store).await;
    timers(store).await;
    timer_claims(store).await;
    concurrent_creates_get_unique_numbers(store).await;
    email_channel(store).await;
    whatsapp_first_contact(store).await;
    media_index_and_session_ends(store).await;
    generated_secrets(store).await;
}

/// Stored files are indexed per account (an account holds a file, an author may attach it only
/// when they uploaded it or it arrived on that ticket); a password change ends the user's other
/// sessions.
async fn media_index_and_session_ends(store: &dyn Store) {
    let ours = store.create_account("Media A").await.expect("account");
    let theirs = store.create_account("Media B").await.expect("account");
    let ids = store.account_ids().await.expect("accounts");
    assert!(ids.contains(&ours.id) && ids.contains(&theirs.id), "every account is listed: {ids:?}");
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "oldest first: {ids:?}");
    let agent = store.create_user(new_user(ours.id, "media-agent@a.example", Role::Agent)).await.expect("agent");
    let colleague = store.create_user(new_user(ours.id, "media-colleague@a.example", Role::Agent)).await.expect("user");
    let hash = "AB".repeat(32);
    let inbound = "cd".repeat(32);
    assert!(!store.media_in_account(ours.id, &hash).await.expect("read"));
    store.add_media(ours.id, &hash, MediaOwner::Uploader(agent.id), now()).await.expect("upload");
    store.add_media(ours.id, &hash, MediaOwner::Uploader(agent.id), now()).await.expect("twice is harmless");
    store.add_media(ours.id, &inbound, MediaOwner::Ticket(77), now()).await.expect("inbound");
    assert!(store.media_in_account(ours.id, &hash.to_lowercase()).await.expect("read"), "hashes are case-blind");
    assert!(!store.media_in_account(theirs.id, &hash).await.expect("read"), "another account holds nothing");
    assert!(store.media_attachable(ours.id, &hash, agent.id, 1).await.expect("read"), "the uploader may attach it");
    assert!(!store.media_attachable(ours.id, &hash, colleague.id, 1).await.expect("read"), "a colleague may not");
    assert!(store.media_attachable(ours.id, &inbound, colleague.id, 77).await.expect("read"), "it arrived there");
    assert!(!store.media_attachable(ours.id, &inbound, colleague.id, 78).await.expect("read"), "not on another");
    assert!(!store.media_attachable(theirs.id, &inbound, colleague.id, 77).await.expect("read"));

    let later = now().checked_add(SignedDuration::from_hours(1)).expect("later");
    for token in [b"keep".to_vec(), b"end-1".to_vec(), b"end-2".to_vec()] {
        store
            .create_session(NewSession { token_hash: token, user_id: agent.id, expires_at: later })
            .await
            .expect("session");
    }
    store.delete_user_sessions(agent.id, Some(b"keep")).await.expect("end others");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_some(), "the asking session stays");
    assert!(store.session_user(b"end-1", now()).await.expect("read").is_none());
    assert!(store.session_user(b"end-2", now()).await.expect("read").is_none());
    store.delete_user_sessions(agent.id, None).await.expect("end all");
    assert!(store.session_user(b"keep", now()).await.expect("read").is_none());
}

async fn accounts_and_config(store: &dyn Store) {
    let account = store.create_account("Conformance").await.expect("account");
    assert_eq!(store.account(account.id).await.expect("read").map(|a| a.name), Some("Conformance".to_owned()));
    assert!(store.first_account().await.expect("first").is_some());
    let config = store.account_config(account.id).await.expect("config");
    let keys: Vec<_> = config.statuses.iter().map(|status| status.key.as_str()).collect();
    assert_eq!(keys, ["new", "open", "pending", "resolved", "closed"]);
    assert_eq!(config.priority_matrix, PriorityMatrix::default());
    assert!(config.ticket_types.contains(&"incident".to_owned()));

    let custom = TicketStatus {
        key: "on_hold".into(),
        label: "On hold".into(),
        category: StatusCategory::Pending,
        builtin: false,
    };
    store.upsert_status(account.id, &custom).await.expect("custom status");
    // A built-in status keeps its category whatever an upsert says.
    let relabel = TicketStatus {
        key: "open".into(),
        label: "In progress".into(),
        category: StatusCategory::Closed,
        builtin: false,
    };
    store.upsert_status(account.id, &relabel).await.expect("relabel");
    let field = CustomFieldDef {
        key: "plan".into(),
        label: "Plan".into(),
        field_type: FieldType::Select,
        options: vec!["free".into(), "pro".into()],
        customer_visible: true,
    };
    store.upsert_custom_field(account.id, &field).await.expect("field");
    let parent = store.create_category(account.id, None, "Billing").await.expect("category");
    let child = store.create_category(account.id, Some(parent.id), "Refunds").await.expect("sub-category");
    assert_eq!(child.path, "Billing / Refunds");
    assert!(matches!(store.create_category(account.id, None, "Billing").await, Err(StoreError::Conflict(_))));
    let mut matrix = PriorityMatrix::default();
    matrix.0[0][0] = Priority::Urgent;
    store.set_priority_matrix(account.id, &matrix).await.expect("matrix");

    let config = store.account_config(account.id).await.expect("config");
    assert_eq!(config.status("on_hold").map(|status| status.category), Some(StatusCategory::Pending));
    let open = config.status("open").expect("open");
    assert_eq!((open.label.as_str(), open.category), ("In progress", StatusCategory::Open));
    assert_eq!(config.custom_field("plan"), Some(&field));
    assert_eq!(config.categories.len(), 2);
    assert_eq!(config.priority_matrix.priority(Level::Low, Level::Low), Priority::Urgent);

    assert_eq!(config.sla_policy, None, "no SLA policy until one is set");
    let mut policy = SlaPolicy {
        enabled: true,
        warning_percent: 75,
        targets: vec![SlaTarget {
            priority: Priority::Urgent,
            first_response_minutes: Some(30),
            resolution_minutes: Some(240),
        }],
        business_hours: Some(BusinessHours {
            time_zone: "America/Sao_Paulo".into(),
            periods: vec![BusinessPeriod { weekday: Weekday::Mon, start: "08:30".into(), end: "18:00".into() }],
            holidays: vec!["2027-02-08".parse().expect("date")],
        }),
    };
    store.set_sla_policy(account.id, &policy).await.expect("policy");
    assert_eq!(store.account_config(account.id).await.expect("config").sla_policy.as_ref(), Some(&policy));
    policy.enabled = false;
    policy.targets.clear();
    policy.business_hours = None;
    store.set_sla_policy(account.id, &policy).await.expect("replace policy");
    assert_eq!(store.account_config(account.id).await.expect("config").sla_policy, Some(policy));
}

async fn people_and_sessions(store: &dyn Store) {
    let account = store.create_account("People").await.expect("account");
    let other = store.create_account("Other").await.expect("account");
    let agent = store.create_user(new_user(account.id, "Agent@People.example", Role::Agent)).await.expect("agent");
    assert_eq!(agent.email, "agent@people.example");
    assert!(matches!(
        store.create_user(new_user(account.id, "agent@people.example", Role::Agent)).await,
        Err(StoreError::Conflict(_))
    ));
    let credentials = store.user_credentials("AGENT@people.example").await.expect("lookup").expect("found");
    assert_eq!((credentials.user.id, credentials.password_hash.as_deref()), (agent.id, Some("hash")));
    assert!(store.user(other.id, agent.id).await.expect("read").is_none(), "no query crosses accounts");

    let team = store
        .create_team(NewTeam {
            account_id: account.id,
            name: "Support".into(),
            description: String::new(),
            member_ids: vec![agent.id],
        })
        .await
        .expect("team");
    assert_eq!(team.member_ids, vec![agent.id]);
    assert_eq!(store.user(account.id, agent.id).await.expect("read").expect("agent").team_ids, vec![team.id]);
    let foreign = store.create_user(new_user(other.id, "x@other.example", Role::Agent)).await.expect("user");
    assert!(
        store
            .update_team(account.id, team.id, TeamPatch { member_ids: Some(vec![foreign.id]), ..TeamPatch::default() })
            .await
            .is_err(),
        "members must belong to the team's account"
    );
    let renamed = store
        .update_team(
            account.id,
            team.id,
            TeamPatch { name: Some("Tier 1".into()), member_ids: Some(vec![]), ..TeamPatch::default() },
        )
        .await
        .expect("update team");
    assert_eq!((renamed.name.as_str(), renamed.member_ids.len()), ("Tier 1", 0));
    assert_eq!(store.list_teams(account.id).await.expect("teams").len(), 1);

    let company = store
        .create_company(NewCompany {
            account_id: account.id,
            name: "Acme".into(),
            members_see_company_tickets: true,
            members_write_company_tickets: false,
        })
        .await
        .expect("company");
    let mut customer = new_user(account.id, "carla@acme.example", Role::Customer);
    customer.company_id = Some(company.id);
    let customer = store.create_user(customer).await.expect("customer");
    assert_eq!(
        store.company(account.id, company.id).await.expect("company").map(|c| c.members_see_company_tickets),
        Some(true)
    );
    let contacts = store.contacts(account.id, customer.id).await.expect("contacts");
    assert_eq!((contacts[0].channel, contacts[0].address.as_str()), (Channel::Email, "carla@acme.example"));
    assert_eq!(store.list_users(account.id, Some(Role::Customer)).await.expect("list").len(), 1);
    assert_eq!(store.list_users(account.id, None).await.expect("list").len(), 2);

    let updated = store
        .update_user(
            account.id,
            agent.id,
            UserPatch { name: Some("Ana".into()), capacity: Some(9), ..UserPatch::default() },
        )
        .await
        .expect("update");
    assert_eq!((updated.name.as_str(), updated.capacity), ("Ana", 9));

    let hash = vec![7u8; 32];
    let expires = now().saturating_add(SignedDuration::from_hours(1)).expect("time");
    store
        .create_session(NewSession { token_hash: hash.clone(), user_id: agent.id, expires_at: expires })
        .await
        .expect("session");
    assert_eq!(store.session_user(&hash, now()).await.expect("lookup").map(|user| user.id), Some(agent.id));
    // The session's user carries the teams too, in order, as a plain read does.
    let mut teams = Vec::new();
    for name in ["Zeta", "Alpha", "Mid"] {
        let team = NewTeam {
            account_id: account.id,
            name: name.into(),
            description: String::new(),
            member_ids: vec![agent.id],
        };
        teams.push(store.create_team(team).await.expect("team").id);
    }
    teams.sort_unstable();
    let by_session = store.session_user(&hash, now()).await.expect("lookup").expect("user");
    assert_eq!(by_session.team_ids, teams);
    assert_eq!(Some(by_session), store.user(account.id, agent.id).await.expect("read"));
    assert!(
        store.session_user(&hash, expires).await.expect("lookup").is_none(),
        "expired sessions do not authenticate"
    );
    store.delete_session(&hash).await.expect("delete");
    assert!(store.session_user(&hash, now()).await.expect("lookup").is_none());
    store
        .create_session(NewSession { token_hash: hash.clone(), user_id: agent.id, expires_at: expires })
        .await
        .expect("session");
    store
        .update_user(account.id, agent.id, UserPatch { active: Some(false), ..UserPatch::default() })
        .await
        .expect("deactivate");
    assert!(store.session_user(&hash, now()).await.expect("lookup").is_none(), "deactivation ends sessions");
}

async fn tickets_events_and_fencing(store: &dyn Store) {
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

    let reply = TicketCommand::AddMessage(NewMessage {
        kind: MessageKind::Reply,
        body: "On it".into(),
        channel: None,
        attachments: Vec::new(),
        then_status: None,
        payload: None,
        provider_id: None,
    });
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
async fn batched_ticket_writes(store: &dyn Store) {
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

async fn listing_filters_and_pages(store: &dyn Store) {
    let account = store.create_account("Lists").await.expect("account");
    let alice = store.create_user(new_user(account.id, "alice@lists.example", Role::Customer)).await.expect("user");
    let bob = store.create_user(new_user(account.id, "bob@lists.example", Role::Customer)).await.expect("user");
    let agent = store.create_user(new_user(account.id, "agent@lists.example", Role::Agent)).await.expect("user");
    let policy = SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![
            SlaTarget { priority: Priority::Urgent, first_response_minutes: Some(30), resolution_minutes: None },
            SlaTarget { priority: Priority::Medium, first_response_minutes: Some(120), resolution_minutes: None },
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
        ids(store.list_tickets(&query(&|q| q.tag = Some("Billing".into()))).await.expect("tag")),
        BTreeSet::from([4])
    );
    assert_eq!(
        ids(store.list_tickets(&query(&|q| q.priorities = vec![Priority::Urgent])).await.expect("prio")),
        BTreeSet::from([4])
    );
    assert_eq!(
        ids(store.list_tickets(&query(&|q| q.assignee = Some(AssigneeFilter::User(agent.id)))).await.expect("mine")),
        BTreeSet::from([4])
    );
    assert_eq!(
        store.list_tickets(&query(&|q| q.assignee = Some(AssigneeFilter::Unassigned))).await.expect("none").len(),
        6
    );
    assert_eq!(store.list_tickets(&query(&|q| q.statuses = vec!["open".into()])).await.expect("open").len(), 1);
    assert_eq!(store.list_tickets(&query(&|q| q.categories = vec![StatusCategory::New])).await.expect("new").len(), 6);
    assert_eq!(
        ids(store.list_tickets(&query(&|q| q.text = Some("100%".into()))).await.expect("text")),
        BTreeSet::from([4]),
        "LIKE wildcards are escaped"
    );
    assert_eq!(store.list_tickets(&query(&|q| q.text = Some("printer JAMMED".into()))).await.expect("words").len(), 6);
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

async fn timers(store: &dyn Store) {
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

/// A WhatsApp customer's first message: the customer with both addresses in one write, then
/// the conversation with its window timers in one write.
async fn whatsapp_first_contact(store: &dyn Store) {
    let account = store.create_account("First contact").await.expect("account");
    let customer = NewUser::customer(account.id, "bsuid@wa.invalid".into(), "Ana".into(), Some("+15550001".into()));
    let created =
        store.create_customer(customer.clone(), Channel::Whatsapp, &["US.bsuid1", "15550001"]).await.expect("customer");
    assert_eq!(
        (created.role, created.name.as_str(), created.phone.as_deref()),
        (Role::Customer, "Ana", Some("+15550001"))
    );
    for address in ["US.bsuid1", "15550001"] {
        let found = store.customer_by_contact(account.id, Channel::Whatsapp, address).await.expect("lookup");
        assert_eq!(found.map(|user| user.id), Some(created.id), "{address}");
    }
    assert_eq!(store.user(account.id, created.id).await.expect("user"), Some(created.clone()));

    // Created twice (another node won the race): refused, and nothing changed hands.
    let again = store.create_customer(customer, Channel::Whatsapp, &["15559999"]).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.customer_by_contact(account.id, Channel::Whatsapp, "15559999").await.expect("lookup"), None);

    let closes = now().saturating_add(SignedDuration::from_hours(24)).expect("time");
    let closing = closes.saturating_sub(SignedDuration::from_hours(1)).expect("time");
    let conversation = switchboard_actors::whatsapp::Conversation {
        id: 0,
        account_id: account.id,
        phone_number_id: "1001".into(),
        customer_id: created.id,
        wa_id: Some("15550001".into()),
        user_key: "US.bsuid1".into(),
        window_expires_at: Some(closes),
        last_inbound_at: Some(now()),
        current_ticket_id: None,
        opted_out: false,
        referral: None,
        updated_at: now(),
    };
    let saved = store
        .save_conversation_with_timers(&conversation, &[("window_closing", closing), ("window_closed", closes)])
        .await
        .expect("saved");
    assert!(saved.id > 0);
    assert_eq!(store.conversation("1001", created.id).await.expect("read"), Some(saved.clone()));
    let horizon = closes.saturating_add(SignedDuration::from_secs(1)).expect("time");
    let owned: Vec<TimerEntry> = store
        .due_timers(horizon, 1000)
        .await
        .expect("timers")
        .into_iter()
        .filter(|entry| {
            entry.owner == TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id)
        })
        .collect();
    assert_eq!(
        owned,
        [
            TimerEntry {
                owner: TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id),
                name: "window_closing".into(),
                due_at: closing
            },
            TimerEntry {
                owner: TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id),
                name: "window_closed".into(),
                due_at: closes
            },
        ]
    );
    // Saving again without timers leaves them as they are.
    store.save_conversation(&saved).await.expect("saved again");
    let still = store.due_timers(horizon, 1000).await.expect("timers");
    assert_eq!(
        still
            .iter()
            .filter(|entry| entry.owner
                == TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, saved.id))
            .count(),
        2
    );

    // The console's list: the customer's name and the newest message an agent would show
    // (not the internal note written after it).
    let listed = store.list_conversations(account.id, 10).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].customer_name.as_str(), listed[0].last_message.as_ref()), ("Ana", None));
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let ticket = create(store, &config, draft(account.id, created.id, "On WhatsApp")).await;
    let note = TicketCommand::AddMessage(NewMessage {
        kind: MessageKind::Note,
        body: "internal only".into(),
        channel: None,
        attachments: Vec::new(),
        then_status: None,
        payload: None,
        provider_id: None,
    });
    apply(store, &config, &ticket, note).await.expect("note");
    store
        .save_conversation(&switchboard_actors::whatsapp::Conversation { current_ticket_id: Some(ticket.id), ..saved })
        .await
        .expect("linked");
    let listed = store.list_conversations(account.id, 10).await.expect("list");
    let last = listed[0].last_message.as_ref().expect("a last message");
    assert_eq!((last.body.as_str(), last.ticket_id), ("body of On WhatsApp", ticket.id));
}

/// With several nodes each reads the same due timers; the one that claims a timer fires it.
async fn timer_claims(store: &dyn Store) {
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

async fn concurrent_creates_get_unique_numbers(store: &dyn Store) {
    let account = store.create_account("Concurrent").await.expect("account");
    let customer =
        store.create_user(new_user(account.id, "c@concurrent.example", Role::Customer)).await.expect("customer");
    let config = Arc::new(store.account_config(account.id).await.expect("config"));
    let creates = (0..50).map(|n| create(store, &config, draft(account.id, customer.id, &format!("Parallel {n}"))));
    let tickets = futures_util::future::join_all(creates).await;
    let numbers: BTreeSet<i64> = tickets.iter().map(|ticket| ticket.number).collect();
    assert_eq!(numbers, (1..=50).collect(), "group-committed creates get unique, gap-free numbers");
}

/// The email inbox (raw bytes round-trip, done marks), send attempts, the outbox query, tickets
/// by number, and the WhatsApp webhook's record.
async fn email_channel(store: &dyn Store) {
    let account = store.create_account("Mail").await.expect("account");
    let config = store.account_config(account.id).await.expect("config");
    let customer =
        store.create_user(new_user(account.id, "mail-customer@example.com", Role::Customer)).await.expect("customer");

    // Not UTF-8 on purpose: mail is bytes.
    let raw: &[u8] = b"From: a@b.example\r\nSubject: caf\xe9\r\n\r\nbody\xff";
    let first = store.email_inbox_append(raw, now()).await.expect("append");
    let second = store.email_inbox_append(b"second", now()).await.expect("append");
    let (at, until) = (now(), now().saturating_add(SignedDuration::from_secs(30)).expect("time"));
    let claimed = store.email_inbox_claim(10, at, until).await.expect("claim");
    let ours: Vec<_> = claimed.iter().filter(|(id, _)| *id == first || *id == second).collect();
    assert_eq!(ours.len(), 2);
    assert_eq!(ours[0], &(first, raw.to_vec()), "oldest first, bytes intact");
    assert!(store.email_inbox_claim(10, at, until).await.expect("claim").is_empty(), "held by the first claim");
    let expired =
        store.email_inbox_claim(10, until, until.saturating_add(SignedDuration::from_secs(30)).expect("time"));
    assert_eq!(expired.await.expect("claim").len(), 2, "a claim that ran out is taken again");
    store.email_inbox_done(&[(first, None), (second, Some("no sender".to_owned()))], now()).await.expect("done");
    let far = until.saturating_add(SignedDuration::from_hours(1)).expect("time");
    assert!(
        store.email_inbox_claim(10, far, far).await.expect("claim").iter().all(|(id, _)| *id != first && *id != second)
    );

    let mut email_draft = draft(account.id, customer.id, "Mail ticket");
    email_draft.channel = Channel::Email;
    let ticket = create(store, &config, email_draft).await;
    let found = store.ticket_by_number(account.id, ticket.number).await.expect("by number").expect("found");
    assert_eq!(found.id, ticket.id);
    assert_eq!(store.ticket_by_number(account.id, ticket.number + 100).await.expect("by number"), None);
    let other = store.create_account("Other mail").await.expect("account");
    assert_eq!(store.ticket_by_number(other.id, ticket.number).await.expect("other account"), None);

    let config = Arc::new(config);
    let reply = |body: &str| {
        TicketCommand::AddMessage(NewMessage {
            kind: MessageKind::Reply,
            body: body.to_owned(),
            channel: Some(Channel::Email),
            attachments: Vec::new(),
            then_status: None,
            payload: None,
            provider_id: None,
        })
    };
    let ticket = apply(store, &config, &ticket, reply("first reply")).await.expect("reply");
    let ticket = apply(store, &config, &ticket, reply("second reply")).await.expect("reply");
    let unsent = |at: Timestamp| async move {
        let due = store.unsent_email(at, 100).await.expect("unsent");
        due.into_iter().filter(|message| message.ticket_id == ticket.id).map(|message| message.body).collect::<Vec<_>>()
    };
    assert_eq!(unsent(now()).await, ["first reply", "second reply"]);
    let messages = store.ticket_messages(ticket.id).await.expect("messages");
    let first_reply = messages.iter().find(|message| message.body == "first reply").expect("first");
    let second_reply = messages.iter().find(|message| message.body == "second reply").expect("second");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), None);

    // Deferred: not due until its time; done: never again.
    let later = now() + SignedDuration::from_mins(5);
    let deferred = EmailSend {
        attempts: 1,
        next_attempt_at: Some(later),
        last_error: Some("451 busy".to_owned()),
        ..EmailSend::fresh(first_reply)
    };
    store.save_email_send(&deferred).await.expect("save");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), Some(deferred.clone()));
    assert_eq!(unsent(now()).await, ["second reply"]);
    assert_eq!(unsent(later + SignedDuration::from_secs(1)).await, ["first reply", "second reply"]);
    store.save_email_send(&EmailSend { done: true, ..EmailSend::fresh(second_reply) }).await.expect("save");
    assert_eq!(unsent(later + SignedDuration::from_secs(1)).await, ["first reply"]);
    let sent = EmailSend { attempts: 2, next_attempt_at: None, last_error: None, done: true, ..deferred };
    store.save_email_send(&sent).await.expect("update");
    assert_eq!(store.email_send(&first_reply.id).await.expect("read"), Some(sent));
    assert!(unsent(later + SignedDuration::from_secs(1)).await.is_empty());

    let before = store.whatsapp_webhook_stats().await.expect("stats");
    let id = store.inbox_append("{}", now(), None).await.expect("append");
    let stats = store.whatsapp_webhook_stats().await.expect("stats");
    assert_eq!((stats.received, stats.pending), (before.received + 1, before.pending + 1));
    assert!(stats.last_received_at.is_some());
    store.inbox_done(&[(id, Some("unparseable".to_owned()))], now()).await.expect("done");
    let stats = store.whatsapp_webhook_stats().await.expect("stats");
    assert_eq!((stats.failed, stats.pending), (before.failed + 1, before.pending));

    // Claims: an entry stored by a node that processes it at once is nobody else's until its
    // claim runs out; two passes at once never take the same entry.
    let (at, until) = (now(), now().saturating_add(SignedDuration::from_secs(30)).expect("time"));
    let held = store.inbox_append("held", at, Some(until)).await.expect("append");
    let mut free = Vec::new();
    for n in 0..4 {
        free.push(store.inbox_append(&format!("free {n}"), at, None).await.expect("append"));
    }
    let (one, two) = tokio::join!(store.inbox_claim(3, at, until), store.inbox_claim(3, at, until));
    let mut taken: Vec<i64> = one.expect("claim").into_iter().chain(two.expect("claim")).map(|(id, _)| id).collect();
    // (On PostgreSQL the slower claim may come back empty rather than take the next rows.)
    taken.extend(store.inbox_claim(10, at, until).await.expect("claim").into_iter().map(|(id, _)| id));
    taken.sort_unstable();
    assert_eq!(taken, free, "every free entry exactly once, the held one not at all");
    let later = until.saturating_add(SignedDuration::from_secs(1)).expect("time");
    let retaken: Vec<i64> =
        store.inbox_claim(10, later, later).await.expect("claim").into_iter().map(|(id, _)| id).collect();
    assert!(retaken.contains(&held) && free.iter().all(|id| retaken.contains(id)), "claims that ran out: {retaken:?}");
}

/// A secret generated on first run: the first candidate stored wins, later ones (another node,
/// a restart) read it back; names are independent.
async fn generated_secrets(store: &dyn Store) {
    let first = store.generated_secret("test.secret", "first-candidate", now()).await.expect("store");
    assert_eq!(first, "first-candidate");
    let again = store.generated_secret("test.secret", "second-candidate", now()).await.expect("read");
    assert_eq!(again, "first-candidate", "the stored value wins");
    let (one, two) = tokio::join!(
        store.generated_secret("test.race", "node-a", now()),
        store.generated_secret("test.race", "node-b", now())
    );
    let (one, two) = (one.expect("node a"), two.expect("node b"));
    assert_eq!(one, two, "two nodes racing agree");
    assert!(one == "node-a" || one == "node-b");
    let other = store.generated_secret("test.other", "other-value", now()).await.expect("other");
    assert_eq!(other, "other-value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_conforms() {
    let db = TestDb::new(Backend::Sqlite).await;
    suite(db.open().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_conforms() {
    let db = TestDb::new(Backend::Postgres).await;
    suite(db.open().await).await;
}

#[tokio::test]
async fn sqlite_database_is_created_on_first_open_with_wal() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    store.ping().await.expect("ping");
    let path = db.url.trim_start_matches("sqlite://");
    assert!(std::path::Path::new(path).exists(), "database file created, with its directory");
    assert!(std::path::Path::new(&format!("{path}-wal")).exists(), "WAL journal in use");
}

#[test]
fn migration_trees_are_in_lockstep() {
    let names = |dir: &str| {
        let mut names: Vec<String> = std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .expect("migrations dir")
            .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"), "migrations/sqlite and migrations/postgres must list the same files");
}
