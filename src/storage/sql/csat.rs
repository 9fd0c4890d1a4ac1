//! The SQL of CSAT settings and surveys (migration 0028), shared by both backends: expanded inside
//! [`shared_sql`](super::shared_sql) for each, where the row helpers it calls are defined.

macro_rules! csat_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        use switchboard_actors::csat::{CsatPort, CsatSettings, FunnelRow, NewSurvey, Survey, SurveyStatus};

        const SURVEY_COLUMNS: &str = "id, account_id, ticket_id, customer_id, cycle, channel, scale, question, \
             comment_prompt, status, score, comment, team_id, agent_ids, message_id, created_at, answered_at";

        fn survey_from_row(row: &DbRow) -> StoreResult<Survey> {
            let text = |column: &str| row.try_get::<String, _>(column).map_err(db_error);
            Ok(Survey {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                customer_id: row.try_get("customer_id").map_err(db_error)?,
                cycle: row.try_get("cycle").map_err(db_error)?,
                channel: parse_text(text("channel")?)?,
                scale: parse_text(text("scale")?)?,
                question: text("question")?,
                comment_prompt: text("comment_prompt")?,
                status: parse_text(text("status")?)?,
                score: row.try_get("score").map_err(db_error)?,
                comment: row.try_get("comment").map_err(db_error)?,
                team_id: row.try_get("team_id").map_err(db_error)?,
                agent_ids: parse_json(&text("agent_ids")?)?,
                message_id: row.try_get("message_id").map_err(db_error)?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
                answered_at: opt_millis(row, "answered_at")?,
            })
        }

        impl $store {
            async fn one_survey(&self, condition: &str, value: i64) -> StoreResult<Option<Survey>> {
                let sql = format!("SELECT {SURVEY_COLUMNS} FROM csat_surveys WHERE {condition} ORDER BY id DESC LIMIT 1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).fetch_optional(&self.pool).await.map_err(db_error)?;
                row.as_ref().map(survey_from_row).transpose()
            }
        }

        #[async_trait]
        impl CsatPort for $store {
            async fn csat_settings(&self, account: AccountId) -> StoreResult<Option<CsatSettings>> {
                let text: Option<String> = sqlx::query_scalar("SELECT settings FROM csat_settings WHERE account_id = $1")
                    .bind(account)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                text.map(|text| parse_json(&text)).transpose()
            }

            async fn set_csat_settings(&self, account: AccountId, settings: &CsatSettings) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO csat_settings (account_id, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(account)
                .bind(json_text(settings)?)
                .bind(millis(self.clock.now()))
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn create_survey(&self, survey: NewSurvey) -> StoreResult<Survey> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO csat_surveys (account_id, ticket_id, customer_id, cycle, channel, scale, question, \
                     comment_prompt, status, team_id, agent_ids, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10, $11) RETURNING id",
                )
                .bind(survey.account_id)
                .bind(survey.ticket_id)
                .bind(survey.customer_id)
                .bind(survey.cycle)
                .bind(survey.channel.as_str())
                .bind(survey.scale.as_str())
                .bind(survey.question.clone())
                .bind(survey.comment_prompt.clone())
                .bind(survey.team_id)
                .bind(json_text(&survey.agent_ids)?)
                .bind(millis(self.clock.now()))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                self.survey(id).await?.ok_or(StoreError::NotFound)
            }

            async fn survey(&self, id: i64) -> StoreResult<Option<Survey>> {
                self.one_survey("id = $1", id).await
            }

            async fn latest_survey(&self, ticket: TicketId) -> StoreResult<Option<Survey>> {
                self.one_survey("ticket_id = $1", ticket).await
            }

            async fn last_surveyed(&self, account: AccountId, customer: UserId) -> StoreResult<Option<Timestamp>> {
                let at: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(created_at) FROM csat_surveys WHERE account_id = $1 AND customer_id = $2",
                )
                .bind(account)
                .bind(customer)
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                at.map(from_millis).transpose()
            }

            async fn last_answered(&self, account: AccountId, customer: UserId) -> StoreResult<Option<Survey>> {
                let sql = format!(
                    "SELECT {SURVEY_COLUMNS} FROM csat_surveys WHERE account_id = $1 AND customer_id = $2 \
                     AND status = 'answered' ORDER BY answered_at DESC, id DESC LIMIT 1"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(customer)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?;
                row.as_ref().map(survey_from_row).transpose()
            }

            async fn set_survey_message(&self, id: i64, message_id: &str) -> StoreResult<()> {
                sqlx::query("UPDATE csat_surveys SET message_id = $1 WHERE id = $2")
                    .bind(message_id.to_owned())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn answer_survey(&self, id: i64, score: i64, at: Timestamp) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE csat_surveys SET status = 'answered', score = $1, answered_at = $2 \
                     WHERE id = $3 AND status = 'pending'",
                )
                .bind(score)
                .bind(millis(at))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn unanswer_survey(&self, id: i64) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE csat_surveys SET status = 'pending', score = NULL, answered_at = NULL \
                     WHERE id = $1 AND status = 'answered'",
                )
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn set_survey_comment(&self, id: i64, comment: &str) -> StoreResult<()> {
                sqlx::query("UPDATE csat_surveys SET comment = $1 WHERE id = $2 AND status = 'answered'")
                    .bind(comment.to_owned())
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(())
            }

            async fn cancel_survey(&self, id: i64, _at: Timestamp) -> StoreResult<bool> {
                let done = sqlx::query("UPDATE csat_surveys SET status = 'cancelled' WHERE id = $1 AND status = 'pending'")
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(done.rows_affected() == 1)
            }

            async fn answered_surveys(
                &self,
                account: AccountId,
                from: Timestamp,
                to: Timestamp,
                limit: i64,
            ) -> StoreResult<Vec<Survey>> {
                let sql = format!(
                    "SELECT {SURVEY_COLUMNS} FROM csat_surveys WHERE account_id = $1 AND status = 'answered' \
                     AND answered_at >= $2 AND answered_at < $3 ORDER BY answered_at DESC, id DESC LIMIT $4"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account)
                    .bind(millis(from))
                    .bind(millis(to))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?;
                rows.iter().map(survey_from_row).collect()
            }

            async fn survey_funnel(&self, account: AccountId, from: Timestamp, to: Timestamp) -> StoreResult<Vec<FunnelRow>> {
                let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT s.channel, s.status, m.delivery_status FROM csat_surveys s \
                     LEFT JOIN messages m ON m.id = s.message_id \
                     WHERE s.account_id = $1 AND s.created_at >= $2 AND s.created_at < $3",
                )
                .bind(account)
                .bind(millis(from))
                .bind(millis(to))
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                rows.into_iter()
                    .map(|(channel, status, delivery)| {
                        Ok(FunnelRow {
                            channel: parse_text(channel)?,
                            status: parse_text::<SurveyStatus>(status)?,
                            delivery: delivery.map(parse_text).transpose()?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use csat_sql;
