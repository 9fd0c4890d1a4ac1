// Preferences → Security: two-factor authentication (enrol with the QR code or the secret,
// confirm a code, see the recovery codes once, turn it off with a code) and the person's
// sessions (device, address, last seen) with "Sign out" for each; revoking the current one
// logs this tab out.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { api, del, get, post } from "../lib/api.js";
import { logout, me, report } from "../lib/session.js";
import { dateTime, t } from "../lib/i18n.js";

/** The QR code the server drew, as an image (never as markup in the page). */
function QrImage({ svg }) {
  const source = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  return html`<img class="mfa-qr" src=${source} width="200" height="200" alt=${t("console.security.qr_alt")} />`;
}

function CodeField({ name = "code", label }) {
  return html`<label>${label} <input name=${name} inputmode="numeric" autocomplete="one-time-code" required maxlength="64" /></label>`;
}

function TwoFactor() {
  // null: reading /me; then { enabled } and, while enrolling, the secret, URI and QR.
  const [enabled, setEnabled] = useState(me.value?.mfa_enabled ?? null);
  const [enrolment, setEnrolment] = useState(null);
  const [recovery, setRecovery] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    get("/me")
      .then((fresh) => {
        me.value = fresh;
        setEnabled(fresh.mfa_enabled);
      })
      .catch(report);
  }, []);
  const failed = (failure) => setError(failure.code === "invalid_mfa_code" ? t("console.security.wrong_code") : failure.message);

  async function start() {
    setError(null);
    try {
      setEnrolment(await post("/me/mfa/totp"));
    } catch (failure) {
      failed(failure);
    }
  }
  async function confirm(event) {
    event.preventDefault();
    setError(null);
    try {
      const answer = await post("/me/mfa/totp/confirm", { code: new FormData(event.target).get("code").trim() });
      setRecovery(answer.recovery_codes);
      setEnrolment(null);
      setEnabled(true);
      me.value = { ...me.value, mfa_enabled: true, mfa_enrolment_required: false, recovery_codes_left: answer.recovery_codes.length };
    } catch (failure) {
      failed(failure);
    }
  }
  async function disable(event) {
    event.preventDefault();
    setError(null);
    try {
      await api("DELETE", "/me/mfa", { code: new FormData(event.target).get("code").trim() });
      setEnabled(false);
      setRecovery(null);
      me.value = { ...me.value, mfa_enabled: false, recovery_codes_left: undefined };
    } catch (failure) {
      failed(failure);
    }
  }

  if (enabled === null) return null;
  return html`<section aria-labelledby="mfa-title" data-section="mfa">
    <h3 id="mfa-title">${t("console.security.mfa")}</h3>
    ${me.value?.mfa_enrolment_required && html`<p class="error" role="alert">${t("console.security.required")}</p>`}
    ${recovery && html`<div class="recovery" data-recovery>
      <p>${t("console.security.recovery_lead")}</p>
      <ul class="recovery-codes">${recovery.map((code) => html`<li key=${code}><code>${code}</code></li>`)}</ul>
      <button type="button" class="secondary" onClick=${() => setRecovery(null)}>${t("console.security.recovery_done")}</button>
    </div>`}
    ${enabled && !recovery && html`<p>${t("console.security.on")}${me.value?.recovery_codes_left != null ? ` ${t("console.security.codes_left", { count: me.value.recovery_codes_left })}` : ""}</p>
      <form class="inline-form" onSubmit=${disable} aria-label=${t("console.security.turn_off")}>
        <${CodeField} label=${t("console.security.code_or_recovery")} />
        <button type="submit" class="secondary">${t("console.security.turn_off")}</button>
      </form>`}
    ${!enabled && !enrolment && html`<p>${t("console.security.off")}</p>
      <button type="button" onClick=${start}>${t("console.security.turn_on")}</button>`}
    ${!enabled && enrolment && html`<div class="mfa-enrol">
      <p>${t("console.security.scan")}</p>
      <${QrImage} svg=${enrolment.qr_svg} />
      <p>${t("console.security.or_type")} <code data-secret>${enrolment.secret}</code></p>
      <form class="inline-form" onSubmit=${confirm} aria-label=${t("console.security.confirm")}>
        <${CodeField} label=${t("console.security.code")} />
        <button type="submit">${t("console.security.confirm")}</button>
      </form>
    </div>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

function Sessions() {
  const [sessions, setSessions] = useState(null);
  const load = () => get("/me/sessions").then((page) => setSessions(page.items)).catch(report);
  useEffect(load, []);
  async function revoke(session) {
    try {
      await del(`/me/sessions/${encodeURIComponent(session.id)}`);
      if (session.current) return logout();
      load();
    } catch (failure) {
      report(failure);
    }
  }
  if (!sessions) return null;
  return html`<section aria-labelledby="sessions-title" data-section="sessions">
    <h3 id="sessions-title">${t("console.security.sessions")}</h3>
    <table class="sessions">
      <thead><tr><th>${t("console.security.device")}</th><th>${t("console.security.ip")}</th><th>${t("console.security.signed_in")}</th><th>${t("console.security.last_seen")}</th><th><span class="visually-hidden">${t("console.security.actions")}</span></th></tr></thead>
      <tbody>${sessions.map((session) => html`<tr key=${session.id}>
        <td>${session.kind === "token" ? t("console.security.api_token") : session.device}${session.current && html` <strong>(${t("console.security.this_device")})</strong>`}</td>
        <td>${session.ip || "—"}</td>
        <td>${dateTime(session.created_at)}</td>
        <td>${dateTime(session.last_seen_at)}</td>
        <td><button type="button" class="link" onClick=${() => revoke(session)} aria-label=${t("console.security.sign_out_label", { device: session.device })}>${t("console.security.sign_out")}</button></td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

/** The Security section of Preferences (scrolled to when the policy sends the person here). */
export function Security() {
  useEffect(() => {
    if (me.value?.mfa_enrolment_required) document.getElementById("security-title")?.scrollIntoView();
  }, []);
  return html`<section class="security" aria-labelledby="security-title">
    <h2 id="security-title">${t("console.security.title")}</h2>
    ${me.value?.role !== "customer" && html`<${TwoFactor} />`}
    <${Sessions} />
  </section>`;
}
