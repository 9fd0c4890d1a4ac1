//! The SQL of API keys (migration 0032), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! api_keys_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::api_keys::{ApiKey, ApiKeyId, ApiKeysPort, NewApiKey, Scope};

        const API_KEY_COLUMNS: &str =
            "id, account_id, user_id, name, prefix, scopes, rate_limit_per_minute, created_at, expires_at, last_used_at";

        fn api_key_from_row(row: &DbRow) -> StoreResult<ApiKey> {
            let scopes: String = row.try_get("scopes").map_err(db_error)?;
            let limit: i64 = row.try_get("rate_limit_per_minute").map_err(db_error)?;
            Ok(ApiKey {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                user_id: row.try_get("user_id").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                prefix: row.try_get("prefix").map_err(db_error)?,
                scopes: scopes.split_whitespace().map(|scope| parse_text::<Scope>(scope.to_owned())).collect::<StoreResult<_>>()?,
                rate_limit_per_minute: u32::try_from(limit)
                    .map_err(|error| StoreError::Internal(format!("rate limit {limit}: {error}")))?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                expires_at: opt_millis(row, "expires_at")?,
                last_used_at: opt_millis(row, "last_used_at")?,
            })
        }

        fn scopes_text(scopes: &std::collections::BTreeSet<Scope>) -> String {
            scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>().join(" ")
        }

        #[async_trait]
        impl ApiKeysPort for $store {
            async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
                let sql = format!(
                    "INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, scopes, rate_limit_per_minute, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {API_KEY_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key.account_id)
                    .bind(key.user_id)
                    .bind(key.name)
                    .bind(key.prefix)
                    .bind(key.key_hash)
                    .bind(scopes_text(&key.scopes))
                    .bind(i64::from(key.rate_limit_per_minute))
                    .bind(millis(self.clock.now()))
                    .bind(key.expires_at.map(millis))
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)?;
                api_key_from_row(&row)
            }

            async fn api_key_user(&self, key_hash: &[u8], now: Timestamp) -> StoreResult<Option<(ApiKey, User)>> {
                let sql = format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND (expires_at IS NULL OR expires_at > $2)"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(key_hash.to_vec())
                    .bind(millis(now))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                let Some(key) = row.as_ref().map(api_key_from_row).transpose()? else { return Ok(None) };
                let user = self.user(key.account_id, key.user_id).await?;
                Ok(user.filter(|user| user.active).map(|user| (key, user)))
            }

            async fn list_api_keys(&self, account: AccountId, user: Option<UserId>) -> StoreResult<Vec<ApiKey>> {
                let sql = format!(
                    "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account_id = $1 AND ($2 IS NULL OR user_id = $2) \
                     ORDER BY id DESC"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(api_key_from_row).collect()
            }

            async fn api_key(&self, account: AccountId, id: ApiKeyId) -> StoreResult<Option<ApiKey>> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE account_id = $1 AND id = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(api_key_from_row).transpose()
            }

            async fn delete_api_key(&self, account: AccountId, id: ApiKeyId) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar("DELETE FROM api_keys WHERE account_id = $1 AND id = $2 RETURNING key_hash")
                    .bind(account)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> StoreResult<()> {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(millis(at))
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }
        }
    };
}
pub(crate) use api_keys_sql;
