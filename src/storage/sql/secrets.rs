//! The SQL of sealed secrets (issue 17 item 8), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each. Counting what each key sealed (the startup check
//! and the end of a rotation) and re-sealing every column of [`crate::secrets::SEALED_COLUMNS`]
//! row by row, each row by a compare-and-set on the value it read, so a concurrent write is
//! never overwritten (the next pass takes it) and a pass interrupted anywhere can simply run
//! again.

macro_rules! secrets_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use crate::secrets::{Census, SealedColumn, Shape};

        /// Most passes over one column: a value changed under a pass is taken by the next.
        const RESEAL_PASSES: usize = 5;

        /// The plaintext of a value read from `column` (see [`crate::secrets::Keyring::open`]).
        fn open_secret(keys: &crate::secrets::Keyring, column: &SealedColumn, stored: &str) -> StoreResult<String> {
            keys.open(column, stored).map_err(|error| StoreError::Internal(error.to_string()))
        }

        /// An automation rule's JSON with each webhook secret changed by `change` (sealed on the
        /// way in, opened on the way out).
        fn rule_secrets(
            rule: String,
            change: impl FnMut(&str) -> Result<Option<String>, crate::secrets::SecretError>,
        ) -> StoreResult<String> {
            match crate::secrets::map_rule_secrets(&rule, change) {
                Ok(changed) => Ok(changed.unwrap_or(rule)),
                Err(error) => Err(StoreError::Internal(error.to_string())),
            }
        }

        impl $store {
            /// `plaintext` sealed for `column` under the primary key, as stored.
            fn seal(&self, column: &SealedColumn, plaintext: &str) -> String {
                self.secrets.seal(column, plaintext).into_string()
            }

            /// An automation rule's JSON with its webhook secrets sealed.
            fn seal_rule(&self, rule: String) -> StoreResult<String> {
                let column = &crate::secrets::AUTOMATION_WEBHOOK_SECRETS;
                rule_secrets(rule, |secret| Ok(Some(self.seal(column, secret))))
            }

            /// Every stored value of `column` with the text of its row key.
            async fn sealed_rows(&self, column: &SealedColumn) -> StoreResult<Vec<(String, String)>> {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST({key} AS TEXT) AS row_key, {value} AS stored FROM {table} WHERE {value} IS NOT NULL",
                    key = column.key,
                    value = column.column,
                    table = column.table,
                )))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            row.try_get::<String, _>("row_key").map_err(db_error)?,
                            row.try_get::<String, _>("stored").map_err(db_error)?,
                        ))
                    })
                    .collect()
            }

            /// `stored` moved under the primary key (everything, or plaintext only); `None` when
            /// it stays as it is.
            fn resealed(
                &self,
                column: &SealedColumn,
                stored: &str,
                plaintext_only: bool,
            ) -> StoreResult<Option<String>> {
                let one = |value: &str| -> Result<Option<String>, crate::secrets::SecretError> {
                    if plaintext_only && crate::secrets::key_id_of(value).is_some() {
                        return Ok(None);
                    }
                    Ok(self.secrets.reseal(column, value)?.map(crate::secrets::Sealed::into_string))
                };
                let moved = match column.shape {
                    Shape::Text => one(stored),
                    Shape::RuleWebhookSecrets => crate::secrets::map_rule_secrets(stored, one),
                };
                moved.map_err(|error| StoreError::Internal(error.to_string()))
            }
        }

        #[async_trait]
        impl crate::storage::SealedSecrets for $store {
            async fn census(&self) -> StoreResult<Census> {
                let mut census = Census::default();
                for column in crate::secrets::SEALED_COLUMNS {
                    for (_, stored) in self.sealed_rows(column).await? {
                        match column.shape {
                            Shape::Text => census.count(&stored),
                            Shape::RuleWebhookSecrets => crate::secrets::count_rule_secrets(&stored, &mut census)
                                .map_err(|error| StoreError::Internal(error.to_string()))?,
                        }
                    }
                }
                Ok(census)
            }

            async fn reseal(&self, plaintext_only: bool) -> StoreResult<u64> {
                let mut moved = 0;
                for column in crate::secrets::SEALED_COLUMNS {
                    for pass in 1..=RESEAL_PASSES {
                        let mut raced = false;
                        for (key, stored) in self.sealed_rows(column).await? {
                            let Some(new) = self.resealed(column, &stored, plaintext_only)? else { continue };
                            let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                                "UPDATE {table} SET {value} = $1 WHERE CAST({key} AS TEXT) = $2 AND {value} = $3",
                                table = column.table,
                                value = column.column,
                                key = column.key,
                            )))
                            .bind(new)
                            .bind(key)
                            .bind(stored)
                            .execute(&self.pool)
                            .await
                            .map_err(db_error)?;
                            if done.rows_affected() == 1 {
                                moved += 1;
                            } else {
                                raced = true;
                            }
                        }
                        if !raced {
                            break;
                        }
                        if pass == RESEAL_PASSES {
                            return Err(StoreError::Unavailable(format!(
                                "{} kept changing while its secrets were re-sealed; run it again",
                                column.name()
                            )));
                        }
                    }
                }
                Ok(moved)
            }
        }
    };
}
pub(crate) use secrets_sql;
