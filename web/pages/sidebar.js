// The sidebar: the saved views the user sees, each with its live count, linking to the queue
// showing it. Loaded once per session; the counts move with every change (`view_count`).

import { useEffect } from "preact/hooks";
import { html } from "../lib/html.js";
import { route } from "../lib/router.js";
import { report } from "../lib/session.js";
import { loadViews, views } from "../lib/views.js";
import { t } from "../lib/i18n.js";

export function Sidebar() {
  useEffect(() => {
    loadViews().catch(report);
  }, []);
  const current = route.value.match(/[?&]view=(\d+)/)?.[1];
  return html`<aside class="sidebar" aria-label=${t("console.views.title")}>
    <h2>${t("console.views.title")}</h2>
    <ul>
      <li><a href="#/queue" aria-current=${route.value === "#/queue" ? "page" : undefined}>${t("console.views.open_queue")}</a></li>
      ${views.value.map(
        (view) => html`<li key=${view.id}>
          <a href=${`#/queue?view=${view.id}`} aria-current=${String(view.id) === current ? "page" : undefined} title=${view.query || t("console.views.every_ticket")}>
            <span class="view-name">${view.name}</span>
            ${view.problem
              ? html`<span class="count problem" title=${view.problem}>!</span>`
              : html`<span class="count" aria-label=${t("console.views.count", { count: view.count })}>${view.count}</span>`}
          </a>
        </li>`,
      )}
    </ul>
    ${views.value.length === 0 && html`<p class="muted small">${t("console.views.empty")}</p>`}
  </aside>`;
}
