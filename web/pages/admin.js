// Admin basics: people (create, role, teams, capacity, skills and languages, deactivate), teams
// (create, members) and their routing (pages/routing.js),
// WhatsApp numbers and templates, the channels' webhook URLs and secrets (read-only), canned
// responses, the SLA policy (targets per priority), the security policy (pages/security-policy.js),
// single sign-on (pages/sso.js) and the CSAT settings (pages/csat.js).

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { FieldInPlace } from "../lib/field.js";
import { me, report } from "../lib/session.js";
import { api, get, patch, post } from "../lib/api.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { time } from "../lib/format.js";
import { TeamRoutingSection, listOf } from "./routing.js";
import { t, tParts } from "../lib/i18n.js";
import { CsatSettingsEditor } from "./csat.js";
import { SecurityPolicyEditor } from "./security-policy.js";
import { DataProtectionSection } from "./data-protection.js";
import { SsoSettingsEditor } from "./sso.js";

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
    <h1>${t("console.admin.title")}</h1>
    <section aria-labelledby="people-title">
      <h2 id="people-title">${t("console.admin.people")}</h2>
      <form class="inline-form" onSubmit=${createUser} aria-label=${t("console.admin.add_user_label")}>
        <label>${t("console.login.email")} <input name="email" type="email" required /></label>
        <label>${t("console.queue.view_name")} <input name="name" required /></label>
        <label>${t("console.admin.role")} <select name="role">${ROLES.map((role) => html`<option value=${role}>${t(`console.role.${role}`)}</option>`)}</select></label>
        <label>${t("console.login.password")} <input name="password" type="password" minlength="8" autocomplete="new-password" placeholder=${t("console.admin.password_placeholder")} /></label>
        <label>${t("console.bulk.team")} <select name="team"><option value="">${t("console.bulk.none")}</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
        <label>${t("console.admin.capacity")} <input name="capacity" type="number" min="0" max="1000" value="5" /></label>
        <button type="submit">${t("console.admin.add_user")}</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table>
        <thead><tr><th scope="col">${t("console.queue.view_name")}</th><th scope="col">${t("console.login.email")}</th><th scope="col">${t("console.admin.role")}</th><th scope="col">${t("console.admin.teams")}</th><th scope="col">${t("console.admin.capacity")}</th><th scope="col">${t("console.admin.skills")}</th><th scope="col">${t("console.admin.languages")}</th><th scope="col">${t("console.admin.active")}</th></tr></thead>
        ${users === null ? html`<${SkeletonRows} columns=${8} />` : html`<tbody>${staff.map((user) => html`<tr key=${user.id} data-user=${user.id}>
          <td>${user.name}</td><td>${user.email}</td>
          <td><select aria-label=${t("console.admin.role_of", { name: user.name })} value=${user.role} disabled=${user.id === me.value.id} onChange=${(e) => update(user, { role: e.target.value })}>${ROLES.map((role) => html`<option value=${role}>${t(`console.role.${role}`)}</option>`)}</select></td>
          <td>${teams.filter((team) => user.team_ids.includes(team.id)).map((team) => team.name).join(", ")}</td>
          <td><${FieldInPlace} aria-label=${t("console.admin.capacity_of", { name: user.name })} type="number" min="0" max="1000" value=${String(user.capacity)} onSave=${(text) => update(user, { capacity: Number(text) })} /></td>
          <td><${FieldInPlace} aria-label=${t("console.admin.skills_of", { name: user.name })} value=${user.skills.join(", ")} placeholder=${t("console.admin.skills_placeholder")} onSave=${(text) => update(user, { skills: listOf(text) })} /></td>
          <td><${FieldInPlace} aria-label=${t("console.admin.languages_of", { name: user.name })} value=${user.languages.join(", ")} placeholder="eng, spa" title=${t("console.admin.languages_title")} onSave=${(text) => update(user, { languages: listOf(text) })} /></td>
          <td>${user.active ? (user.id === me.value.id ? t("console.admin.yes_you") : html`<button class="small secondary" onClick=${() => update(user, { active: false })}>${t("console.admin.deactivate")}</button>`) : html`<button class="small" onClick=${() => update(user, { active: true })}>${t("console.admin.reactivate")}</button>`}</td>
        </tr>`)}</tbody>`}
      </table>
    </section>
    <section aria-labelledby="teams-title">
      <h2 id="teams-title">${t("console.admin.teams")}</h2>
      <form class="inline-form" onSubmit=${createTeam} aria-label=${t("console.admin.add_team_label")}>
        <label>${t("console.queue.view_name")} <input name="name" required /></label>
        <label>${t("console.admin.description")} <input name="description" /></label>
        <button type="submit">${t("console.admin.add_team")}</button>
      </form>
      <table>
        <thead><tr><th scope="col">${t("console.bulk.team")}</th><th scope="col">${t("console.admin.members")}</th></tr></thead>
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
      <h2 id="templates-title">${t("console.admin.templates")}</h2>
      <p>${t("console.admin.templates_lead")} <button class="small" onClick=${() => post("/whatsapp/templates/sync").then(load).catch(report)}>${t("console.admin.sync_now")}</button></p>
      <table>
        <thead><tr><th scope="col">${t("console.queue.view_name")}</th><th scope="col">${t("console.preferences.language")}</th><th scope="col">${t("console.ticket.category")}</th><th scope="col">${t("console.queue.status")}</th><th scope="col">${t("console.admin.text")}</th></tr></thead>
        <tbody>${templates.map((template) => html`<tr key=${`${template.name}-${template.language}`}><td>${template.name}</td><td>${template.language}</td><td>${template.category}</td><td>${template.status}</td><td>${template.body}</td></tr>`)}</tbody>
      </table>
    </section>
    <${SlaPolicyEditor} />
    <${SecurityPolicyEditor} />
    <${DataProtectionSection} />
    <${SsoSettingsEditor} />
    <${CsatSettingsEditor} />
    <section aria-labelledby="canned-title">
      <h2 id="canned-title">${t("console.admin.canned")}</h2>
      <form class="inline-form" onSubmit=${createCanned} aria-label=${t("console.admin.add_canned")}>
        <label>${t("console.admin.canned_title")} <input name="title" required maxlength="100" /></label>
        <label class="wide">${t("console.admin.text")} <textarea name="body" required rows="2" maxlength="4096"></textarea></label>
        <button type="submit">${t("console.bulk.add")}</button>
      </form>
      <ul class="canned-list">${canned.map((item) => html`<li key=${item.id}><b>${item.title}</b> — ${item.body}
        <button class="link" onClick=${() => api("DELETE", `/canned-responses/${item.id}`).then(load).catch(report)}>${t("console.admin.delete")}</button></li>`)}</ul>
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
    <h2 id="numbers-title">${t("console.admin.numbers")}</h2>
    ${numbers.sandbox && html`<p>${tParts("console.admin.numbers_sandbox", { phone: html`<a href="/sandbox/phone" target="_blank" rel="noopener">${t("console.admin.customer_phone")}</a>` })}</p>`}
    <table>
      <thead><tr><th scope="col">${t("console.admin.phone_number_id")}</th><th scope="col">${t("console.conversations.number")}</th><th scope="col">${t("console.admin.verified_name")}</th><th scope="col">${t("console.admin.quality")}</th><th scope="col">${t("console.admin.name_status")}</th></tr></thead>
      <tbody>${numbers.items.map((number) => {
        const profile = number.profile;
        const missing = number.profile_error ? html`<span class="error">${t("console.admin.graph_error", { error: number.profile_error })}</span>` : html`<span class="empty">—</span>`;
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
      <dt>Webhook</dt><dd><code>${webhook.path}</code> · ${t("console.admin.signatures")} ${webhook.signature_check ? t("console.admin.checked") : html`<b class="error">${t("console.admin.not_checked")}</b>`} · ${t("console.admin.verify_token_lower")} ${webhook.verify_token_set ? t("console.admin.set") : html`<b class="error">${t("console.admin.not_set")}</b>`}</dd>
      <dt>${t("console.admin.deliveries")}</dt><dd>${t("console.admin.received", { count: webhook.received })}${webhook.last_received_at ? t("console.admin.last_at", { time: time(webhook.last_received_at) }) : ""} · ${t("console.admin.waiting", { count: webhook.pending })} · ${t("console.admin.unreadable", { count: webhook.failed })}</dd>
      <dt>${t("console.admin.templates_short")}</dt><dd>${t("console.admin.synced", { count: numbers.templates, approved: numbers.approved_templates })}${numbers.business_account_id ? ` ${t("console.admin.business_account", { id: numbers.business_account_id })}` : ` ${t("console.admin.no_business_account")}`}</dd>
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
    <h2 id="secrets-title">${t("console.admin.secrets")}</h2>
    <p>${tParts("console.admin.secrets_lead", { command: html`<code>switchboard config check</code>` })}</p>
    <dl class="facts">
      <dt>${t("console.admin.wa_webhook_url")}</dt><dd><code>${whatsapp.webhook_url}</code></dd>
      <dt>${t("console.admin.verify_token")}</dt><dd><${SecretValue} label=${t("console.admin.verify_token_lower")} secret=${whatsapp.verify_token} shown /></dd>
      <dt>${t("console.admin.app_secret")}</dt><dd><${SecretValue} label=${t("console.admin.app_secret_lower")} secret=${whatsapp.app_secret} /></dd>
      <dt>${t("console.admin.email_webhook_url")}</dt><dd><code>${email.webhook_url}</code> ${tParts("console.admin.email_webhook_header", { header: html`<code>X-Switchboard-Secret</code>` })}</dd>
      <dt>${t("console.admin.email_secret")}</dt><dd><${SecretValue} label=${t("console.admin.email_secret_lower")} secret=${email.inbound_secret} /></dd>
    </dl>
  </section>`;
}

/** One secret: hidden behind a button unless `shown`, with where it came from. */
function SecretValue({ label, secret, shown: initially = false }) {
  const [shown, setShown] = useState(initially);
  const origin = secret.generated ? t("console.admin.generated") : t("console.admin.configured");
  if (!secret.value) return html`<span>${t("console.admin.not_set")}</span>`;
  return html`${shown ? html`<code class="secret" data-secret=${label}>${secret.value}</code>` : html`<span aria-label=${t("console.admin.hidden", { label })}>••••••••</span>`}
    ${" "}${!initially && html`<button type="button" class="small secondary" aria-label=${t(shown ? "console.admin.hide_the" : "console.admin.reveal_the", { label })} onClick=${() => setShown(!shown)}>${shown ? t("console.admin.hide") : t("console.admin.reveal")}</button>`}
    ${" "}<small>(${origin})</small>`;
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
        .replace(/^business_hours\.periods\[(\d+)\]\.?/, (_, index) => `${t("console.admin.hours_period", { day: hours?.periods[Number(index)]?.weekday ?? "" })} `)
        .replace(/^business_hours\./, `${t("console.admin.hours_lower")} `);
      setError(field ? `${field.trim()}: ${failure.message}` : failure.message);
    }
  }

  return html`<section aria-labelledby="sla-title">
    <h2 id="sla-title">${t("console.admin.sla")}</h2>
    <p>${t("console.admin.sla_lead")}</p>
    <form class="sla-policy" onSubmit=${save} aria-label=${t("console.admin.sla")}>
      <div class="policy-row">
        <label><input type="checkbox" checked=${draft.enabled} onClick=${(e) => edit({ enabled: e.target.checked })} /> ${t("console.admin.enabled")}</label>
        <label>${t("console.admin.warn_at")} <input type="number" min="1" max="99" value=${draft.warning_percent} onInput=${(e) => edit({ warning_percent: e.target.value })} required /> ${t("console.admin.percent_of_target")}</label>
      </div>
      <table>
        <thead><tr><th scope="col">${t("console.queue.priority")}</th><th scope="col">${t("console.admin.first_response_min")}</th><th scope="col">${t("console.admin.resolution_min")}</th><th scope="col">${t("console.admin.window_min")}</th></tr></thead>
        <tbody>${PRIORITIES.map((priority) => html`<tr key=${priority} data-priority=${priority}>
          <th scope="row"><span class=${`priority ${priority}`}>${t(`console.priority.${priority}`)}</span></th>
          <td><input aria-label=${t("console.admin.first_target_for", { priority })} type="number" min="1" value=${draft.targets[priority].first} onInput=${(e) => editTarget(priority, { first: e.target.value })} /></td>
          <td><input aria-label=${t("console.admin.resolution_target_for", { priority })} type="number" min="1" value=${draft.targets[priority].resolution} onInput=${(e) => editTarget(priority, { resolution: e.target.value })} /></td>
          <td><input aria-label=${t("console.admin.window_target_for", { priority })} type="number" min="1" max="1439" value=${draft.targets[priority].window} onInput=${(e) => editTarget(priority, { window: e.target.value })} /></td>
        </tr>`)}</tbody>
      </table>
      <${BusinessHoursEditor} hours=${hours} setHours=${(next) => edit({ business_hours: next })} />
      <button type="submit">${t("console.admin.save_sla")}</button>
      ${saved && html` <span role="status">${t("console.preferences.saved")}</span>`}
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
  return html`<fieldset class="business-hours"><legend>${t("console.admin.hours")}</legend>
    <label class="inline"><input type="checkbox" checked=${Boolean(hours)} onClick=${(e) => setHours(e.target.checked ? defaultHours() : null)} /> ${t("console.admin.working_time_only")}</label>
    ${hours && html`
      <label>${t("console.admin.time_zone")} <input value=${hours.time_zone} onInput=${(e) => setHours({ ...hours, time_zone: e.target.value })} placeholder="Europe/Lisbon" required /></label>
      <table>
        <thead><tr><th scope="col">${t("console.admin.day")}</th><th scope="col">${t("console.admin.opens")}</th><th scope="col">${t("console.admin.closes")}</th><th scope="col"><span class="visually-hidden">${t("console.bulk.remove")}</span></th></tr></thead>
        <tbody>${hours.periods.map((p, index) => html`<tr key=${index} data-period=${index}>
          <td><select aria-label=${t("console.admin.day_of_period", { n: index + 1 })} value=${p.weekday} onChange=${(e) => period(index, { weekday: e.target.value })}>${WEEKDAYS.map((day) => html`<option value=${day}>${t(`console.weekday.${day}`)}</option>`)}</select></td>
          <td><input aria-label=${t("console.admin.opens_period", { n: index + 1 })} type="time" value=${p.start} onInput=${(e) => period(index, { start: e.target.value })} required /></td>
          <td><input aria-label=${t("console.admin.closes_period", { n: index + 1 })} type="time" value=${p.end === "24:00" ? "23:59" : p.end} onInput=${(e) => period(index, { end: e.target.value })} required /></td>
          <td><button type="button" class="link" onClick=${() => setHours({ ...hours, periods: hours.periods.filter((_, at) => at !== index) })}>${t("console.ticket.remove")}</button></td>
        </tr>`)}</tbody>
      </table>
      <button type="button" class="small secondary" onClick=${() => setHours({ ...hours, periods: [...hours.periods, { weekday: "sat", start: "09:00", end: "13:00" }] })}>${t("console.admin.add_period")}</button>
      <label>${t("console.admin.holidays")} <${FieldInPlace} value=${hours.holidays.join(", ")} placeholder="2026-12-25, 2027-01-01"
        onSave=${(text) => setHours({ ...hours, holidays: text.split(/[,\s]+/).filter(Boolean) })} /></label>`}
  </fieldset>`;
}
