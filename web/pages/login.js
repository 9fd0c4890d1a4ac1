// Login: email and password; the server sets the session cookie, so a reload stays logged in.

import { useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { navigate } from "../lib/router.js";
import { loggedIn } from "../lib/session.js";
import { post } from "../lib/api.js";
import { t } from "../lib/i18n.js";

export function Login() {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  async function submit(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    setError(null);
    try {
      const { user } = await post("/auth/login", { email: form.get("email"), password: form.get("password") });
      if (!location.hash || location.hash === "#/login") navigate("#/queue");
      await loggedIn(user);
    } catch (failure) {
      setError(failure.code === "invalid_credentials" ? t("console.login.wrong") : failure.message);
    } finally {
      setBusy(false);
    }
  }
  return html`<main class="login">
    <form onSubmit=${submit} aria-labelledby="login-title">
      <img class="login-logo" src="/icons/icon.svg" alt="" width="44" height="44" />
      <h1 id="login-title">${t("console.login.title")}</h1>
      <label>${t("console.login.email")} <input name="email" type="email" autocomplete="username" required autofocus /></label>
      <label>${t("console.login.password")} <input name="password" type="password" autocomplete="current-password" required /></label>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>${busy ? t("console.login.signing_in") : t("console.login.sign_in")}</button>
    </form>
  </main>`;
}
