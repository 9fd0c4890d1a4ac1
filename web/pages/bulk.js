// The queue's bulk bar, shown while rows are ticked: one change to every ticked ticket through
// `POST /tickets/bulk` — status, priority (as urgency and importance, which the priority matrix
// turns into it), assignee (the picker), team, and a tag to add or remove. Tickets the server
// refuses are reported by number; the rest change, and the list follows live.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get } from "../lib/api.js";
import { report } from "../lib/session.js";
import { AssignPicker, bulk } from "./assign.js";
import { t } from "../lib/i18n.js";

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
  return html`<section class="bulk-bar" aria-label=${t("console.bulk.label")} aria-busy=${busy}>
    <strong data-selected=${ids.length}>${t("console.bulk.selected", { count: ids.length })}</strong>
    <label>${t("console.queue.status")} <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ status: e.target.value })}>
      <option value="">${t("console.bulk.set")}</option>${statuses.map((status) => html`<option value=${status.key}>${status.label}</option>`)}</select></label>
    <label>${t("console.bulk.urgency")} <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ urgency: e.target.value })}>
      <option value="">${t("console.bulk.set")}</option>${LEVELS.map((level) => html`<option value=${level}>${t(`console.level.${level}`)}</option>`)}</select></label>
    <label>${t("console.bulk.importance")} <select value="" disabled=${busy} onChange=${(e) => e.target.value && patchWith({ importance: e.target.value })}>
      <option value="">${t("console.bulk.set")}</option>${LEVELS.map((level) => html`<option value=${level}>${t(`console.level.${level}`)}</option>`)}</select></label>
    <span class="assign-anchor">
      <button type="button" class="secondary small" disabled=${busy} aria-haspopup="dialog" aria-expanded=${picking} onClick=${() => setPicking(!picking)}>${t("console.assign.button")}</button>
      ${picking && html`<${AssignPicker} label=${t("console.bulk.assign_label", { count: ids.length })} onClose=${() => setPicking(false)}
        onPick=${(choice) => assignWith(choice, "bulk assignment from the queue")} />`}
    </span>
    <label>${t("console.bulk.team")} <select value="" disabled=${busy} onChange=${(e) => e.target.value && assignWith({ team_id: e.target.value === "none" ? null : Number(e.target.value) }, "bulk team change from the queue")}>
      <option value="">${t("console.bulk.set")}</option><option value="none">${t("console.bulk.none")}</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
    <form class="bulk-tag" onSubmit=${(event) => tagAll(event, false)}>
      <label>${t("console.bulk.tag")} <input value=${tag} size="8" placeholder=${t("console.bulk.tag_placeholder")} onInput=${(e) => setTag(e.target.value)} /></label>
      <button type="submit" class="secondary small" disabled=${busy}>${t("console.bulk.add")}</button>
      <button type="button" class="secondary small" disabled=${busy} onClick=${(event) => tagAll(event, true)}>${t("console.bulk.remove")}</button>
    </form>
    <button type="button" class="link" onClick=${onClear}>${t("console.bulk.clear")}</button>
  </section>`;
}
