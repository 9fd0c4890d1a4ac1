//! The SQL of outbound messages and their send attempts, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! outbox_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
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
                let bodies: Vec<String> =
                    sqlx::query_scalar("SELECT body FROM wa_pending_statuses WHERE wamid = $1 ORDER BY created_at")
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
    };
}
pub(crate) use outbox_sql;
