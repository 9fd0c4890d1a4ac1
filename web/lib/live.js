// The live socket: one WebSocket per tab, authenticated by the session cookie. Subscriptions
// survive reconnects: each topic remembers its cursor (the last seq for a ticket, the last
// `cursor` for the queue and views) and is resubscribed from there, so nothing is missed or repeated.

import { signal } from "@preact/signals";

export const connection = signal("connecting");

const handlers = new Map(); // topic -> Set<fn(frame)>
const cursors = new Map(); // topic -> after
let socket = null;
let backoff = 500;
let pending = [];
let sessionEndedListener = null;

/** Close code of a socket whose session ended (logout elsewhere, deactivation, role change, reset). */
const SESSION_ENDED = 4001;

/** Called instead of reconnecting when the server ends the session's sockets. */
export function onSessionEnded(listener) {
  sessionEndedListener = listener;
}

function url() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/ws`;
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  else pending.push(frame);
}

function subscribeFrame(topic) {
  const frame = { type: "subscribe", topic };
  if (cursors.has(topic)) frame.after = cursors.get(topic);
  return frame;
}

/** The queue and saved views resume from the last change time seen (tickets from their seq). */
function followsCursor(topic) {
  return topic === "queue" || topic === "queue:all" || topic?.startsWith("view:");
}

function deliver(frame) {
  if (frame.type === "event" || frame.type === "snapshot") {
    if (frame.topic.startsWith("ticket:")) cursors.set(frame.topic, frame.seq);
    else if (followsCursor(frame.topic) && frame.cursor) cursors.set(frame.topic, Math.max(cursors.get(frame.topic) || 0, frame.cursor));
  }
  if (frame.type === "ack" && followsCursor(frame.topic) && !cursors.has(frame.topic) && frame.cursor) cursors.set(frame.topic, frame.cursor);
  if (frame.type === "ack" && frame.topic?.startsWith("ticket:") && !cursors.has(frame.topic)) cursors.set(frame.topic, frame.seq);
  if (frame.type === "resync" && handlers.has(frame.topic)) {
    send(subscribeFrame(frame.topic));
  }
  const listeners = handlers.get(frame.topic);
  if (listeners) for (const listener of listeners) listener(frame);
  const all = handlers.get("*");
  if (all) for (const listener of all) listener(frame);
}

export function connect() {
  if (socket) return;
  connection.value = connection.value === "live" ? "reconnecting" : connection.value;
  socket = new WebSocket(url());
  socket.onopen = () => {
    backoff = 500;
    connection.value = "live";
    for (const topic of handlers.keys()) if (topic !== "*") socket.send(JSON.stringify(subscribeFrame(topic)));
    for (const frame of pending) socket.send(JSON.stringify(frame));
    pending = [];
  };
  socket.onmessage = (message) => {
    try {
      deliver(JSON.parse(message.data));
    } catch (error) {
      console.warn("unreadable frame", error);
    }
  };
  socket.onclose = (event) => {
    socket = null;
    if (event.code === SESSION_ENDED && sessionEndedListener) {
      connection.value = "connecting";
      sessionEndedListener();
      return;
    }
    connection.value = "reconnecting";
    setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 5000);
  };
}

export function disconnect() {
  if (!socket) return;
  socket.onclose = null;
  socket.close();
  socket = null;
  handlers.clear();
  cursors.clear();
  connection.value = "connecting";
}

/** Follows `topic`; `after` (optional) replays from there. Returns an unsubscribe function. */
export function subscribe(topic, listener, after) {
  let listeners = handlers.get(topic);
  const first = !listeners;
  if (first) {
    listeners = new Set();
    handlers.set(topic, listeners);
    if (after !== undefined && after !== null) cursors.set(topic, after);
    if (topic !== "*") send(subscribeFrame(topic));
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      handlers.delete(topic);
      cursors.delete(topic);
      if (topic !== "*") send({ type: "unsubscribe", topic });
    }
  };
}

export function tell(frame) {
  send(frame);
}
