//! The SQL of login sessions, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! sessions_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl SessionsPort for $store {
            async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                let now = self.clock.now();
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(session.token_hash)
                .bind(session.user_id)
                .bind(millis(now))
                .bind(millis(session.expires_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn session_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<User>> {
                // One query per authenticated request: the user's teams come along as a list.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {}, {} AS team_list FROM sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = TRUE",
                    USER_COLUMNS.split(", ").map(|column| format!("u.{column}")).collect::<Vec<_>>().join(", "),
                    $team_ids_of_u,
                )))
                .bind(token_hash.to_vec())
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                match row {
                    Some(row) => {
                        let list: Option<String> = row.try_get("team_list").map_err(db_error)?;
                        let mut teams = list
                            .iter()
                            .flat_map(|list| list.split(','))
                            .map(|id| {
                                id.trim()
                                    .parse::<TeamId>()
                                    .map_err(|error| StoreError::Internal(format!("team list: {error}")))
                            })
                            .collect::<StoreResult<Vec<_>>>()?;
                        teams.sort_unstable();
                        Ok(Some(user_from_row(&row, teams)?))
                    }
                    None => Ok(None),
                }
            }

            async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                    .bind(token_hash.to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }

            async fn delete_user_sessions(&self, user: UserId, except: Option<&[u8]>) -> StoreResult<()> {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                    .bind(user)
                    .bind(except.unwrap_or_default().to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }
        }
    };
}
pub(crate) use sessions_sql;
