// The console's composition root: it mounts the shell (the header with the live connection
// state, the notice, the left sidebar with the navigation the role may use and the saved views,
// the page for the route, or "not allowed" when the role may not use it) and is the only module
// that imports the pages. Every text comes from the language's catalog (lib/i18n.js): the App
// reads `language` so a change of language re-renders the whole console.
// What pages share lives in lib/ (html, session, router, the live socket, the ticket store), so
// nothing imports this file.

import { render } from "preact";
import { useEffect, useLayoutEffect, useState } from "preact/hooks";
import { computed } from "@preact/signals";
import { get } from "./lib/api.js";
import { html } from "./lib/html.js";
import { connection } from "./lib/live.js";
import { matcher, route } from "./lib/router.js";
import { loggedIn, logout, me, notice } from "./lib/session.js";
import { Icon } from "./lib/icons.js";
import { Avatar } from "./lib/avatar.js";
import { startOffline } from "./lib/offline.js";
import { language, languageFor, t, useLanguage } from "./lib/i18n.js";
import { labelTableCells } from "./lib/tables.js";
import { Login } from "./pages/login.js";
import { Queue } from "./pages/queue.js";
import { TicketPage } from "./pages/ticket.js";
import { Conversations } from "./pages/conversations.js";
import { Presence } from "./pages/presence.js";
import { Admin } from "./pages/admin.js";
import { Automations } from "./pages/automations.js";
import { Webhooks } from "./pages/webhooks.js";
import { Companies } from "./pages/companies.js";
import { KnowledgeBase } from "./pages/kb.js";
import { Preferences } from "./pages/preferences.js";
import { ApiKeys } from "./pages/api-keys.js";
import { Audit } from "./pages/audit.js";
import { Reports } from "./pages/reports.js";
import { Bell, Toasts } from "./pages/bell.js";
import { Sidebar } from "./pages/sidebar.js";
import { NotAllowed } from "./pages/not-allowed.js";

const staffBoard = computed(() => me.value && ["supervisor", "admin"].includes(me.value.role));

/**
 * The route table: each console path, its page, and (for the main navigation, in this order)
 * its link's label and icon (lib/icons.js). `shown` says who may use the page: only they get its
 * link, and anyone else opening it sees "not allowed" instead of controls the server would
 * refuse. A hash no entry matches shows the queue. Exported for the browser tests, which visit
 * every entry (web/tests/pages.test.mjs); nothing in the console imports this file. A label is
 * a getter, so it is read in the language of the moment.
 */
export const ROUTES = [
  { path: "#/queue", page: Queue, get label() { return t("console.nav.queue"); }, icon: "inbox" },
  { path: "#/conversations", page: Conversations, get label() { return t("console.nav.whatsapp"); }, icon: "message" },
  { path: "#/presence", page: Presence, get label() { return t("console.nav.presence"); }, icon: "users", shown: () => staffBoard.value },
  // Everyone on the team has their own figures; the server scopes the team board and the overview.
  { path: "#/reports", page: Reports, get label() { return t("console.nav.reports"); }, icon: "chart" },
  { path: "#/admin", page: Admin, get label() { return t("console.nav.admin"); }, icon: "shield", shown: () => me.value.role === "admin" },
  { path: "#/audit", page: Audit, get label() { return t("console.nav.audit"); }, icon: "lock", shown: () => me.value.role === "admin" },
  { path: "#/automations", page: Automations, get label() { return t("console.nav.automations"); }, icon: "zap", shown: () => me.value.role === "admin" },
  { path: "#/webhooks", page: Webhooks, get label() { return t("console.nav.webhooks"); }, icon: "share", shown: () => me.value.role === "admin" },
  // A company's page comes before the list so the list's path does not match it first.
  { path: "#/companies/:id", page: Companies, shown: () => me.value.role === "admin" },
  { path: "#/companies", page: Companies, get label() { return t("console.nav.companies"); }, icon: "briefcase", shown: () => me.value.role === "admin" },
  // Staff read the knowledge base (drafts too); the page shows editing controls to editors.
  { path: "#/kb/:id", page: KnowledgeBase },
  { path: "#/kb", page: KnowledgeBase, get label() { return t("console.nav.kb"); }, icon: "layers" },
  { path: "#/tickets/:id", page: TicketPage },
  { path: "#/preferences", page: Preferences },
  // Reached from Preferences; every staff member has keys of their own.
  { path: "#/api-keys", page: ApiKeys },
];
const FALLBACK = Queue;
const match = matcher(ROUTES);
const current = computed(() => match(route.value));

