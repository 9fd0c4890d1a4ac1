//! The SQL of the audit log (migration 0035), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each. Append and retention only: no statement here
//! updates an entry.

macro_rules! audit_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::audit::{AuditEntry, AuditFilter, AuditPort, NewAuditEntry};

        const AUDIT_COLUMNS: &str =
            "id, account_id, at, actor_id, actor_ip, action, target_type, target_id, before_json, after_json";

        fn audit_entry_from_row(row: &DbRow) -> StoreResult<AuditEntry> {
            let json = |column: &str| -> StoreResult<Option<serde_json::Value>> {
                let text: Option<String> = row.try_get(column).map_err(db_error)?;
                text.as_deref().map(parse_json).transpose()
            };
            Ok(AuditEntry {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                at: from_millis(row.try_get("at").map_err(db_error)?)?,
                actor_id: row.try_get("actor_id").map_err(db_error)?,
                actor_ip: row.try_get("actor_ip").map_err(db_error)?,
                action: row.try_get("action").map_err(db_error)?,
                target_type: row.try_get("target_type").map_err(db_error)?,
                target_id: row.try_get("target_id").map_err(db_error)?,
                before: json("before_json")?,
                after: json("after_json")?,
            })
        }

        #[async_trait]
        impl AuditPort for $store {
            async fn append_audit(&self, entry: NewAuditEntry) -> StoreResult<AuditEntry> {
                let sql = format!(
                    "INSERT INTO audit_log (account_id, at, actor_id, actor_ip, action, target_type, target_id, \
                     before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {AUDIT_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(entry.account_id)
                    .bind(millis(entry.at))
                    .bind(entry.actor_id)
                    .bind(entry.actor_ip)
                    .bind(entry.action)
                    .bind(entry.target_type)
                    .bind(entry.target_id)
                    .bind(entry.before.as_ref().map(json_text).transpose()?)
                    .bind(entry.after.as_ref().map(json_text).transpose()?)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                audit_entry_from_row(&row)
            }

            async fn audit_entries(
                &self,
                account: AccountId,
                filter: &AuditFilter,
                limit: u32,
            ) -> StoreResult<Vec<AuditEntry>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE account_id = "));
                query.push_bind(account);
                if let Some(from) = filter.from {
                    query.push(" AND at >= ").push_bind(millis(from));
                }
                if let Some(to) = filter.to {
                    query.push(" AND at < ").push_bind(millis(to));
                }
                if let Some(actor) = filter.actor_id {
                    query.push(" AND actor_id = ").push_bind(actor);
                }
                match filter.action.as_deref() {
                    Some(family) if family.ends_with('.') => {
                        // `_` and `%` are LIKE's wildcards and `_` is in names (`api_key.`): escaped.
                        let escaped = family.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                        query.push(" AND action LIKE ").push_bind(format!("{escaped}%")).push(" ESCAPE '\\'");
                    }
                    Some(action) => {
                        query.push(" AND action = ").push_bind(action.to_owned());
                    }
                    None => {}
                }
                if let Some(before) = filter.before_id {
                    query.push(" AND id < ").push_bind(before);
                }
                query.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(limit));
                let rows = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                rows.iter().map(audit_entry_from_row).collect()
            }

            async fn delete_audit_before(&self, account: AccountId, before: Timestamp) -> StoreResult<u64> {
                sqlx::query("DELETE FROM audit_log WHERE account_id = $1 AND at < $2")
                    .bind(account)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|done| done.rows_affected())
            }

            async fn audit_account_ids(&self) -> StoreResult<Vec<AccountId>> {
                sqlx::query_scalar("SELECT DISTINCT account_id FROM audit_log ORDER BY account_id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn audit_retention_days(&self, account: AccountId) -> StoreResult<u32> {
                let days: Option<i64> = sqlx::query_scalar("SELECT audit_retention_days FROM accounts WHERE id = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                let days = days.ok_or(StoreError::NotFound)?;
                u32::try_from(days).map_err(|error| StoreError::Internal(format!("retention {days}: {error}")))
            }

            async fn set_audit_retention_days(&self, account: AccountId, days: u32) -> StoreResult<()> {
                sqlx::query("UPDATE accounts SET audit_retention_days = $1 WHERE id = $2")
                    .bind(i64::from(days))
                    .bind(account)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }
        }
    };
}
pub(crate) use audit_sql;
