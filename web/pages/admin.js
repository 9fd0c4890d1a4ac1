// Admin basics: people (create, role, teams, capacity, skills and languages, deactivate), teams
// (create, members) and their routing (pages/routing.js),
// WhatsApp numbers and templates, the channels' webhook URLs and secrets (read-only), canned
// responses, the SLA policy (targets per priority) and the CSAT settings (pages/csat.js).

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { me, report } from "../lib/session.js";
import { api, get, patch, post } from "../lib/api.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { TeamRoutingSection, listOf } from "./routing.js";
import { CsatSettingsEditor } from "./csat.js";

const ROLES = ["agent", "supervisor", "admin", "customer"];

export function Admin() {
  // null until the first read answers (skeleton rows meanwhile).
  const [users, setUsers] = useState(null);
  const [teams, setTeams] = useState([]);
  const [error, setError] = useState(null);
  const [canned, setCanned] = useState([]);
  const [templates, setTemplates] = useState([]);
  const load = () => {
    get("/whatsapp/templates").then((page) => setTemplates(page.items)).catch(report);
    get("/canned-responses").then((page) => setCanned(page.items)).catch(report);
    get("/users")
      .then((page) => setUsers(page.items))
      .catch((failure) => {
        setUsers((previous) => previous || []);
        report(failure);
      });
    get("/teams").then((page) => setTeams(page.items)).catch(report);
  };
  useEffect(load, []);

  async function createUser(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { email: form.get("email"), name: form.get("name"), role: form.get("role"), capacity: Number(form.get("capacity")) };
    if (form.get("password")) body.password = form.get("password");
    if (form.get("team")) body.team_ids = [Number(form.get("team"))];
    try {
      await post("/users", body);
      event.target.reset();
      setError(null);
      load();
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }

  async function update(user, fields) {
    try {
      await patch(`/users/${user.id}`, fields);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  async function createTeam(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await post("/teams", { name: form.get("name"), description: form.get("description") || "" });
      event.target.reset();
      load();
    } catch (failure) {
      report(failure);
    }
  }

  async function createCanned(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await post("/canned-responses", { title: form.get("title"), body: form.get("body") });
      event.target.reset();
      load();
    } catch (failure) {
      report(failure);
    }
  }

  const staff = (users || []).filter((user) => user.role !== "customer");
  return html`<main class="page admin">
    <h1>Administration</h1>
    <section aria-labelledby="people-title">
      <h2 id="people-title">People</h2>
      <form class="inline-form" onSubmit=${createUser} aria-label="Add a user">
        <label>Email <input name="email" type="email" required /></label>
        <label>Name <input name="name" required /></label>
        <label>Role <select name="role">${ROLES.map((role) => html`<option>${role}</option>`)}</select></label>
        <label>Password <input name="password" type="password" minlength="8" autocomplete="new-password" placeholder="staff: 8+ characters" /></label>
        <label>Team <select name="team"><option value="">none</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
        <label>Capacity <input name="capacity" type="number" min="0" max="1000" value="5" /></label>
        <button type="submit">Add user</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Teams</th><th scope="col">Capacity</th><th scope="col">Skills</th><th scope="col">Languages</th><th scope="col">Active</th></tr></thead>
        ${users === null ? html`<${SkeletonRows} columns=${8} />` : html`<tbody>${staff.map((user) => html`<tr key=${user.id} data-user=${user.id}>
          <td>${user.name}</td><td>${user.email}</td>
          <td><select aria-label=${`Role of ${user.name}`} value=${user.role} disabled=${user.id === me.value.id} onChange=${(e) => update(user, { role: e.target.value })}>${ROLES.map((role) => html`<option>${role}</option>`)}</select></td>
          <td>${teams.filter((team) => user.team_ids.includes(team.id)).map((team) => team.name).join(", ")}</td>
          <td><${FieldInPlace} aria-label=${`Capacity of ${user.name}`} type="number" min="0" max="1000" value=${String(user.capacity)} onSave=${(text) => update(user, { capacity: Number(text) })} /></td>
          <td><${FieldInPlace} aria-label=${`Skills of ${user.name}`} value=${user.skills.join(", ")} placeholder="finance, care" onSave=${(text) => update(user, { skills: listOf(text) })} /></td>
          <td><${FieldInPlace} aria-label=${`Languages of ${user.name}`} value=${user.languages.join(", ")} placeholder="eng, spa" title="ISO 639-3 codes" onSave=${(text) => update(user, { languages: listOf(text) })} /></td>
          <td>${user.active ? (user.id === me.value.id ? "yes (you)" : html`<button class="small secondary" onClick=${() => update(user, { active: false })}>Deactivate</button>`) : html`<button class="small" onClick=${() => update(user, { active: true })}>Reactivate</button>`}</td>
        </tr>`)}</tbody>`}
      </table>
    </section>
    <section aria-labelledby="teams-title">
      <h2 id="teams-title">Teams</h2>
      <form class="inline-form" onSubmit=${createTeam} aria-label="Add a team">
        <label>Name <input name="name" required /></label>
        <label>Description <input name="description" /></label>
        <button type="submit">Add team</button>
      </form>
      <table>
        <thead><tr><th scope="col">Team</th><th scope="col">Members</th></tr></thead>
        <tbody>${teams.map((team) => html`<tr key=${team.id}>
          <td>${team.name}<br /><small>${team.description}</small></td>
          <td>${staff.map((user) => html`<label class="chip"><input type="checkbox" checked=${team.member_ids.includes(user.id)} onChange=${(e) => {
            const members = e.target.checked ? [...team.member_ids, user.id] : team.member_ids.filter((id) => id !== user.id);
            patch(`/teams/${team.id}`, { member_ids: members }).then(load).catch(report);
          }} />${user.name}</label>`)}</td>
        </tr>`)}</tbody>
      </table>
    </section>
    <${TeamRoutingSection} teams=${teams} />
    <${WhatsAppNumbers} templates=${templates} />
    <${ChannelSecrets} />
    <section aria-labelledby="templates-title">
      <h2 id="templates-title">WhatsApp templates</h2>
      <p>Synced from the Graph API every 15 minutes; only approved ones can be sent. <button class="small" onClick=${() => post("/whatsapp/templates/sync").then(load).catch(report)}>Sync now</button></p>
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Language</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Text</th></tr></thead>
        <tbody>${templates.map((template) => html`<tr key=${`${template.name}-${template.language}`}><td>${template.name}</td><td>${template.language}</td><td>${template.category}</td><td>${template.status}</td><td>${template.body}</td></tr>`)}</tbody>
      </table>
    </section>
    <${SlaPolicyEditor} />
    <${CsatSettingsEditor} />
    <section aria-labelledby="canned-title">
      <h2 id="canned-title">Canned responses</h2>
      <form class="inline-form" onSubmit=${createCanned} aria-label="Add a canned response">
        <label>Title <input name="title" required maxlength="100" /></label>
        <label class="wide">Text <textarea name="body" required rows="2" maxlength="4096"></textarea></label>
        <button type="submit">Add</button>
      </form>
      <ul class="canned-list">${canned.map((item) => html`<li key=${item.id}><b>${item.title}</b> — ${item.body}
        <button class="link" onClick=${() => api("DELETE", `/canned-responses/${item.id}`).then(load).catch(report)}>delete</button></li>`)}</ul>
    </section>
  </main>`;
}

/** The business numbers in `[whatsapp] numbers`, with what the Graph API says about each
 * (verified name, quality rating), the webhook's record and the synced templates. */
function WhatsAppNumbers({ templates }) {
  const [numbers, setNumbers] = useState(null);
  useEffect(() => {
    get("/whatsapp/numbers").then(setNumbers).catch(report);
  }, [templates.length]);
  if (!numbers) return null;
  const webhook = numbers.webhook;
  return html`<section aria-labelledby="numbers-title" data-section="whatsapp-numbers">
    <h2 id="numbers-title">WhatsApp numbers</h2>
    ${numbers.sandbox && html`<p>Sandbox: replies go to the built-in simulator (<a href="/sandbox/phone" target="_blank" rel="noopener">customer phone</a>), not to Meta; there is no verified name or quality rating to show.</p>`}
    <table>
      <thead><tr><th scope="col">Phone number id</th><th scope="col">Number</th><th scope="col">Verified name</th><th scope="col">Quality</th><th scope="col">Name status</th></tr></thead>
      <tbody>${numbers.items.map((number) => {
        const profile = number.profile;
        const missing = number.profile_error ? html`<span class="error">Graph API: ${number.profile_error}</span>` : html`<span class="empty">—</span>`;
        return html`<tr key=${number.phone_number_id} data-number=${number.phone_number_id}>
          <td>${number.phone_number_id}</td>
          <td>+${number.display_phone_number}</td>
          <td>${profile?.verified_name || missing}</td>
          <td>${profile?.quality_rating ? html`<span class=${`quality ${profile.quality_rating.toLowerCase()}`}>${profile.quality_rating}</span>` : html`<span class="empty">—</span>`}</td>
          <td>${profile?.name_status || html`<span class="empty">—</span>`}</td>
        </tr>`;
      })}</tbody>
    </table>
    <dl class="facts">
      <dt>Webhook</dt><dd><code>${webhook.path}</code> · signatures ${webhook.signature_check ? "checked" : html`<b class="error">not checked (no app secret)</b>`} · verify token ${webhook.verify_token_set ? "set" : html`<b class="error">not set</b>`}</dd>
      <dt>Deliveries</dt><dd>${webhook.received} received${webhook.last_received_at ? `, the last at ${new Date(webhook.last_received_at).toLocaleString()}` : ""} · ${webhook.pending} waiting · ${webhook.failed} unreadable</dd>
      <dt>Templates</dt><dd>${numbers.templates} synced, ${numbers.approved_templates} approved${numbers.business_account_id ? ` (business account ${numbers.business_account_id})` : " (no business account configured)"}</dd>
    </dl>
  </section>`;
}

/** What connecting the channels needs: the webhook URLs and the secrets in effect (configured, or
 * generated on first run and kept in the database). Read-only; secrets stay hidden until asked
 * for. Admins of the account the channels serve only: anyone else sees nothing here. */
function ChannelSecrets() {
  const [secrets, setSecrets] = useState(null);
  useEffect(() => {
    if (me.value?.role !== "admin") return;
    get("/account/channel-secrets")
      .then(setSecrets)
      .catch((failure) => failure.status !== 403 && report(failure));
  }, []);
  if (!secrets) return null;
  const { whatsapp, email } = secrets;
  return html`<section aria-labelledby="secrets-title" data-section="channel-secrets">
    <h2 id="secrets-title">Channel secrets</h2>
    <p>What Meta and your mail provider need to reach this hub. Generated ones were made on first run and are kept in the database (<code>switchboard config check</code> prints them too); set the configuration key to use your own.</p>
    <dl class="facts">
      <dt>WhatsApp webhook URL</dt><dd><code>${whatsapp.webhook_url}</code></dd>
      <dt>Verify token</dt><dd><${SecretValue} label="verify token" secret=${whatsapp.verify_token} shown /></dd>
      <dt>App secret</dt><dd><${SecretValue} label="app secret" secret=${whatsapp.app_secret} /></dd>
      <dt>Email webhook URL</dt><dd><code>${email.webhook_url}</code> with the secret in the <code>X-Switchboard-Secret</code> header</dd>
      <dt>Email inbound secret</dt><dd><${SecretValue} label="email inbound secret" secret=${email.inbound_secret} /></dd>
    </dl>
  </section>`;
}

/** One secret: hidden behind a button unless `shown`, with where it came from. */
function SecretValue({ label, secret, shown: initially = false }) {
  const [shown, setShown] = useState(initially);
  const origin = secret.generated ? "generated" : "configured";
  if (!secret.value) return html`<span>not set</span>`;
  return html`${shown ? html`<code class="secret" data-secret=${label}>${secret.value}</code>` : html`<span aria-label=${`${label} hidden`}>••••••••</span>`}
    ${" "}${!initially && html`<button type="button" class="small secondary" aria-label=${`${shown ? "Hide" : "Reveal"} the ${label}`} onClick=${() => setShown(!shown)}>${shown ? "Hide" : "Reveal"}</button>`}
    ${" "}<small>(${origin})</small>`;
}

/** A person's field edited in place: what is typed survives the page re-rendering under it (the
 * teams or templates arriving a moment later, another row saved), and is saved when the field is
 * left; the stored value comes back only while nobody is editing the field. */
function FieldInPlace({ value, onSave, ...attributes }) {
  const [text, setText] = useState(value);
  const editing = useRef(false);
  useEffect(() => {
    if (!editing.current) setText(value);
  }, [value]);
  return html`<input ...${attributes} value=${text}
    onFocus=${() => (editing.current = true)}
    onInput=${(event) => setText(event.target.value)}
    onChange=${(event) => onSave(event.target.value)}
    onBlur=${() => (editing.current = false)} />`;
}

const PRIORITIES = ["urgent", "high", "medium", "low"];

/** Minutes as the admin typed them; blank means no target. */
const minutesOrNull = (text) => (String(text ?? "").trim() === "" ? null : Number(text));

/** The editor's own copy of a policy: every input is controlled, so a re-render never resets
 * what the admin typed. */
function draftOf(policy) {
  const targets = {};
  for (const priority of PRIORITIES) {
    const target = policy.targets.find((candidate) => candidate.priority === priority) || {};
    targets[priority] = {
      first: target.first_response_minutes ?? "",
      resolution: target.resolution_minutes ?? "",
      window: target.window_minutes ?? "",
    };
  }
  return { enabled: policy.enabled, warning_percent: policy.warning_percent, targets, business_hours: policy.business_hours };
}

/** The SLA policy: on/off, warning threshold, first-response and resolution targets per
 * priority, and optional business hours. A refusal names the field, shown as the server said it. */
function SlaPolicyEditor() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get("/account/sla-policy").then((policy) => setDraft(draftOf(policy))).catch(report);
  }, []);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  const editTarget = (priority, change) => edit({ targets: { ...draft.targets, [priority]: { ...draft.targets[priority], ...change } } });
  const hours = draft.business_hours;

  async function save(event) {
    event.preventDefault();
    setSaved(false);
    const body = {
      enabled: draft.enabled,
      warning_percent: Number(draft.warning_percent),
      targets: PRIORITIES.map((priority) => ({
        priority,
        first_response_minutes: minutesOrNull(draft.targets[priority].first),
        resolution_minutes: minutesOrNull(draft.targets[priority].resolution),
        window_minutes: minutesOrNull(draft.targets[priority].window),
      })).filter((row) => row.first_response_minutes !== null || row.resolution_minutes !== null || row.window_minutes !== null),
      business_hours: hours,
    };
    try {
      setDraft(draftOf(await api("PUT", "/account/sla-policy", body)));
      setError(null);
      setSaved(true);
    } catch (failure) {
      // `targets[2].resolution_minutes` → `medium resolution_minutes`: the row the admin sees.
      const field = failure.field
        ?.replace(/^targets\[(\d+)\]\.?/, (_, index) => `${body.targets[Number(index)]?.priority ?? "targets"} `)
        .replace(/^business_hours\.periods\[(\d+)\]\.?/, (_, index) => `business hours, ${hours?.periods[Number(index)]?.weekday ?? ""} period `)
        .replace(/^business_hours\./, "business hours ");
      setError(field ? `${field.trim()}: ${failure.message}` : failure.message);
    }
  }

  return html`<section aria-labelledby="sla-title">
    <h2 id="sla-title">SLA policy</h2>
    <p>Targets in minutes from when a ticket is opened (calendar time, or working time only with business hours); blank means no target. The clocks stop while a ticket is pending. The WhatsApp window target is different: a reply is due that many minutes before the customer's 24-hour window closes, in calendar time, renewed each time they write. Changes apply to tickets opened or re-prioritised afterwards.</p>
    <form class="sla-policy" onSubmit=${save} aria-label="SLA policy">
      <div class="policy-row">
        <label><input type="checkbox" checked=${draft.enabled} onClick=${(e) => edit({ enabled: e.target.checked })} /> Enabled</label>
        <label>Warn at <input type="number" min="1" max="99" value=${draft.warning_percent} onInput=${(e) => edit({ warning_percent: e.target.value })} required /> % of the target</label>
      </div>
      <table>
        <thead><tr><th scope="col">Priority</th><th scope="col">First response (min)</th><th scope="col">Resolution (min)</th><th scope="col">WhatsApp window: reply this long before it closes (min)</th></tr></thead>
        <tbody>${PRIORITIES.map((priority) => html`<tr key=${priority} data-priority=${priority}>
          <th scope="row"><span class=${`priority ${priority}`}>${priority}</span></th>
          <td><input aria-label=${`First response target for ${priority}, minutes`} type="number" min="1" value=${draft.targets[priority].first} onInput=${(e) => editTarget(priority, { first: e.target.value })} /></td>
          <td><input aria-label=${`Resolution target for ${priority}, minutes`} type="number" min="1" value=${draft.targets[priority].resolution} onInput=${(e) => editTarget(priority, { resolution: e.target.value })} /></td>
          <td><input aria-label=${`WhatsApp window target for ${priority}, minutes before it closes`} type="number" min="1" max="1439" value=${draft.targets[priority].window} onInput=${(e) => editTarget(priority, { window: e.target.value })} /></td>
        </tr>`)}</tbody>
      </table>
      <${BusinessHoursEditor} hours=${hours} setHours=${(next) => edit({ business_hours: next })} />
      <button type="submit">Save SLA policy</button>
      ${saved && html` <span role="status">Saved.</span>`}
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** Office hours to start from: Monday to Friday, 09:00–17:00, in the browser's time zone. */
function defaultHours() {
  return {
    time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC",
    periods: WEEKDAYS.slice(0, 5).map((weekday) => ({ weekday, start: "09:00", end: "17:00" })),
    holidays: [],
  };
}

/** Business hours: off (calendar time), or working periods per weekday in a time zone, minus
 * holidays. A day may have several periods (a lunch break); a day without one is closed. */
function BusinessHoursEditor({ hours, setHours }) {
  const period = (index, change) => setHours({ ...hours, periods: hours.periods.map((p, at) => (at === index ? { ...p, ...change } : p)) });
  return html`<fieldset class="business-hours"><legend>Business hours</legend>
    <label class="inline"><input type="checkbox" checked=${Boolean(hours)} onClick=${(e) => setHours(e.target.checked ? defaultHours() : null)} /> Count working time only</label>
    ${hours && html`
      <label>Time zone <input value=${hours.time_zone} onInput=${(e) => setHours({ ...hours, time_zone: e.target.value })} placeholder="Europe/Lisbon" required /></label>
      <table>
        <thead><tr><th scope="col">Day</th><th scope="col">Opens</th><th scope="col">Closes</th><th scope="col"><span class="visually-hidden">Remove</span></th></tr></thead>
        <tbody>${hours.periods.map((p, index) => html`<tr key=${index} data-period=${index}>
          <td><select aria-label=${`Day of period ${index + 1}`} value=${p.weekday} onChange=${(e) => period(index, { weekday: e.target.value })}>${WEEKDAYS.map((day) => html`<option value=${day}>${day}</option>`)}</select></td>
          <td><input aria-label=${`Opens, period ${index + 1}`} type="time" value=${p.start} onInput=${(e) => period(index, { start: e.target.value })} required /></td>
          <td><input aria-label=${`Closes, period ${index + 1}`} type="time" value=${p.end === "24:00" ? "23:59" : p.end} onInput=${(e) => period(index, { end: e.target.value })} required /></td>
          <td><button type="button" class="link" onClick=${() => setHours({ ...hours, periods: hours.periods.filter((_, at) => at !== index) })}>remove</button></td>
        </tr>`)}</tbody>
      </table>
      <button type="button" class="small secondary" onClick=${() => setHours({ ...hours, periods: [...hours.periods, { weekday: "sat", start: "09:00", end: "13:00" }] })}>Add period</button>
      <label>Holidays <input value=${hours.holidays.join(", ")} placeholder="2026-12-25, 2027-01-01"
        onChange=${(e) => setHours({ ...hours, holidays: e.target.value.split(/[,\s]+/).filter(Boolean) })} /></label>`}
  </fieldset>`;
}
