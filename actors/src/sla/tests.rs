//! The SLA arithmetic on its own: working-time calendars (nights, weekends, holidays, DST days)
//! and a ticket's clocks (start, pause/resume, re-target, warnings and breaches), each checked
//! against values worked out by hand.

use super::*;

fn berlin(local: &str) -> Timestamp {
    format!("{local}[Europe/Berlin]").parse::<jiff::Zoned>().expect("zoned time").timestamp()
}

fn utc(instant: &str) -> Timestamp {
    instant.parse().expect("timestamp")
}

fn mins(minutes: i64) -> SignedDuration {
    SignedDuration::from_mins(minutes)
}

fn hours_of(count: i64) -> SignedDuration {
    SignedDuration::from_hours(count)
}

fn period(weekday: Weekday, start: &str, end: &str) -> BusinessPeriod {
    BusinessPeriod { weekday, start: start.into(), end: end.into() }
}

/// Monday to Friday, 09:00–17:00 in Berlin; closed on `holidays`.
fn office_hours(holidays: &[&str]) -> BusinessHours {
    let weekdays = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];
    BusinessHours {
        time_zone: "Europe/Berlin".into(),
        periods: weekdays.iter().map(|weekday| period(*weekday, "09:00", "17:00")).collect(),
        holidays: holidays.iter().map(|day| day.parse().expect("date")).collect(),
    }
}

/// Open only on Sundays, all day: a Sunday's working time is the day's real length.
fn sundays() -> BusinessHours {
    BusinessHours {
        time_zone: "Europe/Berlin".into(),
        periods: vec![period(Weekday::Sun, "00:00", "24:00")],
        holidays: vec![],
    }
}

fn target(priority: Priority, first_response: Option<i64>, resolution: Option<i64>) -> SlaTarget {
    SlaTarget { priority, first_response_minutes: first_response, resolution_minutes: resolution, window_minutes: None }
}

fn policy(business_hours: Option<BusinessHours>) -> SlaPolicy {
    SlaPolicy {
        enabled: true,
        warning_percent: 80,
        targets: vec![
            target(Priority::Low, Some(480), None),
            target(Priority::Medium, Some(120), Some(960)),
            target(Priority::Urgent, Some(30), Some(240)),
        ],
        business_hours,
    }
}

/// 5 January 2026, a Monday, 10:00 UTC.
fn t0() -> Timestamp {
    utc("2026-01-05T10:00:00Z")
}

fn after(minutes: i64) -> Timestamp {
    t0().saturating_add(mins(minutes)).expect("in range")
}

fn started(priority: Priority) -> SlaState {
    SlaState::start(Some(&policy(None)), priority, t0(), false, t0()).expect("clocks")
}

fn first(state: &SlaState) -> &SlaClock {
    state.first_response.as_ref().expect("first-response clock")
}

fn resolution(state: &SlaState) -> &SlaClock {
    state.resolution.as_ref().expect("resolution clock")
}

// ---- the calendar ----

#[test]
fn open_is_inside_a_period_of_a_working_day() {
    let hours = office_hours(&["2026-01-08"]);
    assert!(hours.is_open(berlin("2026-01-07T09:00")), "the opening minute");
    assert!(hours.is_open(berlin("2026-01-07T16:59")));
    assert!(!hours.is_open(berlin("2026-01-07T17:00")), "closing is exclusive");
    assert!(!hours.is_open(berlin("2026-01-07T08:59")));
    assert!(!hours.is_open(berlin("2026-01-08T12:00")), "a holiday");
    assert!(!hours.is_open(berlin("2026-01-10T12:00")), "a Saturday");
    assert!(sundays().is_open(berlin("2026-01-11T23:59")), "until 24:00");
    assert!(!sundays().is_open(berlin("2026-01-12T00:00")));
}

