// What a page the user's role may not use shows instead of its controls (an agent opening
// `#/admin`): the server refuses those calls anyway; this says so before anything is tried.

import { html } from "../lib/html.js";
import { Icon } from "../lib/icons.js";

/** `children` replace the usual explanation and way back (a customer has no queue to go to). */
export function NotAllowed({ what, role, children }) {
  return html`<main class="page not-allowed" data-not-allowed>
    <div class="not-allowed-card">
      <${Icon} name="lock" size=${32} />
      <h1>Not allowed</h1>
      ${children || html`<p>${what ? `${what} is` : "This page is"} not available to your role${role ? ` (${role})` : ""}. Ask an administrator if you need it.</p>
        <p><a href="#/queue">Back to the queue</a></p>`}
    </div>
  </main>`;
}
