//! The SQL of routing (team settings, the router lease, what the router reads of tickets), shared
//! by both backends: expanded inside [`shared_sql`](super::shared_sql) for each.

macro_rules! routing_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        impl $store {
            /// Tickets of these teams in status category new or open, assigned or not, oldest
            /// first.
            async fn team_tickets(
                &self,
                account: AccountId,
                teams: &[TeamId],
                assigned: bool,
                limit: i64,
            ) -> StoreResult<Vec<Ticket>> {
                if teams.is_empty() {
                    return Ok(Vec::new());
                }
                let mut query = QueryBuilder::<$db>::new(format!("{} WHERE account_id = ", &*TICKET_SELECT));
                query.push_bind(account);
                query.push(if assigned { " AND assignee_id IS NOT NULL" } else { " AND assignee_id IS NULL" });
                query.push(" AND status_category IN ('new', 'open') AND team_id IN (");
                let mut list = query.separated(", ");
                for team in teams {
                    list.push_bind(*team);
                }
                query.push(") ORDER BY created_at, id LIMIT ").push_bind(limit);
                query.build().fetch_all(&self.pool).await.map_err(db_error)?.iter().map(ticket_from_row).collect()
            }
        }

        #[async_trait]
        impl switchboard_actors::routing::RoutingPort for $store {
            async fn team_routings(
                &self,
                account: AccountId,
            ) -> StoreResult<Vec<(TeamId, switchboard_actors::routing::TeamRouting)>> {
                let rows: Vec<(i64, String)> =
                    sqlx::query_as("SELECT team_id, data FROM team_routing WHERE account_id = $1 ORDER BY team_id")
                        .bind(account)
                        .fetch_all(&self.pool)
                        .await
                        .map_err(db_error)?;
                rows.into_iter().map(|(team, data)| Ok((team, parse_json(&data)?))).collect()
            }

            async fn set_team_routing(
                &self,
                account: AccountId,
                team: TeamId,
                routing: &switchboard_actors::routing::TeamRouting,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE id = $1 AND account_id = $2")
                    .bind(team)
                    .bind(account)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
                if exists.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(
                    "INSERT INTO team_routing (team_id, account_id, data, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (team_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                )
                .bind(team)
                .bind(account)
                .bind(json_text(routing)?)
                .bind(millis(self.clock.now()))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.directory_changed();
                Ok(())
            }

            async fn claim_router_lease(
                &self,
                account: AccountId,
                node: &str,
                now: Timestamp,
                until: Timestamp,
            ) -> StoreResult<bool> {
                // The upsert's condition is the lease: a row held by another node until later
                // than `now` is left alone and returns nothing.
                let holder: Option<String> = sqlx::query_scalar(
                    "INSERT INTO router_leases (account_id, node, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at \
                     WHERE router_leases.node = excluded.node OR router_leases.expires_at <= $4 RETURNING node",
                )
                .bind(account)
                .bind(node.to_owned())
                .bind(millis(until))
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(holder.as_deref() == Some(node))
            }

            async fn release_router_lease(&self, account: AccountId, node: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM router_leases WHERE account_id = $1 AND node = $2")
                    .bind(account)
                    .bind(node.to_owned())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn routable_tickets(&self, account: AccountId, teams: &[TeamId], limit: i64) -> StoreResult<Vec<Ticket>> {
                self.team_tickets(account, teams, false, limit).await
            }

            async fn held_tickets(&self, account: AccountId, teams: &[TeamId], limit: i64) -> StoreResult<Vec<Ticket>> {
                self.team_tickets(account, teams, true, limit).await
            }

            async fn open_loads(&self, account: AccountId) -> StoreResult<Vec<(UserId, i64)>> {
                sqlx::query_as(
                    "SELECT assignee_id, COUNT(*) FROM tickets WHERE account_id = $1 AND assignee_id IS NOT NULL \
                     AND status_category IN ('new', 'open', 'pending') GROUP BY assignee_id ORDER BY assignee_id",
                )
                .bind(account)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)
            }
        }
    };
}
pub(crate) use routing_sql;
