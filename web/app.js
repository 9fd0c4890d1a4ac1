// The console: session, routing (hash routes), the header with the live connection state, and
// the pages under pages/.

import { h, render } from "preact";
import { useEffect } from "preact/hooks";
import { signal, computed } from "@preact/signals";
import htm from "htm";
import { get, post, ApiError } from "./lib/api.js";
import { connect, disconnect, connection, onSessionEnded } from "./lib/live.js";
import { Login } from "./pages/login.js";
import { Queue } from "./pages/queue.js";
import { TicketPage } from "./pages/ticket.js";
import { Conversations } from "./pages/conversations.js";
import { Presence } from "./pages/presence.js";
import { Admin } from "./pages/admin.js";

export const html = htm.bind(h);
export const me = signal(undefined); // undefined: checking; null: logged out
export const route = signal(location.hash || "#/queue");
export const notice = signal(null);

window.addEventListener("hashchange", () => {
  route.value = location.hash || "#/queue";
});

export function navigate(hash) {
  location.hash = hash;
}

/** Shows a refusal or failure plainly at the top of the page. */
export function report(error) {
  notice.value = error instanceof ApiError ? `${error.message} (${error.code})` : String(error.message || error);
  setTimeout(() => {
    if (notice.value) notice.value = null;
  }, 8000);
}

export async function loggedIn(user) {
  me.value = user;
  connect();
}

// The server closed this tab's socket because the session ended or the user changed (role,
// password): carry on if the session still works (with the new role), else back to the login.
onSessionEnded(async () => {
  try {
    await loggedIn(await get("/me"));
  } catch (_) {
    disconnect();
    me.value = null;
    navigate("#/login");
  }
});

async function logout() {
  try {
    await post("/auth/logout");
  } catch (_) {
    // The session may already be gone; the console forgets it either way.
  }
  disconnect();
  me.value = null;
  navigate("#/login");
}

const staffBoard = computed(() => me.value && ["supervisor", "admin"].includes(me.value.role));

function Header() {
  const state = connection.value;
  const label = { live: "Live", reconnecting: "Reconnecting…", connecting: "Connecting…" }[state];
  return html`<header class="top">
    <button type="button" class="skip" onClick=${skipToContent}>Skip to content</button>
    <a class="brand" href="#/queue">Switchboard</a>
    <nav aria-label="Main">
      <a href="#/queue" aria-current=${route.value.startsWith("#/queue") ? "page" : undefined}>Queue</a>
      <a href="#/conversations" aria-current=${route.value.startsWith("#/conversations") ? "page" : undefined}>WhatsApp</a>
      ${staffBoard.value && html`<a href="#/presence" aria-current=${route.value.startsWith("#/presence") ? "page" : undefined}>Presence</a>`}
      ${me.value.role === "admin" && html`<a href="#/admin" aria-current=${route.value.startsWith("#/admin") ? "page" : undefined}>Admin</a>`}
    </nav>
    <span class=${`connection ${state}`} role="status" aria-live="polite">${label}</span>
    <span class="who">${me.value.name} <small>(${me.value.role})</small></span>
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
  const hash = route.value;
  const ticket = hash.match(/^#\/tickets\/(\d+)/);
  if (ticket) return html`<${TicketPage} id=${Number(ticket[1])} />`;
  if (hash.startsWith("#/conversations")) return html`<${Conversations} />`;
  if (hash.startsWith("#/presence")) return html`<${Presence} />`;
  if (hash.startsWith("#/admin")) return html`<${Admin} />`;
  return html`<${Queue} />`;
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
    <${Page} />
  </div>`;
}

render(html`<${App} />`, document.getElementById("app"));
