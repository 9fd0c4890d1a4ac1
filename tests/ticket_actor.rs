//! TicketActor lifecycle against a real store: supervision restarts a panicked actor from the
//! store, idle actors passivate and come back, and durable timers fire.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use jiff::{SignedDuration, Timestamp};
use switchboard::app::Core;
use switchboard_actors::domain::*;
use switchboard_actors::store::{NewUser, Store};
use switchboard_actors::ticket::*;

struct Fixture {
    _db: TestDb,
    core: Core,
    config: Arc<AccountConfig>,
    ticket: Ticket,
}

async fn fixture(idle_timeout_secs: u64) -> Fixture {
    let db = TestDb::sqlite();
    let mut settings = db.settings();
    settings.tickets.idle_timeout_secs = idle_timeout_secs;
    let core = Core::start(&settings).await.expect("core");
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
        assignee_id: None,
        team_id: None,
        created_by: Some(requester_id),
        first_payload: None,
        first_provider_id: None,
        first_attachments: Vec::new(),
    }
}

fn context(config: &Arc<AccountConfig>) -> CommandContext {
    CommandContext { actor_id: None, config: config.clone(), expected_seq: None, seen_seq: None }
}

fn note(body: &str) -> TicketCommand {
    TicketCommand::AddMessage(NewMessage {
        kind: MessageKind::Note,
        body: body.into(),
        channel: None,
        attachments: Vec::new(),
        then_status: None,
        payload: None,
        provider_id: None,
    })
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
