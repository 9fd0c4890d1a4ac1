//! The SQL of automation rules and their run log, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each. Run-log rows are written by the group-commit
//! writer with their `automation_ran` event (`writer.rs`), never here.

macro_rules! automations_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        const RULE_SELECT: &str = "SELECT id, account_id, name, enabled, position, rule, created_by, created_at, \
                                   updated_at FROM automation_rules";

        fn rule_from_row(
            row: &<$db as sqlx::Database>::Row,
            keys: &crate::secrets::Keyring,
        ) -> StoreResult<switchboard_actors::automation::AutomationRule> {
            let column = &crate::secrets::AUTOMATION_WEBHOOK_SECRETS;
            let rule = rule_secrets(row.try_get::<String, _>("rule").map_err(db_error)?, |secret| {
                keys.open(column, secret).map(Some)
            })?;
            Ok(switchboard_actors::automation::AutomationRule {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                enabled: row.try_get("enabled").map_err(db_error)?,
                position: row.try_get("position").map_err(db_error)?,
                spec: parse_json(&rule)?,
                created_by: row.try_get("created_by").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
            })
        }

        fn run_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<switchboard_actors::automation::AutomationRun> {
            let result: String = row.try_get("result").map_err(db_error)?;
            Ok(switchboard_actors::automation::AutomationRun {
                id: row.try_get("id").map_err(db_error)?,
                rule_id: row.try_get("rule_id").map_err(db_error)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                seq: row.try_get("seq").map_err(db_error)?,
                ran_at: from_millis(row.try_get("ran_at").map_err(db_error)?)?,
                result: result.parse().map_err(|_| StoreError::Internal(format!("run result {result}")))?,
                detail: parse_json(&row.try_get::<String, _>("detail").map_err(db_error)?)?,
            })
        }

        #[async_trait]
        impl switchboard_actors::automation::AutomationsPort for $store {
            async fn list_rules(
                &self,
                account: AccountId,
            ) -> StoreResult<Vec<switchboard_actors::automation::AutomationRule>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{RULE_SELECT} WHERE account_id = $1 ORDER BY position, id")))
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| rule_from_row(row, &self.secrets))
                    .collect()
            }

            async fn rule(
                &self,
                account: AccountId,
                id: switchboard_actors::automation::RuleId,
            ) -> StoreResult<Option<switchboard_actors::automation::AutomationRule>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{RULE_SELECT} WHERE account_id = $1 AND id = $2")))
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(|row| rule_from_row(row, &self.secrets))
                    .transpose()
            }

            async fn create_rule(
                &self,
                rule: switchboard_actors::automation::NewRule,
                at: Timestamp,
            ) -> StoreResult<switchboard_actors::automation::AutomationRule> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let position: i64 = match rule.position {
                    Some(position) => position,
                    None => sqlx::query_scalar(
                        "SELECT COALESCE(MAX(position), 0) + 1 FROM automation_rules WHERE account_id = $1",
                    )
                    .bind(rule.account_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?,
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO automation_rules (account_id, name, enabled, position, rule, created_by, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                )
                .bind(rule.account_id)
                .bind(rule.name.clone())
                .bind(rule.enabled)
                .bind(position)
                .bind(self.seal_rule(json_text(&rule.spec)?)?)
                .bind(rule.created_by)
                .bind(millis(at))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.rule(rule.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_rule(
                &self,
                rule: &switchboard_actors::automation::AutomationRule,
                at: Timestamp,
            ) -> StoreResult<switchboard_actors::automation::AutomationRule> {
                let updated = sqlx::query(
                    "UPDATE automation_rules SET name = $1, enabled = $2, position = $3, rule = $4, updated_at = $5 \
                     WHERE account_id = $6 AND id = $7",
                )
                .bind(rule.name.clone())
                .bind(rule.enabled)
                .bind(rule.position)
                .bind(self.seal_rule(json_text(&rule.spec)?)?)
                .bind(millis(at))
                .bind(rule.account_id)
                .bind(rule.id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.rule(rule.account_id, rule.id).await?.ok_or(StoreError::NotFound)
            }

            async fn delete_rule(
                &self,
                account: AccountId,
                id: switchboard_actors::automation::RuleId,
            ) -> StoreResult<()> {
                let deleted = sqlx::query("DELETE FROM automation_rules WHERE account_id = $1 AND id = $2")
                    .bind(account)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if deleted.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn rule_runs(
                &self,
                account: AccountId,
                id: switchboard_actors::automation::RuleId,
                before: Option<i64>,
                limit: i64,
            ) -> StoreResult<Vec<switchboard_actors::automation::AutomationRun>> {
                sqlx::query(
                    "SELECT id, rule_id, ticket_id, seq, ran_at, result, detail FROM automation_runs \
                     WHERE account_id = $1 AND rule_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4",
                )
                .bind(account)
                .bind(id)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(run_from_row)
                .collect()
            }

            async fn run_counts(
                &self,
                account: AccountId,
                since: Timestamp,
            ) -> StoreResult<Vec<(switchboard_actors::automation::RuleId, Timestamp, i64)>> {
                sqlx::query(
                    "SELECT rule_id, MAX(ran_at) AS last_run, \
                     SUM(CASE WHEN ran_at >= $2 THEN 1 ELSE 0 END) AS recent \
                     FROM automation_runs WHERE account_id = $1 GROUP BY rule_id",
                )
                .bind(account)
                .bind(millis(since))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| {
                    Ok((
                        row.try_get("rule_id").map_err(db_error)?,
                        from_millis(row.try_get("last_run").map_err(db_error)?)?,
                        row.try_get::<Option<i64>, _>("recent").map_err(db_error)?.unwrap_or(0),
                    ))
                })
                .collect()
            }
        }
    };
}
pub(crate) use automations_sql;
