// The queue as a kanban board: a column per status (WIP limit per column, kept in this browser),
// optional swimlanes by priority or assignee, and drag and drop (SortableJS) to change a ticket's
// status — or, from the keyboard, ← / → on a focused card to move it to the neighbouring column.
// Each card's "Assign…" opens the assignee picker (pages/assign.js).

import { useEffect, useRef, useState } from "preact/hooks";
import Sortable from "sortablejs";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { report } from "../lib/session.js";
import { patch } from "../lib/api.js";
import { SlaBadge } from "../lib/sla.js";
import { AssignButton } from "./assign.js";
import { t } from "../lib/i18n.js";
import { FieldInPlace } from "../lib/field.js";

const LIMITS_KEY = "switchboard.wip-limits";

function loadLimits() {
  try {
    return JSON.parse(localStorage.getItem(LIMITS_KEY) || "{}");
  } catch (_) {
    return {};
  }
}

function Column({ status, tickets, limit, setLimit, names, move }) {
  const list = useRef(null);
  useEffect(() => {
    const sortable = Sortable.create(list.current, {
      group: "kanban",
      animation: 120,
      dataIdAttr: "data-ticket",
      // The assign button and its picker are not handles: clicking them must not start a drag.
      filter: ".assign-anchor",
      preventOnFilter: false,
      onAdd: async (event) => {
        const id = Number(event.item.dataset.ticket);
        // Preact owns the DOM: put the card back and let the live update move it.
        event.from.insertBefore(event.item, event.from.children[event.oldIndex] || null);
        try {
          await patch(`/tickets/${id}`, { status: status.key });
        } catch (error) {
          report(error);
        }
      },
    });
    return () => sortable.destroy();
  }, [status.key]);
  const over = limit > 0 && tickets.length > limit;
  return html`<section class=${`column ${over ? "over" : ""}`} aria-label=${t("console.board.column", { status: status.label })} data-status=${status.key}>
    <header>
      <h3>${status.label}</h3>
      <span class="count" title=${t("console.board.count_title")}>${tickets.length}${limit > 0 ? ` / ${limit}` : ""}</span>
      <label class="visually-hidden" for=${`limit-${status.key}`}>${t("console.board.limit_for", { status: status.label })}</label>
      <${FieldInPlace} id=${`limit-${status.key}`} class="limit" type="number" min="0" placeholder=${t("console.board.limit")} value=${limit ? String(limit) : ""} onSave=${(text) => setLimit(status.key, Number(text))} />
    </header>
    <ol ref=${list} class="cards">
      ${tickets.map((ticket) => html`<li key=${ticket.id} class="card" data-ticket=${ticket.id} tabindex="0"
          aria-keyshortcuts="ArrowLeft ArrowRight" title=${t("console.board.card_keys")}
          onKeyDown=${(e) => {
            if (e.target !== e.currentTarget) return;
            if (e.key === "Enter") navigate(`#/tickets/${ticket.id}`);
            else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
              e.preventDefault();
              move(ticket, e.key === "ArrowLeft" ? -1 : 1);
            }
          }}>
        <a href=${`#/tickets/${ticket.id}`}><span class="ticket-number">#${ticket.number}</span> ${ticket.subject}</a>
        <span class="card-tags"><span class=${`priority ${ticket.priority}`}>${t(`console.priority.${ticket.priority}`)}</span> <${SlaBadge} ticket=${ticket} /></span>
        <small>${ticket.assignee_id ? names.get(ticket.assignee_id) || "" : t("console.queue.unassigned")} · ${t(`console.channel.${ticket.channel}`)}</small>
        <${AssignButton} ids=${[ticket.id]} reason="assigned from the board" />
      </li>`)}
    </ol>
  </section>`;
}

export function Board({ tickets, statuses, names }) {
  const [limits, setLimits] = useState(loadLimits);
  const [lanes, setLanes] = useState("");
  // The card moved from the keyboard: focus follows it into its new column once the live
  // update has put it there, and the move is announced.
  const [moved, setMoved] = useState(null);
  const [announcement, setAnnouncement] = useState("");
  const move = async (ticket, step) => {
    const at = statuses.findIndex((status) => status.key === ticket.status);
    const target = statuses[at + step];
    if (at < 0 || !target) return;
    try {
      await patch(`/tickets/${ticket.id}`, { status: target.key });
      setMoved({ id: ticket.id, status: target.key });
      setAnnouncement(t("console.board.moved", { number: ticket.number, status: target.label }));
    } catch (error) {
      report(error);
    }
  };
  useEffect(() => {
    if (!moved) return;
    const card = document.querySelector(`.board [data-status="${moved.status}"] .card[data-ticket="${moved.id}"]`);
    if (card) {
      card.focus();
      setMoved(null);
    }
  }, [tickets, moved]);
  const setLimit = (key, value) => {
    const next = { ...limits, [key]: value };
    setLimits(next);
    localStorage.setItem(LIMITS_KEY, JSON.stringify(next));
  };
  const laneOf = (ticket) => (lanes === "priority" ? t(`console.priority.${ticket.priority}`) : lanes === "assignee" ? names.get(ticket.assignee_id) || t("console.queue.unassigned") : "");
  const laneNames = lanes ? [...new Set(tickets.map(laneOf))].sort() : [""];
  return html`<div class="board">
    <label>${t("console.board.swimlanes")} <select value=${lanes} onChange=${(e) => setLanes(e.target.value)}>
      <option value="">${t("console.board.lanes_none")}</option><option value="priority">${t("console.board.lanes_priority")}</option><option value="assignee">${t("console.board.lanes_assignee")}</option>
    </select></label>
    <p class="visually-hidden" role="status" aria-live="polite">${announcement}</p>
    ${laneNames.map((lane) => html`<div class="lane" key=${lane}>
      ${lane && html`<h2 class="lane-title">${lane}</h2>`}
      <div class="columns">
        ${statuses.map((status) => html`<${Column} key=${`${lane}-${status.key}`} status=${status} names=${names}
            tickets=${tickets.filter((ticket) => ticket.status === status.key && laneOf(ticket) === lane)}
            limit=${limits[status.key] || 0} setLimit=${setLimit} move=${move} />`)}
      </div>
    </div>`)}
  </div>`;
}
