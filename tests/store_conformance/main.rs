//! One conformance suite for every `Store` implementation: each check runs on SQLite and on the
//! real PostgreSQL (which must be reachable; see tests/common).

#[path = "../common/mod.rs"]
mod common;

mod api_keys;
mod audit;
mod automations;
mod csat;
mod directory;
mod event_log;
mod filter;
mod gdpr;
mod inbox;
mod knowledge_base;
mod media;
mod notifications;
mod outbox;
mod reports;
mod routing;
mod sessions;
mod settings;
mod tickets;
mod timers;
mod views;
mod webhooks;
mod whatsapp;

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
        minimum_priority: None,
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
    // By a person, the assignee or else the requester: a reply without an author is a rule's,
    // which answers nobody.
    let actor_id = ticket.assignee_id.or(Some(ticket.requester_id));
    let context = CommandContext { actor_id, config: config.clone(), expected_seq: None, seen_seq: None };
    let decision = ticket.decide(&command, &context, now()).expect("valid command");
    let mut next = ticket.clone();
    let events = next.append(decision.events, actor_id, now());
    store
        .commit(TicketCommit { ticket: next.clone(), messages: messages_of(&events), events, timers: decision.timers })
        .await?;
    Ok(next)
}

/// A message of `kind` written in the console (no channel of its own, no attachments).
fn message(kind: MessageKind, body: &str) -> TicketCommand {
    TicketCommand::AddMessage(NewMessage::text(kind, body))
}

