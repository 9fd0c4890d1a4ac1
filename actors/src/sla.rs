//! Service-level agreements: the account's [`SlaPolicy`] (targets per priority) and a ticket's
//! [`SlaState`] (its first-response and resolution clocks). Pure data and arithmetic: the
//! TicketActor decides with these and folds its events through them.
//!
//! A clock runs from the ticket's creation and counts calendar time, or only working time when
//! the policy has [`BusinessHours`] (weekly periods in a time zone, minus holidays). While the
//! ticket is `pending` (or resolved) it stands still, and when it runs again its due times move on
//! by the (working) time it stood.
//!
//! The window clock is different: it measures the customer's 24-hour WhatsApp window, which
//! closes in calendar time whatever the desk's hours. It starts when the customer writes on
//! WhatsApp, moves later when they write again before a reply (the window renews), is met by
//! the reply, and is due `window_minutes` before the window closes.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::domain::Priority;

/// Longest target accepted, in minutes (one year).
pub const MAX_TARGET_MINUTES: i64 = 525_600;

/// The customer's reply window in minutes (WhatsApp: 24 hours after their last message).
const WINDOW_MINUTES: i64 = crate::whatsapp::window::WINDOW.as_secs() / 60;

/// The account's SLA policy: how long the desk may take, per priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaPolicy {
    /// Off: new tickets (and re-prioritised ones) get no clocks; running clocks keep going.
    pub enabled: bool,
    /// Warn when this share (1–99 %) of a target has elapsed.
    pub warning_percent: i64,
    /// At most one entry per priority; a priority without an entry has no SLA.
    pub targets: Vec<SlaTarget>,
    /// Count only working time; `null`: calendar time, around the clock.
    #[serde(default)]
    pub business_hours: Option<BusinessHours>,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        SlaPolicy { enabled: false, warning_percent: 80, targets: Vec::new(), business_hours: None }
    }
}

crate::domain::string_enum!(
    /// A day of the week, for business hours.
    Weekday { Mon => "mon", Tue => "tue", Wed => "wed", Thu => "thu", Fri => "fri", Sat => "sat", Sun => "sun" }
);

impl Weekday {
    fn of(date: Date) -> Weekday {
        Weekday::ALL[date.weekday().to_monday_zero_offset() as usize % 7]
    }
}

/// When the desk works: weekly periods in a time zone, minus holidays. SLA clocks count only
/// inside them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone, e.g. `Europe/Lisbon`.
    pub time_zone: String,
    /// Working periods; a weekday without one is closed.
    pub periods: Vec<BusinessPeriod>,
    /// Local dates the desk is closed (`YYYY-MM-DD`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub holidays: Vec<Date>,
}

