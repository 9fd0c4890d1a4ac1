//! The SQL of each account's index of stored files, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! media_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
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
    };
}
pub(crate) use media_sql;
