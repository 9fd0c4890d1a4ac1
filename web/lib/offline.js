// Offline reading and installing as an app: registers the service worker (`/sw.js`), hands it the
// list of files this page loaded (so the whole app shell is kept, whatever pages exist), and
// tells it when a session starts and ends (lib/session.js), so the API reads it keeps for
// offline reading are the logged-in user's and go with the session.

/** Registers the worker; once it is active, tells it every console file this page loaded. */
export function startOffline() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch((error) => console.warn("service worker not registered:", error));
  navigator.serviceWorker.ready.then((registration) => {
    const urls = performance
      .getEntriesByType("resource")
      .map((entry) => entry.name)
      .filter((url) => url.startsWith(location.origin) && !new URL(url).pathname.startsWith("/api/"));
    registration.active?.postMessage({ type: "shell", urls: [`${location.origin}/`, ...new Set(urls)] });
  });
}

/** A session started: the worker keeps who is logged in and the account's lists for offline use
 * (the page's first reads may have run before the worker controlled it). */
export function keepSession() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.ready.then((registration) => registration.active?.postMessage({ type: "session" }));
}

/** The kept API reads belong to the session: gone when it ends. */
export function forgetOffline() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.getRegistration().then((registration) => registration?.active?.postMessage({ type: "forget" }));
}
