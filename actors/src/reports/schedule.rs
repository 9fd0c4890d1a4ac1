//! Scheduled reports (issue 15 item 5): what an export is (`ExportKind`, `ExportFormat`), a
//! schedule's specification as the API takes it, its validation, and its arithmetic as pure code
//! — when it next runs (the hour in the account's zone, every day or on one weekday; DST days
//! handled by the zone) and which period a run covers (the day, or the seven days, before it).

use jiff::tz::TimeZone;
use jiff::{Timestamp, civil::Date};
use serde::{Deserialize, Serialize};

use super::summary::{GroupBy, Hours};
use crate::domain::{AccountId, UserId, Weekday};

crate::domain::string_enum!(
    /// What an export holds: one row per ticket, or the summary's figures.
    ExportKind { Tickets => "tickets", Summary => "summary" }
);

crate::domain::string_enum!(
    /// The file an export is written as.
    ExportFormat { Csv => "csv", Xlsx => "xlsx", Pdf => "pdf" }
);

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::Pdf => "application/pdf",
        }
    }
}

crate::domain::string_enum!(
    /// How often a schedule sends its report.
    Cadence { Daily => "daily", Weekly => "weekly" }
);

/// Most recipients one schedule mails.
pub const MAX_RECIPIENTS: usize = 20;

/// A schedule as the API takes it and returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub kind: ExportKind,
    /// The query language's filter of the tickets (empty: all the creator may see).
    #[serde(default)]
    pub query: String,
    /// The summary's rows (summary exports only).
    #[serde(default)]
    pub group_by: Option<GroupBy>,
    pub cadence: Cadence,
    /// The hour (0–23) in the account's time zone the report leaves at.
    pub hour: u8,
    /// The day a weekly report leaves on (required for `weekly`, refused for `daily`).
    #[serde(default)]
    pub weekday: Option<Weekday>,
    pub recipients: Vec<String>,
    pub format: ExportFormat,
    /// Durations around the clock (default) or in business hours.
    #[serde(default)]
    pub hours: Option<Hours>,
}

/// A stored schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportSchedule {
    pub id: i64,
    #[serde(skip)]
    pub account_id: AccountId,
    /// Whose figures it sends: the creator's scope, as if they asked for the export.
    pub created_by: UserId,
    #[serde(flatten)]
    pub spec: ScheduleSpec,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub next_run_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub last_sent_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub created_at: Timestamp,
}

/// A refused specification: the field and why.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleError {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> ScheduleError {
    ScheduleError { field, message: message.into() }
}

impl ScheduleSpec {
    /// Checks what the types do not: the hour, the weekday against the cadence, the recipients
    /// (1–20 plausible addresses), `group_by` only on summaries. The query is checked by the
    /// caller, who can compile it.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if self.hour > 23 {
            return Err(refuse("hour", "must be between 0 and 23 (the account's time zone)"));
        }
        match (self.cadence, self.weekday) {
            (Cadence::Weekly, None) => return Err(refuse("weekday", "a weekly report needs its weekday (mon … sun)")),
            (Cadence::Daily, Some(_)) => return Err(refuse("weekday", "a daily report leaves every day: no weekday")),
            _ => {}
        }
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            return Err(refuse("recipients", format!("between 1 and {MAX_RECIPIENTS} email addresses")));
        }
        if let Some(bad) = self.recipients.iter().find(|address| !plausible_address(address)) {
            return Err(refuse("recipients", format!("`{bad}` is not an email address")));
        }
        if self.group_by.is_some() && self.kind == ExportKind::Tickets {
            return Err(refuse("group_by", "only a summary has rows to group"));
        }
        Ok(())
    }
}

/// One `@` with text on both sides and a dot in the domain, no spaces.
fn plausible_address(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !address.chars().any(char::is_whitespace)
        && address.len() <= 254
}

fn weekday_of(date: Date) -> Weekday {
    Weekday::ALL[date.weekday().to_monday_zero_offset() as usize]
}

/// The first run of `spec` strictly after `after`: its hour on the next day that qualifies, in
/// `zone` (an hour a DST change skips runs at the first instant after it).
pub fn next_run(spec: &ScheduleSpec, zone: &TimeZone, after: Timestamp) -> Timestamp {
    let mut date = after.to_zoned(zone.clone()).date();
    // At most eight days ahead holds every weekday once more.
    for _ in 0..9 {
        let qualifies = spec.weekday.is_none_or(|weekday| weekday_of(date) == weekday);
        if qualifies
            && let Ok(at) = date.at(i8::try_from(spec.hour).unwrap_or(0), 0, 0, 0).to_zoned(zone.clone())
            && at.timestamp() > after
        {
            return at.timestamp();
        }
        date = date.tomorrow().unwrap_or(date);
    }
    after
}

