//! SQLite's group-commit writer: one dedicated thread that owns one synchronous connection
//! (rusqlite) and writes each batch as one `BEGIN IMMEDIATE … COMMIT` of cached prepared
//! statements. Through sqlx every statement was a round trip to its connection's worker thread
//! (a channel send and a wake-up each way); here a batch costs one wake-up of this thread and one
//! reply per caller, and the statements are parsed once per connection, not per batch.
//!
//! The rows it writes are the ones the sqlx store reads (`shared_sql!`): timestamps as
//! milliseconds, enums as their `as_str`, JSON as text, booleans as 0/1. The full-text index
//! follows through the triggers of migrations 0019–0020, in the same transaction.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension as _, Transaction, TransactionBehavior, params};
use switchboard_actors::domain::{DeliveryError, DeliveryStatus, EventKind, Message, Ticket, TicketEvent, TicketId};
use switchboard_actors::reports::MeasureWrite;
use switchboard_actors::sla::SlaState;
use switchboard_actors::store::{StoreError, StoreResult, TicketCommit, TicketIdentity, TimerChange, TimerOwner};
use switchboard_actors::whatsapp::Conversation;

use super::group_commit::{BlockingBatchWriter, IndexRequests, WriteOp, WriteOutcome};
use super::sql::TICKET_COLUMNS;
use super::{json_text, millis};

pub struct SqliteBatchWriter {
    connection: Connection,
}

/// How often the writer asks again for a write lock another connection holds.
const BUSY_RETRY: Duration = Duration::from_micros(100);
/// How many times it asks before it gives up (the configured busy timeout); one writer per process.
static BUSY_TRIES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(50_000);

/// SQLite's busy handler for the writer's connection: `true` to try again.
fn retry_soon(tries_so_far: i32) -> bool {
    if u32::try_from(tries_so_far).unwrap_or(u32::MAX) >= BUSY_TRIES.load(std::sync::atomic::Ordering::Relaxed) {
        return false;
    }
    std::thread::sleep(BUSY_RETRY);
    true
}

impl SqliteBatchWriter {
    /// Opens the writer's own connection to the database file sqlx already created and migrated.
    pub fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<SqliteBatchWriter> {
        let connection = Connection::open(path)?;
        // Waiting for another connection's write lock (the pool's inbox claims, router leases,
        // the reports projection) by retrying every 100 µs, not with SQLite's default backoff,
        // which sleeps up to 100 ms a try: the group-commit batch (every webhook's durable
        // append) lost far more than the holder took (issue 16, T3's tail).
        let tries = (busy_timeout.as_micros() / BUSY_RETRY.as_micros()).clamp(1, u128::from(u32::MAX));
        BUSY_TRIES.store(tries as u32, std::sync::atomic::Ordering::Relaxed);
        connection.busy_handler(Some(retry_soon))?;
        // The same durability as the pool's connections: a commit is on disk before anyone is
        // told. `journal_mode` is a property of the file (WAL, set by the pool); the others are
        // per connection.
        connection.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        // The `Checkpointer`'s thread copies most WAL frames beside this writer; the writer's own
        // checkpoint, four times rarer than SQLite's default, finds little left and restarts the WAL.
        connection.execute_batch("PRAGMA wal_autocheckpoint = 4000;")?;
        // Every statement of a batch, kept prepared (the ticket update has 37 parameters).
        connection.set_prepared_statement_cache_capacity(64);
        Ok(SqliteBatchWriter { connection })
    }
}

