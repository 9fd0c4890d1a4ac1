// Login: email and password, then the authenticator code when the account has MFA on (the
// server answers `mfa_required`); the server sets the session cookie, so a reload stays logged
// in. Staff whom the account's policy requires to use MFA are sent to Preferences → Security.
// When the account (`?account=<id>`, else the installation's first) has single sign-on, a
// "Sign in with SSO" link starts it; a failed sign-on comes back as `?sso_error=<code>`.

import { useEffect, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { loggedIn } from "../lib/session.js";
import { get, post } from "../lib/api.js";
import { t } from "../lib/i18n.js";

const MESSAGES = {
  invalid_credentials: "console.login.wrong",
  invalid_mfa_code: "console.login.wrong_code",
  sso_required: "console.login.sso_required",
  sso_not_configured: "console.login.sso_error.not_configured",
  sso_discovery_failed: "console.login.sso_error.unreachable",
  sso_invalid_state: "console.login.sso_error.invalid_state",
  sso_refused: "console.login.sso_error.refused",
  sso_invalid_token: "console.login.sso_error.invalid_token",
  sso_email_unverified: "console.login.sso_error.email_unverified",
  sso_unknown_user: "console.login.sso_error.unknown_user",
};

// The code of a failed single sign-on the server sent the browser back with, read once when the
// console loads (the login page may mount more than once) and taken off the address bar.
const ssoError = (() => {
  const params = new URLSearchParams(location.search);
  const code = params.get("sso_error");
  if (!code) return null;
  params.delete("sso_error");
  const query = params.toString();
  history.replaceState(history.state, "", `${location.pathname}${query ? `?${query}` : ""}${location.hash}`);
  return code;
})();

export function Login() {
  const [error, setError] = useState(() => ssoError && t(MESSAGES[ssoError] || "console.login.sso_error.refused"));
  const [sso, setSso] = useState(null);
  useEffect(() => {
    const account = new URLSearchParams(location.search).get("account");
    const query = account && /^[0-9]+$/.test(account) ? `?account=${account}` : "";
    get(`/auth/sso${query}`).then((status) => setSso(status.enabled ? status : null)).catch(() => setSso(null));
  }, []);
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
      ${sso && html`<p class="login-or">${t("console.login.or")}</p>
        <a class="button login-sso" href=${sso.start_url}>${t("console.login.sso")}</a>`}
    </form>
  </main>`;
}