/// The period a run at `run_at` reports on: the local day before it (daily) or the seven days
/// before it (weekly), midnight to midnight in `zone`.
pub fn period_for(cadence: Cadence, zone: &TimeZone, run_at: Timestamp) -> (Timestamp, Timestamp) {
    let today = run_at.to_zoned(zone.clone()).date();
    let days = match cadence {
        Cadence::Daily => 1,
        Cadence::Weekly => 7,
    };
    let start = today.checked_sub(jiff::Span::new().days(days)).unwrap_or(today);
    let midnight = |date: Date| date.to_zoned(zone.clone()).map(|zoned| zoned.timestamp()).unwrap_or(run_at);
    (midnight(start), midnight(today))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(cadence: Cadence, hour: u8, weekday: Option<Weekday>) -> ScheduleSpec {
        ScheduleSpec {
            kind: ExportKind::Summary,
            query: String::new(),
            group_by: None,
            cadence,
            hour,
            weekday,
            recipients: vec!["lead@example.com".to_owned()],
            format: ExportFormat::Csv,
            hours: None,
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("instant")
    }

    #[test]
    fn a_daily_schedule_runs_at_its_hour_in_the_accounts_zone() {
        let berlin = TimeZone::get("Europe/Berlin").expect("zone");
        let daily = spec(Cadence::Daily, 7, None);
        // 06:30 in Berlin (UTC+1): today at 07:00.
        assert_eq!(next_run(&daily, &berlin, at("2026-12-04T05:30:00Z")), at("2026-12-04T06:00:00Z"));
        // At 07:00 exactly: tomorrow (strictly after).
        assert_eq!(next_run(&daily, &berlin, at("2026-12-04T06:00:00Z")), at("2026-12-05T06:00:00Z"));
        // Across the spring change, 07:00 is UTC+2.
        assert_eq!(next_run(&daily, &berlin, at("2027-03-28T00:00:00Z")), at("2027-03-28T05:00:00Z"));
    }

    #[test]
    fn a_weekly_schedule_runs_on_its_weekday() {
        let weekly = spec(Cadence::Weekly, 9, Some(Weekday::Mon));
        // Friday 4 December 2026: Monday the 7th.
        assert_eq!(next_run(&weekly, &TimeZone::UTC, at("2026-12-04T12:00:00Z")), at("2026-12-07T09:00:00Z"));
        // Monday after 09:00: the Monday after.
        assert_eq!(next_run(&weekly, &TimeZone::UTC, at("2026-12-07T09:00:01Z")), at("2026-12-14T09:00:00Z"));
    }

    #[test]
    fn a_run_reports_on_the_day_or_the_week_before_it() {
        let run = at("2026-12-07T09:00:00Z");
        assert_eq!(
            period_for(Cadence::Daily, &TimeZone::UTC, run),
            (at("2026-12-06T00:00:00Z"), at("2026-12-07T00:00:00Z"))
        );
        assert_eq!(
            period_for(Cadence::Weekly, &TimeZone::UTC, run),
            (at("2026-11-30T00:00:00Z"), at("2026-12-07T00:00:00Z"))
        );
    }

    #[test]
    fn specifications_are_validated_field_by_field() {
        let field = |spec: ScheduleSpec| spec.validate().err().map(|error| error.field);
        assert_eq!(field(spec(Cadence::Daily, 7, None)), None);
        assert_eq!(field(spec(Cadence::Daily, 24, None)), Some("hour"));
        assert_eq!(field(spec(Cadence::Weekly, 7, None)), Some("weekday"));
        assert_eq!(field(spec(Cadence::Daily, 7, Some(Weekday::Mon))), Some("weekday"));
        let mut nobody = spec(Cadence::Daily, 7, None);
        nobody.recipients.clear();
        assert_eq!(field(nobody), Some("recipients"));
        let mut wrong = spec(Cadence::Daily, 7, None);
        wrong.recipients = vec!["not an address".to_owned()];
        assert_eq!(field(wrong), Some("recipients"));
        let mut grouped = spec(Cadence::Daily, 7, None);
        grouped.kind = ExportKind::Tickets;
        grouped.group_by = Some(GroupBy::Team);
        assert_eq!(field(grouped), Some("group_by"));
    }
}
