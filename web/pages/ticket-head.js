// The ticket page's header and the system events of its thread: the subject (edited in place),
// status, priority, created / updated, the assignee (any agent or team through the picker), and
// the centred lines a status, assignment, priority, SLA or window change leaves in the thread;
// a resolved ticket offers to become a draft knowledge-base article.
// Delivery ticks are not events of their own here: they fold into the message they belong to.

import { useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { me, report } from "../lib/session.js";
import { post } from "../lib/api.js";
import { navigate } from "../lib/router.js";
import { ago, time } from "../lib/format.js";
import { METRIC_LABEL } from "../lib/sla.js";
import { describeCsat } from "./csat.js";
import { AssignButton, assign } from "./assign.js";
import { t } from "../lib/i18n.js";

/** The subject, with a button that turns it into a field: Enter (or Save) keeps it, Escape drops it. */
export function Subject({ ticket, change }) {
  const [editing, setEditing] = useState(null);
  async function save(event) {
    event.preventDefault();
    const subject = editing.trim();
    if (subject && subject !== ticket.subject) await change({ subject });
    setEditing(null);
  }
  if (editing !== null) {
    return html`<form class="subject-edit" onSubmit=${save} aria-label=${t("console.head.edit_subject")}>
      <label class="visually-hidden" for="subject-input">${t("console.queue.subject")}</label>
      <input id="subject-input" required maxlength="500" value=${editing} autofocus
        onInput=${(event) => setEditing(event.target.value)}
        onKeyDown=${(event) => { if (event.key === "Escape") { event.stopPropagation(); setEditing(null); } }} />
      <button type="submit" class="small">${t("console.save")}</button>
      <button type="button" class="secondary small" onClick=${() => setEditing(null)}>${t("console.cancel")}</button>
    </form>`;
  }
  return html`<h1><span class="number">#${ticket.number}</span> <span class="subject">${ticket.subject}</span>
    <button type="button" class="link edit-subject" aria-label=${t("console.head.edit_subject")} title=${t("console.head.edit_subject")} onClick=${() => setEditing(ticket.subject)}>${t("console.head.edit")}</button></h1>`;
}

/** Turns a resolved ticket into a draft knowledge-base article and opens it (editors only: the
 * server refuses anyone else, and the refusal shows as a notice). */
function draftArticle(ticket) {
  post(`/tickets/${ticket.id}/to-article`, {})
    .then((article) => navigate(`#/kb/${article.id}?locale=${article.locale}`))
    .catch(report);
}

/** Status (changed here), priority, channel, requester, created and updated, and the assignee. */
export function HeadFacts({ ticket, statuses, names, teams, requester, seen, change, children }) {
  const team = ticket.team_id ? teams.find((candidate) => candidate.id === ticket.team_id) : null;
  return html`<div class="head-facts">
    <label class="head-status">${t("console.queue.status")} <select value=${ticket.status} onChange=${(e) => change({ status: e.target.value, seen_seq: seen.current })}>
      ${statuses.map((status) => html`<option value=${status.key}>${status.label}</option>`)}</select></label>
    <span class=${`status ${ticket.status_category}`} data-status-category=${ticket.status_category}>${t(`console.category.${ticket.status_category}`)}</span>
    <span class=${`priority ${ticket.priority}`}>${t(`console.priority.${ticket.priority}`)}</span>
    <span>${t(`console.channel.${ticket.channel}`)} · ${t("console.head.from", { requester })}</span>
    ${children}
    ${["resolved", "closed"].includes(ticket.status_category) && html`<button type="button" class="small secondary to-article" onClick=${() => draftArticle(ticket)}>${t("console.head.draft_article")}</button>`}
    <span class="dates">${t("console.head.created")} <time datetime=${ticket.created_at} title=${time(ticket.created_at)} data-created>${time(ticket.created_at)}</time>
      · ${t("console.head.updated")} <time datetime=${ticket.updated_at} title=${time(ticket.updated_at)} data-updated>${ago(ticket.updated_at)}</time></span>
    <span class="head-assignee" data-assignee=${ticket.assignee_id ?? ""}>${t("console.head.assignee")} <strong>${ticket.assignee_id ? names.get(ticket.assignee_id) || `#${ticket.assignee_id}` : t("console.queue.unassigned")}</strong>${team ? html` · ${t("console.head.team")} <strong>${team.name}</strong>` : ""}
      ${ticket.assignee_id !== me.value.id && html` <button type="button" class="small" onClick=${() => assign([ticket.id], { assignee_id: me.value.id }, "taken from the ticket").catch(report)}>${t("console.queue.assign_to_me")}</button>`}
      <${AssignButton} ids=${[ticket.id]} reason="assigned from the ticket" /></span>
  </div>`;
}

/** The events shown centred in the thread (merge and split have their own markers). */
export const SYSTEM_EVENTS = new Set(["status_changed", "assigned", "priority_changed", "sla_warning", "sla_breached", "window_changed", "csat_received", "csat_commented"]);

function systemText(event, names) {
  const who = (id) => (id ? names.get(id) || `#${id}` : t("console.activity.nobody"));
  const metric = METRIC_LABEL[event.metric]?.toLowerCase() || event.metric;
  switch (event.type) {
    case "status_changed": return t("console.system.status_changed", { from: event.from, to: event.to });
    case "priority_changed": return t("console.system.priority_changed", { from: t(`console.priority.${event.from}`), to: t(`console.priority.${event.to}`) });
    case "assigned": return `${t("console.system.assigned", { name: who(event.assignee_id) })}${event.team_id !== event.from_team_id ? ` ${t("console.system.team_changed")}` : ""}${event.reason ? ` — ${event.reason}` : ""}`;
    case "sla_warning": return t("console.activity.sla_warning", { metric, time: time(event.due_at) });
    case "sla_breached": return t("console.activity.sla_breached", { metric, time: time(event.due_at) });
    case "window_changed": return event.window?.state === "closed" ? t("console.system.window_closed") : t("console.system.window_open");
    case "csat_received": case "csat_commented": {
      const text = describeCsat(event, names);
      return text.charAt(0).toUpperCase() + text.slice(1);
    }
    default: return event.type.replace(/_/g, " ");
  }
}

export function SystemMarker({ event, names }) {
  return html`<p class="system-event" role="note" data-system-event=${event.type}>
    <span>${systemText(event, names)}</span> <time datetime=${event.at}>${time(event.at)}</time></p>`;
}

/** Message id → its delivery steps in order (`[{status, at}]`), for the message's tick. */
export function deliverySteps(activity) {
  const steps = new Map();
  for (const event of activity) {
    if (event.type !== "delivery_changed") continue;
    if (!steps.has(event.message_id)) steps.set(event.message_id, []);
    steps.get(event.message_id).push({ status: event.status, at: event.at });
  }
  return steps;
}
