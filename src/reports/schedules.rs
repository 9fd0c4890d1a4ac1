//! Scheduled reports (issue 15 item 5): each schedule has one durable timer (owner
//! `report_schedule`/its id, named `run`) due at its next run, the hour it names in the account's
//! time zone. When it fires, the export is made as the schedule's creator would see it (their
//! scope) for the day or week before the run, mailed as an attachment through the email
//! channel's transport (the sandbox mailbox in development), and the timer moves to the next
//! run. A fire before the stored next run (a stale timer) only puts the timer back; a schedule
//! deleted meanwhile clears it. A crash between the mail and the stored next run sends the mail
//! again on the next start (at least once, like every timer).

use std::sync::Arc;

use jiff::Timestamp;
use switchboard_actors::clock::Clock;
use switchboard_actors::reports::NewReportSchedule;
use switchboard_actors::reports::schedule::{ReportSchedule, ScheduleSpec, next_run, period_for};
use switchboard_actors::reports::summary::Hours;
use switchboard_actors::store::{Store, StoreError, TimerChange, TimerOwner};
use switchboard_actors::timers::{TimerDispatch, TimerHandle};

use super::export::{ExportJob, ExportSources, collect};
use super::summary::ReportRequest;
use super::{ReportProjection, report_zone};
use crate::channels::email::{EmailChannel, NoticeFile};

/// The timer owner kind the schedules register with the timer task.
pub const TIMER_KIND: &str = "report_schedule";
const TIMER_NAME: &str = "run";

pub struct ReportSchedules {
    store: Arc<dyn Store>,
    projection: Arc<ReportProjection>,
    email: Arc<EmailChannel>,
    clock: Arc<dyn Clock>,
    timers: TimerHandle,
}

impl ReportSchedules {
    pub fn new(
        store: Arc<dyn Store>,
        projection: Arc<ReportProjection>,
        email: Arc<EmailChannel>,
        clock: Arc<dyn Clock>,
        timers: TimerHandle,
    ) -> Arc<ReportSchedules> {
        Arc::new(ReportSchedules { store, projection, email, clock, timers })
    }

    async fn zone(&self, account: i64) -> Result<jiff::tz::TimeZone, StoreError> {
        let config = self.store.account_config(account).await?;
        Ok(report_zone(config.sla_policy.as_ref().and_then(|policy| policy.business_hours.as_ref())))
    }

    async fn set_timer(&self, id: i64, due_at: Option<Timestamp>) -> Result<(), StoreError> {
        let change = TimerChange { owner: TimerOwner::new(TIMER_KIND, id), name: TIMER_NAME.to_owned(), due_at };
        self.store.set_timer(&change).await?;
        self.timers.changed(change);
        Ok(())
    }

    /// Stores a (validated) schedule and sets its timer for its first run.
    pub async fn create(
        &self,
        account: i64,
        created_by: i64,
        spec: ScheduleSpec,
    ) -> Result<ReportSchedule, StoreError> {
        let now = self.clock.now();
        let next_run_at = next_run(&spec, &self.zone(account).await?, now);
        let new = NewReportSchedule { account_id: account, created_by, spec, next_run_at, created_at: now };
        let schedule = self.store.create_report_schedule(&new).await?;
        self.set_timer(schedule.id, Some(schedule.next_run_at)).await?;
        Ok(schedule)
    }

    /// Deletes a schedule and its timer; false when the account has no such schedule.
    pub async fn delete(&self, account: i64, id: i64) -> Result<bool, StoreError> {
        let deleted = self.store.delete_report_schedule(account, id).await?;
        if deleted {
            self.set_timer(id, None).await?;
        }
        Ok(deleted)
    }

    /// The timer fired: run the schedule if it is due, then set the timer for the next run.
    async fn run(&self, id: i64) -> Result<(), StoreError> {
        let Some(schedule) = self.store.report_schedule(id).await? else {
            return self.set_timer(id, None).await;
        };
        let now = self.clock.now();
        if now < schedule.next_run_at {
            return self.set_timer(id, Some(schedule.next_run_at)).await;
        }
        let zone = self.zone(schedule.account_id).await?;
        let sent = match self.send(&schedule, &zone).await {
            Ok(()) => {
                metrics::counter!("switchboard_report_schedules_sent_total").increment(1);
                Some(now)
            }
            Err(error) => {
                // Not retried every few seconds: a wrong address or no mail server would never
                // heal by itself. The next run tries again.
                tracing::warn!(schedule = id, %error, "a scheduled report could not be sent");
                None
            }
        };
        let next = next_run(&schedule.spec, &zone, now.max(schedule.next_run_at));
        self.store.report_schedule_ran(id, next, sent).await?;
        self.set_timer(id, Some(next)).await
    }

    /// Makes the export for the period before the run and mails it.
    async fn send(&self, schedule: &ReportSchedule, zone: &jiff::tz::TimeZone) -> Result<(), String> {
        let text = |error: StoreError| error.to_string();
        let user = self
            .store
            .user(schedule.account_id, schedule.created_by)
            .await
            .map_err(text)?
            .filter(|user| user.active && user.role.is_staff())
            .ok_or("the schedule's creator is no longer active staff")?;
        let (from, to) = period_for(schedule.spec.cadence, zone, schedule.next_run_at);
        let filter = match schedule.spec.query.trim() {
            "" => None,
            query => {
                let config = self.store.account_config(schedule.account_id).await.map_err(text)?;
                let compiled =
                    crate::search::compile(self.store.as_ref(), &config, &user, query, self.clock.now()).await;
                Some(compiled.map_err(|error| format!("the schedule's query: {error}"))?)
            }
        };
        let request = ReportRequest {
            from,
            to,
            group_by: schedule.spec.group_by,
            hours: schedule.spec.hours.unwrap_or(Hours::Calendar),
            filter,
            zone: zone.clone(),
        };
        let job = ExportJob { kind: schedule.spec.kind, format: schedule.spec.format, request, user };
        let name = job.file_name();
        let sources = ExportSources { store: self.store.clone(), projection: self.projection.clone() };
        let bytes = collect(sources, job).await.map_err(|error| error.to_string())?;
        let day = |at: Timestamp| at.to_zoned(zone.clone()).date().to_string();
        let last_day = to.checked_sub(jiff::SignedDuration::from_millis(1)).unwrap_or(to);
        let subject = format!(
            "Switchboard {} report ({}): {} to {}",
            schedule.spec.kind.as_str(),
            schedule.spec.cadence.as_str(),
            day(from),
            day(last_day)
        );
        let query =
            if schedule.spec.query.trim().is_empty() { "all tickets".to_owned() } else { schedule.spec.query.clone() };
        let body = format!(
            "Your {} {} report is attached ({name}).\n\nPeriod: {} to {} ({})\nTickets: {query}\n\n\
             This report comes from a schedule in Switchboard (DELETE /api/v1/reports/schedules/{} stops it).\n",
            schedule.spec.cadence.as_str(),
            schedule.spec.kind.as_str(),
            day(from),
            day(last_day),
            super::summary::zone_name(zone),
            schedule.id
        );
        let file = NoticeFile { name, content_type: schedule.spec.format.content_type().to_owned(), bytes };
        self.email.send_notice_with_file(&schedule.spec.recipients, &subject, &body, &file).await
    }
}

#[async_trait::async_trait]
impl TimerDispatch for ReportSchedules {
    async fn fire(&self, owner: &TimerOwner, name: &str) -> Result<(), String> {
        if name != TIMER_NAME {
            return Err(format!("a report schedule timer named `{name}`"));
        }
        self.run(owner.id()).await.map_err(|error| error.to_string())
    }
}
