// Automation rules (admins): the list in run order (enable/disable, move up/down, last run, runs
// in the last 24 hours), the editor (trigger, the `while`/`if` queries with the query box's
// suggestions, the actions as JSON) with a live dry run of the rule being written, and a rule's
// run log.

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { del, get, patch, post } from "../lib/api.js";
import { suggest } from "../lib/query.js";
import { ago, time } from "../lib/format.js";

const EVENTS = ["ticket_created", "customer_replied", "agent_replied", "status_changed", "priority_changed", "assigned", "tag_added", "sla_warning", "sla_breached", "window_closing"];
const SAMPLE_ACTIONS = `[
  {"notify": "supervisors", "message": "Unassigned for 2 hours"}
]`;
const EMPTY = { id: null, name: "", kind: "time", event: "ticket_created", wait: "PT2H", whileQuery: "assignee: none status: new,open", hours: "calendar", condition: "", actions: SAMPLE_ACTIONS };

export function Automations() {
  const [rules, setRules] = useState([]);
  const [editing, setEditing] = useState(null);
  const [runsOf, setRunsOf] = useState(null);
  const [known, setKnown] = useState({});
  const load = () => get("/automations").then((page) => setRules(page.items)).catch(report);
  useEffect(() => {
    load();
    Promise.all([get("/account/config"), get("/teams"), get("/users")])
      .then(([config, teams, people]) => setKnown({
        statuses: config.statuses.map((status) => status.key),
        types: config.ticket_types || [],
        categories: (config.categories || []).map((category) => category.name),
        customFields: (config.custom_fields || []).map((field) => field.key),
        teams: teams.items.map((team) => team.name),
        agents: people.items.filter((user) => user.role !== "customer").map((user) => user.email),
      }))
      .catch(report);
  }, []);

  async function change(rule, fields) {
    try {
      await patch(`/automations/${rule.id}`, fields);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  /** Swaps the rule's place in the run order with its neighbour's. */
  async function move(index, step) {
    const other = rules[index + step];
    if (!other) return;
    const rule = rules[index];
    const [mine, theirs] = rule.position === other.position ? [other.position + step, rule.position] : [other.position, rule.position];
    await change(rule, { position: mine });
    await change(other, { position: theirs });
  }

  async function remove(rule) {
    if (!window.confirm(`Delete the rule “${rule.name}”?`)) return;
    try {
      await del(`/automations/${rule.id}`);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  return html`<main class="automations">
    <h1>Automation rules</h1>
    <p class="muted">Rules run in this order after each change to a ticket; time rules fire once a ticket has matched their query for long enough.</p>
    <table class="rules">
      <thead><tr><th scope="col">Order</th><th scope="col">Rule</th><th scope="col">When</th><th scope="col">Enabled</th><th scope="col">Last run</th><th scope="col">Runs (24 h)</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>
        ${rules.map((rule, index) => html`<tr key=${rule.id}>
          <td>
            <button type="button" class="small secondary" aria-label=${`Move ${rule.name} up`} disabled=${index === 0} onClick=${() => move(index, -1)}>↑</button>
            <button type="button" class="small secondary" aria-label=${`Move ${rule.name} down`} disabled=${index === rules.length - 1} onClick=${() => move(index, 1)}>↓</button>
          </td>
          <td>${rule.name}</td>
          <td><code>${describe(rule.when)}</code>${rule.if ? html` <small>if <code>${rule.if}</code></small>` : ""}</td>
          <td><input type="checkbox" aria-label=${`Enabled: ${rule.name}`} checked=${rule.enabled} onChange=${(event) => change(rule, { enabled: event.target.checked })} /></td>
          <td>${rule.last_run_at ? html`<time datetime=${rule.last_run_at} title=${time(rule.last_run_at)}>${ago(rule.last_run_at)}</time>` : "never"}</td>
          <td>${rule.runs_last_day}</td>
          <td>
            <button type="button" class="small secondary" onClick=${() => setEditing(fromRule(rule))}>Edit</button>
            <button type="button" class="small secondary" onClick=${() => setRunsOf(rule)}>Run log</button>
            <button type="button" class="small secondary" onClick=${() => remove(rule)}>Delete</button>
          </td>
        </tr>`)}
      </tbody>
    </table>
    ${rules.length === 0 && html`<p class="muted">No rules yet.</p>`}
    <p><button type="button" onClick=${() => setEditing({ ...EMPTY })}>New rule</button></p>
    ${editing && html`<${Editor} key=${editing.id ?? "new"} initial=${editing} known=${known}
      onDone=${() => { setEditing(null); load(); }} />`}
    ${runsOf && html`<${RunLog} key=${runsOf.id} rule=${runsOf} />`}
  </main>`;
}

function describe(when) {
  if (when.event) return `on ${when.event}`;
  return `${when.while} for ${when.for}${when.hours === "business" ? " (business hours)" : ""}`;
}

function fromRule(rule) {
  const time = !rule.when.event;
  return {
    id: rule.id,
    name: rule.name,
    kind: time ? "time" : "event",
    event: rule.when.event || "ticket_created",
    wait: rule.when.for || "PT2H",
    whileQuery: rule.when.while || "",
    hours: rule.when.hours || "calendar",
    condition: rule.if || "",
    actions: JSON.stringify(rule.then, null, 2),
  };
}

/** The rule as the API takes it; throws when the actions are not JSON. */
function toBody(draft) {
  let then;
  try {
    then = JSON.parse(draft.actions);
  } catch {
    throw Object.assign(new Error("The actions are not valid JSON."), { field: "then" });
  }
  const when = draft.kind === "event" ? { event: draft.event } : { for: draft.wait, while: draft.whileQuery, hours: draft.hours };
  const body = { name: draft.name, when, then };
  if (draft.condition.trim()) body.if = draft.condition;
  return body;
}

function Editor({ initial, known, onDone }) {
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState(null);
  const [preview, setPreview] = useState(null);
  const set = (fields) => setDraft((old) => ({ ...old, ...fields }));
  const timer = useRef(null);

  // The live dry run: what the rule being written matches now, a moment after typing stops.
  useEffect(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(async () => {
      try {
        setPreview({ result: await post("/automations/dry-run", { ...toBody(draft), name: draft.name || "preview" }) });
      } catch (failure) {
        setPreview({ error: failure.field ? `${failure.field}: ${failure.message}` : failure.message });
      }
    }, 400);
    return () => clearTimeout(timer.current);
  }, [draft.kind, draft.event, draft.wait, draft.whileQuery, draft.hours, draft.condition, draft.actions]);

  async function save(event) {
    event.preventDefault();
    try {
      const body = toBody(draft);
      if (draft.id) await patch(`/automations/${draft.id}`, body);
      else await post("/automations", body);
      onDone();
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }

  return html`<section class="rule-editor" aria-labelledby="rule-editor-title">
    <h2 id="rule-editor-title">${draft.id ? "Edit rule" : "New rule"}</h2>
    <form onSubmit=${save}>
      <label>Name <input name="name" required maxlength="200" value=${draft.name} onInput=${(event) => set({ name: event.target.value })} /></label>
      <fieldset>
        <legend>When</legend>
        <label><input type="radio" name="kind" value="time" checked=${draft.kind === "time"} onChange=${() => set({ kind: "time" })} /> A ticket has matched a query for a while</label>
        <label><input type="radio" name="kind" value="event" checked=${draft.kind === "event"} onChange=${() => set({ kind: "event" })} /> Something happens</label>
        ${draft.kind === "event"
          ? html`<label>Event <select name="event" value=${draft.event} onChange=${(event) => set({ event: event.target.value })}>
              ${EVENTS.map((name) => html`<option value=${name}>${name}</option>`)}
            </select></label>`
          : html`<${QueryField} id="rule-while" label="While the ticket matches" value=${draft.whileQuery} known=${known} onChange=${(whileQuery) => set({ whileQuery })} />
            <label>For (ISO 8601, e.g. PT2H, P3D) <input name="for" value=${draft.wait} onInput=${(event) => set({ wait: event.target.value })} /></label>
            <label>Counting <select name="hours" value=${draft.hours} onChange=${(event) => set({ hours: event.target.value })}>
              <option value="calendar">every hour</option><option value="business">business hours only</option>
            </select></label>`}
      </fieldset>
      <${QueryField} id="rule-if" label="If (optional)" value=${draft.condition} known=${known} onChange=${(condition) => set({ condition })} />
      <label>Then (actions, JSON)
        <textarea name="then" rows="6" spellcheck="false" value=${draft.actions} onInput=${(event) => set({ actions: event.target.value })}></textarea>
      </label>
      <p class="muted"><small>Actions: assign, set, add_tags, remove_tags, notify (+ message), reply (+ template outside the WhatsApp window), note, webhook. See the README.</small></p>
      ${error && html`<p class="query-error" role="alert">${error}</p>`}
      <button type="submit">${draft.id ? "Save rule" : "Create rule"}</button>
      <button type="button" class="secondary" onClick=${onDone}>Cancel</button>
    </form>
    <section class="dry-run" aria-live="polite" aria-labelledby="dry-run-title">
      <h3 id="dry-run-title">Dry run</h3>
      ${!preview && html`<p class="muted">Checking…</p>`}
      ${preview?.error && html`<p class="query-error">${preview.error}</p>`}
      ${preview?.result && html`<p>${preview.result.total} matching ticket${preview.result.total === 1 ? "" : "s"} now.</p>
        <ul>${preview.result.items.map((ticket) => html`<li key=${ticket.id}>
          <a href=${`#/tickets/${ticket.id}`}>#${ticket.number} ${ticket.subject}</a> <small>(${ticket.status})</small>
          ${ticket.fires_at && html` — fires <time datetime=${ticket.fires_at}>${time(ticket.fires_at)}</time>`}
        </li>`)}</ul>`}
    </section>
  </section>`;
}

/** A query input with the queue's suggestions for what is being typed. */
function QueryField({ id, label, value, known, onChange }) {
  const [focused, setFocused] = useState(false);
  const options = focused ? suggest(value, known) : [];
  return html`<div class="query">
    <label for=${id}>${label}</label>
    <input id=${id} type="text" autocomplete="off" spellcheck="false" value=${value}
      onInput=${(event) => onChange(event.target.value)}
      onFocus=${() => setFocused(true)} onBlur=${() => setTimeout(() => setFocused(false), 150)} />
    ${options.length > 0 && html`<ul class="suggestions" role="listbox" aria-label="Suggestions">
      ${options.map((option) => html`<li key=${option.text}><button type="button" class="link" onMouseDown=${(event) => event.preventDefault()} onClick=${() => onChange(option.text)}>${option.label}</button></li>`)}
    </ul>`}
  </div>`;
}

function RunLog({ rule }) {
  const [runs, setRuns] = useState(null);
  useEffect(() => {
    get(`/automations/${rule.id}/runs`).then((page) => setRuns(page.items)).catch(report);
  }, [rule.id]);
  return html`<section class="run-log" aria-labelledby="run-log-title">
    <h2 id="run-log-title">Run log: ${rule.name}</h2>
    ${runs === null ? html`<p class="muted">Loading…</p>` : runs.length === 0 ? html`<p class="muted">It has not run yet.</p>` : html`<table>
      <thead><tr><th scope="col">When</th><th scope="col">Ticket</th><th scope="col">Result</th><th scope="col">Detail</th></tr></thead>
      <tbody>${runs.map((run) => html`<tr key=${run.id}>
        <td><time datetime=${run.ran_at}>${time(run.ran_at)}</time></td>
        <td><a href=${`#/tickets/${run.ticket_id}`}>ticket ${run.ticket_id}</a></td>
        <td>${run.result}</td>
        <td>${run.detail.error || ""}${run.detail.late_by_ms ? ` late by ${Math.round(run.detail.late_by_ms / 1000)} s` : ""}${run.detail.depth > 1 ? ` (cascade depth ${run.detail.depth})` : ""}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
