//! TicketActor lifecycle against a real store: supervision restarts a panicked actor from the
//! store, idle actors passivate and come back, and durable timers fire (SLA breaches included,
//! after a restart, exactly once); idle WhatsApp conversation actors stop and come back too.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Backend, TestDb};
use jiff::{SignedDuration, Timestamp};
use switchboard::app::Services;
use switchboard_actors::clock::{Clock, ManualClock};
use switchboard_actors::domain::*;
use switchboard_actors::store::{NewUser, Store};
use switchboard_actors::ticket::*;

struct Fixture {
    _db: TestDb,
    core: Services,
    config: Arc<AccountConfig>,
    ticket: Ticket,
}

async fn fixture(idle_timeout_secs: u64) -> Fixture {
    let db = TestDb::sqlite();
    let mut settings = db.settings();
    settings.tickets.idle_timeout_secs = idle_timeout_secs;
    let core = Services::start(&settings).await.expect("core");
    let account = core.store.create_account("Actors").await.expect("account");
    let customer = core
        .store
        .create_user(NewUser {
            account_id: account.id,
            email: "c@actors.example".into(),
            name: "C".into(),
            role: Role::Customer,
            password_hash: None,
            company_id: None,
            team_ids: Vec::new(),
            capacity: 0,
            time_zone: "UTC".into(),
            phone: None,
        })
        .await
        .expect("customer");
    let config = Arc::new(core.store.account_config(account.id).await.expect("config"));
    let draft = draft(account.id, customer.id, "Actor under test", Some("hello"));
    let ticket = core.tickets.create(draft, &config).await.expect("create").ticket;
    Fixture { _db: db, core, config, ticket }
}

fn draft(account_id: AccountId, requester_id: UserId, subject: &str, body: Option<&str>) -> TicketDraft {
    TicketDraft {
        account_id,
        subject: subject.into(),
        body: body.map(str::to_owned),
        body_kind: MessageKind::Customer,
        status: None,
        urgency: Level::Low,
        importance: Level::Low,
        ticket_type: None,
        category_id: None,
        tags: Vec::new(),
        custom_fields: CustomFields::new(),
        channel: Channel::Web,
        requester_id,
        company_id: None,
        minimum_priority: None,
        assignee_id: None,
        team_id: None,
        created_by: Some(requester_id),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
        window: None,
    }
}

fn context(config: &Arc<AccountConfig>) -> CommandContext {
    CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None }
}

