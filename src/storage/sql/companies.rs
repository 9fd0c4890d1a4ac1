//! The SQL of companies and their email domains, shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! companies_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::companies::{CompaniesPort, CompanyPatch, NewCompany};

        const COMPANY_COLUMNS: &str =
            "id, account_id, name, members_see_company_tickets, members_write_company_tickets, sla_tier, created_at";

        impl $store {
            /// The account's companies (or the one with `only`), with their domains and counts.
            async fn companies_of(&self, account: AccountId, only: Option<CompanyId>) -> StoreResult<Vec<Company>> {
                let mut query =
                    QueryBuilder::<$db>::new(format!("SELECT {COMPANY_COLUMNS} FROM companies WHERE account_id = "));
                query.push_bind(account);
                if let Some(id) = only {
                    query.push(" AND id = ").push_bind(id);
                }
                query.push(" ORDER BY name");
                let rows = query.build().fetch_all(&self.pool).await.map_err(db_error)?;
                // One company (a ticket opening reads its tier): only its rows, by the indexes
                // on company_domains(company_id) and users(company_id) (migration 0025).
                let mut domains = QueryBuilder::<$db>::new("SELECT company_id, domain FROM company_domains WHERE account_id = ");
                domains.push_bind(account);
                let mut counts = QueryBuilder::<$db>::new(
                    "SELECT company_id, COUNT(*) FROM users WHERE company_id IS NOT NULL AND active = TRUE AND account_id = ",
                );
                counts.push_bind(account);
                if let Some(id) = only {
                    domains.push(" AND company_id = ").push_bind(id);
                    counts.push(" AND company_id = ").push_bind(id);
                }
                domains.push(" ORDER BY domain");
                counts.push(" GROUP BY company_id");
                let domains: Vec<(i64, String)> = domains.build_query_as().fetch_all(&self.pool).await.map_err(db_error)?;
                let counts: Vec<(i64, i64)> = counts.build_query_as().fetch_all(&self.pool).await.map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        let id: i64 = row.try_get("id").map_err(db_error)?;
                        let tier: Option<String> = row.try_get("sla_tier").map_err(db_error)?;
                        Ok(Company {
                            id,
                            account_id: row.try_get("account_id").map_err(db_error)?,
                            name: row.try_get("name").map_err(db_error)?,
                            members_see_company_tickets: row.try_get("members_see_company_tickets").map_err(db_error)?,
                            members_write_company_tickets: row.try_get("members_write_company_tickets").map_err(db_error)?,
                            domains: domains.iter().filter(|(of, _)| *of == id).map(|(_, domain)| domain.clone()).collect(),
                            sla_tier: tier.map(parse_text).transpose()?,
                            member_count: counts.iter().find(|(of, _)| *of == id).map_or(0, |(_, count)| *count),
                            created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                        })
                    })
                    .collect()
            }

            /// Replaces company `id`'s domains with `domains` inside `tx`; customers with a
            /// password account at a domain it did not hold before, in no company, join it.
            async fn set_company_domains(tx: &mut DbTx, account: AccountId, id: CompanyId, domains: &[String]) -> StoreResult<()> {
                for domain in domains {
                    let holder: Option<i64> = sqlx::query_scalar(
                        "SELECT company_id FROM company_domains WHERE account_id = $1 AND domain = $2",
                    )
                    .bind(account)
                    .bind(domain.clone())
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(db_error)?;
                    if holder.is_some_and(|holder| holder != id) {
                        return Err(StoreError::Conflict(format!("domain_taken {domain}")));
                    }
                }
                let held: Vec<String> = sqlx::query_scalar("SELECT domain FROM company_domains WHERE company_id = $1")
                    .bind(id)
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(db_error)?;
                sqlx::query("DELETE FROM company_domains WHERE company_id = $1")
                    .bind(id)
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                for domain in domains {
                    sqlx::query("INSERT INTO company_domains (account_id, domain, company_id) VALUES ($1, $2, $3)")
                        .bind(account)
                        .bind(domain.clone())
                        .bind(id)
                        .execute(&mut **tx)
                        .await
                        .map_err(db_error)?;
                    if held.contains(domain) {
                        continue;
                    }
                    // Domains are hostnames (letters, digits, `-`, `.`), so the pattern has no
                    // wildcard of its own; emails are stored in lower case.
                    sqlx::query(
                        "UPDATE users SET company_id = $1 WHERE account_id = $2 AND role = 'customer' AND active = TRUE \
                         AND company_id IS NULL AND password_hash IS NOT NULL AND password_hash <> '' AND email LIKE $3",
                    )
                    .bind(id)
                    .bind(account)
                    .bind(format!("%@{domain}"))
                    .execute(&mut **tx)
                    .await
                    .map_err(db_error)?;
                }
                Ok(())
            }
        }

        #[async_trait]
        impl CompaniesPort for $store {
            async fn create_company(&self, company: NewCompany) -> StoreResult<Company> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO companies (account_id, name, members_see_company_tickets, members_write_company_tickets, \
                     sla_tier, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(company.account_id)
                .bind(company.name.clone())
                .bind(company.members_see_company_tickets)
                .bind(company.members_write_company_tickets)
                .bind(company.sla_tier.map(|tier| tier.as_str()))
                .bind(millis(self.clock.now()))
                .fetch_one(&mut *tx)
                .await
                .map_err(|error| match db_error(error) {
                    StoreError::Conflict(_) => StoreError::Conflict("company_exists".to_owned()),
                    other => other,
                })?;
                Self::set_company_domains(&mut tx, company.account_id, id, &company.domains).await?;
                tx.commit().await.map_err(db_error)?;
                self.company(company.account_id, id).await?.ok_or(StoreError::NotFound)
            }

            async fn update_company(&self, account: AccountId, id: CompanyId, patch: CompanyPatch) -> StoreResult<Company> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                Self::check_same_account(&mut tx, "companies", account, &[id]).await?;
                let mut update = QueryBuilder::<$db>::new("UPDATE companies SET id = id");
                if let Some(name) = patch.name { update.push(", name = ").push_bind(name); }
                if let Some(see) = patch.members_see_company_tickets { update.push(", members_see_company_tickets = ").push_bind(see); }
                if let Some(write) = patch.members_write_company_tickets { update.push(", members_write_company_tickets = ").push_bind(write); }
                if let Some(tier) = patch.sla_tier { update.push(", sla_tier = ").push_bind(tier.map(|tier| tier.as_str())); }
                update.push(" WHERE id = ").push_bind(id);
                update.build().execute(&mut *tx).await.map_err(|error| match db_error(error) {
                    StoreError::Conflict(_) => StoreError::Conflict("company_exists".to_owned()),
                    other => other,
                })?;
                // Writing on colleagues' tickets presumes seeing them.
                sqlx::query("UPDATE companies SET members_write_company_tickets = FALSE WHERE id = $1 AND members_see_company_tickets = FALSE")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_error)?;
                if let Some(domains) = &patch.domains {
                    Self::set_company_domains(&mut tx, account, id, domains).await?;
                }
                tx.commit().await.map_err(db_error)?;
                self.company(account, id).await?.ok_or(StoreError::NotFound)
            }

            async fn company(&self, account: AccountId, id: CompanyId) -> StoreResult<Option<Company>> {
                Ok(self.companies_of(account, Some(id)).await?.pop())
            }

            async fn list_companies(&self, account: AccountId) -> StoreResult<Vec<Company>> {
                self.companies_of(account, None).await
            }

            async fn company_members(&self, account: AccountId, id: CompanyId) -> StoreResult<Vec<User>> {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE account_id = $1 AND company_id = $2 AND active = TRUE ORDER BY name, id"
                )))
                .bind(account)
                .bind(id)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?
                .iter()
                .map(|row| user_from_row(row, Vec::new()))
                .collect()
            }

            async fn join_company_by_domain(&self, account: AccountId, user: UserId, domain: &str) -> StoreResult<Option<CompanyId>> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                sqlx::query(
                    "UPDATE users SET company_id = (SELECT company_id FROM company_domains WHERE account_id = $1 AND domain = $2) \
                     WHERE id = $3 AND account_id = $1 AND role = 'customer' AND company_id IS NULL",
                )
                .bind(account)
                .bind(domain.to_owned())
                .bind(user)
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
                let company: Option<Option<i64>> = sqlx::query_scalar("SELECT company_id FROM users WHERE id = $1 AND account_id = $2")
                    .bind(user)
                    .bind(account)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
                tx.commit().await.map_err(db_error)?;
                Ok(company.flatten())
            }
        }
    };
}
pub(crate) use companies_sql;
