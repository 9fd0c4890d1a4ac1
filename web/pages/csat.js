// CSAT settings in the admin page: on/off, the question and the comment prompt, the scale
// (1–5 or thumbs), the channels surveyed and the per-customer cool-down. Staff read them;
// only admins save (the server says so otherwise). A refusal names the field.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { api, get } from "../lib/api.js";

const CHANNELS = [["whatsapp", "WhatsApp"], ["email", "Email"], ["portal", "Portal"]];

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
    <h2 id="csat-title">Customer satisfaction (CSAT)</h2>
    <p>When a ticket is resolved, its customer is asked once for that resolution: on WhatsApp in the chat (a list or buttons, a template with quick replies once the 24-hour window closed), by email with one-click links, or in the portal. A reopen before the answer cancels the survey. Thumbs count as 1 (down) and 5 (up) in the averages.</p>
    <form class="csat-settings" onSubmit=${save} aria-label="CSAT settings">
      <div class="policy-row">
        <label><input type="checkbox" checked=${draft.enabled} onClick=${(e) => edit({ enabled: e.target.checked })} /> Ask customers</label>
        <label>Scale <select value=${draft.scale} onChange=${(e) => edit({ scale: e.target.value })}>
          <option value="five">1 to 5</option><option value="thumbs">Thumbs up / down</option>
        </select></label>
        <label>Ask a customer at most once every <input type="number" min="0" max="365" value=${draft.cooldown_days} onInput=${(e) => edit({ cooldown_days: e.target.value })} required /> days</label>
      </div>
      <label class="wide">Question <input value=${draft.question} maxlength="500" required onInput=${(e) => edit({ question: e.target.value })} /></label>
      <label class="wide">Comment prompt <input value=${draft.comment_prompt} maxlength="500" required onInput=${(e) => edit({ comment_prompt: e.target.value })} /></label>
      <fieldset><legend>Channels</legend>
        ${CHANNELS.map(([name, label]) => html`<label class="chip" key=${name}><input type="checkbox" checked=${draft.channels.includes(name)} onChange=${(e) => toggle(name, e.target.checked)} /> ${label}</label>`)}
      </fieldset>
      <button type="submit">Save CSAT settings</button>
      ${saved && html` <span role="status">Saved.</span>`}
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}

/** A CSAT event as the ticket's activity shows it to staff. */
export function describeCsat(event, names) {
  const score = (value, scale) => (scale === "thumbs" ? (value >= 5 ? "thumbs up" : "thumbs down") : `${value} of 5`);
  switch (event.type) {
    case "csat_requested": return `satisfaction survey sent (${event.channel}, cycle ${event.cycle})`;
    case "csat_received": {
      const credited = (event.agent_ids || []).map((id) => names.get(id) || id).join(", ");
      return `rated ${score(event.score, event.scale)}${credited ? ` — credited to ${credited}` : ""}`;
    }
    case "csat_commented": return `rating comment: “${event.comment}”`;
    default: return null;
  }
}
