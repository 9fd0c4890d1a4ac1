// The customer portal's composition root (issue 14 item 2): it finds who is signed in, loads
// their language's catalog, and shows the signed-out pages (log in, register, a code, forgotten
// password, the reset link's page) or the customer's: dashboard, tickets, a new ticket, one
// ticket live, the profile. Staff who open it are pointed to the console. The only module that
// imports the portal's pages.

import { render } from "preact";
import { useEffect } from "preact/hooks";
import { signal } from "@preact/signals";
import { get, post } from "../lib/api.js";
import { html } from "../lib/html.js";
import { disconnect, onSessionEnded } from "../lib/live.js";
import { matcher } from "../lib/router.js";
import { language, languageFor, t, useLanguage } from "../lib/i18n.js";
import { SignedOut, ResetPassword } from "./auth.js";
import { Dashboard, TicketList, TicketDetail } from "./tickets.js";
import { NewTicket } from "./new-ticket.js";
import { Profile } from "./profile.js";
import { account, customer, hash, notice, say, signedIn } from "./state.js";

const ROUTES = [
  { path: "#/tickets/new", page: NewTicket },
  { path: "#/tickets/:id", page: TicketDetail },
  { path: "#/tickets", page: TicketList },
  { path: "#/profile", page: Profile },
];
const match = matcher(ROUTES);

/** Whether the first load finished (the session checked, the catalog loaded). */
const ready = signal(false);

async function start() {
  let user = null;
  try {
    user = await get("/me");
  } catch (_) {
    user = null;
  }
  await useLanguage(languageFor(user));
  document.title = t("portal.title");
  get("/site")
    .then((site) => (account.value = site))
    .catch(() => {});
  if (user) signedIn(user);
  ready.value = true;
}

async function signOut() {
  try {
    await post("/auth/logout");
  } catch (_) {
    // Already gone on the server: forget it here too.
  }
  disconnect();
  customer.value = null;
  location.hash = "#/";
}

// Another tab logged out, or the password changed elsewhere: check the session again.
onSessionEnded(async () => {
  try {
    signedIn(await get("/me"));
  } catch (_) {
    disconnect();
    customer.value = null;
  }
});

function Header() {
  const who = customer.value;
  const name = account.value?.name;
  return html`<header class="portal-top">
    <a class="brand" href="#/"><img src="/icons/icon.svg" alt="" width="26" height="26" /><span>${name ? t("portal.brand_of", { name }) : t("portal.brand")}</span></a>
    <nav aria-label=${t("portal.nav.label")}>
      ${who && html`<a href="#/" aria-current=${hash.value === "#/" || hash.value === "" ? "page" : undefined}>${t("portal.nav.dashboard")}</a>
      <a href="#/tickets" aria-current=${hash.value.startsWith("#/tickets") && hash.value !== "#/tickets/new" ? "page" : undefined}>${t("portal.nav.tickets")}</a>
      <a class="new" href="#/tickets/new" aria-current=${hash.value === "#/tickets/new" ? "page" : undefined}>${t("portal.nav.new")}</a>`}
      <a href="/help">${t("portal.nav.help")}</a>
      ${who && html`<a href="#/profile" aria-current=${hash.value === "#/profile" ? "page" : undefined}>${t("portal.nav.profile")}</a>
      <button type="button" class="link" onClick=${signOut}>${t("portal.nav.logout")}</button>`}
    </nav>
  </header>`;
}

function Notice() {
  if (!notice.value) return null;
  return html`<div class="notice" role="alert">${notice.value} <button type="button" class="link" onClick=${() => (notice.value = null)}>${t("portal.dismiss")}</button></div>`;
}

function Body() {
  const who = customer.value;
  if (location.pathname.replace(/\/$/, "") === "/portal/reset") return html`<${ResetPassword} />`;
  if (!who) return html`<${SignedOut} route=${hash.value} />`;
  if (who.role !== "customer") {
    return html`<main class="portal-main narrow"><h1>${t("portal.staff.title")}</h1>
      <p>${t("portal.staff.text", { name: who.name })}</p>
      <p><a class="button" href="/agent">${t("portal.staff.console")}</a> <button type="button" class="secondary" onClick=${signOut}>${t("portal.nav.logout")}</button></p></main>`;
  }
  const found = match(hash.value);
  if (!found) return html`<${Dashboard} />`;
  return html`<${found.route.page} ...${found.params} />`;
}

function Portal() {
  useEffect(() => {
    start().catch((error) => {
      say(error);
      ready.value = true;
    });
  }, []);
  // Re-render on a language change (every text comes from `t`).
  language.value;
  if (!ready.value) return html`<p class="boot">…</p>`;
  return html`<div class="portal">
    <${Header} />
    <${Notice} />
    <${Body} />
    <footer class="portal-foot"><span>${t("portal.footer")}</span></footer>
  </div>`;
}

window.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && notice.value) notice.value = null;
});

render(html`<${Portal} />`, document.getElementById("portal"));