fn note(body: &str) -> TicketCommand {
    TicketCommand::AddMessage(NewMessage::text(MessageKind::Note, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_actor_is_restarted_with_its_state_and_serves_the_next_command() {
    let f = fixture(300).await;
    let tickets = &f.core.tickets;
    let before = tickets.execute(f.ticket.id, note("before the crash"), context(&f.config)).await.expect("note").ticket;
    assert_eq!(before.seq, 3);

    let crashed = tickets.crash_for_test(f.ticket.id).await;
    assert!(
        matches!(crashed, Err(TicketError::ActorRestarted)),
        "the request in flight gets a clear error: {crashed:?}"
    );

    // The supervisor restarted it from the store: same state, and the log continues without a gap.
    let reloaded = tickets.get(f.ticket.id).await.expect("restarted actor answers");
    assert_eq!(reloaded, before);
    let after = tickets.execute(f.ticket.id, note("after the crash"), context(&f.config)).await.expect("next command");
    assert_eq!(after.ticket.seq, 4);
    let seqs: Vec<i64> =
        f.core.store.ticket_events(f.ticket.id, 0, 100).await.expect("events").iter().map(|event| event.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4]);
    f.core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_tickets_are_unaffected_by_a_crash() {
    let f = fixture(300).await;
    let tickets = &f.core.tickets;
    let config = f.config.clone();
    let bystander = draft(f.ticket.account_id, f.ticket.requester_id, "Bystander", None);
    let second = tickets.create(bystander, &config).await.expect("second ticket").ticket;
    tickets.get(second.id).await.expect("activate bystander");
    let _ = tickets.crash_for_test(f.ticket.id).await;
    let outcome = tickets.execute(second.id, note("still fine"), context(&config)).await.expect("bystander works");
    assert_eq!(outcome.ticket.seq, 2);
    f.core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_actors_passivate_and_reactivate_from_the_store() {
    let f = fixture(1).await;
    let tickets = &f.core.tickets;
    tickets.execute(f.ticket.id, note("wake up"), context(&f.config)).await.expect("note");
    assert_eq!(tickets.active(), 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tickets.active() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(tickets.active(), 0, "the idle actor stopped");
    let outcome = tickets.execute(f.ticket.id, note("back again"), context(&f.config)).await.expect("reactivated");
    assert_eq!(outcome.ticket.seq, 4, "state was reloaded, not reset");
    f.core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snooze_timer_fires_and_reopens_the_ticket() {
    let f = fixture(300).await;
    let tickets = &f.core.tickets;
    let until = Timestamp::now().saturating_add(SignedDuration::from_millis(400)).expect("time");
    let patch =
        TicketPatch { status: Some("pending".into()), snooze_until: Some(Some(until)), ..TicketPatch::default() };
    let snoozed =
        tickets.execute(f.ticket.id, TicketCommand::Update(patch), context(&f.config)).await.expect("snooze").ticket;
    assert_eq!(snoozed.status_category, StatusCategory::Pending);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let ticket = tickets.get(f.ticket.id).await.expect("get");
        if ticket.snoozed_until.is_none() {
            assert_eq!(ticket.status, "open", "the snooze ended and the ticket reopened");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the timer did not fire");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store: &dyn Store = f.core.store.as_ref();
    let kinds: Vec<String> = store
        .ticket_events(f.ticket.id, 0, 100)
        .await
        .expect("events")
        .iter()
        .map(|e| e.kind.name().to_owned())
        .collect();
    assert!(kinds.ends_with(&["snooze_ended".to_owned(), "status_changed".to_owned()]), "{kinds:?}");
    let horizon = Timestamp::now().saturating_add(SignedDuration::from_hours(1)).expect("time");
    assert!(store.due_timers(horizon, 100).await.expect("timers").is_empty(), "a fired timer is cleared");
    f.core.stop().await;
}

/// The SLA events in a ticket's log, as `(type, metric)`.
async fn sla_events(store: &dyn Store, ticket: TicketId) -> Vec<(String, String)> {
    store
        .ticket_events(ticket, 0, 1000)
        .await
        .expect("events")
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::SlaWarning { metric, .. } | EventKind::SlaBreached { metric, .. } => {
                Some((event.kind.name().to_owned(), metric.to_string()))
            }
            _ => None,
        })
        .collect()
}

/// Waits until the ticket's SLA events are `expected` (or fails after a few seconds).
async fn wait_for_sla_events(store: &dyn Store, ticket: TicketId, expected: &[(&str, &str)]) {
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = sla_events(store, ticket).await;
        if seen == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "SLA events {seen:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A first-response breach comes due while no node runs: the next node to start fires it once,
/// moves the SLA timer on to the resolution warning, and a further restart fires nothing again.
async fn an_sla_breach_fires_after_a_restart_exactly_once(backend: Backend) {
    let db = TestDb::new(backend).await;
    let settings = db.settings();
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let start = || Services::start_with_clock(&settings, clock.clone());
    let core = start().await.expect("core");
    let account = core.store.create_account("SLA").await.expect("account");
    let customer = core
        .store
        .create_user(NewUser::customer(account.id, "c@sla.example".into(), "C".into(), None))
        .await
        .expect("customer");
    let policy = SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![SlaTarget {
            priority: Priority::Urgent,
            first_response_minutes: Some(60),
            resolution_minutes: Some(240),
            window_minutes: None,
        }],
        business_hours: None,
    };
    core.store.set_sla_policy(account.id, &policy).await.expect("policy");
    let config = Arc::new(core.store.account_config(account.id).await.expect("config"));
    let mut urgent = draft(account.id, customer.id, "Site down", Some("nothing loads"));
    urgent.urgency = Level::Critical;
    urgent.importance = Level::Critical;
    let ticket = core.tickets.create(urgent, &config).await.expect("create").ticket;
    let created = ticket.created_at;
    let minutes = |n: i64| created.saturating_add(SignedDuration::from_mins(n)).expect("time");
    assert_eq!(ticket.sla_due_at(), Some(minutes(60)));
    let far = minutes(10_000);
    let timers = core.store.due_timers(far, 100).await.expect("timers");
    assert_eq!(
        timers.iter().map(|t| (t.owner.clone(), t.name.as_str(), t.due_at)).collect::<Vec<_>>(),
        [(
            switchboard_actors::store::TimerOwner::new(switchboard_actors::ticket::TIMER_KIND, ticket.id),
            SLA_TIMER,
            minutes(48)
        )]
    );
    core.stop().await;

    // Down while both the warning (48 min) and the breach (60 min) come due.
    clock.advance(SignedDuration::from_mins(61));
    let core = start().await.expect("restart");
    wait_for_sla_events(core.store.as_ref(), ticket.id, &[("sla_breached", "first_response")]).await;
    let breached = core.store.ticket(ticket.id).await.expect("read").expect("ticket");
    let first = breached.sla.as_ref().and_then(|sla| sla.first_response.clone()).expect("clock");
    assert_eq!(first.breached_at, Some(clock.now()), "breached when the node came back, once");
    let timers = core.store.due_timers(far, 100).await.expect("timers");
    assert_eq!(timers.iter().map(|t| t.due_at).collect::<Vec<_>>(), [minutes(192)], "next: resolution warning");
    core.stop().await;

    // Another restart with nothing due: the breach is not repeated.
    let core = start().await.expect("second restart");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sla_events(core.store.as_ref(), ticket.id).await.len(), 1);
    core.stop().await;

    // Past the resolution warning: that fires once too, and the log stays gap-free.
    clock.advance(SignedDuration::from_mins(132));
    let core = start().await.expect("third restart");
    wait_for_sla_events(
        core.store.as_ref(),
        ticket.id,
        &[("sla_breached", "first_response"), ("sla_warning", "resolution")],
    )
    .await;
    let seqs: Vec<i64> =
        core.store.ticket_events(ticket.id, 0, 100).await.expect("events").iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_an_sla_breach_fires_after_a_restart_exactly_once() {
    an_sla_breach_fires_after_a_restart_exactly_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_sla_breach_fires_after_a_restart_exactly_once() {
    an_sla_breach_fires_after_a_restart_exactly_once(Backend::Postgres).await;
}

/// A new ticket's rules run in its actor, which starts from the ticket as just created instead
/// of reading it back: what the actor then holds is what the store has, the rule's effects
/// included, and the rule ran once.
async fn a_new_tickets_actor_starts_from_the_ticket_as_stored(backend: Backend) {
    let db = TestDb::new(backend).await;
    let core = Services::start(&db.settings()).await.expect("core");
    let account = core.store.create_account("Primed").await.expect("account");
    let customer = core
        .store
        .create_user(NewUser::customer(account.id, "c@primed.example".into(), "C".into(), None))
        .await
        .expect("customer");
    let spec =
        serde_json::json!({"when": {"event": "ticket_created"}, "then": [{"add_tags": ["greeted"]}, {"note": "Seen"}]});
    let rule = switchboard_actors::automation::NewRule {
        account_id: account.id,
        name: "Greet".into(),
        enabled: true,
        position: None,
        spec: serde_json::from_value(spec).expect("a rule"),
        created_by: customer.id,
    };
    core.store.create_rule(rule, Timestamp::now()).await.expect("rule");
    let config = Arc::new(core.store.account_config(account.id).await.expect("config"));
    let mut new = draft(account.id, customer.id, "Primed", Some("hello"));
    new.tags = vec!["web".into()];
    let created = core.tickets.create(new, &config).await.expect("create").ticket;
    let live = core.tickets.get(created.id).await.expect("the actor's state");
    let stored = core.store.ticket(created.id).await.expect("read").expect("stored");
    assert_eq!(live, stored);
    assert_eq!(live.tags, ["greeted", "web"]);
    let notes = core.store.ticket_messages(created.id).await.expect("messages");
    assert_eq!(notes.iter().filter(|message| message.body == "Seen").count(), 1, "{notes:?}");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_new_tickets_actor_starts_from_the_ticket_as_stored() {
    a_new_tickets_actor_starts_from_the_ticket_as_stored(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_new_tickets_actor_starts_from_the_ticket_as_stored() {
    a_new_tickets_actor_starts_from_the_ticket_as_stored(Backend::Postgres).await;
}

fn whatsapp_text(wamid: &str, body: &str) -> switchboard_actors::whatsapp::InboundMessage {
    switchboard_actors::whatsapp::InboundMessage {
        phone_number_id: "100200300400500".into(),
        wamid: wamid.into(),
        from: switchboard_actors::whatsapp::WhatsAppUser {
            wa_id: Some("15550009999".into()),
            user_id: None,
            name: Some("Idle Customer".into()),
        },
        timestamp: Timestamp::now(),
        kind: "text".into(),
        body: body.into(),
        payload: serde_json::json!({"type": "text", "text": {"body": body}}),
        media: None,
        renews_window: true,
        identity_change: None,
    }
}

/// Conversation actors stop when idle (and forget their customer), so memory does not grow with
/// every customer who ever wrote; the next message starts one again on the same ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_conversation_actors_passivate_and_come_back() {
    use switchboard_actors::whatsapp::conversation::Inbound;
    let db = TestDb::sqlite();
    let mut settings = db.settings();
    settings.whatsapp.conversation_idle_secs = 1;
    let core = Services::start(&settings).await.expect("core");
    let conversations = &core.whatsapp.conversations;

    let first = conversations.inbound(whatsapp_text("wamid.IDLE1", "hello")).await.expect("first");
    let Inbound::Stored { ticket_id, new_ticket: true } = first else { panic!("a new ticket: {first:?}") };
    assert_eq!(conversations.active(), 1);

    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while conversations.active() > 0 {
        assert!(std::time::Instant::now() < deadline, "the idle conversation actor never stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let second = conversations.inbound(whatsapp_text("wamid.IDLE2", "still there?")).await.expect("second");
    assert_eq!(second, Inbound::Stored { ticket_id, new_ticket: false }, "same customer, same ticket");
    assert_eq!(conversations.active(), 1);
    let again = conversations.inbound(whatsapp_text("wamid.IDLE1", "hello")).await.expect("redelivery");
    assert_eq!(again, Inbound::Duplicate { ticket_id });
    let messages = core.store.ticket_messages(ticket_id).await.expect("messages");
    assert_eq!(messages.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["hello", "still there?"]);
}

/// The process dies between a merge's two commits (simulated: only the source's `MergeInto` is
/// sent): the source is closed as merged and its durable merge timer stands. The next node fires
/// it once `LINK_SETTLE_AFTER` has passed and finishes the merge: the target takes the messages,
/// both logs stay gap-free, and the timer is gone. A split then moves a message on this backend.
async fn a_merge_cut_between_its_commits_is_finished_by_its_timer(backend: Backend) {
    let db = TestDb::new(backend).await;
    let settings = db.settings();
    let clock = Arc::new(ManualClock::new(Timestamp::now()));
    let start = || Services::start_with_clock(&settings, clock.clone());
    let core = start().await.expect("core");
    let account = core.store.create_account("Merge").await.expect("account");
    let customer = core
        .store
        .create_user(NewUser::customer(account.id, "c@merge.example".into(), "C".into(), None))
        .await
        .expect("customer");
    let config = Arc::new(core.store.account_config(account.id).await.expect("config"));
    let target = core.tickets.create(draft(account.id, customer.id, "Target", Some("t1")), &config).await.expect("t");
    let source = core.tickets.create(draft(account.id, customer.id, "Source", Some("s1")), &config).await.expect("s");
    let (target, source) = (target.ticket, source.ticket);
    let link = LinkedTicket { ticket_id: target.id, number: target.number };
    let context = CommandContext::system(config.clone());
    core.tickets.execute(source.id, TicketCommand::MergeInto { target: link }, context).await.expect("first commit");
    core.stop().await;
    let moved = |store: Arc<dyn Store>, id: TicketId| async move {
        store.ticket_messages(id).await.expect("messages").iter().map(|m| m.body.clone()).collect::<Vec<_>>()
    };
    assert_eq!(moved(core.store.clone(), source.id).await, ["s1"], "half-merged: the messages did not move yet");

    clock.advance(LINK_SETTLE_AFTER + SignedDuration::from_secs(1));
    let core = start().await.expect("restart");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while core.store.ticket(target.id).await.expect("read").expect("target").links.merged_from.is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the merge timer never finished the merge");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(moved(core.store.clone(), target.id).await, ["t1", "s1"]);
    assert!(moved(core.store.clone(), source.id).await.is_empty());
    for id in [source.id, target.id] {
        let seqs: Vec<i64> =
            core.store.ticket_events(id, 0, 100).await.expect("events").iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "ticket {id} gap-free");
    }
    // The timer is settled by the dispatcher once its handler returned: a write of its own,
    // which may land after the target's commit (on PostgreSQL, on another writer lane).
    let far = clock.now() + SignedDuration::from_hours(1);
    loop {
        let timers = core.store.due_timers(far, 100).await.expect("timers");
        if timers.iter().all(|timer| timer.name != MERGE_TIMER) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the merge timer was never settled: {timers:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A split on this backend: the new ticket takes the message in its creation commit.
    let first = core.store.ticket_messages(target.id).await.expect("messages")[0].id.clone();
    let context = CommandContext::system(config.clone());
    let split = core.tickets.split(target.id, vec![first], Some("Split".into()), context).await.expect("split");
    let new = split.other.ticket.id;
    assert_eq!(moved(core.store.clone(), new).await, ["t1"]);
    assert_eq!(moved(core.store.clone(), target.id).await, ["s1"]);
    assert_eq!(
        split.ticket.ticket.links.split_to,
        [LinkedTicket { ticket_id: new, number: split.other.ticket.number }]
    );
    let timers = core.store.due_timers(far, 100).await.expect("timers");
    assert!(timers.iter().all(|timer| timer.name != SPLIT_TIMER), "settled: {timers:?}");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_merge_cut_between_its_commits_is_finished_by_its_timer() {
    a_merge_cut_between_its_commits_is_finished_by_its_timer(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_merge_cut_between_its_commits_is_finished_by_its_timer() {
    a_merge_cut_between_its_commits_is_finished_by_its_timer(Backend::Postgres).await;
}
