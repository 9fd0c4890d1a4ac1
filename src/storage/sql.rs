//! The SQL both backends share. SQLite and PostgreSQL accept the same statements here (`$N`
//! placeholders, `RETURNING`, `ON CONFLICT`), so the [`Store`] and [`BatchWriter`] impls are
//! written once in [`shared_sql!`] and instantiated per backend with its concrete sqlx types;
//! what differs (connecting, pragmas, migrations, `BEGIN IMMEDIATE`) stays in `sqlite.rs` and
//! `postgres.rs`. Generic sqlx code over `Database` would need a bound per column type; a macro
//! keeps the SQL readable and the types concrete.

/// Columns of `tickets` in the order [`push_ticket`](self) binds them (everything but `id`).
pub const TICKET_COLUMNS: &[&str] = &[
    "account_id",
    "number",
    "subject",
    "status",
    "status_category",
    "urgency",
    "importance",
    "priority",
    "priority_rank",
    "ticket_type",
    "category_id",
    "tags",
    "custom_fields",
    "channel",
    "requester_id",
    "company_id",
    "assignee_id",
    "team_id",
    "assigned_at",
    "snoozed_until",
    "seq",
    "created_at",
    "updated_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "last_customer_message_at",
    "last_agent_message_at",
    "last_customer_seq",
    "sla",
    "sla_due_at",
    "sla_warn_at",
];

pub static TICKET_SELECT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT id, {} FROM tickets t", TICKET_COLUMNS.join(", ")));

/// `INSERT INTO tickets (…) ` — the values follow from [`push_ticket`](self).
pub static TICKET_INSERT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("INSERT INTO tickets ({}) ", TICKET_COLUMNS.join(", ")));

/// The head of one statement updating many tickets: their rows (from
/// [`push_ticket`](self), then the id) are the `VALUES` of the CTE `v`.
pub static TICKETS_UPDATE_HEAD: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("WITH v ({}, id) AS (", TICKET_COLUMNS.join(", ")));

/// The tail of that statement, after the `VALUES`.
pub static TICKETS_UPDATE_TAIL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let sets: Vec<String> = TICKET_COLUMNS.iter().map(|column| format!("{column} = v.{column}")).collect();
    format!(") UPDATE tickets SET {} FROM v WHERE tickets.id = v.id", sets.join(", "))
});

/// Tickets per multi-row UPDATE on SQLite: 33 parameters each, well under its 32,766.
pub const UPDATE_CHUNK: usize = 500;

