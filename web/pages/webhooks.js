// Outbound webhooks (admins): the account's subscriptions (URL, events, active, a disabled
// one's reason), the editor (URL, the event types as checkboxes or all of them, a secret or a
// generated one, allow private addresses), the new secret shown once, and a subscription's
// delivery log with redelivery.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { del, get, patch, post } from "../lib/api.js";
import { ago, time } from "../lib/format.js";
import { t } from "../lib/i18n.js";

const EMPTY = { id: null, url: "", all: true, events: [], secret: "", active: true, allow_private: false };

export function Webhooks() {
  const [hooks, setHooks] = useState([]);
  const [types, setTypes] = useState([]);
  const [editing, setEditing] = useState(null);
  const [logOf, setLogOf] = useState(null);
  const [secret, setSecret] = useState(null);
  const load = () => get("/webhooks").then((page) => setHooks(page.items)).catch(report);
  useEffect(() => {
    load();
    get("/webhooks/event-types").then((page) => setTypes(page.items)).catch(report);
  }, []);

  async function change(hook, fields) {
    try {
      await patch(`/webhooks/${hook.id}`, fields);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  async function remove(hook) {
    if (!window.confirm(t("console.webhooks.confirm_delete", { url: hook.url }))) return;
    try {
      await del(`/webhooks/${hook.id}`);
      if (logOf?.id === hook.id) setLogOf(null);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  return html`<main class="webhooks">
    <h1>${t("console.webhooks.title")}</h1>
    <p class="muted">${t("console.webhooks.lead")}</p>
    ${secret && html`<div class="secret-once" role="status">
      <p>${t("console.webhooks.secret_once")}</p>
      <p><code class="secret">${secret}</code></p>
      <button type="button" class="small secondary" onClick=${() => setSecret(null)}>${t("console.webhooks.secret_done")}</button>
    </div>`}
    <table class="webhook-list">
      <thead><tr><th scope="col">${t("console.webhooks.url")}</th><th scope="col">${t("console.webhooks.events")}</th><th scope="col">${t("console.admin.enabled")}</th><th scope="col">${t("console.webhooks.state")}</th><th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th></tr></thead>
      <tbody>
        ${hooks.map((hook) => html`<tr key=${hook.id}>
          <td><code>${hook.url}</code>${hook.allow_private ? html` <small>${t("console.webhooks.private_allowed")}</small>` : ""}</td>
          <td>${hook.events.includes("*") ? t("console.webhooks.all_events") : hook.events.join(", ")}</td>
          <td><input type="checkbox" aria-label=${t("console.webhooks.enabled_of", { url: hook.url })} checked=${hook.active} onChange=${(event) => change(hook, { active: event.target.checked })} /></td>
          <td>${hook.disabled_reason
            ? html`<span class="error">${t("console.webhooks.disabled", { reason: hook.disabled_reason })}</span>`
            : hook.failing_since
              ? html`${t("console.webhooks.failing_since")} <time datetime=${hook.failing_since} title=${time(hook.failing_since)}>${ago(hook.failing_since)}</time>`
              : t("console.webhooks.healthy")}</td>
          <td>
            <button type="button" class="small secondary" onClick=${() => setEditing(fromHook(hook))}>${t("console.automations.edit")}</button>
            <button type="button" class="small secondary" onClick=${() => setLogOf(hook)}>${t("console.webhooks.delivery_log")}</button>
            <button type="button" class="small secondary" onClick=${() => remove(hook)}>${t("console.automations.delete")}</button>
          </td>
        </tr>`)}
      </tbody>
    </table>
    ${hooks.length === 0 && html`<p class="muted">${t("console.webhooks.empty")}</p>`}
    <p><button type="button" onClick=${() => setEditing({ ...EMPTY })}>${t("console.webhooks.new")}</button></p>
    ${editing && html`<${Editor} key=${editing.id ?? "new"} initial=${editing} types=${types}
      onDone=${(created) => { setEditing(null); if (created?.secret) setSecret(created.secret); load(); }} />`}
    ${logOf && html`<${DeliveryLog} key=${logOf.id} hook=${logOf} />`}
  </main>`;
}

function fromHook(hook) {
  const all = hook.events.includes("*");
  return { id: hook.id, url: hook.url, all, events: all ? [] : hook.events, secret: "", active: hook.active, allow_private: hook.allow_private };
}

function Editor({ initial, types, onDone }) {
  const [draft, setDraft] = useState(initial);
  const [error, setError] = useState(null);
  const set = (fields) => setDraft((old) => ({ ...old, ...fields }));
  const toggle = (name, on) => set({ events: on ? [...draft.events, name] : draft.events.filter((event) => event !== name) });

  async function save(event) {
    event.preventDefault();
    const body = { url: draft.url, events: draft.all ? ["*"] : draft.events, active: draft.active, allow_private: draft.allow_private };
    if (draft.secret.trim()) body.secret = draft.secret.trim();
    try {
      onDone(draft.id ? await patch(`/webhooks/${draft.id}`, body) : await post("/webhooks", body));
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }

  return html`<section class="webhook-editor" aria-labelledby="webhook-editor-title">
    <h2 id="webhook-editor-title">${draft.id ? t("console.webhooks.edit") : t("console.webhooks.new")}</h2>
    <form onSubmit=${save}>
      <label>${t("console.webhooks.url")} <input name="url" type="url" required maxlength="2048" placeholder="https://example.com/hooks/switchboard" value=${draft.url} onInput=${(event) => set({ url: event.target.value })} /></label>
      <fieldset>
        <legend>${t("console.webhooks.events")}</legend>
        <label><input type="checkbox" name="all" checked=${draft.all} onChange=${(event) => set({ all: event.target.checked })} /> ${t("console.webhooks.all_events")}</label>
        ${!draft.all && html`<div class="event-types">${types.map((name) => html`<label key=${name}><input type="checkbox" name="event" value=${name} checked=${draft.events.includes(name)} onChange=${(event) => toggle(name, event.target.checked)} /> <code>${name}</code></label>`)}</div>`}
      </fieldset>
      <label>${draft.id ? t("console.webhooks.new_secret") : t("console.webhooks.secret")} <input name="secret" autocomplete="off" spellcheck="false" minlength="16" maxlength="200" value=${draft.secret} onInput=${(event) => set({ secret: event.target.value })} /></label>
      <p class="muted"><small>${t("console.webhooks.secret_help")}</small></p>
      <label class="inline"><input type="checkbox" name="active" checked=${draft.active} onChange=${(event) => set({ active: event.target.checked })} /> ${t("console.admin.enabled")}</label>
      <label class="inline"><input type="checkbox" name="allow_private" checked=${draft.allow_private} onChange=${(event) => set({ allow_private: event.target.checked })} /> ${t("console.webhooks.allow_private")}</label>
      <p class="muted"><small>${t("console.webhooks.allow_private_help")}</small></p>
      ${error && html`<p class="query-error" role="alert">${error}</p>`}
      <button type="submit">${draft.id ? t("console.webhooks.save") : t("console.webhooks.create")}</button>
      <button type="button" class="secondary" onClick=${() => onDone(null)}>${t("console.cancel")}</button>
    </form>
  </section>`;
}

function DeliveryLog({ hook }) {
  const [items, setItems] = useState(null);
  const load = () => get(`/webhooks/${hook.id}/deliveries`).then((page) => setItems(page.items)).catch(report);
  useEffect(() => { load(); }, [hook.id]);

  async function redeliver(delivery) {
    try {
      await post(`/webhooks/${hook.id}/deliveries/${delivery.id}/redeliver`);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  return html`<section class="delivery-log" aria-labelledby="delivery-log-title">
    <h2 id="delivery-log-title">${t("console.webhooks.delivery_log_of", { url: hook.url })}</h2>
    <p><button type="button" class="small secondary" onClick=${load}>${t("console.webhooks.refresh")}</button></p>
    ${items === null ? html`<p class="muted">${t("console.automations.loading")}</p>` : items.length === 0 ? html`<p class="muted">${t("console.webhooks.no_deliveries")}</p>` : html`<table>
      <thead><tr><th scope="col">${t("console.automations.when")}</th><th scope="col">${t("console.webhooks.event")}</th><th scope="col">${t("console.automations.ticket")}</th><th scope="col">${t("console.automations.result")}</th><th scope="col">${t("console.webhooks.attempts")}</th><th scope="col">${t("console.webhooks.response")}</th><th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th></tr></thead>
      <tbody>${items.map((delivery) => html`<tr key=${delivery.id}>
        <td><time datetime=${delivery.created_at}>${time(delivery.created_at)}</time></td>
        <td><code>${delivery.event_type}</code></td>
        <td><a href=${`#/tickets/${delivery.ticket_id}`}>${t("console.presence_board.ticket", { id: delivery.ticket_id })}</a></td>
        <td>${t(`console.webhooks.status.${delivery.status}`)}${delivery.status === "pending" && delivery.next_attempt_at ? html` <small>${t("console.webhooks.next_attempt")} <time datetime=${delivery.next_attempt_at}>${time(delivery.next_attempt_at)}</time></small>` : ""}</td>
        <td>${delivery.attempts}</td>
        <td>${delivery.last_status_code ?? "—"}${delivery.last_response_ms != null ? ` · ${delivery.last_response_ms} ms` : ""}${delivery.last_error ? html`<br /><small class="error">${delivery.last_error}</small>` : ""}</td>
        <td><button type="button" class="small secondary" onClick=${() => redeliver(delivery)}>${t("console.webhooks.redeliver")}</button></td>
      </tr>`)}</tbody>
    </table>`}
  </section>`;
}
