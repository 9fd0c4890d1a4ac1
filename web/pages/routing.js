// Routing on the admin page: each team's settings (mode, capacity, skills, language, offline
// policy, no-reply limit, tag → skill map), saved with PUT /teams/{id}/routing; and the router's
// explanation of an assignment, shown in a ticket's assignment history.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { get, put } from "../lib/api.js";
import { t } from "../lib/i18n.js";

/** Routing modes and offline policies, each labelled `console.routing.mode.<value>` or
 * `console.routing.policy.<value>`. */
const MODES = ["manual", "round_robin", "least_loaded"];
const POLICIES = ["keep", "return_to_queue", "reassign"];

/** `billing=finance, vip=care` ↔ `{billing: "finance", vip: "care"}`. */
const tagsText = (map) => Object.entries(map || {}).map(([tag, skill]) => `${tag}=${skill}`).join(", ");
function tagsMap(text) {
  const map = {};
  for (const pair of text.split(",").map((part) => part.trim()).filter(Boolean)) {
    const [tag, skill = ""] = pair.split("=").map((part) => part.trim());
    map[tag] = skill;
  }
  return map;
}

/** Every team's routing, one form each. */
export function TeamRoutingSection({ teams }) {
  return html`<section aria-labelledby="routing-title" data-section="routing">
    <h2 id="routing-title">${t("console.routing.title")}</h2>
    <p>${t("console.routing.lead")}</p>
    ${teams.length === 0 ? html`<p class="empty">${t("console.routing.no_teams")}</p>` : teams.map((team) => html`<${TeamRoutingForm} key=${team.id} team=${team} />`)}
  </section>`;
}

function TeamRoutingForm({ team }) {
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const fromServer = (routing) => ({ ...routing, skill_tags_text: tagsText(routing.skill_tags) });
  useEffect(() => {
    get(`/teams/${team.id}/routing`).then((routing) => setDraft(fromServer(routing))).catch(report);
  }, [team.id]);
  if (!draft) return null;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(event) {
    event.preventDefault();
    const limit = String(draft.reassign_if_no_reply_minutes ?? "").trim();
    const body = {
      mode: draft.mode,
      respect_capacity: draft.respect_capacity,
      match_skills: draft.match_skills,
      match_language: draft.match_language,
      offline_policy: draft.offline_policy,
      offline_grace_secs: Number(draft.offline_grace_secs),
      reassign_if_no_reply_minutes: limit === "" ? null : Number(limit),
      skill_tags: tagsMap(draft.skill_tags_text),
    };
    try {
      setDraft(fromServer(await put(`/teams/${team.id}/routing`, body)));
      setError(null);
      setSaved(true);
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }
  const routed = draft.mode !== "manual";
  return html`<form class="routing-form" data-team=${team.id} onSubmit=${save} aria-label=${t("console.routing.of", { team: team.name })}>
    <h3>${team.name}</h3>
    <div class="inline-form">
      <label>${t("console.routing.mode")} <select value=${draft.mode} onChange=${(e) => edit({ mode: e.target.value })}>${MODES.map((value) => html`<option value=${value}>${t(`console.routing.mode.${value}`)}</option>`)}</select></label>
      <label class="inline"><input type="checkbox" checked=${draft.respect_capacity} disabled=${!routed} onClick=${(e) => edit({ respect_capacity: e.target.checked })} /> ${t("console.routing.respect_capacity")}</label>
      <label class="inline"><input type="checkbox" checked=${draft.match_skills} disabled=${!routed} onClick=${(e) => edit({ match_skills: e.target.checked })} /> ${t("console.routing.match_skills")}</label>
      <label class="inline"><input type="checkbox" checked=${draft.match_language} disabled=${!routed} onClick=${(e) => edit({ match_language: e.target.checked })} /> ${t("console.routing.match_language")}</label>
    </div>
    <div class="inline-form">
      <label>${t("console.routing.offline")} <select value=${draft.offline_policy} disabled=${!routed} onChange=${(e) => edit({ offline_policy: e.target.value })}>${POLICIES.map((value) => html`<option value=${value}>${t(`console.routing.policy.${value}`)}</option>`)}</select></label>
      <label>${t("console.routing.after_seconds")} <input type="number" min="0" max="86400" value=${draft.offline_grace_secs} disabled=${!routed} onInput=${(e) => edit({ offline_grace_secs: e.target.value })} required /></label>
      <label>${t("console.routing.no_reply")} <input type="number" min="1" max="10080" placeholder=${t("console.preferences.digest_off")} value=${draft.reassign_if_no_reply_minutes ?? ""} disabled=${!routed} onInput=${(e) => edit({ reassign_if_no_reply_minutes: e.target.value })} /></label>
      <label class="wide">${t("console.routing.skill_tags")} <input value=${draft.skill_tags_text} placeholder="billing=finance, vip=care" disabled=${!routed} onInput=${(e) => edit({ skill_tags_text: e.target.value })} /></label>
      <button type="submit">${t("console.routing.save")}</button>
      ${saved && html`<span role="status">${t("console.preferences.saved")}</span>`}
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </form>`;
}

/** A comma-separated list typed by an admin → its items. */
export const listOf = (text) => text.split(",").map((item) => item.trim()).filter(Boolean);

/** Why the router chose (or returned) a ticket: who was considered with their load, who was
 * left out and why. */
export function Explanation({ explanation }) {
  if (!explanation) return null;
  const excluded = Object.entries(explanation.excluded || {});
  return html`<details class="explanation">
    <summary>${t("console.routing.why")}</summary>
    <p>${t(`console.routing.explain_mode.${explanation.mode}`)} · ${explanation.trigger.replace("_", " ")}${explanation.language ? ` · ${t("console.routing.why_language", { language: explanation.language })}` : ""}${explanation.skills?.length ? ` · ${t("console.routing.why_skills", { skills: explanation.skills.join(", ") })}` : ""}</p>
    ${explanation.candidates.length > 0 && html`<ol>${explanation.candidates.map((candidate) => html`<li>${t("console.routing.candidate", { name: candidate.name, load: candidate.load, capacity: candidate.capacity })}</li>`)}</ol>`}
    <p>${t("console.routing.eligible", { count: explanation.eligible })}${excluded.length ? `; ${t("console.routing.left_out", { list: excluded.map(([why, count]) => `${count} ${why.replace("_", " ")}`).join(", ") })}` : ""}</p>
  </details>`;
}
