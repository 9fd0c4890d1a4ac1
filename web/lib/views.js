// Saved views: the list the sidebar shows (`GET /views`), each view's count kept live by its
// `view:<id>` topic (`view_count` frames), and saving the queue's current query as a view.

import { signal } from "@preact/signals";
import { get, post, del } from "./api.js";
import { subscribe } from "./live.js";

/** The views the user sees, in sidebar order, each `{id, name, query, sort, scope, count, problem}`. */
export const views = signal([]);

const following = new Map(); // view id -> unsubscribe

function setCount(id, count) {
  views.value = views.value.map((view) => (view.id === id ? { ...view, count } : view));
}

/** Reads the list again and follows each view's count (and stops following removed ones). */
export async function loadViews() {
  const list = (await get("/views")).items;
  views.value = list;
  const ids = new Set(list.filter((view) => !view.problem).map((view) => view.id));
  for (const [id, stop] of following) {
    if (!ids.has(id)) {
      stop();
      following.delete(id);
    }
  }
  for (const id of ids) {
    if (following.has(id)) continue;
    following.set(
      id,
      subscribe(`view:${id}`, (frame) => {
        if (frame.type === "view_count") setCount(id, frame.count);
      }),
    );
  }
  return list;
}

/** Forgets the views (logout: the socket and its subscriptions are already gone). */
export function forgetViews() {
  following.clear();
  views.value = [];
}

export async function saveView(body) {
  const saved = await post("/views", body);
  await loadViews();
  return saved;
}

export async function deleteView(id) {
  await del(`/views/${id}`);
  await loadViews();
}

/** `view:<id>` for a page that shows the view's tickets live. */
export function followView(id, listener) {
  return subscribe(`view:${id}`, listener);
}
