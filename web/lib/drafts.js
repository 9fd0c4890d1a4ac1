// Reply drafts, one per ticket: what the agent is writing (`text`), the files attached to it,
// the channel chosen and the internal-note tick, so that a reply meant for one customer is never
// shown, ready to send, on another customer's ticket. Kept in localStorage under a key of the
// logged-in user's own (another user of the same browser never sees them), removed when the
// reply is sent and, all of the user's, when they log out.

const PREFIX = "switchboard.drafts.";

const storageKey = (userId) => `${PREFIX}${userId}`;

function readAll(userId) {
  try {
    const stored = JSON.parse(localStorage.getItem(storageKey(userId)) || "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch (_) {
    // Storage unavailable or a value this version cannot read: no drafts rather than a broken page.
    return {};
  }
}

function writeAll(userId, drafts) {
  try {
    if (Object.keys(drafts).length === 0) localStorage.removeItem(storageKey(userId));
    else localStorage.setItem(storageKey(userId), JSON.stringify(drafts));
  } catch (_) {
    // Full or disabled storage: the draft lives on in the open page only.
  }
}

/** The draft `{ text, files, channel, internal, updated_at, pushed }` of `ticketId`, or null
 * (`pushed`: the server has kept this very version). */
export function loadDraft(userId, ticketId) {
  const draft = readAll(userId)[ticketId];
  if (!draft) return null;
  return {
    text: typeof draft.text === "string" ? draft.text : "",
    files: Array.isArray(draft.files) ? draft.files : [],
    channel: typeof draft.channel === "string" ? draft.channel : null,
    internal: draft.internal === true,
    updated_at: draft.updated_at || null,
    pushed: draft.pushed === true,
  };
}

/** Keeps the draft of `ticketId`; an empty one (nothing written, attached or chosen) is removed.
 * Returns the version's `updated_at` (null when removed). */
export function saveDraft(userId, ticketId, { text, files, channel, internal }) {
  const drafts = readAll(userId);
  let updatedAt = null;
  if (!text && files.length === 0 && !channel && !internal) delete drafts[ticketId];
  else {
    updatedAt = new Date().toISOString();
    drafts[ticketId] = { text, files, channel, internal, updated_at: updatedAt };
  }
  writeAll(userId, drafts);
  return updatedAt;
}

/** Notes that the server kept the version of `ticketId`'s draft saved at `updatedAt` (if it is
 * still the newest): when the server later has none, it was sent or discarded elsewhere. */
export function markPushed(userId, ticketId, updatedAt) {
  const drafts = readAll(userId);
  if (!drafts[ticketId] || drafts[ticketId].updated_at !== updatedAt) return;
  drafts[ticketId].pushed = true;
  writeAll(userId, drafts);
}

/** Removes the draft of `ticketId` (its reply was sent). */
export function clearDraft(userId, ticketId) {
  const drafts = readAll(userId);
  delete drafts[ticketId];
  writeAll(userId, drafts);
}

/** Removes every draft of `userId` (they logged out). */
export function forgetDrafts(userId) {
  try {
    localStorage.removeItem(storageKey(userId));
  } catch (_) {
    // Storage unavailable: nothing was kept.
  }
}
