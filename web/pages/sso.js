// Admin → Single sign-on: the account's OpenID Connect provider (issuer, client id, a write-only
// client secret shown only as stored or not), whether the login page offers it, and whether
// agents and supervisors may sign in only with it. The redirect URI to register is shown as the
// server computes it.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, put } from "../lib/api.js";
import { report } from "../lib/session.js";
import { t } from "../lib/i18n.js";

export function SsoSettingsEditor() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get("/account/sso").then((settings) => setDraft({ ...settings, client_secret: "", remove_secret: false })).catch(report);
  }, []);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(event) {
    event.preventDefault();
    const body = {
      issuer: draft.issuer.trim(),
      client_id: draft.client_id.trim(),
      enabled: Boolean(draft.enabled),
      sso_only_for_staff: Boolean(draft.enabled && draft.sso_only_for_staff),
    };
    // Empty keeps the stored secret; removing it is said explicitly.
    if (draft.remove_secret) body.client_secret = "";
    else if (draft.client_secret.trim()) body.client_secret = draft.client_secret.trim();
    try {
      const stored = await put("/account/sso", body);
      setDraft({ ...stored, client_secret: "", remove_secret: false });
      setError(null);
      setSaved(true);
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }
  return html`<section aria-labelledby="sso-title" data-section="sso">
    <h2 id="sso-title">${t("console.admin.sso")}</h2>
    <p class="hint sso-redirect">${t("console.admin.sso_redirect", { uri: draft.redirect_uri })}</p>
    <form class="inline-form" onSubmit=${save} aria-label=${t("console.admin.sso")}>
      <label>${t("console.admin.sso_issuer")} <input name="issuer" type="url" required maxlength="2000" placeholder="https://accounts.google.com" value=${draft.issuer} onInput=${(e) => edit({ issuer: e.target.value })} /></label>
      <label>${t("console.admin.sso_client_id")} <input name="client_id" required maxlength="500" value=${draft.client_id} onInput=${(e) => edit({ client_id: e.target.value })} /></label>
      <label>${t("console.admin.sso_client_secret")} <input name="client_secret" type="password" autocomplete="new-password" maxlength="2000" value=${draft.client_secret} disabled=${draft.remove_secret} onInput=${(e) => edit({ client_secret: e.target.value })} /></label>
      <span class="hint">${draft.client_secret_set ? t("console.admin.sso_secret_set") : t("console.admin.sso_secret_unset")}</span>
      ${draft.client_secret_set && html`<label class="check"><input type="checkbox" name="remove_secret" checked=${draft.remove_secret} onClick=${(e) => edit({ remove_secret: e.target.checked })} /> ${t("console.admin.sso_remove_secret")}</label>`}
      <label class="check"><input type="checkbox" name="enabled" checked=${draft.enabled} onClick=${(e) => edit({ enabled: e.target.checked })} /> ${t("console.admin.sso_enabled")}</label>
      <label class="check"><input type="checkbox" name="sso_only_for_staff" checked=${draft.sso_only_for_staff} disabled=${!draft.enabled} onClick=${(e) => edit({ sso_only_for_staff: e.target.checked })} /> ${t("console.admin.sso_only")}</label>
      <button type="submit">${t("console.admin.save_sso")}</button>
      ${saved && html` <span role="status">${t("console.preferences.saved")}</span>`}
    </form>
    <p class="hint">${t("console.admin.sso_hint")}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
