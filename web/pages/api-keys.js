// API keys (issue 17 item 4): make a key with scopes and an expiry, copy it the one time it is
// shown, list your keys (an admin sees the account's) with their last use, revoke one. The
// server decides which scopes the user may grant; the form offers only those.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { del, get, post } from "../lib/api.js";
import { me, report } from "../lib/session.js";
import { ago, time } from "../lib/format.js";
import { SkeletonPage } from "../lib/skeleton.js";
import { t } from "../lib/i18n.js";

/** Every scope, in the order the README's table lists them. */
const SCOPES = ["tickets:read", "tickets:write", "messages:write", "users:read", "reports:read", "webhooks:manage", "admin"];
/** The scopes a role holds (mirrors `Scope::granted_to`; the server refuses the rest anyway). */
const held = (role) => (role === "admin" ? SCOPES : SCOPES.filter((scope) => !["webhooks:manage", "admin"].includes(scope)));

function When({ at }) {
  return at ? html`<time datetime=${at} title=${time(at)}>${ago(at)}</time>` : html`<span>${t("console.api_keys.never")}</span>`;
}

/** The new key, shown once with a copy button. */
function Created({ created, onDone }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return html`<section class="created-key" aria-label=${t("console.api_keys.created")}>
    <p><strong>${t("console.api_keys.created")}</strong> ${t("console.api_keys.shown_once")}</p>
    <p><code class="secret" data-key>${created.key}</code></p>
    <button type="button" onClick=${copy}>${t("console.api_keys.copy")}</button>
    <span role="status">${copied ? t("console.api_keys.copied") : ""}</span>
    <button type="button" class="secondary" onClick=${onDone}>${t("console.api_keys.done")}</button>
  </section>`;
}

export function ApiKeys() {
  const [keys, setKeys] = useState(null);
  const [form, setForm] = useState({ name: "", scopes: ["tickets:read"], days: 90 });
  const [created, setCreated] = useState(null);
  const load = () => get("/api-keys").then((answer) => setKeys(answer.items)).catch(report);
  useEffect(() => {
    load();
  }, []);
  if (!keys) return html`<${SkeletonPage} what=${t("console.api_keys.loading")} blocks=${2} />`;

  async function create(event) {
    event.preventDefault();
    try {
      const answer = await post("/api-keys", { name: form.name, scopes: form.scopes, expires_in_days: Number(form.days) });
      setCreated(answer);
      setForm({ name: "", scopes: ["tickets:read"], days: 90 });
      load();
    } catch (error) {
      report(error);
    }
  }
  async function revoke(key) {
    if (!window.confirm(t("console.api_keys.confirm_revoke", { name: key.name }))) return;
    try {
      await del(`/api-keys/${key.id}`);
      load();
    } catch (error) {
      report(error);
    }
  }
  const toggle = (scope) => (event) =>
    setForm({ ...form, scopes: event.target.checked ? [...form.scopes, scope] : form.scopes.filter((s) => s !== scope) });

  return html`<main class="page api-keys">
    <h1>${t("console.api_keys.title")}</h1>
    <p class="lead">${t("console.api_keys.lead")}</p>
    ${created && html`<${Created} created=${created} onDone=${() => setCreated(null)} />`}
    <form onSubmit=${create} aria-label=${t("console.api_keys.new")}>
      <h2>${t("console.api_keys.new")}</h2>
      <label>${t("console.api_keys.name")} <input name="name" required maxlength="100" value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /></label>
      <fieldset>
        <legend>${t("console.api_keys.scopes")}</legend>
        ${held(me.value.role).map((scope) => html`<label class="check" key=${scope}><input type="checkbox" name="scope" value=${scope} checked=${form.scopes.includes(scope)} onChange=${toggle(scope)} /> <code>${scope}</code></label>`)}
      </fieldset>
      <label>${t("console.api_keys.expires_in")} <input type="number" name="days" min="1" max="365" required value=${form.days} onInput=${(e) => setForm({ ...form, days: e.target.value })} /></label>
      <div class="actions"><button type="submit" disabled=${form.scopes.length === 0}>${t("console.api_keys.create")}</button></div>
    </form>
    <h2>${t("console.api_keys.yours")}</h2>
    ${keys.length === 0
      ? html`<p>${t("console.api_keys.empty")}</p>`
      : html`<table class="api-key-list">
          <thead><tr>
            <th scope="col">${t("console.api_keys.name")}</th><th scope="col">${t("console.api_keys.prefix")}</th>
            <th scope="col">${t("console.api_keys.scopes")}</th><th scope="col">${t("console.api_keys.created_at")}</th>
            <th scope="col">${t("console.api_keys.expires_at")}</th><th scope="col">${t("console.api_keys.last_used")}</th>
            <th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th>
          </tr></thead>
          <tbody>${keys.map((key) => html`<tr key=${key.id}>
            <td>${key.name}</td><td><code>${key.prefix}…</code></td><td>${key.scopes.join(", ")}</td>
            <td><${When} at=${key.created_at} /></td><td>${key.expires_at ? time(key.expires_at) : t("console.api_keys.never")}</td>
            <td><${When} at=${key.last_used_at} /></td>
            <td><button type="button" class="secondary" onClick=${() => revoke(key)} aria-label=${t("console.api_keys.revoke_named", { name: key.name })}>${t("console.api_keys.revoke")}</button></td>
          </tr>`)}</tbody>
        </table>`}
  </main>`;
}