impl BlockingBatchWriter for SqliteBatchWriter {
    fn write_batch(&mut self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>> {
        let tx = self.connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sqlite_error)?;
        let mut outcomes = Vec::with_capacity(ops.len());
        let (mut processed, mut processed_at) = (Vec::new(), 0_i64);
        let mut index_requests = IndexRequests::default();
        for op in ops.iter_mut() {
            let (commit, outcome) = match op {
                WriteOp::Create(commit) => {
                    let identity = insert_ticket(&tx, commit)?;
                    (&*commit, WriteOutcome::Created(identity))
                }
                // The ticket row is written with the batch's others, after the loop.
                WriteOp::Commit(commit) => (&*commit, WriteOutcome::Committed),
                WriteOp::SaveConversation { conversation, timers } => {
                    let id = upsert_conversation(&tx, conversation)?;
                    for (name, due) in timers.iter() {
                        let owner = TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, id);
                        apply_timer(&tx, &TimerChange { owner, name: name.clone(), due_at: Some(*due) })?;
                    }
                    outcomes.push(WriteOutcome::Saved(id));
                    continue;
                }
                WriteOp::CreateCustomer { user, channel, addresses, at } => {
                    let email = user.email.trim().to_lowercase();
                    // Created concurrently (two first messages at once): the caller finds that
                    // customer instead.
                    let id: Option<i64> = tx
                        .prepare_cached(
                            "INSERT INTO users (account_id, email, name, role, password_hash, company_id, capacity, \
                             time_zone, phone, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10) \
                             ON CONFLICT (email) DO NOTHING RETURNING id",
                        )
                        .and_then(|mut insert| {
                            insert
                                .query_row(
                                    params![
                                        user.account_id,
                                        email,
                                        user.name,
                                        user.role.as_str(),
                                        user.password_hash,
                                        user.company_id,
                                        user.capacity,
                                        user.time_zone,
                                        user.phone,
                                        millis(*at)
                                    ],
                                    |row| row.get(0),
                                )
                                .optional()
                        })
                        .map_err(sqlite_error)?;
                    let Some(id) = id else {
                        outcomes.push(WriteOutcome::Exists);
                        continue;
                    };
                    execute(
                        &tx,
                        "INSERT INTO contacts (account_id, user_id, channel, address) VALUES (?1, ?2, 'email', ?3)",
                        params![user.account_id, id, email],
                    )?;
                    let mut contact = tx
                        .prepare_cached(
                            "INSERT INTO contacts (account_id, user_id, channel, address) VALUES (?1, ?2, ?3, ?4) \
                             ON CONFLICT (account_id, channel, address) DO UPDATE SET user_id = excluded.user_id",
                        )
                        .map_err(sqlite_error)?;
                    for address in addresses.iter() {
                        contact
                            .execute(params![user.account_id, id, channel.as_str(), address])
                            .map_err(sqlite_error)?;
                    }
                    outcomes.push(WriteOutcome::Saved(id));
                    continue;
                }
                WriteOp::Timer(change) => {
                    apply_timer(&tx, change)?;
                    outcomes.push(WriteOutcome::Committed);
                    continue;
                }
                // Processed entries are marked together after the loop; the rare one that could
                // not be processed keeps its reason.
                WriteOp::InboxDone { id, error: None, at } => {
                    processed.push(*id);
                    processed_at = processed_at.max(millis(*at));
                    outcomes.push(WriteOutcome::Committed);
                    continue;
                }
                WriteOp::InboxDone { id, error, at } => {
                    execute(
                        &tx,
                        "UPDATE webhook_inbox SET processed_at = ?1, error = ?2 WHERE id = ?3",
                        params![millis(*at), error.as_deref(), *id],
                    )?;
                    outcomes.push(WriteOutcome::Committed);
                    continue;
                }
                WriteOp::RecordMeasures { from, to, write } => {
                    let started = std::time::Instant::now();
                    record_measures(&tx, *from, *to, write)?;
                    metrics::histogram!("switchboard_reports_write_seconds").record(started.elapsed().as_secs_f64());
                    outcomes.push(WriteOutcome::Committed);
                    continue;
                }
                WriteOp::MoveCursor { cursor, from, to } => {
                    let moved = tx
                        .prepare_cached(&format!(
                            "UPDATE {} SET position = ?1 WHERE id = 1 AND position = ?2",
                            cursor.table()
                        ))
                        .and_then(|mut update| update.execute(params![*to, *from]))
                        .map_err(sqlite_error)?;
                    outcomes.push(if moved == 1 { WriteOutcome::Committed } else { WriteOutcome::Exists });
                    continue;
                }
                // Rebuilt after the batch's messages are in (below), so it covers them.
                WriteOp::IndexSearch { limit, .. } => {
                    index_requests.add(&mut outcomes, *limit);
                    continue;
                }
                WriteOp::InboxAppend { body, received_at, claimed_until, .. } => {
                    let id: i64 = tx
                        .prepare_cached(
                            "INSERT INTO webhook_inbox (received_at, body, claimed_until) VALUES (?1, ?2, ?3) RETURNING id",
                        )
                        .and_then(|mut insert| {
                            insert.query_row(params![millis(*received_at), body.as_str(), claimed_until.map(millis)], |row| {
                                row.get(0)
                            })
                        })
                        .map_err(sqlite_error)?;
                    outcomes.push(WriteOutcome::Saved(id));
                    continue;
                }
            };
            let tags_changed = matches!(outcome, WriteOutcome::Created(_))
                || commit.events.iter().any(|event| matches!(event.kind, EventKind::TagsChanged { .. }));
            if tags_changed {
                replace_tags(&tx, &commit.ticket)?;
            }
            for change in &commit.timers {
                apply_timer(&tx, change)?;
            }
            outcomes.push(outcome);
        }
        // Each changed ticket once, in its latest state (a ticket may commit twice in a batch).
        let mut latest: Vec<&Ticket> = Vec::new();
        let mut index_of: HashMap<TicketId, usize> = HashMap::new();
        for op in ops.iter() {
            if let WriteOp::Commit(commit) = op {
                match index_of.get(&commit.ticket.id) {
                    Some(&at) => latest[at] = &commit.ticket,
                    None => {
                        index_of.insert(commit.ticket.id, latest.len());
                        latest.push(&commit.ticket);
                    }
                }
            }
        }
        for ticket in latest {
            update_ticket(&tx, ticket)?;
        }
        for id in processed {
            execute(
                &tx,
                "UPDATE webhook_inbox SET processed_at = ?1, error = NULL WHERE id = ?2",
                params![processed_at, id],
            )?;
        }
        let commits = ops.iter().filter_map(WriteOp::ticket_commit);
        for message in commits.clone().flat_map(|commit| &commit.messages) {
            insert_message(&tx, message)?;
        }
        // After the messages: an event may change a message added in the same batch (a reply
        // and its `sent` in one commit, or a merge moving a message just written).
        for commit in commits.clone() {
            for event in &commit.events {
                write_event_effects(&tx, commit.ticket.id, event)?;
            }
        }
        if let Some(limit) = index_requests.limit() {
            index_requests.answer(&mut outcomes, rebuild_pending_search(&tx, limit)?);
        }
        let events: Vec<&TicketEvent> = commits.flat_map(|commit| &commit.events).collect();
        // Last, so the counter row stays locked only for the inserts and the commit (see
        // `take_positions` of the shared writer: positions follow commit order).
        if !events.is_empty() {
            let count = events.len() as i64;
            let last: i64 = tx
                .prepare_cached(
                    "UPDATE event_log_position SET last_position = last_position + ?1 WHERE id = 1 RETURNING last_position",
                )
                .and_then(|mut take| take.query_row([count], |row| row.get(0)))
                .map_err(sqlite_error)?;
            for (event, position) in events.into_iter().zip(last - count + 1..) {
                insert_event(&tx, event, position)?;
            }
        }
        tx.commit().map_err(sqlite_error)?;
        Ok(outcomes)
    }
}

