// `@mentions` in internal notes: the staff directory the `@` autocomplete offers, finding the
// `@word` being typed, inserting a mention in its stored form `@[Name](user:ID)` (the server
// notifies that user, whatever their name becomes) and showing stored mentions as links.

import { signal } from "@preact/signals";
import { html } from "./html.js";
import { get } from "./api.js";

/** Staff of the account (agents, supervisors, admins), read once per login. */
export const staff = signal([]);
let loading = null;

export function loadStaff() {
  if (!loading) {
    loading = Promise.all(["agent", "supervisor", "admin"].map((role) => get(`/users?role=${role}`)))
      .then((pages) => {
        staff.value = pages.flatMap((page) => page.items).filter((user) => user.active).sort((a, b) => a.name.localeCompare(b.name));
      })
      .catch(() => {
        loading = null;
      });
  }
  return loading;
}

export function forgetStaff() {
  staff.value = [];
  loading = null;
}

/** The `@word` ending at `caret`: `{ start, query }`, or null when the caret is not in one. */
export function mentionAt(text, caret) {
  const found = text.slice(0, caret).match(/(^|\s)@([^\s@[\]()]{0,40})$/);
  if (!found) return null;
  return { start: caret - found[2].length - 1, query: found[2].toLowerCase() };
}

/** Staff whose name or address starts a word with `query`, best first, at most `limit`. */
export function matches(query, limit = 6) {
  const starts = (text) => text.toLowerCase().split(/[\s.@_-]+/).some((word) => word.startsWith(query));
  return staff.value.filter((user) => !query || starts(user.name) || starts(user.email)).slice(0, limit);
}

/** `text` with the `@word` at `at` replaced by `user`'s mention; the new text and caret. */
export function insertMention(text, caret, at, user) {
  const token = `@[${user.name.replace(/[[\]]/g, "")}](user:${user.id}) `;
  const next = text.slice(0, at.start) + token + text.slice(caret);
  return { text: next, caret: at.start + token.length };
}

/** A note's body with its mentions shown as links (to write to the person mentioned). */
export function withMentions(body) {
  const parts = [];
  const pattern = /@\[([^\]\n]*)\]\(user:(\d+)\)/g;
  let last = 0;
  for (const found of body.matchAll(pattern)) {
    parts.push(body.slice(last, found.index));
    const user = staff.value.find((candidate) => candidate.id === Number(found[2]));
    const name = user?.name || found[1];
    parts.push(user
      ? html`<a class="mention" href=${`mailto:${user.email}`} data-user=${user.id} title=${user.email}>@${name}</a>`
      : html`<span class="mention" data-user=${found[2]}>@${name}</span>`);
    last = found.index + found[0].length;
  }
  parts.push(body.slice(last));
  return parts;
}
