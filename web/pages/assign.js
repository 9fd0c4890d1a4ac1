// Assignment from anywhere: the picker the ticket header, the queue row, the board card and the
// bulk bar open. It lists every active agent with their presence and open tickets against their
// capacity (`GET /agents/availability`), then the teams; typing filters, ↑ / ↓ move, Enter picks,
// Escape (or a click outside) closes. `assign` sends the choice for one ticket or many.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, post } from "../lib/api.js";
import { me, report } from "../lib/session.js";
import { remember } from "../lib/tickets.js";
import { Avatar } from "../lib/avatar.js";
import { t } from "../lib/i18n.js";

/**
 * Gives `ids` to the picked agent or team (`{assignee_id}` or `{team_id}`): one ticket through
 * its own assign, several through the bulk endpoint, whose per-ticket refusals are reported.
 */
export async function assign(ids, choice, reason) {
  const request = { ...choice, reason };
  if (ids.length === 1) {
    const outcome = await post(`/tickets/${ids[0]}/assign`, request);
    remember([outcome.ticket]);
    return;
  }
  await bulk(ids, { assign: request });
}

/** `POST /tickets/bulk` with `change` (`{patch}` and/or `{assign}`); refused tickets are reported. */
export async function bulk(ids, change) {
  const answer = await post("/tickets/bulk", { ids, ...change });
  const refused = answer.items.filter((item) => item.error);
  if (refused.length) {
    report(new Error(t("console.assign.refused", { count: refused.length, total: ids.length, list: refused.map((item) => `#${item.id} ${item.error.message}`).join("; ") })));
  }
  return answer;
}

const PRESENCE_LABEL = {
  get online() { return t("console.presence.online"); },
  get away() { return t("console.presence.away"); },
  get busy() { return t("console.presence.busy"); },
  get offline() { return t("console.presence.offline"); },
};

/** The picker; `onPick(choice)` gets `{assignee_id}` (null: unassign) or `{team_id}`. */
export function AssignPicker({ label, onPick, onClose }) {
  const [agents, setAgents] = useState(null);
  const [teams, setTeams] = useState([]);
  const [filter, setFilter] = useState("");
  const [at, setAt] = useState(0);
  const input = useRef(null);
  const root = useRef(null);
  // Focus before the browser paints: a key typed as soon as the picker shows must land in its
  // search box, not on the page behind it (where `a` or `j` are shortcuts).
  useLayoutEffect(() => input.current?.focus(), []);
  useEffect(() => {
    let active = true;
    get("/agents/availability")
      .then((page) => active && setAgents(page.items))
      .catch((error) => {
        report(error);
        if (active) setAgents([]);
      });
    get("/teams").then((page) => active && setTeams(page.items)).catch(() => {});
    const outside = (event) => {
      if (root.current && !root.current.contains(event.target)) onClose();
    };
    document.addEventListener("mousedown", outside);
    return () => {
      active = false;
      document.removeEventListener("mousedown", outside);
    };
  }, []);
  const needle = filter.trim().toLowerCase();
  const options = [
    { key: "none", label: t("console.assign.unassigned"), choice: { assignee_id: null } },
    ...(agents || []).map((agent) => ({ key: `user-${agent.user_id}`, agent, label: agent.name, choice: { assignee_id: agent.user_id } })),
    ...teams.map((team) => ({ key: `team-${team.id}`, team, label: team.name, choice: { team_id: team.id } })),
  ].filter((option) => !needle || option.label.toLowerCase().includes(needle));
  const current = Math.min(at, Math.max(options.length - 1, 0));
  function pick(option) {
    onClose();
    onPick(option.choice);
  }
  function onKeyDown(event) {
    // The picker's keys are its own: the queue's j / k / a must not act behind it.
    event.stopPropagation();
    if (event.key === "ArrowDown") {
      event.preventDefault();
      setAt(Math.min(current + 1, options.length - 1));
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      setAt(Math.max(current - 1, 0));
    } else if (event.key === "Enter") {
      event.preventDefault();
      if (options[current]) pick(options[current]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      onClose();
    }
  }
  return html`<div class="picker" ref=${root} role="dialog" aria-label=${label} onKeyDown=${onKeyDown}>
    <input ref=${input} type="search" autocomplete="off" placeholder=${t("console.assign.placeholder")} aria-label=${t("console.assign.find")}
      aria-controls="picker-options" aria-activedescendant=${options[current] ? `pick-${options[current].key}` : undefined}
      value=${filter} onInput=${(event) => { setFilter(event.target.value); setAt(0); }} />
    ${agents === null && html`<div class="picker-loading" role="status"><span class="visually-hidden">${t("console.assign.loading")}</span>
      ${[1, 2, 3].map((row) => html`<span key=${row} class="skeleton line" aria-hidden="true"></span>`)}</div>`}
    <ul id="picker-options" role="listbox" aria-label=${t("console.assign.options")}>
      ${options.map((option, index) => html`<li key=${option.key} id=${`pick-${option.key}`} role="option" aria-selected=${index === current}
          class=${index === current ? "current" : ""} data-assignee=${option.agent?.user_id} data-team=${option.team?.id}
          onMouseDown=${(event) => event.preventDefault()} onClick=${() => pick(option)}>
        ${option.agent
          ? html`<${Avatar} name=${option.agent.name} presence=${option.agent.status} size="small" />
              <span class="who">${option.agent.name}${option.agent.user_id === me.value.id ? ` (${t("console.queue.me")})` : ""}</span>
              <span class="presence-text">${PRESENCE_LABEL[option.agent.status] || option.agent.status}</span>
              <span class=${`load${option.agent.capacity > 0 && option.agent.load >= option.agent.capacity ? " full" : ""}`} title=${t("console.assign.load")}>${option.agent.load}/${option.agent.capacity}</span>`
          : option.team
            ? html`<span class="dot team" aria-hidden="true"></span><span class="who">${option.team.name}</span><span class="presence-text">${t("console.head.team")}</span>`
            : html`<span class="who"><em>${t("console.assign.unassigned")}</em></span>`}
      </li>`)}
    </ul>
  </div>`;
}

/** A button that opens the picker beside it, for the tickets `ids`. */
export function AssignButton({ ids, label = t("console.assign.button"), reason, className = "secondary small" }) {
  const [open, setOpen] = useState(false);
  return html`<span class="assign-anchor">
    <button type="button" class=${className} aria-haspopup="dialog" aria-expanded=${open} onClick=${() => setOpen(!open)}>${label}</button>
    ${open && html`<${AssignPicker} label=${ids.length === 1 ? t("console.assign.one") : t("console.bulk.assign_label", { count: ids.length })}
      onClose=${() => setOpen(false)} onPick=${(choice) => assign(ids, choice, reason).catch(report)} />`}
  </span>`;
}
