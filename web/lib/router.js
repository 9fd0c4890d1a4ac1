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

/**
 * A matcher for a route table: `[{ path: "#/tickets/:id", page }, …]`. A path matches the start of
 * the hash (so `#/queue?…` is still the queue); `:name` matches digits and comes out as a number
 * in `params`. Returns `{ route, params }` for the first entry that matches, or null.
 */
export function matcher(table) {
  const compiled = table.map((entry) => {
    const names = [];
    const source = entry.path
      .split(/(:\w+)/)
      .map((part) => {
        if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
        names.push(part.slice(1));
        return "(\\d+)";
      })
      .join("");
    return { entry, names, pattern: new RegExp(`^${source}`) };
  });
  return (hash) => {
    for (const { entry, names, pattern } of compiled) {
      const found = hash.match(pattern);
      if (found) return { route: entry, params: Object.fromEntries(names.map((name, index) => [name, Number(found[index + 1])])) };
    }
    return null;
  };
}
