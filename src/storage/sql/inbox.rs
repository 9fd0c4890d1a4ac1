//! The SQL of the channels' inboxes, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! inbox_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl InboxPort for $store {
            async fn inbox_append(
                &self,
                body: &str,
                received_at: Timestamp,
                claimed_until: Option<Timestamp>,
                beside_processing: bool,
            ) -> StoreResult<i64> {
                let op = WriteOp::InboxAppend { body: body.to_owned(), received_at, claimed_until, beside_processing };
                match self.writes.submit(op).await? {
                    WriteOutcome::Saved(id) => Ok(id),
                    other => Err(StoreError::Internal(format!("appending to the inbox answered {other:?}"))),
                }
            }

            async fn inbox_claim(
                &self,
                limit: i64,
                now: Timestamp,
                until: Timestamp,
            ) -> StoreResult<Vec<(i64, String)>> {
                self.claim_inbox("webhook_inbox", "body", limit, now, until).await
            }

            async fn inbox_done(&self, done: &[(i64, Option<String>)], at: Timestamp) -> StoreResult<()> {
                // Through the group-commit writer: entries marked one by one as webhooks finish
                // still share transactions.
                let marks = done
                    .iter()
                    .map(|(id, error)| self.writes.submit(WriteOp::InboxDone { id: *id, error: error.clone(), at }));
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

            async fn email_inbox_claim(
                &self,
                limit: i64,
                now: Timestamp,
                until: Timestamp,
            ) -> StoreResult<Vec<(i64, Vec<u8>)>> {
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
    };
}
pub(crate) use inbox_sql;
