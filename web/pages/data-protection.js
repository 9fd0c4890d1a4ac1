// Admin → Data protection: the account's retention of closed tickets (archived after N days,
// deleted after M; empty: never), and customers' export and erasure requests from the portal,
// approved or declined here. An approved erasure happens at once and cannot be undone, so the
// browser asks again first. Each customer's export downloads as a zip (the session cookie).

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, post, put } from "../lib/api.js";
import { report } from "../lib/session.js";
import { time } from "../lib/format.js";
import { t } from "../lib/i18n.js";

const numberOrNull = (text) => (String(text ?? "").trim() === "" ? null : Number(text));

function RetentionEditor() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get("/account/retention").then(setDraft).catch(report);
  }, []);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(event) {
    event.preventDefault();
    const body = {
      archive_after_days: numberOrNull(draft.archive_after_days),
      delete_after_days: numberOrNull(draft.delete_after_days),
    };
    try {
      setDraft(await put("/account/retention", body));
      setError(null);
      setSaved(true);
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }
  return html`<form class="inline-form" onSubmit=${save} aria-label=${t("console.admin.retention")}>
    <label>${t("console.admin.archive_after_days")} <input type="number" name="archive_after_days" min="1" max="3650" value=${draft.archive_after_days ?? ""} onInput=${(e) => edit({ archive_after_days: e.target.value })} /></label>
    <label>${t("console.admin.delete_after_days")} <input type="number" name="delete_after_days" min="1" max="3650" value=${draft.delete_after_days ?? ""} onInput=${(e) => edit({ delete_after_days: e.target.value })} /></label>
    <button type="submit">${t("console.admin.save_retention")}</button>
    ${saved && html` <span role="status">${t("console.preferences.saved")}</span>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

function DataRequests() {
  const [requests, setRequests] = useState(null);
  const [names, setNames] = useState({});
  const load = () => get("/data-requests").then((page) => setRequests(page.items)).catch(report);
  useEffect(() => {
    load();
    get("/users?role=customer")
      .then((page) => setNames(Object.fromEntries(page.items.map((user) => [user.id, user.name]))))
      .catch(report);
  }, []);
  if (!requests) return null;
  async function decide(request, verdict) {
    if (verdict === "approve" && request.kind === "erase" && !window.confirm(t("console.admin.erase_confirm"))) return;
    try {
      await post(`/data-requests/${request.id}/${verdict}`);
    } catch (failure) {
      report(failure);
    }
    load();
  }
  if (requests.length === 0) return html`<p>${t("console.admin.no_data_requests")}</p>`;
  return html`<table data-table="data-requests">
    <thead><tr><th scope="col">${t("console.admin.customer")}</th><th scope="col">${t("console.admin.request_kind")}</th><th scope="col">${t("console.admin.requested_at")}</th><th scope="col">${t("console.queue.status")}</th><th scope="col"><span class="visually-hidden">${t("console.admin.actions")}</span></th></tr></thead>
    <tbody>${requests.map((request) => html`<tr key=${request.id} data-request=${request.id}>
      <td>${names[request.customer_id] ?? `#${request.customer_id}`}</td>
      <td>${t(`console.admin.request_${request.kind}`)}</td>
      <td>${time(request.requested_at)}</td>
      <td>${t(`console.admin.request_status_${request.status}`)}</td>
      <td>${request.status === "pending"
        ? html`<button class="small" onClick=${() => decide(request, "approve")}>${t("console.admin.approve")}</button> <button class="small secondary" onClick=${() => decide(request, "decline")}>${t("console.admin.decline")}</button>`
        : request.kind === "export" && html`<a href=${`/api/v1/customers/${request.customer_id}/export`} download>${t("console.admin.download_export")}</a>`}</td>
    </tr>`)}</tbody>
  </table>`;
}

export function DataProtectionSection() {
  return html`<section aria-labelledby="data-protection-title" data-section="data-protection">
    <h2 id="data-protection-title">${t("console.admin.data_protection")}</h2>
    <p class="hint">${t("console.admin.retention_hint")}</p>
    <${RetentionEditor} />
    <h3>${t("console.admin.data_requests")}</h3>
    <${DataRequests} />
  </section>`;
}
