//! The SQL of accounts, their configuration and the secrets generated per install, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! settings_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl SettingsPort for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_error).map(|_| ())
            }

            async fn close(&self) {
                self.pool.close().await;
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
                .bind(self.seal(&crate::secrets::GENERATED_SECRETS, candidate))
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                let stored: String = sqlx::query_scalar("SELECT value FROM generated_secrets WHERE name = $1")
                    .bind(name.to_owned())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                open_secret(&self.secrets, &crate::secrets::GENERATED_SECRETS, &stored)
            }
        }
    };
}
pub(crate) use settings_sql;
