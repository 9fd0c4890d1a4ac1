// WhatsApp conversations: one row per customer with the window state and the last message.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { me, report } from "../lib/session.js";
import { queueTopic } from "../lib/tickets.js";
import { get } from "../lib/api.js";
import { subscribe } from "../lib/live.js";
import { ago, until } from "../lib/format.js";
import { Icon } from "../lib/icons.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { t, tParts } from "../lib/i18n.js";

export function Conversations() {
  // null until the first read answers (skeleton rows meanwhile).
  const [rows, setRows] = useState(null);
  const load = () =>
    get("/whatsapp/conversations")
      .then((page) => setRows(page.items))
      .catch((error) => {
        setRows((previous) => previous || []);
        report(error);
      });
  useEffect(() => {
    load();
    // Any change on a WhatsApp ticket may move a row: refresh (cheap; one account's rows).
    return subscribe(queueTopic(me.value.role), (frame) => {
      if (frame.row?.channel === "whatsapp") load();
    });
  }, []);
  return html`<main class="page conversations">
    <h1>${t("console.conversations.title")}</h1>
    <table>
      <thead><tr><th scope="col">${t("console.ticket.customer")}</th><th scope="col">${t("console.conversations.number")}</th><th scope="col">${t("console.conversations.window")}</th><th scope="col">${t("console.conversations.last_message")}</th><th scope="col">${t("console.conversations.updated")}</th></tr></thead>
      ${rows === null ? html`<${SkeletonRows} columns=${5} />` : html`<tbody>${rows.map((row) => html`<tr key=${row.id}>
        <td>${row.current_ticket_id ? html`<a href=${`#/tickets/${row.current_ticket_id}`} onClick=${(e) => { e.preventDefault(); navigate(`#/tickets/${row.current_ticket_id}`); }}>${row.customer_name}</a>` : row.customer_name}${row.opted_out && html` <span class="badge">${t("console.conversations.opted_out")}</span>`}</td>
        <td>${row.wa_id ? `+${row.wa_id}` : ""}</td>
        <td><span class=${`window ${row.window.state}`}>${row.window.state === "closed" ? t("console.window.closed") : `${t("console.window.open")} · ${until(row.window.until)}`}</span></td>
        <td>${row.last_message ? html`${row.last_message.kind !== "customer" && html`<${Icon} name="reply" size=${14} /> `}${row.last_message.body.slice(0, 80)}` : ""}</td>
        <td>${ago(row.updated_at)}</td>
      </tr>`)}</tbody>`}
    </table>
    ${rows?.length === 0 && html`<p class="empty">${tParts("console.conversations.empty", { phone: html`<a href="/sandbox/phone" target="_blank" rel="noopener">${t("console.conversations.sandbox_phone")}</a>` })}</p>`}
  </main>`;
}
