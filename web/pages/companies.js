// Companies (admins): the list with member counts, a form to add one, and a company's page
// (`#/companies/{id}`): its name, email domains (customers who prove an address there join),
// whether members see and write on each other's tickets, its SLA tier, its members, and a link
// to its tickets in the queue (`company: "Name"`).

import { useEffect, useRef, useState } from "preact/hooks";
import { html } from "../lib/html.js";
import { report } from "../lib/session.js";
import { get, patch, post } from "../lib/api.js";
import { SkeletonRows } from "../lib/skeleton.js";
import { listOf } from "./routing.js";

const TIERS = [["", "None"], ["low", "Low"], ["medium", "Medium"], ["high", "High"], ["urgent", "Urgent"]];
const tierLabel = (tier) => TIERS.find(([value]) => value === (tier || ""))[1];

/** The queue filtered to the company's tickets. */
const ticketsHref = (company) => `#/queue?q=${encodeURIComponent(`company: "${company.name}"`)}`;

/** What the server refused, naming the field when it did. */
const refusal = (failure) => (failure.field ? `${failure.field}: ${failure.message}` : failure.message);

function sharing(company) {
  if (company.members_write_company_tickets) return "see and write";
  return company.members_see_company_tickets ? "see" : "own only";
}

export function Companies({ id }) {
  // null until the first read answers (skeleton rows meanwhile).
  const [companies, setCompanies] = useState(null);
  const [error, setError] = useState(null);
  const load = () =>
    get("/companies")
      .then((page) => setCompanies(page.items))
      .catch((failure) => {
        setCompanies((previous) => previous || []);
        report(failure);
      });
  useEffect(() => {
    load();
  }, []);

  async function create(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const see = form.get("see") === "on";
    const body = {
      name: form.get("name"),
      domains: listOf(form.get("domains") || ""),
      members_see_company_tickets: see,
      members_write_company_tickets: see && form.get("write") === "on",
      sla_tier: form.get("tier") || null,
    };
    try {
      await post("/companies", body);
      event.target.reset();
      setError(null);
      load();
    } catch (failure) {
      setError(refusal(failure));
    }
  }

  const selected = id && companies ? companies.find((company) => company.id === id) : null;
  return html`<main class="page admin companies">
    <h1>Companies</h1>
    ${selected && html`<${CompanyDetail} key=${selected.id} company=${selected} onSaved=${load} />`}
    ${id && companies && !selected && html`<p class="error" role="alert">No company #${id}. <a href="#/companies">All companies</a></p>`}
    <section aria-labelledby="companies-title">
      <h2 id="companies-title">All companies</h2>
      <p>Customers join a company when they confirm a registration from an address at one of its domains (and, when a domain is added, customers with a password there join too). A customer known only from an email they sent never joins by domain. The SLA tier is the lowest priority a member's new ticket opens with.</p>
      <form class="inline-form" onSubmit=${create} aria-label="Add a company">
        <label>Name <input name="name" required maxlength="200" /></label>
        <label class="wide">Domains <input name="domains" placeholder="acme.com, acme.co.uk" /></label>
        <label>SLA tier <select name="tier">${TIERS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select></label>
        <label class="inline"><input type="checkbox" name="see" /> Members see company tickets</label>
        <label class="inline"><input type="checkbox" name="write" /> …and write on them</label>
        <button type="submit">Add company</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table class="companies-list">
        <thead><tr><th scope="col">Company</th><th scope="col">Domains</th><th scope="col">Members</th><th scope="col">SLA tier</th><th scope="col">Tickets shared</th><th scope="col">Open</th></tr></thead>
        ${companies === null
          ? html`<${SkeletonRows} columns=${6} />`
          : html`<tbody>${companies.length === 0
              ? html`<tr><td colspan="6" class="empty" data-label="">No companies yet.</td></tr>`
              : companies.map((company) => html`<tr key=${company.id} data-company=${company.id} aria-current=${company.id === id ? "true" : undefined}>
                  <th scope="row"><a href=${`#/companies/${company.id}`}>${company.name}</a></th>
                  <td>${company.domains.join(", ") || html`<span class="empty">none</span>`}</td>
                  <td class="member-count">${company.member_count}</td>
                  <td>${tierLabel(company.sla_tier)}</td>
                  <td>${sharing(company)}</td>
                  <td><a href=${ticketsHref(company)}>Tickets</a></td>
                </tr>`)}</tbody>`}
      </table>
    </section>
  </main>`;
}

/** One company: its settings form and its members. */
function CompanyDetail({ company, onSaved }) {
  const [draft, setDraft] = useState(() => fromServer(company));
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [members, setMembers] = useState(null);
  const heading = useRef(null);
  // Opening a company moves the focus to it (keyboard and screen-reader users land on it).
  useEffect(() => heading.current?.focus(), [company.id]);
  useEffect(() => {
    get(`/companies/${company.id}/members`).then((page) => setMembers(page.items)).catch(report);
  }, [company.id, company.member_count]);
  const edit = (change) => {
    setDraft((current) => ({ ...current, ...change }));
    setSaved(false);
  };
  async function save(event) {
    event.preventDefault();
    const body = {
      name: draft.name,
      domains: listOf(draft.domains),
      members_see_company_tickets: draft.see,
      members_write_company_tickets: draft.see && draft.write,
      sla_tier: draft.tier || null,
    };
    try {
      setDraft(fromServer(await patch(`/companies/${company.id}`, body)));
      setError(null);
      setSaved(true);
      onSaved();
    } catch (failure) {
      setError(refusal(failure));
    }
  }
  return html`<section aria-labelledby="company-title" class="company-detail" data-company-detail=${company.id}>
    <h2 id="company-title" tabindex="-1" ref=${heading}>${company.name}</h2>
    <p><a href=${ticketsHref(company)}>Open ${company.name}'s tickets in the queue</a> · <a href="#/companies">All companies</a></p>
    <form onSubmit=${save} aria-label=${`Edit ${company.name}`}>
      <div class="inline-form">
        <label>Name <input name="name" value=${draft.name} required maxlength="200" onInput=${(e) => edit({ name: e.target.value })} /></label>
        <label class="wide">Domains <input name="domains" value=${draft.domains} placeholder="acme.com, acme.co.uk" onInput=${(e) => edit({ domains: e.target.value })} /></label>
        <label>SLA tier <select name="tier" value=${draft.tier} onChange=${(e) => edit({ tier: e.target.value })}>${TIERS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}</select></label>
      </div>
      <div class="inline-form">
        <label class="inline"><input type="checkbox" name="see" checked=${draft.see} onChange=${(e) => edit({ see: e.target.checked, write: e.target.checked && draft.write })} /> Members see company tickets</label>
        <label class="inline"><input type="checkbox" name="write" checked=${draft.see && draft.write} disabled=${!draft.see} onChange=${(e) => edit({ write: e.target.checked })} /> …and write on them</label>
        <button type="submit">Save company</button>
        ${saved && html`<span role="status">Saved.</span>`}
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
    <h3>Members (${company.member_count})</h3>
    <table class="company-members">
      <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Phone</th></tr></thead>
      ${members === null
        ? html`<${SkeletonRows} columns=${3} />`
        : html`<tbody>${members.length === 0
            ? html`<tr><td colspan="3" class="empty" data-label="">No members yet.</td></tr>`
            : members.map((member) => html`<tr key=${member.id}><td>${member.name}</td><td>${member.email}</td><td>${member.phone || ""}</td></tr>`)}</tbody>`}
    </table>
  </section>`;
}

function fromServer(company) {
  return {
    name: company.name,
    domains: company.domains.join(", "),
    see: company.members_see_company_tickets,
    write: company.members_write_company_tickets,
    tier: company.sla_tier || "",
  };
}
