// Knowledge base (staff): categories (one level of nesting) and articles, each article with a
// translation per locale. Everyone on staff reads drafts here; admins and agents holding
// `kb_editor` add and edit (the server says which, `/kb/access`). An article's page
// (`#/kb/{id}`) edits one translation at a time: title, slug, status, category, and the
// markdown body beside a preview (rendered by the server as the help center will show it);
// "Publish" makes it public at /help/articles/{slug}.

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { del, get, patch, post } from "../lib/api.js";
import { Markdown } from "../lib/markdown.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { navigate } from "../lib/router.js";
import { date, t, tParts } from "../lib/i18n.js";

/** What the server refused, naming the field when it did. */
const refusal = (failure) => (failure.field ? `${failure.field}: ${failure.message}` : failure.message);
const LOCALES = [["en", "English"], ["es", "Español"], ["pt", "Português"]];
const localeName = (locale) => LOCALES.find(([code]) => code === locale)?.[1] || locale;

/** Categories as `<option>`s, sub-categories indented under their parent. */
function categoryOptions(categories) {
  const tops = categories.filter((category) => category.parent_id === null);
  return tops.flatMap((top) => [
    html`<option value=${top.id}>${top.name}</option>`,
    ...categories.filter((child) => child.parent_id === top.id).map((child) => html`<option value=${child.id}>— ${child.name}</option>`),
  ]);
}

