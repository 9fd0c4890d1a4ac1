// Routing on the admin page: each team's settings (mode, capacity, skills, language, offline
// policy, no-reply limit, tag → skill map), saved with PUT /teams/{id}/routing; and the router's
// explanation of an assignment, shown in a ticket's assignment history.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { get, put } from "../lib/api.js";

const MODES = [["manual", "Manual"], ["round_robin", "Round robin"], ["least_loaded", "Least loaded"]];
const POLICIES = [["keep", "Keep them"], ["return_to_queue", "Return them to the queue"], ["reassign", "Reassign them"]];

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
    <h2 id="routing-title">Routing</h2>
    <p>How each team's new and returned tickets find an agent. Only agents shown online with room under their capacity are candidates; away and busy agents get nothing. Skills and languages are set per person above.</p>
    ${teams.length === 0 ? html`<p class="empty">Add a team first.</p>` : teams.map((team) => html`<${TeamRoutingForm} key=${team.id} team=${team} />`)}
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
  return html`<form class="routing-form" data-team=${team.id} onSubmit=${save} aria-label=${`Routing of ${team.name}`}>
    <h3>${team.name}</h3>
    <div class="inline-form">
      <label>Mode <select value=${draft.mode} onChange=${(e) => edit({ mode: e.target.value })}>${MODES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select></label>
      <label class="inline"><input type="checkbox" checked=${draft.respect_capacity} disabled=${!routed} onClick=${(e) => edit({ respect_capacity: e.target.checked })} /> Respect capacity</label>
      <label class="inline"><input type="checkbox" checked=${draft.match_skills} disabled=${!routed} onClick=${(e) => edit({ match_skills: e.target.checked })} /> Match skills</label>
      <label class="inline"><input type="checkbox" checked=${draft.match_language} disabled=${!routed} onClick=${(e) => edit({ match_language: e.target.checked })} /> Match language</label>
    </div>
    <div class="inline-form">
      <label>When an agent goes offline <select value=${draft.offline_policy} disabled=${!routed} onChange=${(e) => edit({ offline_policy: e.target.value })}>${POLICIES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select></label>
      <label>after (seconds) <input type="number" min="0" max="86400" value=${draft.offline_grace_secs} disabled=${!routed} onInput=${(e) => edit({ offline_grace_secs: e.target.value })} required /></label>
      <label>Reassign without a reply after (minutes) <input type="number" min="1" max="10080" placeholder="never" value=${draft.reassign_if_no_reply_minutes ?? ""} disabled=${!routed} onInput=${(e) => edit({ reassign_if_no_reply_minutes: e.target.value })} /></label>
      <label class="wide">Tags requiring skills <input value=${draft.skill_tags_text} placeholder="billing=finance, vip=care" disabled=${!routed} onInput=${(e) => edit({ skill_tags_text: e.target.value })} /></label>
      <button type="submit">Save routing</button>
      ${saved && html`<span role="status">Saved.</span>`}
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
    <summary>Why</summary>
    <p>${explanation.mode.replace("_", " ")} · ${explanation.trigger.replace("_", " ")}${explanation.language ? ` · language ${explanation.language}` : ""}${explanation.skills?.length ? ` · skills ${explanation.skills.join(", ")}` : ""}</p>
    ${explanation.candidates.length > 0 && html`<ol>${explanation.candidates.map((candidate) => html`<li>${candidate.name}: ${candidate.load} of ${candidate.capacity}</li>`)}</ol>`}
    <p>${explanation.eligible} could take it${excluded.length ? `; left out: ${excluded.map(([why, count]) => `${count} ${why.replace("_", " ")}`).join(", ")}` : ""}</p>
  </details>`;
}