/// What an event writes besides its own row: delivery states, moved messages, automation runs,
/// changed attachments.
fn write_event_effects(tx: &Transaction<'_>, ticket_id: TicketId, event: &TicketEvent) -> StoreResult<()> {
    match &event.kind {
        EventKind::DeliveryChanged { message_id, status, provider_id, error } => {
            record_delivery(tx, message_id, *status, provider_id.as_deref(), error.as_ref())
        }
        // Merges and splits move messages between threads: each in the commit of the ticket that
        // takes them, and only from the ticket they leave.
        EventKind::MergedIn { source_id: from, message_ids, .. }
        | EventKind::SplitFrom { original_id: from, message_ids, .. } => {
            move_messages(tx, message_ids, *from, ticket_id)
        }
        EventKind::MergeUndone { source_id: to, message_ids, .. } => move_messages(tx, message_ids, ticket_id, *to),
        EventKind::AutomationRan { rule_id, result, .. } => execute(
            tx,
            "INSERT INTO automation_runs (account_id, rule_id, ticket_id, seq, ran_at, result, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                event.account_id,
                rule_id,
                ticket_id,
                event.seq,
                millis(event.at),
                result.as_str(),
                json_text(&event.kind)?
            ],
        ),
        EventKind::AttachmentsChanged { message_id, attachments } => execute(
            tx,
            "UPDATE messages SET attachments = ?1 WHERE id = ?2",
            params![json_text(attachments)?, message_id],
        ),
        _ => Ok(()),
    }
}

