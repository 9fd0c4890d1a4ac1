//! The SQL of login sessions, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! sessions_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl SessionsPort for $store {
            async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                let now = self.clock.now();
                let mut id = [0u8; 16];
                rand::fill(&mut id);
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, id, last_seen_at, user_agent, ip, kind) \
                     VALUES ($1, $2, $3, $4, $5, $3, $6, $7, $8)",
                )
                .bind(session.token_hash)
                .bind(session.user_id)
                .bind(millis(now))
                .bind(millis(session.expires_at))
                .bind(hex::encode(id))
                .bind(session.user_agent.chars().take(512).collect::<String>())
                .bind(session.ip)
                .bind(session.kind.as_str())
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn session_user(
                &self,
                token_hash: &[u8],
                now: Timestamp,
            ) -> StoreResult<Option<switchboard_actors::security::SessionUser>> {
                // One query per authenticated request: the user's teams come along as a list, the
                // account's security policy as its JSON.
                let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {}, {} AS team_list, s.kind AS session_kind, s.created_at AS session_created, \
                     s.last_seen_at AS session_seen, p.policy AS security_policy \
                     FROM sessions s JOIN users u ON u.id = s.user_id \
                     LEFT JOIN security_policies p ON p.account_id = u.account_id \
                     WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = TRUE",
                    USER_COLUMNS.split(", ").map(|column| format!("u.{column}")).collect::<Vec<_>>().join(", "),
                    $team_ids_of_u,
                )))
                .bind(token_hash.to_vec())
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                let Some(row) = row else { return Ok(None) };
                let list: Option<String> = row.try_get("team_list").map_err(db_error)?;
                let mut teams = list
                    .iter()
                    .flat_map(|list| list.split(','))
                    .map(|id| {
                        id.trim().parse::<TeamId>().map_err(|error| StoreError::Internal(format!("team list: {error}")))
                    })
                    .collect::<StoreResult<Vec<_>>>()?;
                teams.sort_unstable();
                let policy: Option<String> = row.try_get("security_policy").map_err(db_error)?;
                Ok(Some(switchboard_actors::security::SessionUser {
                    user: user_from_row(&row, teams)?,
                    kind: parse_text(row.try_get::<String, _>("session_kind").map_err(db_error)?)?,
                    created_at: from_millis(row.try_get("session_created").map_err(db_error)?)?,
                    last_seen_at: from_millis(row.try_get("session_seen").map_err(db_error)?)?,
                    policy: policy.map(|text| parse_json(&text)).transpose()?.unwrap_or_default(),
                }))
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
