// The sidebar: the saved views the user sees, each with its live count, linking to the queue
// showing it. Loaded once per session; the counts move with every change (`view_count`).

import { useEffect } from "preact/hooks";
import { html } from "../lib/html.js";
import { route } from "../lib/router.js";
import { report } from "../lib/session.js";
import { loadViews, views } from "../lib/views.js";

export function Sidebar() {
  useEffect(() => {
    loadViews().catch(report);
  }, []);
  const current = route.value.match(/[?&]view=(\d+)/)?.[1];
  return html`<aside class="sidebar" aria-label="Views">
    <h2>Views</h2>
    <ul>
      <li><a href="#/queue" aria-current=${route.value === "#/queue" ? "page" : undefined}>Open queue</a></li>
      ${views.value.map(
        (view) => html`<li key=${view.id}>
          <a href=${`#/queue?view=${view.id}`} aria-current=${String(view.id) === current ? "page" : undefined} title=${view.query || "every ticket"}>
            <span class="view-name">${view.name}</span>
            ${view.problem
              ? html`<span class="count problem" title=${view.problem}>!</span>`
              : html`<span class="count" aria-label=${`${view.count} tickets`}>${view.count}</span>`}
          </a>
        </li>`,
      )}
    </ul>
    ${views.value.length === 0 && html`<p class="muted small">Type a query in the queue and save it as a view.</p>`}
  </aside>`;
}