/// Rows per multi-row INSERT, well under SQLite's 32,766 bound parameters.
pub const INSERT_CHUNK: usize = 1000;

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_pattern(word: &str) -> String {
    let mut pattern = String::from("%");
    for c in word.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The store over one sqlx backend. What differs per backend comes in as parameters: the
/// statement that opens a write transaction, how many tickets one `UPDATE` writes, and the SQL
/// expression listing user `u`'s team ids as `1,2,3` (or NULL).
macro_rules! shared_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {

        use async_trait::async_trait;
        use jiff::Timestamp;
        use sqlx::{QueryBuilder, Row as _};
        use switchboard_actors::domain::*;
        use switchboard_actors::store::*;
        use switchboard_actors::whatsapp::{Conversation, ConversationOverview, SendState, Template};

        use crate::storage::group_commit::{BatchWriter, WriteOp, WriteOutcome};
        use crate::storage::sql::*;
        use crate::storage::{db_error, from_millis, json_text, millis, parse_json, parse_text};

        type DbRow = <$db as sqlx::Database>::Row;
        type DbTx = sqlx::Transaction<'static, $db>;

        /// Records (or moves to `$2`) a channel address: `(account, user, channel, address)`.
        const CONTACT_UPSERT: &str = "INSERT INTO contacts (account_id, user_id, channel, address) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account_id, channel, address) DO UPDATE SET user_id = excluded.user_id";

        /// Inserts a user row and their email contact; returns the new id. With `unless_taken`,
        /// an email already in use answers `None` instead of failing (and so never fails the
        /// group-committed batch it is in).
        async fn insert_user(
            tx: &mut DbTx,
            user: &NewUser,
            email: &str,
            now: Timestamp,
            unless_taken: bool,
        ) -> StoreResult<Option<i64>> {
            let sql = if unless_taken {
                "INSERT INTO users (account_id, email, name, role, password_hash, company_id, capacity, time_zone, phone, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10) ON CONFLICT (email) DO NOTHING RETURNING id"
            } else {
                "INSERT INTO users (account_id, email, name, role, password_hash, company_id, capacity, time_zone, phone, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10) RETURNING id"
            };
            let id: Option<i64> = sqlx::query_scalar(sql)
            .bind(user.account_id)
            .bind(email.to_owned())
            .bind(user.name.clone())
            .bind(user.role.as_str())
            .bind(user.password_hash.clone())
            .bind(user.company_id)
            .bind(user.capacity)
            .bind(user.time_zone.clone())
            .bind(user.phone.clone())
            .bind(millis(now))
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
            let Some(id) = id else { return Ok(None) };
            sqlx::query("INSERT INTO contacts (account_id, user_id, channel, address) VALUES ($1, $2, 'email', $3)")
                .bind(user.account_id)
                .bind(id)
                .bind(email.to_owned())
                .execute(&mut **tx)
                .await
                .map_err(db_error)?;
            Ok(Some(id))
        }

        /// The user a [`NewUser`] became, with id `id`.
        fn created_user(id: UserId, user: NewUser, email: String, now: Timestamp) -> User {
            let mut team_ids = user.team_ids;
            team_ids.sort_unstable();
            team_ids.dedup();
            User {
                id,
                account_id: user.account_id,
                email,
                name: user.name,
                role: user.role,
                company_id: user.company_id,
                team_ids,
                capacity: user.capacity,
                time_zone: user.time_zone,
                phone: user.phone,
                active: true,
                created_at: now,
            }
        }

        fn user_from_row(row: &DbRow, team_ids: Vec<TeamId>) -> StoreResult<User> {
            Ok(User {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                email: row.try_get("email").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                role: parse_text(row.try_get::<String, _>("role").map_err(db_error)?)?,
                company_id: row.try_get("company_id").map_err(db_error)?,
                team_ids,
                capacity: row.try_get("capacity").map_err(db_error)?,
                time_zone: row.try_get("time_zone").map_err(db_error)?,
                phone: row.try_get("phone").map_err(db_error)?,
                active: row.try_get("active").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        }

        fn account_from_row(row: &DbRow) -> StoreResult<Account> {
            Ok(Account {
                id: row.try_get("id").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        }

        fn opt_millis(row: &DbRow, column: &str) -> StoreResult<Option<Timestamp>> {
            row.try_get::<Option<i64>, _>(column).map_err(db_error)?.map(from_millis).transpose()
        }

        fn ticket_from_row(row: &DbRow) -> StoreResult<Ticket> {
            let get_text = |column: &str| row.try_get::<String, _>(column).map_err(db_error);
            Ok(Ticket {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                number: row.try_get("number").map_err(db_error)?,
                subject: get_text("subject")?,
                status: get_text("status")?,
                status_category: parse_text(get_text("status_category")?)?,
                urgency: parse_text(get_text("urgency")?)?,
                importance: parse_text(get_text("importance")?)?,
                priority: parse_text(get_text("priority")?)?,
                ticket_type: row.try_get("ticket_type").map_err(db_error)?,
                category_id: row.try_get("category_id").map_err(db_error)?,
                tags: parse_json(&get_text("tags")?)?,
                custom_fields: parse_json(&get_text("custom_fields")?)?,
                channel: parse_text(get_text("channel")?)?,
                requester_id: row.try_get("requester_id").map_err(db_error)?,
                company_id: row.try_get("company_id").map_err(db_error)?,
                assignee_id: row.try_get("assignee_id").map_err(db_error)?,
                team_id: row.try_get("team_id").map_err(db_error)?,
                assigned_at: opt_millis(row, "assigned_at")?,
                snoozed_until: opt_millis(row, "snoozed_until")?,
                seq: row.try_get("seq").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
                first_response_at: opt_millis(row, "first_response_at")?,
                resolved_at: opt_millis(row, "resolved_at")?,
                closed_at: opt_millis(row, "closed_at")?,
                last_customer_message_at: opt_millis(row, "last_customer_message_at")?,
                last_agent_message_at: opt_millis(row, "last_agent_message_at")?,
                last_customer_seq: row.try_get("last_customer_seq").map_err(db_error)?,
                sla: row.try_get::<Option<String>, _>("sla").map_err(db_error)?.map(|text| parse_json(&text)).transpose()?,
            })
        }

        /// An outbound send attempt as both channels store it (see `send_row`).
        struct SendRow {
            message_id: String,
            account_id: AccountId,
            ticket_id: TicketId,
            attempts: i64,
            next_attempt_at: Option<Timestamp>,
            detail: Option<String>,
            done: bool,
        }

        /// A ticket's JSON columns, encoded before binding (binding itself cannot fail).
        struct TicketJson {
            tags: String,
            custom_fields: String,
            sla: Option<String>,
        }

        fn ticket_json(ticket: &Ticket) -> StoreResult<TicketJson> {
            Ok(TicketJson {
                tags: json_text(&ticket.tags)?,
                custom_fields: json_text(&ticket.custom_fields)?,
                sla: ticket.sla.as_ref().map(json_text).transpose()?,
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
                .push_bind(opt(ticket.sla.as_ref().and_then(SlaState::warn_at)));
        }

        fn message_from_row(row: &DbRow) -> StoreResult<Message> {
            Ok(Message {
                id: row.try_get("id").map_err(db_error)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                seq: row.try_get("seq").map_err(db_error)?,
                kind: parse_text(row.try_get::<String, _>("kind").map_err(db_error)?)?,
                author_id: row.try_get("author_id").map_err(db_error)?,
                channel: parse_text(row.try_get::<String, _>("channel").map_err(db_error)?)?,
                body: row.try_get("body").map_err(db_error)?,
                attachments: parse_json(&row.try_get::<String, _>("attachments").map_err(db_error)?)?,
                delivery_status: row
                    .try_get::<Option<String>, _>("delivery_status")
                    .map_err(db_error)?
                    .map(parse_text)
                    .transpose()?,
                provider_id: row.try_get("provider_id").map_err(db_error)?,
                delivery_error: row
                    .try_get::<Option<String>, _>("delivery_error")
                    .map_err(db_error)?
                    .map(|text| parse_json(&text))
                    .transpose()?,
                payload: row.try_get::<Option<String>, _>("payload").map_err(db_error)?.map(|text| parse_json(&text)).transpose()?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        }

        fn event_from_row(row: &DbRow) -> StoreResult<TicketEvent> {
            Ok(TicketEvent {
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                seq: row.try_get("seq").map_err(db_error)?,
                at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                actor_id: row.try_get("actor_id").map_err(db_error)?,
                kind: parse_json(&row.try_get::<String, _>("data").map_err(db_error)?)?,
            })
        }

        fn conversation_from_row(row: &DbRow) -> StoreResult<Conversation> {
            Ok(Conversation {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                phone_number_id: row.try_get("phone_number_id").map_err(db_error)?,
                customer_id: row.try_get("customer_id").map_err(db_error)?,
                wa_id: row.try_get("wa_id").map_err(db_error)?,
                user_key: row.try_get("user_key").map_err(db_error)?,
                window_expires_at: opt_millis(row, "window_expires_at")?,
                last_inbound_at: opt_millis(row, "last_inbound_at")?,
                current_ticket_id: row.try_get("current_ticket_id").map_err(db_error)?,
                opted_out: row.try_get("opted_out").map_err(db_error)?,
                referral: row.try_get::<Option<String>, _>("referral").map_err(db_error)?.map(|text| parse_json(&text)).transpose()?,
                updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
            })
        }

        const CONVERSATION_SELECT: &str = "SELECT id, account_id, phone_number_id, customer_id, wa_id, user_key, window_expires_at, \
             last_inbound_at, current_ticket_id, opted_out, referral, updated_at FROM wa_conversations";

        const MESSAGE_SELECT: &str = "SELECT id, ticket_id, account_id, seq, kind, author_id, channel, body, attachments, \
             delivery_status, provider_id, delivery_error, payload, created_at FROM messages";

        const USER_COLUMNS: &str =
            "id, account_id, email, name, role, company_id, capacity, time_zone, phone, active, created_at";

        impl $store {
            async fn one_conversation(
                &self,
                query: sqlx::query::Query<'_, $db, <$db as sqlx::Database>::Arguments>,
            ) -> StoreResult<Option<Conversation>> {
                query.fetch_optional(&self.pool).await.map_err(db_error)?.as_ref().map(conversation_from_row).transpose()
            }

            async fn team_ids_of(&self, user_id: UserId) -> StoreResult<Vec<TeamId>> {
                sqlx::query_scalar("SELECT team_id FROM team_members WHERE user_id = $1 ORDER BY team_id")
                    .bind(user_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn member_ids_of(&self, team_id: TeamId) -> StoreResult<Vec<UserId>> {
                sqlx::query_scalar("SELECT user_id FROM team_members WHERE team_id = $1 ORDER BY user_id")
                    .bind(team_id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn set_memberships(
                tx: &mut DbTx,
                team_id: Option<TeamId>,
                user_id: Option<UserId>,
                others: &[i64],
            ) -> StoreResult<()> {
                match (team_id, user_id) {
                    (Some(team), None) => {
                        sqlx::query("DELETE FROM team_members WHERE team_id = $1").bind(team).execute(&mut **tx).await.map_err(db_error)?;
                        for user in others {
                            sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                                .bind(team).bind(*user).execute(&mut **tx).await.map_err(db_error)?;
                        }
                    }
                    (None, Some(user)) => {
                        sqlx::query("DELETE FROM team_members WHERE user_id = $1").bind(user).execute(&mut **tx).await.map_err(db_error)?;
                        for team in others {
                            sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2)")
                                .bind(*team).bind(user).execute(&mut **tx).await.map_err(db_error)?;
                        }
                    }
                    _ => {}
                }
                Ok(())
            }

            /// Queued replies on `channel` whose send attempt (in `sends`) is neither done nor
            /// waiting out a back-off past `due_before`, oldest first.
            async fn unsent_replies(
                &self,
                channel: &'static str,
                sends: &'static str,
                also: &'static str,
                due_before: Timestamp,
                limit: i64,
            ) -> StoreResult<Vec<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{MESSAGE_SELECT} m WHERE m.channel = '{channel}' AND m.kind = 'reply' AND m.delivery_status = 'queued' \
                     {also} AND NOT EXISTS (SELECT 1 FROM {sends} s WHERE s.message_id = m.id \
                     AND (s.done OR s.next_attempt_at > $1)) ORDER BY m.created_at LIMIT $2"
                )))
                .bind(millis(due_before))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(message_from_row)
                .collect()
            }

            /// The send attempt of a reply in `table` (`wa_sends`, `email_sends`); `detail` is the
            /// one column that differs (`wamid`, `last_error`).
            async fn send_row(&self, table: &'static str, detail: &'static str, message_id: &str) -> StoreResult<Option<SendRow>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT message_id, account_id, ticket_id, attempts, next_attempt_at, {detail} AS detail, done \
                     FROM {table} WHERE message_id = $1"
                )))
                .bind(message_id.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                row.map(|row| {
                    Ok(SendRow {
                        message_id: row.try_get("message_id").map_err(db_error)?,
                        account_id: row.try_get("account_id").map_err(db_error)?,
                        ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                        attempts: row.try_get("attempts").map_err(db_error)?,
                        next_attempt_at: opt_millis(&row, "next_attempt_at")?,
                        detail: row.try_get("detail").map_err(db_error)?,
                        done: row.try_get("done").map_err(db_error)?,
                    })
                })
                .transpose()
            }

            async fn save_send_row(&self, table: &'static str, detail: &'static str, row: SendRow) -> StoreResult<()> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (message_id, account_id, ticket_id, attempts, next_attempt_at, {detail}, done) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id) DO UPDATE SET attempts = excluded.attempts, \
                     next_attempt_at = excluded.next_attempt_at, {detail} = excluded.{detail}, done = excluded.done"
                )))
                .bind(row.message_id)
                .bind(row.account_id)
                .bind(row.ticket_id)
                .bind(row.attempts)
                .bind(row.next_attempt_at.map(millis))
                .bind(row.detail)
                .bind(row.done)
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            /// Claims up to `limit` unprocessed entries of an inbox table that nobody holds, until
            /// `until`, oldest first. The outer conditions are checked again on rows another
            /// claimer locked first (PostgreSQL re-reads them), so no entry is taken twice.
            async fn claim_inbox<T>(
                &self,
                table: &'static str,
                content: &'static str,
                limit: i64,
                now: Timestamp,
                until: Timestamp,
            ) -> StoreResult<Vec<(i64, T)>>
            where
                T: Send + Unpin + for<'r> sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                let unheld = "processed_at IS NULL AND (claimed_until IS NULL OR claimed_until <= $2)";
                let mut claimed: Vec<(i64, T)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "UPDATE {table} SET claimed_until = $1 WHERE id IN (SELECT id FROM {table} WHERE {unheld} \
                     ORDER BY id LIMIT $3) AND {unheld} RETURNING id, {content}"
                )))
                .bind(millis(until))
                .bind(millis(now))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                claimed.sort_unstable_by_key(|(id, _)| *id);
                Ok(claimed)
            }

            async fn check_same_account(tx: &mut DbTx, table: &'static str, account: AccountId, ids: &[i64]) -> StoreResult<()> {
                let sql: &'static str = match table {
                    "teams" => "SELECT account_id FROM teams WHERE id = $1",
                    "companies" => "SELECT account_id FROM companies WHERE id = $1",
                    _ => "SELECT account_id FROM users WHERE id = $1",
                };
                for id in ids {
                    let owner: Option<i64> = sqlx::query_scalar(sql).bind(*id).fetch_optional(&mut **tx).await.map_err(db_error)?;
                    if owner != Some(account) {
                        return Err(StoreError::NotFound);
                    }
                }
                Ok(())
            }

            async fn seed_account(tx: &mut DbTx, account: AccountId) -> StoreResult<()> {
                for (position, status) in TicketStatus::builtins().iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO ticket_statuses (account_id, key, label, category, builtin, position) \
                         VALUES ($1, $2, $3, $4, TRUE, $5)",
                    )
                    .bind(account)
                    .bind(status.key.clone())
                    .bind(status.label.clone())
                    .bind(status.category.as_str())
                    .bind(position as i64)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl SettingsPort for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_error).map(|_| ())
            }

            async fn create_account(&self, name: &str) -> StoreResult<Account> {
                let now = self.clock.now();
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO accounts (name, priority_matrix, ticket_types, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name.to_owned())
                .bind(json_text(&PriorityMatrix::default())?)
                .bind(json_text(&DEFAULT_TICKET_TYPES)?)
                .bind(millis(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                Self::seed_account(&mut tx, id).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(Account { id, name: name.to_owned(), created_at: now })
            }

            async fn first_account(&self) -> StoreResult<Option<Account>> {
                let row = sqlx::query("SELECT id, name, created_at FROM accounts ORDER BY id LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(account_from_row).transpose()
            }

            async fn account_ids(&self) -> StoreResult<Vec<AccountId>> {
                sqlx::query_scalar("SELECT id FROM accounts ORDER BY id").fetch_all(&self.pool).await.map_err(db_error)
            }

            async fn account(&self, id: AccountId) -> StoreResult<Option<Account>> {
                let row = sqlx::query("SELECT id, name, created_at FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(account_from_row).transpose()
            }

            async fn account_config(&self, id: AccountId) -> StoreResult<AccountConfig> {
                let row = sqlx::query("SELECT priority_matrix, ticket_types FROM accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or(StoreError::NotFound)?;
                let statuses = sqlx::query(
                    "SELECT key, label, category, builtin FROM ticket_statuses WHERE account_id = $1 ORDER BY position, key",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| {
                    Ok(TicketStatus {
                        key: row.try_get("key").map_err(db_error)?,
                        label: row.try_get("label").map_err(db_error)?,
                        category: parse_text(row.try_get::<String, _>("category").map_err(db_error)?)?,
                        builtin: row.try_get("builtin").map_err(db_error)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
                let custom_fields = sqlx::query(
                    "SELECT key, label, field_type, options, customer_visible FROM custom_field_defs WHERE account_id = $1 ORDER BY key",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| {
                    Ok(CustomFieldDef {
                        key: row.try_get("key").map_err(db_error)?,
                        label: row.try_get("label").map_err(db_error)?,
                        field_type: parse_text(row.try_get::<String, _>("field_type").map_err(db_error)?)?,
                        options: parse_json(&row.try_get::<String, _>("options").map_err(db_error)?)?,
                        customer_visible: row.try_get("customer_visible").map_err(db_error)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
                let sla_policy_row = sqlx::query("SELECT enabled, warning_percent, targets, business_hours FROM sla_policies WHERE account_id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                let categories = sqlx::query("SELECT id, parent_id, name, path FROM categories WHERE account_id = $1 ORDER BY path")
                    .bind(id)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Category {
                            id: row.try_get("id").map_err(db_error)?,
                            parent_id: row.try_get("parent_id").map_err(db_error)?,
                            name: row.try_get("name").map_err(db_error)?,
                            path: row.try_get("path").map_err(db_error)?,
                        })
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                let sla_policy = sla_policy_row
                    .map(|row| -> StoreResult<SlaPolicy> {
                        Ok(SlaPolicy {
                            enabled: row.try_get("enabled").map_err(db_error)?,
                            warning_percent: row.try_get("warning_percent").map_err(db_error)?,
                            targets: parse_json(&row.try_get::<String, _>("targets").map_err(db_error)?)?,
                            business_hours: row
                                .try_get::<Option<String>, _>("business_hours")
                                .map_err(db_error)?
                                .map(|text| parse_json(&text))
                                .transpose()?,
                        })
                    })
                    .transpose()?;
                Ok(AccountConfig {
                    sla_policy,
                    statuses,
                    priority_matrix: parse_json(&row.try_get::<String, _>("priority_matrix").map_err(db_error)?)?,
                    custom_fields,
                    categories,
                    ticket_types: parse_json(&row.try_get::<String, _>("ticket_types").map_err(db_error)?)?,
                })
            }

            async fn set_priority_matrix(&self, id: AccountId, matrix: &PriorityMatrix) -> StoreResult<()> {
                let done = sqlx::query("UPDATE accounts SET priority_matrix = $1 WHERE id = $2")
                    .bind(json_text(matrix)?)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn set_sla_policy(&self, id: AccountId, policy: &SlaPolicy) -> StoreResult<()> {
                let now = self.clock.now();
                sqlx::query(
                    "INSERT INTO sla_policies (account_id, enabled, warning_percent, targets, business_hours, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (account_id) DO UPDATE SET enabled = excluded.enabled, \
                     warning_percent = excluded.warning_percent, targets = excluded.targets, \
                     business_hours = excluded.business_hours, updated_at = excluded.updated_at",
                )
                .bind(id)
                .bind(policy.enabled)
                .bind(policy.warning_percent)
                .bind(json_text(&policy.targets)?)
                .bind(policy.business_hours.as_ref().map(json_text).transpose()?)
                .bind(millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn upsert_status(&self, id: AccountId, status: &TicketStatus) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO ticket_statuses (account_id, key, label, category, builtin, position) \
                     VALUES ($1, $2, $3, $4, FALSE, (SELECT COUNT(*) FROM ticket_statuses WHERE account_id = $1)) \
                     ON CONFLICT (account_id, key) DO UPDATE SET label = excluded.label, \
                     category = CASE WHEN ticket_statuses.builtin THEN ticket_statuses.category ELSE excluded.category END",
                )
                .bind(id)
                .bind(status.key.clone())
                .bind(status.label.clone())
                .bind(status.category.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn upsert_custom_field(&self, id: AccountId, field: &CustomFieldDef) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO custom_field_defs (account_id, key, label, field_type, options, customer_visible) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (account_id, key) DO UPDATE SET label = excluded.label, field_type = excluded.field_type, \
                     options = excluded.options, customer_visible = excluded.customer_visible",
                )
                .bind(id)
                .bind(field.key.clone())
                .bind(field.label.clone())
                .bind(field.field_type.as_str())
                .bind(json_text(&field.options)?)
                .bind(field.customer_visible)
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn create_category(&self, id: AccountId, parent_id: Option<CategoryId>, name: &str) -> StoreResult<Category> {
                let path = match parent_id {
                    Some(parent) => {
                        let parent_path: Option<String> =
                            sqlx::query_scalar("SELECT path FROM categories WHERE id = $1 AND account_id = $2")
                                .bind(parent)
                                .bind(id)
                                .fetch_optional(&self.pool)
                                .await
                                .map_err(db_error)?;
                        format!("{} / {name}", parent_path.ok_or(StoreError::NotFound)?)
                    }
                    None => name.to_owned(),
                };
                let category_id: i64 = sqlx::query_scalar(
                    "INSERT INTO categories (account_id, parent_id, name, path) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(id)
                .bind(parent_id)
                .bind(name.to_owned())
                .bind(path.clone())
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(Category { id: category_id, parent_id, name: name.to_owned(), path })
            }

            async fn generated_secret(&self, name: &str, candidate: &str, at: Timestamp) -> StoreResult<String> {
                sqlx::query(
                    "INSERT INTO generated_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                )
                .bind(name.to_owned())
                .bind(candidate.to_owned())
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                sqlx::query_scalar("SELECT value FROM generated_secrets WHERE name = $1")
                    .bind(name.to_owned())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)
            }
        }

        #[async_trait]
        impl DirectoryPort for $store {
            async fn create_user(&self, user: NewUser) -> StoreResult<User> {
                let now = self.clock.now();
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "teams", user.account_id, &user.team_ids).await?;
                if let Some(company) = user.company_id {
                    Self::check_same_account(&mut tx, "companies", user.account_id, &[company]).await?;
                }
                let email = user.email.trim().to_lowercase();
                let id = insert_user(&mut tx, &user, &email, now, false)
                    .await?
                    .ok_or_else(|| StoreError::Internal("a user insert returned no id".to_owned()))?;
                Self::set_memberships(&mut tx, None, Some(id), &user.team_ids).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(created_user(id, user, email, now))
            }

            async fn create_customer(&self, user: NewUser, channel: Channel, addresses: &[&str]) -> StoreResult<User> {
                let at = self.clock.now();
                let addresses = addresses.iter().map(|address| (*address).to_owned()).collect();
                let op = WriteOp::CreateCustomer { user: Box::new(user.clone()), channel, addresses, at };
                match self.writes.submit(op).await? {
                    WriteOutcome::Saved(id) => {
                        let email = user.email.trim().to_lowercase();
                        Ok(created_user(id, user, email, at))
                    }
                    WriteOutcome::Exists => Err(StoreError::Conflict("email_taken".to_owned())),
                    other => Err(StoreError::Internal(format!("creating a customer answered {other:?}"))),
                }
            }

            async fn update_user(&self, account: AccountId, id: UserId, patch: UserPatch) -> StoreResult<User> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "users", account, &[id]).await?;
                if let Some(teams) = &patch.team_ids {
                    Self::check_same_account(&mut tx, "teams", account, teams).await?;
                    Self::set_memberships(&mut tx, None, Some(id), teams).await?;
                }
                if let Some(Some(company)) = patch.company_id {
                    Self::check_same_account(&mut tx, "companies", account, &[company]).await?;
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE users SET id = id");
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(role) = patch.role { update.push(", role = ").push_bind(role.as_str()); }
                if let Some(hash) = patch.password_hash { update.push(", password_hash = ").push_bind(hash); }
                if let Some(company) = patch.company_id { update.push(", company_id = ").push_bind(company); }
                if let Some(capacity) = patch.capacity { update.push(", capacity = ").push_bind(capacity); }
                if let Some(zone) = patch.time_zone { update.push(", time_zone = ").push_bind(zone); }
                if let Some(phone) = patch.phone { update.push(", phone = ").push_bind(phone); }
                if let Some(active) = patch.active {
                    update.push(", active = ").push_bind(active);
                    if !active {
                        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await.map_err(db_error)?;
                    }
                }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.user(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2")))
                    .bind(id)
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => Ok(Some(user_from_row(&row, self.team_ids_of(id).await?)?)),
                    None => Ok(None),
                }
            }

            async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1")))
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => {
                        let id: i64 = row.try_get("id").map_err(db_error)?;
                        Ok(Some(UserCredentials {
                            user: user_from_row(&row, self.team_ids_of(id).await?)?,
                            password_hash: row.try_get("password_hash").map_err(db_error)?,
                        }))
                    }
                    None => Ok(None),
                }
            }

            async fn list_users(&self, account: AccountId, role: Option<Role>) -> StoreResult<Vec<User>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = "));
                query.push_bind(account);
                if let Some(role) = role {
                    query.push(" AND role = ").push_bind(role.as_str());
                }
                query.push(" ORDER BY id");
                let rows = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                let memberships: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT m.user_id, m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id \
                     WHERE t.account_id = $1 ORDER BY m.team_id",
                )
                .bind(account)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id").map_err(db_error)?;
                        let teams = memberships.iter().filter(|(user, _)| *user == id).map(|(_, team)| *team).collect();
                        user_from_row(row, teams)
                    })
                    .collect()
            }

            async fn create_team(&self, team: NewTeam) -> StoreResult<Team> {
                let now = self.clock.now();
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "users", team.account_id, &team.member_ids).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO teams (account_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(team.account_id)
                .bind(team.name.clone())
                .bind(team.description.clone())
                .bind(millis(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                Self::set_memberships(&mut tx, Some(id), None, &team.member_ids).await?;
                tx.commit().await.map_err(db_error)?;
                self.team(team.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_team(&self, account: AccountId, id: TeamId, patch: TeamPatch) -> StoreResult<Team> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "teams", account, &[id]).await?;
                if let Some(members) = &patch.member_ids {
                    Self::check_same_account(&mut tx, "users", account, members).await?;
                    Self::set_memberships(&mut tx, Some(id), None, members).await?;
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE teams SET id = id");
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(description) = patch.description { update.push(", description = ").push_bind(description); }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.team(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn team(&self, account: AccountId, id: TeamId) -> StoreResult<Option<Team>> {
                let row = sqlx::query("SELECT id, account_id, name, description, created_at FROM teams WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => Ok(Some(Team {
                        id,
                        account_id: account,
                        name: row.try_get("name").map_err(db_error)?,
                        description: row.try_get("description").map_err(db_error)?,
                        member_ids: self.member_ids_of(id).await?,
                        created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                    })),
                    None => Ok(None),
                }
            }

            async fn list_teams(&self, account: AccountId) -> StoreResult<Vec<Team>> {
                let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE account_id = $1 ORDER BY name")
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                let mut teams = Vec::with_capacity(ids.len());
                for id in ids {
                    teams.extend(self.team(account, id).await?);
                }
                Ok(teams)
            }

            async fn create_company(&self, company: NewCompany) -> StoreResult<Company> {
                let now = self.clock.now();
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO companies (account_id, name, members_see_company_tickets, members_write_company_tickets, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(company.account_id)
                .bind(company.name.clone())
                .bind(company.members_see_company_tickets)
                .bind(company.members_write_company_tickets)
                .bind(millis(now))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(Company {
                    id,
                    account_id: company.account_id,
                    name: company.name,
                    members_see_company_tickets: company.members_see_company_tickets,
                    members_write_company_tickets: company.members_write_company_tickets,
                    created_at: now,
                })
            }

            async fn company(&self, account: AccountId, id: CompanyId) -> StoreResult<Option<Company>> {
                Ok(self.list_companies(account).await?.into_iter().find(|company| company.id == id))
            }

            async fn list_companies(&self, account: AccountId) -> StoreResult<Vec<Company>> {
                sqlx::query("SELECT id, account_id, name, members_see_company_tickets, members_write_company_tickets, created_at FROM companies WHERE account_id = $1 ORDER BY name")
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Company {
                            id: row.try_get("id").map_err(db_error)?,
                            account_id: row.try_get("account_id").map_err(db_error)?,
                            name: row.try_get("name").map_err(db_error)?,
                            members_see_company_tickets: row.try_get("members_see_company_tickets").map_err(db_error)?,
                            members_write_company_tickets: row.try_get("members_write_company_tickets").map_err(db_error)?,
                            created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                        })
                    })
                    .collect()
            }

            async fn contacts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<Contact>> {
                sqlx::query("SELECT id, account_id, user_id, channel, address, opted_out FROM contacts WHERE account_id = $1 AND user_id = $2 ORDER BY id")
                    .bind(account)
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Contact {
                            id: row.try_get("id").map_err(db_error)?,
                            account_id: row.try_get("account_id").map_err(db_error)?,
                            user_id: row.try_get("user_id").map_err(db_error)?,
                            channel: parse_text(row.try_get::<String, _>("channel").map_err(db_error)?)?,
                            address: row.try_get("address").map_err(db_error)?,
                            opted_out: row.try_get("opted_out").map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            async fn canned_responses(&self, account: AccountId) -> StoreResult<Vec<CannedResponse>> {
                sqlx::query_as::<_, (i64, String, String)>("SELECT id, title, body FROM canned_responses WHERE account_id = $1 ORDER BY title")
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|rows| rows.into_iter().map(|(id, title, body)| CannedResponse { id, title, body }).collect())
            }

            async fn create_canned_response(&self, account: AccountId, title: &str, body: &str) -> StoreResult<CannedResponse> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO canned_responses (account_id, title, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(account)
                .bind(title.to_owned())
                .bind(body.to_owned())
                .bind(millis(self.clock.now()))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(CannedResponse { id, title: title.to_owned(), body: body.to_owned() })
            }

            async fn delete_canned_response(&self, account: AccountId, id: i64) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM canned_responses WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn customer_by_contact(&self, account: AccountId, channel: Channel, address: &str) -> StoreResult<Option<User>> {
                let user: Option<i64> = sqlx::query_scalar(
                    "SELECT user_id FROM contacts WHERE account_id = $1 AND channel = $2 AND address = $3",
                )
                .bind(account)
                .bind(channel.as_str())
                .bind(address.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                match user {
                    Some(user) => self.user(account, user).await,
                    None => Ok(None),
                }
            }

            async fn add_contact(&self, account: AccountId, user: UserId, channel: Channel, address: &str) -> StoreResult<()> {
                sqlx::query(CONTACT_UPSERT)
                .bind(account)
                .bind(user)
                .bind(channel.as_str())
                .bind(address.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }
        }

        #[async_trait]
        impl SessionsPort for $store {
            async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                let now = self.clock.now();
                sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
                    .bind(session.token_hash)
                    .bind(session.user_id)
                    .bind(millis(now))
                    .bind(millis(session.expires_at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }

            async fn session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<User>> {
                // One query per authenticated request: the user's teams come along as a list.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {}, {} AS team_list FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = TRUE",
                    USER_COLUMNS.split(", ").map(|column| format!("u.{column}")).collect::<Vec<_>>().join(", "),
                    $team_ids_of_u,
                )))
                .bind(token_hash.to_vec())
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                match row {
                    Some(row) => {
                        let list: Option<String> = row.try_get("team_list").map_err(db_error)?;
                        let mut teams = list
                            .iter()
                            .flat_map(|list| list.split(','))
                            .map(|id| id.trim().parse::<TeamId>().map_err(|error| StoreError::Internal(format!("team list: {error}"))))
                            .collect::<StoreResult<Vec<_>>>()?;
                        teams.sort_unstable();
                        Ok(Some(user_from_row(&row, teams)?))
                    }
                    None => Ok(None),
                }
            }

            async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash.to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }

            async fn delete_user_sessions(&self, user: UserId, except: Option<&[u8]>) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(user)
                    .bind(except.unwrap_or_default().to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }
        }

        #[async_trait]
        impl MediaPort for $store {
            async fn add_media(&self, account: AccountId, sha256: &str, owner: MediaOwner, at: Timestamp) -> StoreResult<()> {
                let (uploaded_by, ticket_id) = match owner {
                    MediaOwner::Uploader(user) => (user, 0),
                    MediaOwner::Ticket(ticket) => (0, ticket),
                };
                sqlx::query(
                    "INSERT INTO media_files (account_id, sha256, uploaded_by, ticket_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(account)
                .bind(sha256.to_ascii_lowercase())
                .bind(uploaded_by)
                .bind(ticket_id)
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn media_in_account(&self, account: AccountId, sha256: &str) -> StoreResult<bool> {
                sqlx::query_scalar::<_, i64>("SELECT account_id FROM media_files WHERE account_id = $1 AND sha256 = $2 LIMIT 1")
                    .bind(account)
                    .bind(sha256.to_ascii_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|found| found.is_some())
            }

            async fn media_attachable(
                &self,
                account: AccountId,
                sha256: &str,
                author: UserId,
                ticket: TicketId,
            ) -> StoreResult<bool> {
                sqlx::query_scalar::<_, i64>(
                    "SELECT account_id FROM media_files WHERE account_id = $1 AND sha256 = $2 \
                     AND ((uploaded_by = $3 AND uploaded_by <> 0) OR (ticket_id = $4 AND ticket_id <> 0)) LIMIT 1",
                )
                .bind(account)
                .bind(sha256.to_ascii_lowercase())
                .bind(author)
                .bind(ticket)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)
                .map(|found| found.is_some())
            }

            async fn pending_media(&self, limit: i64) -> StoreResult<Vec<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{MESSAGE_SELECT} WHERE channel = 'whatsapp' AND attachments LIKE '%\"status\":\"pending\"%' ORDER BY created_at LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(message_from_row)
                .collect()
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

            async fn ticket_messages(&self, id: TicketId) -> StoreResult<Vec<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{MESSAGE_SELECT} WHERE ticket_id = $1 ORDER BY seq")))
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

            async fn list_tickets(&self, q: &TicketQuery) -> StoreResult<Vec<Ticket>> {
                let mut query = QueryBuilder::<$db>::new(format!("{} WHERE t.account_id = ", &*TICKET_SELECT));
                query.push_bind(q.account_id);
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
                if !q.statuses.is_empty() {
                    query.push(" AND t.status IN (");
                    let mut list = query.separated(", ");
                    for status in &q.statuses { list.push_bind(status.clone()); }
                    query.push(")");
                }
                if !q.categories.is_empty() {
                    query.push(" AND t.status_category IN (");
                    let mut list = query.separated(", ");
                    for category in &q.categories { list.push_bind(category.as_str()); }
                    query.push(")");
                }
                if !q.priorities.is_empty() {
                    query.push(" AND t.priority IN (");
                    let mut list = query.separated(", ");
                    for priority in &q.priorities { list.push_bind(priority.as_str()); }
                    query.push(")");
                }
                match q.assignee {
                    Some(AssigneeFilter::User(user)) => { query.push(" AND t.assignee_id = ").push_bind(user); }
                    Some(AssigneeFilter::Unassigned) => { query.push(" AND t.assignee_id IS NULL"); }
                    None => {}
                }
                if let Some(team) = q.team_id { query.push(" AND t.team_id = ").push_bind(team); }
                if let Some(requester) = q.requester_id { query.push(" AND t.requester_id = ").push_bind(requester); }
                if let Some(channel) = q.channel { query.push(" AND t.channel = ").push_bind(channel.as_str()); }
                if let Some(tag) = &q.tag {
                    query.push(" AND EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = ")
                        .push_bind(tag.trim().to_lowercase())
                        .push(")");
                }
                for word in q.text.iter().flat_map(|text| text.split_whitespace()).take(8) {
                    let pattern = like_pattern(word);
                    query.push(" AND (LOWER(t.subject) LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
                    query.push(" OR EXISTS (SELECT 1 FROM messages m WHERE m.ticket_id = t.id");
                    if customer_view {
                        query.push(" AND m.kind <> 'note'");
                    }
                    query.push(" AND LOWER(m.body) LIKE ").push_bind(pattern).push(" ESCAPE '\\'))");
                }
                let (key, descending) = match q.sort {
                    TicketSort::UpdatedDesc => ("t.updated_at", true),
                    TicketSort::UpdatedAsc => ("t.updated_at", false),
                    TicketSort::CreatedDesc => ("t.created_at", true),
                    TicketSort::CreatedAsc => ("t.created_at", false),
                    TicketSort::PriorityDesc => ("(t.priority_rank * 10000000000000 + t.updated_at)", true),
                    // NO_SLA_SORT_KEY: tickets without a running clock come last.
                    TicketSort::SlaDueAsc => ("COALESCE(t.sla_due_at, 9223372036854775807)", false),
                };
                let (before, order) = if descending { ("<", "DESC") } else { (">", "ASC") };
                if let Some((value, id)) = q.after {
                    query.push(format!(" AND ({key} {before} ")).push_bind(value);
                    query.push(format!(" OR ({key} = ")).push_bind(value);
                    query.push(format!(" AND t.id {before} ")).push_bind(id).push("))");
                }
                query.push(format!(" ORDER BY {key} {order}, t.id {order} LIMIT ")).push_bind(q.limit);
                query.build().fetch_all(&self.pool).await.map_err(db_error)?.iter().map(ticket_from_row).collect()
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

            async fn message_by_provider(&self, provider_id: &str) -> StoreResult<Option<Message>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{MESSAGE_SELECT} WHERE provider_id = $1 LIMIT 1")))
                    .bind(provider_id.to_owned())
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
        }

        #[async_trait]
        impl TimersPort for $store {
            async fn set_timer(&self, change: &TimerChange) -> StoreResult<()> {
                self.writes.submit(WriteOp::Timer(change.clone())).await.map(|_| ())
            }

            async fn claim_timer(&self, entry: &TimerEntry, now: Timestamp, until: Timestamp) -> StoreResult<bool> {
                let claimed = sqlx::query(
                    "UPDATE timers SET claimed_until = $1 WHERE owner_kind = $2 AND owner_id = $3 AND name = $4 \
                     AND due_at = $5 AND (claimed_until IS NULL OR claimed_until <= $6)",
                )
                .bind(millis(until))
                .bind(entry.owner.kind())
                .bind(entry.owner.id())
                .bind(entry.name.clone())
                .bind(millis(entry.due_at))
                .bind(millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(claimed.rows_affected() == 1)
            }

            async fn due_timers(&self, before: Timestamp, limit: i64) -> StoreResult<Vec<TimerEntry>> {
                sqlx::query("SELECT owner_kind, owner_id, name, due_at FROM timers WHERE due_at < $1 ORDER BY due_at LIMIT $2")
                    .bind(millis(before))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .filter_map(|row| {
                        let kind: String = row.try_get("owner_kind").ok()?;
                        let owner = TimerOwner::new(&kind, row.try_get("owner_id").ok()?);
                        Some((owner, row))
                    })
                    .map(|(owner, row)| {
                        Ok(TimerEntry {
                            owner,
                            name: row.try_get("name").map_err(db_error)?,
                            due_at: from_millis(row.try_get("due_at").map_err(db_error)?)?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl InboxPort for $store {
            async fn inbox_append(&self, body: &str, received_at: Timestamp, claimed_until: Option<Timestamp>) -> StoreResult<i64> {
                let op = WriteOp::InboxAppend { body: body.to_owned(), received_at, claimed_until };
                match self.writes.submit(op).await? {
                    WriteOutcome::Saved(id) => Ok(id),
                    other => Err(StoreError::Internal(format!("appending to the inbox answered {other:?}"))),
                }
            }

            async fn inbox_claim(&self, limit: i64, now: Timestamp, until: Timestamp) -> StoreResult<Vec<(i64, String)>> {
                self.claim_inbox("webhook_inbox", "body", limit, now, until).await
            }

            async fn inbox_done(&self, done: &[(i64, Option<String>)], at: Timestamp) -> StoreResult<()> {
                // Through the group-commit writer: entries marked one by one as webhooks finish
                // still share transactions.
                let marks = done.iter().map(|(id, error)| self.writes.submit(WriteOp::InboxDone { id: *id, error: error.clone(), at }));
                for result in futures_util::future::join_all(marks).await {
                    result?;
                }
                Ok(())
            }

            async fn whatsapp_webhook_stats(&self) -> StoreResult<WebhookStats> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS received, \
                     COALESCE(SUM(CASE WHEN error IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed, \
                     COALESCE(SUM(CASE WHEN processed_at IS NULL THEN 1 ELSE 0 END), 0) AS pending, \
                     MAX(received_at) AS last_received_at FROM webhook_inbox",
                )
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(WebhookStats {
                    received: row.try_get("received").map_err(db_error)?,
                    failed: row.try_get("failed").map_err(db_error)?,
                    pending: row.try_get("pending").map_err(db_error)?,
                    last_received_at: opt_millis(&row, "last_received_at")?,
                })
            }

            async fn email_inbox_append(&self, raw: &[u8], received_at: Timestamp) -> StoreResult<i64> {
                sqlx::query_scalar("INSERT INTO email_inbox (received_at, raw) VALUES ($1, $2) RETURNING id")
                    .bind(millis(received_at))
                    .bind(raw.to_vec())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn email_inbox_claim(&self, limit: i64, now: Timestamp, until: Timestamp) -> StoreResult<Vec<(i64, Vec<u8>)>> {
                self.claim_inbox("email_inbox", "raw", limit, now, until).await
            }

            async fn email_inbox_done(&self, done: &[(i64, Option<String>)], at: Timestamp) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                for (id, error) in done {
                    sqlx::query("UPDATE email_inbox SET processed_at = $1, error = $2 WHERE id = $3")
                        .bind(millis(at))
                        .bind(error.clone())
                        .bind(*id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }
        }

        #[async_trait]
        impl OutboxPort for $store {
            async fn save_pending_status(&self, wamid: &str, status: &str, body: &str) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO wa_pending_statuses (wamid, status, body, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (wamid, status) DO NOTHING",
                )
                .bind(wamid.to_owned())
                .bind(status.to_owned())
                .bind(body.to_owned())
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn take_pending_statuses(&self, wamid: &str) -> StoreResult<Vec<String>> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let bodies: Vec<String> = sqlx::query_scalar("SELECT body FROM wa_pending_statuses WHERE wamid = $1 ORDER BY created_at")
                    .bind(wamid.to_owned())
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("DELETE FROM wa_pending_statuses WHERE wamid = $1")
                    .bind(wamid.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(bodies)
            }

            async fn unsent_whatsapp(&self, due_before: Timestamp, limit: i64) -> StoreResult<Vec<Message>> {
                // A wamid means Meta took it; only its status is still to come.
                self.unsent_replies("whatsapp", "wa_sends", "AND m.provider_id IS NULL", due_before, limit).await
            }

            async fn send_state(&self, message_id: &str) -> StoreResult<Option<SendState>> {
                Ok(self.send_row("wa_sends", "wamid", message_id).await?.map(|row| SendState {
                    message_id: row.message_id,
                    account_id: row.account_id,
                    ticket_id: row.ticket_id,
                    attempts: row.attempts,
                    next_attempt_at: row.next_attempt_at,
                    wamid: row.detail,
                    done: row.done,
                }))
            }

            async fn save_send_state(&self, state: &SendState) -> StoreResult<()> {
                let row = SendRow {
                    message_id: state.message_id.clone(),
                    account_id: state.account_id,
                    ticket_id: state.ticket_id,
                    attempts: state.attempts,
                    next_attempt_at: state.next_attempt_at,
                    detail: state.wamid.clone(),
                    done: state.done,
                };
                self.save_send_row("wa_sends", "wamid", row).await
            }

            async fn unsent_email(&self, due_before: Timestamp, limit: i64) -> StoreResult<Vec<Message>> {
                self.unsent_replies("email", "email_sends", "", due_before, limit).await
            }

            async fn email_send(&self, message_id: &str) -> StoreResult<Option<EmailSend>> {
                Ok(self.send_row("email_sends", "last_error", message_id).await?.map(|row| EmailSend {
                    message_id: row.message_id,
                    account_id: row.account_id,
                    ticket_id: row.ticket_id,
                    attempts: row.attempts,
                    next_attempt_at: row.next_attempt_at,
                    last_error: row.detail,
                    done: row.done,
                }))
            }

            async fn save_email_send(&self, send: &EmailSend) -> StoreResult<()> {
                let row = SendRow {
                    message_id: send.message_id.clone(),
                    account_id: send.account_id,
                    ticket_id: send.ticket_id,
                    attempts: send.attempts,
                    next_attempt_at: send.next_attempt_at,
                    detail: send.last_error.clone(),
                    done: send.done,
                };
                self.save_send_row("email_sends", "last_error", row).await
            }
        }

        #[async_trait]
        impl WhatsAppPort for $store {
            async fn conversation(&self, phone_number_id: &str, customer: UserId) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!("{CONVERSATION_SELECT} WHERE phone_number_id = $1 AND customer_id = $2")))
                    .bind(phone_number_id.to_owned())
                    .bind(customer);
                self.one_conversation(query).await
            }

            async fn conversation_by_id(&self, id: i64) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!("{CONVERSATION_SELECT} WHERE id = $1"))).bind(id);
                self.one_conversation(query).await
            }

            async fn conversation_of_customer(&self, customer: UserId) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{CONVERSATION_SELECT} WHERE customer_id = $1 ORDER BY updated_at DESC LIMIT 1"
                )))
                .bind(customer);
                self.one_conversation(query).await
            }

            async fn save_conversation_with_timers(&self, c: &Conversation, timers: &[(&str, Timestamp)]) -> StoreResult<Conversation> {
                let timers = timers.iter().map(|(name, due)| ((*name).to_owned(), *due)).collect();
                match self.writes.submit(WriteOp::SaveConversation { conversation: Box::new(c.clone()), timers }).await? {
                    WriteOutcome::Saved(id) => Ok(Conversation { id, ..c.clone() }),
                    other => Err(StoreError::Internal(format!("saving a conversation answered {other:?}"))),
                }
            }

            async fn list_conversations(&self, account: AccountId, limit: i64) -> StoreResult<Vec<ConversationOverview>> {
                let rows = sqlx::query(
                    "SELECT c.id, c.account_id, c.phone_number_id, c.customer_id, c.wa_id, c.user_key, c.window_expires_at, \
                     c.last_inbound_at, c.current_ticket_id, c.opted_out, c.referral, c.updated_at, \
                     u.name AS customer_name, \
                     (SELECT m.id FROM messages m WHERE m.ticket_id = c.current_ticket_id AND m.kind <> 'note' \
                      ORDER BY m.seq DESC LIMIT 1) AS last_message_id \
                     FROM wa_conversations c JOIN users u ON u.id = c.customer_id \
                     WHERE c.account_id = $1 ORDER BY c.updated_at DESC LIMIT $2",
                )
                .bind(account)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let last_ids: Vec<String> = rows
                    .iter()
                    .map(|row| row.try_get::<Option<String>, _>("last_message_id").map_err(db_error))
                    .collect::<StoreResult<Vec<_>>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                let mut messages = std::collections::HashMap::new();
                for chunk in last_ids.chunks(INSERT_CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(format!("{MESSAGE_SELECT} WHERE id IN ("));
                    let mut ids = query.separated(", ");
                    for id in chunk {
                        ids.push_bind(id.clone());
                    }
                    query.push(")");
                    for row in query.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)? {
                        let message = message_from_row(&row)?;
                        messages.insert(message.id.clone(), message);
                    }
                }
                rows.iter()
                    .map(|row| {
                        let last: Option<String> = row.try_get("last_message_id").map_err(db_error)?;
                        Ok(ConversationOverview {
                            conversation: conversation_from_row(row)?,
                            customer_name: row.try_get("customer_name").map_err(db_error)?,
                            last_message: last.and_then(|id| messages.remove(&id)),
                        })
                    })
                    .collect()
            }

            async fn templates(&self) -> StoreResult<Vec<Template>> {
                sqlx::query("SELECT name, language, category, status, body, parameter_count FROM wa_templates ORDER BY name, language")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Template {
                            name: row.try_get("name").map_err(db_error)?,
                            language: row.try_get("language").map_err(db_error)?,
                            category: row.try_get("category").map_err(db_error)?,
                            status: row.try_get("status").map_err(db_error)?,
                            body: row.try_get("body").map_err(db_error)?,
                            parameter_count: row.try_get("parameter_count").map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            async fn save_template(&self, template: &Template, at: Timestamp) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO wa_templates (name, language, category, status, body, parameter_count, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name, language) DO UPDATE SET category = excluded.category, \
                     status = excluded.status, body = excluded.body, parameter_count = excluded.parameter_count, updated_at = excluded.updated_at",
                )
                .bind(template.name.clone())
                .bind(template.language.clone())
                .bind(template.category.clone())
                .bind(template.status.clone())
                .bind(template.body.clone())
                .bind(template.parameter_count)
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }
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

            async fn insert_events(tx: &mut DbTx, events: &[&TicketEvent]) -> StoreResult<()> {
                for chunk in events.chunks(INSERT_CHUNK) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO ticket_events (account_id, ticket_id, seq, kind, data, actor_id, created_at) ",
                    );
                    let mut encoded = Vec::with_capacity(chunk.len());
                    for event in chunk {
                        encoded.push(json_text(&event.kind)?);
                    }
                    insert.push_values(chunk.iter().zip(encoded), |mut row, (event, data)| {
                        row.push_bind(event.account_id)
                            .push_bind(event.ticket_id)
                            .push_bind(event.seq)
                            .push_bind(event.kind.name())
                            .push_bind(data)
                            .push_bind(event.actor_id)
                            .push_bind(millis(event.at));
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

        #[async_trait]
        impl BatchWriter for $writer {
            async fn write_batch(&self, ops: &mut [WriteOp]) -> StoreResult<Vec<WriteOutcome>> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let mut outcomes = Vec::with_capacity(ops.len());
                let (mut processed, mut processed_at) = (Vec::new(), 0_i64);
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
                        WriteOp::InboxAppend { body, received_at, claimed_until } => {
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
                    for event in &commit.events {
                        match &event.kind {
                            EventKind::DeliveryChanged { message_id, status, provider_id, error } => {
                                Self::record_delivery(&mut tx, message_id, *status, provider_id.as_deref(), error.as_ref()).await?;
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
                Self::insert_events(&mut tx, &events).await?;
                Self::insert_messages(&mut tx, &messages).await?;
                tx.commit().await.map_err(db_error)?;
                Ok(outcomes)
            }
        }
    };
}

pub(crate) use shared_sql;
