//! The SQL of durable timers, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! timers_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
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
                sqlx::query(
                    "SELECT owner_kind, owner_id, name, due_at FROM timers WHERE due_at < $1 ORDER BY due_at LIMIT $2",
                )
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
    };
}
pub(crate) use timers_sql;
