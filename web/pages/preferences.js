// The user's preferences: the console's language (their profile's first language, switched at
// once) and their notification preferences: which kinds notify them, quiet hours (in their own
// time zone; only critical tickets alert then, the rest wait in the bell's list), the email
// digest of unread ones, and the browser's permission for desktop notifications.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get, patch, put } from "../lib/api.js";
import { me, report } from "../lib/session.js";
import { askPermission, canAskPermission } from "../lib/notifications.js";
import { SkeletonPage } from "../lib/skeleton.js";
import { LANGUAGES, language, t, useLanguage } from "../lib/i18n.js";

/** The kinds of notification, each labelled `console.preferences.kind.<kind>`. */
const KINDS = ["assigned", "team_assigned", "mention", "critical", "sla_warning", "sla_breached", "customer_reply", "automation"];

/** The console's language: saved as the profile's first language, shown at once. */
function LanguageChoice() {
  const [status, setStatus] = useState("");
  async function choose(event) {
    const code = event.target.value;
    setStatus("");
    try {
      me.value = await patch("/me", { language: code });
      await useLanguage(code);
      setStatus(t("console.preferences.saved"));
    } catch (error) {
      report(error);
    }
  }
  return html`<form class="language" onSubmit=${(event) => event.preventDefault()} aria-label=${t("console.preferences.language")}>
    <label>${t("console.preferences.language")} <select name="language" value=${language.value} onChange=${choose}>
      ${LANGUAGES.map((entry) => html`<option key=${entry.code} value=${entry.code} lang=${entry.code}>${entry.name}</option>`)}
    </select></label> <span role="status">${status}</span>
  </form>`;
}

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
  if (!form) return html`<${SkeletonPage} what=${t("console.preferences.loading")} blocks=${2} />`;

  async function save(event) {
    event.preventDefault();
    setStatus("");
    const body = { kinds: form.kinds, quiet_hours: form.quiet ? { from: form.from, to: form.to } : null, digest: form.digest };
    try {
      await put("/me/preferences", body);
      setStatus(t("console.preferences.saved"));
    } catch (error) {
      report(error);
    }
  }
  async function allow() {
    setPermission(await askPermission());
  }
  const kind = (key) => (event) => setForm({ ...form, kinds: { ...form.kinds, [key]: event.target.checked } });

  return html`<main class="page preferences">
    <h1>${t("console.preferences.title")}</h1>
    <${LanguageChoice} />
    <p><a href="#/api-keys">${t("console.api_keys.link")}</a></p>
    <h2>${t("console.app.preferences_link")}</h2>
    <form onSubmit=${save} aria-label=${t("console.app.preferences_link")}>
      <fieldset>
        <legend>${t("console.preferences.notify_when")}</legend>
        ${KINDS.map((key) => html`<label class="check" key=${key}><input type="checkbox" name=${key} checked=${form.kinds[key]} onChange=${kind(key)} /> ${t(`console.preferences.kind.${key}`)}</label>`)}
      </fieldset>
      <fieldset>
        <legend>${t("console.preferences.quiet")}</legend>
        <label class="check"><input type="checkbox" name="quiet" checked=${form.quiet} onChange=${(e) => setForm({ ...form, quiet: e.target.checked })} /> ${t("console.preferences.quiet_only_critical")}</label>
        <div class="quiet-times">
          <label>${t("console.preferences.from")} <input type="time" name="from" value=${form.from} disabled=${!form.quiet} onInput=${(e) => setForm({ ...form, from: e.target.value })} required /></label>
          <label>${t("console.preferences.to")} <input type="time" name="to" value=${form.to} disabled=${!form.quiet} onInput=${(e) => setForm({ ...form, to: e.target.value })} required /></label>
        </div>
        <p class="hint">${t("console.preferences.quiet_hint", { zone: me.value.time_zone })}</p>
      </fieldset>
      <fieldset>
        <legend>${t("console.preferences.digest")}</legend>
        <label>${t("console.preferences.digest_send")} <select name="digest" value=${form.digest} onChange=${(e) => setForm({ ...form, digest: e.target.value })}>
          <option value="off">${t("console.preferences.digest_off")}</option><option value="hourly">${t("console.preferences.digest_hourly")}</option><option value="daily">${t("console.preferences.digest_daily")}</option>
        </select></label>
      </fieldset>
      <fieldset>
        <legend>${t("console.preferences.desktop")}</legend>
        ${permission === "granted" && html`<p>${t("console.preferences.desktop_granted")}</p>`}
        ${permission === "denied" && html`<p>${t("console.preferences.desktop_denied")}</p>`}
        ${permission === "unsupported" && html`<p>${t("console.preferences.desktop_unsupported")}</p>`}
        ${canAskPermission() && html`<button type="button" class="secondary" onClick=${allow}>${t("console.preferences.desktop_allow")}</button>`}
      </fieldset>
      <div class="actions"><button type="submit">${t("console.preferences.save")}</button> <span role="status">${status}</span></div>
    </form>
  </main>`;
}
