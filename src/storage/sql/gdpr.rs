//! The SQL of data protection (migration 0036), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each. A customer's erasure outside their tickets' own
//! rows (which their actors rewrite), retention's archiving and deletion of closed tickets, and
//! customers' requests.

macro_rules! gdpr_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::gdpr::{
            CustomerErasure, DataRequest, GdprPort, RequestKind, RequestStatus, RetentionPolicy, ERASED,
        };

        /// The customer's tickets, as a subquery over `$1` (account) and `$2` (customer).
        const CUSTOMER_TICKETS: &str = "SELECT id FROM tickets WHERE account_id = $1 AND requester_id = $2";
        /// The account's closed tickets closed before a time: `$1` (account), `$2` (millis).
        const EXPIRED_TICKETS: &str =
            "SELECT id FROM tickets WHERE account_id = $1 AND status_category = 'closed' AND closed_at < $2";
        const DATA_REQUEST_COLUMNS: &str =
            "id, account_id, customer_id, kind, status, requested_at, decided_at, decided_by";

        fn data_request_from_row(row: &DbRow) -> StoreResult<DataRequest> {
            let kind: String = row.try_get("kind").map_err(db_error)?;
            let status: String = row.try_get("status").map_err(db_error)?;
            Ok(DataRequest {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                customer_id: row.try_get("customer_id").map_err(db_error)?,
                kind: kind.parse().map_err(StoreError::Internal)?,
                status: status.parse().map_err(StoreError::Internal)?,
                requested_at: from_millis(row.try_get("requested_at").map_err(db_error)?)?,
                decided_at: row.try_get::<Option<i64>, _>("decided_at").map_err(db_error)?.map(from_millis).transpose()?,
                decided_by: row.try_get("decided_by").map_err(db_error)?,
            })
        }

        fn days_of(value: Option<i64>) -> StoreResult<Option<u32>> {
            value.map(|days| u32::try_from(days).map_err(|error| StoreError::Internal(format!("days {days}: {error}")))).transpose()
        }

        impl $store {
            /// Runs `sql` once per pattern (`$1` the pattern, lower case, for `LIKE … ESCAPE`).
            async fn gdpr_each_pattern(tx: &mut DbTx, sql: &str, needles: &[String]) -> StoreResult<()> {
                for needle in needles {
                    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                        .bind(like_pattern(needle))
                        .execute(&mut **tx)
                        .await
                        .map_err(db_error)?;
                }
                Ok(())
            }

            /// Of `files`, those no `media_files` row of any account names any more.
            async fn gdpr_unreferenced(tx: &mut DbTx, files: &[String]) -> StoreResult<Vec<String>> {
                let mut gone = Vec::new();
                for file in files {
                    let held: Option<i64> = sqlx::query_scalar("SELECT account_id FROM media_files WHERE sha256 = $1 LIMIT 1")
                        .bind(file.clone())
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(db_error)?;
                    if held.is_none() {
                        gone.push(file.clone());
                    }
                }
                Ok(gone)
            }
        }

        #[async_trait]
        impl GdprPort for $store {
            async fn customer_ticket_ids(&self, account: AccountId, customer: UserId) -> StoreResult<Vec<TicketId>> {
                sqlx::query_scalar("SELECT id FROM tickets WHERE account_id = $1 AND requester_id = $2 ORDER BY id")
                    .bind(account)
                    .bind(customer)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn customer_surveys(
                &self,
                account: AccountId,
                customer: UserId,
            ) -> StoreResult<Vec<switchboard_actors::csat::Survey>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SURVEY_COLUMNS} FROM csat_surveys WHERE account_id = $1 AND customer_id = $2 ORDER BY id")))
                    .bind(account)
                    .bind(customer)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(survey_from_row).collect()
            }

            async fn erase_customer(&self, erasure: &CustomerErasure, files: &[String]) -> StoreResult<Vec<String>> {
                let (account, customer) = (erasure.account_id, erasure.customer_id);
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                // The profile: kept (tickets and figures point at it), emptied and locked out.
                // Emails are unique, so the placeholder names the id (`.invalid` never delivers).
                let done = sqlx::query(
                    "UPDATE users SET name = $1, email = $2, phone = NULL, password_hash = NULL, active = FALSE \
                     WHERE id = $3 AND account_id = $4 AND role = 'customer'",
                )
                .bind(ERASED)
                .bind(format!("erased-{customer}@erased.invalid"))
                .bind(customer)
                .bind(account)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                let by_user = [
                    "DELETE FROM contacts WHERE user_id = $1",
                    "DELETE FROM sessions WHERE user_id = $1",
                    "DELETE FROM one_time_codes WHERE user_id = $1",
                    "DELETE FROM password_resets WHERE user_id = $1",
                    "DELETE FROM user_totp WHERE user_id = $1",
                    "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
                    "DELETE FROM api_keys WHERE user_id = $1",
                    "DELETE FROM notification_preferences WHERE user_id = $1",
                    "UPDATE kb_deflections SET query = '[erased]' WHERE user_id = $1",
                    "UPDATE csat_surveys SET comment = '[erased]' WHERE customer_id = $1 AND comment IS NOT NULL",
                    // Conversations are unlinked: their durable timers go with them.
                    "DELETE FROM timers WHERE owner_kind = 'conversation' AND owner_id IN \
                     (SELECT id FROM wa_conversations WHERE customer_id = $1)",
                    "DELETE FROM wa_conversations WHERE customer_id = $1",
                ];
                for sql in by_user {
                    sqlx::query(sql).bind(customer).execute(&mut *tx).await.map_err(db_error)?;
                }
                let by_ticket = [
                    format!("DELETE FROM ticket_drafts WHERE ticket_id IN ({CUSTOMER_TICKETS})"),
                    format!("UPDATE notifications SET subject = '[erased]', text = '[erased]' WHERE ticket_id IN ({CUSTOMER_TICKETS})"),
                    format!(
                        "UPDATE email_sends SET last_error = '[erased]' WHERE last_error IS NOT NULL \
                         AND ticket_id IN ({CUSTOMER_TICKETS})"
                    ),
                    // Deliveries carried the events' bodies: the log keeps their outcome only, and
                    // those still waiting are not sent.
                    format!(
                        "UPDATE webhook_deliveries SET body = '[erased]', last_error = NULL, \
                         status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END, next_attempt_at = NULL \
                         WHERE account_id = $1 AND ticket_id IN ({CUSTOMER_TICKETS})"
                    ),
                    format!("DELETE FROM media_files WHERE account_id = $1 AND (ticket_id IN ({CUSTOMER_TICKETS}) OR uploaded_by = $2)"),
                ];
                for sql in by_ticket {
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account).bind(customer).execute(&mut *tx).await.map_err(db_error)?;
                }
                // What can be found only by its words: raw webhooks and statuses waiting for
                // their message (names, numbers, texts), whatever their account.
                let mut searched = erasure.needles.clone();
                searched.extend(erasure.texts.iter().cloned());
                Self::gdpr_each_pattern(
                    &mut tx,
                    "UPDATE webhook_inbox SET body = '[erased]' WHERE lower(body) LIKE $1 ESCAPE '\\'",
                    &searched,
                )
                .await?;
                Self::gdpr_each_pattern(
                    &mut tx,
                    "DELETE FROM wa_pending_statuses WHERE lower(body) LIKE $1 ESCAPE '\\'",
                    &erasure.needles,
                )
                .await?;
                // Raw inbound emails (bytes) from or about them, once processed: their text is
                // read as it comes (SQLite) or with non-ASCII bytes escaped (PostgreSQL).
                let raw_text = match <$db as HasDialect>::DIALECT {
                    crate::storage::sql::ticket_filter::Dialect::Sqlite => "lower(CAST(raw AS TEXT))",
                    crate::storage::sql::ticket_filter::Dialect::Postgres => "lower(encode(raw, 'escape'))",
                };
                let sql = format!(
                    "UPDATE email_inbox SET raw = $2 WHERE processed_at IS NOT NULL AND {raw_text} LIKE $1 ESCAPE '\\'"
                );
                for needle in &erasure.needles {
                    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(like_pattern(needle))
                        .bind(ERASED.as_bytes().to_vec())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                // Audit entries quoting the customer: their before/after scrubbed where they
                // mention them (the one rewrite the audit log allows, see ARCHITECTURE.md).
                let mut audit_ids: Vec<i64> = Vec::new();
                for needle in &searched {
                    let ids: Vec<i64> = sqlx::query_scalar(
                        "SELECT id FROM audit_log WHERE account_id = $1 AND \
                         (lower(before_json) LIKE $2 ESCAPE '\\' OR lower(after_json) LIKE $2 ESCAPE '\\')",
                    )
                    .bind(account)
                    .bind(like_pattern(needle))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_error)?;
                    audit_ids.extend(ids);
                }
                audit_ids.sort_unstable();
                audit_ids.dedup();
                for id in audit_ids {
                    let row = sqlx::query("SELECT before_json, after_json FROM audit_log WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(db_error)?;
                    let mut scrubbed = Vec::new();
                    for column in ["before_json", "after_json"] {
                        let text: Option<String> = row.try_get(column).map_err(db_error)?;
                        let text = match text {
                            Some(text) => {
                                let mut value = parse_json::<serde_json::Value>(&text)?;
                                switchboard_actors::gdpr::scrub_json(&mut value, &searched);
                                Some(json_text(&value)?)
                            }
                            None => None,
                        };
                        scrubbed.push(text);
                    }
                    sqlx::query("UPDATE audit_log SET before_json = $1, after_json = $2 WHERE id = $3")
                        .bind(scrubbed[0].clone())
                        .bind(scrubbed[1].clone())
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                let gone = Self::gdpr_unreferenced(&mut tx, files).await?;
                tx.commit().await.map_err(db_error)?;
                if matches!(<$db as HasDialect>::DIALECT, crate::storage::sql::ticket_filter::Dialect::Sqlite) {
                    // FTS5 keeps a deleted row's words in its segments until they are merged:
                    // merging them all now drops the erased words from the index itself (a
                    // rewrite of the index, in seconds at a million messages; erasures are rare).
                    sqlx::query("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")
                        .execute(&self.pool)
                        .await
                        .map_err(db_error)?;
                }
                Ok(gone)
            }

            async fn retention_policy(&self, account: AccountId) -> StoreResult<RetentionPolicy> {
                let row = sqlx::query("SELECT archive_closed_after_days, delete_closed_after_days FROM accounts WHERE id = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .ok_or(StoreError::NotFound)?;
                Ok(RetentionPolicy {
                    archive_after_days: days_of(row.try_get("archive_closed_after_days").map_err(db_error)?)?,
                    delete_after_days: days_of(row.try_get("delete_closed_after_days").map_err(db_error)?)?,
                })
            }

            async fn set_retention_policy(&self, account: AccountId, policy: &RetentionPolicy) -> StoreResult<()> {
                sqlx::query("UPDATE accounts SET archive_closed_after_days = $1, delete_closed_after_days = $2 WHERE id = $3")
                    .bind(policy.archive_after_days.map(i64::from))
                    .bind(policy.delete_after_days.map(i64::from))
                    .bind(account)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }

            async fn retention_account_ids(&self) -> StoreResult<Vec<AccountId>> {
                sqlx::query_scalar(
                    "SELECT id FROM accounts WHERE archive_closed_after_days IS NOT NULL \
                     OR delete_closed_after_days IS NOT NULL ORDER BY id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn archive_closed_tickets(
                &self,
                account: AccountId,
                closed_before: Timestamp,
                at: Timestamp,
            ) -> StoreResult<u64> {
                sqlx::query(
                    "UPDATE tickets SET archived_at = $3 WHERE account_id = $1 AND status_category = 'closed' \
                     AND closed_at < $2 AND archived_at IS NULL",
                )
                .bind(account)
                .bind(millis(closed_before))
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|done| done.rows_affected())
            }

            async fn delete_closed_tickets(
                &self,
                account: AccountId,
                closed_before: Timestamp,
            ) -> StoreResult<(u64, Vec<String>)> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let files: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT DISTINCT sha256 FROM media_files WHERE account_id = $1 AND ticket_id IN ({EXPIRED_TICKETS})"
                )))
                .bind(account)
                .bind(millis(closed_before))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_error)?;
                // Everything that hangs off the tickets first; report measures stay (ids and
                // figures only), so the reports of past periods do not change.
                let statements = [
                    format!("DELETE FROM ticket_tags WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM ticket_drafts WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM notifications WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM automation_runs WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM csat_surveys WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("UPDATE kb_articles SET source_ticket_id = NULL WHERE source_ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM media_files WHERE account_id = $1 AND ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM timers WHERE owner_kind = 'ticket' AND owner_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM webhook_deliveries WHERE account_id = $1 AND ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("UPDATE wa_conversations SET current_ticket_id = NULL WHERE current_ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM wa_sends WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM email_sends WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM messages WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                    format!("DELETE FROM ticket_events WHERE ticket_id IN ({EXPIRED_TICKETS})"),
                ];
                for sql in statements {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(account)
                        .bind(millis(closed_before))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                let deleted = sqlx::query("DELETE FROM tickets WHERE account_id = $1 AND status_category = 'closed' AND closed_at < $2")
                    .bind(account)
                    .bind(millis(closed_before))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                let gone = Self::gdpr_unreferenced(&mut tx, &files).await?;
                tx.commit().await.map_err(db_error)?;
                Ok((deleted, gone))
            }

            async fn ticket_archived_at(&self, ticket: TicketId) -> StoreResult<Option<Timestamp>> {
                let at: Option<Option<i64>> = sqlx::query_scalar("SELECT archived_at FROM tickets WHERE id = $1")
                    .bind(ticket)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                at.flatten().map(from_millis).transpose()
            }

            async fn create_data_request(
                &self,
                account: AccountId,
                customer: UserId,
                kind: RequestKind,
                at: Timestamp,
            ) -> StoreResult<DataRequest> {
                let sql = format!(
                    "INSERT INTO data_requests (account_id, customer_id, kind, status, requested_at) \
                     VALUES ($1, $2, $3, 'pending', $4) RETURNING {DATA_REQUEST_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(customer)
                    .bind(kind.as_str())
                    .bind(millis(at))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                data_request_from_row(&row)
            }

            async fn data_requests(&self, account: AccountId, customer: Option<UserId>) -> StoreResult<Vec<DataRequest>> {
                let mut query =
                    QueryBuilder::<$db>::new(format!("SELECT {DATA_REQUEST_COLUMNS} FROM data_requests WHERE account_id = "));
                query.push_bind(account);
                if let Some(customer) = customer {
                    query.push(" AND customer_id = ").push_bind(customer);
                }
                query.push(" ORDER BY id DESC LIMIT 500");
                let rows = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                rows.iter().map(data_request_from_row).collect()
            }

            async fn data_request(&self, account: AccountId, id: i64) -> StoreResult<Option<DataRequest>> {
                let sql = format!("SELECT {DATA_REQUEST_COLUMNS} FROM data_requests WHERE account_id = $1 AND id = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(data_request_from_row).transpose()
            }

            async fn decide_data_request(
                &self,
                account: AccountId,
                id: i64,
                status: RequestStatus,
                by: UserId,
                at: Timestamp,
            ) -> StoreResult<bool> {
                sqlx::query(
                    "UPDATE data_requests SET status = $1, decided_by = $2, decided_at = $3 \
                     WHERE account_id = $4 AND id = $5 AND status = 'pending'",
                )
                .bind(status.as_str())
                .bind(by)
                .bind(millis(at))
                .bind(account)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|done| done.rows_affected() == 1)
            }
        }
    };
}
pub(crate) use gdpr_sql;
