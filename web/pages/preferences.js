// The user's notification preferences: which kinds notify them, quiet hours (in their own time
// zone; only critical tickets alert then, the rest wait in the bell's list), the email digest of
// unread ones, and the browser's permission for desktop notifications.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, put } from "../lib/api.js";
import { me, report } from "../lib/session.js";
import { askPermission, canAskPermission } from "../lib/notifications.js";
import { SkeletonPage } from "../lib/skeleton.js";

const KINDS = [
  ["assigned", "A ticket is assigned to me"],
  ["team_assigned", "A ticket is assigned to my team"],
  ["mention", "Someone @mentions me in a note"],
  ["critical", "A ticket becomes critical (urgency and importance)"],
  ["sla_warning", "An SLA target of my ticket is due soon"],
  ["sla_breached", "An SLA target of my ticket is missed"],
  ["customer_reply", "The customer writes on my ticket"],
  ["automation", "An automation rule notifies me"],
];

export function Preferences() {
  const [form, setForm] = useState(null);
  const [status, setStatus] = useState("");
  const [permission, setPermission] = useState(() => ("Notification" in window ? Notification.permission : "unsupported"));
  useEffect(() => {
    get("/me/preferences")
      .then((preferences) => {
        setForm({ ...preferences, quiet: Boolean(preferences.quiet_hours), from: preferences.quiet_hours?.from || "22:00", to: preferences.quiet_hours?.to || "07:00" });
      })
      .catch(report);
  }, []);
  if (!form) return html`<${SkeletonPage} what="notification preferences" blocks=${2} />`;

  async function save(event) {
    event.preventDefault();
    setStatus("");
    const body = { kinds: form.kinds, quiet_hours: form.quiet ? { from: form.from, to: form.to } : null, digest: form.digest };
    try {
      await put("/me/preferences", body);
      setStatus("Saved.");
    } catch (error) {
      report(error);
    }
  }
  async function allow() {
    setPermission(await askPermission());
  }
  const kind = (key) => (event) => setForm({ ...form, kinds: { ...form.kinds, [key]: event.target.checked } });

  return html`<main class="page preferences">
    <h1>Notification preferences</h1>
    <form onSubmit=${save} aria-label="Notification preferences">
      <fieldset>
        <legend>Notify me when</legend>
        ${KINDS.map(([key, label]) => html`<label class="check" key=${key}><input type="checkbox" name=${key} checked=${form.kinds[key]} onChange=${kind(key)} /> ${label}</label>`)}
      </fieldset>
      <fieldset>
        <legend>Quiet hours</legend>
        <label class="check"><input type="checkbox" name="quiet" checked=${form.quiet} onChange=${(e) => setForm({ ...form, quiet: e.target.checked })} /> Only critical tickets alert me between</label>
        <div class="quiet-times">
          <label>From <input type="time" name="from" value=${form.from} disabled=${!form.quiet} onInput=${(e) => setForm({ ...form, from: e.target.value })} required /></label>
          <label>To <input type="time" name="to" value=${form.to} disabled=${!form.quiet} onInput=${(e) => setForm({ ...form, to: e.target.value })} required /></label>
        </div>
        <p class="hint">In your time zone (${me.value.time_zone}). Everything still lands in the bell's list.</p>
      </fieldset>
      <fieldset>
        <legend>Email digest of unread notifications</legend>
        <label>Send <select name="digest" value=${form.digest} onChange=${(e) => setForm({ ...form, digest: e.target.value })}>
          <option value="off">never</option><option value="hourly">every hour</option><option value="daily">every day</option>
        </select></label>
      </fieldset>
      <fieldset>
        <legend>Desktop notifications</legend>
        ${permission === "granted" && html`<p>Allowed: new notifications show on your desktop while the console is in the background.</p>`}
        ${permission === "denied" && html`<p>Blocked in this browser's site settings.</p>`}
        ${permission === "unsupported" && html`<p>This browser cannot show them.</p>`}
        ${canAskPermission() && html`<button type="button" class="secondary" onClick=${allow}>Allow desktop notifications</button>`}
      </fieldset>
      <div class="actions"><button type="submit">Save preferences</button> <span role="status">${status}</span></div>
    </form>
  </main>`;
}
