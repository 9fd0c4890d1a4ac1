//! The SQL of WhatsApp conversations and templates, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! whatsapp_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl WhatsAppPort for $store {
            async fn conversation(&self, phone_number_id: &str, customer: UserId) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!("{CONVERSATION_SELECT} WHERE phone_number_id = $1 AND customer_id = $2")))
                    .bind(phone_number_id.to_owned())
                    .bind(customer);
                self.one_conversation(query).await
            }

            async fn conversation_by_id(&self, id: i64) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!("{CONVERSATION_SELECT} WHERE id = $1"))).bind(id);
                self.one_conversation(query).await
            }

            async fn conversation_of_customer(&self, account: AccountId, customer: UserId) -> StoreResult<Option<Conversation>> {
                let query = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{CONVERSATION_SELECT} WHERE customer_id = $1 AND account_id = $2 ORDER BY updated_at DESC LIMIT 1"
                )))
                .bind(customer)
                .bind(account);
                self.one_conversation(query).await
            }

            async fn save_conversation_with_timers(&self, c: &Conversation, timers: &[(&str, Timestamp)]) -> StoreResult<Conversation> {
                let timers = timers.iter().map(|(name, due)| ((*name).to_owned(), *due)).collect();
                match self.writes.submit(WriteOp::SaveConversation { conversation: Box::new(c.clone()), timers }).await? {
                    WriteOutcome::Saved(id) => Ok(Conversation { id, ..c.clone() }),
                    other => Err(StoreError::Internal(format!("saving a conversation answered {other:?}"))),
                }
            }

            async fn list_conversations(&self, account: AccountId, limit: i64) -> StoreResult<Vec<ConversationOverview>> {
                let rows = sqlx::query(
                    "SELECT c.id, c.account_id, c.phone_number_id, c.customer_id, c.wa_id, c.user_key, c.window_expires_at, \
                     c.last_inbound_at, c.current_ticket_id, c.opted_out, c.referral, c.updated_at, \
                     u.name AS customer_name, \
                     (SELECT m.id FROM messages m WHERE m.ticket_id = c.current_ticket_id AND m.kind <> 'note' \
                      ORDER BY m.seq DESC LIMIT 1) AS last_message_id \
                     FROM wa_conversations c JOIN users u ON u.id = c.customer_id \
                     WHERE c.account_id = $1 ORDER BY c.updated_at DESC LIMIT $2",
                )
                .bind(account)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let last_ids: Vec<String> = rows
                    .iter()
                    .map(|row| row.try_get::<Option<String>, _>("last_message_id").map_err(db_error))
                    .collect::<StoreResult<Vec<_>>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                let mut messages = std::collections::HashMap::new();
                for chunk in last_ids.chunks(INSERT_CHUNK) {
                    let mut query = QueryBuilder::<$db>::new(format!("{MESSAGE_SELECT} WHERE id IN ("));
                    let mut ids = query.separated(", ");
                    for id in chunk {
                        ids.push_bind(id.clone());
                    }
                    query.push(")");
                    for row in query.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)? {
                        let message = message_from_row(&row)?;
                        messages.insert(message.id.clone(), message);
                    }
                }
                rows.iter()
                    .map(|row| {
                        let last: Option<String> = row.try_get("last_message_id").map_err(db_error)?;
                        Ok(ConversationOverview {
                            conversation: conversation_from_row(row)?,
                            customer_name: row.try_get("customer_name").map_err(db_error)?,
                            last_message: last.and_then(|id| messages.remove(&id)),
                        })
                    })
                    .collect()
            }

            async fn templates(&self, account: AccountId) -> StoreResult<Vec<Template>> {
                sqlx::query(
                    "SELECT name, language, category, status, body, parameter_count FROM wa_templates \
                     WHERE account_id = $1 ORDER BY name, language",
                )
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Template {
                            name: row.try_get("name").map_err(db_error)?,
                            language: row.try_get("language").map_err(db_error)?,
                            category: row.try_get("category").map_err(db_error)?,
                            status: row.try_get("status").map_err(db_error)?,
                            body: row.try_get("body").map_err(db_error)?,
                            parameter_count: row.try_get("parameter_count").map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            async fn save_template(&self, account: AccountId, template: &Template, at: Timestamp) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO wa_templates (name, language, category, status, body, parameter_count, updated_at, account_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (account_id, name, language) DO UPDATE SET category = excluded.category, \
                     status = excluded.status, body = excluded.body, parameter_count = excluded.parameter_count, updated_at = excluded.updated_at",
                )
                .bind(template.name.clone())
                .bind(template.language.clone())
                .bind(template.category.clone())
                .bind(template.status.clone())
                .bind(template.body.clone())
                .bind(template.parameter_count)
                .bind(millis(at))
                .bind(account)
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }
        }
    };
}
pub(crate) use whatsapp_sql;
