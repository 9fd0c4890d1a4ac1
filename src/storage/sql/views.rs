//! The SQL of saved views, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each.

macro_rules! views_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        const VIEW_SELECT: &str = "SELECT id, account_id, owner_id, name, query, sort, scope, team_id, position, \
                                   created_at, updated_at FROM saved_views";

        fn view_from_row(row: &<$db as sqlx::Database>::Row) -> StoreResult<switchboard_actors::views::SavedView> {
            use switchboard_actors::views::{SavedView, ViewScope};
            let sort: String = row.try_get("sort").map_err(db_error)?;
            let scope: String = row.try_get("scope").map_err(db_error)?;
            Ok(SavedView {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                owner_id: row.try_get("owner_id").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                query: row.try_get("query").map_err(db_error)?,
                sort: TicketSort::from_api(&sort).ok_or_else(|| StoreError::Internal(format!("view sort {sort}")))?,
                scope: scope.parse::<ViewScope>().map_err(|_| StoreError::Internal(format!("view scope {scope}")))?,
                team_id: row.try_get("team_id").map_err(db_error)?,
                position: row.try_get("position").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                updated_at: from_millis(row.try_get("updated_at").map_err(db_error)?)?,
            })
        }

        #[async_trait]
        impl switchboard_actors::views::ViewsPort for $store {
            async fn list_views(&self, account: AccountId) -> StoreResult<Vec<switchboard_actors::views::SavedView>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{VIEW_SELECT} WHERE account_id = $1 ORDER BY position, id")))
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(view_from_row)
                    .collect()
            }

            async fn view(
                &self,
                account: AccountId,
                id: switchboard_actors::views::ViewId,
            ) -> StoreResult<Option<switchboard_actors::views::SavedView>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{VIEW_SELECT} WHERE account_id = $1 AND id = $2")))
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(view_from_row)
                    .transpose()
            }

            async fn create_view(
                &self,
                view: switchboard_actors::views::NewView,
            ) -> StoreResult<switchboard_actors::views::SavedView> {
                let now = millis(self.clock.now());
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let position: i64 = match view.position {
                    Some(position) => position,
                    None => sqlx::query_scalar(
                        "SELECT COALESCE(MAX(position), 0) + 1 FROM saved_views WHERE account_id = $1",
                    )
                    .bind(view.account_id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?,
                };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO saved_views (account_id, owner_id, name, query, sort, scope, team_id, position, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(view.account_id)
                .bind(view.owner_id)
                .bind(view.name.clone())
                .bind(view.query.clone())
                .bind(view.sort.api_name())
                .bind(view.scope.as_str())
                .bind(view.team_id)
                .bind(position)
                .bind(now)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.view(view.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_view(
                &self,
                account: AccountId,
                id: switchboard_actors::views::ViewId,
                change: switchboard_actors::views::ViewChange,
            ) -> StoreResult<switchboard_actors::views::SavedView> {
                let updated = sqlx::query(
                    "UPDATE saved_views SET name = $1, query = $2, sort = $3, scope = $4, team_id = $5, position = $6, \
                     updated_at = $7 WHERE account_id = $8 AND id = $9",
                )
                .bind(change.name)
                .bind(change.query)
                .bind(change.sort.api_name())
                .bind(change.scope.as_str())
                .bind(change.team_id)
                .bind(change.position)
                .bind(millis(self.clock.now()))
                .bind(account)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                self.view(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn delete_view(&self, account: AccountId, id: switchboard_actors::views::ViewId) -> StoreResult<()> {
                let deleted = sqlx::query("DELETE FROM saved_views WHERE account_id = $1 AND id = $2")
                    .bind(account)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if deleted.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }
        }
    };
}
pub(crate) use views_sql;
