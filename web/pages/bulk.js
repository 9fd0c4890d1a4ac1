// The queue's bulk bar, shown while rows are ticked: one change to every ticked ticket through
// `POST /tickets/bulk` — status, priority (as urgency and importance, which the priority matrix
// turns into it), assignee (the picker), team, and a tag to add or remove. Tickets the server
// refuses are reported by number; the rest change, and the list follows live.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get } from "../lib/api.js";
import { report } from "../lib/session.js";
import { AssignPicker, bulk } from "./assign.js";

const LEVELS = ["low", "medium", "high", "critical"];

export function BulkBar({ ids, statuses, onClear }) {
  const [teams, setTeams] = useState([]);
  const [picking, setPicking] = useState(false);
  const [tag, setTag] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    get("/teams").then((page) => setTeams(page.items)).catch(() => {});
  }, []);
  async function apply(change) {
    setBusy(true);
    try {
      await bulk(ids, change);
    } catch (error) {
      report(error);
    } finally {
      setBusy(false);
    }
  }
  const patchWith = (fields) => apply({ patch: fields });
  const assignWith = (choice, reason) => apply({ assign: { ...choice, reason } });
  function tagAll(event, remove) {
    event.preventDefault();
    const value = tag.trim();
    if (!value) return;
    patchWith(remove ? { remove_tags: [value] } : { add_tags: [value] });
    setTag("");
  }
  return html`<section class="bulk-bar" aria-label="Bulk change" aria-busy=${busy}>
    <strong data-selected=${ids.length}>${ids.length} selected</strong>
    <label>Status <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ status: e.target.value })}>
      <option value="">set…</option>${statuses.map((status) => html`<option value=${status.key}>${status.label}</option>`)}</select></label>
    <label>Urgency <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ urgency: e.target.value })}>
      <option value="">set…</option>${LEVELS.map((level) => html`<option>${level}</option>`)}</select></label>
    <label>Importance <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ importance: e.target.value })}>
      <option value="">set…</option>${LEVELS.map((level) => html`<option>${level}</option>`)}</select></label>
    <span class="assign-anchor">
      <button type="button" class="secondary small" disabled=${busy} aria-haspopup="dialog" aria-expanded=${picking} onClick=${() => setPicking(!picking)}>Assign…</button>
      ${picking && html`<${AssignPicker} label=${`Assign ${ids.length} tickets`} onClose=${() => setPicking(false)}
        onPick=${(choice) => assignWith(choice, "bulk assignment from the queue")} />`}
    </span>
    <label>Team <select value="" disabled=${busy} onChange=${(e) => e.target.value && assignWith({ team_id: e.target.value === "none" ? null : Number(e.target.value) }, "bulk team change from the queue")}>
      <option value="">set…</option><option value="none">none</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
    <form class="bulk-tag" onSubmit=${(event) => tagAll(event, false)}>
      <label>Tag <input value=${tag} size="8" placeholder="tag" onInput=${(e) => setTag(e.target.value)} /></label>
      <button type="submit" class="secondary small" disabled=${busy}>Add</button>
      <button type="button" class="secondary small" disabled=${busy} onClick=${(event) => tagAll(event, true)}>Remove</button>
    </form>
    <button type="button" class="link" onClick=${onClear}>Clear selection</button>
  </section>`;
}
