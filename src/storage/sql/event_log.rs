//! The SQL of the installation-wide event log (ticket events by commit-order position), shared
//! by both backends: expanded inside [`shared_sql`](super::shared_sql) for each, where the row
//! helpers it calls are defined. The writer side (handing out positions) is in `writer.rs`.

macro_rules! event_log_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl EventLogPort for $store {
            async fn events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<LoggedEvent>> {
                sqlx::query(
                    "SELECT position, ticket_id, account_id, seq, data, actor_id, created_at FROM ticket_events \
                     WHERE position > $1 ORDER BY position LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| {
                    Ok(LoggedEvent {
                        position: row.try_get("position").map_err(db_error)?,
                        event: event_from_row(row)?,
                    })
                })
                .collect()
            }

            async fn last_event_position(&self) -> StoreResult<i64> {
                sqlx::query_scalar("SELECT last_position FROM event_log_position WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)
            }
        }
    };
}
pub(crate) use event_log_sql;
