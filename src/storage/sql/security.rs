//! The SQL of the security policy, TOTP enrolments, recovery codes and a user's sessions
//! (migration 0031), shared by both backends: expanded inside [`shared_sql`](super::shared_sql)
//! for each, where the row helpers it calls are defined.

macro_rules! security_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::security::{SecurityPolicy, SecurityPort, SessionSummary, TotpEnrolment};

        #[async_trait]
        impl SecurityPort for $store {
            async fn security_policy(&self, account: AccountId) -> StoreResult<SecurityPolicy> {
                let text: Option<String> =
                    sqlx::query_scalar("SELECT policy FROM security_policies WHERE account_id = $1")
                        .bind(account)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_error)?;
                Ok(text.map(|text| parse_json(&text)).transpose()?.unwrap_or_default())
            }

            async fn set_security_policy(&self, account: AccountId, policy: &SecurityPolicy) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO security_policies (account_id, policy, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(json_text(policy)?)
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn totp_enrolment(&self, user: UserId) -> StoreResult<Option<TotpEnrolment>> {
                let row = sqlx::query("SELECT user_id, secret, enabled_at, last_step FROM user_totp WHERE user_id = $1")
                    .bind(user)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.map(|row| {
                    Ok(TotpEnrolment {
                        user_id: row.try_get("user_id").map_err(db_error)?,
                        secret: open_secret(
                            &self.secrets,
                            &crate::secrets::TOTP_SECRETS,
                            &row.try_get::<String, _>("secret").map_err(db_error)?,
                        )?,
                        enabled_at: opt_millis(&row, "enabled_at")?,
                        last_step: row.try_get("last_step").map_err(db_error)?,
                    })
                })
                .transpose()
            }

            async fn start_totp(&self, account: AccountId, user: UserId, secret: &str) -> StoreResult<bool> {
                // Replaces a waiting enrolment, never an enabled one.
                let done = sqlx::query(
                    "INSERT INTO user_totp (user_id, account_id, secret, enabled_at, last_step, created_at) \
                     VALUES ($1, $2, $3, NULL, NULL, $4) \
                     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at, \
                     last_step = NULL WHERE user_totp.enabled_at IS NULL",
                )
                .bind(user)
                .bind(account)
                .bind(self.seal(&crate::secrets::TOTP_SECRETS, secret))
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn enable_totp(&self, user: UserId, step: i64, recovery_hashes: &[Vec<u8>]) -> StoreResult<bool> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let done = sqlx::query(
                    "UPDATE user_totp SET enabled_at = $1, last_step = $2 WHERE user_id = $3 AND enabled_at IS NULL",
                )
                .bind(millis(self.clock.now()))
                .bind(step)
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                if done.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for hash in recovery_hashes {
                    sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(user)
                        .bind(hash.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                Ok(true)
            }

            async fn use_totp_step(&self, user: UserId, step: i64) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE user_totp SET last_step = $1 WHERE user_id = $2 AND enabled_at IS NOT NULL \
                     AND (last_step IS NULL OR last_step < $1)",
                )
                .bind(step)
                .bind(user)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn use_recovery_code(&self, user: UserId, code_hash: &[u8]) -> StoreResult<bool> {
                let done = sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1 AND code_hash = $2")
                    .bind(user)
                    .bind(code_hash.to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn recovery_codes_left(&self, user: UserId) -> StoreResult<i64> {
                sqlx::query_scalar("SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = $1")
                    .bind(user)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn disable_totp(&self, user: UserId) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                for sql in ["DELETE FROM mfa_recovery_codes WHERE user_id = $1", "DELETE FROM user_totp WHERE user_id = $1"] {
                    sqlx::query(sql).bind(user).execute(&mut *tx).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }

            async fn user_sessions(
                &self,
                user: UserId,
                current_hash: &[u8],
                now: Timestamp,
            ) -> StoreResult<Vec<SessionSummary>> {
                let rows = sqlx::query(
                    "SELECT id, token_hash, kind, user_agent, ip, created_at, last_seen_at, expires_at FROM sessions \
                     WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, created_at DESC",
                )
                .bind(user)
                .bind(millis(now))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        let user_agent: String = row.try_get("user_agent").map_err(db_error)?;
                        let token_hash: Vec<u8> = row.try_get("token_hash").map_err(db_error)?;
                        Ok(SessionSummary {
                            id: row.try_get("id").map_err(db_error)?,
                            kind: parse_text(row.try_get::<String, _>("kind").map_err(db_error)?)?,
                            device: switchboard_actors::security::device_label(&user_agent),
                            user_agent,
                            ip: row.try_get("ip").map_err(db_error)?,
                            created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                            last_seen_at: from_millis(row.try_get("last_seen_at").map_err(db_error)?)?,
                            expires_at: from_millis(row.try_get("expires_at").map_err(db_error)?)?,
                            current: token_hash == current_hash,
                        })
                    })
                    .collect()
            }

            async fn delete_session_by_id(&self, user: UserId, id: &str) -> StoreResult<Option<Vec<u8>>> {
                sqlx::query_scalar("DELETE FROM sessions WHERE user_id = $1 AND id = $2 RETURNING token_hash")
                    .bind(user)
                    .bind(id.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)
            }

            async fn touch_session(&self, token_hash: &[u8], at: Timestamp) -> StoreResult<()> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $1")
                    .bind(millis(at))
                    .bind(token_hash.to_vec())
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|_| ())
            }
        }
    };
}
pub(crate) use security_sql;