/// Runs one cached statement.
fn execute(tx: &Transaction<'_>, sql: &str, params: impl rusqlite::Params) -> StoreResult<()> {
    tx.prepare_cached(sql).and_then(|mut statement| statement.execute(params)).map(|_| ()).map_err(sqlite_error)
}

/// `INSERT INTO tickets (…) VALUES (?1, …)` and `UPDATE tickets SET … WHERE id = ?37`, built once
/// from the shared column list so the two writers cannot disagree on the columns.
static TICKET_INSERT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let values: Vec<String> = (1..=TICKET_COLUMNS.len()).map(|n| format!("?{n}")).collect();
    format!("INSERT INTO tickets ({}) VALUES ({}) RETURNING id", TICKET_COLUMNS.join(", "), values.join(", "))
});
static TICKET_UPDATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let sets: Vec<String> =
        TICKET_COLUMNS.iter().enumerate().map(|(index, column)| format!("{column} = ?{}", index + 1)).collect();
    format!("UPDATE tickets SET {} WHERE id = ?{}", sets.join(", "), TICKET_COLUMNS.len() + 1)
});

/// A ticket's [`TICKET_COLUMNS`] values, in order.
fn ticket_values(ticket: &Ticket) -> StoreResult<Vec<rusqlite::types::Value>> {
    use rusqlite::types::Value;
    let int = |value: i64| Value::Integer(value);
    let text = |value: &str| Value::Text(value.to_owned());
    let opt_int = |value: Option<i64>| value.map_or(Value::Null, Value::Integer);
    let opt_at = |at: Option<Timestamp>| opt_int(at.map(millis));
    let opt_text = |value: Option<String>| value.map_or(Value::Null, Value::Text);
    Ok(vec![
        int(ticket.account_id),
        int(ticket.number),
        text(&ticket.subject),
        text(&ticket.status),
        text(ticket.status_category.as_str()),
        text(ticket.urgency.as_str()),
        text(ticket.importance.as_str()),
        text(ticket.priority.as_str()),
        int(ticket.priority.rank()),
        opt_text(ticket.ticket_type.clone()),
        opt_int(ticket.category_id),
        Value::Text(json_text(&ticket.tags)?),
        Value::Text(json_text(&ticket.custom_fields)?),
        text(ticket.channel.as_str()),
        int(ticket.requester_id),
        opt_int(ticket.company_id),
        opt_int(ticket.assignee_id),
        opt_int(ticket.team_id),
        opt_at(ticket.assigned_at),
        opt_at(ticket.snoozed_until),
        int(ticket.seq),
        int(millis(ticket.created_at)),
        int(millis(ticket.updated_at)),
        opt_at(ticket.first_response_at),
        opt_at(ticket.resolved_at),
        opt_at(ticket.closed_at),
        opt_at(ticket.last_customer_message_at),
        opt_at(ticket.last_agent_message_at),
        int(ticket.last_customer_seq),
        opt_text(ticket.sla.as_ref().map(json_text).transpose()?),
        opt_at(ticket.sla_due_at()),
        opt_at(ticket.sla.as_ref().and_then(SlaState::warn_at)),
        opt_text(ticket.last_customer_channel.map(|channel| channel.as_str().to_owned())),
        opt_text((!ticket.links.is_empty()).then(|| json_text(&ticket.links)).transpose()?),
        opt_text((!ticket.automations.is_empty()).then(|| json_text(&ticket.automations)).transpose()?),
        opt_text(ticket.preview.clone()),
    ])
}

fn insert_ticket(tx: &Transaction<'_>, commit: &mut TicketCommit) -> StoreResult<TicketIdentity> {
    let number: i64 = tx
        .prepare_cached(
            "UPDATE accounts SET ticket_counter = ticket_counter + 1 WHERE id = ?1 RETURNING ticket_counter",
        )
        .and_then(|mut next| next.query_row([commit.ticket.account_id], |row| row.get(0)).optional())
        .map_err(sqlite_error)?
        .ok_or(StoreError::NotFound)?;
    commit.ticket.number = number;
    let values = ticket_values(&commit.ticket)?;
    let id: i64 = tx
        .prepare_cached(&TICKET_INSERT)
        .and_then(|mut insert| insert.query_row(rusqlite::params_from_iter(values), |row| row.get(0)))
        .map_err(sqlite_error)?;
    let identity = TicketIdentity { id, number };
    commit.assign_identity(identity);
    Ok(identity)
}

