// Admin → Security policy: whether staff must use MFA (those without it are sent to enrol after
// they log in), and login sessions' idle timeout and absolute lifetime (empty: none).

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, put } from "../lib/api.js";
import { report } from "../lib/session.js";
import { t } from "../lib/i18n.js";

const numberOrNull = (text) => (String(text ?? "").trim() === "" ? null : Number(text));

export function SecurityPolicyEditor() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get("/account/security").then(setDraft).catch(report);
  }, []);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(event) {
    event.preventDefault();
    const body = {
      staff_mfa_required: Boolean(draft.staff_mfa_required),
      session_idle_minutes: numberOrNull(draft.session_idle_minutes),
      session_lifetime_hours: numberOrNull(draft.session_lifetime_hours),
    };
    try {
      setDraft(await put("/account/security", body));
      setError(null);
      setSaved(true);
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }
  return html`<section aria-labelledby="security-policy-title" data-section="security-policy">
    <h2 id="security-policy-title">${t("console.admin.security")}</h2>
    <form class="inline-form" onSubmit=${save} aria-label=${t("console.admin.security")}>
      <label class="check"><input type="checkbox" name="staff_mfa_required" checked=${draft.staff_mfa_required} onClick=${(e) => edit({ staff_mfa_required: e.target.checked })} /> ${t("console.admin.staff_mfa_required")}</label>
      <label>${t("console.admin.idle_minutes")} <input type="number" name="session_idle_minutes" min="5" max="43200" value=${draft.session_idle_minutes ?? ""} onInput=${(e) => edit({ session_idle_minutes: e.target.value })} /></label>
      <label>${t("console.admin.lifetime_hours")} <input type="number" name="session_lifetime_hours" min="1" max="8760" value=${draft.session_lifetime_hours ?? ""} onInput=${(e) => edit({ session_lifetime_hours: e.target.value })} /></label>
      <button type="submit">${t("console.admin.save_security")}</button>
      ${saved && html` <span role="status">${t("console.preferences.saved")}</span>`}
    </form>
    <p class="hint">${t("console.admin.security_hint")}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
