// The audit log (issue 17 item 6), admins only: who did what and when, filtered by period,
// actor and action. The filters live in the URL (`#/audit?from=…&to=…&actor=…&action=…`) so a
// filtered view can be shared; "Older" follows the server's cursor; the CSV link downloads the
// same filter, the whole of it (the server streams it, with the session cookie).

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get } from "../lib/api.js";
import { report } from "../lib/session.js";
import { navigate, route } from "../lib/router.js";
import { time } from "../lib/format.js";
import { SkeletonPage } from "../lib/skeleton.js";
import { t } from "../lib/i18n.js";

/** Action families an admin filters by (the server takes any name, or a family ending in a dot). */
const FAMILIES = ["auth.", "user.", "team.", "settings.", "sla_policy.", "automation_rule.", "routing.", "api_key.", "report.", "report_schedule.", "channel_secrets."];
const FIELDS = ["from", "to", "actor", "action"];

/** The filter in the hash's query: only the fields this page knows, empty ones left out. */
function filterOf(hash) {
  const query = new URLSearchParams(hash.split("?")[1] || "");
  return Object.fromEntries(FIELDS.map((name) => [name, query.get(name) || ""]));
}

function queryOf(filter) {
  const query = new URLSearchParams();
  for (const name of FIELDS) if (filter[name]) query.set(name, filter[name]);
  return query.toString();
}

const json = (value) => (value == null ? "" : JSON.stringify(value));

export function Audit() {
  const filter = filterOf(route.value);
  const query = queryOf(filter);
  const [users, setUsers] = useState([]);
  const [page, setPage] = useState(null);
  const [older, setOlder] = useState([]);
  // What is typed lives in state, not only in the inputs: any re-render (the people list
  // arriving, a notice) sets an input's value from its props, and would drop what was typed.
  const [draft, setDraft] = useState(filter);
  useEffect(() => setDraft(filter), [query]);
  const edit = (name) => (event) => {
    const value = event.target.value;
    setDraft((current) => ({ ...current, [name]: value }));
  };
  useEffect(() => {
    get("/users").then((answer) => setUsers(answer.items.filter((user) => user.role !== "customer"))).catch(report);
  }, []);
  useEffect(() => {
    setPage(null);
    setOlder([]);
    get(`/audit?${query}`).then(setPage).catch(report);
  }, [query]);
  if (!page) return html`<${SkeletonPage} what=${t("console.audit.loading")} blocks=${2} />`;

  const items = [...page.items, ...older.flatMap((more) => more.items)];
  const next = older.length ? older[older.length - 1].next : page.next;
  const nameOf = (id) => (id == null ? t("console.audit.system") : users.find((user) => user.id === id)?.name || `#${id}`);
  function apply(event) {
    event.preventDefault();
    navigate(`#/audit?${queryOf(draft)}`);
  }
  async function more() {
    try {
      const answer = await get(`/audit?${query}${query ? "&" : ""}cursor=${encodeURIComponent(next)}`);
      setOlder([...older, answer]);
    } catch (error) {
      report(error);
    }
  }
  const csv = `/api/v1/audit?${query}${query ? "&" : ""}format=csv`;

  return html`<main class="page audit">
    <h1>${t("console.audit.title")}</h1>
    <p class="lead">${t("console.audit.lead")}</p>
    <form class="inline-form" onSubmit=${apply} aria-label=${t("console.audit.filters")}>
      <label>${t("console.audit.from")} <input type="date" name="from" value=${draft.from} onInput=${edit("from")} /></label>
      <label>${t("console.audit.to")} <input type="date" name="to" value=${draft.to} onInput=${edit("to")} /></label>
      <label>${t("console.audit.actor")} <select name="actor" value=${draft.actor} onChange=${edit("actor")}>
        <option value="">${t("console.audit.anyone")}</option>
        ${users.map((user) => html`<option key=${user.id} value=${String(user.id)}>${user.name}</option>`)}
      </select></label>
      <label>${t("console.audit.action")} <input name="action" list="audit-actions" value=${draft.action} onInput=${edit("action")} placeholder="user." /></label>
      <datalist id="audit-actions">${FAMILIES.map((family) => html`<option value=${family} />`)}</datalist>
      <button type="submit">${t("console.audit.apply")}</button>
      <a class="button secondary" href=${csv} download>${t("console.audit.csv")}</a>
    </form>
    ${items.length === 0
      ? html`<p>${t("console.audit.empty")}</p>`
      : html`<div class="table-scroll"><table class="audit-list">
          <thead><tr>
            <th scope="col">${t("console.audit.at")}</th><th scope="col">${t("console.audit.actor")}</th>
            <th scope="col">${t("console.audit.ip")}</th><th scope="col">${t("console.audit.action")}</th>
            <th scope="col">${t("console.audit.target")}</th><th scope="col">${t("console.audit.change")}</th>
          </tr></thead>
          <tbody>${items.map((entry) => html`<tr key=${entry.id}>
            <td><time datetime=${entry.at}>${time(entry.at)}</time></td><td>${nameOf(entry.actor_id)}</td>
            <td>${entry.actor_ip || ""}</td><td><code>${entry.action}</code></td>
            <td>${entry.target_type ? `${entry.target_type} ${entry.target_id}` : ""}</td>
            <td class="change">${entry.before != null && html`<div><span class="label">${t("console.audit.before")}</span> <code>${json(entry.before)}</code></div>`}
              ${entry.after != null && html`<div><span class="label">${t("console.audit.after")}</span> <code>${json(entry.after)}</code></div>`}</td>
          </tr>`)}</tbody>
        </table></div>`}
    ${next && html`<div class="actions"><button type="button" class="secondary" onClick=${more}>${t("console.audit.older")}</button></div>`}
  </main>`;
}