#[test]
fn adding_working_time_skips_nights_weekends_and_holidays() {
    let hours = office_hours(&[]);
    // Wednesday 7 January 2026, 16:00: one hour today, one tomorrow morning.
    assert_eq!(hours.add(berlin("2026-01-07T16:00"), hours_of(2)), berlin("2026-01-08T10:00"), "over a night");
    assert_eq!(hours.add(berlin("2026-01-09T16:30"), hours_of(1)), berlin("2026-01-12T09:30"), "over a weekend");
    assert_eq!(hours.add(berlin("2026-01-10T12:00"), mins(30)), berlin("2026-01-12T09:30"), "from a Saturday");
    assert_eq!(hours.add(berlin("2026-01-06T07:00"), hours_of(1)), berlin("2026-01-06T10:00"), "before opening");
    assert_eq!(hours.add(berlin("2026-01-06T12:00"), hours_of(5)), berlin("2026-01-06T17:00"), "to closing, exactly");
    assert_eq!(hours.add(berlin("2026-01-06T12:00"), hours_of(40)), berlin("2026-01-13T12:00"), "a working week");
    assert_eq!(hours.add(berlin("2026-01-10T12:00"), SignedDuration::ZERO), berlin("2026-01-10T12:00"));
    let closed_monday = office_hours(&["2026-01-12"]);
    assert_eq!(
        closed_monday.add(berlin("2026-01-09T16:30"), hours_of(1)),
        berlin("2026-01-13T09:30"),
        "a holiday is skipped like a weekend day"
    );
}

#[test]
fn working_time_between_two_moments_counts_only_open_hours() {
    let hours = office_hours(&[]);
    assert_eq!(hours.between(berlin("2026-01-07T16:00"), berlin("2026-01-08T10:00")), mins(120));
    assert_eq!(hours.between(berlin("2026-01-09T16:30"), berlin("2026-01-12T09:30")), mins(60));
    assert_eq!(hours.between(berlin("2026-01-10T00:00"), berlin("2026-01-11T23:59")), SignedDuration::ZERO);
    assert_eq!(hours.between(berlin("2026-01-05T00:00"), berlin("2026-01-12T00:00")), hours_of(40), "a week");
    assert_eq!(hours.between(berlin("2026-01-06T12:00"), berlin("2026-01-06T11:00")), SignedDuration::ZERO);
    let closed_monday = office_hours(&["2026-01-12"]);
    assert_eq!(closed_monday.between(berlin("2026-01-09T16:00"), berlin("2026-01-13T10:00")), mins(120));
}

#[test]
fn a_dst_change_day_has_the_working_time_it_really_has() {
    // Berlin springs forward on Sunday 29 March 2026 (02:00 → 03:00) and falls back on Sunday
    // 25 October 2026 (03:00 → 02:00).
    let sunday = sundays();
    assert_eq!(sunday.between(berlin("2026-03-29T00:00"), berlin("2026-03-30T00:00")), hours_of(23));
    assert_eq!(sunday.between(berlin("2026-10-25T00:00"), berlin("2026-10-26T00:00")), hours_of(25));
    assert_eq!(sunday.between(berlin("2026-03-22T00:00"), berlin("2026-03-23T00:00")), hours_of(24), "a plain Sunday");
    assert_eq!(
        sunday.add(berlin("2026-03-28T23:00"), hours_of(23)),
        utc("2026-03-29T22:00:00Z"),
        "the whole short Sunday: midnight on Monday, summer time"
    );
    assert_eq!(
        sunday.add(berlin("2026-10-25T00:00"), hours_of(24)),
        utc("2026-10-25T22:00:00Z"),
        "an hour before its end"
    );
    // Office hours over the weekend of the change: the offset moves from +01:00 to +02:00.
    let office = office_hours(&[]);
    assert_eq!(office.add(berlin("2026-03-27T16:00"), hours_of(2)), utc("2026-03-30T08:00:00Z"));
    assert_eq!(office.between(utc("2026-03-27T15:00:00Z"), utc("2026-03-30T08:00:00Z")), hours_of(2));
}

// ---- a ticket's clocks ----

#[test]
fn starting_sets_due_and_warning_times_from_the_priority_targets() {
    let state = started(Priority::Medium);
    assert_eq!((first(&state).due_at, first(&state).warn_at), (after(120), after(96)));
    assert_eq!((resolution(&state).due_at, resolution(&state).warn_at), (after(960), after(768)));
    assert_eq!(state.next_moment(), Some(after(96)));
    assert_eq!(state.due_at(), Some(after(120)));
    assert_eq!(state.warn_at(), Some(after(96)));
    let replied = SlaState::start(Some(&policy(None)), Priority::Medium, t0(), true, t0()).expect("clocks");
    assert_eq!(replied.first_response, None, "the first reply was already sent");
    assert_eq!(resolution(&replied).due_at, after(960));
    assert_eq!(SlaState::start(Some(&policy(None)), Priority::High, t0(), false, t0()), None, "no target for high");
    let off = SlaPolicy { enabled: false, ..policy(None) };
    assert_eq!(SlaState::start(Some(&off), Priority::Medium, t0(), false, t0()), None);
    assert_eq!(SlaState::start(None, Priority::Medium, t0(), false, t0()), None);
}

