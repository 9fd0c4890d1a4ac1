// Avatars: a person's initials on a colour picked from their name (the same person, the same
// colour everywhere), with a presence dot when their presence is known. Decorative: the name is
// always written beside it.

import { html } from "./html.js";

const COLOURS = 8;

export function initials(name) {
  const words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : (words[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

function colourOf(name) {
  let hash = 0;
  for (const character of String(name)) hash = (hash * 31 + character.codePointAt(0)) >>> 0;
  return hash % COLOURS;
}

/** `presence`: online, away, busy or offline; omitted when unknown (no dot). */
export function Avatar({ name, presence, size = "medium" }) {
  return html`<span class=${`avatar ${size} tint-${colourOf(name)}`} aria-hidden="true">${initials(name)}${presence && html`<span class=${`presence-dot ${presence}`}></span>`}</span>`;
}
