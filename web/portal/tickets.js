// The customer's tickets: the dashboard (open tickets, the latest replies), the list with its
// filters and search, and one ticket's whole public conversation across channels with the reply
// box, reopening and the satisfaction survey. Everything follows the live socket: the customer's
// `queue` topic (their own tickets, or their company's when it shares them) for lists, and
// `ticket:<id>` for the open ticket, so replies and status changes appear without a reload.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, get, post } from "../lib/api.js";
import { html } from "../lib/html.js";
import { subscribe } from "../lib/live.js";
import { Markdown } from "../lib/markdown.js";
import { Icon } from "../lib/icons.js";
import { ago, dateTime, t } from "../lib/i18n.js";
import { say, upload } from "./state.js";

/** The status categories a customer filters by, and the list's query for each. */
const FILTERS = [
  { key: "open", category: "new,open,pending" },
  { key: "resolved", category: "resolved,closed" },
  { key: "all", category: null },
];

const CHANNEL_NAMES = { whatsapp: "WhatsApp", email: "Email", web: "Web", api: "API", phone: "Phone" };

/** Calls `reload` (at most every 300 ms) whenever one of the customer's tickets changes. */
function useQueueChanges(reload) {
  const timer = useRef(null);
  useEffect(() => {
    const unsubscribe = subscribe("queue", (frame) => {
      if (frame.type !== "event" && frame.type !== "snapshot") return;
      clearTimeout(timer.current);
      timer.current = setTimeout(reload, 300);
    });
    return () => {
      clearTimeout(timer.current);
      unsubscribe();
    };
  }, []);
}

export function StatusBadge({ ticket }) {
  return html`<span class=${`status ${ticket.status_category}`} data-status=${ticket.status_category}>${t(`portal.status.${ticket.status_category}`)}</span>`;
}

