//! The SQL of the reports' projection (its measures, per-day aggregates and cursor), shared by
//! both backends: expanded inside [`shared_sql`](super::shared_sql) for each.

macro_rules! reports_sql {
    ($db:ty, $store:ident, $writer:ident, $begin_write:literal, $tickets_per_update:expr, $team_ids_of_u:literal) => {
        const MEASURE_COLUMNS: &str = "ticket_id, account_id, metric, at, day, value_ms, business_ms, replies, \
             actor_id, detail, assignee_id, team_id, channel, company_id, category_id, priority";

        fn measure_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<switchboard_actors::reports::measures::Measure> {
            use switchboard_actors::reports::measures::{Dimensions, Measure};
            let channel: Option<String> = row.try_get("channel").map_err(db_error)?;
            let priority: Option<String> = row.try_get("priority").map_err(db_error)?;
            Ok(Measure {
                account_id: row.try_get("account_id").map_err(db_error)?,
                ticket_id: row.try_get("ticket_id").map_err(db_error)?,
                metric: parse_text(row.try_get("metric").map_err(db_error)?)?,
                at: from_millis(row.try_get("at").map_err(db_error)?)?,
                day: parse_text(row.try_get("day").map_err(db_error)?)?,
                value_ms: row.try_get("value_ms").map_err(db_error)?,
                business_ms: row.try_get("business_ms").map_err(db_error)?,
                replies: row.try_get("replies").map_err(db_error)?,
                actor_id: row.try_get("actor_id").map_err(db_error)?,
                detail: row.try_get("detail").map_err(db_error)?,
                dimensions: Dimensions {
                    assignee_id: row.try_get("assignee_id").map_err(db_error)?,
                    team_id: row.try_get("team_id").map_err(db_error)?,
                    channel: channel.map(parse_text).transpose()?,
                    company_id: row.try_get("company_id").map_err(db_error)?,
                    category_id: row.try_get("category_id").map_err(db_error)?,
                    priority: priority.map(parse_text).transpose()?,
                },
            })
        }

        fn schedule_from_row(
            row: &<$db as sqlx::Database>::Row,
        ) -> StoreResult<switchboard_actors::reports::schedule::ReportSchedule> {
            let spec: String = row.try_get("spec").map_err(db_error)?;
            let last_sent_at: Option<i64> = row.try_get("last_sent_at").map_err(db_error)?;
            Ok(switchboard_actors::reports::schedule::ReportSchedule {
                id: row.try_get("id").map_err(db_error)?,
                account_id: row.try_get("account_id").map_err(db_error)?,
                created_by: row.try_get("created_by").map_err(db_error)?,
                spec: serde_json::from_str(&spec).map_err(|error| StoreError::Internal(format!("schedule spec: {error}")))?,
                next_run_at: from_millis(row.try_get("next_run_at").map_err(db_error)?)?,
                last_sent_at: last_sent_at.map(from_millis).transpose()?,
                created_at: from_millis(row.try_get("created_at").map_err(db_error)?)?,
            })
        }

        /// The integers of a `string_agg(…, ',')` (empty for none); `what` names them in the error.
        fn integers_of(text: &str, what: &str) -> StoreResult<Vec<i64>> {
            crate::storage::sql::ticket_filter::comma_integers(text)
                .map_err(|error| StoreError::Internal(format!("{what}: {error}")))
        }

        /// `ticket_id IN (…)` for a page of tickets (at most [`INSERT_CHUNK`]), one bind each.
        fn push_ticket_ids(select: &mut QueryBuilder<$db>, tickets: impl Iterator<Item = TicketId>) {
            select.push("ticket_id IN (");
            let mut ids = select.separated(", ");
            for ticket in tickets {
                ids.push_bind(ticket);
            }
            select.push(")");
        }

        /// The `WHERE` conditions of `query` over `report_measures m`.
        fn push_measure_conditions(select: &mut QueryBuilder<$db>, query: &switchboard_actors::reports::MeasureQuery) {
            use switchboard_actors::reports::MeasureScope;
            select.push("m.account_id = ").push_bind(query.account);
            select.push(" AND m.at >= ").push_bind(millis(query.from));
            select.push(" AND m.at < ").push_bind(millis(query.to));
            if !query.metrics.is_empty() {
                select.push(" AND m.metric IN (");
                let mut names = select.separated(", ");
                for metric in &query.metrics {
                    names.push_bind(metric.as_str());
                }
                select.push(")");
            }
            if let Some(tickets) = &query.tickets {
                <$db as HasDialect>::push_ticket_list(select, "m.ticket_id", tickets);
            }
            if let MeasureScope::Teams { teams, person } = &query.scope {
                select.push(" AND (");
                if teams.is_empty() {
                    select.push("1 = 0");
                } else {
                    select.push("m.team_id IN (");
                    let mut ids = select.separated(", ");
                    for team in teams {
                        ids.push_bind(*team);
                    }
                    select.push(")");
                }
                if let Some(person) = person {
                    select.push(" OR m.actor_id = ").push_bind(*person);
                    select.push(" OR m.assignee_id = ").push_bind(*person);
                }
                select.push(")");
            }
            if let Some(filter) = &query.filter {
                select.push(" AND m.ticket_id IN (SELECT t.id FROM tickets t WHERE t.account_id = ");
                select.push_bind(query.account);
                push_pieces(select, filter_sql(filter, <$db as HasDialect>::DIALECT, false).pieces());
                select.push(")");
            }
        }

        /// A measure's `cell_detail` in SQL: its detail, and its flag.
        const CELL_DETAIL: &str = "CASE WHEN m.metric IN ('sla_met', 'sla_missed', 'whatsapp_failed', 'automation_run') \
             THEN COALESCE(m.detail, '') ELSE '' END";
        const CELL_FLAG: &str = "CASE WHEN m.metric = 'automation_run' THEN (CASE WHEN m.value_ms IS NULL THEN 0 ELSE 1 END) \
             WHEN m.metric = 'resolved' THEN (CASE WHEN m.replies IS NULL OR m.replies < 0 THEN 0 \
             WHEN m.replies > 2 THEN 2 ELSE m.replies END) \
             WHEN m.metric IN ('backlog_in', 'backlog_out') THEN (CASE WHEN m.assignee_id IS NULL THEN 1 ELSE 0 END) \
             ELSE 0 END";

        /// A measure's local day number in `days`' zone (days since 1970-01-01): its instant
        /// moved by the zone's offset at that instant, divided by a day.
        fn push_day_number(select: &mut QueryBuilder<$db>, days: &switchboard_actors::reports::aggregate::LocalDays) {
            let offsets = days.offsets();
            let last = offsets.last().map_or(0, |(_, offset)| *offset);
            if offsets.len() < 2 {
                select.push("((m.at + ").push_bind(last).push(") / 86400000)");
                return;
            }
            select.push("(CASE");
            for pair in offsets.windows(2) {
                select.push(" WHEN m.at < ").push_bind(millis(pair[1].0));
                select.push(" THEN (m.at + ").push_bind(pair[0].1).push(") / 86400000");
            }
            select.push(" ELSE (m.at + ").push_bind(last).push(") / 86400000 END)");
        }

        /// The columns `day_no` (a local day or week's Monday by number, else null) and
        /// `row_key` (a dimension's key as text, as `summary::group_key` gives it, else null)
        /// that `split` adds measures up by.
        fn push_split_columns(select: &mut QueryBuilder<$db>, split: &switchboard_actors::reports::aggregate::MeasureSplit) {
            use switchboard_actors::reports::aggregate::MeasureSplit;
            use switchboard_actors::reports::summary::GroupBy;
            match split {
                MeasureSplit::Whole => {
                    select.push("CAST(NULL AS BIGINT) AS day_no, CAST(NULL AS TEXT) AS row_key");
                }
                MeasureSplit::Days(days) => {
                    push_day_number(select, days);
                    select.push(" AS day_no, CAST(NULL AS TEXT) AS row_key");
                }
                MeasureSplit::Weeks(days) => {
                    // Day 0 was a Thursday: a day's Monday is `day - (day + 3) % 7`.
                    push_day_number(select, days);
                    select.push(" - ((");
                    push_day_number(select, days);
                    select.push(" + 3) % 7) AS day_no, CAST(NULL AS TEXT) AS row_key");
                }
                MeasureSplit::Key(group_by) => {
                    let key = match group_by {
                        GroupBy::Agent => {
                            "CAST(CASE WHEN m.metric IN ('reply', 'first_response', 'next_reply') THEN m.actor_id \
                             ELSE m.assignee_id END AS TEXT)"
                        }
                        GroupBy::Team => "CAST(m.team_id AS TEXT)",
                        GroupBy::Channel => "m.channel",
                        GroupBy::Company => "CAST(m.company_id AS TEXT)",
                        GroupBy::Category => "CAST(m.category_id AS TEXT)",
                        GroupBy::Priority => "m.priority",
                        GroupBy::Day | GroupBy::Week => "CAST(NULL AS TEXT)",
                    };
                    select.push(format!("CAST(NULL AS BIGINT) AS day_no, {key} AS row_key"));
                }
            }
        }

        #[async_trait]
        impl switchboard_actors::reports::ReportsPort for $store {
            async fn report_position(&self) -> StoreResult<i64> {
                cursor_position(&self.pool, "report_cursor").await
            }

            async fn kept_measures(
                &self,
                tickets: &[TicketId],
            ) -> StoreResult<Vec<switchboard_actors::reports::measures::Measure>> {
                let mut kept = Vec::new();
                for chunk in tickets.chunks(INSERT_CHUNK) {
                    let mut old = QueryBuilder::<$db>::new(format!("SELECT {MEASURE_COLUMNS} FROM report_measures WHERE "));
                    push_ticket_ids(&mut old, chunk.iter().copied());
                    for row in old.build().fetch_all(&self.pool).await.map_err(db_error)? {
                        kept.push(measure_from_row(&row)?);
                    }
                }
                Ok(kept)
            }

            async fn record_measures(
                &self,
                from: i64,
                to: i64,
                changes: switchboard_actors::reports::MeasureChanges,
            ) -> StoreResult<()> {
                // Per backend: SQLite's through the writer thread, PostgreSQL's in a transaction
                // of its own (`sqlite.rs`, `postgres.rs`).
                self.store_measure_changes(from, to, changes.into_write()).await
            }

            async fn measures(
                &self,
                query: &switchboard_actors::reports::MeasureQuery,
            ) -> StoreResult<Vec<switchboard_actors::reports::measures::Measure>> {
                let mut select = QueryBuilder::<$db>::new(format!(
                    "SELECT {MEASURE_COLUMNS} FROM report_measures m WHERE "
                ));
                index_before_searching(self, query.filter.as_ref()).await?;
                push_measure_conditions(&mut select, query);
                select.push(" ORDER BY m.at, m.ticket_id");
                select.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)?.iter().map(measure_from_row).collect()
            }

            async fn filter_tickets(
                &self,
                account: AccountId,
                filter: &switchboard_actors::query::filter::TicketFilter,
            ) -> StoreResult<Vec<TicketId>> {
                let mut select = QueryBuilder::<$db>::new(format!(
                    "SELECT {} FROM tickets t WHERE t.account_id = ",
                    <$db as HasDialect>::TICKET_IDS
                ));
                select.push_bind(account);
                index_before_searching(self, Some(filter)).await?;
                push_pieces(&mut select, filter_sql(filter, <$db as HasDialect>::DIALECT, false).pieces());
                let row = select.build().fetch_one(&self.pool).await.map_err(db_error)?;
                <$db as HasDialect>::ticket_ids_of(&row).map_err(db_error)
            }

            async fn report_ticket_ids(
                &self,
                query: &switchboard_actors::reports::MeasureQuery,
                after: TicketId,
                limit: i64,
            ) -> StoreResult<Vec<TicketId>> {
                let mut select = QueryBuilder::<$db>::new("SELECT DISTINCT m.ticket_id FROM report_measures m WHERE ");
                index_before_searching(self, query.filter.as_ref()).await?;
                push_measure_conditions(&mut select, query);
                select.push(" AND m.ticket_id > ").push_bind(after);
                select.push(" ORDER BY m.ticket_id LIMIT ").push_bind(limit);
                select
                    .build()
                    .persistent(false)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(|row| row.try_get::<i64, _>(0).map_err(db_error))
                    .collect()
            }

            async fn create_report_schedule(
                &self,
                schedule: &switchboard_actors::reports::NewReportSchedule,
            ) -> StoreResult<switchboard_actors::reports::schedule::ReportSchedule> {
                let spec = serde_json::to_string(&schedule.spec).map_err(|error| StoreError::Internal(error.to_string()))?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO report_schedules (account_id, created_by, spec, next_run_at, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(schedule.account_id)
                .bind(schedule.created_by)
                .bind(spec)
                .bind(millis(schedule.next_run_at))
                .bind(millis(schedule.created_at))
                .fetch_one(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(switchboard_actors::reports::schedule::ReportSchedule {
                    id,
                    account_id: schedule.account_id,
                    created_by: schedule.created_by,
                    spec: schedule.spec.clone(),
                    next_run_at: schedule.next_run_at,
                    last_sent_at: None,
                    created_at: schedule.created_at,
                })
            }

            async fn report_schedules(
                &self,
                account: AccountId,
            ) -> StoreResult<Vec<switchboard_actors::reports::schedule::ReportSchedule>> {
                sqlx::query(
                    "SELECT id, account_id, created_by, spec, next_run_at, last_sent_at, created_at \
                     FROM report_schedules WHERE account_id = $1 ORDER BY id",
                )
                    .bind(account)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_error)?
                    .iter()
                    .map(schedule_from_row)
                    .collect()
            }

            async fn report_schedule(
                &self,
                id: i64,
            ) -> StoreResult<Option<switchboard_actors::reports::schedule::ReportSchedule>> {
                sqlx::query(
                    "SELECT id, account_id, created_by, spec, next_run_at, last_sent_at, created_at \
                     FROM report_schedules WHERE id = $1",
                )
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_error)?
                    .as_ref()
                    .map(schedule_from_row)
                    .transpose()
            }

            async fn delete_report_schedule(&self, account: AccountId, id: i64) -> StoreResult<bool> {
                let deleted = sqlx::query("DELETE FROM report_schedules WHERE account_id = $1 AND id = $2")
                    .bind(account)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?;
                Ok(deleted.rows_affected() > 0)
            }

            async fn report_schedule_ran(
                &self,
                id: i64,
                next_run_at: Timestamp,
                sent_at: Option<Timestamp>,
            ) -> StoreResult<()> {
                sqlx::query(
                    "UPDATE report_schedules SET next_run_at = $1, last_sent_at = COALESCE($2, last_sent_at) WHERE id = $3",
                )
                .bind(millis(next_run_at))
                .bind(sent_at.map(millis))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
                Ok(())
            }

            async fn daily_aggregates(
                &self,
                account: AccountId,
            ) -> StoreResult<Vec<(switchboard_actors::reports::DailyKey, switchboard_actors::reports::DailyTotal)>>
            {
                use switchboard_actors::reports::{DAILY_DIMENSIONS, DailyKey, DailyTotal};
                let rows = sqlx::query(
                    "SELECT day, metric, detail, flag, dimension, dimension_key, count, sum_ms FROM report_daily \
                     WHERE account_id = $1",
                )
                .bind(account)
                .fetch_all(&self.pool)
                .await
                .map_err(db_error)?;
                let mut cells = Vec::with_capacity(rows.len());
                for row in &rows {
                    let dimension: String = row.try_get("dimension").map_err(db_error)?;
                    let dimension = DAILY_DIMENSIONS
                        .into_iter()
                        .find(|known| *known == dimension)
                        .ok_or_else(|| StoreError::Internal(format!("report dimension {dimension}")))?;
                    let key = DailyKey {
                        account_id: account,
                        day: parse_text(row.try_get("day").map_err(db_error)?)?,
                        metric: parse_text(row.try_get("metric").map_err(db_error)?)?,
                        detail: row.try_get("detail").map_err(db_error)?,
                        flag: row.try_get("flag").map_err(db_error)?,
                        dimension,
                        key: row.try_get("dimension_key").map_err(db_error)?,
                    };
                    let total = DailyTotal {
                        count: row.try_get("count").map_err(db_error)?,
                        sum_ms: row.try_get("sum_ms").map_err(db_error)?,
                    };
                    cells.push((key, total));
                }
                cells.sort();
                Ok(cells)
            }

            async fn measure_totals(
                &self,
                query: &switchboard_actors::reports::MeasureQuery,
                split: &switchboard_actors::reports::aggregate::MeasureSplit,
            ) -> StoreResult<Vec<switchboard_actors::reports::DailyCell>> {
                use switchboard_actors::reports::aggregate::LocalDays;
                let mut select = QueryBuilder::<$db>::new(format!(
                    "SELECT s.metric, s.detail, s.flag, s.day_no, s.row_key, COUNT(*) AS count, \
                     CAST(SUM(s.value) AS BIGINT) AS sum_ms FROM (SELECT m.metric AS metric, {CELL_DETAIL} AS detail, \
                     {CELL_FLAG} AS flag, COALESCE(m.value_ms, 0) AS value, "
                ));
                push_split_columns(&mut select, split);
                select.push(" FROM report_measures m WHERE ");
                index_before_searching(self, query.filter.as_ref()).await?;
                push_measure_conditions(&mut select, query);
                select.push(") s GROUP BY s.metric, s.detail, s.flag, s.day_no, s.row_key");
                let rows = select.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)?;
                let mut cells = Vec::with_capacity(rows.len());
                for row in &rows {
                    let day: Option<i64> = row.try_get("day_no").map_err(db_error)?;
                    let key: Option<String> = row.try_get("row_key").map_err(db_error)?;
                    cells.push(switchboard_actors::reports::DailyCell {
                        day: day.map(|day| LocalDays::date(day).ok_or_else(|| StoreError::Internal(format!("day {day}")))).transpose()?,
                        metric: parse_text(row.try_get("metric").map_err(db_error)?)?,
                        detail: row.try_get("detail").map_err(db_error)?,
                        flag: row.try_get("flag").map_err(db_error)?,
                        key: key.unwrap_or_default(),
                        count: row.try_get("count").map_err(db_error)?,
                        sum_ms: row.try_get("sum_ms").map_err(db_error)?,
                    });
                }
                cells.sort();
                Ok(cells)
            }

            async fn duration_values(
                &self,
                query: &switchboard_actors::reports::MeasureQuery,
                hours: switchboard_actors::reports::summary::Hours,
                split: &switchboard_actors::reports::aggregate::MeasureSplit,
            ) -> StoreResult<Vec<switchboard_actors::reports::aggregate::DurationValues>> {
                use switchboard_actors::reports::aggregate::{DurationValues, LocalDays};
                use switchboard_actors::reports::summary::{DURATION_METRICS, Hours};
                // As `summary::duration` reads a measure.
                let value = match hours {
                    Hours::Calendar => "m.value_ms",
                    Hours::Business => "COALESCE(m.business_ms, m.value_ms)",
                };
                // Each partition's values as one text, ranked by the caller (`DurationValues`, as
                // `aggregate::stats_of`): sorting integers in memory is several times cheaper
                // than SQL's window functions ranking every row (issue 15's measurements).
                let mut select = QueryBuilder::<$db>::new(format!(
                    "SELECT s.metric, s.day_no, s.row_key, string_agg(CAST(s.value AS TEXT), ',') AS vals \
                     FROM (SELECT m.metric AS metric, {value} AS value, "
                ));
                push_split_columns(&mut select, split);
                select.push(" FROM report_measures m WHERE ");
                let durations = switchboard_actors::reports::MeasureQuery { metrics: DURATION_METRICS.to_vec(), ..query.clone() };
                index_before_searching(self, query.filter.as_ref()).await?;
                push_measure_conditions(&mut select, &durations);
                select.push(format!(" AND {value} IS NOT NULL) s GROUP BY s.metric, s.day_no, s.row_key"));
                let rows = select.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)?;
                let mut partitions = Vec::with_capacity(rows.len());
                for row in &rows {
                    let metric = parse_text(row.try_get("metric").map_err(db_error)?)?;
                    let day: Option<i64> = row.try_get("day_no").map_err(db_error)?;
                    let day = day.map(|day| LocalDays::date(day).ok_or_else(|| StoreError::Internal(format!("day {day}")))).transpose()?;
                    let key: Option<String> = row.try_get("row_key").map_err(db_error)?;
                    let values = integers_of(&row.try_get::<String, _>("vals").map_err(db_error)?, "duration")?;
                    partitions.push(DurationValues { metric, day, key, values });
                }
                Ok(partitions)
            }

            async fn daily_totals(
                &self,
                query: &switchboard_actors::reports::DailyQuery,
            ) -> StoreResult<Vec<switchboard_actors::reports::DailyCell>> {
                let day = if query.by_day { "day" } else { "CAST(NULL AS TEXT)" };
                // A ticket list reads the cells kept per ticket (only `all`'s, keyed "").
                let (key, table) = match &query.tickets {
                    None => ("dimension_key", "report_daily"),
                    Some(_) => ("CAST('' AS TEXT)", "report_ticket_days"),
                };
                let mut select = QueryBuilder::<$db>::new(format!(
                    "SELECT {day} AS day, metric, detail, flag, {key} AS dimension_key, CAST(SUM(count) AS BIGINT) AS count, \
                     CAST(SUM(sum_ms) AS BIGINT) AS sum_ms FROM {table} WHERE account_id = "
                ));
                select.push_bind(query.account);
                match &query.tickets {
                    None => {
                        select.push(" AND dimension = ").push_bind(query.dimension);
                    }
                    Some(tickets) => {
                        if query.dimension != "all" {
                            return Err(StoreError::Internal(format!(
                                "cells per ticket are kept for `all` only, not {}",
                                query.dimension
                            )));
                        }
                        <$db as HasDialect>::push_ticket_list(&mut select, "ticket_id", tickets);
                    }
                }
                if let Some(from_day) = query.from_day {
                    select.push(" AND day >= ").push_bind(from_day.to_string());
                }
                select.push(" AND day < ").push_bind(query.to_day.to_string());
                if !query.metrics.is_empty() {
                    select.push(" AND metric IN (");
                    let mut names = select.separated(", ");
                    for metric in &query.metrics {
                        names.push_bind(metric.as_str());
                    }
                    select.push(")");
                }
                select.push(format!(" GROUP BY {day_group}metric, detail, flag{key_group}",
                    day_group = if query.by_day { "day, " } else { "" },
                    key_group = if query.tickets.is_none() { ", dimension_key" } else { "" }));
                let rows = select.build().persistent(false).fetch_all(&self.pool).await.map_err(db_error)?;
                let mut cells = Vec::with_capacity(rows.len());
                for row in &rows {
                    let day: Option<String> = row.try_get("day").map_err(db_error)?;
                    cells.push(switchboard_actors::reports::DailyCell {
                        day: day.map(parse_text).transpose()?,
                        metric: parse_text(row.try_get("metric").map_err(db_error)?)?,
                        detail: row.try_get("detail").map_err(db_error)?,
                        flag: row.try_get("flag").map_err(db_error)?,
                        key: row.try_get("dimension_key").map_err(db_error)?,
                        count: row.try_get("count").map_err(db_error)?,
                        sum_ms: row.try_get("sum_ms").map_err(db_error)?,
                    });
                }
                cells.sort();
                Ok(cells)
            }

            async fn refresh_report_statistics(&self) -> StoreResult<()> {
                use crate::storage::sql::ticket_filter::Dialect;
                let mut connection = self.pool.acquire().await.map_err(db_error)?;
                let statements: &[&str] = match <$db as HasDialect>::DIALECT {
                    // Vacuumed too, so the visibility map lets the durations' covering index answer alone
                    // (autovacuum may be off, and is late after a rebuild).
                    Dialect::Postgres => &["VACUUM (ANALYZE) report_measures, report_daily, report_ticket_days", "ANALYZE tickets"],
                    // A sample per index is enough for the planner, and keeps this quick.
                    Dialect::Sqlite => &[
                        "PRAGMA analysis_limit = 1000",
                        "ANALYZE report_measures",
                        "ANALYZE report_daily",
                        "ANALYZE report_ticket_days",
                        "ANALYZE tickets",
                    ],
                };
                for statement in statements {
                    // The simple protocol: `VACUUM` runs in no transaction, not even an implicit one.
                    sqlx::raw_sql(*statement).execute(&mut *connection).await.map_err(db_error)?;
                }
                Ok(())
            }

            async fn reset_reports(&self) -> StoreResult<()> {
                let mut tx = self.pool.begin_with($begin_write).await.map_err(db_error)?;
                for statement in [
                    "DELETE FROM report_measures",
                    "DELETE FROM report_daily",
                    "DELETE FROM report_ticket_days",
                    "UPDATE report_cursor SET position = 0 WHERE id = 1",
                ] {
                    sqlx::query(statement).execute(&mut *tx).await.map_err(db_error)?;
                }
                tx.commit().await.map_err(db_error)
            }
        }
    };
}
pub(crate) use reports_sql;
