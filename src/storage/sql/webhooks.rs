//! The SQL of outbound webhooks (subscriptions, the dispatcher's cursor, the delivery outbox and
//! log), shared by both backends: expanded inside [`shared_sql`](super::shared_sql) for each.

macro_rules! webhooks_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        const WEBHOOK_COLUMNS: &str = "id, account_id, url, events, secret, active, allow_private, disabled_reason, \
                                       failing_since, created_by, created_at, updated_at";
        const DELIVERY_COLUMNS: &str = "id, webhook_id, account_id, position, ticket_id, seq, event_type, body, status, \
                                        attempts, last_status_code, last_response_ms, last_error, next_attempt_at, \
                                        created_at, queued_at, delivered_at";

        /// A subscription from a row whose columns carry `prefix` (`w_` when joined).
        fn webhook_from_row(
            row: &DbRow,
            prefix: &str,
            keys: &crate::secrets::Keyring,
        ) -> StoreResult<switchboard_actors::webhooks::Webhook> {
            let column = |name: &str| format!("{prefix}{name}");
            let events: String = row.try_get(column("events").as_str()).map_err(db_error)?;
            let failing_since: Option<i64> = row.try_get(column("failing_since").as_str()).map_err(db_error)?;
            Ok(switchboard_actors::webhooks::Webhook {
                id: row.try_get(column("id").as_str()).map_err(db_error)?,
                account_id: row.try_get(column("account_id").as_str()).map_err(db_error)?,
                url: row.try_get(column("url").as_str()).map_err(db_error)?,
                events: parse_json(&events)?,
                secret: open_secret(
                    keys,
                    &crate::secrets::WEBHOOK_SECRETS,
                    &row.try_get::<String, _>(column("secret").as_str()).map_err(db_error)?,
                )?,
                active: row.try_get(column("active").as_str()).map_err(db_error)?,
                allow_private: row.try_get(column("allow_private").as_str()).map_err(db_error)?,
                disabled_reason: row.try_get(column("disabled_reason").as_str()).map_err(db_error)?,
                failing_since: failing_since.map(from_millis).transpose()?,
                created_by: row.try_get(column("created_by").as_str()).map_err(db_error)?,
                created_at: from_millis(row.try_get(column("created_at").as_str()).map_err(db_error)?)?,
                updated_at: from_millis(row.try_get(column("updated_at").as_str()).map_err(db_error)?)?,
            })
        }

        fn delivery_from_row(row: &DbRow) -> StoreResult<switchboard_actors::webhooks::Delivery> {
            Ok(switchboard_actors::webhooks::Delivery {
                id: row.try_get("id").map_err(db_error)?,
                webhook_id: row.try_get("webhook_id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                position: row.try_get("position").map_err(db_error)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                seq: row.try_get("seq").map_err(db_error)?,
                event_type: row.try_get("event_type").map_err(db_error)?,
                status: parse_text(row.try_get("status").map_err(db_error)?)?,
                attempts: row.try_get("attempts").map_err(db_error)?,
                last_status_code: row.try_get("last_status_code").map_err(db_error)?,
                last_response_ms: row.try_get("last_response_ms").map_err(db_error)?,
                last_error: row.try_get("last_error").map_err(db_error)?,
                next_attempt_at: opt_millis(row, "next_attempt_at")?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                queued_at: from_millis(row.try_get("queued_at").map_err(db_error)?)?,
                delivered_at: opt_millis(row, "delivered_at")?,
                body: row.try_get("body").map_err(db_error)?,
            })
        }

        #[async_trait]
        impl switchboard_actors::webhooks::WebhooksPort for $store {
            async fn create_webhook(
                &self,
                webhook: &switchboard_actors::webhooks::NewWebhook,
                at: Timestamp,
            ) -> StoreResult<switchboard_actors::webhooks::Webhook> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO webhooks (account_id, url, events, secret, active, allow_private, created_by, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
                )
                .bind(webhook.account_id)
                .bind(webhook.url.clone())
                .bind(json_text(&webhook.events)?)
                .bind(self.seal(&crate::secrets::WEBHOOK_SECRETS, &webhook.secret))
                .bind(webhook.active)
                .bind(webhook.allow_private)
                .bind(webhook.created_by)
                .bind(millis(at))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                self.webhook(webhook.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn webhooks(&self, account: AccountId) -> StoreResult<Vec<switchboard_actors::webhooks::Webhook>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 ORDER BY id"
                )))
                .bind(account)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| webhook_from_row(row, "", &self.secrets))
                .collect()
            }

            async fn webhook(
                &self,
                account: AccountId,
                id: switchboard_actors::webhooks::WebhookId,
            ) -> StoreResult<Option<switchboard_actors::webhooks::Webhook>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE account_id = $1 AND id = $2"
                )))
                .bind(account)
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .as_ref()
                .map(|row| webhook_from_row(row, "", &self.secrets))
                .transpose()
            }

            async fn update_webhook(
                &self,
                account: AccountId,
                id: switchboard_actors::webhooks::WebhookId,
                patch: &switchboard_actors::webhooks::WebhookPatch,
                at: Timestamp,
            ) -> StoreResult<Option<switchboard_actors::webhooks::Webhook>> {
                let mut update = QueryBuilder::<$db>::new("UPDATE webhooks SET updated_at = ");
                update.push_bind(millis(at));
                if let Some(url) = &patch.url {
                    update.push(", url = ").push_bind(url.clone());
                }
                if let Some(events) = &patch.events {
                    update.push(", events = ").push_bind(json_text(events)?);
                }
                if let Some(secret) = &patch.secret {
                    update.push(", secret = ").push_bind(self.seal(&crate::secrets::WEBHOOK_SECRETS, secret));
                }
                if let Some(active) = patch.active {
                    update.push(", active = ").push_bind(active);
                    update.push(", disabled_reason = NULL, failing_since = NULL");
                }
                if let Some(allow_private) = patch.allow_private {
                    update.push(", allow_private = ").push_bind(allow_private);
                }
                update.push(" WHERE account_id = ").push_bind(account).push(" AND id = ").push_bind(id);
                if update.build().execute(&self.pool).await.map_err(db_error)?.rows_affected() == 0 {
                    return Ok(None);
                }
                self.webhook(account, id).await
            }

            async fn delete_webhook(
                &self,
                account: AccountId,
                id: switchboard_actors::webhooks::WebhookId,
            ) -> StoreResult<bool> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                sqlx::query("DELETE FROM webhook_deliveries WHERE account_id = $1 AND webhook_id = $2")
                    .bind(account)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let deleted = sqlx::query("DELETE FROM webhooks WHERE account_id = $1 AND id = $2")
                    .bind(account)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                tx.commit().await.map_err(db_error)?;
                Ok(deleted > 0)
            }

            async fn active_webhooks(&self) -> StoreResult<Vec<switchboard_actors::webhooks::Webhook>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE active = TRUE ORDER BY id"
                )))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| webhook_from_row(row, "", &self.secrets))
                .collect()
            }

            async fn webhook_position(&self) -> StoreResult<i64> {
                cursor_position(&self.pool, "webhook_cursor").await
            }

            async fn enqueue_webhook_deliveries(
                &self,
                from: i64,
                to: i64,
                deliveries: &[switchboard_actors::webhooks::NewDelivery],
                at: Timestamp,
            ) -> StoreResult<()> {
                if deliveries.is_empty() {
                    // An account with no subscriptions, every pass: the cursor alone.
                    return self.move_cursor_alone(crate::storage::group_commit::Cursor::Webhooks, from, to).await;
                }
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                move_cursor(&mut tx, "webhook_cursor", "the webhook dispatcher's", from, to).await?;
                for chunk in deliveries.chunks(INSERT_CHUNK / 16) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO webhook_deliveries (webhook_id, account_id, position, ticket_id, seq, event_type, \
                         body, status, attempts, next_attempt_at, created_at, queued_at) ",
                    );
                    insert.push_values(chunk, |mut row, delivery| {
                        row.push_bind(delivery.webhook_id)
                            .push_bind(delivery.account_id)
                            .push_bind(delivery.position)
                            .push_bind(delivery.ticket_id)
                            .push_bind(delivery.seq)
                            .push_bind(delivery.event_type.clone())
                            .push_bind(delivery.body.clone())
                            .push_bind("pending")
                            .push_bind(0_i64)
                            .push_bind(millis(at))
                            .push_bind(millis(at))
                            .push_bind(millis(at));
                    });
                    insert.push(" ON CONFLICT (webhook_id, position) DO NOTHING");
                    insert.build().execute(&mut *tx).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                Ok(())
            }

            async fn due_webhook_deliveries(
                &self,
                now: Timestamp,
                limit: i64,
            ) -> StoreResult<Vec<switchboard_actors::webhooks::DueDelivery>> {
                let webhook_columns: Vec<String> =
                    WEBHOOK_COLUMNS.split(", ").map(|column| format!("w.{column} AS w_{column}")).collect();
                let delivery_columns: Vec<String> =
                    DELIVERY_COLUMNS.split(", ").map(|column| format!("d.{}", column.trim())).collect();
                let sql = format!(
                    "SELECT {}, {} FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                     WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND w.active = TRUE \
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.webhook_id = d.webhook_id \
                     AND e.ticket_id = d.ticket_id AND e.status = 'pending' AND e.position < d.position) \
                     ORDER BY d.next_attempt_at, d.position LIMIT $2",
                    delivery_columns.join(", "),
                    webhook_columns.join(", ")
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(millis(now))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(switchboard_actors::webhooks::DueDelivery {
                            delivery: delivery_from_row(row)?,
                            webhook: webhook_from_row(row, "w_", &self.secrets)?,
                        })
                    })
                    .collect()
            }

            async fn claim_webhook_delivery(
                &self,
                id: switchboard_actors::webhooks::DeliveryId,
                due: Timestamp,
                until: Timestamp,
            ) -> StoreResult<bool> {
                let claimed = sqlx::query(
                    "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                     WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3",
                )
                .bind(millis(until))
                .bind(id)
                .bind(millis(due))
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
                Ok(claimed == 1)
            }

            async fn record_webhook_attempt(
                &self,
                attempt: &switchboard_actors::webhooks::AttemptRecord,
            ) -> StoreResult<Option<Vec<switchboard_actors::notifications::Notification>>> {
                use switchboard_actors::webhooks::AttemptNext;
                let (status, next_attempt_at, delivered_at) = match attempt.next {
                    AttemptNext::Delivered => ("delivered", None, Some(millis(attempt.at))),
                    AttemptNext::RetryAt(next) => ("pending", Some(millis(next)), None),
                    AttemptNext::Failed => ("failed", None, None),
                };
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                sqlx::query(
                    "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, next_attempt_at = $2, \
                     delivered_at = COALESCE($3, delivered_at), last_status_code = $4, last_response_ms = $5, \
                     last_error = $6 WHERE id = $7",
                )
                .bind(status)
                .bind(next_attempt_at)
                .bind(delivered_at)
                .bind(attempt.status_code)
                .bind(attempt.response_ms)
                .bind(attempt.error.clone())
                .bind(attempt.delivery_id)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                // A success ends a failing streak; a failure starts one unless it runs already.
                let failing = if attempt.next == AttemptNext::Delivered {
                    sqlx::query("UPDATE webhooks SET failing_since = NULL WHERE id = $1").bind(attempt.webhook_id)
                } else {
                    sqlx::query("UPDATE webhooks SET failing_since = COALESCE(failing_since, $1) WHERE id = $2")
                        .bind(millis(attempt.at))
                        .bind(attempt.webhook_id)
                };
                failing.execute(&mut *tx).await.map_err(db_error)?;
                let mut disabled = None;
                if let Some((reason, notifications)) = &attempt.disable {
                    let moved = sqlx::query(
                        "UPDATE webhooks SET active = FALSE, disabled_reason = $1, updated_at = $2 \
                         WHERE id = $3 AND active = TRUE",
                    )
                    .bind(reason.clone())
                    .bind(millis(attempt.at))
                    .bind(attempt.webhook_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
                    if moved == 1 {
                        let mut stored = Vec::with_capacity(notifications.len());
                        for item in notifications {
                            stored.push(insert_notification(&mut tx, item, attempt.at).await?);
                        }
                        disabled = Some(stored);
                    }
                }
                tx.commit().await.map_err(db_error)?;
                Ok(disabled)
            }

            async fn webhook_deliveries(
                &self,
                account: AccountId,
                webhook: switchboard_actors::webhooks::WebhookId,
                before: Option<switchboard_actors::webhooks::DeliveryId>,
                limit: i64,
            ) -> StoreResult<Vec<switchboard_actors::webhooks::Delivery>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND webhook_id = $2 \
                     AND id < $3 ORDER BY id DESC LIMIT $4"
                )))
                .bind(account)
                .bind(webhook)
                .bind(before.unwrap_or(i64::MAX))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(delivery_from_row)
                .collect()
            }

            async fn prune_webhook_deliveries(&self, before: Timestamp) -> StoreResult<u64> {
                let deleted = sqlx::query(
                    "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND queued_at < $1",
                )
                .bind(millis(before))
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
                Ok(deleted)
            }

            async fn redeliver_webhook(
                &self,
                account: AccountId,
                webhook: switchboard_actors::webhooks::WebhookId,
                delivery: switchboard_actors::webhooks::DeliveryId,
                at: Timestamp,
            ) -> StoreResult<Option<switchboard_actors::webhooks::Delivery>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, queued_at = $1 \
                     WHERE account_id = $2 AND webhook_id = $3 AND id = $4 RETURNING {DELIVERY_COLUMNS}"
                )))
                .bind(millis(at))
                .bind(account)
                .bind(webhook)
                .bind(delivery)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?
                .as_ref()
                .map(delivery_from_row)
                .transpose()
            }
        }
    };
}

pub(crate) use webhooks_sql;
