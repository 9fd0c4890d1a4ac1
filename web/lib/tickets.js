// The console's one copy of each ticket: a signal holding every ticket any view has read, by id,
// fed by REST reads (the queue's list, a ticket's own read, a customer's other tickets, a PATCH's
// answer) and by live frames (`queue` and view frames carry the ticket's list row, which updates
// the fields it has; a `ticket:<id>` event makes the ticket be read again). The queue list, the board and the ticket page all render from here, so
// a change shows in every view of the ticket at once.
//
// Merge rule: of two copies, the one with the higher `seq` wins, whatever arrived last — a list
// read before a live change can be answered after it, and must never roll the ticket back. On a
// tie a REST read replaces the copy (a live frame does not: the same change comes as one frame
// per event). A live row updates the fields it carries and keeps the rest of the known copy (its
// `sla` is the clock due soonest only, until the ticket is read again).

import { signal } from "@preact/signals";
import { get } from "./api.js";
import { subscribe } from "./live.js";

/** id → the newest copy of that ticket (a ticket view, as `GET /tickets` lists them). */
export const tickets = signal(new Map());

/** The newest copy of ticket `id`, or undefined; reading it in a component re-renders on change. */
export function ticket(id) {
  return tickets.value.get(id);
}

function merge(known, copy, live) {
  if (known && (known.seq > copy.seq || (live && known.seq === copy.seq))) return known;
  if (live && known) return { ...known, ...copy };
  // Only a ticket's own read says which channels a reply can reach the customer on; a newer copy
  // from a list or a frame keeps the last ones read.
  if (known?.reply_channels && !copy.reply_channels) return { ...copy, reply_channels: known.reply_channels };
  return copy;
}

/** Takes copies of tickets (from REST, or `{ live: true }` from frames) by the merge rule. */
export function remember(copies, { live = false } = {}) {
  const previous = tickets.value;
  let next = null;
  for (const copy of copies) {
    const known = (next || previous).get(copy.id);
    const kept = merge(known, copy, live);
    if (kept === known) continue;
    next = next || new Map(previous);
    next.set(copy.id, kept);
  }
  if (next) tickets.value = next;
}

/** Forgets every ticket (logged out: the next user may see other tickets). */
export function forget() {
  tickets.value = new Map();
}

/**
 * `GET /tickets?<params>`: the page's tickets go to the store; returns the page (its `items` in
 * the server's order, as read — render them from the store by id).
 */
export async function readList(params) {
  const page = await get(`/tickets?${params}`);
  remember(page.items);
  return page;
}

/**
 * `GET /tickets/<id>`: the ticket goes to the store (with the channels a reply can take);
 * returns the whole answer, messages and WhatsApp window included.
 */
export async function readTicket(id) {
  const full = await get(`/tickets/${id}`);
  const { messages: _messages, window: _window, ...copy } = full;
  remember([{ ...copy, reply_channels: full.reply_channels || [] }]);
  return full;
}

/**
 * The queue topic a user of `role` follows: supervisors and admins see the whole account
 * (`queue:all`); agents their own queue (theirs, their teams' and the shared inbox), so a busy
 * account's other teams do not flood their sockets.
 */
export function queueTopic(role) {
  return ["supervisor", "admin"].includes(role) ? "queue:all" : "queue";
}

/**
 * A list frame's row as a copy of its ticket. The row leaves out what the frame already says:
 * the ticket's `seq` is the frame's, its `updated_at` the frame's `cursor` (and a `created`
 * event's `created_at` too), `status_category` is absent when the status is named after it, and
 * a staff row's empty fields are absent (they must still clear the known copy's).
 */
export function rowCopy(frame) {
  const at = new Date(frame.cursor).toISOString();
  const copy = { ...frame.row, seq: frame.seq, updated_at: at };
  copy.status_category ??= copy.status;
  if (frame.event?.type === "created") copy.created_at = at;
  // A staff row leaves out what is empty: no assignee, no team, no one waiting, no clock running.
  if ("priority" in copy) for (const field of ["assignee_id", "team_id", "waiting_on", "sla"]) copy[field] ??= null;
  return copy;
}

/** Follows the user's queue topic: each frame's row goes to the store, then to `listener`. */
export function followQueue(role, listener) {
  return subscribe(queueTopic(role), (frame) => {
    if (frame.row) remember([rowCopy(frame)], { live: true });
    listener(frame);
  });
}

/**
 * Follows `ticket:<id>` from `after`: every frame goes to `listener`; an event that may change the
 * ticket's properties (anything but delivery and attachment updates) has it read again.
 */
export function followTicket(id, listener, after) {
  return subscribe(
    `ticket:${id}`,
    (frame) => {
      listener(frame);
      if (frame.type === "event" && !["delivery_changed", "attachments_changed"].includes(frame.event.type)) {
        readTicket(id).catch(() => {});
      }
    },
    after,
  );
}