/// Writes a ticket's new state; `NotFound` when it is missing.
fn update_ticket(tx: &Transaction<'_>, ticket: &Ticket) -> StoreResult<()> {
    let mut values = ticket_values(ticket)?;
    values.push(rusqlite::types::Value::Integer(ticket.id));
    let updated = tx
        .prepare_cached(&TICKET_UPDATE)
        .and_then(|mut update| update.execute(rusqlite::params_from_iter(values)))
        .map_err(sqlite_error)?;
    if updated == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

fn replace_tags(tx: &Transaction<'_>, ticket: &Ticket) -> StoreResult<()> {
    execute(tx, "DELETE FROM ticket_tags WHERE ticket_id = ?1", [ticket.id])?;
    for tag in &ticket.tags {
        execute(
            tx,
            "INSERT INTO ticket_tags (ticket_id, account_id, tag) VALUES (?1, ?2, ?3)",
            params![ticket.id, ticket.account_id, tag],
        )?;
    }
    Ok(())
}

/// A reports pass: its measure changes, the per-ticket cells' and per-day aggregates' move by
/// them and the cursor's, row by row through cached statements (the rows the sqlx store reads).
fn record_measures(tx: &Transaction<'_>, from: i64, to: i64, write: &MeasureWrite) -> StoreResult<()> {
    let moved = tx
        .prepare_cached("UPDATE report_cursor SET position = ?1 WHERE id = 1 AND position = ?2")
        .and_then(|mut update| update.execute(params![to, from]))
        .map_err(sqlite_error)?;
    if moved != 1 {
        return Err(StoreError::Conflict("the reports' cursor moved".to_owned()));
    }
    for ticket in &write.replaced {
        execute(tx, "DELETE FROM report_measures WHERE ticket_id = ?1", params![ticket])?;
    }
    for (ticket, metric, at) in &write.deleted {
        execute(
            tx,
            "DELETE FROM report_measures WHERE ticket_id = ?1 AND metric = ?2 AND at = ?3",
            params![ticket, metric.as_str(), millis(*at)],
        )?;
    }
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO report_measures (ticket_id, account_id, metric, at, day, value_ms, business_ms, replies, \
             actor_id, detail, assignee_id, team_id, channel, company_id, category_id, priority) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )
        .map_err(sqlite_error)?;
    for measure in &write.inserted {
        let dims = &measure.dimensions;
        insert
            .execute(params![
                measure.ticket_id,
                measure.account_id,
                measure.metric.as_str(),
                millis(measure.at),
                measure.day.to_string(),
                measure.value_ms,
                measure.business_ms,
                measure.replies,
                measure.actor_id,
                measure.detail,
                dims.assignee_id,
                dims.team_id,
                dims.channel.map(|channel| channel.as_str()),
                dims.company_id,
                dims.category_id,
                dims.priority.map(|priority| priority.as_str()),
            ])
            .map_err(sqlite_error)?;
    }
    for (key, total) in &write.ticket_day_deltas {
        execute(
            tx,
            "INSERT INTO report_ticket_days (account_id, day, metric, detail, flag, ticket_id, count, sum_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (account_id, metric, day, detail, flag, ticket_id) \
             DO UPDATE SET count = count + excluded.count, sum_ms = sum_ms + excluded.sum_ms",
            params![
                key.account_id,
                key.day.to_string(),
                key.metric.as_str(),
                key.detail,
                key.flag,
                key.ticket_id,
                total.count,
                total.sum_ms
            ],
        )?;
    }
    for ticket in &write.emptied_tickets {
        execute(
            tx,
            "DELETE FROM report_ticket_days WHERE ticket_id = ?1 AND count = 0 AND sum_ms = 0",
            params![ticket],
        )?;
    }
    for (key, total) in &write.daily_deltas {
        execute(
            tx,
            "INSERT INTO report_daily (account_id, day, metric, detail, flag, dimension, dimension_key, count, sum_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
             ON CONFLICT (account_id, dimension, day, metric, detail, flag, dimension_key) \
             DO UPDATE SET count = count + excluded.count, sum_ms = sum_ms + excluded.sum_ms",
            params![
                key.account_id,
                key.day.to_string(),
                key.metric.as_str(),
                key.detail,
                key.flag,
                key.dimension,
                key.key,
                total.count,
                total.sum_ms
            ],
        )?;
    }
    for key in &write.emptied_daily_keys {
        execute(
            tx,
            "DELETE FROM report_daily WHERE account_id = ?1 AND dimension = ?2 AND day = ?3 AND metric = ?4 \
             AND detail = ?5 AND flag = ?6 AND dimension_key = ?7 AND count = 0 AND sum_ms = 0",
            params![
                key.account_id,
                key.dimension,
                key.day.to_string(),
                key.metric.as_str(),
                key.detail,
                key.flag,
                key.key
            ],
        )?;
    }
    Ok(())
}