function TicketRow({ ticket }) {
  return html`<li class="ticket-row" data-ticket=${ticket.id}>
    <a href=${`#/tickets/${ticket.id}`}>
      <span class="number">#${ticket.number}</span>
      <span class="subject">${ticket.subject}</span>
      <${StatusBadge} ticket=${ticket} />
      ${ticket.preview && html`<span class="preview">${ticket.preview}</span>`}
      <span class="meta">${CHANNEL_NAMES[ticket.channel] || ticket.channel} · <time datetime=${ticket.updated_at} title=${dateTime(ticket.updated_at)}>${ago(ticket.updated_at)}</time></span>
    </a>
  </li>`;
}

/** Whether our last word is newer than the customer's: a reply waiting to be read. */
const answered = (ticket) => ticket.last_agent_message_at && (!ticket.last_customer_message_at || ticket.last_agent_message_at > ticket.last_customer_message_at);

export function Dashboard() {
  const [open, setOpen] = useState(null);
  const [recent, setRecent] = useState([]);
  async function load() {
    try {
      const [openPage, latest] = await Promise.all([get("/tickets?category=new,open,pending&limit=20"), get("/tickets?limit=50")]);
      setOpen(openPage.items);
      setRecent(
        latest.items
          .filter(answered)
          .sort((a, b) => (a.last_agent_message_at < b.last_agent_message_at ? 1 : -1))
          .slice(0, 5),
      );
    } catch (error) {
      say(error);
    }
  }
  useEffect(() => {
    load();
  }, []);
  useQueueChanges(load);
  if (open === null) return html`<main class="portal-main"><p aria-busy="true">${t("portal.loading")}</p></main>`;
  return html`<main class="portal-main">
    <div class="page-head"><h1>${t("portal.dashboard.title")}</h1><a class="button" href="#/tickets/new">${t("portal.nav.new")}</a></div>
    <section aria-labelledby="open-heading">
      <h2 id="open-heading">${t("portal.dashboard.open", { count: open.length })}</h2>
      ${open.length ? html`<ul class="tickets">${open.map((ticket) => html`<${TicketRow} key=${ticket.id} ticket=${ticket} />`)}</ul>` : html`<p class="empty">${t("portal.dashboard.none_open")}</p>`}
    </section>
    <section aria-labelledby="recent-heading">
      <h2 id="recent-heading">${t("portal.dashboard.recent")}</h2>
      ${recent.length
        ? html`<ul class="tickets replies">${recent.map((ticket) => html`<${TicketRow} key=${ticket.id} ticket=${ticket} />`)}</ul>`
        : html`<p class="empty">${t("portal.dashboard.no_replies")}</p>`}
    </section>
  </main>`;
}

/** `#/tickets?status=open&q=…`: the filter and the search live in the hash. */
function listState() {
  const query = new URLSearchParams(location.hash.split("?")[1] || "");
  return { filter: FILTERS.find((entry) => entry.key === query.get("status"))?.key || "open", q: query.get("q") || "" };
}

export function TicketList() {
  const initial = listState();
  const [filter, setFilter] = useState(initial.filter);
  const [q, setQ] = useState(initial.q);
  const [typed, setTyped] = useState(initial.q);
  const [items, setItems] = useState(null);
  const [next, setNext] = useState(null);
  const current = useRef({ filter, q });
  current.current = { filter, q };

  function path(cursor) {
    const { filter: chosen, q: text } = current.current;
    const params = new URLSearchParams({ limit: "25" });
    const category = FILTERS.find((entry) => entry.key === chosen).category;
    if (category) params.set("category", category);
    if (text.trim()) params.set("q", text.trim());
    if (cursor) params.set("cursor", cursor);
    return `/tickets?${params}`;
  }
  async function load() {
    try {
      const page = await get(path());
      setItems(page.items);
      setNext(page.next);
    } catch (error) {
      say(error);
      setItems([]);
    }
  }
  async function more() {
    try {
      const page = await get(path(next));
      setItems((shown) => [...shown, ...page.items]);
      setNext(page.next);
    } catch (error) {
      say(error);
    }
  }
  useEffect(() => {
    const params = new URLSearchParams({ status: filter });
    if (q.trim()) params.set("q", q.trim());
    history.replaceState(null, "", `#/tickets?${params}`);
    load();
  }, [filter, q]);
  useQueueChanges(load);

  const search = (event) => {
    event.preventDefault();
    setQ(typed);
  };
  return html`<main class="portal-main">
    <div class="page-head"><h1>${t("portal.tickets.title")}</h1><a class="button" href="#/tickets/new">${t("portal.nav.new")}</a></div>
    <div class="filters">
      <div class="segmented" role="group" aria-label=${t("portal.tickets.filter")}>
        ${FILTERS.map((entry) => html`<button type="button" class=${filter === entry.key ? "on" : ""} aria-pressed=${String(filter === entry.key)} onClick=${() => setFilter(entry.key)}>${t(`portal.tickets.filter.${entry.key}`)}</button>`)}
      </div>
      <form role="search" class="search" onSubmit=${search}>
        <label class="visually-hidden" for="ticket-search">${t("portal.tickets.search")}</label>
        <input id="ticket-search" type="search" placeholder=${t("portal.tickets.search")} value=${typed} onInput=${(e) => setTyped(e.target.value)} />
        <button class="secondary">${t("portal.tickets.search_button")}</button>
      </form>
    </div>
    ${items === null
      ? html`<p aria-busy="true">${t("portal.loading")}</p>`
      : items.length
        ? html`<ul class="tickets">${items.map((ticket) => html`<${TicketRow} key=${ticket.id} ticket=${ticket} />`)}</ul>`
        : html`<p class="empty">${q.trim() ? t("portal.tickets.no_match", { q }) : t("portal.tickets.none")}</p>`}
    ${next && html`<p><button type="button" class="secondary" onClick=${more}>${t("portal.tickets.more")}</button></p>`}
  </main>`;
}

/** A file on a message: images shown, anything else downloaded (the ticket names it, so the
 * server knows the customer may read it). */
function File({ file, ticketId }) {
  if (file.status === "pending") return html`<span class="file pending">${file.file_name} (${t("portal.ticket.file_pending")})</span>`;
  if (file.status === "failed" || !file.url) return html`<span class="file failed">${file.file_name}</span>`;
  const url = `${file.url}?ticket=${ticketId}`;
  if (file.content_type.startsWith("image/")) return html`<a href=${url} target="_blank" rel="noopener"><img class="preview" src=${url} alt=${file.file_name} /></a>`;
  return html`<a class="file" href=${url} download=${file.file_name}><${Icon} name="paperclip" size=${14} /> ${file.file_name}</a>`;
}

function Message({ message, ticketId }) {
  const mine = message.kind === "customer";
  if (message.kind === "system") return html`<p class="system-line">${message.body}</p>`;
  return html`<article class=${`message ${mine ? "mine" : "ours"}`} data-message=${message.id} data-kind=${message.kind}>
    <header><strong>${mine ? t("portal.ticket.you") : t("portal.ticket.support")}</strong>
      <time datetime=${message.created_at}>${dateTime(message.created_at)}</time>
      ${CHANNEL_NAMES[message.channel] && html`<span class="via">${t("portal.ticket.via", { channel: CHANNEL_NAMES[message.channel] })}</span>`}</header>
    <div class="body">${mine ? message.body : html`<${Markdown} text=${message.body} />`}</div>
    ${message.attachments?.length > 0 && html`<div class="files">${message.attachments.map((file) => html`<${File} file=${file} ticketId=${ticketId} />`)}</div>`}
  </article>`;
}

/** Files chosen for a message: uploaded at once, listed with a remove button. */
export function Attachments({ files, setFiles, id, onBusy }) {
  const [busy, setBusy] = useState(false);
  const busyNow = (value) => {
    setBusy(value);
    onBusy?.(value);
  };
  async function choose(event) {
    busyNow(true);
    try {
      for (const file of event.target.files) {
        const uploaded = await upload(file);
        setFiles((current) => [...current, uploaded]);
      }
    } catch (error) {
      say(error);
    } finally {
      busyNow(false);
      event.target.value = "";
    }
  }
  return html`<div class="attach">
    <label class="file-pick">${t("portal.field.attach")}<input id=${id} type="file" multiple onChange=${choose} disabled=${busy} /></label>
    ${busy && html`<span aria-busy="true">${t("portal.uploading")}</span>`}
    ${files.length > 0 && html`<ul class="chosen">${files.map(
      (file, index) => html`<li>${file.name} <button type="button" class="link" aria-label=${t("portal.remove_file", { name: file.name })} onClick=${() => setFiles((current) => current.filter((_, at) => at !== index))}>×</button></li>`,
    )}</ul>`}
  </div>`;
}

function ReplyBox({ ticket, onSent, reopening }) {
  const [body, setBody] = useState("");
  const [files, setFiles] = useState([]);
  const [busy, setBusy] = useState(false);
  async function send(event) {
    event.preventDefault();
    if (!body.trim() && !files.length) return;
    setBusy(true);
    try {
      await post(`/tickets/${ticket.id}/messages`, { body, channel: "web", attachments: files });
      setBody("");
      setFiles([]);
      onSent();
    } catch (error) {
      say(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<form class="reply card stack" onSubmit=${send}>
    <label>${reopening ? t("portal.ticket.reopen_reason") : t("portal.ticket.reply")}
      <textarea rows="4" value=${body} onInput=${(e) => setBody(e.target.value)} required=${!files.length}></textarea></label>
    <${Attachments} files=${files} setFiles=${setFiles} id="reply-files" />
    <button disabled=${busy}>${reopening ? t("portal.ticket.reopen_send") : t("portal.ticket.send")}</button>
  </form>`;
}

/** The satisfaction survey of the ticket's last resolution, when one was sent: a rating, then
 * an optional comment. */
function Survey({ ticketId, version }) {
  const [survey, setSurvey] = useState(null);
  const [comment, setComment] = useState("");
  const [commented, setCommented] = useState(false);
  useEffect(() => {
    get(`/tickets/${ticketId}/csat`)
      .then((answer) => setSurvey(answer.survey))
      .catch((error) => {
        // No survey for this ticket (or the account runs none): nothing to show.
        if (!(error instanceof ApiError) || error.status >= 500) say(error);
      });
  }, [ticketId, version]);
  if (!survey || survey.status === "cancelled") return null;
  async function rate(score) {
    try {
      const answer = await post(`/tickets/${ticketId}/csat`, { score });
      setSurvey(answer.survey || { ...survey, status: "answered", score });
    } catch (error) {
      say(error);
    }
  }
  async function sendComment(event) {
    event.preventDefault();
    try {
      await post(`/tickets/${ticketId}/csat`, { comment });
      setCommented(true);
    } catch (error) {
      say(error);
    }
  }
  const scores = survey.scale === "thumbs" ? [{ score: 5, label: "👍", name: t("portal.csat.up") }, { score: 1, label: "👎", name: t("portal.csat.down") }] : [1, 2, 3, 4, 5].map((score) => ({ score, label: String(score), name: t(`portal.csat.score.${score}`) }));
  return html`<section class="survey card" aria-labelledby="survey-heading">
    <h2 id="survey-heading">${survey.question || t("portal.csat.question")}</h2>
    ${survey.status === "pending" && html`<div class="scores" role="group" aria-label=${t("portal.csat.rate")}>
      ${scores.map((entry) => html`<button type="button" class="score" data-score=${entry.score} aria-label=${entry.name} title=${entry.name} onClick=${() => rate(entry.score)}>${entry.label}</button>`)}
    </div>`}
    ${survey.status === "answered" && html`<p role="status" class="rated">${t("portal.csat.thanks", { score: survey.scale === "thumbs" ? (survey.score >= 3 ? "👍" : "👎") : `${survey.score}/5` })}</p>
      ${!commented && !survey.comment && html`<form class="stack" onSubmit=${sendComment}>
        <label>${survey.comment_prompt || t("portal.csat.comment")}<textarea rows="2" value=${comment} onInput=${(e) => setComment(e.target.value)} required></textarea></label>
        <button class="secondary">${t("portal.csat.send_comment")}</button></form>`}
      ${(commented || survey.comment) && html`<p class="small">${t("portal.csat.comment_thanks")}</p>`}`}
  </section>`;
}

export function TicketDetail({ id }) {
  const [ticket, setTicket] = useState(null);
  const [missing, setMissing] = useState(false);
  const [reopening, setReopening] = useState(false);
  const [surveyVersion, setSurveyVersion] = useState(0);
  const timer = useRef(null);
  async function load() {
    try {
      setTicket(await get(`/tickets/${id}`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) setMissing(true);
      else say(error);
    }
  }
  useEffect(() => {
    setTicket(null);
    setMissing(false);
    load();
  }, [id]);
  // Live: a new message is shown as it arrives; any other change (status, survey) re-reads the
  // ticket once things settle.
  const seq = ticket?.seq;
  useEffect(() => {
    if (seq === undefined) return undefined;
    return subscribe(
      `ticket:${id}`,
      (frame) => {
        if (frame.type !== "event" || !frame.event) return;
        const event = frame.event;
        if (event.type === "message_added" && event.message) {
          setTicket((shown) => (shown && !shown.messages.some((m) => m.id === event.message.id) ? { ...shown, seq: Math.max(shown.seq, frame.seq), messages: [...shown.messages, event.message] } : shown));
        }
        if (event.type.startsWith("csat")) setSurveyVersion((version) => version + 1);
        if (event.type !== "private") {
          clearTimeout(timer.current);
          timer.current = setTimeout(load, 250);
        }
      },
      seq,
    );
  }, [id, seq === undefined]);
  useEffect(() => () => clearTimeout(timer.current), []);

  if (missing) return html`<main class="portal-main"><h1>${t("portal.ticket.missing")}</h1><p><a href="#/tickets">${t("portal.ticket.back")}</a></p></main>`;
  if (!ticket) return html`<main class="portal-main"><p aria-busy="true">${t("portal.loading")}</p></main>`;
  const category = ticket.status_category;
  const finished = category === "resolved" || category === "closed";
  return html`<main class="portal-main ticket-page">
    <p class="crumbs"><a href="#/tickets">${t("portal.ticket.back")}</a></p>
    <div class="page-head"><h1><span class="number">#${ticket.number}</span> ${ticket.subject}</h1><${StatusBadge} ticket=${ticket} /></div>
    <p class="meta">${t("portal.ticket.opened", { date: dateTime(ticket.created_at), channel: CHANNEL_NAMES[ticket.channel] || ticket.channel })}</p>
    <section class="thread" aria-label=${t("portal.ticket.conversation")} aria-live="polite">
      ${ticket.messages.map((message) => html`<${Message} key=${message.id} message=${message} ticketId=${ticket.id} />`)}
    </section>
    ${finished && html`<${Survey} ticketId=${ticket.id} version=${surveyVersion} />`}
    ${!finished && html`<${ReplyBox} ticket=${ticket} onSent=${load} />`}
    ${category === "resolved" && !reopening && html`<div class="card reopen"><p>${t("portal.ticket.resolved_note")}</p>
      <button type="button" class="secondary" onClick=${() => setReopening(true)}>${t("portal.ticket.reopen")}</button></div>`}
    ${category === "resolved" && reopening && html`<${ReplyBox} ticket=${ticket} reopening=${true} onSent=${() => { setReopening(false); load(); }} />`}
    ${category === "closed" && html`<div class="card"><p>${t("portal.ticket.closed_note")}</p><a class="button" href="#/tickets/new">${t("portal.nav.new")}</a></div>`}
  </main>`;
}
