//! The SQL of tickets, their events and messages, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! tickets_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        /// The account, the caller's scope and the filter of `q`, after `WHERE `.
        fn push_ticket_conditions(query: &mut QueryBuilder<$db>, q: &TicketQuery) {
            query.push("t.account_id = ").push_bind(q.account_id);
            if !q.include_archived {
                query.push(" AND t.archived_at IS NULL");
            }
            let customer_view = match q.scope {
                TicketScope::Account => false,
                TicketScope::Requester(user) => {
                    query.push(" AND t.requester_id = ").push_bind(user);
                    true
                }
                TicketScope::RequesterOrCompany(user, company) => {
                    query.push(" AND (t.requester_id = ").push_bind(user);
                    query.push(" OR t.company_id = ").push_bind(company).push(")");
                    true
                }
            };
            push_pieces(query, filter_sql(&q.filter, <$db as HasDialect>::DIALECT, customer_view).pieces());
        }

        /// Brings the full-text index up to date when `filter` searches it, so a search finds
        /// every message written before it (migration 0042).
        async fn index_before_searching(store: &$store, filter: Option<&switchboard_actors::query::filter::TicketFilter>) -> StoreResult<()> {
            if filter.is_some_and(|filter| !filter.words.is_empty() || !filter.phrases.is_empty()) {
                store.index_pending_search(None, false).await?;
            }
            Ok(())
        }

        /// Replays SQL pieces into the builder: text as text, values as binds.
        fn push_pieces(query: &mut QueryBuilder<$db>, pieces: Vec<Piece>) {
            for piece in pieces {
                match piece {
                    Piece::Sql(text) => { query.push(text); }
                    Piece::Int(value) => { query.push_bind(value); }
                    Piece::Float(value) => { query.push_bind(value); }
                    Piece::Text(value) => { query.push_bind(value); }
                }
            }
        }

        #[async_trait]
        impl TicketsPort for $store {
            async fn create_ticket(&self, commit: TicketCommit) -> StoreResult<TicketIdentity> {
                match self.writes.submit(WriteOp::Create(commit)).await? {
                    WriteOutcome::Created(identity) => Ok(identity),
                    other => Err(StoreError::Internal(format!("create answered {other:?}, not an identity"))),
                }
            }

            async fn commit(&self, commit: TicketCommit) -> StoreResult<()> {
                self.writes.submit(WriteOp::Commit(commit)).await.map(|_| ())
            }

            async fn index_pending_search(&self, limit: Option<usize>, background: bool) -> StoreResult<usize> {
                match self.writes.submit(WriteOp::IndexSearch { limit, background }).await? {
                    WriteOutcome::Indexed(rebuilt) => Ok(rebuilt),
                    other => Err(StoreError::Internal(format!("indexing answered {other:?}"))),
                }
            }

            async fn ticket(&self, id: TicketId) -> StoreResult<Option<Ticket>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE id = $1", &*TICKET_SELECT)))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(ticket_from_row)
                    .transpose()
            }

            async fn tickets(&self, ids: &[TicketId]) -> StoreResult<Vec<Ticket>> {
                let mut ids = ids.to_vec();
                ids.sort_unstable();
                ids.dedup();
                let mut tickets = Vec::with_capacity(ids.len());
                // Well under both backends' limits on bound parameters.
                for chunk in ids.chunks(500) {
                    let mut query = QueryBuilder::<$db>::new(format!("{} WHERE id IN (", &*TICKET_SELECT));
                    let mut listed = query.separated(", ");
                    for id in chunk {
                        listed.push_bind(*id);
                    }
                    query.push(")");
                    for row in query.build().fetch_all(&self.pool).await.map_err(db_error)? {
                        tickets.push(ticket_from_row(&row)?);
                    }
                }
                Ok(tickets)
            }

            async fn ticket_messages(&self, id: TicketId) -> StoreResult<Vec<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{MESSAGE_SELECT} WHERE ticket_id = $1 ORDER BY created_at, id")))
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(message_from_row)
                .collect()
            }

            async fn ticket_events(&self, id: TicketId, after_seq: i64, limit: i64) -> StoreResult<Vec<TicketEvent>> {
                sqlx::query(
                    "SELECT ticket_id, account_id, seq, data, actor_id, created_at FROM ticket_events \
                     WHERE ticket_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(id)
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(event_from_row)
                .collect()
            }

            async fn list_tickets_keyed(&self, q: &TicketQuery) -> StoreResult<Vec<(Ticket, i64)>> {
                index_before_searching(self, Some(&q.filter)).await?;
                let select = &*TICKET_SELECT;
                let (columns, from) = select.split_at(select.find(" FROM tickets t").unwrap_or(select.len()));
                let dialect = <$db as HasDialect>::DIALECT;
                // One SELECT of the page, ordered by `key`, after `q.after`, with `extra` conditions.
                let page = |query: &mut QueryBuilder<$db>, q: &TicketQuery, key: Vec<Piece>, order_by: &str, descending: bool, extra: Option<(&str, Fragment)>| {
                    query.push(columns).push(", ");
                    push_pieces(query, key.clone());
                    query.push(" AS sort_key").push(from).push(" WHERE ");
                    push_ticket_conditions(query, q);
                    if let Some((prefix, condition)) = extra {
                        query.push(prefix);
                        push_pieces(query, condition.pieces());
                    }
                    let (before, order) = if descending { ("<", "DESC") } else { (">", "ASC") };
                    if let Some((value, id)) = q.after {
                        query.push(" AND ((");
                        push_pieces(query, key.clone());
                        query.push(format!(") {before} ")).push_bind(value).push(" OR ((");
                        push_pieces(query, key);
                        query.push(") = ").push_bind(value);
                        query.push(format!(" AND t.id {before} ")).push_bind(id).push("))");
                    }
                    query.push(format!(" ORDER BY {order_by} {order}, t.id {order} LIMIT ")).push_bind(q.limit);
                };
                let mut query = QueryBuilder::<$db>::new("");
                match (q.sort, subject_match_sql(q, dialect)) {
                    // Relevance as two halves, each read in change order down the account's index
                    // and cut at the page: subject matches (their key carries RELEVANCE_BONUS),
                    // then the rest. Sorting every match by a computed key instead costs a word
                    // on most tickets 200 ms at 100,000 tickets.
                    // A subject holding every term is a match already, so the first half
                    // skips the terms' own sets (the dearest part of a common word's query).
                    (TicketSort::Relevance, Some(subject)) => {
                        let bonus = vec![Piece::Int(RELEVANCE_BONUS), Piece::Sql(" + t.updated_at".into())];
                        let mut titled = q.clone();
                        titled.filter.words.retain(|word| search_tokens(word).is_empty());
                        titled.filter.phrases.retain(|phrase| search_tokens(phrase).is_empty());
                        query.push("SELECT * FROM (");
                        page(&mut query, &titled, bonus, "t.updated_at", true, Some((" AND ", subject.clone())));
                        query.push(") first_rank UNION ALL SELECT * FROM (");
                        page(&mut query, q, vec![Piece::Sql("t.updated_at".into())], "t.updated_at", true, Some((" AND NOT ", subject)));
                        query.push(") second_rank ORDER BY sort_key DESC, id DESC LIMIT ").push_bind(q.limit);
                    }
                    _ => {
                        let (key, descending) = sort_key_sql(q, dialect);
                        page(&mut query, q, key, "sort_key", descending, None);
                    }
                }
                query
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| Ok((ticket_from_row(row)?, row.try_get::<i64, _>("sort_key").map_err(db_error)?)))
                    .collect()
            }

            async fn count_tickets(&self, q: &TicketQuery) -> StoreResult<i64> {
                index_before_searching(self, Some(&q.filter)).await?;
                let mut query = QueryBuilder::<$db>::new("SELECT COUNT(*) FROM tickets t WHERE ");
                push_ticket_conditions(&mut query, q);
                query.build_query_scalar().fetch_one(&self.pool).await.map_err(db_error)
            }

            async fn matching_ticket_ids(&self, q: &TicketQuery) -> StoreResult<Vec<TicketId>> {
                index_before_searching(self, Some(&q.filter)).await?;
                let mut query = QueryBuilder::<$db>::new("SELECT t.id FROM tickets t WHERE ");
                push_ticket_conditions(&mut query, q);
                query.push(" ORDER BY t.id LIMIT ").push_bind(q.limit);
                query.build_query_scalar().fetch_all(&self.pool).await.map_err(db_error)
            }

            async fn open_load(&self, account: AccountId, user: UserId) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM tickets WHERE account_id = $1 AND assignee_id = $2 \
                     AND status_category IN ('new', 'open', 'pending')",
                )
                .bind(account)
                .bind(user)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn sla_risk(&self, account: AccountId, now: Timestamp) -> StoreResult<Vec<SlaRisk>> {
                let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
                    "SELECT assignee_id, COUNT(CASE WHEN sla_due_at <= $2 THEN 1 END), \
                     COUNT(CASE WHEN sla_due_at > $2 THEN 1 END) FROM tickets \
                     WHERE account_id = $1 AND assignee_id IS NOT NULL AND sla_warn_at <= $2 \
                     AND status_category IN ('new', 'open', 'pending') GROUP BY assignee_id ORDER BY assignee_id",
                )
                .bind(account)
                .bind(millis(now))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(rows
                    .into_iter()
                    .map(|(assignee_id, breached, at_risk)| SlaRisk { assignee_id, breached, at_risk })
                    .collect())
            }

            async fn message_by_provider(&self, account: AccountId, provider_id: &str) -> StoreResult<Option<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{MESSAGE_SELECT} WHERE provider_id = $1 AND account_id = $2 LIMIT 1")))
                    .bind(provider_id.to_owned())
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(message_from_row)
                    .transpose()
            }

            async fn set_message_provider(&self, message_id: &str, provider_id: &str) -> StoreResult<()> {
                sqlx::query("UPDATE messages SET provider_id = $1 WHERE id = $2")
                    .bind(provider_id.to_owned())
                    .bind(message_id.to_owned())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }

            async fn ticket_by_number(&self, account: AccountId, number: i64) -> StoreResult<Option<Ticket>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{} WHERE account_id = $1 AND number = $2", *TICKET_SELECT)))
                    .bind(account)
                    .bind(number)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(ticket_from_row)
                    .transpose()
            }

            async fn reply_draft(&self, account: AccountId, user: UserId, ticket: TicketId) -> StoreResult<Option<ReplyDraft>> {
                let row: Option<(String, Option<String>, bool, i64)> = sqlx::query_as(
                    "SELECT body, channel, internal, updated_at FROM ticket_drafts \
                     WHERE account_id = $1 AND user_id = $2 AND ticket_id = $3",
                )
                .bind(account)
                .bind(user)
                .bind(ticket)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                let Some((body, channel, internal, updated_at)) = row else { return Ok(None) };
                Ok(Some(ReplyDraft {
                    ticket_id: ticket,
                    body,
                    channel: channel.map(parse_text).transpose()?,
                    internal,
                    updated_at: from_millis(updated_at)?,
                }))
            }

            async fn set_reply_draft(
                &self,
                account: AccountId,
                user: UserId,
                ticket: TicketId,
                draft: Option<&ReplyDraft>,
            ) -> StoreResult<()> {
                let Some(draft) = draft else {
                    sqlx::query("DELETE FROM ticket_drafts WHERE account_id = $1 AND user_id = $2 AND ticket_id = $3")
                        .bind(account)
                        .bind(user)
                        .bind(ticket)
                        .execute(&self.pool)
                        .await
                        .map_err(db_error)?;
                    return Ok(());
                };
                sqlx::query(
                    "INSERT INTO ticket_drafts (account_id, user_id, ticket_id, body, channel, internal, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, ticket_id) DO UPDATE SET \
                     account_id = excluded.account_id, body = excluded.body, channel = excluded.channel, \
                     internal = excluded.internal, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(user)
                .bind(ticket)
                .bind(draft.body.clone())
                .bind(draft.channel.map(|channel| channel.as_str()))
                .bind(draft.internal)
                .bind(millis(draft.updated_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn rewrite_ticket_content(
                &self,
                ticket: &Ticket,
                events: &[TicketEvent],
                messages: &[Message],
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                sqlx::query("UPDATE tickets SET subject = $1, preview = $2 WHERE id = $3")
                    .bind(ticket.subject.clone())
                    .bind(ticket.preview.clone())
                    .bind(ticket.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for event in events {
                    sqlx::query("UPDATE ticket_events SET data = $1 WHERE ticket_id = $2 AND seq = $3")
                        .bind(json_text(&event.kind)?)
                        .bind(event.ticket_id)
                        .bind(event.seq)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                for message in messages {
                    sqlx::query(
                        "UPDATE messages SET body = $1, attachments = $2, payload = $3, delivery_error = $4 WHERE id = $5",
                    )
                    .bind(message.body.clone())
                    .bind(json_text(&message.attachments)?)
                    .bind(message.payload.as_ref().map(json_text).transpose()?)
                    .bind(message.delivery_error.as_ref().map(json_text).transpose()?)
                    .bind(message.id.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }
        }
    };
}
pub(crate) use tickets_sql;
