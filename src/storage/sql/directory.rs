//! The SQL of people, teams, contacts and canned responses, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! directory_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        #[async_trait]
        impl DirectoryPort for $store {
            fn directory_version(&self) -> u64 {
                self.directory_version.load(std::sync::atomic::Ordering::Acquire)
            }

            async fn create_user(&self, user: NewUser) -> StoreResult<User> {
                let now = self.clock.now();
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "teams", user.account_id, &user.team_ids).await?;
                if let Some(company) = user.company_id {
                    Self::check_same_account(&mut tx, "companies", user.account_id, &[company]).await?;
                }
                let email = user.email.trim().to_lowercase();
                let id = insert_user(&mut tx, &user, &email, now, false)
                    .await?
                    .ok_or_else(|| StoreError::Internal("a user insert returned no id".to_owned()))?;
                Self::set_memberships(&mut tx, None, Some(id), &user.team_ids).await?;
                tx.commit().await.map_err(db_error)?;
                self.directory_changed();
                Ok(created_user(id, user, email, now))
            }

            async fn create_customer(&self, user: NewUser, channel: Channel, addresses: &[&str]) -> StoreResult<User> {
                let at = self.clock.now();
                let addresses = addresses.iter().map(|address| (*address).to_owned()).collect();
                let op = WriteOp::CreateCustomer { user: Box::new(user.clone()), channel, addresses, at };
                match self.writes.submit(op).await? {
                    WriteOutcome::Saved(id) => {
                        let email = user.email.trim().to_lowercase();
                        Ok(created_user(id, user, email, at))
                    }
                    WriteOutcome::Exists => Err(StoreError::Conflict("email_taken".to_owned())),
                    other => Err(StoreError::Internal(format!("creating a customer answered {other:?}"))),
                }
            }

            async fn update_user(&self, account: AccountId, id: UserId, patch: UserPatch) -> StoreResult<User> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "users", account, &[id]).await?;
                if let Some(teams) = &patch.team_ids {
                    Self::check_same_account(&mut tx, "teams", account, teams).await?;
                    Self::set_memberships(&mut tx, None, Some(id), teams).await?;
                }
                if let Some(Some(company)) = patch.company_id {
                    Self::check_same_account(&mut tx, "companies", account, &[company]).await?;
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE users SET id = id");
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(role) = patch.role { update.push(", role = ").push_bind(role.as_str()); }
                if let Some(hash) = patch.password_hash { update.push(", password_hash = ").push_bind(hash); }
                if let Some(company) = patch.company_id { update.push(", company_id = ").push_bind(company); }
                if let Some(capacity) = patch.capacity { update.push(", capacity = ").push_bind(capacity); }
                if let Some(skills) = patch.skills { update.push(", skills = ").push_bind(json_text(&skills)?); }
                if let Some(languages) = patch.languages { update.push(", languages = ").push_bind(json_text(&languages)?); }
                if let Some(zone) = patch.time_zone { update.push(", time_zone = ").push_bind(zone); }
                if let Some(phone) = patch.phone { update.push(", phone = ").push_bind(phone); }
                if let Some(active) = patch.active {
                    update.push(", active = ").push_bind(active);
                    if !active {
                        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await.map_err(db_error)?;
                    }
                }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.directory_changed();
                self.user(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn user(&self, account: AccountId, id: UserId) -> StoreResult<Option<User>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 AND account_id = $2")))
                    .bind(id)
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => Ok(Some(user_from_row(&row, self.team_ids_of(id).await?)?)),
                    None => Ok(None),
                }
            }

            async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>> {
                let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1")))
                    .bind(email.trim().to_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => {
                        let id: i64 = row.try_get("id").map_err(db_error)?;
                        Ok(Some(UserCredentials {
                            user: user_from_row(&row, self.team_ids_of(id).await?)?,
                            password_hash: row.try_get("password_hash").map_err(db_error)?,
                        }))
                    }
                    None => Ok(None),
                }
            }

            async fn list_users(&self, account: AccountId, role: Option<Role>) -> StoreResult<Vec<User>> {
                let mut query = QueryBuilder::<$db>::new(format!("SELECT {USER_COLUMNS} FROM users WHERE account_id = "));
                query.push_bind(account);
                if let Some(role) = role {
                    query.push(" AND role = ").push_bind(role.as_str());
                }
                query.push(" ORDER BY id");
                let rows = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                let memberships: Vec<(i64, i64)> = sqlx::query_as(
                    "SELECT m.user_id, m.team_id FROM team_members m JOIN teams t ON t.id = m.team_id \
                     WHERE t.account_id = $1 ORDER BY m.team_id",
                )
                .bind(account)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id").map_err(db_error)?;
                        let teams = memberships.iter().filter(|(user, _)| *user == id).map(|(_, team)| *team).collect();
                        user_from_row(row, teams)
                    })
                    .collect()
            }

            async fn create_team(&self, team: NewTeam) -> StoreResult<Team> {
                let now = self.clock.now();
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "users", team.account_id, &team.member_ids).await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO teams (account_id, name, description, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(team.account_id)
                .bind(team.name.clone())
                .bind(team.description.clone())
                .bind(millis(now))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_error)?;
                Self::set_memberships(&mut tx, Some(id), None, &team.member_ids).await?;
                tx.commit().await.map_err(db_error)?;
                self.directory_changed();
                self.team(team.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_team(&self, account: AccountId, id: TeamId, patch: TeamPatch) -> StoreResult<Team> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "teams", account, &[id]).await?;
                if let Some(members) = &patch.member_ids {
                    Self::check_same_account(&mut tx, "users", account, members).await?;
                    Self::set_memberships(&mut tx, Some(id), None, members).await?;
                }
                let mut update = QueryBuilder::<$db>::new("UPDATE teams SET id = id");
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(description) = patch.description { update.push(", description = ").push_bind(description); }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                self.directory_changed();
                self.team(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn team(&self, account: AccountId, id: TeamId) -> StoreResult<Option<Team>> {
                let row = sqlx::query("SELECT id, account_id, name, description, created_at FROM teams WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                match row {
                    Some(row) => Ok(Some(Team {
                        id,
                        account_id: account,
                        name: row.try_get("name").map_err(db_error)?,
                        description: row.try_get("description").map_err(db_error)?,
                        member_ids: self.member_ids_of(id).await?,
                        created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                    })),
                    None => Ok(None),
                }
            }

            async fn list_teams(&self, account: AccountId) -> StoreResult<Vec<Team>> {
                let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM teams WHERE account_id = $1 ORDER BY name")
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                let mut teams = Vec::with_capacity(ids.len());
                for id in ids {
                    teams.extend(self.team(account, id).await?);
                }
                Ok(teams)
            }

            async fn contacts(&self, account: AccountId, user: UserId) -> StoreResult<Vec<Contact>> {
                sqlx::query("SELECT id, account_id, user_id, channel, address, opted_out FROM contacts WHERE account_id = $1 AND user_id = $2 ORDER BY id")
                    .bind(account)
                    .bind(user)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| {
                        Ok(Contact {
                            id: row.try_get("id").map_err(db_error)?,
                            account_id: row.try_get("account_id").map_err(db_error)?,
                            user_id: row.try_get("user_id").map_err(db_error)?,
                            channel: parse_text(row.try_get::<String, _>("channel").map_err(db_error)?)?,
                            address: row.try_get("address").map_err(db_error)?,
                            opted_out: row.try_get("opted_out").map_err(db_error)?,
                        })
                    })
                    .collect()
            }

            async fn canned_responses(&self, account: AccountId) -> StoreResult<Vec<CannedResponse>> {
                sqlx::query_as::<_, (i64, String, String)>("SELECT id, title, body FROM canned_responses WHERE account_id = $1 ORDER BY title")
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)
                    .map(|rows| rows.into_iter().map(|(id, title, body)| CannedResponse { id, title, body }).collect())
            }

            async fn create_canned_response(&self, account: AccountId, title: &str, body: &str) -> StoreResult<CannedResponse> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO canned_responses (account_id, title, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(account)
                .bind(title.to_owned())
                .bind(body.to_owned())
                .bind(millis(self.clock.now()))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(CannedResponse { id, title: title.to_owned(), body: body.to_owned() })
            }

            async fn delete_canned_response(&self, account: AccountId, id: i64) -> StoreResult<()> {
                let done = sqlx::query("DELETE FROM canned_responses WHERE id = $1 AND account_id = $2")
                    .bind(id)
                    .bind(account)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            }

            async fn customer_by_contact(&self, account: AccountId, channel: Channel, address: &str) -> StoreResult<Option<User>> {
                let user: Option<i64> = sqlx::query_scalar(
                    "SELECT user_id FROM contacts WHERE account_id = $1 AND channel = $2 AND address = $3",
                )
                .bind(account)
                .bind(channel.as_str())
                .bind(address.to_owned())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
                match user {
                    Some(user) => self.user(account, user).await,
                    None => Ok(None),
                }
            }

            async fn add_contact(&self, account: AccountId, user: UserId, channel: Channel, address: &str) -> StoreResult<()> {
                sqlx::query(CONTACT_UPSERT)
                .bind(account)
                .bind(user)
                .bind(channel.as_str())
                .bind(address.to_owned())
                .execute(&self.pool)
                .await
                .map_err(db_error)
                .map(|_| ())
            }
        }
    };
}
pub(crate) use directory_sql;
