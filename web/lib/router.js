// Hash routing: the current route as a signal, `navigate`, and the matcher for a route table
// (the table itself is the composition root's, `app.js`, since it names the pages).

import { signal } from "@preact/signals";

export const route = signal(location.hash || "#/queue");

window.addEventListener("hashchange", () => {
  route.value = location.hash || "#/queue";
});

export function navigate(hash) {
  location.hash = hash;
}