export function KnowledgeBase({ id }) {
  const [articles, setArticles] = useState(null);
  const [categories, setCategories] = useState([]);
  const [canEdit, setCanEdit] = useState(false);
  const [error, setError] = useState(null);
  const load = () =>
    Promise.all([get("/kb/articles?limit=200"), get("/kb/categories")])
      .then(([page, categoryPage]) => {
        setArticles(page.items);
        setCategories(categoryPage.items);
      })
      .catch((failure) => {
        setArticles((previous) => previous || []);
        report(failure);
      });
  useEffect(() => {
    load();
    get("/kb/access").then((access) => setCanEdit(access.edit)).catch(report);
  }, []);

  async function createArticle(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { title: form.get("title"), locale: form.get("locale"), body: "" };
    if (form.get("category")) body.category_id = Number(form.get("category"));
    try {
      const created = await post("/kb/articles", body);
      setError(null);
      navigate(`#/kb/${created.id}?locale=${created.locale}`);
      load();
    } catch (failure) {
      setError(refusal(failure));
    }
  }

  const name = (categoryId) => categories.find((category) => category.id === categoryId)?.name || "";
  return html`<main class="page admin kb">
    <h1>${t("console.nav.kb")}</h1>
    ${id ? html`<${ArticleEditor} key=${id} id=${id} categories=${categories} canEdit=${canEdit} onSaved=${load} />` : null}
    <section aria-labelledby="kb-articles-title">
      <h2 id="kb-articles-title">${t("console.kb.articles")}</h2>
      <p>${tParts("console.kb.lead", { link: html`<a href="/help" target="_blank" rel="noopener">/help</a>` })}</p>
      ${canEdit && html`<form class="inline-form" onSubmit=${createArticle} aria-label=${t("console.kb.new")}>
        <label class="wide">${t("console.admin.canned_title")} <input name="title" required maxlength="200" /></label>
        <label>${t("console.preferences.language")} <select name="locale">${LOCALES.map(([code, label]) => html`<option value=${code}>${label}</option>`)}</select></label>
        <label>${t("console.ticket.category")} <select name="category"><option value="">${t("console.companies.tier.none")}</option>${categoryOptions(categories)}</select></label>
        <button type="submit">${t("console.kb.new")}</button>
      </form>`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table class="kb-articles">
        <thead><tr><th scope="col">${t("console.admin.canned_title")}</th><th scope="col">${t("console.preferences.language")}</th><th scope="col">${t("console.queue.status")}</th><th scope="col">${t("console.ticket.category")}</th><th scope="col">${t("console.conversations.updated")}</th><th scope="col">${t("console.kb.helpful")}</th></tr></thead>
        ${articles === null
          ? html`<${SkeletonRows} columns=${6} />`
          : html`<tbody>${articles.length === 0
              ? html`<tr><td colspan="6" class="empty" data-label="">${t("console.kb.no_articles")}</td></tr>`
              : articles.map((article) => html`<tr key=${`${article.id}-${article.locale}`} data-article=${article.id}>
                  <th scope="row"><a href=${`#/kb/${article.id}?locale=${article.locale}`}>${article.title}</a></th>
                  <td>${localeName(article.locale)}</td>
                  <td><span class=${`badge kb-${article.status}`}>${t(`console.kb.status.${article.status}`)}</span></td>
                  <td>${name(article.category_id)}</td>
                  <td>${date(article.updated_at)}</td>
                  <td>${t("console.kb.votes", { yes: article.helpful_count, no: article.unhelpful_count })}</td>
                </tr>`)}</tbody>`}
      </table>
    </section>
    <${Categories} categories=${categories} canEdit=${canEdit} onSaved=${load} />
  </main>`;
}

function Categories({ categories, canEdit, onSaved }) {
  const [error, setError] = useState(null);
  async function create(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { name: form.get("name") };
    if (form.get("slug")) body.slug = form.get("slug");
    if (form.get("parent")) body.parent_id = Number(form.get("parent"));
    try {
      await post("/kb/categories", body);
      event.target.reset();
      setError(null);
      onSaved();
    } catch (failure) {
      setError(refusal(failure));
    }
  }
  async function remove(category) {
    try {
      await del(`/kb/categories/${category.id}`);
      setError(null);
      onSaved();
    } catch (failure) {
      setError(refusal(failure));
    }
  }
  const parentName = (category) => categories.find((parent) => parent.id === category.parent_id)?.name || "—";
  return html`<section aria-labelledby="kb-categories-title">
    <h2 id="kb-categories-title">${t("console.kb.categories")}</h2>
    ${canEdit && html`<form class="inline-form" onSubmit=${create} aria-label=${t("console.kb.add_category_label")}>
      <label>${t("console.queue.view_name")} <input name="name" required maxlength="100" /></label>
      <label>${t("console.kb.slug")} <input name="slug" placeholder=${t("console.kb.slug_placeholder")} pattern="[a-z0-9]+(-[a-z0-9]+)*" /></label>
      <label>${t("console.kb.inside")} <select name="parent"><option value="">${t("console.kb.top_level")}</option>${categories
        .filter((category) => category.parent_id === null)
        .map((category) => html`<option value=${category.id}>${category.name}</option>`)}</select></label>
      <button type="submit">${t("console.kb.add_category")}</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <table class="kb-categories">
      <thead><tr><th scope="col">${t("console.ticket.category")}</th><th scope="col">${t("console.kb.slug")}</th><th scope="col">${t("console.kb.inside")}</th><th scope="col"><span class="visually-hidden">${t("console.queue.actions")}</span></th></tr></thead>
      <tbody>${categories.length === 0
        ? html`<tr><td colspan="4" class="empty" data-label="">${t("console.kb.no_categories")}</td></tr>`
        : categories.map((category) => html`<tr key=${category.id}>
            <th scope="row"><a href=${`/help/${category.slug}`} target="_blank" rel="noopener">${category.name}</a></th>
            <td><code>${category.slug}</code></td>
            <td>${parentName(category)}</td>
            <td>${canEdit && html`<button type="button" class="link" onClick=${() => remove(category)}>${t("console.bulk.remove")}</button>`}</td>
          </tr>`)}</tbody>
    </table>
  </section>`;
}

/** Waits this long after the last key before asking for a preview. */
const PREVIEW_DEBOUNCE_MS = 250;

/**
 * The body as the help center will show it: the server's renderer (headings and tables too),
 * asked for once typing pauses. Until it answers, and for staff who may not edit (the preview
 * endpoint is for editors), the reply box's markdown preview stands in.
 */
function ArticlePreview({ body, canEdit }) {
  const [rendered, setRendered] = useState(null);
  useEffect(() => {
    if (!canEdit) return undefined;
    let current = true;
    const timer = setTimeout(() => {
      post("/kb/preview", { body })
        .then((answer) => current && setRendered(answer.html))
        .catch(() => current && setRendered(null));
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [body, canEdit]);
  if (rendered === null) return html`<${Markdown} text=${body} />`;
  // Safe to insert: the server shows any HTML typed in the markdown as text and keeps links only
  // to http, https, mailto and paths (src/http/help/render.rs); the console's CSP runs no inline
  // script either way.
  return html`<div class="kb-rendered" dangerouslySetInnerHTML=${{ __html: rendered }}></div>`;
}

/** The locale in the route's query (`#/kb/12?locale=es`). */
function routeLocale() {
  const query = location.hash.split("?")[1] || "";
  return new URLSearchParams(query).get("locale");
}

/** One translation of an article: its form, the markdown preview, and its other locales. */
function ArticleEditor({ id, categories, canEdit, onSaved }) {
  const [article, setArticle] = useState(null);
  const [draft, setDraft] = useState(null);
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const heading = useRef(null);
  const locale = routeLocale();
  const open = (found) => {
    setArticle(found);
    setDraft({ title: found.title, slug: found.slug, body: found.body, status: found.status, category: found.category_id ?? "" });
  };
  useEffect(() => {
    get(`/kb/articles/${id}${locale ? `?locale=${encodeURIComponent(locale)}` : ""}`).then(open).catch((failure) => setError(refusal(failure)));
  }, [id, locale]);
  useEffect(() => heading.current?.focus(), [article?.id, article?.locale]);
  if (error && !article) return html`<p class="error" role="alert">${error} <a href="#/kb">${t("console.kb.all_articles")}</a></p>`;
  if (!article) return html`<p aria-busy="true">${t("console.automations.loading")}</p>`;
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(status) {
    const body = { locale: article.locale, title: draft.title, slug: draft.slug, body: draft.body, status, category_id: draft.category === "" ? null : Number(draft.category) };
    try {
      const changed = await patch(`/kb/articles/${article.id}`, body);
      open(changed);
      setError(null);
      setSaved(true);
      onSaved();
    } catch (failure) {
      setError(refusal(failure));
    }
  }
  async function translate(event) {
    event.preventDefault();
    const target = new FormData(event.target).get("locale");
    try {
      const created = await post("/kb/articles", { article_id: article.id, locale: target, title: `${article.title} (${target})`, body: article.body, slug: `${article.slug}-${target}` });
      onSaved();
      navigate(`#/kb/${created.id}?locale=${created.locale}`);
    } catch (failure) {
      setError(refusal(failure));
    }
  }
  const missing = LOCALES.filter(([code]) => !article.translations.some((translation) => translation.locale === code));
  return html`<section class="kb-editor" aria-labelledby="kb-editor-title">
    <h2 id="kb-editor-title" tabindex="-1" ref=${heading}>${article.title} <small>(${localeName(article.locale)})</small></h2>
    <p class="kb-translations">${t("console.kb.languages")} ${article.translations.map((translation) => html`<a key=${translation.locale} href=${`#/kb/${article.id}?locale=${translation.locale}`} aria-current=${translation.locale === article.locale ? "page" : undefined}>${localeName(translation.locale)}</a> `)}
      ${article.status === "published" && html`· <a href=${`/help/articles/${article.slug}`} target="_blank" rel="noopener">${t("console.kb.view_public")}</a>`}
      ${article.source_ticket_id && html`· ${t("console.kb.drafted_from")} <a href=${`#/tickets/${article.source_ticket_id}`}>${t("console.presence_board.ticket", { id: article.source_ticket_id })}</a>`}</p>
    <form class="kb-form" onSubmit=${(event) => { event.preventDefault(); save(draft.status); }} aria-label=${t("console.kb.edit")}>
      <fieldset disabled=${!canEdit}>
        <label>${t("console.admin.canned_title")} <input name="title" required maxlength="200" value=${draft.title} onInput=${(event) => edit({ title: event.target.value })} /></label>
        <label>${t("console.kb.slug")} <input name="slug" required pattern="[a-z0-9]+(-[a-z0-9]+)*" value=${draft.slug} onInput=${(event) => edit({ slug: event.target.value })} /></label>
        <label>${t("console.ticket.category")} <select name="category" value=${draft.category} onChange=${(event) => edit({ category: event.target.value })}><option value="">${t("console.companies.tier.none")}</option>${categoryOptions(categories)}</select></label>
        <div class="kb-body">
          <label>${t("console.kb.body")} <textarea name="body" rows="16" value=${draft.body} onInput=${(event) => edit({ body: event.target.value })}></textarea></label>
          <div class="kb-preview" aria-label=${t("console.ticket.preview")}><${ArticlePreview} body=${draft.body} canEdit=${canEdit} /></div>
        </div>
        <div class="actions">
          <button type="submit">${t("console.save")}</button>
          ${draft.status === "draft"
            ? html`<button type="button" onClick=${() => save("published")}>${t("console.kb.publish")}</button>`
            : html`<button type="button" class="secondary" onClick=${() => save("draft")}>${t("console.kb.unpublish")}</button>`}
          <span class=${`badge kb-${article.status}`}>${t(`console.kb.status.${article.status}`)}</span>
          ${saved && html`<span role="status">${t("console.preferences.saved")}</span>`}
        </div>
      </fieldset>
    </form>
    ${canEdit && missing.length > 0 && html`<form class="inline-form" onSubmit=${translate} aria-label=${t("console.kb.add_translation_label")}>
      <label>${t("console.kb.translate_into")} <select name="locale">${missing.map(([code, label]) => html`<option value=${code}>${label}</option>`)}</select></label>
      <button type="submit">${t("console.kb.add_translation")}</button>
    </form>`}
    ${error && html`<p class="error" role="alert">${error}</p>`}
  </section>`;
}
