// Ticket detail: the thread (customer left, agents right, notes marked private, system events
// centred), delivery ticks, attachments, who else is viewing or typing, the reply box (WhatsApp
// window countdown, templates when it is closed, internal notes), properties and activity.
// Everything stays live through `ticket:<id>`; the ticket's properties are the ticket store's copy
// (lib/tickets.js), the one the queue and the board show too. Each ticket id gets a fresh page
// (nothing of one ticket's, least of all its reply, is ever shown on another), and the reply box
// keeps its state as that ticket's draft (lib/drafts.js).

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { me, report } from "../lib/session.js";
import { del, get, patch, post, put } from "../lib/api.js";
import { tell } from "../lib/live.js";
import { followTicket, readList, readTicket, remember, ticket as stored } from "../lib/tickets.js";
import { clearDraft, loadDraft, markPushed, saveDraft } from "../lib/drafts.js";
import { ticks, time, until } from "../lib/format.js";
import { date, t } from "../lib/i18n.js";
import { Icon } from "../lib/icons.js";
import { SkeletonPage } from "../lib/skeleton.js";
import { SlaTracker, METRIC_LABEL } from "../lib/sla.js";
import { insertMention, loadStaff, matches, mentionAt, withMentions } from "../lib/mentions.js";
import { Markdown, hasMarkdown } from "../lib/markdown.js";
import { ArticleLink } from "./article-link.js";
import { Explanation } from "./routing.js";
import { HeadFacts, SYSTEM_EVENTS, Subject, SystemMarker, deliverySteps } from "./ticket-head.js";
import { LINK_EVENTS, LinkMarker, MergeBanner, MergeDialog, SplitBar, linkedTicket, mergedOrigin, threadItems } from "./merge.js";
import { describeCsat } from "./csat.js";

function Attachment({ file }) {
  if (file.status === "pending") return html`<span class="file pending"><${Icon} name="clock" size=${14} /> ${file.file_name} (${t("console.ticket.file_fetching")})</span>`;
  if (file.status === "failed") return html`<span class="file failed"><${Icon} name="alert" size=${14} /> ${file.file_name}: ${file.error || t("console.ticket.file_failed")}</span>`;
  if (file.content_type.startsWith("image/")) return html`<a href=${file.url} target="_blank" rel="noopener"><img class="preview" src=${file.url} alt=${file.file_name} /></a>`;
  if (file.content_type.startsWith("audio/")) return html`<audio controls src=${file.url} aria-label=${file.file_name}></audio>`;
  return html`<a class="file" href=${file.url} download=${file.file_name}><${Icon} name="paperclip" size=${14} /> ${file.file_name}</a>`;
}

const CHANNEL_LABEL = { whatsapp: "WhatsApp", get email() { return t("console.ticket.email"); } };

/** How long the reply box waits after the last change before keeping the draft on the server
 * (one request per pause in typing, not per keystroke; the browser's copy is kept at once). */
const DRAFT_PUSH_DELAY_MS = 800;

