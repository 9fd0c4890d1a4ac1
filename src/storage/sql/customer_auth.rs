//! The SQL of customer accounts (one-time codes, reset tokens, registration and profile
//! merges), shared by both backends: expanded inside [`shared_sql`](super::shared_sql) for each.

macro_rules! customer_auth_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::customer_auth::{
            CodePurpose, CustomerAuthPort, OneTimeCode, ProfileMerge, Registration, MAX_CODE_ATTEMPTS,
        };

        const CODE_SELECT: &str = "SELECT purpose, destination, account_id, user_id, code_hash, attempts, name, \
                                   password_hash, expires_at FROM one_time_codes";

        fn code_from_row(row: &DbRow, purpose: CodePurpose) -> StoreResult<OneTimeCode> {
            Ok(OneTimeCode {
                purpose,
                destination: row.try_get("destination").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                user_id: row.try_get("user_id").map_err(db_error)?,
                code_hash: row.try_get("code_hash").map_err(db_error)?,
                attempts: row.try_get("attempts").map_err(db_error)?,
                name: row.try_get("name").map_err(db_error)?,
                password_hash: row.try_get("password_hash").map_err(db_error)?,
                expires_at: from_millis(row.try_get("expires_at").map_err(db_error)?)?,
            })
        }

        /// Whether `user` is an active customer of `account`, and whether they have a password.
        async fn customer_state(tx: &mut DbTx, account: AccountId, user: UserId) -> StoreResult<Option<bool>> {
            let row = sqlx::query(
                "SELECT password_hash FROM users WHERE id = $1 AND account_id = $2 AND role = 'customer' AND active = TRUE",
            )
            .bind(user)
            .bind(account)
            .fetch_optional(&mut **tx)
            .await
            .map_err(db_error)?;
            match row {
                Some(row) => {
                    let hash: Option<String> = row.try_get("password_hash").map_err(db_error)?;
                    Ok(Some(hash.is_some_and(|hash| !hash.is_empty())))
                }
                None => Ok(None),
            }
        }

        #[async_trait]
        impl CustomerAuthPort for $store {
            async fn put_code(&self, code: &OneTimeCode, now: Timestamp) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO one_time_codes (purpose, destination, account_id, user_id, code_hash, attempts, name, \
                     password_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9) \
                     ON CONFLICT (purpose, destination) DO UPDATE SET account_id = excluded.account_id, \
                     user_id = excluded.user_id, code_hash = excluded.code_hash, attempts = 0, name = excluded.name, \
                     password_hash = excluded.password_hash, created_at = excluded.created_at, \
                     expires_at = excluded.expires_at",
                )
                .bind(code.purpose.as_str())
                .bind(code.destination.clone())
                .bind(code.account_id)
                .bind(code.user_id)
                .bind(code.code_hash.clone())
                .bind(code.name.clone())
                .bind(code.password_hash.clone())
                .bind(millis(now))
                .bind(millis(code.expires_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn code(&self, purpose: CodePurpose, destination: &str) -> StoreResult<Option<OneTimeCode>> {
                sqlx::query(sqlx::AssertSqlSafe(format!("{CODE_SELECT} WHERE purpose = $1 AND destination = $2")))
                    .bind(purpose.as_str())
                    .bind(destination.to_owned())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .map(|row| code_from_row(&row, purpose))
                    .transpose()
            }

            async fn code_failed(&self, purpose: CodePurpose, destination: &str, code_hash: &[u8]) -> StoreResult<bool> {
                let attempts: Option<i64> = sqlx::query_scalar(
                    "UPDATE one_time_codes SET attempts = attempts + 1 \
                     WHERE purpose = $1 AND destination = $2 AND code_hash = $3 RETURNING attempts",
                )
                .bind(purpose.as_str())
                .bind(destination.to_owned())
                .bind(code_hash.to_vec())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(attempts.is_none_or(|attempts| attempts >= MAX_CODE_ATTEMPTS))
            }

            async fn take_code(
                &self,
                purpose: CodePurpose,
                destination: &str,
                code_hash: &[u8],
                now: Timestamp,
            ) -> StoreResult<bool> {
                let taken = sqlx::query(
                    "DELETE FROM one_time_codes WHERE purpose = $1 AND destination = $2 AND code_hash = $3 \
                     AND attempts < $4 AND expires_at > $5",
                )
                .bind(purpose.as_str())
                .bind(destination.to_owned())
                .bind(code_hash.to_vec())
                .bind(MAX_CODE_ATTEMPTS)
                .bind(millis(now))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(taken.rows_affected() == 1)
            }

            async fn register_customer(&self, registration: &Registration) -> StoreResult<User> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let now = self.clock.now();
                let (account, id) = match registration {
                    Registration::NewCustomer { account_id, email, name, password_hash } => {
                        let mut user = NewUser::customer(*account_id, email.clone(), name.clone(), None);
                        user.password_hash = Some(password_hash.clone());
                        let id = insert_user(&mut tx, &user, email, now, true)
                            .await?
                            .ok_or_else(|| StoreError::Conflict("email_taken".to_owned()))?;
                        (*account_id, id)
                    }
                    Registration::CompleteProfile { account_id, user_id, email, name, password_hash } => {
                        if customer_state(&mut tx, *account_id, *user_id).await? != Some(false) {
                            return Err(StoreError::Conflict("profile_has_password".to_owned()));
                        }
                        sqlx::query("UPDATE users SET email = $1, name = $2, password_hash = $3 WHERE id = $4")
                            .bind(email.clone())
                            .bind(name.clone())
                            .bind(password_hash.clone())
                            .bind(*user_id)
                            .execute(&mut *tx)
                            .await
                            .map_err(db_error)?;
                        sqlx::query(CONTACT_UPSERT)
                            .bind(*account_id)
                            .bind(*user_id)
                            .bind("email")
                            .bind(email.clone())
                            .execute(&mut *tx)
                            .await
                            .map_err(db_error)?;
                        (*account_id, *user_id)
                    }
                };
                tx.commit().await.map_err(db_error)?;
                self.user(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn add_verified_phone(&self, account: AccountId, user: UserId, phone: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                if customer_state(&mut tx, account, user).await?.is_none() {
                    return Err(StoreError::NotFound);
                }
                sqlx::query(CONTACT_UPSERT)
                    .bind(account)
                    .bind(user)
                    .bind(Channel::Whatsapp.as_str())
                    .bind(phone.to_owned())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("UPDATE users SET phone = $1 WHERE id = $2")
                    .bind(phone.to_owned())
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)
            }

            async fn merge_profiles(&self, merge: &ProfileMerge) -> StoreResult<User> {
                let ProfileMerge { account_id, from, into, phone } = merge;
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                if from == into
                    || customer_state(&mut tx, *account_id, *from).await?.is_none()
                    || customer_state(&mut tx, *account_id, *into).await? != Some(false)
                {
                    return Err(StoreError::Conflict("profiles_not_mergeable".to_owned()));
                }
                let row = sqlx::query("SELECT email, name, password_hash, company_id FROM users WHERE id = $1")
                    .bind(*from)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_error)?;
                let email: String = row.try_get("email").map_err(db_error)?;
                let name: String = row.try_get("name").map_err(db_error)?;
                let password_hash: Option<String> = row.try_get("password_hash").map_err(db_error)?;
                let company_id: Option<CompanyId> = row.try_get("company_id").map_err(db_error)?;
                // The email is unique: `from` lets go of it (to an address in the reserved
                // `.invalid` domain, which no mail reaches) before `into` takes it.
                sqlx::query("UPDATE users SET email = $1, password_hash = NULL, active = FALSE WHERE id = $2")
                    .bind(format!("merged-{from}-into-{into}@profiles.invalid"))
                    .bind(*from)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query(
                    "UPDATE users SET email = $1, name = $2, password_hash = $3, phone = $4, \
                     company_id = COALESCE(company_id, $5) WHERE id = $6",
                )
                .bind(email)
                .bind(name)
                .bind(password_hash)
                .bind(phone.clone())
                .bind(company_id)
                .bind(*into)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                sqlx::query("UPDATE contacts SET user_id = $1 WHERE user_id = $2 AND account_id = $3")
                    .bind(*into)
                    .bind(*from)
                    .bind(*account_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                for table in ["sessions", "password_resets"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
                        .bind(*from)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                self.user(*account_id, *into).await?.ok_or(StoreError::NotFound)
            }

            async fn put_reset_token(
                &self,
                account: AccountId,
                user: UserId,
                token_hash: &[u8],
                now: Timestamp,
                expires_at: Timestamp,
            ) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO password_resets (token_hash, account_id, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash.to_vec())
                .bind(account)
                .bind(user)
                .bind(millis(now))
                .bind(millis(expires_at))
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }

            async fn reset_token_user(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<User>> {
                let row = sqlx::query(
                    "SELECT r.account_id, r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id \
                     WHERE r.token_hash = $1 AND r.expires_at > $2 AND u.active = TRUE",
                )
                .bind(token_hash.to_vec())
                .bind(millis(now))
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                match row {
                    Some(row) => {
                        let account: AccountId = row.try_get("account_id").map_err(db_error)?;
                        let user: UserId = row.try_get("user_id").map_err(db_error)?;
                        self.user(account, user).await
                    }
                    None => Ok(None),
                }
            }

            async fn reset_password(
                &self,
                token_hash: &[u8],
                password_hash: &str,
                now: Timestamp,
            ) -> StoreResult<Option<User>> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let row = sqlx::query(
                    "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING account_id, user_id",
                )
                .bind(token_hash.to_vec())
                .bind(millis(now))
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
                let Some(row) = row else { return Ok(None) };
                let account: AccountId = row.try_get("account_id").map_err(db_error)?;
                let user: UserId = row.try_get("user_id").map_err(db_error)?;
                let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND active = TRUE")
                    .bind(password_hash.to_owned())
                    .bind(user)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                if changed.rows_affected() != 1 {
                    return Ok(None);
                }
                for table in ["sessions", "password_resets"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE user_id = $1")))
                        .bind(user)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)?;
                self.user(account, user).await
            }
        }
    };
}
pub(crate) use customer_auth_sql;
