//! The SQL of notifications, the notifier's cursor and users' notification preferences, shared
//! by both backends: expanded inside [`shared_sql`](super::shared_sql) for each.

macro_rules! notifications_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        fn notification_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<switchboard_actors::notifications::Notification> {
            let read_at: Option<i64> = row.try_get("read_at").map_err(db_error)?;
            Ok(switchboard_actors::notifications::Notification {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                user_id: row.try_get("user_id").map_err(db_error)?,
                kind: parse_text(row.try_get("kind").map_err(db_error)?)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                ticket_number: row.try_get("ticket_number").map_err(db_error)?,
                subject: row.try_get("subject").map_err(db_error)?,
                actor_id: row.try_get("actor_id").map_err(db_error)?,
                text: row.try_get("text").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                read_at: read_at.map(from_millis).transpose()?,
                critical: row.try_get("critical").map_err(db_error)?,
            })
        }

        /// Stores one notification inside `tx` (the notifier's pass, or a webhook's disabling).
        async fn insert_notification(
            tx: &mut DbTx,
            item: &switchboard_actors::notifications::NewNotification,
            at: Timestamp,
        ) -> StoreResult<switchboard_actors::notifications::Notification> {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO notifications (account_id, user_id, kind, ticket_id, ticket_number, subject, \
                 actor_id, text, critical, position, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(item.account_id)
            .bind(item.user_id)
            .bind(item.kind.as_str())
            .bind(item.ticket_id)
            .bind(item.ticket_number)
            .bind(item.subject.clone())
            .bind(item.actor_id)
            .bind(item.text.clone())
            .bind(item.critical)
            .bind(item.position)
            .bind(millis(at))
            .fetch_one(&mut **tx)
            .await
            .map_err(db_error)?;
            Ok(switchboard_actors::notifications::Notification {
                id,
                account_id: item.account_id,
                user_id: item.user_id,
                kind: item.kind,
                ticket_id: item.ticket_id,
                ticket_number: item.ticket_number,
                subject: item.subject.clone(),
                actor_id: item.actor_id,
                text: item.text.clone(),
                created_at: at,
                read_at: None,
                critical: item.critical,
            })
        }

        #[async_trait]
        impl NotificationsPort for $store {
            async fn notifier_position(&self) -> StoreResult<i64> {
                cursor_position(&self.pool, "notifier_cursor").await
            }

            async fn record_notifications(
                &self,
                from: i64,
                to: i64,
                items: &[switchboard_actors::notifications::NewNotification],
                at: Timestamp,
            ) -> StoreResult<Vec<switchboard_actors::notifications::Notification>> {
                if items.is_empty() {
                    // Most passes under load: the cursor alone, no transaction of its own.
                    self.move_cursor_alone(crate::storage::group_commit::Cursor::Notifier, from, to).await?;
                    return Ok(Vec::new());
                }
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                move_cursor(&mut tx, "notifier_cursor", "the notifier's", from, to).await?;
                let mut stored = Vec::with_capacity(items.len());
                for item in items {
                    stored.push(insert_notification(&mut tx, item, at).await?);
                }
                tx.commit().await.map_err(db_error)?;
                Ok(stored)
            }

            async fn notifications(
                &self,
                query: &NotificationQuery,
            ) -> StoreResult<Vec<switchboard_actors::notifications::Notification>> {
                let mut select = QueryBuilder::<$db>::new("SELECT * FROM notifications WHERE account_id = ");
                select.push_bind(query.account).push(" AND user_id = ").push_bind(query.user);
                if query.unread_only {
                    select.push(" AND read_at IS NULL");
                }
                if let Some(before) = query.before {
                    select.push(" AND id < ").push_bind(before);
                }
                select.push(" ORDER BY id DESC LIMIT ").push_bind(query.limit);
                select
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(notification_from_row)
                    .collect()
            }

            async fn unread_notifications(&self, account: AccountId, user: UserId) -> StoreResult<i64> {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM notifications WHERE account_id = $1 AND user_id = $2 AND read_at IS NULL",
                )
                .bind(account)
                .bind(user)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)
            }

            async fn mark_notifications_read(
                &self,
                account: AccountId,
                user: UserId,
                ids: Option<&[switchboard_actors::notifications::NotificationId]>,
                at: Timestamp,
            ) -> StoreResult<u64> {
                let mut update = QueryBuilder::<$db>::new("UPDATE notifications SET read_at = ");
                update.push_bind(millis(at)).push(" WHERE account_id = ").push_bind(account);
                update.push(" AND user_id = ").push_bind(user).push(" AND read_at IS NULL");
                if let Some(ids) = ids {
                    if ids.is_empty() {
                        return Ok(0);
                    }
                    update.push(" AND id IN (");
                    let mut list = update.separated(", ");
                    for id in ids {
                        list.push_bind(*id);
                    }
                    update.push(")");
                }
                Ok(update.build().execute(&self.pool).await.map_err(db_error)?.rows_affected())
            }

            async fn notification_preferences(
                &self,
                account: AccountId,
                user: UserId,
            ) -> StoreResult<Option<(switchboard_actors::notifications::Preferences, i64)>> {
                let row: Option<(String, i64)> = sqlx::query_as(
                    "SELECT data, digest_after_id FROM notification_preferences WHERE account_id = $1 AND user_id = $2",
                )
                .bind(account)
                .bind(user)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                row.map(|(data, after)| Ok((parse_json(&data)?, after))).transpose()
            }

            async fn set_notification_preferences(
                &self,
                account: AccountId,
                user: UserId,
                preferences: &switchboard_actors::notifications::Preferences,
                at: Timestamp,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO notification_preferences (user_id, account_id, data, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
                     data = excluded.data, updated_at = excluded.updated_at",
                )
                .bind(user)
                .bind(account)
                .bind(json_text(preferences)?)
                .bind(millis(at))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn set_digest_covered(&self, account: AccountId, user: UserId, last: i64) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE notification_preferences SET digest_after_id = $1 \
                     WHERE account_id = $2 AND user_id = $3 AND digest_after_id < $1",
                )
                .bind(last)
                .bind(account)
                .bind(user)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }
        }
    };
}
pub(crate) use notifications_sql;
