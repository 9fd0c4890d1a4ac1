// Admin basics: people (create, role, teams, capacity, deactivate) and teams (create, members).

import { useEffect, useState } from "preact/hooks";
import { html, me, report } from "../app.js";
import { api, get, patch, post } from "../lib/api.js";

const ROLES = ["agent", "supervisor", "admin", "customer"];

export function Admin() {
  const [users, setUsers] = useState([]);
  const [teams, setTeams] = useState([]);
  const [error, setError] = useState(null);
  const [canned, setCanned] = useState([]);
  const [templates, setTemplates] = useState([]);
  const load = () => {
    get("/whatsapp/templates").then((page) => setTemplates(page.items)).catch(report);
    get("/canned-responses").then((page) => setCanned(page.items)).catch(report);
    get("/users").then((page) => setUsers(page.items)).catch(report);
    get("/teams").then((page) => setTeams(page.items)).catch(report);
  };
  useEffect(load, []);

  async function createUser(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const body = { email: form.get("email"), name: form.get("name"), role: form.get("role"), capacity: Number(form.get("capacity")) };
    if (form.get("password")) body.password = form.get("password");
    if (form.get("team")) body.team_ids = [Number(form.get("team"))];
    try {
      await post("/users", body);
      event.target.reset();
      setError(null);
      load();
    } catch (failure) {
      setError(failure.field ? `${failure.field}: ${failure.message}` : failure.message);
    }
  }

  async function update(user, fields) {
    try {
      await patch(`/users/${user.id}`, fields);
      load();
    } catch (failure) {
      report(failure);
    }
  }

  async function createTeam(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await post("/teams", { name: form.get("name"), description: form.get("description") || "" });
      event.target.reset();
      load();
    } catch (failure) {
      report(failure);
    }
  }

  async function createCanned(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    try {
      await post("/canned-responses", { title: form.get("title"), body: form.get("body") });
      event.target.reset();
      load();
    } catch (failure) {
      report(failure);
    }
  }

  const staff = users.filter((user) => user.role !== "customer");
  return html`<main class="page admin">
    <h1>Administration</h1>
    <section aria-labelledby="people-title">
      <h2 id="people-title">People</h2>
      <form class="inline-form" onSubmit=${createUser} aria-label="Add a user">
        <label>Email <input name="email" type="email" required /></label>
        <label>Name <input name="name" required /></label>
        <label>Role <select name="role">${ROLES.map((role) => html`<option>${role}</option>`)}</select></label>
        <label>Password <input name="password" type="password" minlength="8" autocomplete="new-password" placeholder="staff: 8+ characters" /></label>
        <label>Team <select name="team"><option value="">none</option>${teams.map((team) => html`<option value=${team.id}>${team.name}</option>`)}</select></label>
        <label>Capacity <input name="capacity" type="number" min="0" max="1000" value="5" /></label>
        <button type="submit">Add user</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Teams</th><th scope="col">Capacity</th><th scope="col">Active</th></tr></thead>
        <tbody>${staff.map((user) => html`<tr key=${user.id} data-user=${user.id}>
          <td>${user.name}</td><td>${user.email}</td>
          <td><select aria-label=${`Role of ${user.name}`} value=${user.role} disabled=${user.id === me.value.id} onChange=${(e) => update(user, { role: e.target.value })}>${ROLES.map((role) => html`<option>${role}</option>`)}</select></td>
          <td>${teams.filter((team) => user.team_ids.includes(team.id)).map((team) => team.name).join(", ")}</td>
          <td><input aria-label=${`Capacity of ${user.name}`} type="number" min="0" max="1000" value=${user.capacity} onChange=${(e) => update(user, { capacity: Number(e.target.value) })} /></td>
          <td>${user.active ? (user.id === me.value.id ? "yes (you)" : html`<button class="small secondary" onClick=${() => update(user, { active: false })}>Deactivate</button>`) : html`<button class="small" onClick=${() => update(user, { active: true })}>Reactivate</button>`}</td>
        </tr>`)}</tbody>
      </table>
    </section>
    <section aria-labelledby="teams-title">
      <h2 id="teams-title">Teams</h2>
      <form class="inline-form" onSubmit=${createTeam} aria-label="Add a team">
        <label>Name <input name="name" required /></label>
        <label>Description <input name="description" /></label>
        <button type="submit">Add team</button>
      </form>
      <table>
        <thead><tr><th scope="col">Team</th><th scope="col">Members</th></tr></thead>
        <tbody>${teams.map((team) => html`<tr key=${team.id}>
          <td>${team.name}<br /><small>${team.description}</small></td>
          <td>${staff.map((user) => html`<label class="chip"><input type="checkbox" checked=${team.member_ids.includes(user.id)} onChange=${(e) => {
            const members = e.target.checked ? [...team.member_ids, user.id] : team.member_ids.filter((id) => id !== user.id);
            patch(`/teams/${team.id}`, { member_ids: members }).then(load).catch(report);
          }} />${user.name}</label>`)}</td>
        </tr>`)}</tbody>
      </table>
    </section>
    <section aria-labelledby="templates-title">
      <h2 id="templates-title">WhatsApp templates</h2>
      <p>Synced from the Graph API every 15 minutes; only approved ones can be sent. <button class="small" onClick=${() => post("/whatsapp/templates/sync").then(load).catch(report)}>Sync now</button></p>
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Language</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Text</th></tr></thead>
        <tbody>${templates.map((template) => html`<tr key=${`${template.name}-${template.language}`}><td>${template.name}</td><td>${template.language}</td><td>${template.category}</td><td>${template.status}</td><td>${template.body}</td></tr>`)}</tbody>
      </table>
    </section>
    <section aria-labelledby="canned-title">
      <h2 id="canned-title">Canned responses</h2>
      <form class="inline-form" onSubmit=${createCanned} aria-label="Add a canned response">
        <label>Title <input name="title" required maxlength="100" /></label>
        <label class="wide">Text <textarea name="body" required rows="2" maxlength="4096"></textarea></label>
        <button type="submit">Add</button>
      </form>
      <ul class="canned-list">${canned.map((item) => html`<li key=${item.id}><b>${item.title}</b> — ${item.body}
        <button class="link" onClick=${() => api("DELETE", `/canned-responses/${item.id}`).then(load).catch(report)}>delete</button></li>`)}</ul>
    </section>
  </main>`;
}
