// Login: email and password, then the authenticator code when the account has MFA on (the
// server answers `mfa_required`); the server sets the session cookie, so a reload stays logged
// in. Staff whom the account's policy requires to use MFA are sent to Preferences → Security.

import { useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { loggedIn } from "../lib/session.js";
import { post } from "../lib/api.js";
import { t } from "../lib/i18n.js";

const MESSAGES = {
  invalid_credentials: "console.login.wrong",
  invalid_mfa_code: "console.login.wrong_code",
};

export function Login() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // Once the password was right and a code is wanted: the email and password to send again.
  const [pending, setPending] = useState(null);
  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const credentials = pending || { email: form.get("email"), password: form.get("password") };
    const body = pending ? { ...credentials, totp: form.get("totp").trim() } : credentials;
    setBusy(true);
    setError(null);
    try {
      const { user, mfa_enrolment_required } = await post("/auth/login", body);
      if (!location.hash || location.hash === "#/login") navigate("#/queue");
      await loggedIn({ ...user, mfa_enrolment_required });
    } catch (failure) {
      if (failure.code === "mfa_required") {
        setPending(credentials);
      } else {
        setError(MESSAGES[failure.code] ? t(MESSAGES[failure.code]) : failure.message);
      }
    } finally {
      setBusy(false);
    }
  }
  const button = html`<button type="submit" disabled=${busy}>${busy ? t("console.login.signing_in") : t("console.login.sign_in")}</button>`;
  if (pending) {
    return html`<main class="login">
      <form onSubmit=${submit} aria-labelledby="login-title">
        <img class="login-logo" src="/icons/icon.svg" alt="" width="44" height="44" />
        <h1 id="login-title">${t("console.login.mfa_title")}</h1>
        <p>${t("console.login.mfa_lead")}</p>
        <label>${t("console.login.code")} <input name="totp" inputmode="numeric" autocomplete="one-time-code" required maxlength="64" autofocus /></label>
        ${error && html`<p class="error" role="alert">${error}</p>`}
        ${button}
        <button type="button" class="link" onClick=${() => { setPending(null); setError(null); }}>${t("console.login.back")}</button>
      </form>
    </main>`;
  }
  return html`<main class="login">
    <form onSubmit=${submit} aria-labelledby="login-title">
      <img class="login-logo" src="/icons/icon.svg" alt="" width="44" height="44" />
      <h1 id="login-title">${t("console.login.title")}</h1>
      <label>${t("console.login.email")} <input name="email" type="email" autocomplete="username" required autofocus /></label>
      <label>${t("console.login.password")} <input name="password" type="password" autocomplete="current-password" required /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${button}
    </form>
  </main>`;
}
