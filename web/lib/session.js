// The session: who is logged in (`me`), logging in and out, and the message at the top of the
// page (`notice`, set by `report`) that every page uses to show a refusal or failure.

import { signal } from "@preact/signals";
import { get, post, ApiError } from "./api.js";
import { connect, disconnect, onSessionEnded } from "./live.js";
import { navigate } from "./router.js";
import { forget } from "./tickets.js";
import { forgetDrafts } from "./drafts.js";
import { forgetNotifications, startNotifications } from "./notifications.js";
import { forgetStaff } from "./mentions.js";
import { forgetViews } from "./views.js";
import { forgetOffline, keepSession } from "./offline.js";
import { languageFor, useLanguage } from "./i18n.js";

export const me = signal(undefined); // undefined: checking; null: logged out
export const notice = signal(null);

/** Shows a refusal or failure plainly at the top of the page. */
export function report(error) {
  notice.value = error instanceof ApiError ? `${error.message} (${error.code})` : String(error.message || error);
  setTimeout(() => {
    if (notice.value) notice.value = null;
  }, 8000);
}

export async function loggedIn(user) {
  // The person's language first, so the console shows in it from its first page.
  await useLanguage(languageFor(user)).catch(() => {});
  // Staff the account requires to use MFA enrol first (Preferences → Security).
  if (user.mfa_enrolment_required) navigate("#/preferences");
  me.value = user;
  connect();
  keepSession();
  if (user.role !== "customer") startNotifications();
}

/** Forgets the session in this tab (the server's is gone or ended), and the tickets it could
 * see, and shows the login. */
function loggedOut() {
  forgetNotifications();
  forgetStaff();
  disconnect();
  me.value = null;
  forget();
  forgetViews();
  forgetOffline();
  navigate("#/login");
}

// The server closed this tab's socket because the session ended or the user changed (role,
// password): carry on if the session still works (with the new role), else back to the login.
onSessionEnded(async () => {
  try {
    await loggedIn(await get("/me"));
  } catch (_) {
    loggedOut();
  }
});

export async function logout() {
  try {
    await post("/auth/logout");
  } catch (_) {
    // The session may already be gone; the console forgets it either way.
  }
  // Logging out is leaving the browser to someone else: the replies being written go too.
  if (me.value) forgetDrafts(me.value.id);
  loggedOut();
}
