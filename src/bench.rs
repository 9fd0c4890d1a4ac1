//! `switchboard bench seed-search`: fills a fresh database with a searchable account for the
//! search benchmark (`switchboard-load search`): N tickets of K messages each, written the way the
//! ticket actor writes them (the same pure decisions, the same commits through the group-commit
//! writer), in text drawn from a support vocabulary with a long tail, so some words are on half
//! the tickets and some on a handful.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use futures_util::{StreamExt as _, stream};
use switchboard_actors::clock::{Clock as _, SystemClock};
use switchboard_actors::domain::*;
use switchboard_actors::store::{NewUser, Store, TicketCommit};
use switchboard_actors::ticket::{CommandContext, NewMessage, TicketCommand, TicketDraft, messages_of, open_ticket};

/// The benchmark's staff login (the load tool's `--email`/`--password`).
pub const BENCH_ADMIN: &str = "search-admin@bench.switchboard.test";

/// Tickets written at once (each is two commits: opened, then its other messages).
const CONCURRENCY: usize = 64;

/// Words of support conversations, most common first: picked with a Zipf-like skew.
const VOCABULARY: &str = "the order refund delivery payment account login password invoice card package \
    address shipping tracking number cancel return replace broken damaged late missing wrong size colour \
    charge bank transfer receipt discount coupon code subscription plan upgrade downgrade renewal trial \
    email phone whatsapp message reply agent manager supervisor complaint feedback review rating store \
    branch courier warehouse stock backorder preorder exchange voucher gift wallet balance credit debit \
    declined pending approved verified blocked locked reset expired invalid error crash freeze slow app \
    website checkout cart basket product item quantity price tax fee shipping customs duty international \
    domestic express standard weekend holiday monday tuesday wednesday thursday friday morning evening \
    urgent asap today tomorrow yesterday week month contract warranty guarantee repair technician visit \
    appointment booking schedule reschedule confirm confirmation notification reminder alert sms printer \
    laptop router modem signal outage network wifi cable battery charger screen keyboard mouse headset \
    camera microphone speaker firmware update install uninstall license activation serial key portal \
    dashboard report export import sync backup restore migrate integration api webhook token permission \
    invoice billing vat company business personal family student pensioner loyalty points membership";

/// A small, seeded generator (xorshift): the same database for the same arguments.
struct Words {
    state: u64,
    vocabulary: Vec<&'static str>,
}

impl Words {
    fn new(seed: u64) -> Words {
        Words { state: seed | 1, vocabulary: VOCABULARY.split_whitespace().collect() }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A word, skewed to the front of the vocabulary (the square of a uniform draw).
    fn word(&mut self) -> &'static str {
        let uniform = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        let index = (uniform * uniform * self.vocabulary.len() as f64) as usize;
        self.vocabulary[index.min(self.vocabulary.len() - 1)]
    }

    /// A rare token: one of 100,000, so each names a handful of messages.
    fn rare(&mut self) -> String {
        format!("ref{}", self.next() % 100_000)
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut text: Vec<String> = (0..words).map(|_| self.word().to_owned()).collect();
        let rare_at = (self.next() as usize) % text.len();
        text[rare_at] = self.rare();
        text.join(" ")
    }
}

