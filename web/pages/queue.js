// The agent queue: filters, a query in the query language (with suggestions as it is typed and
// its errors shown where they are), saved views, and sort over `GET /tickets`, kept live by the
// `queue` topic (new tickets, messages and changes move and re-sort without a reload). Its state
// lives in the URL (`#/queue?q=…&sort=…&view=…`), so reload and links keep it. The rows are the
// ticket store's copies (lib/tickets.js) of the tickets the list holds. Each row (and board card)
// can be assigned to anyone through the picker (pages/assign.js); ticked rows get the bulk bar
// (pages/bulk.js). Keys: j/k move, Enter opens, a opens the assignee picker for the row under the
// cursor, A assigns it to me, x ticks it, / focuses the query, ? shows the keys. The cursor stays
// on its ticket when a change re-sorts the list.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate, route } from "../lib/router.js";
import { me, report } from "../lib/session.js";
import { ApiError, get } from "../lib/api.js";
import { queueHash, readQueueState, suggest } from "../lib/query.js";
import { saveView, views } from "../lib/views.js";
import { connection } from "../lib/live.js";
import { followQueue, readList, rowCopy, tickets } from "../lib/tickets.js";
import { ago } from "../lib/format.js";
import { SlaBadge, dueKey } from "../lib/sla.js";
import { Board } from "./board.js";
import { AssignButton, AssignPicker, assign } from "./assign.js";
import { BulkBar } from "./bulk.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { t } from "../lib/i18n.js";

const CATEGORIES = ["new", "open", "pending", "resolved", "closed"];
const PRIORITY_RANK = { low: 1, medium: 2, high: 3, urgent: 4 };

function matches(ticket, filters) {
  if (filters.categories.length && !filters.categories.includes(ticket.status_category)) return false;
  if (filters.assignee === "me" && ticket.assignee_id !== me.value.id) return false;
  if (filters.assignee === "none" && ticket.assignee_id !== null) return false;
  if (filters.channel && ticket.channel !== filters.channel) return false;
  if (filters.priority && ticket.priority !== filters.priority) return false;
  return true;
}

/**
 * An instant to sort by, as a number: the server's RFC 3339 text and a live row's (from the
 * frame's cursor) may differ in form for the same instant. A ticket only known from a live row
 * that has not said when it was created sorts as the oldest.
 */
function instant(text) {
  return text ? Date.parse(text) : 0;
}

function sorter(sort) {
  // Best match is the server's order (the list's), which the page keeps.
  if (sort === "relevance") return () => 0;
  const updated = (a, b) => instant(b.updated_at) - instant(a.updated_at);
  if (sort === "priority") return (a, b) => PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || updated(a, b);
  if (sort === "created") return (a, b) => instant(b.created_at) - instant(a.created_at) || b.id - a.id;
  // Soonest SLA due first; tickets without a running clock last (as the server sorts them).
  if (sort === "sla_due") return (a, b) => dueKey(a) - dueKey(b) || a.id - b.id;
  return updated;
}

const SORT_PARAM = { priority: "-priority", created: "-created_at", sla_due: "sla_due", updated: "-updated_at", relevance: "relevance" };
const SORT_OF_VIEW = { "-priority": "priority", "-created_at": "created", sla_due: "sla_due", relevance: "relevance" };

