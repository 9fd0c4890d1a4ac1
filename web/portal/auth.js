// Signing in to the portal: a password, or a one-time code by email or WhatsApp; registering
// (the emailed code completes it); a forgotten password (an emailed link) and the link's page.
// Every request for a code answers the same whether or not the address has an account, and so
// does this page.

import { useState } from "preact/hooks";
import { post } from "../lib/api.js";
import { html } from "../lib/html.js";
import { t } from "../lib/i18n.js";
import { explain, signedIn } from "./state.js";

const TABS = [
  { hash: "#/", key: "portal.auth.tab.password" },
  { hash: "#/code", key: "portal.auth.tab.code" },
  { hash: "#/register", key: "portal.auth.tab.register" },
];

/** The signed-out pages, by route. */
export function SignedOut({ route }) {
  const page = route === "#/register" ? Register : route === "#/code" ? CodeLogin : route === "#/forgot" ? Forgot : PasswordLogin;
  const tab = TABS.find((entry) => entry.hash === route) ? route : route === "#/forgot" ? null : "#/";
  return html`<main class="portal-main narrow auth">
    <h1>${t("portal.auth.title")}</h1>
    <p class="lead">${t("portal.auth.lead")}</p>
    <nav class="tabs" aria-label=${t("portal.auth.tabs")}>
      ${TABS.map((entry) => html`<a href=${entry.hash} aria-current=${tab === entry.hash ? "page" : undefined}>${t(entry.key)}</a>`)}
    </nav>
    <${page} />
  </main>`;
}

/** A form's state: busy while a request runs, and the last refusal in words. */
function useForm() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  async function run(action) {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(explain(failure));
    } finally {
      setBusy(false);
    }
  }
  return { busy, error, run };
}

function Problem({ error }) {
  return error ? html`<p class="problem" role="alert">${error}</p>` : null;
}

function PasswordLogin() {
  const form = useForm();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const submit = (event) => {
    event.preventDefault();
    form.run(async () => signedIn((await post("/auth/login", { email, password })).user));
  };
  return html`<form class="card stack" onSubmit=${submit}>
    <label>${t("portal.field.email")}<input type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
    <label>${t("portal.field.password")}<input type="password" autocomplete="current-password" required value=${password} onInput=${(e) => setPassword(e.target.value)} /></label>
    <${Problem} error=${form.error} />
    <button disabled=${form.busy}>${t("portal.auth.login")}</button>
    <p class="small"><a href="#/forgot">${t("portal.auth.forgot_link")}</a></p>
  </form>`;
}

/** The six digits that arrived, and the button that checks them. */
function CodeEntry({ onVerify, busy, hint }) {
  const [code, setCode] = useState("");
  const submit = (event) => {
    event.preventDefault();
    onVerify(code.replace(/\s/g, ""));
  };
  return html`<form class="stack" onSubmit=${submit}>
    <p role="status">${hint}</p>
    <label>${t("portal.field.code")}<input inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required value=${code} onInput=${(e) => setCode(e.target.value)} /></label>
    <button disabled=${busy}>${t("portal.auth.verify")}</button>
  </form>`;
}

function CodeLogin() {
  const form = useForm();
  const [by, setBy] = useState("email");
  const [address, setAddress] = useState("");
  const [sent, setSent] = useState(null);
  const destination = () => (by === "email" ? { email: address } : { phone: address });
  const ask = (event) => {
    event.preventDefault();
    form.run(async () => setSent(await post("/auth/code", destination())));
  };
  const verify = (code) => form.run(async () => signedIn((await post("/auth/code/verify", { ...destination(), code })).user));
  return html`<div class="card stack">
    ${!sent && html`<form class="stack" onSubmit=${ask}>
      <fieldset class="choice"><legend>${t("portal.auth.code_by")}</legend>
        <label class="inline"><input type="radio" name="by" checked=${by === "email"} onChange=${() => setBy("email")} /> ${t("portal.field.email")}</label>
        <label class="inline"><input type="radio" name="by" checked=${by === "phone"} onChange=${() => setBy("phone")} /> WhatsApp</label>
      </fieldset>
      <label>${by === "email" ? t("portal.field.email") : t("portal.field.phone")}
        <input type=${by === "email" ? "email" : "tel"} autocomplete=${by === "email" ? "email" : "tel"} required value=${address} onInput=${(e) => setAddress(e.target.value)} /></label>
      <button disabled=${form.busy}>${t("portal.auth.send_code")}</button>
    </form>`}
    ${sent && html`<${CodeEntry} busy=${form.busy} onVerify=${verify}
      hint=${t(by === "email" ? "portal.auth.code_sent_email" : "portal.auth.code_sent_phone", { address, minutes: Math.round(sent.expires_in / 60) })} />
      <button type="button" class="link" onClick=${() => setSent(null)}>${t("portal.auth.other_address")}</button>`}
    <${Problem} error=${form.error} />
  </div>`;
}

