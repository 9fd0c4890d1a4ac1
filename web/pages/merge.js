// Merge, unmerge and split on the ticket page: the "Merge into…" dialog (target by number, a
// confirmation naming both tickets and requesters, checked by the server before anything is
// written), the banner of a merged ticket (link to the target, Unmerge within 7 days), the
// markers merges and splits leave in a thread, and the bar that splits selected messages off.

import { useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { post } from "../lib/api.js";
import { remember } from "../lib/tickets.js";
import { time } from "../lib/format.js";
import { t, tParts } from "../lib/i18n.js";

/** A merge can be undone this long (the server's rule; the button hides after it). */
const UNMERGE_WINDOW_MS = 7 * 24 * 3600 * 1000;

/** The events that link tickets, shown centred in the thread where they happened. */
export const LINK_EVENTS = new Set(["merged_into", "merged_in", "unmerged", "merge_undone", "split_to", "split_from"]);

/** The other ticket an event links to, whichever side of the link this ticket is. */
export function linkedTicket(event) {
  const id = event.target_id ?? event.source_id ?? event.new_ticket_id ?? event.original_id;
  const number = event.target_number ?? event.source_number ?? event.new_number ?? event.original_number;
  return { id, number };
}

function linkText(event) {
  const linked = linkedTicket(event);
  const other = html`<a href=${`#/tickets/${linked.id}`}>#${linked.number}</a>`;
  const n = event.message_ids?.length;
  const count = event.message_ids ? (n === 1 ? t("console.merge.one_message") : t("console.merge.messages", { count: n })) : "";
  switch (event.type) {
    case "merged_into": return tParts("console.merge.marker.merged_into", { other });
    case "merged_in": return tParts("console.merge.marker.merged_in", { other, count });
    case "unmerged": return tParts("console.merge.marker.unmerged", { other });
    case "merge_undone": return tParts("console.merge.marker.merge_undone", { other, count });
    case "split_to": return tParts("console.merge.marker.split_to", { other, count });
    case "split_from": return tParts("console.merge.marker.split_from", { other, count });
    default: return event.type;
  }
}

/** The thread's messages and its link markers, in time order. */
export function threadItems(messages, activity) {
  const markers = activity.filter((event) => LINK_EVENTS.has(event.type)).map((event) => ({ marker: event, at: event.at }));
  const items = messages.map((message) => ({ message, at: message.created_at }));
  return [...items, ...markers].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export function LinkMarker({ event }) {
  return html`<p class="link-marker" role="note" data-link-event=${event.type}>
    <span>${linkText(event)}</span> <time datetime=${event.at}>${time(event.at)}</time></p>`;
}

/** Which merged ticket a message came from, if any. */
export function mergedOrigin(ticket, messageId) {
  return (ticket.links?.merged_from || []).find((source) => source.message_ids.includes(messageId));
}

/** A merged ticket says where it went; within 7 days it can be unmerged. */
export function MergeBanner({ ticket, onChanged }) {
  const link = ticket.links?.merged_into;
  const [busy, setBusy] = useState(false);
  if (!link) return null;
  const undoable = Date.now() - Date.parse(link.at) < UNMERGE_WINDOW_MS;
  async function unmerge() {
    setBusy(true);
    try {
      const outcome = await post(`/tickets/${ticket.id}/unmerge`, null);
      remember([outcome.source.ticket, outcome.target.ticket]);
      onChanged();
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<div class="merge-banner" role="status" data-merged-into=${link.ticket_id}>
    <span>${tParts("console.merge.banner", { other: html`<a href=${`#/tickets/${link.ticket_id}`}>#${link.number}</a>`, time: time(link.at) })}</span>
    ${undoable && html`<button type="button" class="secondary small" disabled=${busy} onClick=${unmerge}>${t("console.merge.unmerge")}</button>`}
  </div>`;
}

/** "Merge into…": the target by number, then a confirmation naming both tickets and requesters. */
export function MergeDialog({ ticket, names, onClose, onChanged }) {
  const [number, setNumber] = useState("");
  const [checked, setChecked] = useState(null);
  const [refusal, setRefusal] = useState(null);
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const who = (id) => names.get(id) || t("console.ticket.customer_number", { id });

  async function check(event, withForce = force) {
    event?.preventDefault();
    setChecked(null);
    setRefusal(null);
    const target = Number(number.replace(/^#/, ""));
    if (!Number.isInteger(target) || target <= 0) {
      setRefusal({ message: t("console.merge.enter_number") });
      return;
    }
    try {
      setChecked(await post(`/tickets/${ticket.id}/merge`, { into_number: target, force: withForce, dry_run: true }));
    } catch (error) {
      setRefusal({ code: error.code, message: error.message });
    }
  }

  async function confirm() {
    setBusy(true);
    try {
      const outcome = await post(`/tickets/${ticket.id}/merge`, { into: checked.target.ticket.id, force });
      remember([outcome.source.ticket, outcome.target.ticket]);
      onChanged();
      onClose();
    } catch (error) {
      setRefusal({ code: error.code, message: error.message });
      setChecked(null);
    } finally {
      setBusy(false);
    }
  }

  const source = checked?.source.ticket;
  const target = checked?.target.ticket;
  return html`<section class="merge-dialog" role="dialog" aria-label=${t("console.merge.dialog")}>
    <form onSubmit=${check}>
      <label for="merge-target">${t("console.merge.target_label", { number: ticket.number })}</label>
      <div class="merge-row">
        <input id="merge-target" inputmode="numeric" placeholder=${t("console.merge.placeholder")} value=${number} onInput=${(e) => setNumber(e.target.value)} required />
        <button type="submit" class="secondary">${t("console.merge.check")}</button>
        <button type="button" class="link" onClick=${onClose}>${t("console.cancel")}</button>
      </div>
    </form>
    ${refusal && html`<p class="error" role="alert" data-refusal=${refusal.code || ""}>${refusal.message}</p>`}
    ${refusal?.code === "requester_mismatch" && html`<label class="force"><input type="checkbox" checked=${force} onChange=${(e) => { setForce(e.target.checked); if (e.target.checked) check(null, true); }} /> ${t("console.merge.anyway")}</label>`}
    ${checked && html`<div class="merge-confirm" data-merge-confirm>
      <p>${tParts("console.merge.confirm", { source: html`<strong>#${source.number} ${source.subject}</strong>`, source_requester: who(source.requester_id), target: html`<strong>#${target.number} ${target.subject}</strong>`, target_requester: who(target.requester_id) })}</p>
      <p class="muted">${t("console.merge.explain", { source: source.number, target: target.number })}</p>
      <button type="button" disabled=${busy} onClick=${confirm}>${t("console.merge.into_number", { number: target.number })}</button>
    </div>`}
  </section>`;
}

/** Split mode: the selected messages go to a new ticket for the same requester. */
export function SplitBar({ ticket, selected, onCancel, onSplit }) {
  const [subject, setSubject] = useState("");
  const [busy, setBusy] = useState(false);
  async function split(event) {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { message_ids: [...selected] };
      if (subject.trim()) body.subject = subject.trim();
      const outcome = await post(`/tickets/${ticket.id}/split`, body);
      remember([outcome.ticket.ticket, outcome.original.ticket]);
      onSplit(outcome.ticket.ticket);
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="split-bar" onSubmit=${split} aria-label=${t("console.merge.split_label")}>
    <p>${t("console.merge.split_text", { count: selected.size })}</p>
    <label for="split-subject">${t("console.merge.split_subject")}</label>
    <input id="split-subject" placeholder=${ticket.subject} value=${subject} onInput=${(e) => setSubject(e.target.value)} />
    <div class="merge-row">
      <button type="submit" disabled=${busy || selected.size === 0}>${t("console.merge.split_off", { count: selected.size })}</button>
      <button type="button" class="link" onClick=${onCancel}>${t("console.cancel")}</button>
    </div>
  </form>`;
}
