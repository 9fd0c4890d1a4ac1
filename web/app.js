// The console's composition root: it mounts the shell (the header with the live connection
// state, the notice, the page for the route) and is the only module that imports the pages.
// What pages share lives in lib/ (html, session, router, the live socket, the ticket store), so
// nothing imports this file.

import { render } from "preact";
import { useEffect } from "preact/hooks";
import { computed } from "@preact/signals";
import { get } from "./lib/api.js";
import { html } from "./lib/html.js";
import { connection } from "./lib/live.js";
import { matcher, route } from "./lib/router.js";
import { loggedIn, logout, me, notice } from "./lib/session.js";
import { Login } from "./pages/login.js";
import { Queue } from "./pages/queue.js";
import { TicketPage } from "./pages/ticket.js";
import { Conversations } from "./pages/conversations.js";
import { Presence } from "./pages/presence.js";
import { Admin } from "./pages/admin.js";
import { Automations } from "./pages/automations.js";
import { Preferences } from "./pages/preferences.js";
import { Bell, Toasts } from "./pages/bell.js";
import { Sidebar } from "./pages/sidebar.js";

const staffBoard = computed(() => me.value && ["supervisor", "admin"].includes(me.value.role));

/**
 * The route table: each console path, its page, and (for the main navigation, in this order)
 * its link's label and who sees the link. A hash no entry matches shows the queue.
 */
const ROUTES = [
  { path: "#/queue", page: Queue, label: "Queue" },
  { path: "#/conversations", page: Conversations, label: "WhatsApp" },
  { path: "#/presence", page: Presence, label: "Presence", shown: () => staffBoard.value },
  { path: "#/admin", page: Admin, label: "Admin", shown: () => me.value.role === "admin" },
  { path: "#/automations", page: Automations, label: "Automations", shown: () => me.value.role === "admin" },
  { path: "#/tickets/:id", page: TicketPage },
  { path: "#/preferences", page: Preferences },
];
const FALLBACK = Queue;
const match = matcher(ROUTES);
const current = computed(() => match(route.value));

function Header() {
  const state = connection.value;
  const label = { live: "Live", reconnecting: "Reconnecting…", connecting: "Connecting…" }[state];
  return html`<header class="top">
    <button type="button" class="skip" onClick=${skipToContent}>Skip to content</button>
    <a class="brand" href="#/queue">Switchboard</a>
    <nav aria-label="Main">
      ${ROUTES.filter((entry) => entry.label && (!entry.shown || entry.shown())).map(
        (entry) => html`<a key=${entry.path} href=${entry.path} aria-current=${current.value?.route === entry ? "page" : undefined}>${entry.label}</a>`,
      )}
    </nav>
    <span class=${`connection ${state}`} role="status" aria-live="polite">${label}</span>
    <${Bell} />
    <a class="who" href="#/preferences" title="Notification preferences">${me.value.name} <small>(${me.value.role})</small></a>
    <button class="link" onClick=${logout}>Log out</button>
  </header>`;
}

/** Keyboard users jump past the header to the page's main region (not a `#main` link: the hash
 * is the route). */
function skipToContent() {
  const main = document.querySelector("main");
  if (!main) return;
  main.setAttribute("tabindex", "-1");
  main.focus();
}

// Escape dismisses the message at the top of the page.
window.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && notice.value) notice.value = null;
});

function Page() {
  const found = current.value;
  return html`<${found ? found.route.page : FALLBACK} ...${found ? found.params : {}} />`;
}

function App() {
  useEffect(() => {
    get("/me")
      .then(loggedIn)
      .catch(() => {
        me.value = null;
      });
  }, []);
  if (me.value === undefined) return html`<p class="boot">Loading Switchboard…</p>`;
  if (me.value === null) return html`<${Login} />`;
  if (me.value.role === "customer") {
    return html`<main class="page"><h1>Hello ${me.value.name}</h1><p>The customer portal is not available yet; your tickets reach us by WhatsApp and email.</p></main>`;
  }
  return html`<div class="shell">
    <${Header} />
    ${notice.value && html`<div class="notice" role="alert">${notice.value} <button class="link" onClick=${() => (notice.value = null)}>Dismiss</button></div>`}
    <div class="body">
      <${Sidebar} />
      <${Page} />
    </div>
    <${Toasts} />
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