function Register() {
  const form = useForm();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [sent, setSent] = useState(null);
  const submit = (event) => {
    event.preventDefault();
    form.run(async () => setSent(await post("/auth/register", { name, email, password })));
  };
  const verify = (code) => form.run(async () => signedIn((await post("/auth/verify", { email, code })).user));
  return html`<div class="card stack">
    ${!sent && html`<form class="stack" onSubmit=${submit}>
      <label>${t("portal.field.name")}<input autocomplete="name" required maxlength="200" value=${name} onInput=${(e) => setName(e.target.value)} /></label>
      <label>${t("portal.field.email")}<input type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
      <label>${t("portal.field.new_password")}<input type="password" autocomplete="new-password" minlength="8" required value=${password} onInput=${(e) => setPassword(e.target.value)} />
        <small>${t("portal.field.password_rule")}</small></label>
      <button disabled=${form.busy}>${t("portal.auth.register")}</button>
    </form>`}
    ${sent && html`<${CodeEntry} busy=${form.busy} onVerify=${verify} hint=${t("portal.auth.code_sent_email", { address: email, minutes: Math.round(sent.expires_in / 60) })} />`}
    <${Problem} error=${form.error} />
  </div>`;
}

function Forgot() {
  const form = useForm();
  const [email, setEmail] = useState("");
  const [sent, setSent] = useState(false);
  const submit = (event) => {
    event.preventDefault();
    form.run(async () => {
      await post("/auth/forgot", { email });
      setSent(true);
    });
  };
  if (sent) return html`<div class="card"><p role="status">${t("portal.auth.forgot_sent", { address: email })}</p><a href="#/">${t("portal.auth.back_to_login")}</a></div>`;
  return html`<form class="card stack" onSubmit=${submit}>
    <h2>${t("portal.auth.forgot_title")}</h2>
    <p>${t("portal.auth.forgot_lead")}</p>
    <label>${t("portal.field.email")}<input type="email" autocomplete="email" required value=${email} onInput=${(e) => setEmail(e.target.value)} /></label>
    <${Problem} error=${form.error} />
    <button disabled=${form.busy}>${t("portal.auth.send_link")}</button>
  </form>`;
}

/** `/portal/reset?token=…`, the emailed link: a new password, then signed in. */
export function ResetPassword() {
  const form = useForm();
  const [password, setPassword] = useState("");
  const token = new URLSearchParams(location.search).get("token") || "";
  const submit = (event) => {
    event.preventDefault();
    form.run(async () => {
      const answer = await post("/auth/reset", { token, password });
      history.replaceState(null, "", "/portal#/");
      signedIn(answer.user);
    });
  };
  return html`<main class="portal-main narrow auth">
    <h1>${t("portal.reset.title")}</h1>
    <form class="card stack" onSubmit=${submit}>
      <label>${t("portal.field.new_password")}<input type="password" autocomplete="new-password" minlength="8" required value=${password} onInput=${(e) => setPassword(e.target.value)} />
        <small>${t("portal.field.password_rule")}</small></label>
      <${Problem} error=${form.error} />
      <button disabled=${form.busy || !token}>${t("portal.reset.save")}</button>
    </form>
  </main>`;
}
