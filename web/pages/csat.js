// CSAT settings in the admin page: on/off, the question and the comment prompt, the scale
// (1–5 or thumbs), the channels surveyed and the per-customer cool-down. Staff read them;
// only admins save (the server says so otherwise). A refusal names the field.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { api, get } from "../lib/api.js";
import { t } from "../lib/i18n.js";

/** The channels surveyed, each labelled `console.csat.channel.<name>`. */
const CHANNELS = ["whatsapp", "email", "portal"];

export function CsatSettingsEditor() {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    get("/account/csat").then(setDraft).catch(report);
  }, []);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  const toggle = (channel, on) =>
    edit({ channels: on ? [...draft.channels, channel] : draft.channels.filter((name) => name !== channel) });

  async function save(event) {
    event.preventDefault();
    try {
      setDraft(await api("PUT", "/account/csat", { ...draft, cooldown_days: Number(draft.cooldown_days) }));
      setError(null);
      setSaved(true);
    } catch (failure) {
      setError(failure.field ? `${failure.field.replace(/_/g, " ")}: ${failure.message}` : failure.message);
    }
  }

  return html`<section aria-labelledby="csat-title" data-section="csat">
    <h2 id="csat-title">${t("console.csat.title")}</h2>
    <p>${t("console.csat.lead")}</p>
    <form class="csat-settings" onSubmit=${save} aria-label=${t("console.csat.settings")}>
      <div class="policy-row">
        <label><input type="checkbox" checked=${draft.enabled} onClick=${(e) => edit({ enabled: e.target.checked })} /> ${t("console.csat.ask")}</label>
        <label>${t("console.csat.scale")} <select value=${draft.scale} onChange=${(e) => edit({ scale: e.target.value })}>
          <option value="five">${t("console.csat.scale_five")}</option><option value="thumbs">${t("console.csat.scale_thumbs")}</option>
        </select></label>
        <label>${t("console.csat.cooldown")} <input type="number" min="0" max="365" value=${draft.cooldown_days} onInput=${(e) => edit({ cooldown_days: e.target.value })} required /> ${t("console.csat.days")}</label>
      </div>
      <label class="wide">${t("console.csat.question")} <input value=${draft.question} maxlength="500" required onInput=${(e) => edit({ question: e.target.value })} /></label>
      <label class="wide">${t("console.csat.comment_prompt")} <input value=${draft.comment_prompt} maxlength="500" required onInput=${(e) => edit({ comment_prompt: e.target.value })} /></label>
      <fieldset><legend>${t("console.reports.channels")}</legend>
        ${CHANNELS.map((name) => html`<label class="chip" key=${name}><input type="checkbox" checked=${draft.channels.includes(name)} onChange=${(e) => toggle(name, e.target.checked)} /> ${t(`console.csat.channel.${name}`)}</label>`)}
      </fieldset>
      <button type="submit">${t("console.csat.save")}</button>
      ${saved && html` <span role="status">${t("console.preferences.saved")}</span>`}
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

/** A CSAT event as the ticket's activity shows it to staff. */
export function describeCsat(event, names) {
  const score = (value, scale) => (scale === "thumbs" ? (value >= 5 ? t("console.csat.thumbs_up") : t("console.csat.thumbs_down")) : t("console.csat.of_five", { value }));
  switch (event.type) {
    case "csat_requested": return t("console.csat.requested", { channel: t(`console.csat.channel_lower.${event.channel}`), cycle: event.cycle });
    case "csat_received": {
      const credited = (event.agent_ids || []).map((id) => names.get(id) || id).join(", ");
      return `${t("console.csat.rated", { score: score(event.score, event.scale) })}${credited ? ` — ${t("console.csat.credited", { names: credited })}` : ""}`;
    }
    case "csat_commented": return t("console.csat.commented", { comment: event.comment });
    default: return null;
  }
}