function MessageBubble({ message, names, origin, selecting, selected, onSelect, steps }) {
  const side = message.kind === "customer" ? "left" : message.kind === "system" ? "centre" : "right";
  const author = message.author_id ? names.get(message.author_id) || `#${message.author_id}` : "";
  return html`<article class=${`message ${message.kind} ${side}${selected ? " selected" : ""}`} data-message=${message.id} aria-label=${t(`console.ticket.message_kind.${message.kind}`)}>
    ${selecting && html`<label class="pick"><input type="checkbox" checked=${selected} onChange=${(e) => onSelect(message.id, e.target.checked)} /> ${t("console.ticket.split_off")}</label>`}
    ${origin && html`<span class="origin" data-origin=${origin.ticket_id}>${t("console.ticket.from")} <a href=${`#/tickets/${origin.ticket_id}`}>#${origin.number}</a></span>`}
    ${message.kind === "note" && html`<span class="private">${t("console.ticket.private")}</span>`}
    <div class="body">${message.kind === "note" ? withMentions(message.body) : message.body}</div>
    ${message.attachments?.map((file) => html`<${Attachment} file=${file} />`)}
    <footer>
      <span>${author}</span> <time datetime=${message.created_at}>${time(message.created_at)}</time>
      ${message.kind !== "note" && CHANNEL_LABEL[message.channel] && html` <span class="via-channel" data-channel=${message.channel}>${t("console.ticket.via", { channel: CHANNEL_LABEL[message.channel] })}</span>`}
      ${message.delivery_status && html` <span class=${`tick ${message.delivery_status}`} data-status=${message.delivery_status}
        title=${(steps || []).map((step) => `${ticks[step.status]?.word || step.status} ${time(step.at)}`).join(" · ") || undefined}><${DeliveryTick} status=${message.delivery_status} /></span>`}
      ${message.delivery_error && html`<span class="delivery-error" role="note"> — ${message.delivery_error.explanation}</span>`}
    </footer>
  </article>`;
}

function DeliveryTick({ status }) {
  const tick = ticks[status];
  if (!tick) return status;
  return html`<${Icon} name=${tick.icon} size=${14} />${tick.word}`;
}

/** Events the activity list leaves out: messages are the thread, and their delivery steps are
 * folded into the message's tick. */
const FOLDED_EVENTS = new Set(["message_added", "delivery_changed", "attachments_changed"]);

/** The thread's items with the system events (status, assignment, priority, SLA, window) among
 * them, in time order, each centred. */
function withSystemEvents(items, activity) {
  const system = activity.filter((event) => SYSTEM_EVENTS.has(event.type)).map((event) => ({ system: event, at: event.at }));
  return [...items, ...system].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

function WindowBadge({ window }) {
  if (!window) return null;
  if (window.state === "closed") return html`<span class="window closed">${t("console.ticket.window_closed")}</span>`;
  return html`<span class=${`window ${window.state}`}>${t("console.ticket.window_open", { until: until(window.until) })}</span>`;
}

/** The page of ticket `id`: keyed by the id, so moving to another ticket starts from nothing
 * (its own read, its own draft) instead of carrying the previous ticket's state over. */
export function TicketPage({ id }) {
  return html`<${TicketView} key=${id} id=${id} />`;
}

function TicketView({ id }) {
  // The ticket once its own read completed; `missing` when the server knows no such ticket (or
  // not one this user may see).
  const [shown, setShown] = useState(null);
  const [missing, setMissing] = useState(false);
  const [messages, setMessages] = useState([]);
  const [activity, setActivity] = useState([]);
  const [viewers, setViewers] = useState([]);
  const [window, setWindow] = useState(null);
  const [templates, setTemplates] = useState([]);
  const [config, setConfig] = useState(null);
  const [users, setUsers] = useState([]);
  const [teams, setTeams] = useState([]);
  const [stale, setStale] = useState(false);
  // "Merge into…" open, or split mode with the messages picked so far.
  const [merging, setMerging] = useState(false);
  const [splitting, setSplitting] = useState(null);
  // `?` shows the keys; r / n ask the reply box for a reply or a note (a new object each time).
  const [help, setHelp] = useState(false);
  const [compose, setCompose] = useState(null);
  const seen = useRef(0);
  // The page's keys act on the ticket as it is now (set as it renders).
  const keys = useRef(null);

  async function load() {
    const full = await readTicket(id);
    setShown(id);
    setMessages(full.messages);
    seen.current = full.seq;
    const events = await get(`/tickets/${id}/events`);
    setActivity(events.items);
    if (full.channel === "whatsapp" || full.reply_channels?.includes("whatsapp")) {
      setWindow(full.window || { state: "closed" });
      setTemplates((await get("/whatsapp/templates")).items.filter((template) => template.status === "APPROVED"));
    }
    return full;
  }

  useEffect(() => {
    let unsubscribe = () => {};
    let active = true;
    load()
      .then((full) => {
        if (!active) return;
        unsubscribe = followTicket(id, (frame) => {
          if (frame.type === "viewers") {
            setViewers(frame.viewers.filter((viewer) => viewer.user_id !== me.value.id));
            return;
          }
          if (frame.type !== "event") return;
          const event = frame.event;
          seen.current = Math.max(seen.current, frame.seq);
          setActivity((previous) => (previous.some((known) => known.seq === frame.seq) ? previous : [...previous, event]));
          if (event.type === "message_added") {
            setMessages((previous) => (previous.some((m) => m.id === event.message.id) ? previous : [...previous, event.message]));
            // A customer's WhatsApp message renews the window: its new end rides on the message.
            if (event.window_until) setWindow({ state: "open", until: event.window_until });
          } else if (event.type === "delivery_changed") {
            setMessages((previous) => previous.map((m) => (m.id === event.message_id ? { ...m, delivery_status: event.status, delivery_error: event.error || m.delivery_error } : m)));
          } else if (event.type === "attachments_changed") {
            setMessages((previous) => previous.map((m) => (m.id === event.message_id ? { ...m, attachments: event.attachments } : m)));
          } else if (event.type === "window_changed") {
            setWindow(event.window);
          } else if (LINK_EVENTS.has(event.type)) {
            // Messages moved in or out of this thread: read it again.
            load().catch(report);
          }
        }, full.seq);
        tell({ type: "viewing", ticket_id: id });
      })
      .catch((error) => {
        if (!active) return;
        if (error.status === 404 || error.status === 403) setMissing(true);
        else report(error);
      });
    get("/account/config").then(setConfig).catch(report);
    get("/users").then((page) => setUsers(page.items)).catch(report);
    get("/teams").then((page) => setTeams(page.items)).catch(report);
    return () => {
      active = false;
      unsubscribe();
      tell({ type: "viewing", ticket_id: null });
    };
  }, [id]);

  useEffect(() => {
    function onKey(event) {
      if (event.target.closest("input, textarea, select, [role=dialog]") || event.ctrlKey || event.metaKey || event.altKey) return;
      const act = keys.current?.[event.key];
      if (act) {
        event.preventDefault();
        act();
      } else if (event.key === "?") setHelp((shown) => !shown);
      else if (event.key === "Escape") setHelp(false);
    }
    // (`window` in this component is the WhatsApp window's state.)
    globalThis.addEventListener("keydown", onKey);
    return () => globalThis.removeEventListener("keydown", onKey);
  }, []);

  if (missing) {
    return html`<main class="page ticket-missing" data-missing-ticket=${id}>
      <h1>${t("console.ticket.not_found")}</h1>
      <p>${t("console.ticket.not_found_text", { id })} <a href="#/queue">${t("console.not_allowed.back")}</a></p>
    </main>`;
  }
  const ticket = shown === null ? null : stored(shown);
  if (!ticket) return html`<${SkeletonPage} what=${t("console.ticket.what")} />`;
  const names = new Map(users.map((user) => [user.id, user.name]));
  const steps = deliverySteps(activity);
  const requester = names.get(ticket.requester_id) || t("console.ticket.customer_number", { id: ticket.requester_id });

  async function change(fields) {
    try {
      await patch(`/tickets/${id}`, fields);
    } catch (error) {
      report(error);
    }
  }

  // e resolves, p sets pending (the account's first status of that category), r / n open the
  // reply box for a reply / an internal note.
  const statusOf = (category) => (config?.statuses || []).find((status) => status.category === category)?.key;
  const toStatus = (category) => () => {
    const key = statusOf(category);
    if (key && key !== ticket.status) change({ status: key, seen_seq: seen.current });
  };
  keys.current = {
    e: toStatus("resolved"),
    p: toStatus("pending"),
    r: () => setCompose({ internal: false }),
    n: () => setCompose({ internal: true }),
  };

  const linkable = !ticket.links?.merged_into && ticket.status_category !== "closed";
  function pick(messageId, on) {
    setSplitting((current) => {
      const next = new Set(current);
      if (on) next.add(messageId);
      else next.delete(messageId);
      return next;
    });
  }

  return html`<main class="page ticket" data-ticket=${id}>
    <header class="ticket-head">
      <${Subject} ticket=${ticket} change=${change} />
      ${linkable && html`<div class="ticket-actions">
        <button type="button" class="secondary small" onClick=${() => { setSplitting(null); setMerging(true); }}>${t("console.merge.into_button")}</button>
        <button type="button" class="secondary small" onClick=${() => { setMerging(false); setSplitting(new Set()); }}>${t("console.merge.split_button")}</button>
      </div>`}
      <${HeadFacts} ticket=${ticket} statuses=${config?.statuses || []} names=${names} teams=${teams} requester=${requester} seen=${seen} change=${change}>
        ${(ticket.channel === "whatsapp" || ticket.reply_channels?.includes("whatsapp")) && html`<${WindowBadge} window=${window} />`}
      </${HeadFacts}>
      ${help && html`<aside class="help" aria-label=${t("console.queue.keys_label")}><b>${t("console.queue.keys")}</b> ${t("console.ticket.keys_text")}</aside>`}
      <p class="viewers" aria-live="polite" data-viewers>${viewers.map((viewer) => html`<span class="viewer">${t(viewer.typing ? "console.ticket.typing" : "console.ticket.viewing", { name: viewer.name })}</span>`)}</p>
      <${MergeBanner} ticket=${ticket} onChanged=${() => load().catch(report)} />
      ${merging && html`<${MergeDialog} ticket=${ticket} names=${names} onClose=${() => setMerging(false)} onChanged=${() => load().catch(report)} />`}
      ${splitting && html`<${SplitBar} ticket=${ticket} selected=${splitting} onCancel=${() => setSplitting(null)}
        onSplit=${(created) => { setSplitting(null); location.hash = `#/tickets/${created.id}`; }} />`}
    </header>
    <div class="ticket-body">
      <section class="thread" aria-label=${t("console.ticket.conversation")}>
        ${withSystemEvents(threadItems(messages, activity), activity).map((item) => item.system
          ? html`<${SystemMarker} key=${`system-${item.system.seq}`} event=${item.system} names=${names} />`
          : item.marker
          ? html`<${LinkMarker} key=${`link-${item.marker.seq}`} event=${item.marker} />`
          : html`<${MessageBubble} key=${item.message.id} message=${item.message} names=${names} origin=${mergedOrigin(ticket, item.message.id)}
              selecting=${!!splitting} selected=${splitting?.has(item.message.id)} onSelect=${pick} steps=${steps.get(item.message.id)} />`)}
        ${stale && html`<p class="stale" role="alert">${t("console.ticket.stale")}</p>`}
        <${ReplyBox} compose=${compose} ticket=${ticket} window=${window} templates=${templates} seen=${seen} onStale=${() => { setStale(true); load(); }} onSent=${() => setStale(false)} />
      </section>
      <aside class="side">
        <${CustomerCard} ticket=${ticket} />
        <${SlaTracker} ticket=${ticket} />
        <section aria-label=${t("console.ticket.properties")}>
          <h2>${t("console.ticket.properties")}</h2>
          <label>${t("console.bulk.urgency")} <select value=${ticket.urgency} onChange=${(e) => change({ urgency: e.target.value })}>${["low", "medium", "high", "critical"].map((v) => html`<option value=${v}>${t(`console.level.${v}`)}</option>`)}</select></label>
          <label>${t("console.bulk.importance")} <select value=${ticket.importance} onChange=${(e) => change({ importance: e.target.value })}>${["low", "medium", "high", "critical"].map((v) => html`<option value=${v}>${t(`console.level.${v}`)}</option>`)}</select></label>
          <label>${t("console.ticket.category")} <select value=${ticket.category_id ?? ""} onChange=${(e) => change({ category_id: e.target.value ? Number(e.target.value) : null })}>
            <option value="">${t("console.bulk.none")}</option>${(config?.categories || []).map((category) => html`<option value=${category.id}>${category.path}</option>`)}</select></label>
          <label>${t("console.bulk.team")} <select value=${ticket.team_id ?? ""} onChange=${(e) => post(`/tickets/${id}/assign`, { team_id: e.target.value ? Number(e.target.value) : null, reason: "team changed on the ticket" }).catch(report)}>
            <option value="">${t("console.bulk.none")}</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
          <${Tags} ticket=${ticket} change=${change} />
          <${CustomFields} ticket=${ticket} fields=${config?.custom_fields || []} onSaved=${(fresh) => remember([fresh])} />
        </section>
        <section aria-label=${t("console.ticket.assignment_history")}>
          <h2>${t("console.ticket.assignment_history")}</h2>
          <ol class="activity">${activity.filter((event) => event.type === "assigned").map((event) => html`<li><time>${time(event.at)}</time> ${event.assignee_id ? names.get(event.assignee_id) || `#${event.assignee_id}` : t("console.queue.unassigned")}${event.held_secs !== null && event.from_assignee_id ? ` (${t("console.ticket.held", { minutes: Math.round(event.held_secs / 60), name: names.get(event.from_assignee_id) || event.from_assignee_id })})` : ""}${event.reason ? ` — ${event.reason}` : ""}<${Explanation} explanation=${event.explanation} /></li>`)}</ol>
        </section>
        <section aria-label=${t("console.queue.activity")}>
          <h2>${t("console.queue.activity")}</h2>
          <ol class="activity">${activity.filter((event) => !FOLDED_EVENTS.has(event.type)).map((event) => html`<li><time>${time(event.at)}</time> ${describe(event, names)}</li>`)}</ol>
        </section>
      </aside>
    </div>
  </main>`;
}

function CustomerCard({ ticket }) {
  const [customer, setCustomer] = useState(null);
  const [company, setCompany] = useState(null);
  // The customer's tickets, by id: shown from the ticket store, so they read as every view does.
  const [otherIds, setOtherIds] = useState([]);
  useEffect(() => {
    get(`/users/${ticket.requester_id}`).then(setCustomer).catch(() => setCustomer(null));
    readList(`requester=${ticket.requester_id}&category=new,open,pending,resolved,closed&limit=20`)
      .then((page) => setOtherIds(page.items.map((other) => other.id)))
      .catch(() => setOtherIds([]));
  }, [ticket.requester_id]);
  useEffect(() => {
    if (customer?.company_id) get("/companies").then((page) => setCompany(page.items.find((c) => c.id === customer.company_id))).catch(() => {});
  }, [customer?.company_id]);
  if (!customer) return null;
  const others = otherIds.map(stored).filter(Boolean);
  const realEmail = customer.email.endsWith("@whatsapp.invalid") ? null : customer.email;
  return html`<section class="customer" aria-label=${t("console.ticket.customer")}>
    <h2>${customer.name}</h2>
    ${customer.phone && html`<p><${Icon} name="phone" size=${14} />${customer.phone}</p>`}
    ${realEmail && html`<p><${Icon} name="mail" size=${14} />${realEmail}</p>`}
    ${company && html`<p><${Icon} name="briefcase" size=${14} />${company.name}</p>`}
    <p>${t("console.ticket.customer_since", { date: date(customer.created_at) })} · ${others.length === 1 ? t("console.queue.one_ticket") : t("console.queue.tickets", { count: others.length })}</p>
    ${others.filter((other) => other.id !== ticket.id).length > 0 && html`<ul class="others">${others.filter((other) => other.id !== ticket.id).slice(0, 5).map((other) => html`<li><a href=${`#/tickets/${other.id}`}>#${other.number} ${other.subject}</a> <span class=${`status ${other.status_category}`}>${other.status}</span></li>`)}</ul>`}
  </section>`;
}

function Tags({ ticket, change }) {
  const [draft, setDraft] = useState("");
  function add(event) {
    event.preventDefault();
    const tag = draft.trim();
    if (tag) change({ add_tags: [tag] });
    setDraft("");
  }
  return html`<div class="tags">
    <span>${t("console.ticket.tags")}</span>
    ${ticket.tags.map((tag) => html`<span class="chip">${tag} <button type="button" class="link" aria-label=${t("console.ticket.remove_tag", { tag })} onClick=${() => change({ remove_tags: [tag] })}><${Icon} name="close" size=${12} /></button></span>`)}
    <form onSubmit=${add}><label class="visually-hidden" for="new-tag">${t("console.ticket.add_tag")}</label><input id="new-tag" placeholder=${t("console.ticket.add_tag_placeholder")} value=${draft} onInput=${(e) => setDraft(e.target.value)} size="8" /></form>
  </div>`;
}

/** The account's typed custom fields, each edited in place with the input its type needs; a
 * refusal from the server is shown beside the field, word for word. */
function CustomFields({ ticket, fields, onSaved }) {
  const [errors, setErrors] = useState({});
  // What the agent is typing, per field, until it is saved: live updates re-render the page and
  // must not put the stored value back under their cursor.
  const [drafts, setDrafts] = useState({});
  if (!fields.length) return null;
  async function save(field, value) {
    try {
      const outcome = await patch(`/tickets/${ticket.id}`, { custom_fields: { [field.key]: value } });
      setErrors((current) => ({ ...current, [field.key]: null }));
      setDrafts(({ [field.key]: _saved, ...rest }) => rest);
      onSaved(outcome.ticket);
    } catch (error) {
      setErrors((current) => ({ ...current, [field.key]: error.message }));
    }
  }
  const typing = (field) => (e) => setDrafts((current) => ({ ...current, [field.key]: e.target.value }));
  // A tick shows at once and stays while it is saved (a re-render meanwhile must not untick it);
  // a refused one goes back to the stored value, with the refusal beside it.
  async function tick(field, checked) {
    setDrafts((current) => ({ ...current, [field.key]: checked }));
    await save(field, checked);
    setDrafts(({ [field.key]: _pending, ...rest }) => rest);
  }
  const input = (field) => {
    const value = field.key in drafts ? drafts[field.key] : ticket.custom_fields[field.key];
    const id = `field-${field.key}`;
    const label = html`<label for=${id}>${field.label}</label>`;
    const invalid = errors[field.key] ? "true" : undefined;
    const described = errors[field.key] ? `${id}-error` : undefined;
    switch (field.field_type) {
      case "boolean":
        return html`<input id=${id} type="checkbox" checked=${value === true} aria-invalid=${invalid} aria-describedby=${described} onChange=${(e) => tick(field, e.target.checked)} /> ${label}`;
      case "select":
        return html`${label} <select id=${id} value=${value ?? ""} aria-invalid=${invalid} aria-describedby=${described} onChange=${(e) => save(field, e.target.value || null)}>
          <option value="">${t("console.bulk.none")}</option>${field.options.map((option) => html`<option value=${option}>${option}</option>`)}</select>`;
      case "number":
        return html`${label} <input id=${id} type="number" step="any" value=${value ?? ""} aria-invalid=${invalid} aria-describedby=${described}
          onInput=${typing(field)} onChange=${(e) => save(field, e.target.value === "" ? null : Number(e.target.value))} />`;
      case "date":
        return html`${label} <input id=${id} type="date" value=${value ?? ""} aria-invalid=${invalid} aria-describedby=${described}
          onInput=${typing(field)} onChange=${(e) => save(field, e.target.value || null)} />`;
      default:
        return html`${label} <input id=${id} type="text" value=${value ?? ""} aria-invalid=${invalid} aria-describedby=${described}
          onInput=${typing(field)} onChange=${(e) => save(field, e.target.value === "" ? null : e.target.value)} />`;
    }
  };
  return html`<fieldset class="custom-fields"><legend>${t("console.ticket.custom_fields")}</legend>
    ${fields.map((field) => html`<div class="field" key=${field.key} data-field=${field.key}>
      ${input(field)}
      ${errors[field.key] && html`<p class="error" role="alert" id=${`field-${field.key}-error`}>${errors[field.key]}</p>`}
    </div>`)}
  </fieldset>`;
}

function describe(event, names) {
  switch (event.type) {
    case "created": return t("console.activity.created");
    case "status_changed": return t("console.activity.status_changed", { from: event.from, to: event.to });
    case "priority_changed": return t("console.activity.priority_changed", { from: t(`console.priority.${event.from}`), to: t(`console.priority.${event.to}`) });
    case "assigned": return `${t("console.activity.assigned", { name: event.assignee_id ? names.get(event.assignee_id) || event.assignee_id : t("console.activity.nobody") })}${event.reason ? ` (${event.reason})` : ""}`;
    case "tags_changed": return t("console.activity.tags_changed", { added: event.added.join(","), removed: event.removed.join(",") });
    case "delivery_changed": return t("console.activity.delivery_changed", { status: ticks[event.status]?.word || event.status });
    case "window_changed": return t("console.activity.window_changed", { state: t(`console.window.${event.window.state}`) });
    case "fields_changed": return t("console.activity.fields_changed", { fields: Object.keys(event.changes).map((key) => key.replace("custom_fields.", "")).join(", ") });
    case "sla_changed": return event.sla ? t("console.activity.sla_set", { priority: t(`console.priority.${event.sla.priority}`) }) : t("console.activity.sla_removed");
    case "sla_warning": return t("console.activity.sla_warning", { metric: METRIC_LABEL[event.metric].toLowerCase(), time: time(event.due_at) });
    case "sla_breached": return t("console.activity.sla_breached", { metric: METRIC_LABEL[event.metric].toLowerCase(), time: time(event.due_at) });
    case "merged_into": return t("console.activity.merged_into", { number: linkedTicket(event).number });
    case "merged_in": return t("console.activity.merged_in", { number: linkedTicket(event).number });
    case "unmerged": return t("console.activity.unmerged", { number: linkedTicket(event).number });
    case "merge_undone": return t("console.activity.merge_undone", { number: linkedTicket(event).number });
    case "split_to": return t("console.activity.split_to", { number: linkedTicket(event).number });
    case "split_from": return t("console.activity.split_from", { number: linkedTicket(event).number });
    case "csat_requested": case "csat_received": case "csat_commented": return describeCsat(event, names);
    default: return event.type.replace(/_/g, " ");
  }
}

function ReplyBox({ compose, ticket, window, templates, seen, onStale, onSent }) {
  const userId = me.value.id;
  // This ticket's draft, read once when the box opens (the page is remounted per ticket).
  const [draft] = useState(() => loadDraft(userId, ticket.id));
  const [body, setBody] = useState(draft?.text || "");
  const [canned, setCanned] = useState([]);
  const [files, setFiles] = useState(draft?.files || []);
  useEffect(() => {
    get("/canned-responses").then((page) => setCanned(page.items)).catch(() => setCanned([]));
  }, []);

  async function attach(event) {
    for (const file of event.target.files) {
      const response = await fetch(`/api/v1/uploads?name=${encodeURIComponent(file.name)}`, {
        method: "POST",
        headers: { "content-type": file.type || "application/octet-stream" },
        body: file,
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (response.ok) setFiles((current) => [...current, answer]);
      else report(new Error(answer.message || t("console.ticket.upload_failed")));
    }
    event.target.value = "";
  }
  const [internal, setInternal] = useState(draft?.internal || false);
  const [template, setTemplate] = useState("");
  const [parameters, setParameters] = useState([]);
  const [busy, setBusy] = useState(false);
  const typingSent = useRef(0);
  // Replies go out on a channel the customer has (the ticket's own by default); the 24-hour
  // window and templates are WhatsApp's rules only.
  const channels = ticket.reply_channels || [];
  // Where the customer last wrote (a merged thread's WhatsApp, say), else the ticket's channel.
  const preferred = [ticket.last_customer_channel, ticket.channel].find((option) => option && channels.includes(option));
  const defaultChannel = preferred || channels[0] || null;
  const [channel, setChannel] = useState(draft?.channel && channels.includes(draft.channel) ? draft.channel : defaultChannel);
  useEffect(() => {
    if (channel && !channels.includes(channel)) setChannel(channels[0] || null);
  }, [channels.join(",")]);
  // Every change is kept as this ticket's draft (a channel only when it is not the default), as
  // the change renders (a layout effect, not one after paint: a reload right after a keystroke
  // keeps it), and on the server a moment later, so it follows the agent to another device.
  const firstRender = useRef(true);
  const fromServer = useRef(false);
  const edited = useRef(false);
  const pushTimer = useRef(null);
  const pending = useRef(null);
  const draftPath = `/tickets/${ticket.id}/draft`;
  function pushDraft() {
    clearTimeout(pushTimer.current);
    const state = pending.current;
    pending.current = null;
    if (!state) return;
    const empty = !state.text && !state.internal && !state.channel;
    // A failed push leaves the browser's copy; the next change tries again.
    (empty ? del(draftPath) : put(draftPath, { body: state.text, channel: state.channel, internal: state.internal }))
      .then(() => !empty && state.updatedAt && markPushed(userId, ticket.id, state.updatedAt))
      .catch(() => {});
  }
  useLayoutEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    const state = { text: body, files, channel: channel === defaultChannel ? null : channel, internal };
    state.updatedAt = saveDraft(userId, ticket.id, state);
    if (fromServer.current) {
      fromServer.current = false;
      return;
    }
    edited.current = true;
    pending.current = state;
    clearTimeout(pushTimer.current);
    pushTimer.current = setTimeout(pushDraft, DRAFT_PUSH_DELAY_MS);
  }, [body, files, channel, internal]);
  // On open, the server's draft (written on another device) wins when it is newer than this
  // browser's and nothing was typed here yet; leaving the ticket sends what is still pending.
  useEffect(() => {
    let active = true;
    get(draftPath)
      .then((remote) => {
        if (!active || edited.current) return;
        if (!remote) {
          // The server kept this draft once and has none now: it was sent (or discarded) on
          // another device, so it must not sit here ready to be sent again.
          if (!draft?.pushed) return;
          fromServer.current = true;
          setBody("");
          setFiles([]);
          setInternal(false);
          setChannel(defaultChannel);
          clearDraft(userId, ticket.id);
          return;
        }
        if (draft?.updated_at && Date.parse(draft.updated_at) >= Date.parse(remote.updated_at)) return;
        const remoteChannel = remote.channel && channels.includes(remote.channel) ? remote.channel : defaultChannel;
        if (remote.body === body && remote.internal === internal && remoteChannel === channel) return;
        fromServer.current = true;
        setBody(remote.body);
        setInternal(remote.internal);
        setChannel(remoteChannel);
      })
      .catch(() => {}); // offline or refused: the browser's copy stands
    return () => {
      active = false;
      pushDraft();
    };
  }, []);
  // r / n on the page: a reply or a note, the cursor in the box.
  const bodyBox = useRef(null);
  useEffect(() => {
    if (!compose) return;
    setInternal(compose.internal);
    bodyBox.current?.focus();
  }, [compose]);
  const whatsapp = channel === "whatsapp";
  const closed = whatsapp && window?.state === "closed" && !internal;
  const chosen = templates.find((candidate) => `${candidate.name}|${candidate.language}` === template);

  function typing(value) {
    setBody(value);
    if (Date.now() - typingSent.current > 3000) {
      typingSent.current = Date.now();
      tell({ type: "typing", ticket_id: ticket.id, on: true });
    }
  }

  // `@` in an internal note offers the staff by name; the chosen one is written as a mention
  // the server resolves to that user (and notifies them).
  const [mention, setMention] = useState(null);
  useEffect(() => {
    loadStaff();
  }, []);
  function lookForMention(element) {
    const at = internal ? mentionAt(element.value, element.selectionStart) : null;
    const options = at ? matches(at.query) : [];
    setMention(options.length ? { at, caret: element.selectionStart, options, active: 0 } : null);
  }
  function chooseMention(user) {
    const next = insertMention(body, mention.caret, mention.at, user);
    typing(next.text);
    setMention(null);
    requestAnimationFrame(() => {
      const element = bodyBox.current;
      if (!element) return;
      element.focus();
      element.setSelectionRange(next.caret, next.caret);
    });
  }
  function mentionKeys(event) {
    if (!mention) return;
    const count = mention.options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : count - 1;
      setMention({ ...mention, active: (mention.active + step) % count });
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      chooseMention(mention.options[mention.active]);
    } else if (event.key === "Escape") {
      event.stopPropagation();
      setMention(null);
    }
  }

  async function send(thenStatus) {
    setBusy(true);
    // Sending removes the draft on the server; a push still waiting must not bring it back.
    clearTimeout(pushTimer.current);
    pending.current = null;
    try {
      const request = { body, internal, seen_seq: seen.current, attachments: files.map((file) => ({ url: file.url, name: file.file_name })) };
      if (thenStatus) request.then_status = thenStatus;
      if (channel && !internal) request.channel = channel;
      if (closed) {
        if (!chosen) throw new Error(t("console.ticket.choose_template"));
        request.body = "";
        request.template = { name: chosen.name, language: chosen.language, parameters };
      }
      await post(`/tickets/${ticket.id}/messages`, request);
      setBody("");
      setFiles([]);
      setParameters([]);
      setInternal(false);
      setChannel(defaultChannel);
      clearDraft(userId, ticket.id);
      tell({ type: "typing", ticket_id: ticket.id, on: false });
      onSent();
    } catch (error) {
      if (error.code === "stale_view") onStale();
      else report(error);
    } finally {
      setBusy(false);
    }
  }

  return html`<form class=${`reply ${internal ? "internal" : ""}`} onSubmit=${(event) => { event.preventDefault(); send(null); }} aria-label=${t("console.ticket.reply")}>
    <div class="reply-options">
      <label><input type="checkbox" checked=${internal} onChange=${(e) => setInternal(e.target.checked)} /> ${t("console.ticket.internal_note")}</label>
      ${!internal && channels.length > 0 && html`<fieldset class="channel-choice"><legend>${t("console.ticket.send_via")}</legend>
        ${channels.map((option) => html`<label><input type="radio" name=${`reply-channel-${ticket.id}`} value=${option} checked=${channel === option} onChange=${() => setChannel(option)} /> ${CHANNEL_LABEL[option] || option}</label>`)}
      </fieldset>`}
      ${!internal && channels.length === 0 && html`<span class="via">${t("console.ticket.kept_in_hub")}</span>`}
      ${!closed && canned.length > 0 && html`<label class="canned">${t("console.ticket.canned")} <select value="" onChange=${(e) => { const chosen = canned.find((c) => String(c.id) === e.target.value); if (chosen) typing(body ? `${body}\n${chosen.body}` : chosen.body); }}>
        <option value="">${t("console.ticket.insert")}</option>${canned.map((c) => html`<option value=${c.id}>${c.title}</option>`)}</select></label>`}
      ${!closed && !internal && html`<${ArticleLink} onInsert=${(link) => typing(body ? `${body}\n${link}` : link)} />`}
      ${!closed && html`<label class="attach">${t("console.ticket.attach")} <input type="file" onChange=${attach} /></label>`}
    </div>
    ${files.length > 0 && html`<ul class="attached">${files.map((file) => html`<li><${Icon} name="paperclip" size=${14} /> ${file.file_name} <button type="button" class="link" onClick=${() => setFiles(files.filter((f) => f !== file))}>${t("console.ticket.remove")}</button></li>`)}</ul>`}
    ${closed
      ? html`<div class="templates">
          <label>${t("console.ticket.template")} <select value=${template} onChange=${(e) => { setTemplate(e.target.value); setParameters([]); }} required>
            <option value="">${t("console.ticket.choose_approved")}</option>
            ${templates.map((candidate) => html`<option value=${`${candidate.name}|${candidate.language}`}>${candidate.name} (${candidate.language})</option>`)}
          </select></label>
          ${chosen && html`<p class="template-body">${chosen.body}</p>`}
          ${chosen && Array.from({ length: chosen.parameter_count }, (_, index) => html`<label>{{${index + 1}}} <input value=${parameters[index] || ""} onInput=${(e) => { const next = [...parameters]; next[index] = e.target.value; setParameters(next); }} required /></label>`)}
        </div>`
      : html`<label class="visually-hidden" for="reply-body">${t("console.ticket.message")}</label><div class="composer"><textarea id="reply-body" ref=${bodyBox} rows="3" aria-keyshortcuts="Control+Enter Meta+Enter"
          placeholder=${internal ? t("console.ticket.note_placeholder") : t("console.ticket.reply_placeholder")} value=${body}
          onInput=${(e) => { typing(e.target.value); lookForMention(e.target); }}
          onKeyDown=${(e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); if (!busy) e.currentTarget.form.requestSubmit(); return; } mentionKeys(e); }}
          onBlur=${() => setTimeout(() => setMention(null), 150)}
          role=${internal ? "combobox" : undefined} aria-autocomplete=${internal ? "list" : undefined} aria-expanded=${internal ? String(Boolean(mention)) : undefined}
          aria-controls=${mention ? "mention-options" : undefined} aria-activedescendant=${mention ? `mention-${mention.options[mention.active].id}` : undefined} required></textarea>
          ${mention && html`<ul id="mention-options" class="mention-options" role="listbox" aria-label=${t("console.ticket.mention")}>
            ${mention.options.map((user, index) => html`<li id=${`mention-${user.id}`} role="option" aria-selected=${index === mention.active ? "true" : "false"}
              onMouseDown=${(event) => { event.preventDefault(); chooseMention(user); }}>${user.name} <small>${user.email}</small></li>`)}
          </ul>`}</div>
        ${hasMarkdown(body) && html`<section class="md-preview" aria-label=${t("console.ticket.preview")}><span class="muted">${t("console.ticket.preview")}${whatsapp && !internal ? ` ${t("console.ticket.preview_whatsapp")}` : channel === "email" && !internal ? ` ${t("console.ticket.preview_email")}` : ""}</span>
          <div class="md-body"><${Markdown} text=${body} /></div></section>`}`}
    <div class="reply-actions">
      <button type="submit" disabled=${busy}>${internal ? t("console.ticket.add_note") : t("console.ticket.send")}</button>
      ${!internal && html`<button type="button" class="secondary" disabled=${busy} onClick=${() => send("resolved")}>${t("console.ticket.send_resolve")}</button>`}
    </div>
  </form>`;
}
