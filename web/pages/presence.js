// The supervisor's presence board: every agent with status, time in status, what they are
// viewing, their load against capacity and their SLA risk (tickets breached or past the warning
// threshold), live; filter by team; reassign from the board.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { report } from "../lib/session.js";
import { get, post } from "../lib/api.js";
import { subscribe } from "../lib/live.js";
import { ago } from "../lib/format.js";
import { Avatar } from "../lib/avatar.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { t } from "../lib/i18n.js";

export function Presence() {
  const [board, setBoard] = useState(new Map());
  const [teams, setTeams] = useState([]);
  const [users, setUsers] = useState(null);
  const [team, setTeam] = useState("");
  const [, tick] = useState(0);
  const [risk, setRisk] = useState(new Map());
  useEffect(() => {
    const loadRisk = () => get("/sla/risk").then((page) => setRisk(new Map(page.items.map((row) => [row.assignee_id, row])))).catch(report);
    loadRisk();
    // Risk changes when a clock warns or breaches, a ticket moves, or time passes a threshold.
    const every = setInterval(loadRisk, 30000);
    // The board is the whole desk's (supervisors and admins only, as is `queue:all`).
    const unsubscribe = subscribe("queue:all", (frame) => {
      const type = frame.event?.type;
      if (type && ["sla_warning", "sla_breached", "sla_changed", "assigned", "status_changed", "message_added"].includes(type)) loadRisk();
    });
    return () => {
      clearInterval(every);
      unsubscribe();
    };
  }, []);
  useEffect(() => {
    get("/teams").then((page) => setTeams(page.items)).catch(report);
    get("/users")
      .then((page) => setUsers(page.items.filter((user) => user.role !== "customer")))
      .catch((error) => {
        setUsers([]);
        report(error);
      });
    const timer = setInterval(() => tick((n) => n + 1), 15000);
    const unsubscribe = subscribe("presence", (frame) => {
      if (frame.type !== "presence") return;
      if (frame.board) setBoard(new Map(frame.board.map((row) => [row.user_id, row])));
      if (frame.agent) setBoard((previous) => new Map(previous).set(frame.agent.user_id, frame.agent));
    });
    return () => {
      clearInterval(timer);
      unsubscribe();
    };
  }, []);
  const members = team ? new Set(teams.find((candidate) => String(candidate.id) === team)?.member_ids || []) : null;
  const rows = (users || []).filter((user) => !members || members.has(user.id)).map((user) => ({ user, presence: board.get(user.id) }));

  async function reassign(ticketId, agentId) {
    try {
      await post(`/tickets/${ticketId}/assign`, { assignee_id: Number(agentId), reason: "reassigned from the presence board" });
    } catch (error) {
      report(error);
    }
  }

  return html`<main class="page presence">
    <h1>${t("console.nav.presence")}</h1>
    <label>${t("console.bulk.team")} <select value=${team} onChange=${(e) => setTeam(e.target.value)}><option value="">${t("console.presence_board.all_teams")}</option>${teams.map((entry) => html`<option value=${entry.id}>${entry.name}</option>`)}</select></label>
    <table>
      <thead><tr><th scope="col">${t("console.presence_board.agent")}</th><th scope="col">${t("console.queue.status")}</th><th scope="col">${t("console.presence_board.since")}</th><th scope="col">${t("console.presence_board.viewing")}</th><th scope="col">${t("console.presence_board.load")}</th><th scope="col">${t("console.presence_board.sla_risk")}</th><th scope="col">${t("console.presence_board.reassign")}</th></tr></thead>
      ${users === null ? html`<${SkeletonRows} columns=${7} />` : html`<tbody>${rows.map(({ user, presence }) => {
        const status = presence?.status || "offline";
        return html`<tr key=${user.id} data-agent=${user.id} data-status=${status}>
          <td><span class="agent-cell"><${Avatar} name=${user.name} presence=${status} size="small" />${user.name}</span></td>
          <td><span class=${`presence ${status}`}>${t(`console.presence.${status}`)}${presence?.typing ? ` · ${t("console.presence_board.typing")}` : ""}</span></td>
          <td>${presence ? ago(presence.since) : ""}</td>
          <td>${presence?.viewing ? html`<a href=${`#/tickets/${presence.viewing}`} onClick=${(e) => { e.preventDefault(); navigate(`#/tickets/${presence.viewing}`); }}>${t("console.presence_board.ticket", { id: presence.viewing })}</a>` : ""}</td>
          <td>${presence ? `${presence.load} / ${presence.capacity}` : `– / ${user.capacity}`}</td>
          <td data-sla-risk=${user.id}>${slaRisk(risk.get(user.id))}</td>
          <td>${presence?.viewing && html`<select aria-label=${t("console.presence_board.reassign_ticket", { id: presence.viewing })} onChange=${(e) => e.target.value && reassign(presence.viewing, e.target.value)}><option value="">${t("console.presence_board.to")}</option>${users.filter((other) => other.id !== user.id).map((other) => html`<option value=${other.id}>${other.name}</option>`)}</select>`}</td>
        </tr>`;
      })}</tbody>`}
    </table>
  </main>`;
}

function slaRisk(row) {
  if (!row || (!row.breached && !row.at_risk)) return html`<span class="sla running">${t("console.presence_board.none")}</span>`;
  return html`${row.breached > 0 && html`<span class="sla breached">${t("console.presence_board.breached", { count: row.breached })}</span> `}${row.at_risk > 0 && html`<span class="sla warning">${t("console.presence_board.at_risk", { count: row.at_risk })}</span>`}`;
}
