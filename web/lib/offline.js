// Offline reading and installing as an app: registers the service worker (`/sw.js`), hands it the
// list of files this page loaded (so the whole app shell is kept, whatever pages exist), and
// asks it to forget the kept API reads when the session ends (lib/session.js).

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

/** The kept ticket reads belong to the session: gone when it ends. */
export function forgetOffline() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.getRegistration().then((registration) => registration?.active?.postMessage({ type: "forget" }));
}
