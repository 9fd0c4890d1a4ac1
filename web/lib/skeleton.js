// Skeleton loaders: grey shapes where a page's first data will be, instead of "Loading…" text.
// Each says what is loading to screen readers (a polite status); the shapes are hidden from them.

import { html } from "./html.js";
import { t } from "./i18n.js";

/** A table body's worth of placeholder rows (`columns` cells each) while its first read runs. */
export function SkeletonRows({ columns, rows = 5 }) {
  return html`<tbody class="skeleton-rows" aria-hidden="true">
    ${Array.from({ length: rows }, (_, row) => html`<tr key=${row}>${Array.from({ length: columns }, (_, column) => html`<td key=${column}><span class="skeleton line"></span></td>`)}</tr>`)}
  </tbody>`;
}

/** A whole page's placeholder: a heading, then blocks, while `what` loads. */
export function SkeletonPage({ what, blocks = 3 }) {
  return html`<main class="page" aria-busy="true">
    <p class="visually-hidden" role="status">${t("console.loading", { what })}</p>
    <div class="skeleton heading" aria-hidden="true"></div>
    ${Array.from({ length: blocks }, (_, index) => html`<div key=${index} class="skeleton block" aria-hidden="true"></div>`)}
  </main>`;
}