pub async fn seed_search(
    store: &Arc<dyn Store>,
    tickets: u64,
    messages_per_ticket: u64,
    spread_days: u64,
) -> anyhow::Result<()> {
    let account = crate::cli::default_account(store.as_ref()).await?;
    let hash = crate::auth::hash_password("search-benchmark")?;
    let user = |email: &str, name: &str, role: Role, hash: Option<String>| NewUser {
        account_id: account.id,
        email: email.to_owned(),
        name: name.to_owned(),
        role,
        password_hash: hash,
        company_id: None,
        team_ids: Vec::new(),
        capacity: 50,
        time_zone: "UTC".to_owned(),
        phone: None,
    };
    let admin = match store.user_credentials(BENCH_ADMIN).await? {
        Some(credentials) => credentials.user,
        None => store.create_user(user(BENCH_ADMIN, "Search Admin", Role::Admin, Some(hash))).await?,
    };
    let mut customers = Vec::new();
    for n in 0..200 {
        let email = format!("customer{n}@bench.switchboard.test");
        let existing = store.user_credentials(&email).await?.map(|credentials| credentials.user);
        customers.push(match existing {
            Some(customer) => customer,
            None => store.create_user(user(&email, &format!("Customer {n}"), Role::Customer, None)).await?,
        });
    }
    let account_id = account.id;
    let config = Arc::new(store.account_config(account.id).await?);
    let started = Instant::now();
    let seeded_at = SystemClock.now();
    // Ticket n is written `n / tickets` of the spread before now, its messages at the same time.
    let spread_secs = (spread_days * 86_400) as f64;
    let written = AtomicU64::new(0);
    let results = stream::iter(0..tickets)
        .map(|n| {
            let (store, config, customers, written) = (store.clone(), config.clone(), &customers, &written);
            async move {
                let mut words = Words::new(n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1));
                let requester = customers[(n % customers.len() as u64) as usize].id;
                let back = (spread_secs * (tickets - 1 - n) as f64 / tickets as f64) as i64;
                let now = seeded_at - jiff::SignedDuration::from_secs(back);
                let draft = TicketDraft {
                    account_id,
                    subject: words.sentence(6),
                    body: Some(words.sentence(24)),
                    body_kind: MessageKind::Customer,
                    status: None,
                    urgency: Level::Medium,
                    importance: Level::Medium,
                    ticket_type: None,
                    category_id: None,
                    tags: Vec::new(),
                    custom_fields: CustomFields::new(),
                    channel: if n % 3 == 0 { Channel::Email } else { Channel::Whatsapp },
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
                };
                let (ticket, events, messages) = open_ticket(draft, &config, now).context("a benchmark ticket")?;
                let mut commit = TicketCommit { ticket, events, messages, timers: Vec::new() };
                let identity = store.create_ticket(commit.clone()).await?;
                commit.assign_identity(identity);
                let mut ticket = commit.ticket;
                let mut kinds = Vec::new();
                let context = CommandContext {
                    actor_id: Some(admin.id),
                    config: config.clone(),
                    expected_seq: None,
                    seen_seq: None,
                };
                for index in 1..messages_per_ticket {
                    let kind = match index % 5 {
                        0 => MessageKind::Note,
                        1 | 3 => MessageKind::Reply,
                        _ => MessageKind::Customer,
                    };
                    let command = TicketCommand::AddMessage(NewMessage::text(kind, words.sentence(20)));
                    let decision = ticket.decide(&command, &context, now).context("a benchmark message")?;
                    let events = ticket.append(decision.events, Some(admin.id), now);
                    // A reply went out when it was written: the reports count it (and the first
                    // response) at its send.
                    let sent: Vec<String> = events
                        .iter()
                        .filter_map(|event| match &event.kind {
                            EventKind::MessageAdded { message, .. } if message.kind == MessageKind::Reply => {
                                Some(message.id.clone())
                            }
                            _ => None,
                        })
                        .collect();
                    kinds.extend(events);
                    for message_id in sent {
                        let delivery = TicketCommand::RecordDelivery {
                            provider_id: Some(format!("bench-{message_id}")),
                            message_id,
                            status: DeliveryStatus::Sent,
                            error: None,
                        };
                        let decision = ticket.decide(&delivery, &context, now).context("a benchmark send")?;
                        kinds.extend(ticket.append(decision.events, None, now));
                    }
                }
                if !kinds.is_empty() {
                    store
                        .commit(TicketCommit {
                            ticket: ticket.clone(),
                            messages: messages_of(&kinds),
                            events: kinds,
                            timers: Vec::new(),
                        })
                        .await?;
                }
                let done = written.fetch_add(1, Ordering::Relaxed) + 1;
                if done % 10_000 == 0 {
                    eprintln!("{done} tickets in {:.0} s", started.elapsed().as_secs_f64());
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY);
    futures_util::pin_mut!(results);
    while let Some(result) = results.next().await {
        result?;
    }
    // The seeded log is history: nobody is to be notified of it and no webhook was subscribed
    // when it happened. Left behind, the notifier and the webhook dispatcher of a hub started on
    // the fixture would spend its first minutes reading every seeded ticket under whatever is
    // measured. (The reports' projection does read it: `reports rebuild`.)
    let end = store.last_event_position().await?;
    let now = SystemClock.now();
    store.record_notifications(store.notifier_position().await?, end, &[], now).await?;
    store.enqueue_webhook_deliveries(store.webhook_position().await?, end, &[], now).await?;
    // The full-text index, as a hub's background pass would have kept it.
    store.index_pending_search(None, false).await?;
    println!(
        "Seeded {tickets} tickets with {messages_per_ticket} messages each in {:.0} s. Log in as {BENCH_ADMIN} / search-benchmark.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Appends `count` messages from the customer to ticket `id`, in one commit, as the hub records
/// a customer's messages: a fixture for tests of what tails the log.
pub async fn add_customer_messages(store: &Arc<dyn Store>, id: TicketId, count: u64) -> anyhow::Result<()> {
    let mut ticket = store.ticket(id).await?.context("no such ticket")?;
    let customer = ticket.requester_id;
    let config = Arc::new(store.account_config(ticket.account_id).await?);
    let context = CommandContext { actor_id: Some(customer), config, expected_seq: None, seen_seq: None };
    let now = SystemClock.now();
    let mut events = Vec::new();
    for n in 0..count {
        let command =
            TicketCommand::AddMessage(NewMessage::text(MessageKind::Customer, format!("One more thing ({n})")));
        let decision = ticket.decide(&command, &context, now).context("a customer's message")?;
        events.extend(ticket.append(decision.events, Some(customer), now));
    }
    store.commit(TicketCommit { ticket, messages: messages_of(&events), events, timers: Vec::new() }).await?;
    Ok(())
}

/// `bench seed-automation`: the bench admin, a time rule (`tag: pending` for `due_in_secs`) and
/// `pending` tickets already waiting on it, each with its wait and its durable timer written
/// with the ticket, as a TicketActor would have armed them.
pub async fn seed_automation(store: &Arc<dyn Store>, pending: u64, due_in_secs: i64) -> anyhow::Result<()> {
    use switchboard_actors::automation::{Action, AutomationWait, NewRule, RuleSpec, When, engine::timer_name};
    use switchboard_actors::store::{TimerChange, TimerOwner};
    let account = crate::cli::default_account(store.as_ref()).await?;
    let admin = match store.user_credentials(BENCH_ADMIN).await? {
        Some(credentials) => credentials.user,
        None => {
            store
                .create_user(NewUser {
                    account_id: account.id,
                    email: BENCH_ADMIN.to_owned(),
                    name: "Search Admin".to_owned(),
                    role: Role::Admin,
                    password_hash: Some(crate::auth::hash_password("search-benchmark")?),
                    company_id: None,
                    team_ids: Vec::new(),
                    capacity: 50,
                    time_zone: "UTC".to_owned(),
                    phone: None,
                })
                .await?
        }
    };
    let spec = RuleSpec {
        when: When::Time {
            wait: format!("PT{due_in_secs}S"),
            while_query: "tag: pending".to_owned(),
            hours: switchboard_actors::automation::HoursMode::Calendar,
        },
        condition: None,
        then: vec![Action::AddTags { add_tags: vec!["waited".to_owned()] }],
    };
    let new = NewRule {
        account_id: account.id,
        name: "Pending waits".to_owned(),
        enabled: true,
        position: None,
        spec,
        created_by: admin.id,
    };
    let rule = store.create_rule(new, SystemClock.now()).await?;
    let config = Arc::new(store.account_config(account.id).await?);
    let started = Instant::now();
    let written = AtomicU64::new(0);
    let results = stream::iter(0..pending)
        .map(|n| {
            let (store, config, written) = (store.clone(), config.clone(), &written);
            async move {
                let now = SystemClock.now();
                let draft = TicketDraft {
                    account_id: account.id,
                    subject: format!("Waiting {n}"),
                    body: None,
                    body_kind: MessageKind::Customer,
                    status: None,
                    urgency: Level::Medium,
                    importance: Level::Medium,
                    ticket_type: None,
                    category_id: None,
                    tags: vec!["pending".to_owned()],
                    custom_fields: CustomFields::new(),
                    channel: Channel::Web,
                    requester_id: admin.id,
                    company_id: None,
                    minimum_priority: None,
                    assignee_id: None,
                    team_id: None,
                    created_by: Some(admin.id),
                    first_payload: None,
                    first_provider_id: None,
                    first_attachments: Vec::new(),
                    window: None,
                };
                let (mut ticket, events, messages) = open_ticket(draft, &config, now).context("a benchmark ticket")?;
                let due_at = now + jiff::SignedDuration::from_secs(due_in_secs);
                ticket.automations.waits.insert(rule.id, AutomationWait { since: now, due_at, fired: false });
                // Owned by ticket 0 until the store gives the ticket its id.
                let timer = TimerChange {
                    owner: TimerOwner::new(switchboard_actors::ticket::TIMER_KIND, 0),
                    name: timer_name(rule.id),
                    due_at: Some(due_at),
                };
                store.create_ticket(TicketCommit { ticket, events, messages, timers: vec![timer] }).await?;
                let done = written.fetch_add(1, Ordering::Relaxed) + 1;
                if done % 10_000 == 0 {
                    eprintln!("{done} waiting tickets in {:.0} s", started.elapsed().as_secs_f64());
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY);
    futures_util::pin_mut!(results);
    while let Some(result) = results.next().await {
        result?;
    }
    println!(
        "Seeded {pending} tickets waiting on rule {} (due in {due_in_secs} s) in {:.0} s. Log in as {BENCH_ADMIN} / search-benchmark.",
        rule.id,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