/// One working period of a weekday, in local time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessPeriod {
    pub weekday: Weekday,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM` after `start`; `24:00` is the end of the day.
    pub end: String,
}

/// How far ahead (in days) working time is looked for before giving up on a calendar.
const MAX_CALENDAR_DAYS: usize = 3_660;

/// `HH:MM` → minutes since midnight (`24:00` is 1440).
fn minute_of_day(text: &str) -> Option<i64> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
    (minutes < 60 && (hours < 24 || (hours == 24 && minutes == 0))).then_some(hours * 60 + minutes)
}

impl BusinessHours {
    fn zone(&self) -> Option<TimeZone> {
        TimeZone::get(&self.time_zone).ok()
    }

    /// The working intervals of one local date, in order.
    fn intervals(&self, zone: &TimeZone, date: Date) -> Vec<(Timestamp, Timestamp)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let weekday = Weekday::of(date);
        let at = |minute: i64| -> Option<Timestamp> {
            let (day, minute) = if minute == 1440 { (date.tomorrow().ok()?, 0) } else { (date, minute) };
            let local = day.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
            zone.to_zoned(local).ok().map(|zoned| zoned.timestamp())
        };
        let mut intervals: Vec<(Timestamp, Timestamp)> = self
            .periods
            .iter()
            .filter(|period| period.weekday == weekday)
            .filter_map(|period| Some((at(minute_of_day(&period.start)?)?, at(minute_of_day(&period.end)?)?)))
            .filter(|(start, end)| start < end)
            .collect();
        intervals.sort();
        intervals
    }

    /// Whether `at` falls inside working time (an unknown zone counts as always open).
    pub fn is_open(&self, at: Timestamp) -> bool {
        let Some(zone) = self.zone() else { return true };
        let date = at.to_zoned(zone.clone()).date();
        self.intervals(&zone, date).iter().any(|(start, end)| *start <= at && at < *end)
    }

    /// `from` plus `amount` of working time: the moment a target of `amount` comes due.
    pub fn add(&self, from: Timestamp, amount: SignedDuration) -> Timestamp {
        let calendar = from.saturating_add(amount).unwrap_or(from);
        let Some(zone) = self.zone() else { return calendar };
        if amount <= SignedDuration::ZERO {
            return from;
        }
        let mut remaining = amount;
        let mut date = from.to_zoned(zone.clone()).date();
        for _ in 0..MAX_CALENDAR_DAYS {
            for (start, end) in self.intervals(&zone, date) {
                let start = start.max(from);
                if start >= end {
                    continue;
                }
                let available = start.duration_until(end);
                if remaining <= available {
                    return start.saturating_add(remaining).unwrap_or(end);
                }
                remaining -= available;
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        // No working time in ten years (every day a holiday): count calendar time instead.
        calendar
    }

    /// The working time between `from` and `to` (zero if `to` is not later).
    pub fn between(&self, from: Timestamp, to: Timestamp) -> SignedDuration {
        if to <= from {
            return SignedDuration::ZERO;
        }
        let Some(zone) = self.zone() else { return from.duration_until(to) };
        let mut total = SignedDuration::ZERO;
        let mut date = from.to_zoned(zone.clone()).date();
        for _ in 0..MAX_CALENDAR_DAYS {
            for (start, end) in self.intervals(&zone, date) {
                let (start, end) = (start.max(from), end.min(to));
                if start < end {
                    total += start.duration_until(end);
                }
            }
            let Ok(next) = date.tomorrow() else { break };
            let next_starts = zone.to_zoned(next.at(0, 0, 0, 0)).map(|zoned| zoned.timestamp());
            if next_starts.map_or(true, |starts| starts >= to) {
                break;
            }
            date = next;
        }
        total
    }

    fn validate(&self) -> Result<(), SlaPolicyError> {
        let fail = |field: String, message: &str| Err(SlaPolicyError { field, message: message.to_owned() });
        if self.zone().is_none() {
            return fail(
                "business_hours.time_zone".to_owned(),
                "unknown time zone; use an IANA name such as Europe/Lisbon or America/Sao_Paulo",
            );
        }
        if self.periods.is_empty() {
            return fail("business_hours.periods".to_owned(), "give at least one working period");
        }
        let mut spans: Vec<(Weekday, i64, i64)> = Vec::new();
        for (index, period) in self.periods.iter().enumerate() {
            let field = |name: &str| format!("business_hours.periods[{index}].{name}");
            let Some(start) = minute_of_day(&period.start).filter(|minute| *minute < 1440) else {
                return fail(field("start"), "must be a time as HH:MM, e.g. 09:00");
            };
            let Some(end) = minute_of_day(&period.end) else {
                return fail(field("end"), "must be a time as HH:MM (24:00 for midnight), e.g. 17:30");
            };
            if end <= start {
                return fail(field("end"), "must be after start");
            }
            if spans.iter().any(|(day, from, to)| *day == period.weekday && start < *to && *from < end) {
                return fail(field("start"), "overlaps another period on the same day");
            }
            spans.push((period.weekday, start, end));
        }
        Ok(())
    }
}

/// The targets for one priority, in minutes; `null` means no target for that metric.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    pub priority: Priority,
    /// Minutes until the first public reply.
    #[serde(default)]
    pub first_response_minutes: Option<i64>,
    /// Minutes until the ticket is resolved.
    #[serde(default)]
    pub resolution_minutes: Option<i64>,
    /// Reply at least this many minutes before the customer's 24-hour WhatsApp window closes.
    #[serde(default)]
    pub window_minutes: Option<i64>,
}

/// A policy that breaks a rule, with the field at fault (`targets[2].resolution_minutes`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SlaPolicyError {
    pub field: String,
    pub message: String,
}

impl SlaPolicy {
    pub fn target(&self, priority: Priority) -> Option<&SlaTarget> {
        self.targets.iter().find(|target| target.priority == priority)
    }

    /// Checks every rule and names the first field that breaks one.
    pub fn validate(&self) -> Result<(), SlaPolicyError> {
        let fail = |field: String, message: &str| Err(SlaPolicyError { field, message: message.to_owned() });
        if !(1..=99).contains(&self.warning_percent) {
            return fail("warning_percent".to_owned(), "must be between 1 and 99 (percent of the target elapsed)");
        }
        for (index, target) in self.targets.iter().enumerate() {
            if self.targets[..index].iter().any(|earlier| earlier.priority == target.priority) {
                return fail(format!("targets[{index}].priority"), "each priority may appear only once");
            }
            for (name, minutes) in [
                ("first_response_minutes", target.first_response_minutes),
                ("resolution_minutes", target.resolution_minutes),
            ] {
                if minutes.is_some_and(|minutes| !(1..=MAX_TARGET_MINUTES).contains(&minutes)) {
                    return fail(
                        format!("targets[{index}].{name}"),
                        &format!("must be between 1 and {MAX_TARGET_MINUTES} minutes, or null for no target"),
                    );
                }
            }
            if target.window_minutes.is_some_and(|minutes| !(1..WINDOW_MINUTES).contains(&minutes)) {
                return fail(
                    format!("targets[{index}].window_minutes"),
                    &format!("must be between 1 and {} minutes before the window closes, or null", WINDOW_MINUTES - 1),
                );
            }
            if let (Some(first), Some(resolution)) = (target.first_response_minutes, target.resolution_minutes)
                && resolution < first
            {
                return fail(
                    format!("targets[{index}].resolution_minutes"),
                    "must not be shorter than first_response_minutes",
                );
            }
        }
        if let Some(hours) = &self.business_hours {
            hours.validate()?;
        }
        let any_target = self.targets.iter().any(|target| {
            target.first_response_minutes.is_some()
                || target.resolution_minutes.is_some()
                || target.window_minutes.is_some()
        });
        if self.enabled && !any_target {
            return fail("targets".to_owned(), "an enabled policy needs at least one target");
        }
        Ok(())
    }
}

crate::domain::string_enum!(
    /// What an SLA clock measures.
    SlaMetric { FirstResponse => "first_response", Resolution => "resolution", Window => "window" }
);

/// One clock: when it is due, when it warns, and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaClock {
    pub target_minutes: i64,
    /// Moves later by the time the clock stood still.
    pub due_at: Timestamp,
    pub warn_at: Timestamp,
    /// When the target was met (first reply sent, ticket resolved); `null` while it runs.
    pub met_at: Option<Timestamp>,
    pub warned_at: Option<Timestamp>,
    /// When the clock passed its due time unmet. A breach stays on record even if the clock is
    /// met later or re-targeted.
    pub breached_at: Option<Timestamp>,
}

impl SlaClock {
    fn new(
        hours: Option<&BusinessHours>,
        start: Timestamp,
        target_minutes: i64,
        warning_percent: i64,
        paused: SignedDuration,
    ) -> SlaClock {
        let (due_at, warn_at) = due_and_warn(hours, start, target_minutes, warning_percent, paused);
        SlaClock { target_minutes, due_at, warn_at, met_at: None, warned_at: None, breached_at: None }
    }

    /// Unmet: still counting (unless the whole state is paused).
    pub fn open(&self) -> bool {
        self.met_at.is_none()
    }

    /// The next moment this clock needs attention: its warning, then its due time.
    fn next_moment(&self) -> Option<Timestamp> {
        match (self.open(), self.warned_at, self.breached_at) {
            (false, _, _) | (true, _, Some(_)) => None,
            (true, None, None) => Some(self.warn_at),
            (true, Some(_), None) => Some(self.due_at),
        }
    }
}

/// When a target of `target_minutes` (counted from `start`, plus the time the clocks stood) comes
/// due, and when it warns.
fn due_and_warn(
    hours: Option<&BusinessHours>,
    start: Timestamp,
    target_minutes: i64,
    warning_percent: i64,
    paused: SignedDuration,
) -> (Timestamp, Timestamp) {
    let target = SignedDuration::from_mins(target_minutes);
    let warn_after = SignedDuration::from_secs(target_minutes * 60 * warning_percent / 100);
    let add = |amount: SignedDuration| match hours {
        Some(hours) => hours.add(start, amount.saturating_add(paused)),
        None => start.saturating_add(amount.saturating_add(paused)).unwrap_or(start),
    };
    (add(target), add(warn_after))
}

/// A ticket's SLA: its clocks under the targets of its priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaState {
    /// The priority whose targets the clocks use.
    pub priority: Priority,
    /// When the clocks started (the ticket's creation).
    pub started_at: Timestamp,
    pub warning_percent: i64,
    pub first_response: Option<SlaClock>,
    pub resolution: Option<SlaClock>,
    /// Minutes before the WhatsApp window closes by which a reply is due; `null`: no window target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<i64>,
    /// The window clock of the customer's latest unanswered stretch on WhatsApp (or the last
    /// one, met or breached). Its `target_minutes` count from their message to the due time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<SlaClock>,
    /// When the clocks stopped (the ticket went pending or was resolved); `null` while they run.
    pub paused_at: Option<Timestamp>,
    /// Time stood still so far, in milliseconds (already added to the due times); working time
    /// only under business hours.
    pub paused_ms: i64,
    /// The working hours the clocks count in; `null`: calendar time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
}

/// A warning or a breach that has come due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlaAlert {
    Warning(SlaMetric, Timestamp),
    Breached(SlaMetric, Timestamp),
}

impl SlaState {
    /// Clocks for a ticket of `priority` created at `started_at`, under `policy`; `None` when the
    /// policy is off or has no target for that priority. `first_response_done`: the first reply
    /// was already sent, so only resolution is measured.
    pub fn start(
        policy: Option<&SlaPolicy>,
        priority: Priority,
        started_at: Timestamp,
        first_response_done: bool,
        now: Timestamp,
    ) -> Option<SlaState> {
        let empty = SlaState {
            priority,
            started_at,
            warning_percent: policy.map_or(80, |policy| policy.warning_percent),
            first_response: None,
            resolution: None,
            window_minutes: None,
            window: None,
            paused_at: None,
            paused_ms: 0,
            business_hours: None,
        };
        empty.retarget(policy, priority, first_response_done, now)
    }

    /// The clocks under the targets of a new `priority`, counted from the same start and pauses.
    /// Met clocks and recorded breaches stay as they are; a clock without a target any more
    /// goes; a warning not yet due under the new target is taken back. `first_response_done`
    /// keeps a first-response clock from starting after the first reply was sent.
    pub fn retarget(
        &self,
        policy: Option<&SlaPolicy>,
        priority: Priority,
        first_response_done: bool,
        now: Timestamp,
    ) -> Option<SlaState> {
        let target = policy.filter(|policy| policy.enabled).and_then(|policy| policy.target(priority));
        let warning_percent = policy.map_or(self.warning_percent, |policy| policy.warning_percent);
        let business_hours = policy.map_or(self.business_hours.clone(), |policy| policy.business_hours.clone());
        let hours = business_hours.as_ref();
        let paused = SignedDuration::from_millis(self.paused_ms);
        let clock = |current: &Option<SlaClock>, minutes: Option<i64>, done: bool| -> Option<SlaClock> {
            match (current, minutes) {
                (Some(clock), _) if !clock.open() => Some(clock.clone()),
                (_, None) => None,
                (None, Some(_)) if done => None,
                (None, Some(minutes)) => Some(SlaClock::new(hours, self.started_at, minutes, warning_percent, paused)),
                (Some(clock), Some(minutes)) => {
                    let (due_at, warn_at) = due_and_warn(hours, self.started_at, minutes, warning_percent, paused);
                    let warned_at = clock.warned_at.filter(|_| warn_at <= now || clock.breached_at.is_some());
                    Some(SlaClock { target_minutes: minutes, due_at, warn_at, warned_at, ..clock.clone() })
                }
            }
        };
        let next = SlaState {
            priority,
            warning_percent,
            first_response: clock(
                &self.first_response,
                target.and_then(|target| target.first_response_minutes),
                first_response_done,
            ),
            resolution: clock(&self.resolution, target.and_then(|target| target.resolution_minutes), false),
            window_minutes: target.and_then(|target| target.window_minutes),
            window: self.window.clone(),
            business_hours: business_hours.clone(),
            ..self.clone()
        };
        let mut next = next;
        next.retarget_window(now);
        (next.first_response.is_some() || next.resolution.is_some() || next.window_minutes.is_some()).then_some(next)
    }

    /// The window clock under the current `window_minutes`: a met or breached one stays on
    /// record, a running one is due again from the same customer message, none without a target.
    fn retarget_window(&mut self, now: Timestamp) {
        let Some(clock) = self.window.clone().filter(|clock| clock.open() && clock.breached_at.is_none()) else {
            return;
        };
        let Some(minutes) = self.window_minutes else {
            self.window = None;
            return;
        };
        let since = clock.due_at.checked_sub(SignedDuration::from_mins(clock.target_minutes)).unwrap_or(clock.due_at);
        let mut next = SlaClock::new(None, since, WINDOW_MINUTES - minutes, self.warning_percent, SignedDuration::ZERO);
        next.warned_at = clock.warned_at.filter(|_| next.warn_at <= now);
        self.window = Some(next);
    }

    /// The customer wrote on WhatsApp at `at`: the window renews, and so does its clock (due
    /// later, any warning taken back). A breach of the stretch before stays in the event log.
    pub fn window_opened(&mut self, at: Timestamp) {
        let Some(minutes) = self.window_minutes else { return };
        let fresh = SlaClock::new(None, at, WINDOW_MINUTES - minutes, self.warning_percent, SignedDuration::ZERO);
        self.window = Some(fresh);
    }

    /// A reply went to the customer at `at`: the window clock is met.
    pub fn window_replied(&mut self, at: Timestamp) {
        if let Some(clock) = self.window.as_mut().filter(|clock| clock.open()) {
            clock.met_at = Some(at);
        }
    }

    pub fn clock(&self, metric: SlaMetric) -> Option<&SlaClock> {
        match metric {
            SlaMetric::FirstResponse => self.first_response.as_ref(),
            SlaMetric::Resolution => self.resolution.as_ref(),
            SlaMetric::Window => self.window.as_ref(),
        }
    }

    pub fn clock_mut(&mut self, metric: SlaMetric) -> Option<&mut SlaClock> {
        match metric {
            SlaMetric::FirstResponse => self.first_response.as_mut(),
            SlaMetric::Resolution => self.resolution.as_mut(),
            SlaMetric::Window => self.window.as_mut(),
        }
    }

    /// Unmet clocks that are counting now (none while paused).
    fn running(&self) -> impl Iterator<Item = (SlaMetric, &SlaClock)> {
        let paused = self.paused_at.is_some();
        SlaMetric::ALL
            .iter()
            .copied()
            .filter_map(|metric| self.clock(metric).map(|clock| (metric, clock)))
            .filter(move |(_, clock)| !paused && clock.open())
    }

    /// When the ticket's SLA next needs attention (a warning or a breach), if ever.
    pub fn next_moment(&self) -> Option<Timestamp> {
        self.running().filter_map(|(_, clock)| clock.next_moment()).min()
    }

    /// The unmet clock due soonest, paused or not: what a list row shows ("due in 12 min",
    /// "paused").
    pub fn pressing(&self) -> Option<(SlaMetric, &SlaClock)> {
        SlaMetric::ALL
            .iter()
            .copied()
            .filter_map(|metric| self.clock(metric).map(|clock| (metric, clock)))
            .filter(|(_, clock)| clock.open())
            .min_by_key(|(_, clock)| clock.due_at)
    }

    /// The earliest due time of a running clock: what "sort by SLA due" orders by.
    pub fn due_at(&self) -> Option<Timestamp> {
        self.running().map(|(_, clock)| clock.due_at).min()
    }

    /// The earliest warning time of a running clock.
    pub fn warn_at(&self) -> Option<Timestamp> {
        self.running().map(|(_, clock)| clock.warn_at).min()
    }

    /// Warnings and breaches due at `now` and not yet recorded. A clock already past its due
    /// time gets only its breach, never a late warning.
    pub fn alerts(&self, now: Timestamp) -> Vec<SlaAlert> {
        self.running()
            .filter_map(|(metric, clock)| match (clock.warned_at, clock.breached_at) {
                (_, Some(_)) => None,
                _ if clock.due_at <= now => Some(SlaAlert::Breached(metric, clock.due_at)),
                (None, None) if clock.warn_at <= now => Some(SlaAlert::Warning(metric, clock.due_at)),
                _ => None,
            })
            .collect()
    }

    /// The clocks stop (pending, or resolved).
    pub fn pause(&mut self, at: Timestamp) {
        self.paused_at.get_or_insert(at);
    }

    /// The clocks run again; unmet ones are due later by the (working) time they stood.
    pub fn resume(&mut self, at: Timestamp) {
        if let Some(since) = self.paused_at.take() {
            let stood = match &self.business_hours {
                Some(hours) => hours.between(since, at),
                None => at.duration_since(since).max(SignedDuration::ZERO),
            };
            self.paused_ms += stood.as_millis() as i64;
            let paused = SignedDuration::from_millis(self.paused_ms);
            let hours = self.business_hours.as_ref();
            for clock in [self.first_response.as_mut(), self.resolution.as_mut()].into_iter().flatten() {
                if clock.open() {
                    (clock.due_at, clock.warn_at) =
                        due_and_warn(hours, self.started_at, clock.target_minutes, self.warning_percent, paused);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
