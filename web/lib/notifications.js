// The logged-in user's notifications: the newest ones and the unread count (signals the bell,
// its panel and the tab title read), kept live through the `notifications` topic, plus the
// toasts, the short sound and the browser's own notification (only while the tab is hidden,
// and only once the user allowed it from a click) for the ones that alert. Read on login and
// again after each reconnect (the topic has no replay: what came meanwhile is in the list).

import { effect, signal } from "@preact/signals";
import { get, post } from "./api.js";
import { subscribe } from "./live.js";

/** Newest first, as `GET /notifications` lists them. */
export const notifications = signal([]);
export const unread = signal(0);
/** Toasts on screen: `{ key, notification }`. */
export const toasts = signal([]);

/** How many notifications the panel lists. */
const LISTED = 30;
/** How long a toast stays. */
const TOAST_MS = 6000;
const BASE_TITLE = "Switchboard";

let stop = null;
let toastKey = 0;

effect(() => {
  document.title = unread.value > 0 ? `(${unread.value}) ${BASE_TITLE}` : BASE_TITLE;
});

async function refresh() {
  try {
    const page = await get(`/notifications?limit=${LISTED}`);
    notifications.value = page.items;
    unread.value = page.unread;
  } catch (_) {
    // Offline or logged out meanwhile: the next frame or reconnect reads again.
  }
}

function onFrame(frame) {
  if (frame.type === "ack") {
    refresh();
  } else if (frame.type === "notification") {
    const known = notifications.value.filter((item) => item.id !== frame.notification.id);
    notifications.value = [frame.notification, ...known].slice(0, LISTED);
    unread.value = frame.unread;
    if (frame.alert) popUp(frame.notification);
  } else if (frame.type === "notifications_read") {
    unread.value = frame.unread;
    refresh();
  }
}

/** Follows the user's notifications (staff, after login). */
export function startNotifications() {
  if (stop) return;
  stop = subscribe("notifications", onFrame);
}

/** Logging out: nothing of this user's stays on screen. */
export function forgetNotifications() {
  if (stop) stop();
  stop = null;
  notifications.value = [];
  unread.value = 0;
  toasts.value = [];
}

export function dismissToast(key) {
  toasts.value = toasts.value.filter((toast) => toast.key !== key);
}

function popUp(notification) {
  const key = ++toastKey;
  toasts.value = [...toasts.value, { key, notification }].slice(-4);
  setTimeout(() => dismissToast(key), TOAST_MS);
  chime();
  if (document.hidden && "Notification" in window && Notification.permission === "granted") {
    const shown = new Notification(`#${notification.ticket_number} ${notification.subject}`, { body: notification.text, tag: `switchboard-${notification.id}` });
    shown.onclick = () => {
      window.focus();
      openNotification(notification);
      shown.close();
    };
  }
}

let audio = null;

/** A short two-note chime (Web Audio, no file); silent until the page has had a user gesture. */
function chime() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") return;
    const now = audio.currentTime;
    for (const [offset, pitch] of [[0, 880], [0.12, 1320]]) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = pitch;
      volume.gain.setValueAtTime(0.08, now + offset);
      volume.gain.exponentialRampToValueAtTime(0.001, now + offset + 0.18);
      tone.connect(volume).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.2);
    }
  } catch (_) {
    // No audio on this device: the toast is enough.
  }
}

// Browsers start audio only after a user gesture: the first click in the console unlocks it.
window.addEventListener("pointerdown", () => {
  try {
    audio = audio || new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch (_) {
    // No audio here.
  }
}, { once: true });

/** Whether the browser could show notifications once the user allows them. */
export function canAskPermission() {
  return "Notification" in window && Notification.permission === "default";
}

/** Asks for the browser's permission; call from a click only. */
export async function askPermission() {
  if (!canAskPermission()) return Notification.permission;
  return Notification.requestPermission();
}

export async function markRead(ids) {
  const result = await post("/notifications/read", { ids });
  notifications.value = notifications.value.map((item) => (ids.includes(item.id) && !item.read_at ? { ...item, read_at: new Date().toISOString() } : item));
  unread.value = result.unread;
}

export async function markAllRead() {
  const result = await post("/notifications/read", { all: true });
  const at = new Date().toISOString();
  notifications.value = notifications.value.map((item) => (item.read_at ? item : { ...item, read_at: at }));
  unread.value = result.unread;
}

/** Opens the notification's ticket and marks it read. */
export function openNotification(notification) {
  location.hash = `#/tickets/${notification.ticket_id}`;
  if (!notification.read_at) markRead([notification.id]).catch(() => {});
}
