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
    "last_customer_channel",
    "links",
    "automations",
    "preview",
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

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod automations;
pub(crate) mod companies;
pub(crate) mod csat;
pub(crate) mod customer_auth;
pub(crate) mod directory;
pub(crate) mod event_log;
pub(crate) mod gdpr;
pub(crate) mod inbox;
pub(crate) mod knowledge_base;
pub(crate) mod media;
pub(crate) mod notifications;
pub(crate) mod outbox;
pub(crate) mod reports;
pub(crate) mod routing;
pub(crate) mod secrets;
pub(crate) mod security;
pub(crate) mod sessions;
pub(crate) mod settings;
pub(crate) mod sso;
pub(crate) mod ticket_filter;
pub(crate) mod tickets;
pub(crate) mod timers;
pub(crate) mod views;
pub(crate) mod webhooks;
pub(crate) mod whatsapp;
pub(crate) mod writer;

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

        use crate::storage::group_commit::{WriteOp, WriteOutcome};
        use crate::storage::sql::*;
        use crate::storage::sql::ticket_filter::{
            filter_sql, search_tokens, sort_key_sql, subject_match_sql, Fragment, HasDialect, Piece, RELEVANCE_BONUS,
        };
        use crate::storage::{db_error, from_millis, json_text, millis, parse_json, parse_text};

        type DbRow = <$db as sqlx::Database>::Row;
        type DbTx = sqlx::Transaction<'static, $db>;

        /// The position of a log-tailing cursor: a one-row table (`report_cursor`,
        /// `notifier_cursor`, `webhook_cursor`).
        async fn cursor_position(pool: &sqlx::Pool<$db>, table: &'static str) -> StoreResult<i64> {
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT position FROM {table} WHERE id = 1")))
                .fetch_one(pool)
                .await
                .map_err(db_error)
        }

        /// Moves a log-tailing cursor from `from` to `to` inside `tx` (compare-and-set, so the
        /// tail's writes and the move commit together); `Conflict` when another node moved it
        /// first, naming `whose` cursor it is.
        async fn move_cursor(tx: &mut DbTx, table: &'static str, whose: &str, from: i64, to: i64) -> StoreResult<()> {
            let moved =
                sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE {table} SET position = $1 WHERE id = 1 AND position = $2")))
                    .bind(to)
                    .bind(from)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
            if moved.rows_affected() != 1 {
                return Err(StoreError::Conflict(format!("{whose} cursor moved")));
            }
            Ok(())
        }

        impl $store {
            /// Moves a log follower's cursor after a pass that wrote nothing else, through the
            /// group-commit writer (riding along with its next batch).
            async fn move_cursor_alone(
                &self,
                cursor: crate::storage::group_commit::Cursor,
                from: i64,
                to: i64,
            ) -> StoreResult<()> {
                match self.writes.submit(WriteOp::MoveCursor { cursor, from, to }).await? {
                    WriteOutcome::Committed => Ok(()),
                    WriteOutcome::Exists => Err(StoreError::Conflict(format!("{} cursor moved", cursor.whose()))),
                    other => Err(StoreError::Internal(format!("moving a cursor answered {other:?}"))),
                }
            }
        }

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
                skills: Vec::new(),
                languages: Vec::new(),
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
                skills: json_list(row, "skills")?,
                languages: json_list(row, "languages")?,
                time_zone: row.try_get("time_zone").map_err(db_error)?,
                phone: row.try_get("phone").map_err(db_error)?,
                active: row.try_get("active").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        }

        /// A JSON array of strings kept in a text column (a user's skills and languages).
        fn json_list(row: &DbRow, column: &str) -> StoreResult<Vec<String>> {
            parse_json(&row.try_get::<String, _>(column).map_err(db_error)?)
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
                last_customer_channel: row
                    .try_get::<Option<String>, _>("last_customer_channel")
                    .map_err(db_error)?
                    .map(parse_text)
                    .transpose()?,
                links: row
                    .try_get::<Option<String>, _>("links")
                    .map_err(db_error)?
                    .map(|text| parse_json(&text))
                    .transpose()?
                    .unwrap_or_default(),
                automations: row
                    .try_get::<Option<String>, _>("automations")
                    .map_err(db_error)?
                    .map(|text| parse_json(&text))
                    .transpose()?
                    .unwrap_or_default(),
                preview: row.try_get("preview").map_err(db_error)?,
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
            "id, account_id, email, name, role, company_id, capacity, skills, languages, time_zone, phone, active, created_at";

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

            /// Counts a committed change to the staff directory (see `directory_version`).
            fn directory_changed(&self) {
                self.directory_version.fetch_add(1, std::sync::atomic::Ordering::Release);
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

        crate::storage::sql::settings::settings_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::directory::directory_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::companies::companies_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::sessions::sessions_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::media::media_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::tickets::tickets_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::timers::timers_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::automations::automations_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::inbox::inbox_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::outbox::outbox_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::whatsapp::whatsapp_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);

        crate::storage::sql::event_log::event_log_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::notifications::notifications_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::views::views_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::routing::routing_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::customer_auth::customer_auth_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::knowledge_base::knowledge_base_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::reports::reports_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::csat::csat_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::api_keys::api_keys_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::security::security_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::sso::sso_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::webhooks::webhooks_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::audit::audit_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::gdpr::gdpr_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
        crate::storage::sql::secrets::secrets_sql!($db, $store, $writer, $begin_write, $tickets_per_update, $team_ids_of_u);
    };
}

pub(crate) use shared_sql;
