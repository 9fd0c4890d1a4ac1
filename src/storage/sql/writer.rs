//! The SQL of the group-commit writer's batches (ticket commits, customers, inbox entries, timers), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! writer_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use crate::storage::group_commit::BatchWriter;

        /// A ticket's JSON columns, encoded before binding (binding itself cannot fail).
        struct TicketJson {
            tags: String,
            custom_fields: String,
            sla: Option<String>,
            links: Option<String>,
            automations: Option<String>,
        }

        fn ticket_json(ticket: &Ticket) -> StoreResult<TicketJson> {
            Ok(TicketJson {
                tags: json_text(&ticket.tags)?,
                custom_fields: json_text(&ticket.custom_fields)?,
                sla: ticket.sla.as_ref().map(json_text).transpose()?,
                links: (!ticket.links.is_empty()).then(|| json_text(&ticket.links)).transpose()?,
                automations: (!ticket.automations.is_empty()).then(|| json_text(&ticket.automations)).transpose()?,
            })
        }

        /// Binds a ticket's [`TICKET_COLUMNS`], in order, into one `VALUES` row.
        fn push_ticket(row: &mut sqlx::query_builder::Separated<'_, $db, &'static str>, ticket: &Ticket, json: TicketJson) {
            let opt = |at: Option<Timestamp>| at.map(millis);
            row.push_bind(ticket.account_id)
                .push_bind(ticket.number)
                .push_bind(ticket.subject.clone())
                .push_bind(ticket.status.clone())
                .push_bind(ticket.status_category.as_str())
                .push_bind(ticket.urgency.as_str())
                .push_bind(ticket.importance.as_str())
                .push_bind(ticket.priority.as_str())
                .push_bind(ticket.priority.rank())
                .push_bind(ticket.ticket_type.clone())
                .push_bind(ticket.category_id)
                .push_bind(json.tags)
                .push_bind(json.custom_fields)
                .push_bind(ticket.channel.as_str())
                .push_bind(ticket.requester_id)
                .push_bind(ticket.company_id)
                .push_bind(ticket.assignee_id)
                .push_bind(ticket.team_id)
                .push_bind(opt(ticket.assigned_at))
                .push_bind(opt(ticket.snoozed_until))
                .push_bind(ticket.seq)
                .push_bind(millis(ticket.created_at))
                .push_bind(millis(ticket.updated_at))
                .push_bind(opt(ticket.first_response_at))
                .push_bind(opt(ticket.resolved_at))
                .push_bind(opt(ticket.closed_at))
                .push_bind(opt(ticket.last_customer_message_at))
                .push_bind(opt(ticket.last_agent_message_at))
                .push_bind(ticket.last_customer_seq)
                .push_bind(json.sla)
                .push_bind(opt(ticket.sla_due_at()))
                .push_bind(opt(ticket.sla.as_ref().and_then(SlaState::warn_at)))
                .push_bind(ticket.last_customer_channel.map(|channel| channel.as_str()))
                .push_bind(json.links)
                .push_bind(json.automations)
                .push_bind(ticket.preview.clone());
        }

        impl $writer {
            async fn insert_ticket(tx: &mut DbTx, commit: &mut TicketCommit) -> StoreResult<TicketIdentity> {
                let number: i64 = sqlx::query_scalar(
                    "UPDATE accounts SET ticket_counter = ticket_counter + 1 WHERE id = $1 RETURNING ticket_counter",
                )
                .bind(commit.ticket.account_id)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db_error)?
                .ok_or(StoreError::NotFound)?;
                commit.ticket.number = number;
                let json = ticket_json(&commit.ticket)?;
                let mut insert = QueryBuilder::<$db>::new(TICKET_INSERT.as_str());
                insert.push_values([(&commit.ticket, json)], |mut row, (ticket, json)| push_ticket(&mut row, ticket, json));
                insert.push(" RETURNING id");
                let id: i64 =
                    insert.build().fetch_one(&mut **tx).await.map_err(db_error)?.try_get(0).map_err(db_error)?;
                let identity = TicketIdentity { id, number };
                commit.assign_identity(identity);
                Ok(identity)
            }

            async fn replace_tags(tx: &mut DbTx, ticket: &Ticket) -> StoreResult<()> {
                sqlx::query("DELETE FROM ticket_tags WHERE ticket_id = $1").bind(ticket.id).execute(&mut **tx).await.map_err(db_error)?;
                if ticket.tags.is_empty() {
                    return Ok(());
                }
                let mut insert = QueryBuilder::<$db>::new("INSERT INTO ticket_tags (ticket_id, account_id, tag) ");
                insert.push_values(&ticket.tags, |mut row, tag| {
                    row.push_bind(ticket.id).push_bind(ticket.account_id).push_bind(tag.clone());
                });
                insert.build().execute(&mut **tx).await.map_err(db_error).map(|_| ())
            }

            async fn apply_timer(tx: &mut DbTx, change: &TimerChange) -> StoreResult<()> {
                match change.due_at {
                    Some(due) => sqlx::query(
                        "INSERT INTO timers (owner_kind, owner_id, name, due_at) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (owner_kind, owner_id, name) DO UPDATE SET due_at = excluded.due_at, claimed_until = NULL",
                    )
                    .bind(change.owner.kind())
                    .bind(change.owner.id())
                    .bind(change.name.clone())
                    .bind(millis(due)),
                    None => sqlx::query("DELETE FROM timers WHERE owner_kind = $1 AND owner_id = $2 AND name = $3")
                        .bind(change.owner.kind())
                        .bind(change.owner.id())
                        .bind(change.name.clone()),
                }
                .execute(&mut **tx)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            /// Moves a message's delivery status forward; never backwards (ranks only grow).
            async fn record_delivery(
                tx: &mut DbTx,
                message_id: &str,
                status: DeliveryStatus,
                provider_id: Option<&str>,
                error: Option<&DeliveryError>,
            ) -> StoreResult<()> {
                let error = error.map(json_text).transpose()?;
                sqlx::query(
                    "UPDATE messages SET delivery_status = $1, delivery_rank = $2, \
                     provider_id = COALESCE($3, provider_id), delivery_error = COALESCE($4, delivery_error) \
                     WHERE id = $5 AND delivery_rank < $2",
                )
                .bind(status.as_str())
                .bind(status.rank())
                .bind(provider_id.map(str::to_owned))
                .bind(error)
                .bind(message_id.to_owned())
                .execute(&mut **tx)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            /// Writes the new state of every ticket a batch changed, `$tickets_per_update` per
            /// statement. `NotFound` when a ticket is missing.
            async fn update_tickets(tx: &mut DbTx, tickets: &[&Ticket]) -> StoreResult<()> {
                for chunk in tickets.chunks($tickets_per_update) {
                    let encoded = chunk.iter().map(|ticket| ticket_json(ticket)).collect::<StoreResult<Vec<_>>>()?;
                    let mut update = QueryBuilder::<$db>::new(TICKETS_UPDATE_HEAD.as_str());
                    update.push_values(chunk.iter().zip(encoded), |mut row, (ticket, json)| {
                        push_ticket(&mut row, ticket, json);
                        row.push_bind(ticket.id);
                    });
                    update.push(TICKETS_UPDATE_TAIL.as_str());
                    // Only the one-row shape repeats; caching every batch size would evict the rest.
                    let updated = update.build().persistent(chunk.len() == 1).execute(&mut **tx).await.map_err(db_error)?;
                    if updated.rows_affected() < chunk.len() as u64 {
                        return Err(StoreError::NotFound);
                    }
                }
                Ok(())
            }

            /// Hands out the event log's next `count` positions to this transaction; the first.
            ///
            /// The `UPDATE` locks the one counter row until this transaction commits or rolls
            /// back, so another transaction asking for positions waits here and then continues
            /// from the value this one committed: positions follow commit order, a rollback gives
            /// its positions back, and a reader that sees position N committed sees every lower
            /// one. Only the end of a batch holds the lock (it is taken after everything but the
            /// event inserts), and batches without events never take it.
            async fn take_positions(tx: &mut DbTx, count: usize) -> StoreResult<i64> {
                let count = count as i64;
                let last: i64 = sqlx::query_scalar(
                    "UPDATE event_log_position SET last_position = last_position + $1 WHERE id = 1 RETURNING last_position",
                )
                .bind(count)
                .fetch_one(&mut **tx)
                .await
                .map_err(db_error)?;
                Ok(last - count + 1)
            }

            /// Inserts `events` at positions `first_position`, `first_position + 1` … in order.
            async fn insert_events(tx: &mut DbTx, events: &[&TicketEvent], first_position: i64) -> StoreResult<()> {
                for (index, chunk) in events.chunks(INSERT_CHUNK).enumerate() {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO ticket_events (account_id, ticket_id, seq, kind, data, actor_id, created_at, position) ",
                    );
                    let mut encoded = Vec::with_capacity(chunk.len());
                    for event in chunk {
                        encoded.push(json_text(&event.kind)?);
                    }
                    let chunk_start = first_position + (index * INSERT_CHUNK) as i64;
                    insert.push_values(chunk.iter().zip(encoded).zip(chunk_start..), |mut row, ((event, data), position)| {
                        row.push_bind(event.account_id)
                            .push_bind(event.ticket_id)
                            .push_bind(event.seq)
                            .push_bind(event.kind.name())
                            .push_bind(data)
                            .push_bind(event.actor_id)
                            .push_bind(millis(event.at))
                            .push_bind(position);
                    });
                    insert.build().persistent(false).execute(&mut **tx).await.map_err(db_error)?;
                }
                Ok(())
            }

            /// Inserts a new conversation (id 0) or updates one; its id.
            async fn upsert_conversation(tx: &mut DbTx, c: &Conversation) -> StoreResult<i64> {
                let referral = c.referral.as_ref().map(json_text).transpose()?;
                let opt = |at: Option<Timestamp>| at.map(millis);
                if c.id == 0 {
                    return sqlx::query_scalar(
                        "INSERT INTO wa_conversations (account_id, phone_number_id, customer_id, wa_id, user_key, window_expires_at, \
                         last_inbound_at, current_ticket_id, opted_out, referral, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    )
                    .bind(c.account_id)
                    .bind(c.phone_number_id.clone())
                    .bind(c.customer_id)
                    .bind(c.wa_id.clone())
                    .bind(c.user_key.clone())
                    .bind(opt(c.window_expires_at))
                    .bind(opt(c.last_inbound_at))
                    .bind(c.current_ticket_id)
                    .bind(c.opted_out)
                    .bind(referral)
                    .bind(millis(c.updated_at))
                    .fetch_one(&mut **tx)
                    .await
                    .map_err(db_error);
                }
                sqlx::query(
                    "UPDATE wa_conversations SET wa_id = $1, user_key = $2, window_expires_at = $3, last_inbound_at = $4, \
                     current_ticket_id = $5, opted_out = $6, referral = $7, updated_at = $8 WHERE id = $9",
                )
                .bind(c.wa_id.clone())
                .bind(c.user_key.clone())
                .bind(opt(c.window_expires_at))
                .bind(opt(c.last_inbound_at))
                .bind(c.current_ticket_id)
                .bind(c.opted_out)
                .bind(referral)
                .bind(millis(c.updated_at))
                .bind(c.id)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
                Ok(c.id)
            }

            /// Moves the messages `ids` of ticket `from` to ticket `to` (one account's).
            async fn move_messages(tx: &mut DbTx, ids: &[String], from: TicketId, to: TicketId) -> StoreResult<()> {
                for chunk in ids.chunks(INSERT_CHUNK) {
                    let mut update = QueryBuilder::<$db>::new("UPDATE messages SET ticket_id = ");
                    update.push_bind(to).push(" WHERE ticket_id = ").push_bind(from).push(" AND id IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(id.clone());
                    }
                    update.push(")");
                    update.build().persistent(false).execute(&mut **tx).await.map_err(db_error)?;
                }
                Ok(())
            }

            async fn insert_messages(tx: &mut DbTx, messages: &[&Message]) -> StoreResult<()> {
                for chunk in messages.chunks(INSERT_CHUNK) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO messages (id, account_id, ticket_id, seq, kind, author_id, channel, body, attachments, \
                         delivery_status, provider_id, payload, delivery_rank, created_at) ",
                    );
                    let mut encoded = Vec::with_capacity(chunk.len());
                    for message in chunk {
                        let payload = message.payload.as_ref().map(json_text).transpose()?;
                        encoded.push((json_text(&message.attachments)?, payload));
                    }
                    insert.push_values(chunk.iter().zip(encoded), |mut row, (message, (attachments, payload))| {
                        row.push_bind(message.id.clone())
                            .push_bind(message.account_id)
                            .push_bind(message.ticket_id)
                            .push_bind(message.seq)
                            .push_bind(message.kind.as_str())
                            .push_bind(message.author_id)
                            .push_bind(message.channel.as_str())
                            .push_bind(message.body.clone())
                            .push_bind(attachments)
                            .push_bind(message.delivery_status.map(|status| status.as_str()))
                            .push_bind(message.provider_id.clone())
                            .push_bind(payload)
                            .push_bind(message.delivery_status.map_or(0, |status| status.rank()))
                            .push_bind(millis(message.created_at));
                    });
                    insert.build().persistent(false).execute(&mut **tx).await.map_err(db_error)?;
                }
                Ok(())
            }
        }

        /// A per-day cell's place, the first columns of both cell tables: account, day, metric,
        /// detail, flag.
        fn push_cell_place<'r, 'q>(
            row: &'r mut sqlx::query_builder::Separated<'q, $db, &'static str>,
            account: AccountId,
            day: jiff::civil::Date,
            metric: switchboard_actors::reports::measures::Metric,
            detail: &str,
            flag: i64,
        ) -> &'r mut sqlx::query_builder::Separated<'q, $db, &'static str> {
            row.push_bind(account).push_bind(day.to_string()).push_bind(metric.as_str()).push_bind(detail.to_owned()).push_bind(flag)
        }

        /// Moves the per-day aggregates by `deltas`, then removes the cells of `emptied` (the keys
        /// measures were taken out of) left at zero, so an aggregate rebuilt from zero has the
        /// same rows.
        async fn apply_daily_deltas(
            tx: &mut DbTx,
            deltas: &std::collections::BTreeMap<
                switchboard_actors::reports::DailyKey,
                switchboard_actors::reports::DailyTotal,
            >,
            emptied: &std::collections::BTreeSet<switchboard_actors::reports::DailyKey>,
        ) -> StoreResult<()> {
            let changed: Vec<_> = deltas.iter().collect();
            for chunk in changed.chunks(INSERT_CHUNK) {
                let mut insert = QueryBuilder::<$db>::new(
                    "INSERT INTO report_daily (account_id, day, metric, detail, flag, dimension, dimension_key, count, sum_ms) ",
                );
                insert.push_values(chunk, |mut row, (key, total)| {
                    push_cell_place(&mut row, key.account_id, key.day, key.metric, &key.detail, key.flag)
                        .push_bind(key.dimension)
                        .push_bind(key.key.clone())
                        .push_bind(total.count)
                        .push_bind(total.sum_ms);
                });
                insert.push(
                    " ON CONFLICT (account_id, dimension, day, metric, detail, flag, dimension_key) DO UPDATE SET \
                     count = report_daily.count + excluded.count, sum_ms = report_daily.sum_ms + excluded.sum_ms",
                );
                insert.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            // Each key spelled out and OR-ed (the primary key's lookups on both backends; a
            // row-value `IN (VALUES …)` is a table scan on SQLite), in chunks well under
            // SQLite's expression depth of 1,000.
            let emptied: Vec<_> = emptied.iter().collect();
            for chunk in emptied.chunks(200) {
                let mut delete = QueryBuilder::<$db>::new("DELETE FROM report_daily WHERE count = 0 AND sum_ms = 0 AND (");
                for (index, key) in chunk.iter().enumerate() {
                    delete.push(if index == 0 { "(account_id = " } else { " OR (account_id = " });
                    delete.push_bind(key.account_id).push(" AND dimension = ").push_bind(key.dimension);
                    delete.push(" AND day = ").push_bind(key.day.to_string()).push(" AND metric = ").push_bind(key.metric.as_str());
                    delete.push(" AND detail = ").push_bind(key.detail.clone()).push(" AND flag = ").push_bind(key.flag);
                    delete.push(" AND dimension_key = ").push_bind(key.key.clone()).push(")");
                }
                delete.push(")");
                delete.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            Ok(())
        }

        async fn insert_measures(
            tx: &mut DbTx,
            measures: &[switchboard_actors::reports::measures::Measure],
        ) -> StoreResult<()> {
            for chunk in measures.chunks(INSERT_CHUNK) {
                let mut insert =
                    QueryBuilder::<$db>::new(format!("INSERT INTO report_measures ({MEASURE_COLUMNS}) "));
                insert.push_values(chunk, |mut row, measure| {
                    let dims = &measure.dimensions;
                    row.push_bind(measure.ticket_id)
                        .push_bind(measure.account_id)
                        .push_bind(measure.metric.as_str())
                        .push_bind(millis(measure.at))
                        .push_bind(measure.day.to_string())
                        .push_bind(measure.value_ms)
                        .push_bind(measure.business_ms)
                        .push_bind(measure.replies)
                        .push_bind(measure.actor_id)
                        .push_bind(measure.detail.clone())
                        .push_bind(dims.assignee_id)
                        .push_bind(dims.team_id)
                        .push_bind(dims.channel.map(|channel| channel.as_str()))
                        .push_bind(dims.company_id)
                        .push_bind(dims.category_id)
                        .push_bind(dims.priority.map(|priority| priority.as_str()));
                });
                insert.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            Ok(())
        }

        /// A reports pass's write (its measure changes, the cells' and aggregates' move) and the
        /// cursor's, in `tx`.
        /// Rebuilds up to `limit` (all with `None`) pending full-text bands (migration 0042).
        /// Rows a message's transaction still holds are skipped, never waited for: that
        /// transaction marked them, and the next pass takes them once it committed (waiting
        /// could deadlock against a batch of another lane that waits for a row taken here).
        async fn rebuild_pending_search(tx: &mut DbTx, limit: Option<usize>) -> StoreResult<usize> {
            let taken: Vec<(i64, i32)> = sqlx::query_as(
                "DELETE FROM ticket_search_pending WHERE (ticket_id, band) IN \
                 (SELECT ticket_id, band FROM ticket_search_pending ORDER BY ticket_id, band LIMIT $1 \
                  FOR UPDATE SKIP LOCKED) RETURNING ticket_id, band",
            )
            .bind(limit.map(|limit| i64::try_from(limit).unwrap_or(i64::MAX)))
            .fetch_all(&mut **tx)
            .await
            .map_err(db_error)?;
            if taken.is_empty() {
                return Ok(0);
            }
            let count = taken.len();
            let (tickets, bands): (Vec<i64>, Vec<i32>) = taken.into_iter().unzip();
            // A statement after the DELETE, so its snapshot holds every message of the bands.
            sqlx::query("SELECT ticket_search_rebuild(t, b) FROM unnest($1::bigint[], $2::int[]) AS pending(t, b)")
                .bind(tickets)
                .bind(bands)
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            Ok(count)
        }

        async fn write_measures(
            tx: &mut DbTx,
            from: i64,
            to: i64,
            write: &switchboard_actors::reports::MeasureWrite,
        ) -> StoreResult<()> {
            let cells: Vec<_> = write.ticket_day_deltas.iter().collect();
            move_cursor(tx, "report_cursor", "the reports'", from, to).await?;
            for chunk in write.replaced.chunks(INSERT_CHUNK) {
                let mut delete = QueryBuilder::<$db>::new("DELETE FROM report_measures WHERE ");
                push_ticket_ids(&mut delete, chunk.iter().copied());
                delete.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            for chunk in write.deleted.chunks(INSERT_CHUNK) {
                // The ticket list first: it is what picks the index for the row values.
                let mut delete = QueryBuilder::<$db>::new("DELETE FROM report_measures WHERE ");
                let tickets: std::collections::BTreeSet<TicketId> = chunk.iter().map(|(ticket, _, _)| *ticket).collect();
                push_ticket_ids(&mut delete, tickets.into_iter());
                delete.push(" AND (ticket_id, metric, at) IN (");
                delete.push_values(chunk, |mut row, (ticket, metric, at)| {
                    row.push_bind(*ticket).push_bind(metric.as_str()).push_bind(millis(*at));
                });
                delete.push(")");
                delete.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            insert_measures(tx, &write.inserted).await?;
            for chunk in cells.chunks(INSERT_CHUNK) {
                let mut upsert = QueryBuilder::<$db>::new(
                    "INSERT INTO report_ticket_days (account_id, day, metric, detail, flag, ticket_id, count, sum_ms) ",
                );
                upsert.push_values(chunk, |mut row, (key, total)| {
                    push_cell_place(&mut row, key.account_id, key.day, key.metric, &key.detail, key.flag)
                        .push_bind(key.ticket_id)
                        .push_bind(total.count)
                        .push_bind(total.sum_ms);
                });
                upsert.push(
                    " ON CONFLICT (account_id, metric, day, detail, flag, ticket_id) DO UPDATE SET \
                     count = report_ticket_days.count + excluded.count, sum_ms = report_ticket_days.sum_ms + excluded.sum_ms",
                );
                upsert.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            for chunk in write.emptied_tickets.chunks(INSERT_CHUNK) {
                let mut delete =
                    QueryBuilder::<$db>::new("DELETE FROM report_ticket_days WHERE count = 0 AND sum_ms = 0 AND ");
                push_ticket_ids(&mut delete, chunk.iter().copied());
                delete.build().execute(&mut **tx).await.map_err(db_error)?;
            }
            apply_daily_deltas(tx, &write.daily_deltas, &write.emptied_daily_keys).await?;
            Ok(())
        }

        #[async_trait]
        impl BatchWriter for $writer {
            async fn write_batch(&self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let mut outcomes = Vec::with_capacity(ops.len());
                let (mut processed, mut processed_at) = (Vec::new(), 0_i64);
                let mut index_requests = crate::storage::group_commit::IndexRequests::default();
                for op in ops.iter_mut() {
                    let (commit, outcome) = match op {
                        WriteOp::Create(commit) => {
                            let identity = Self::insert_ticket(&mut tx, commit).await?;
                            (&*commit, WriteOutcome::Created(identity))
                        }
                        // The ticket row is written with the batch's others, after the loop.
                        WriteOp::Commit(commit) => (&*commit, WriteOutcome::Committed),
                        WriteOp::SaveConversation { conversation, timers } => {
                            let id = Self::upsert_conversation(&mut tx, conversation).await?;
                            for (name, due) in timers.iter() {
                                let change = TimerChange { owner: TimerOwner::new(switchboard_actors::whatsapp::conversation::TIMER_KIND, id), name: name.clone(), due_at: Some(*due) };
                                Self::apply_timer(&mut tx, &change).await?;
                            }
                            outcomes.push(WriteOutcome::Saved(id));
                            continue;
                        }
                        WriteOp::CreateCustomer { user, channel, addresses, at } => {
                            let email = user.email.trim().to_lowercase();
                            // Created concurrently (two first messages at once): the caller
                            // finds that customer instead.
                            let Some(id) = insert_user(&mut tx, user, &email, *at, true).await? else {
                                outcomes.push(WriteOutcome::Exists);
                                continue;
                            };
                            for address in addresses.iter() {
                                sqlx::query(CONTACT_UPSERT)
                                .bind(user.account_id)
                                .bind(id)
                                .bind(channel.as_str())
                                .bind(address.clone())
                                .execute(&mut *tx)
                                .await
                                .map_err(db_error)?;
                            }
                            outcomes.push(WriteOutcome::Saved(id));
                            continue;
                        }
                        WriteOp::Timer(change) => {
                            Self::apply_timer(&mut tx, change).await?;
                            outcomes.push(WriteOutcome::Committed);
                            continue;
                        }
                        // Processed entries are marked together after the loop; the rare one that
                        // could not be processed keeps its reason.
                        WriteOp::InboxDone { id, error: None, at } => {
                            processed.push(*id);
                            processed_at = processed_at.max(millis(*at));
                            outcomes.push(WriteOutcome::Committed);
                            continue;
                        }
                        WriteOp::InboxDone { id, error, at } => {
                            sqlx::query("UPDATE webhook_inbox SET processed_at = $1, error = $2 WHERE id = $3")
                                .bind(millis(*at))
                                .bind(error.clone())
                                .bind(*id)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_error)?;
                            outcomes.push(WriteOutcome::Committed);
                            continue;
                        }
                        WriteOp::RecordMeasures { from, to, write } => {
                            write_measures(&mut tx, *from, *to, write).await?;
                            outcomes.push(WriteOutcome::Committed);
                            continue;
                        }
                        WriteOp::MoveCursor { cursor, from, to } => {
                            let moved = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "UPDATE {} SET position = $1 WHERE id = 1 AND position = $2",
                                cursor.table()
                            )))
                            .bind(*to)
                            .bind(*from)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_error)?;
                            outcomes.push(if moved.rows_affected() == 1 { WriteOutcome::Committed } else { WriteOutcome::Exists });
                            continue;
                        }
                        // Rebuilt after the batch's messages are in (below), so it covers them.
                        WriteOp::IndexSearch { limit, .. } => {
                            index_requests.add(&mut outcomes, *limit);
                            continue;
                        }
                        WriteOp::InboxAppend { body, received_at, claimed_until, .. } => {
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO webhook_inbox (received_at, body, claimed_until) VALUES ($1, $2, $3) RETURNING id",
                            )
                            .bind(millis(*received_at))
                            .bind(body.as_str())
                            .bind(claimed_until.map(millis))
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(db_error)?;
                            outcomes.push(WriteOutcome::Saved(id));
                            continue;
                        }
                    };
                    let tags_changed = matches!(outcome, WriteOutcome::Created(_))
                        || commit.events.iter().any(|event| matches!(event.kind, EventKind::TagsChanged { .. }));
                    if tags_changed {
                        Self::replace_tags(&mut tx, &commit.ticket).await?;
                    }
                    for change in &commit.timers {
                        Self::apply_timer(&mut tx, change).await?;
                    }
                    outcomes.push(outcome);
                }
                // Each changed ticket once, in its latest state (a ticket may commit twice in a batch).
                let mut latest: Vec<&Ticket> = Vec::new();
                let mut position = std::collections::HashMap::new();
                for op in ops.iter() {
                    if let WriteOp::Commit(commit) = op {
                        match position.entry(commit.ticket.id) {
                            std::collections::hash_map::Entry::Occupied(at) => latest[*at.get()] = &commit.ticket,
                            std::collections::hash_map::Entry::Vacant(slot) => {
                                slot.insert(latest.len());
                                latest.push(&commit.ticket);
                            }
                        }
                    }
                }
                Self::update_tickets(&mut tx, &latest).await?;
                for chunk in processed.chunks(INSERT_CHUNK) {
                    let mut mark = QueryBuilder::<$db>::new("UPDATE webhook_inbox SET processed_at = ");
                    mark.push_bind(processed_at).push(", error = NULL WHERE id IN (");
                    let mut ids = mark.separated(", ");
                    for id in chunk {
                        ids.push_bind(*id);
                    }
                    mark.push(")");
                    mark.build().persistent(false).execute(&mut *tx).await.map_err(db_error)?;
                }
                let commits = ops.iter().filter_map(WriteOp::ticket_commit);
                let events: Vec<&TicketEvent> = commits.clone().flat_map(|commit| &commit.events).collect();
                let messages: Vec<&Message> = commits.flat_map(|commit| &commit.messages).collect();
                Self::insert_messages(&mut tx, &messages).await?;
                // After the messages: an event may change a message added in the same batch (a
                // reply and its `sent` in one commit, or a merge moving a message just written).
                for commit in ops.iter().filter_map(WriteOp::ticket_commit) {
                    for event in &commit.events {
                        match &event.kind {
                            EventKind::DeliveryChanged { message_id, status, provider_id, error } => {
                                Self::record_delivery(&mut tx, message_id, *status, provider_id.as_deref(), error.as_ref()).await?;
                            }
                            // Merges and splits move messages between threads: each in the commit
                            // of the ticket that takes them, and only from the ticket they leave.
                            EventKind::MergedIn { source_id: from, message_ids, .. }
                            | EventKind::SplitFrom { original_id: from, message_ids, .. } => {
                                Self::move_messages(&mut tx, message_ids, *from, commit.ticket.id).await?;
                            }
                            EventKind::MergeUndone { source_id: to, message_ids, .. } => {
                                Self::move_messages(&mut tx, message_ids, commit.ticket.id, *to).await?;
                            }
                            EventKind::AutomationRan { rule_id, result, .. } => {
                                sqlx::query(
                                    "INSERT INTO automation_runs (account_id, rule_id, ticket_id, seq, ran_at, result, detail) \
                                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                                )
                                .bind(event.account_id)
                                .bind(*rule_id)
                                .bind(commit.ticket.id)
                                .bind(event.seq)
                                .bind(millis(event.at))
                                .bind(result.as_str())
                                .bind(json_text(&event.kind)?)
                                .execute(&mut *tx)
                                .await
                                .map_err(db_error)?;
                            }
                            EventKind::AttachmentsChanged { message_id, attachments } => {
                                sqlx::query("UPDATE messages SET attachments = $1 WHERE id = $2")
                                    .bind(json_text(attachments)?)
                                    .bind(message_id.clone())
                                    .execute(&mut *tx)
                                    .await
                                    .map_err(db_error)?;
                            }
                            _ => {}
                        }
                    }
                }
                if let Some(limit) = index_requests.limit() {
                    index_requests.answer(&mut outcomes, rebuild_pending_search(&mut tx, limit).await?);
                }
                // Last, so the counter row stays locked only for the inserts and the commit.
                if !events.is_empty() {
                    let first_position = Self::take_positions(&mut tx, events.len()).await?;
                    Self::insert_events(&mut tx, &events, first_position).await?;
                }
                tx.commit().await.map_err(db_error)?;
                Ok(outcomes)
            }
        }
    };
}
pub(crate) use writer_sql;
