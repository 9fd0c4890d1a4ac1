// The header's bell (the unread count; its panel lists the newest notifications: a click opens
// the ticket and marks it read, "Mark all read", a way to allow desktop notifications) and the
// toasts new notifications pop up as (outside quiet hours), bottom right.

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { time } from "../lib/format.js";
import { Icon } from "../lib/icons.js";
import { t } from "../lib/i18n.js";
import {
  askPermission, canAskPermission, dismissToast, markAllRead, notifications, openNotification, toasts, unread,
} from "../lib/notifications.js";

export function Bell() {
  const [open, setOpen] = useState(false);
  const [, setAsked] = useState(0);
  const box = useRef(null);
  useEffect(() => {
    if (!open) return undefined;
    const close = (event) => {
      if (event.type === "keydown" ? event.key === "Escape" : !box.current?.contains(event.target)) setOpen(false);
    };
    document.addEventListener("pointerdown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("pointerdown", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);
  const count = unread.value;
  const items = notifications.value;
  function choose(notification) {
    setOpen(false);
    openNotification(notification);
  }
  return html`<div class="bell" ref=${box}>
    <button type="button" class="bell-button" aria-expanded=${String(open)} aria-controls="notification-panel"
      aria-label=${count ? t("console.bell.unread", { count }) : t("console.bell.title")} onClick=${() => setOpen(!open)}>
      <${Icon} name="bell" size=${20} />${count > 0 && html`<span class="bell-count" data-count=${count}>${count > 99 ? "99+" : count}</span>`}
    </button>
    ${open && html`<section id="notification-panel" class="notification-panel" aria-label=${t("console.bell.title")}>
      <header>
        <strong>${t("console.bell.title")}</strong>
        <button type="button" class="link" disabled=${count === 0} onClick=${() => markAllRead().catch(report)}>${t("console.bell.mark_all")}</button>
      </header>
      ${canAskPermission() && html`<p class="permission"><button type="button" class="small secondary" onClick=${async () => { await askPermission(); setAsked((n) => n + 1); }}>${t("console.bell.desktop")}</button></p>`}
      ${items.length === 0
        ? html`<p class="empty">${t("console.bell.empty")}</p>`
        : html`<ul>${items.map((item) => html`<li key=${item.id} class=${item.read_at ? "read" : "unread"}>
            <button type="button" class="notification-item" onClick=${() => choose(item)}>
              <span class="subject"><span class="ticket-number">#${item.ticket_number}</span> ${item.subject}${item.critical ? html` <span class="priority urgent">${t("console.bell.critical")}</span>` : ""}</span>
              <span class="text">${item.text}</span>
              <time datetime=${item.created_at}>${time(item.created_at)}</time>
            </button>
          </li>`)}</ul>`}
      <footer><a href="#/preferences" onClick=${() => setOpen(false)}>${t("console.app.preferences_link")}</a></footer>
    </section>`}
  </div>`;
}

export function Toasts() {
  return html`<div class="toasts" role="status" aria-live="polite">
    ${toasts.value.map(({ key, notification }) => html`<div class="toast" key=${key} data-kind=${notification.kind}>
      <button type="button" class="toast-open" onClick=${() => { dismissToast(key); openNotification(notification); }}>
        <strong><span class="ticket-number">#${notification.ticket_number}</span> ${notification.subject}</strong>
        <span>${notification.text}</span>
      </button>
      <button type="button" class="toast-close link" aria-label=${t("console.app.dismiss")} onClick=${() => dismissToast(key)}><${Icon} name="close" size=${16} /></button>
    </div>`)}
  </div>`;
}