export function Queue() {
  const initial = useMemo(() => readQueueState(route.value), []);
  const [filters, setFilters] = useState(initial.filters);
  const [sort, setSort] = useState(initial.sort);
  const [viewId, setViewId] = useState(initial.view);
  const [queryError, setQueryError] = useState(null);
  const [known, setKnown] = useState({});
  const [refresh, setRefresh] = useState(0);
  const [saving, setSaving] = useState(false);
  // The hash this page last wrote or took in (a view's link is taken in once its query is known).
  const written = useRef(initial.view ? null : route.value);
  const refreshTimerRef = useRef(null);
  const queryBox = useRef(null);
  // The ids of the tickets the list holds, in the order they came (the data is the store's).
  const [listed, setListed] = useState(new Set());
  // Whether the list was read once (until then its rows are skeletons, not "nothing here").
  const [loaded, setLoaded] = useState(false);
  const [unread, setUnread] = useState(new Set());
  // The ticket under the cursor, by id: a change that re-sorts the list keeps it on its ticket.
  const [cursorId, setCursorId] = useState(null);
  // The row whose assignee picker the keyboard opened; the rows ticked for a bulk change.
  const [picking, setPicking] = useState(null);
  const [selected, setSelected] = useState(new Set());
  const [help, setHelp] = useState(false);
  const [users, setUsers] = useState([]);
  const [view, setView] = useState(localStorage.getItem("switchboard.queue-view") || "list");
  const [statuses, setStatuses] = useState([]);

  useEffect(() => {
    // One read of each: the rows' names and board columns, and the query box's suggestions.
    Promise.all([get("/account/config"), get("/teams"), get("/users")])
      .then(([config, teams, people]) => {
        setUsers(people.items);
        setStatuses(config.statuses);
        setKnown({
          statuses: config.statuses.map((status) => status.key),
          types: config.ticket_types || [],
          categories: (config.categories || []).map((category) => category.name),
          customFields: (config.custom_fields || []).map((field) => field.key),
          teams: teams.items.map((team) => team.name),
          agents: people.items.filter((user) => user.role !== "customer").map((user) => user.email),
        });
      })
      .catch(report);
  }, []);

  // The state goes into the URL as it changes (replacing the entry: typing is not history).
  useEffect(() => {
    if (written.current === null) return; // a view's link is still being taken in
    const hash = queueHash({ filters, sort, view: viewId });
    if (hash !== written.current && route.value.startsWith("#/queue")) {
      written.current = hash;
      history.replaceState(null, "", hash);
      // replaceState fires no hashchange: the route follows by hand.
      route.value = hash;
    }
  }, [filters, sort, viewId]);

  // A link to another queue state (a view in the sidebar, a pasted link) takes over; a view's
  // link waits for the list of views to know its query.
  useEffect(() => {
    if (!route.value.startsWith("#/queue") || route.value === written.current) return;
    const next = readQueueState(route.value);
    if (next.view) {
      const view = views.value.find((candidate) => candidate.id === next.view);
      if (!view) return;
      written.current = route.value;
      setViewId(view.id);
      setFilters({ categories: [], assignee: "", channel: "", priority: "", q: view.query });
      setSort(SORT_OF_VIEW[view.sort] || "updated");
      return;
    }
    written.current = route.value;
    setViewId(null);
    setFilters(next.filters);
    setSort(next.sort);
  }, [route.value, views.value]);

  const chooseView = (next) => {
    setView(next);
    localStorage.setItem("switchboard.queue-view", next);
  };

  // Re-read the list whenever the connection comes (back) up: whatever a drop interrupted is
  // caught up without a reload.
  const live = connection.value === "live";
  useEffect(() => {
    if (!live) return undefined;
    const params = new URLSearchParams({ limit: "200", sort: SORT_PARAM[sort] || "-updated_at" });
    if (filters.categories.length) params.set("category", filters.categories.join(","));
    if (filters.assignee) params.set("assignee", filters.assignee);
    if (filters.channel) params.set("channel", filters.channel);
    if (filters.priority) params.set("priority", filters.priority);
    if (filters.q.trim()) params.set("q", filters.q.trim());
    let current = true;
    // The store keeps whichever copy of a ticket is newer (higher `seq`): a list read before a
    // live change can arrive after it, and never rolls a row back. A query is read a moment after
    // the typing stops.
    const timer = setTimeout(
      () =>
        readList(params)
          .then((page) => {
            if (!current) return;
            setQueryError(null);
            setListed(new Set(page.items.map((ticket) => ticket.id)));
            setLoaded(true);
          })
          .catch((error) => {
            if (!current) return;
            setLoaded(true);
            if (error instanceof ApiError && error.code === "invalid_query") setQueryError(error);
            else report(error);
          }),
      filters.q ? 250 : 0,
    );
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [filters, sort, live, refresh]);

  useEffect(
    () =>
      followQueue(me.value.role, (frame) => {
        if (!frame.row) return;
        // The store's copy: the row merged into what the list read.
        const ticket = tickets.value.get(frame.row.id) || rowCopy(frame);
        // A live ticket joins the list when it matches the filters; with a query the server
        // decides what matches, so the list is read again (once for a burst of changes).
        if (filters.q.trim()) {
          clearTimeout(refreshTimerRef.current);
          refreshTimerRef.current = setTimeout(() => setRefresh((n) => n + 1), 400);
        } else if (matches(ticket, filters)) {
          setListed((previous) => (previous.has(ticket.id) ? previous : new Set(previous).add(ticket.id)));
        }
        if (frame.event?.type === "message_added" && frame.event.message?.kind === "customer") {
          setUnread((previous) => new Set(previous).add(ticket.id));
        }
      }),
    [filters],
  );

  const store = tickets.value;
  const rows = useMemo(
    () => [...listed].map((id) => store.get(id)).filter((ticket) => ticket && matches(ticket, filters)).sort(sorter(sort)),
    [listed, store, filters, sort],
  );
  const names = useMemo(() => new Map(users.map((user) => [user.id, user.name])), [users]);
  const currentView = viewId ? views.value.find((view) => view.id === viewId) : null;

  const found = rows.findIndex((ticket) => ticket.id === cursorId);
  const cursor = found < 0 ? 0 : found;
  const moveCursor = (step) => {
    const next = rows[Math.max(0, Math.min(cursor + step, rows.length - 1))];
    if (next) setCursorId(next.id);
  };
  const tick = (id, on) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  // Ticked rows that left the list (filtered out, merged away) are no longer ticked.
  const ticked = rows.filter((ticket) => selected.has(ticket.id)).map((ticket) => ticket.id);

  async function assignToMe(ticket) {
    try {
      await assign([ticket.id], { assignee_id: me.value.id }, "taken from the queue");
    } catch (error) {
      report(error);
    }
  }

  function open(ticket) {
    setUnread((previous) => {
      const next = new Set(previous);
      next.delete(ticket.id);
      return next;
    });
    navigate(`#/tickets/${ticket.id}`);
  }

  // Registered as the list renders, not after the paint: a key pressed as soon as the cursor
  // shows (`j` then `a`) must act on the row it shows, not on the one before.
  useLayoutEffect(() => {
    function onKey(event) {
      if (event.target.closest("input, textarea, select") || event.ctrlKey || event.metaKey || event.altKey) return;
      // Enter on a focused link or button is that control's own (Tab users open what they focused).
      const onControl = event.target.closest("a, button, [tabindex]");
      if (event.key === "j") moveCursor(1);
      else if (event.key === "k") moveCursor(-1);
      else if (event.key === "Enter" && !onControl && rows[cursor]) open(rows[cursor]);
      else if (event.key === "a" && rows[cursor]) {
        // The picker takes the focus: the key must not type into its search box.
        event.preventDefault();
        setCursorId(rows[cursor].id);
        setPicking(rows[cursor].id);
      } else if (event.key === "A" && rows[cursor]) {
        setCursorId(rows[cursor].id);
        assignToMe(rows[cursor]);
      } else if (event.key === "x" && rows[cursor]) tick(rows[cursor].id, !selected.has(rows[cursor].id));
      else if (event.key === "?") setHelp((shown) => !shown);
      else if (event.key === "/") {
        event.preventDefault();
        queryBox.current?.focus();
      }
      else if (event.key === "Escape") setHelp(false);
    }
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, cursor, selected]);

  const toggleCategory = (category) =>
    setFilters((current) => ({
      ...current,
      categories: current.categories.includes(category) ? current.categories.filter((c) => c !== category) : [...current.categories, category],
    }));

  return html`<main class="page queue">
    <h1>${currentView ? currentView.name : t("console.nav.queue")} ${loaded && html`<small>${rows.length === 1 ? t("console.queue.one_ticket") : t("console.queue.tickets", { count: rows.length === 200 ? "200+" : rows.length })}</small>`}</h1>
    <form class="filters" onSubmit=${(event) => event.preventDefault()} aria-label=${t("console.queue.filters")}>
      <fieldset><legend>${t("console.queue.status")}</legend>
        ${CATEGORIES.map((category) => html`<label class="chip"><input type="checkbox" checked=${filters.categories.includes(category)} onChange=${() => toggleCategory(category)} />${t(`console.category.${category}`)}</label>`)}
      </fieldset>
      <label>${t("console.queue.assignee")} <select value=${filters.assignee} onChange=${(e) => setFilters({ ...filters, assignee: e.target.value })}>
        <option value="">${t("console.queue.anyone")}</option><option value="me">${t("console.queue.me")}</option><option value="none">${t("console.queue.unassigned")}</option>
        ${users.filter((user) => user.role !== "customer").map((user) => html`<option value=${user.id}>${user.name}</option>`)}
      </select></label>
      <label>${t("console.queue.channel")} <select value=${filters.channel} onChange=${(e) => setFilters({ ...filters, channel: e.target.value })}>
        <option value="">${t("console.queue.any")}</option><option value="whatsapp">WhatsApp</option><option value="email">${t("console.channel.email")}</option><option value="web">${t("console.channel.web")}</option><option value="api">API</option>
      </select></label>
      <label>${t("console.queue.priority")} <select value=${filters.priority} onChange=${(e) => setFilters({ ...filters, priority: e.target.value })}>
        <option value="">${t("console.queue.any")}</option>${["urgent", "high", "medium", "low"].map((level) => html`<option value=${level}>${t(`console.priority.${level}`)}</option>`)}
      </select></label>
      <label>${t("console.queue.sort")} <select value=${sort} onChange=${(e) => setSort(e.target.value)}>
        ${["updated", "relevance", "priority", "sla_due", "created"].map((key) => html`<option value=${key}>${t(`console.queue.sort_${key}`)}</option>`)}
      </select></label>
    </form>
    <${QueryBox} inputRef=${queryBox} value=${filters.q} known=${known} error=${queryError} count=${rows.length}
      onChange=${(q) => { setViewId(null); setFilters({ ...filters, q }); }}
      onSave=${() => setSaving(true)} />
    ${saving && html`<${SaveView} query=${filters.q} sort=${SORT_PARAM[sort]} onDone=${(saved) => { setSaving(false); if (saved) setViewId(saved.id); }} />`}
    ${help && html`<aside class="help" aria-label=${t("console.queue.keys_label")}><b>${t("console.queue.keys")}</b> ${t("console.queue.keys_text")}</aside>`}
    <div class="views" role="group" aria-label=${t("console.queue.view")}>
      <button class=${view === "list" ? "" : "secondary"} aria-pressed=${view === "list"} onClick=${() => chooseView("list")}>${t("console.queue.list")}</button>
      <button class=${view === "board" ? "" : "secondary"} aria-pressed=${view === "board"} onClick=${() => chooseView("board")}>${t("console.queue.board")}</button>
    </div>
    ${ticked.length > 0 && html`<${BulkBar} ids=${ticked} statuses=${statuses} onClear=${() => setSelected(new Set())} />`}
    ${view === "board"
      ? html`<${Board} tickets=${rows} names=${names} statuses=${statuses.filter((status) => filters.categories.includes(status.category))} />`
      : html`<table class="tickets">
      <thead><tr><th scope="col"><input type="checkbox" aria-label=${t("console.queue.tick_all")} checked=${rows.length > 0 && ticked.length === rows.length}
        onChange=${(e) => setSelected(e.target.checked ? new Set(rows.map((ticket) => ticket.id)) : new Set())} /></th><th scope="col">#</th><th scope="col">${t("console.queue.subject")}</th><th scope="col">${t("console.queue.status")}</th><th scope="col">${t("console.queue.priority")}</th><th scope="col">SLA</th><th scope="col">${t("console.queue.assignee")}</th><th scope="col">${t("console.queue.channel")}</th><th scope="col">${t("console.queue.activity")}</th><th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th></tr></thead>
      ${!loaded ? html`<${SkeletonRows} columns=${10} />` : html`<tbody>
        ${rows.map((ticket, index) => html`<tr key=${ticket.id} class=${`${index === cursor ? "current" : ""} ${unread.has(ticket.id) ? "unread" : ""}`} data-ticket=${ticket.id}>
          <td><input type="checkbox" aria-label=${t("console.queue.tick", { number: ticket.number })} checked=${selected.has(ticket.id)} onChange=${(e) => tick(ticket.id, e.target.checked)} /></td>
          <td class="ticket-number">#${ticket.number}</td>
          <td><a href=${`#/tickets/${ticket.id}`} onClick=${(event) => { event.preventDefault(); open(ticket); }}>${ticket.subject}</a>
            ${unread.has(ticket.id) && html` <span class="badge" title=${t("console.queue.new_message")}>${t("console.queue.new")}</span>`}
            ${ticket.status_category === "pending" && html` <span class="badge waiting" title=${t("console.queue.waiting_title")}>${t("console.queue.waiting")}</span>`}</td>
          <td><span class=${`status ${ticket.status_category}`}>${ticket.status}</span></td>
          <td><span class=${`priority ${ticket.priority}`}>${t(`console.priority.${ticket.priority}`)}</span></td>
          <td><${SlaBadge} ticket=${ticket} /></td>
          <td>${ticket.assignee_id ? names.get(ticket.assignee_id) || `#${ticket.assignee_id}` : html`<em>${t("console.queue.unassigned")}</em>`}</td>
          <td>${t(`console.channel.${ticket.channel}`)}</td>
          <td title=${ticket.updated_at}>${ago(ticket.updated_at)}</td>
          <td class="row-actions">${ticket.assignee_id !== me.value.id && html`<button class="small" onClick=${() => assignToMe(ticket)}>${t("console.queue.assign_to_me")}</button>`}
            <${AssignButton} ids=${[ticket.id]} reason="assigned from the queue" />
            ${picking === ticket.id && html`<span class="assign-anchor"><${AssignPicker} label=${t("console.queue.assign_number", { number: ticket.number })} onClose=${() => setPicking(null)}
              onPick=${(choice) => assign([ticket.id], choice, "assigned from the queue").catch(report)} /></span>`}</td>
        </tr>`)}
      </tbody>`}
    </table>`}
    ${!loaded && html`<p class="visually-hidden" role="status">${t("console.queue.loading")}</p>`}
    ${loaded && rows.length === 0 && html`<p class="empty">${t("console.queue.empty")}</p>`}
  </main>`;
}

/** The query box: the query language, suggestions for what is being typed, the error where it is. */
function QueryBox({ inputRef, value, known, error, count, onChange, onSave }) {
  const [focused, setFocused] = useState(false);
  const options = focused ? suggest(value, known) : [];
  const pick = (text) => {
    onChange(text);
    inputRef.current?.focus();
  };
  return html`<div class="query">
    <label for="queue-query">${t("console.queue.query")}</label>
    <div class="query-line">
      <input id="queue-query" ref=${inputRef} type="search" autocomplete="off" spellcheck="false"
        placeholder=${t("console.queue.query_placeholder")}
        aria-describedby="queue-query-help" aria-invalid=${error ? "true" : undefined}
        value=${value} onInput=${(event) => onChange(event.target.value)}
        onFocus=${() => setFocused(true)} onBlur=${() => setTimeout(() => setFocused(false), 150)} />
      ${value.trim() && html`<button type="button" class="secondary small" onClick=${onSave}>${t("console.queue.save_as_view")}</button>`}
    </div>
    ${options.length > 0 && html`<ul class="suggestions" role="listbox" aria-label=${t("console.queue.suggestions")}>
      ${options.map((option) => html`<li key=${option.text}><button type="button" class="link" onMouseDown=${(event) => event.preventDefault()} onClick=${() => pick(option.text)}>${option.label}</button></li>`)}
    </ul>`}
    <p id="queue-query-help" class=${error ? "query-error" : "muted"} role=${error ? "alert" : undefined}>
      ${error
        ? html`${error.message}${error.position !== undefined ? html` <code>${value.slice(0, error.position)}<mark>${value.slice(error.position) || " "}</mark></code>` : ""}`
        : value.trim() ? t("console.queue.matching", { count: count === 200 ? "200+" : count }) : t("console.queue.query_help")}
    </p>
  </div>`;
}

/** Names the current query and keeps it as a view (personal; shared scopes for supervisors). */
function SaveView({ query, sort, onDone }) {
  const [name, setName] = useState("");
  const [scope, setScope] = useState("personal");
  const shares = ["supervisor", "admin"].includes(me.value.role);
  async function submit(event) {
    event.preventDefault();
    try {
      onDone(await saveView({ name: name.trim(), query, sort, scope }));
    } catch (error) {
      report(error);
    }
  }
  return html`<form class="save-view" onSubmit=${submit} aria-label=${t("console.queue.save_as_view")}>
    <label>${t("console.queue.view_name")} <input required maxlength="80" value=${name} onInput=${(event) => setName(event.target.value)} autofocus /></label>
    ${shares && html`<label>${t("console.queue.shared_with")} <select value=${scope} onChange=${(event) => setScope(event.target.value)}>
      <option value="personal">${t("console.queue.only_me")}</option><option value="account">${t("console.queue.everyone")}</option></select></label>`}
    <button type="submit">${t("console.queue.save_view")}</button>
    <button type="button" class="secondary" onClick=${() => onDone(null)}>${t("console.cancel")}</button>
  </form>`;
}
