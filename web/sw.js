// The console's service worker: the app shell and the last opened tickets for reading offline.
//
// - Same-origin files of the console (index.html, app.js, css, vendor modules, pages, lib, icons)
//   are network-first: online, every load gets the server's copy (so a deploy shows on the next
//   reload, never a stale shell); the copy is kept and served only when the network fails. The
//   install step keeps the shell's entry files; the page then sends the list of every file it
//   loaded (`shell` message), so new pages and modules are kept without a list here.
// - A few API reads are kept the same way, network-first: who is logged in and the account's
//   reference lists (`/me`, config, users, teams; also read here when a session starts, since
//   the page's own first reads may predate this worker's control), and per ticket its read and
//   its events, for the last KEPT_TICKETS tickets opened; older tickets' copies are dropped.
// - Nothing else is touched. Writes (any method but GET) are never handled here: the browser
//   sends them as it would without a worker, so offline they fail in front of the user and are
//   never stored or replayed later. The page asks for the kept API reads to be forgotten on
//   logout or when the session ends (`forget` message).

const SHELL_CACHE = "switchboard-shell-v1";
const API_CACHE = "switchboard-api-v1";
/** How many tickets' reads are kept for offline reading (the most recently opened). */
const KEPT_TICKETS = 20;
/** The opened tickets' ids, oldest first, kept in the API cache under this synthetic key. */
const ORDER_KEY = "/sw/kept-tickets";
const SHELL = ["/", "/app.css", "/app.js", "/manifest.webmanifest", "/favicon.svg", "/icons/icon.svg", "/icons/icon-192.png"];
const REFERENCE_READS = new Set(["/api/v1/me", "/api/v1/account/config", "/api/v1/users", "/api/v1/teams"]);
const TICKET_READ = /^\/api\/v1\/tickets\/(\d+)(?:\/events)?$/;
/** Paths the hub serves that are not the console: the API (stored files included), the
 * sandboxes, webhooks, operations, and the public site (the help center, its stylesheet and
 * sitemap, the portal), which must come from the server, never as the console's shell. */
const NOT_THE_CONSOLE = /^\/(api|sandbox|webhooks|healthz|readyz|metrics|help|help\.css|sitemap\.xml|portal)(\/|$)/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => ![SHELL_CACHE, API_CACHE].includes(name)).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "shell" && Array.isArray(message.urls)) {
    const urls = message.urls.filter((url) => {
      const parsed = new URL(url, self.location.origin);
      return parsed.origin === self.location.origin && !NOT_THE_CONSOLE.test(parsed.pathname) && parsed.pathname !== "/sw.js";
    });
    event.waitUntil(caches.open(SHELL_CACHE).then((cache) => Promise.all(urls.map((url) => cache.add(url).catch(() => undefined)))));
  } else if (message.type === "session") {
    event.waitUntil(
      serially(async () => {
        const cache = await caches.open(API_CACHE);
        await Promise.all([...REFERENCE_READS].map((url) => cache.add(url).catch(() => undefined)));
      }),
    );
  } else if (message.type === "forget") {
    event.waitUntil(serially(() => caches.delete(API_CACHE)));
  }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  // Writes go to the network untouched: never cached, never queued for later.
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.search.includes("token=")) return;
  if (url.pathname.startsWith("/api/")) {
    const ticket = url.search === "" ? url.pathname.match(TICKET_READ) : null;
    if (ticket || (url.search === "" && REFERENCE_READS.has(url.pathname))) {
      event.respondWith(networkFirst(request, API_CACHE, ticket ? Number(ticket[1]) : null));
    }
    return;
  }
  if (NOT_THE_CONSOLE.test(url.pathname) || url.pathname === "/sw.js") return;
  event.respondWith(networkFirst(request, SHELL_CACHE, null));
});

/** The network's answer (kept when it is a good one), or the kept copy when the network fails. */
async function networkFirst(request, cacheName, ticketId) {
  // Client routes and "/" are one document: the app shell.
  const key = request.mode === "navigate" ? "/" : request;
  try {
    const response = await fetch(request);
    // A navigation is kept as the shell only when it is the console (its policy runs scripts):
    // `/` answers a signed-out browser with the public landing page, which is no shell.
    const shell = request.mode !== "navigate" || (response.headers.get("content-security-policy") || "").includes("script-src");
    if (response.ok && response.type === "basic" && shell) {
      const copy = response.clone();
      serially(async () => {
        const cache = await caches.open(cacheName);
        await cache.put(key, copy);
        if (ticketId !== null) await keepTicket(cache, ticketId);
      });
    }
    return response;
  } catch (failure) {
    const kept = await caches.match(key, { cacheName });
    if (kept) return kept;
    throw failure;
  }
}

/** Marks a ticket as the most recently opened and drops the reads of those past KEPT_TICKETS. */
async function keepTicket(cache, ticketId) {
  const stored = await cache.match(ORDER_KEY);
  const order = (stored ? await stored.json() : []).filter((id) => id !== ticketId);
  order.push(ticketId);
  const dropped = order.splice(0, Math.max(0, order.length - KEPT_TICKETS));
  await cache.put(ORDER_KEY, new Response(JSON.stringify(order), { headers: { "content-type": "application/json" } }));
  for (const id of dropped) {
    await cache.delete(`/api/v1/tickets/${id}`);
    await cache.delete(`/api/v1/tickets/${id}/events`);
  }
}

// Cache updates run one at a time: two responses arriving together must not both read the
// order of kept tickets and each write back their own.
let queue = Promise.resolve();
function serially(step) {
  queue = queue.then(step, step).catch(() => undefined);
  return queue;
}
