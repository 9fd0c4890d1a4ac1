// The customer's profile: their name and language, their password, and the WhatsApp number
// they proved is theirs (a code sent to it), after which that number's conversations and
// tickets are theirs in the portal.

import { useEffect, useState } from "preact/hooks";
import { get, patch, post } from "../lib/api.js";
import { html } from "../lib/html.js";
import { LANGUAGES, languageFor, t } from "../lib/i18n.js";
import { customer, say, signedIn } from "./state.js";

function Saved({ shown }) {
  return shown ? html`<span class="saved" role="status">${t("portal.profile.saved")}</span>` : null;
}

function NameAndLanguage() {
  const me = customer.value;
  const [name, setName] = useState(me.name);
  const [chosen, setChosen] = useState(languageFor(me));
  const [saved, setSaved] = useState(false);
  async function save(event) {
    event.preventDefault();
    try {
      signedIn(await patch("/me", { name, language: chosen }));
      setSaved(true);
    } catch (error) {
      say(error);
    }
  }
  return html`<form class="card stack" onSubmit=${save} aria-labelledby="about-heading">
    <h2 id="about-heading">${t("portal.profile.about")}</h2>
    <label>${t("portal.field.name")}<input autocomplete="name" required maxlength="200" value=${name} onInput=${(e) => { setName(e.target.value); setSaved(false); }} /></label>
    <label>${t("portal.field.email")}<input type="email" value=${me.email} readonly aria-readonly="true" /></label>
    <label>${t("portal.field.language")}
      <select value=${chosen} onChange=${(e) => { setChosen(e.target.value); setSaved(false); }}>
        ${LANGUAGES.map((entry) => html`<option value=${entry.code} lang=${entry.code}>${entry.name}</option>`)}
      </select></label>
    <div><button>${t("portal.profile.save")}</button> <${Saved} shown=${saved} /></div>
  </form>`;
}

function Password() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [saved, setSaved] = useState(false);
  async function save(event) {
    event.preventDefault();
    try {
      await post("/me/password", { current_password: current, new_password: next });
      setCurrent("");
      setNext("");
      setSaved(true);
    } catch (error) {
      say(error);
    }
  }
  return html`<form class="card stack" onSubmit=${save} aria-labelledby="password-heading">
    <h2 id="password-heading">${t("portal.profile.password")}</h2>
    <p class="small">${t("portal.profile.password_note")}</p>
    <label>${t("portal.field.current_password")}<input type="password" autocomplete="current-password" required value=${current} onInput=${(e) => setCurrent(e.target.value)} /></label>
    <label>${t("portal.field.new_password")}<input type="password" autocomplete="new-password" minlength="8" required value=${next} onInput=${(e) => { setNext(e.target.value); setSaved(false); }} />
      <small>${t("portal.field.password_rule")}</small></label>
    <div><button>${t("portal.profile.change_password")}</button> <${Saved} shown=${saved} /></div>
  </form>`;
}

function WhatsAppNumber() {
  const me = customer.value;
  const [phone, setPhone] = useState("");
  const [sent, setSent] = useState(false);
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  async function ask(event) {
    event.preventDefault();
    setBusy(true);
    try {
      await post("/me/whatsapp", { phone });
      setSent(true);
    } catch (error) {
      say(error);
    } finally {
      setBusy(false);
    }
  }
  async function verify(event) {
    event.preventDefault();
    setBusy(true);
    try {
      const answer = await post("/me/whatsapp/verify", { phone, code: code.replace(/\s/g, "") });
      signedIn(answer.user);
      setSent(false);
      setPhone("");
      setCode("");
    } catch (error) {
      say(error);
    } finally {
      setBusy(false);
    }
  }
  return html`<section class="card stack" aria-labelledby="whatsapp-heading">
    <h2 id="whatsapp-heading">WhatsApp</h2>
    ${me.phone ? html`<p class="verified-number" data-phone=${me.phone}>${t("portal.profile.whatsapp_verified", { phone: me.phone })}</p>` : html`<p>${t("portal.profile.whatsapp_none")}</p>`}
    ${!sent && html`<form class="stack" onSubmit=${ask}>
      <label>${me.phone ? t("portal.profile.whatsapp_other") : t("portal.field.phone")}<input type="tel" autocomplete="tel" required value=${phone} onInput=${(e) => setPhone(e.target.value)} placeholder="+55 11 98765-4321" /></label>
      <button disabled=${busy}>${t("portal.auth.send_code")}</button>
    </form>`}
    ${sent && html`<form class="stack" onSubmit=${verify}>
      <p role="status">${t("portal.auth.code_sent_phone", { address: phone, minutes: 10 })}</p>
      <label>${t("portal.field.code")}<input inputmode="numeric" autocomplete="one-time-code" maxlength="7" required value=${code} onInput=${(e) => setCode(e.target.value)} /></label>
      <button disabled=${busy}>${t("portal.auth.verify")}</button>
      <button type="button" class="link" onClick=${() => setSent(false)}>${t("portal.auth.other_address")}</button>
    </form>`}
  </section>`;
}

// A copy of their data, or its erasure, asked of the team (an admin approves); an approved
// export downloads here as a zip.
function YourData() {
  const [requests, setRequests] = useState(null);
  const load = () => get("/me/data-requests").then((page) => setRequests(page.items)).catch(say);
  useEffect(() => {
    load();
  }, []);
  async function ask(kind) {
    if (kind === "erase" && !window.confirm(t("portal.profile.erase_confirm"))) return;
    try {
      await post("/me/data-requests", { kind });
      load();
    } catch (error) {
      say(error);
    }
  }
  return html`<section class="card stack" aria-labelledby="data-heading" data-section="your-data">
    <h2 id="data-heading">${t("portal.profile.data")}</h2>
    <p class="small">${t("portal.profile.data_note")}</p>
    <div><button type="button" onClick=${() => ask("export")}>${t("portal.profile.ask_export")}</button> <button type="button" class="secondary" onClick=${() => ask("erase")}>${t("portal.profile.ask_erase")}</button></div>
    ${requests && requests.length > 0 && html`<ul class="data-requests">${requests.map((request) => html`<li key=${request.id} data-request=${request.id}>
      ${t(`portal.profile.request_${request.kind}`)}: ${t(`portal.profile.request_status_${request.status}`)}
      ${request.kind === "export" && request.status === "approved" && html` <a href=${`/api/v1/me/data-requests/${request.id}/export`} download>${t("portal.profile.download")}</a>`}
    </li>`)}</ul>`}
  </section>`;
}

export function Profile() {
  return html`<main class="portal-main profile">
    <h1>${t("portal.nav.profile")}</h1>
    <div class="cards">
      <${NameAndLanguage} />
      <${WhatsAppNumber} />
      <${Password} />
      <${YourData} />
    </div>
  </main>`;
}
