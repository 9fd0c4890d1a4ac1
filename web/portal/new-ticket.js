// Opening a ticket: subject, description, category and files. While the customer types, the
// knowledge base suggests articles; "This answered my question" closes the form and counts a
// deflection instead of a ticket.

import { useEffect, useRef, useState } from "preact/hooks";
import { get, post } from "../lib/api.js";
import { html } from "../lib/html.js";
import { language, t } from "../lib/i18n.js";
import { say } from "./state.js";
import { Attachments } from "./tickets.js";

/** How long typing pauses before the suggestions are asked for. */
const SUGGEST_DELAY_MS = 300;
/** Fewer characters than this suggest nothing (a word or two is not a question yet). */
const SUGGEST_MIN_CHARS = 4;

/** Articles matching what has been typed so far, refreshed as typing pauses. */
function useSuggestions(text) {
  const [suggestions, setSuggestions] = useState([]);
  const latest = useRef(0);
  useEffect(() => {
    const query = text.trim().slice(0, 300);
    if (query.length < SUGGEST_MIN_CHARS) {
      setSuggestions([]);
      return undefined;
    }
    const timer = setTimeout(async () => {
      const asked = ++latest.current;
      try {
        const params = new URLSearchParams({ q: query, locale: language.value, limit: "4" });
        let page = await get(`/kb/suggest?${params}`);
        // Nothing in the reader's language: any language is better than nothing.
        if (!page.items.length) page = await get(`/kb/suggest?${new URLSearchParams({ q: query, limit: "4" })}`);
        if (asked === latest.current) setSuggestions(page.items);
      } catch (_) {
        if (asked === latest.current) setSuggestions([]);
      }
    }, SUGGEST_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text]);
  return suggestions;
}

export function NewTicket() {
  const [subject, setSubject] = useState("");
  const [body, setBody] = useState("");
  const [categoryId, setCategoryId] = useState("");
  const [categories, setCategories] = useState([]);
  const [files, setFiles] = useState([]);
  const [uploading, setUploading] = useState(false);
  const [busy, setBusy] = useState(false);
  const [deflected, setDeflected] = useState(null);
  const suggestions = useSuggestions(`${subject} ${body}`);
  useEffect(() => {
    get("/account/categories")
      .then((page) => setCategories(page.items))
      .catch(() => setCategories([]));
  }, []);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    try {
      const request = { subject, body, attachments: files };
      if (categoryId) request.category_id = Number(categoryId);
      const created = await post("/tickets", request);
      location.hash = `#/tickets/${created.id}`;
    } catch (error) {
      say(error);
    } finally {
      setBusy(false);
    }
  }
  async function answered(article) {
    try {
      await post("/kb/deflections", { article_id: article.id, locale: article.locale, query: `${subject}\n${body}`.trim() });
    } catch (error) {
      // The form closes anyway: the customer has their answer.
      console.warn("deflection not counted", error);
    }
    setDeflected(article);
  }

  if (deflected) {
    return html`<main class="portal-main narrow"><div class="card stack deflected" role="status">
      <h1>${t("portal.new.glad")}</h1>
      <p>${t("portal.new.glad_text", { title: deflected.title })}</p>
      <p><a href=${deflected.url} target="_blank" rel="noopener">${deflected.title}</a></p>
      <p><a class="button" href="#/">${t("portal.nav.dashboard")}</a></p>
    </div></main>`;
  }
  return html`<main class="portal-main new-ticket">
    <h1>${t("portal.new.title")}</h1>
    <div class="split">
      <form class="card stack" onSubmit=${submit}>
        <label>${t("portal.field.subject")}<input required maxlength="500" value=${subject} onInput=${(e) => setSubject(e.target.value)} /></label>
        <label>${t("portal.field.description")}<textarea rows="7" required value=${body} onInput=${(e) => setBody(e.target.value)}></textarea></label>
        ${categories.length > 0 && html`<label>${t("portal.field.category")}
          <select value=${categoryId} onChange=${(e) => setCategoryId(e.target.value)}>
            <option value="">${t("portal.field.category_none")}</option>
            ${categories.map((category) => html`<option value=${category.id}>${category.path}</option>`)}
          </select></label>`}
        <${Attachments} files=${files} setFiles=${setFiles} id="new-files" onBusy=${setUploading} />
        <button disabled=${busy || uploading}>${t("portal.new.submit")}</button>
      </form>
      <aside class="suggestions" aria-live="polite" aria-label=${t("portal.new.suggestions")}>
        ${suggestions.length > 0 && html`<h2>${t("portal.new.maybe")}</h2>
          <ul>${suggestions.map(
            (article) => html`<li class="suggestion card" data-article=${article.id}>
              <a href=${article.url} target="_blank" rel="noopener"><strong>${article.title}</strong></a>
              <p>${article.excerpt}</p>
              <button type="button" class="secondary small" onClick=${() => answered(article)}>${t("portal.new.answered")}</button>
            </li>`,
          )}</ul>`}
      </aside>
    </div>
  </main>`;
}
