// The reply box's "Article" search: as the agent types, published knowledge-base articles that
// match (GET /kb/suggest: prefixes, typos forgiven) are offered; choosing one inserts a markdown
// link to its page on the public help center, which the channels send on as a link.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { get } from "../lib/api.js";
import { t } from "../lib/i18n.js";

/** Waits this long after the last key before asking, so typing a word asks once. */
const DEBOUNCE_MS = 200;

export function ArticleLink({ onInsert }) {
  const [query, setQuery] = useState("");
  const [found, setFound] = useState([]);
  useEffect(() => {
    if (query.trim().length < 2) {
      setFound([]);
      return undefined;
    }
    let current = true;
    const timer = setTimeout(() => {
      get(`/kb/suggest?q=${encodeURIComponent(query)}&limit=5`)
        .then((page) => current && setFound(page.items))
        .catch(() => current && setFound([]));
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [query]);
  const insert = (article) => {
    onInsert(`[${article.title}](${location.origin}${article.url})`);
    setQuery("");
  };
  return html`<div class="article-link">
    <label>${t("console.article_link.label")} <input type="search" value=${query} placeholder=${t("console.article_link.placeholder")} onInput=${(event) => setQuery(event.target.value)} /></label>
    ${found.length > 0 && html`<ul class="article-suggestions" aria-label=${t("console.article_link.matching")}>${found.map(
      (article) => html`<li key=${`${article.id}-${article.locale}`}><button type="button" class="link" onClick=${() => insert(article)}>${article.title} <small>(${article.locale})</small></button></li>`,
    )}</ul>`}
  </div>`;
}