#[test]
fn the_warning_threshold_is_that_share_of_the_target() {
    let at = |percent: i64, minutes: i64| {
        let policy = SlaPolicy {
            warning_percent: percent,
            targets: vec![target(Priority::Medium, Some(minutes), None)],
            ..policy(None)
        };
        let state = SlaState::start(Some(&policy), Priority::Medium, t0(), false, t0()).expect("clocks");
        (first(&state).warn_at, first(&state).due_at)
    };
    assert_eq!(at(80, 60), (after(48), after(60)));
    assert_eq!(at(50, 90), (after(45), after(90)));
    assert_eq!(at(75, 10), (t0().saturating_add(SignedDuration::from_secs(450)).expect("in range"), after(10)));
    assert_eq!(at(99, 100), (t0().saturating_add(SignedDuration::from_secs(5_940)).expect("in range"), after(100)));
    // Under business hours the share is of working time: 96 of 120 minutes from Friday 16:00.
    let policy =
        SlaPolicy { targets: vec![target(Priority::Medium, Some(120), None)], ..policy(Some(office_hours(&[]))) };
    let state =
        SlaState::start(Some(&policy), Priority::Medium, berlin("2026-01-09T16:00"), false, t0()).expect("clocks");
    assert_eq!(first(&state).warn_at, berlin("2026-01-12T09:36"));
    assert_eq!(first(&state).due_at, berlin("2026-01-12T10:00"));
}

#[test]
fn pausing_stops_the_clocks_and_resuming_moves_due_times_by_the_time_stood() {
    let mut state = started(Priority::Medium);
    state.pause(after(10));
    state.pause(after(20));
    assert_eq!(state.paused_at, Some(after(10)), "a second pause keeps the first");
    assert_eq!((state.next_moment(), state.due_at(), state.warn_at()), (None, None, None), "nothing runs");
    assert_eq!(state.alerts(after(10_000)), vec![], "a paused clock never alerts");
    state.resume(after(40));
    assert_eq!((state.paused_at, state.paused_ms), (None, 30 * 60 * 1000));
    assert_eq!((first(&state).due_at, first(&state).warn_at), (after(150), after(126)));
    assert_eq!((resolution(&state).due_at, resolution(&state).warn_at), (after(990), after(798)));
    state.resume(after(50));
    assert_eq!(first(&state).due_at, after(150), "resuming running clocks changes nothing");
    // A second pause adds up with the first.
    state.pause(after(60));
    state.resume(after(75));
    assert_eq!(state.paused_ms, 45 * 60 * 1000);
    assert_eq!(first(&state).due_at, after(165));
    // A met clock keeps its times.
    state.first_response.as_mut().expect("clock").met_at = Some(after(80));
    state.pause(after(90));
    state.resume(after(100));
    assert_eq!(first(&state).due_at, after(165));
    assert_eq!(resolution(&state).due_at, after(1_015));
}

#[test]
fn under_business_hours_only_working_time_stood_moves_the_due_times() {
    let business = policy(Some(office_hours(&[])));
    let policy = SlaPolicy { targets: vec![target(Priority::Medium, Some(60), None)], ..business };
    let monday = berlin("2026-01-05T09:00");
    let mut state = SlaState::start(Some(&policy), Priority::Medium, monday, false, monday).expect("clocks");
    assert_eq!(first(&state).due_at, berlin("2026-01-05T10:00"));
    // Paused at 09:30 on Monday until 10:00 on Tuesday: 7 h 30 on Monday and 1 h on Tuesday.
    state.pause(berlin("2026-01-05T09:30"));
    state.resume(berlin("2026-01-06T10:00"));
    assert_eq!(state.paused_ms, (8 * 60 + 30) * 60 * 1000);
    assert_eq!(first(&state).due_at, berlin("2026-01-06T10:30"), "the 30 minutes left run from Tuesday 10:00");
    assert_eq!(first(&state).warn_at, berlin("2026-01-06T10:18"));
}