async fn suite(shared: Arc<dyn Store>) {
    let store = shared.as_ref();
    store.ping().await.expect("ping");
    settings::accounts_and_config(store).await;
    directory::people_teams_and_companies(store).await;
    directory::staff_directories_follow_changes(shared.clone()).await;
    sessions::sessions_authenticate_live_users(store).await;
    tickets::tickets_events_and_fencing(store).await;
    tickets::batched_ticket_writes(store).await;
    tickets::a_message_and_its_delivery_in_one_commit(store).await;
    tickets::listing_filters_and_pages(store).await;
    filter::query_filters(store).await;
    filter::search_index_follows_writes(store).await;
    views::saved_views_and_counts(store).await;
    automations::rules_runs_and_waits(store).await;
    timers::timers(store).await;
    timers::timer_claims(store).await;
    tickets::concurrent_creates_get_unique_numbers(store).await;
    inbox::email_inbox_claims(store).await;
    tickets::tickets_by_number(store).await;
    tickets::reply_drafts(store).await;
    outbox::email_sends(store).await;
    inbox::webhook_inbox_claims(store).await;
    whatsapp::whatsapp_first_contact(store).await;
    media::media_index(store).await;
    sessions::password_change_ends_other_sessions(store).await;
    sessions::sessions_are_listed_revoked_and_touched(store).await;
    sessions::totp_steps_and_recovery_codes_are_single_use(store).await;
    settings::generated_secrets(store).await;
    tickets::messages_by_provider(store).await;
    whatsapp::templates_per_account(store).await;
    event_log::positions_follow_commit_order(store).await;
    event_log::tailing_reader_sees_every_event_once(store).await;
    notifications::notifications_move_with_the_cursor(store).await;
    routing::routing_settings_leases_and_queues(store).await;
    knowledge_base::categories_articles_and_search(store).await;
    reports::measures_replace_with_the_cursor(store).await;
    reports::report_schedules_round_trip(store).await;
    reports::sums_in_sql_match_the_measures(store).await;
    csat::surveys_settle_once(store).await;
    api_keys::api_keys_authenticate_list_and_revoke(store).await;
    webhooks::deliveries_queue_once_and_leave_in_order(store).await;
    audit::audit_entries_filter_page_and_expire(store).await;
    gdpr::erasure_retention_and_requests(store).await;
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

/// Positions are stored, not counted in memory: a reopened store reads the same log and goes on
/// from the last position, never handing one out again.
async fn event_log_survives_reopen(db: &TestDb) {
    let store = db.open().await;
    let account = store.create_account("Reopen").await.expect("account");
    let customer = store.create_user(new_user(account.id, "c@reopen.example", Role::Customer)).await.expect("user");
    let config = store.account_config(account.id).await.expect("config");
    let first = create(store.as_ref(), &config, draft(account.id, customer.id, "Before")).await;
    let before = store.events_after(0, 100).await.expect("log");
    let last = store.last_event_position().await.expect("last");
    assert_eq!(before.iter().map(|logged| logged.position).collect::<Vec<_>>(), (1..=last).collect::<Vec<_>>());
    drop(store);

    let store = db.open().await;
    assert_eq!(store.events_after(0, 100).await.expect("log"), before, "the same log after reopening");
    assert_eq!(store.last_event_position().await.expect("last"), last);
    let second = create(store.as_ref(), &config, draft(account.id, customer.id, "After")).await;
    let after = store.events_after(last, 100).await.expect("log");
    assert_eq!(after.iter().map(|logged| logged.position).collect::<Vec<_>>(), [last + 1, last + 2]);
    assert!(after.iter().all(|logged| logged.event.ticket_id == second.id) && first.id != second.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_event_log_survives_reopen() {
    event_log_survives_reopen(&TestDb::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_event_log_survives_reopen() {
    event_log_survives_reopen(&TestDb::new(Backend::Postgres).await).await;
}

/// Events written before migration 0013 get positions in id order, and the counter goes on
/// from the last of them; templates stored before 0014 become the first account's. `$pool` is a fresh database's pool, `$dir` its migrations folder.
macro_rules! check_backfill {
    ($db:expr, $pool:expr, $dir:literal) => {{
        let pool = $pool;
        let folder = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir));
        let migrator = sqlx::migrate::Migrator::new(folder).await.expect("migrations");
        migrator.run_to(12, &pool).await.expect("migrate to 0012");
        sqlx::raw_sql(
            "INSERT INTO accounts (id, name, priority_matrix, ticket_types, created_at) VALUES (1, 'Old', '[]', '[]', 0); \
             INSERT INTO tickets (id, account_id, number, subject, status, status_category, urgency, importance, priority, \
             priority_rank, tags, custom_fields, channel, requester_id, seq, created_at, updated_at) VALUES \
             (1, 1, 1, 'One', 'new', 'new', 'low', 'low', 'low', 0, '[]', '{}', 'web', 1, 2, 0, 0), \
             (2, 1, 2, 'Two', 'new', 'new', 'low', 'low', 'low', 0, '[]', '{}', 'web', 1, 2, 0, 0); \
             INSERT INTO ticket_events (id, account_id, ticket_id, seq, kind, data, actor_id, created_at) VALUES \
             (12, 1, 1, 2, 'renamed', '{}', NULL, 0), (5, 1, 2, 1, 'created', '{}', NULL, 0), \
             (9, 1, 1, 1, 'created', '{}', NULL, 0), (20, 1, 2, 2, 'renamed', '{}', NULL, 0); \
             INSERT INTO wa_templates (name, language, category, status, body, parameter_count, updated_at) VALUES \
             ('order_update', 'en_US', 'UTILITY', 'APPROVED', 'Shipped', 0, 0);",
        )
        .execute(&pool)
        .await
        .expect("rows written before 0013");
        migrator.run(&pool).await.expect("migrate the rest");
        let positions: Vec<(i64, i64)> = sqlx::query_as("SELECT id, position FROM ticket_events ORDER BY position")
            .fetch_all(&pool)
            .await
            .expect("positions");
        assert_eq!(positions, [(5, 1), (9, 2), (12, 3), (20, 4)], "numbered in id order");
        let template_accounts: Vec<i64> =
            sqlx::query_scalar("SELECT account_id FROM wa_templates").fetch_all(&pool).await.expect("templates");
        assert_eq!(template_accounts, [1], "templates stored before 0014 are the first account's");
        pool.close().await;
        let store = $db.open().await;
        assert_eq!(store.last_event_position().await.expect("last"), 4, "the counter goes on from the backfill");
    }};
}

#[tokio::test]
async fn sqlite_migrations_backfill_positions_and_template_accounts() {
    let db = TestDb::new(Backend::Sqlite).await;
    let options = std::str::FromStr::from_str(&db.url)
        .map(|options: sqlx::sqlite::SqliteConnectOptions| options.create_if_missing(true));
    let path = db.url.trim_start_matches("sqlite://");
    std::fs::create_dir_all(std::path::Path::new(path).parent().expect("a folder")).expect("folder");
    let pool = sqlx::SqlitePool::connect_with(options.expect("url")).await.expect("connect");
    check_backfill!(db, pool, "sqlite");
}

#[tokio::test]
async fn postgres_migrations_backfill_positions_and_template_accounts() {
    let db = TestDb::new(Backend::Postgres).await;
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    check_backfill!(db, pool, "postgres");
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
