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
import { t } from "../lib/i18n.js";

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
    if (!window.confirm(t("console.automations.confirm_delete", { name: rule.name }))) return;
    try {
      await del(`/automations/${rule.id}`);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  return html`<main class="automations">
    <h1>${t("console.automations.title")}</h1>
    <p class="muted">${t("console.automations.lead")}</p>
    <table class="rules">
      <thead><tr><th scope="col">${t("console.automations.order")}</th><th scope="col">${t("console.automations.rule")}</th><th scope="col">${t("console.automations.when")}</th><th scope="col">${t("console.admin.enabled")}</th><th scope="col">${t("console.automations.last_run")}</th><th scope="col">${t("console.automations.runs_day")}</th><th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th></tr></thead>
      <tbody>
        ${rules.map((rule, index) => html`<tr key=${rule.id}>
          <td>
            <button type="button" class="small secondary" aria-label=${t("console.automations.move_up", { name: rule.name })} disabled=${index === 0} onClick=${() => move(index, -1)}>↑</button>
            <button type="button" class="small secondary" aria-label=${t("console.automations.move_down", { name: rule.name })} disabled=${index === rules.length - 1} onClick=${() => move(index, 1)}>↓</button>
          </td>
          <td>${rule.name}</td>
          <td><code>${describe(rule.when)}</code>${rule.if ? html` <small>${t("console.automations.if")} <code>${rule.if}</code></small>` : ""}</td>
          <td><input type="checkbox" aria-label=${t("console.automations.enabled_of", { name: rule.name })} checked=${rule.enabled} onChange=${(event) => change(rule, { enabled: event.target.checked })} /></td>
          <td>${rule.last_run_at ? html`<time datetime=${rule.last_run_at} title=${time(rule.last_run_at)}>${ago(rule.last_run_at)}</time>` : t("console.preferences.digest_off")}</td>
          <td>${rule.runs_last_day}</td>
          <td>
            <button type="button" class="small secondary" onClick=${() => setEditing(fromRule(rule))}>${t("console.automations.edit")}</button>
            <button type="button" class="small secondary" onClick=${() => setRunsOf(rule)}>${t("console.automations.run_log")}</button>
            <button type="button" class="small secondary" onClick=${() => remove(rule)}>${t("console.automations.delete")}</button>
          </td>
        </tr>`)}
      </tbody>
    </table>
    ${rules.length === 0 && html`<p class="muted">${t("console.automations.empty")}</p>`}
    <p><button type="button" onClick=${() => setEditing({ ...EMPTY })}>${t("console.automations.new")}</button></p>
    ${editing && html`<${Editor} key=${editing.id ?? "new"} initial=${editing} known=${known}
      onDone=${() => { setEditing(null); load(); }} />`}
    ${runsOf && html`<${RunLog} key=${runsOf.id} rule=${runsOf} />`}
  </main>`;
}