#[test]
fn a_priority_change_retargets_from_the_same_start() {
    let mut state = started(Priority::Medium);
    assert_eq!(state.alerts(after(100)), vec![SlaAlert::Warning(SlaMetric::FirstResponse, after(120))]);
    state.first_response.as_mut().expect("clock").warned_at = Some(after(100));

    // Lower: later times, and the warning not due under the new target is taken back.
    let low = state.retarget(Some(&policy(None)), Priority::Low, false, after(100)).expect("clocks");
    assert_eq!(low.priority, Priority::Low);
    assert_eq!((first(&low).due_at, first(&low).warn_at, first(&low).warned_at), (after(480), after(384), None));
    assert_eq!(low.resolution, None, "no resolution target for low");

    // Higher: already overdue, the breach comes next; the warning already given stays.
    let urgent = state.retarget(Some(&policy(None)), Priority::Urgent, false, after(100)).expect("clocks");
    assert_eq!((first(&urgent).due_at, first(&urgent).warn_at), (after(30), after(24)));
    assert_eq!(first(&urgent).warned_at, Some(after(100)));
    assert_eq!(resolution(&urgent).due_at, after(240));
    assert_eq!(urgent.alerts(after(100)), vec![SlaAlert::Breached(SlaMetric::FirstResponse, after(30))]);

    // The time the clocks stood still counts under the new target too.
    let mut paused = started(Priority::Medium);
    paused.pause(after(10));
    paused.resume(after(40));
    let urgent = paused.retarget(Some(&policy(None)), Priority::Urgent, false, after(50)).expect("clocks");
    assert_eq!(first(&urgent).due_at, after(60));

    // A met clock keeps its target and times.
    state.first_response.as_mut().expect("clock").met_at = Some(after(110));
    let urgent = state.retarget(Some(&policy(None)), Priority::Urgent, false, after(120)).expect("clocks");
    assert_eq!((first(&urgent).target_minutes, first(&urgent).due_at), (120, after(120)));
    let off = SlaPolicy { enabled: false, ..policy(None) };
    let kept = state.retarget(Some(&off), Priority::Urgent, false, after(120)).expect("the met clock stays");
    assert_eq!((kept.first_response.is_some(), kept.resolution), (true, None));
    assert_eq!(started(Priority::Medium).retarget(Some(&off), Priority::Urgent, false, after(1)), None);
}

#[test]
fn each_alert_comes_due_once() {
    let mut state = started(Priority::Urgent);
    // First response: warns at 24 min, due at 30; resolution: warns at 192, due at 240.
    assert_eq!(state.alerts(after(23)), vec![]);
    assert_eq!(state.next_moment(), Some(after(24)));
    assert_eq!(state.alerts(after(24)), vec![SlaAlert::Warning(SlaMetric::FirstResponse, after(30))]);
    state.first_response.as_mut().expect("clock").warned_at = Some(after(24));
    assert_eq!(state.alerts(after(29)), vec![], "the warning is recorded");
    assert_eq!(state.next_moment(), Some(after(30)));
    assert_eq!(state.alerts(after(30)), vec![SlaAlert::Breached(SlaMetric::FirstResponse, after(30))]);
    state.first_response.as_mut().expect("clock").breached_at = Some(after(30));
    assert_eq!(state.alerts(after(100)), vec![], "the breach is recorded");
    assert_eq!(state.next_moment(), Some(after(192)), "only resolution is left");
    // Long after both moments (a node was down): only the breach, never a late warning.
    assert_eq!(state.alerts(after(300)), vec![SlaAlert::Breached(SlaMetric::Resolution, after(240))]);
    state.resolution.as_mut().expect("clock").breached_at = Some(after(300));
    assert_eq!((state.alerts(after(1_000)), state.next_moment()), (vec![], None));
    // A met clock never alerts.
    let mut met = started(Priority::Urgent);
    met.first_response.as_mut().expect("clock").met_at = Some(after(5));
    assert_eq!(met.alerts(after(31)), vec![]);
    assert_eq!(met.alerts(after(200)), vec![SlaAlert::Warning(SlaMetric::Resolution, after(240))]);
}