fn apply_timer(tx: &Transaction<'_>, change: &TimerChange) -> StoreResult<()> {
    match change.due_at {
        Some(due) => execute(
            tx,
            "INSERT INTO timers (owner_kind, owner_id, name, due_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (owner_kind, owner_id, name) DO UPDATE SET due_at = excluded.due_at, claimed_until = NULL",
            params![change.owner.kind(), change.owner.id(), change.name, millis(due)],
        ),
        None => execute(
            tx,
            "DELETE FROM timers WHERE owner_kind = ?1 AND owner_id = ?2 AND name = ?3",
            params![change.owner.kind(), change.owner.id(), change.name],
        ),
    }
}

/// Moves a message's delivery status forward; never backwards (ranks only grow).
fn record_delivery(
    tx: &Transaction<'_>,
    message_id: &str,
    status: DeliveryStatus,
    provider_id: Option<&str>,
    error: Option<&DeliveryError>,
) -> StoreResult<()> {
    execute(
        tx,
        "UPDATE messages SET delivery_status = ?1, delivery_rank = ?2, \
         provider_id = COALESCE(?3, provider_id), delivery_error = COALESCE(?4, delivery_error) \
         WHERE id = ?5 AND delivery_rank < ?2",
        params![status.as_str(), status.rank(), provider_id, error.map(json_text).transpose()?, message_id],
    )
}

/// Inserts a new conversation (id 0) or updates one; its id.
fn upsert_conversation(tx: &Transaction<'_>, c: &Conversation) -> StoreResult<i64> {
    let referral = c.referral.as_ref().map(json_text).transpose()?;
    let opt = |at: Option<Timestamp>| at.map(millis);
    if c.id == 0 {
        return tx
            .prepare_cached(
                "INSERT INTO wa_conversations (account_id, phone_number_id, customer_id, wa_id, user_key, window_expires_at, \
                 last_inbound_at, current_ticket_id, opted_out, referral, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) RETURNING id",
            )
            .and_then(|mut insert| {
                insert.query_row(
                    params![
                        c.account_id,
                        c.phone_number_id,
                        c.customer_id,
                        c.wa_id,
                        c.user_key,
                        opt(c.window_expires_at),
                        opt(c.last_inbound_at),
                        c.current_ticket_id,
                        c.opted_out,
                        referral,
                        millis(c.updated_at)
                    ],
                    |row| row.get(0),
                )
            })
            .map_err(sqlite_error);
    }
    execute(
        tx,
        "UPDATE wa_conversations SET wa_id = ?1, user_key = ?2, window_expires_at = ?3, last_inbound_at = ?4, \
         current_ticket_id = ?5, opted_out = ?6, referral = ?7, updated_at = ?8 WHERE id = ?9",
        params![
            c.wa_id,
            c.user_key,
            opt(c.window_expires_at),
            opt(c.last_inbound_at),
            c.current_ticket_id,
            c.opted_out,
            referral,
            millis(c.updated_at),
            c.id
        ],
    )?;
    Ok(c.id)
}

/// Moves the messages `ids` of ticket `from` to ticket `to` (one account's).
fn move_messages(tx: &Transaction<'_>, ids: &[String], from: TicketId, to: TicketId) -> StoreResult<()> {
    for id in ids {
        execute(tx, "UPDATE messages SET ticket_id = ?1 WHERE ticket_id = ?2 AND id = ?3", params![to, from, id])?;
    }
    Ok(())
}

