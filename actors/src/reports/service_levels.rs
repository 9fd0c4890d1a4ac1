//! SLA compliance recomputed per target (`docs/metrics.md` §4): the ticket's clocks replayed
//! from the log (the `sla_changed` events carry them; pending and resolving stop them, running
//! again moves them on, as the engine does), but met only by a reply that *counted* (reached the
//! channel), never by one merely written. Each clock that came due or was met gives one measure:
//! `sla_met` at the instant it was met on time, or `sla_missed` at its due time (which may still
//! be ahead: a report whose period has not reached it does not count it, and a reply counted
//! before then replaces it with `sla_met` when the ticket is projected again). A customer's
//! WhatsApp stretch left unanswered until the window closed also gives `window_expired`.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use super::measures::{Measures, Metric, Timeline};
use super::reaches_the_channel_later;
use crate::domain::*;
use crate::whatsapp::window::WINDOW;

/// The report's view of the customer's current WhatsApp stretch under the window target.
struct WindowClock {
    /// The customer's message the window (and its clock) runs from.
    since: Timestamp,
    met: bool,
}

/// What the replay has found so far.
struct Replay<'m, 'a> {
    measures: &'m mut Measures<'a>,
    line: &'m Timeline,
}

impl Replay<'_, '_> {
    fn outcome(&mut self, target: SlaMetric, met_on_time: Option<Timestamp>, due: Timestamp) {
        let (metric, at) = match met_on_time {
            Some(at) => (Metric::SlaMet, at),
            None => (Metric::SlaMissed, due),
        };
        self.measures.push(metric, at, None, self.line.at(at)).detail = Some(target.as_str().to_owned());
    }
}

fn window_due(since: Timestamp, window_minutes: i64) -> Timestamp {
    let before_close = SignedDuration::from_mins(window_minutes);
    since.saturating_add(WINDOW.saturating_sub(before_close)).unwrap_or(since)
}

/// The `sla_met` / `sla_missed` / `window_expired` measures of one ticket's log.
pub(super) fn sla_measures(
    events: &[TicketEvent],
    is_staff: &dyn Fn(UserId) -> bool,
    line: &Timeline,
    measures: &mut Measures<'_>,
) {
    let mut replay = Replay { measures, line };
    let mut sla: Option<SlaState> = None;
    let mut category = StatusCategory::New;
    let mut first_response_done = false;
    let mut window: Option<WindowClock> = None;
    // Window expiry, whatever the policy: the latest customer WhatsApp message and whether a
    // counted reply answered it.
    let mut last_whatsapp: Option<(Timestamp, bool)> = None;
    let mut outstanding: HashSet<String> = HashSet::new();
    for event in events {
        let at = event.at;
        let mut counted = false;
        match &event.kind {
            EventKind::SlaChanged { sla: next } => {
                sla = next.as_deref().cloned();
                if let Some(sla) = sla.as_mut().filter(|_| category == StatusCategory::Pending || category.is_done()) {
                    sla.pause(at);
                }
                // The first window clock arrives with the clocks (the customer's message came
                // first, in the same commit).
                if window.is_none()
                    && let Some(clock) = sla.as_ref().and_then(|sla| sla.window.as_ref())
                {
                    let since = clock
                        .due_at
                        .checked_sub(SignedDuration::from_mins(clock.target_minutes))
                        .unwrap_or(clock.due_at);
                    window = Some(WindowClock { since, met: false });
                }
            }
            EventKind::StatusChanged { category: to, .. } => {
                let was_done = category.is_done();
                category = *to;
                if let Some(state) = sla.as_mut() {
                    if to.is_done() && !was_done {
                        if let Some(clock) = &state.resolution {
                            let due = clock.due_at;
                            replay.outcome(SlaMetric::Resolution, (at <= due).then_some(at), due);
                        }
                        state.pause(at);
                    } else if *to == StatusCategory::Pending {
                        state.pause(at);
                    } else if !to.is_done() {
                        state.resume(at);
                    }
                }
            }
            EventKind::MessageAdded { message, .. } => match (message.kind, event.actor_id) {
                (MessageKind::Customer, actor)
                    if !actor.is_some_and(is_staff) && message.channel == Channel::Whatsapp =>
                {
                    if let Some((since, false)) = last_whatsapp
                        && since.saturating_add(WINDOW).unwrap_or(since) <= at
                    {
                        let closed = since.saturating_add(WINDOW).unwrap_or(since);
                        replay.measures.push(Metric::WindowExpired, closed, None, line.at(closed));
                    }
                    last_whatsapp = Some((at, false));
                    if let Some(minutes) = sla.as_ref().and_then(|sla| sla.window_minutes) {
                        if let Some(clock) = window.as_ref().filter(|clock| !clock.met)
                            && window_due(clock.since, minutes) <= at
                        {
                            replay.outcome(SlaMetric::Window, None, window_due(clock.since, minutes));
                        }
                        // Every customer message renews the window and its clock (as the
                        // engine's `window_opened` does): due from this message on.
                        window = Some(WindowClock { since: at, met: false });
                    }
                }
                (MessageKind::Reply, Some(_)) => {
                    if reaches_the_channel_later(message.channel) {
                        outstanding.insert(message.id.clone());
                    } else {
                        counted = true;
                    }
                }
                _ => {}
            },
            EventKind::DeliveryChanged { message_id, status, .. } => match status {
                DeliveryStatus::Sent | DeliveryStatus::Delivered | DeliveryStatus::Read | DeliveryStatus::Played => {
                    counted = outstanding.remove(message_id);
                }
                DeliveryStatus::Failed => {
                    outstanding.remove(message_id);
                }
                DeliveryStatus::Queued => {}
            },
            _ => {}
        }
        if counted {
            if let Some(clock) = sla.as_ref().and_then(|sla| sla.first_response.as_ref())
                && !first_response_done
            {
                let due = clock.due_at;
                replay.outcome(SlaMetric::FirstResponse, (at <= due).then_some(at), due);
            }
            first_response_done = true;
            if let (Some(clock), Some(minutes)) = (window.as_mut(), sla.as_ref().and_then(|sla| sla.window_minutes))
                && !clock.met
            {
                clock.met = true;
                let due = window_due(clock.since, minutes);
                replay.outcome(SlaMetric::Window, (at <= due).then_some(at), due);
            }
            if let Some((_, answered)) = last_whatsapp.as_mut() {
                *answered = true;
            }
        }
    }
    // Clocks unmet at the end of the log: missed at their due time, unless they stand (pending,
    // resolved) since before it came due — a standing clock's due time moves on when it runs again.
    if let Some(state) = &sla {
        let missed_by = |due: Timestamp| state.paused_at.is_none_or(|paused| due < paused);
        if let Some(clock) = state.first_response.as_ref().filter(|_| !first_response_done)
            && missed_by(clock.due_at)
        {
            replay.outcome(SlaMetric::FirstResponse, None, clock.due_at);
        }
        if let Some(clock) = state.resolution.as_ref().filter(|_| !category.is_done())
            && missed_by(clock.due_at)
        {
            replay.outcome(SlaMetric::Resolution, None, clock.due_at);
        }
        if let (Some(clock), Some(minutes)) = (window.as_ref(), state.window_minutes)
            && !clock.met
        {
            replay.outcome(SlaMetric::Window, None, window_due(clock.since, minutes));
        }
    }
    if let Some((since, false)) = last_whatsapp {
        let closed = since.saturating_add(WINDOW).unwrap_or(since);
        replay.measures.push(Metric::WindowExpired, closed, None, line.at(closed));
    }
}
