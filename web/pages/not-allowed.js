// What a page the user's role may not use shows instead of its controls (an agent opening
// `#/admin`): the server refuses those calls anyway; this says so before anything is tried.

import { html } from "../lib/html.js";
import { Icon } from "../lib/icons.js";
import { t } from "../lib/i18n.js";

/** `children` replace the usual explanation and way back (a customer has no queue to go to). */
export function NotAllowed({ what, role, children }) {
  return html`<main class="page not-allowed" data-not-allowed>
    <div class="not-allowed-card">
      <${Icon} name="lock" size=${32} />
      <h1>${t("console.not_allowed.title")}</h1>
      ${children || html`<p>${what ? t("console.not_allowed.named", { what }) : t("console.not_allowed.page")}${role ? ` (${role})` : ""}. ${t("console.not_allowed.ask")}</p>
        <p><a href="#/queue">${t("console.not_allowed.back")}</a></p>`}
    </div>
  </main>`;
}