/// Rebuilds up to `limit` (all with `None`) of the full-text bands new messages marked pending
/// (migration 0042), each through 0020's band rebuild, and clears their marks. One statement for
/// all of them: FTS5 writes its pending terms out as a new segment at every statement's
/// savepoint, so a statement per band made a segment (and merge work) per band — a tenth of the
/// hub's CPU at full ingest.
fn rebuild_pending_search(tx: &Transaction<'_>, limit: Option<usize>) -> StoreResult<usize> {
    let limit = limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    // The same rows twice (same order and limit, one writer): rebuilt, then unmarked.
    execute(
        tx,
        "INSERT INTO ticket_search_bands (ticket_id, seq) \
         SELECT ticket_id, band * 32 FROM ticket_search_pending ORDER BY ticket_id, band LIMIT ?1",
        params![limit],
    )?;
    let rebuilt = tx
        .prepare_cached(
            "DELETE FROM ticket_search_pending WHERE (ticket_id, band) IN \
             (SELECT ticket_id, band FROM ticket_search_pending ORDER BY ticket_id, band LIMIT ?1)",
        )
        .and_then(|mut delete| delete.execute(params![limit]))
        .map_err(sqlite_error)?;
    Ok(rebuilt)
}

fn insert_message(tx: &Transaction<'_>, message: &Message) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO messages (id, account_id, ticket_id, seq, kind, author_id, channel, body, attachments, \
         delivery_status, provider_id, payload, delivery_rank, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            message.id,
            message.account_id,
            message.ticket_id,
            message.seq,
            message.kind.as_str(),
            message.author_id,
            message.channel.as_str(),
            message.body,
            json_text(&message.attachments)?,
            message.delivery_status.map(|status| status.as_str()),
            message.provider_id,
            message.payload.as_ref().map(json_text).transpose()?,
            message.delivery_status.map_or(0, |status| status.rank()),
            millis(message.created_at)
        ],
    )
}

fn insert_event(tx: &Transaction<'_>, event: &TicketEvent, position: i64) -> StoreResult<()> {
    execute(
        tx,
        "INSERT INTO ticket_events (account_id, ticket_id, seq, kind, data, actor_id, created_at, position) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            event.account_id,
            event.ticket_id,
            event.seq,
            event.kind.name(),
            json_text(&event.kind)?,
            event.actor_id,
            millis(event.at),
            position
        ],
    )
}

/// The same errors the sqlx store gives for the same failures: a unique violation (a ticket seq
/// taken, an email in use) is a `Conflict`, a missing referenced row `NotFound`, a locked database
/// `Unavailable`.
fn sqlite_error(error: rusqlite::Error) -> StoreError {
    use rusqlite::ffi;
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                StoreError::Conflict(message.clone().unwrap_or_else(|| error.to_string()))
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::NotFound,
            _ if matches!(failure.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                StoreError::Unavailable(error.to_string())
            }
            _ => StoreError::Internal(error.to_string()),
        },
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        _ => StoreError::Internal(error.to_string()),
    }
}

/// Moves WAL frames into the database file on a thread of its own, so that the writer's own
/// checkpoints (SQLite's `wal_autocheckpoint`, run inside the commit that crosses the threshold,
/// while every webhook's durable append waits) find little left to copy. A passive checkpoint
/// blocks no reader and no writer. It alone cannot restart the WAL under steady writes (new
/// frames keep arriving while it copies), so the writer keeps a checkpoint of its own, rarer.
/// The thread stops when this is dropped.
pub struct Checkpointer {
    _stop: flume::Sender<()>,
}

impl Checkpointer {
    pub fn start(path: &Path, every: Duration) -> std::io::Result<Checkpointer> {
        let connection = Connection::open(path).map_err(std::io::Error::other)?;
        connection.busy_timeout(Duration::from_secs(5)).map_err(std::io::Error::other)?;
        let (stop, stopped) = flume::bounded::<()>(1);
        std::thread::Builder::new().name("sqlite-checkpoint".to_owned()).spawn(move || {
            while let Err(flume::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let started = std::time::Instant::now();
                match connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(1)) {
                    Ok(frames) if frames > 0 => metrics::histogram!("switchboard_sqlite_checkpoint_seconds")
                        .record(started.elapsed().as_secs_f64()),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "WAL checkpoint failed; the next one retries"),
                }
            }
        })?;
        Ok(Checkpointer { _stop: stop })
    }
}