const allowed = (entry) => !entry.shown || entry.shown();

function Header({ menuOpen, toggleMenu }) {
  const state = connection.value;
  const label = t(`console.connection.${state}`);
  return html`<header class="top">
    <button type="button" class="skip" onClick=${skipToContent}>${t("console.app.skip")}</button>
    <button type="button" class="menu-toggle" aria-expanded=${String(menuOpen)} aria-controls="navigation" onClick=${toggleMenu}>
      <${Icon} name=${menuOpen ? "close" : "menu"} /><span class="visually-hidden">${t("console.app.menu")}</span>
    </button>
    <a class="brand" href="#/queue"><img src="/icons/icon.svg" alt="" width="28" height="28" /><span class="brand-name">Switchboard</span></a>
    <span class=${`connection ${state}`} role="status" aria-live="polite">${label}</span>
    <${Bell} />
    <a class="who" href="#/preferences" title=${t("console.app.preferences_link")}><${Avatar} name=${me.value.name} /><span class="who-name">${me.value.name} <small>(${t(`console.role.${me.value.role}`)})</small></span></a>
    <button class="link logout" onClick=${logout}><${Icon} name="logout" /><span class="logout-text">${t("console.app.logout")}</span></button>
  </header>`;
}

/** The left sidebar: the pages this role may use, then the saved views; a menu on a phone. */
function Navigation({ open }) {
  return html`<div class=${`sidenav ${open ? "open" : ""}`} id="navigation">
    <nav aria-label=${t("console.nav.label")}>
      ${ROUTES.filter((entry) => entry.label && allowed(entry)).map(
        (entry) => html`<a key=${entry.path} href=${entry.path} aria-current=${current.value?.route === entry ? "page" : undefined}>${entry.icon && html`<${Icon} name=${entry.icon} />`}${entry.label}</a>`,
      )}
    </nav>
    <${Sidebar} />
  </div>`;
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
  if (found && !allowed(found.route)) return html`<${NotAllowed} what=${found.route.label} role=${t(`console.role.${me.value.role}`)} />`;
  return html`<${found ? found.route.page : FALLBACK} ...${found ? found.params : {}} />`;
}

function App() {
  const [menuOpen, setMenuOpen] = useState(false);
  // Following a link in the phone's menu closes it, and so does Escape.
  useEffect(() => setMenuOpen(false), [route.value]);
  // Listening from the render that opens the menu, not after the paint: an Escape pressed as
  // soon as the menu shows must close it.
  useLayoutEffect(() => {
    if (!menuOpen) return undefined;
    const close = (event) => event.key === "Escape" && setMenuOpen(false);
    window.addEventListener("keydown", close);
    return () => window.removeEventListener("keydown", close);
  }, [menuOpen]);
  useEffect(() => {
    get("/me")
      .then(loggedIn)
      .catch(() => {
        me.value = null;
      });
  }, []);
  // Re-render on a language change (every text comes from `t`).
  language.value;
  if (me.value === undefined) return html`<p class="boot">${t("console.app.loading")}</p>`;
  if (me.value === null) return html`<${Login} />`;
  if (me.value.role === "customer") {
    // The console's pages are staff tools: a customer who reaches one goes to the portal.
    location.replace("/portal");
    return html`<${NotAllowed}>
      <p>${t("console.app.customer_hello", { name: me.value.name })} <a href="/portal">${t("console.app.customer_portal")}</a>.</p>
      <p><button class="secondary" onClick=${logout}>${t("console.app.logout")}</button></p>
    </${NotAllowed}>`;
  }
  return html`<div class="shell">
    <${Header} menuOpen=${menuOpen} toggleMenu=${() => setMenuOpen(!menuOpen)} />
    ${notice.value && html`<div class="notice" role="alert">${notice.value} <button class="link" onClick=${() => (notice.value = null)}>${t("console.app.dismiss")}</button></div>`}
    <div class="body">
      <${Navigation} open=${menuOpen} />
      <${Page} />
    </div>
    <${Toasts} />
  </div>`;
}

const root = document.getElementById("app");
labelTableCells(root);
// The browser's language until the person's is known (their profile's, read at sign-in).
useLanguage(languageFor(null))
  .catch(() => {})
  .then(() => render(html`<${App} />`, root));
startOffline();