function describe(when) {
  if (when.event) return t("console.automations.on_event", { event: when.event });
  return `${t("console.automations.while_for", { query: when.while, wait: when.for })}${when.hours === "business" ? ` ${t("console.automations.business_hours")}` : ""}`;
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
    throw Object.assign(new Error(t("console.automations.bad_json")), { field: "then" });
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
    <h2 id="rule-editor-title">${draft.id ? t("console.automations.edit_rule") : t("console.automations.new")}</h2>
    <form onSubmit=${save}>
      <label>${t("console.queue.view_name")} <input name="name" required maxlength="200" value=${draft.name} onInput=${(event) => set({ name: event.target.value })} /></label>
      <fieldset>
        <legend>${t("console.automations.when")}</legend>
        <label><input type="radio" name="kind" value="time" checked=${draft.kind === "time"} onChange=${() => set({ kind: "time" })} /> ${t("console.automations.kind_time")}</label>
        <label><input type="radio" name="kind" value="event" checked=${draft.kind === "event"} onChange=${() => set({ kind: "event" })} /> ${t("console.automations.kind_event")}</label>
        ${draft.kind === "event"
          ? html`<label>${t("console.automations.event")} <select name="event" value=${draft.event} onChange=${(event) => set({ event: event.target.value })}>
              ${EVENTS.map((name) => html`<option value=${name}>${name}</option>`)}
            </select></label>`
          : html`<${QueryField} id="rule-while" label=${t("console.automations.while")} value=${draft.whileQuery} known=${known} onChange=${(whileQuery) => set({ whileQuery })} />
            <label>${t("console.automations.for")} <input name="for" value=${draft.wait} onInput=${(event) => set({ wait: event.target.value })} /></label>
            <label>${t("console.automations.counting")} <select name="hours" value=${draft.hours} onChange=${(event) => set({ hours: event.target.value })}>
              <option value="calendar">${t("console.preferences.digest_hourly")}</option><option value="business">${t("console.automations.business_only")}</option>
            </select></label>`}
      </fieldset>
      <${QueryField} id="rule-if" label=${t("console.automations.if_optional")} value=${draft.condition} known=${known} onChange=${(condition) => set({ condition })} />
      <label>${t("console.automations.then")}
        <textarea name="then" rows="6" spellcheck="false" value=${draft.actions} onInput=${(event) => set({ actions: event.target.value })}></textarea>
      </label>
      <p class="muted"><small>${t("console.automations.actions_help")}</small></p>
      ${error && html`<p class="query-error" role="alert">${error}</p>`}
      <button type="submit">${draft.id ? t("console.automations.save") : t("console.automations.create")}</button>
      <button type="button" class="secondary" onClick=${onDone}>${t("console.cancel")}</button>
    </form>
    <section class="dry-run" aria-live="polite" aria-labelledby="dry-run-title">
      <h3 id="dry-run-title">${t("console.automations.dry_run")}</h3>
      ${!preview && html`<p class="muted">${t("console.automations.checking")}</p>`}
      ${preview?.error && html`<p class="query-error">${preview.error}</p>`}
      ${preview?.result && html`<p>${preview.result.total === 1 ? t("console.automations.one_matching") : t("console.automations.matching", { count: preview.result.total })}</p>
        <ul>${preview.result.items.map((ticket) => html`<li key=${ticket.id}>
          <a href=${`#/tickets/${ticket.id}`}>#${ticket.number} ${ticket.subject}</a> <small>(${ticket.status})</small>
          ${ticket.fires_at && html` — ${t("console.automations.fires")} <time datetime=${ticket.fires_at}>${time(ticket.fires_at)}</time>`}
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
    ${options.length > 0 && html`<ul class="suggestions" role="listbox" aria-label=${t("console.queue.suggestions")}>
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
    <h2 id="run-log-title">${t("console.automations.run_log_of", { name: rule.name })}</h2>
    ${runs === null ? html`<p class="muted">${t("console.automations.loading")}</p>` : runs.length === 0 ? html`<p class="muted">${t("console.automations.not_run")}</p>` : html`<table>
      <thead><tr><th scope="col">${t("console.automations.when")}</th><th scope="col">${t("console.automations.ticket")}</th><th scope="col">${t("console.automations.result")}</th><th scope="col">${t("console.automations.detail")}</th></tr></thead>
      <tbody>${runs.map((run) => html`<tr key=${run.id}>
        <td><time datetime=${run.ran_at}>${time(run.ran_at)}</time></td>
        <td><a href=${`#/tickets/${run.ticket_id}`}>${t("console.presence_board.ticket", { id: run.ticket_id })}</a></td>
        <td>${run.result}</td>
        <td>${run.detail.error || ""}${run.detail.late_by_ms ? ` ${t("console.automations.late_by", { seconds: Math.round(run.detail.late_by_ms / 1000) })}` : ""}${run.detail.depth > 1 ? ` ${t("console.automations.cascade", { depth: run.detail.depth })}` : ""}</td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
