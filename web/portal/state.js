// What the portal's pages share: who is signed in, the site's account, the route (the hash),
// and the message at the top of the page.

import { signal } from "@preact/signals";
import { ApiError } from "../lib/api.js";
import { languageFor, t, useLanguage } from "../lib/i18n.js";
import { connect } from "../lib/live.js";

/** The signed-in person (`null` when signed out). */
export const customer = signal(null);
/** The account this site serves (`{name}`), once known. */
export const account = signal(null);
/** The portal's route: the hash (`#/tickets/42`). */
export const hash = signal(location.hash || "#/");
window.addEventListener("hashchange", () => {
  hash.value = location.hash || "#/";
});

export const notice = signal(null);

/** Someone signed in (or the page found their session): a customer's live socket follows their
 * tickets, and the page switches to their language. */
export function signedIn(user) {
  customer.value = user;
  if (user.role === "customer") connect();
  useLanguage(languageFor(user)).catch(say);
}

/** A refusal or failure, in words: the catalog's text for the server's stable code when it has
 * one, else the server's own message. */
export function explain(error) {
  if (error instanceof ApiError) {
    const key = `portal.error.${error.code}`;
    const known = t(key);
    return known === key ? error.message : known;
  }
  return String(error?.message || error);
}

/** Shows a refusal or failure at the top of the page for a while. */
export function say(error) {
  notice.value = explain(error);
  setTimeout(() => {
    if (notice.value) notice.value = null;
  }, 8000);
}

/** Uploads one file as the signed-in person; its reference for a message's `attachments`. */
export async function upload(file) {
  const response = await fetch(`/api/v1/uploads?name=${encodeURIComponent(file.name)}`, {
    method: "POST",
    headers: { "content-type": file.type || "application/octet-stream", "x-requested-with": "switchboard-console" },
    body: file,
    credentials: "same-origin",
  });
  const answer = await response.json();
  if (!response.ok) throw new ApiError(response.status, answer);
  return { url: answer.url, name: file.name };
}
