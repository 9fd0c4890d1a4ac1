// SLA display: a ticket's clocks (as the server keeps them in `ticket.sla`) turned into "due in",
// "breached" or "paused" against one shared clock that ticks every second, so every badge on a
// page counts down together without a reload.

import { signal } from "@preact/signals";
import { html } from "./html.js";
import { dateTime, language, t } from "./i18n.js";

/** Milliseconds since the epoch, updated every second while the console is open. */
export const now = signal(Date.now());
setInterval(() => {
  now.value = Date.now();
}, 1000);

/** Each clock's name in the current language (`METRIC_LABEL.resolution`). */
export const METRIC_LABEL = {
  get first_response() { return t("console.sla.metric.first_response"); },
  get resolution() { return t("console.sla.metric.resolution"); },
  get window() { return t("console.sla.metric.window"); },
};

/** The clocks a ticket may have, in the order the tracker lists them. */
const METRICS = ["first_response", "resolution", "window"];

/** The customer's reply window on WhatsApp, in minutes. */
const WINDOW_MINUTES = 24 * 60;

/** A clock's target as the tracker words it: the window's is a margin before it closes. */
function targetText(metric, clock) {
  if (metric === "window") return t("console.sla.window_target", { span: span((WINDOW_MINUTES - clock.target_minutes) * 60000) });
  return t("console.sla.target", { span: span(clock.target_minutes * 60000) });
}

/** "12 min", "2 h 5 min", "3 d 4 h" for a duration in milliseconds (sign ignored). */
export function span(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  if (minutes < 1) return t("console.span.seconds", { seconds: Math.floor(Math.abs(ms) / 1000) });
  if (minutes < 60) return t("console.span.minutes", { minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? t("console.span.hours_minutes", { hours, minutes: minutes % 60 }) : t("console.span.hours", { hours });
  return t("console.span.days_hours", { days: Math.floor(hours / 24), hours: hours % 24 });
}

/**
 * One clock's state at `at`: `met` (with `late` if it had breached), `paused`, `breached`,
 * `warning` (past the policy's threshold) or `running`, and the milliseconds left (negative
 * when overdue). While paused the time left is frozen at the moment the clock stopped.
 */
export function clockState(sla, clock, at) {
  if (!clock) return null;
  const due = Date.parse(clock.due_at);
  if (clock.met_at) return { state: "met", late: Boolean(clock.breached_at), left: due - Date.parse(clock.met_at) };
  if (sla.paused_at) return { state: "paused", left: due - Date.parse(sla.paused_at) };
  const left = due - at;
  if (clock.breached_at || left <= 0) return { state: "breached", left };
  if (clock.warned_at || Date.parse(clock.warn_at) <= at) return { state: "warning", left };
  return { state: "running", left };
}

/** The clock that matters most now: the earliest-due unmet one, or null. */
export function pressing(ticket, at) {
  const sla = ticket.sla;
  if (!sla) return null;
  const open = METRICS
    .map((metric) => ({ metric, clock: sla[metric] }))
    .filter(({ clock }) => clock && !clock.met_at)
    .sort((a, b) => Date.parse(a.clock.due_at) - Date.parse(b.clock.due_at));
  if (!open.length) return null;
  return { metric: open[0].metric, ...clockState(sla, open[0].clock, at) };
}

/** Sort key for "SLA due": the earliest running due time; paused, met or none sort last. */
export function dueKey(ticket) {
  const sla = ticket.sla;
  if (!sla || sla.paused_at) return Infinity;
  const dues = METRICS.map((metric) => sla[metric]).filter((clock) => clock && !clock.met_at).map((clock) => Date.parse(clock.due_at));
  return dues.length ? Math.min(...dues) : Infinity;
}

/** The queue row's badge: "due in 12 min", "breached 3 min ago", "paused". */
export function SlaBadge({ ticket }) {
  const current = pressing(ticket, now.value);
  if (!current) return null;
  const what = METRIC_LABEL[current.metric].toLowerCase();
  const text = {
    breached: t("console.sla.breached_ago", { span: span(current.left) }),
    warning: t("console.sla.due_in", { span: span(current.left) }),
    running: t("console.sla.due_in", { span: span(current.left) }),
    paused: t("console.sla.paused"),
  }[current.state];
  return html`<span class=${`sla ${current.state}`} data-sla=${current.state} title=${t("console.sla.badge_title", { metric: METRIC_LABEL[current.metric], text })}>
    <span class="visually-hidden">${what} </span>${text}</span>`;
}

/** The ticket page's SLA tracker: each clock with its target, time left or overdue, and state. */
export function SlaTracker({ ticket }) {
  const sla = ticket.sla;
  if (!sla) return null;
  const at = now.value;
  return html`<section class="sla-tracker" aria-label="SLA" data-sla-tracker>
    <h2>SLA <small>${t("console.sla.priority", { priority: t(`console.priority.${sla.priority}`) })}${sla.business_hours ? ` · ${t("console.sla.business_hours", { zone: sla.business_hours.time_zone })}` : ""}</small></h2>
    ${sla.paused_at && html`<p class="sla paused" role="status">${t("console.sla.paused_since", { time: new Intl.DateTimeFormat(language.value, { timeStyle: "medium" }).format(new Date(sla.paused_at)) })}</p>`}
    <dl>${METRICS.filter((metric) => sla[metric]).map((metric) => {
      const clock = sla[metric];
      const state = clockState(sla, clock, at);
      const detail = {
        met: state.late ? t("console.sla.met_late", { span: span(-state.left) }) : t("console.sla.met", { span: span(state.left) }),
        paused: t("console.sla.left_paused", { span: span(state.left) }),
        breached: t("console.sla.breached_ago", { span: span(state.left) }),
        warning: t("console.sla.left_at_risk", { span: span(state.left) }),
        running: t("console.sla.left", { span: span(state.left) }),
      }[state.state];
      return html`<div class=${`clock ${state.state}`} data-clock=${metric} data-state=${state.state}>
        <dt>${METRIC_LABEL[metric]} <small>${targetText(metric, clock)}</small></dt>
        <dd><span class=${`sla ${state.state}`}>${detail}</span> <small>${t("console.sla.due_at", { time: dateTime(clock.due_at) })}</small></dd>
      </div>`;
    })}</dl>
  </section>`;
}
