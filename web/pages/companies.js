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
import { t } from "../lib/i18n.js";

/** SLA tiers, each labelled `console.companies.tier.<tier>` ("none" for no tier). */
const TIERS = ["", "low", "medium", "high", "urgent"];
const tierLabel = (tier) => t(`console.companies.tier.${tier || "none"}`);

/** The queue filtered to the company's tickets. */
const ticketsHref = (company) => `#/queue?q=${encodeURIComponent(`company: "${company.name}"`)}`;

/** What the server refused, naming the field when it did. */
const refusal = (failure) => (failure.field ? `${failure.field}: ${failure.message}` : failure.message);

function sharing(company) {
  if (company.members_write_company_tickets) return t("console.companies.see_write");
  return company.members_see_company_tickets ? t("console.companies.see") : t("console.companies.own_only");
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
    <h1>${t("console.nav.companies")}</h1>
    ${selected && html`<${CompanyDetail} key=${selected.id} company=${selected} onSaved=${load} />`}
    ${id && companies && !selected && html`<p class="error" role="alert">${t("console.companies.not_found", { id })} <a href="#/companies">${t("console.companies.all")}</a></p>`}
    <section aria-labelledby="companies-title">
      <h2 id="companies-title">${t("console.companies.all")}</h2>
      <p>${t("console.companies.lead")}</p>
      <form class="inline-form" onSubmit=${create} aria-label=${t("console.companies.add_label")}>
        <label>${t("console.queue.view_name")} <input name="name" required maxlength="200" /></label>
        <label class="wide">${t("console.companies.domains")} <input name="domains" placeholder="acme.com, acme.co.uk" /></label>
        <label>${t("console.companies.tier")} <select name="tier">${TIERS.map((value) => html`<option value=${value}>${tierLabel(value)}</option>`)}</select></label>
        <label class="inline"><input type="checkbox" name="see" /> ${t("console.companies.members_see")}</label>
        <label class="inline"><input type="checkbox" name="write" /> ${t("console.companies.members_write")}</label>
        <button type="submit">${t("console.companies.add")}</button>
      </form>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <table class="companies-list">
        <thead><tr><th scope="col">${t("console.companies.company")}</th><th scope="col">${t("console.companies.domains")}</th><th scope="col">${t("console.admin.members")}</th><th scope="col">${t("console.companies.tier")}</th><th scope="col">${t("console.companies.shared")}</th><th scope="col">${t("console.companies.open")}</th></tr></thead>
        ${companies === null
          ? html`<${SkeletonRows} columns=${6} />`
          : html`<tbody>${companies.length === 0
              ? html`<tr><td colspan="6" class="empty" data-label="">${t("console.companies.empty")}</td></tr>`
              : companies.map((company) => html`<tr key=${company.id} data-company=${company.id} aria-current=${company.id === id ? "true" : undefined}>
                  <th scope="row"><a href=${`#/companies/${company.id}`}>${company.name}</a></th>
                  <td>${company.domains.join(", ") || html`<span class="empty">${t("console.bulk.none")}</span>`}</td>
                  <td class="member-count">${company.member_count}</td>
                  <td>${tierLabel(company.sla_tier)}</td>
                  <td>${sharing(company)}</td>
                  <td><a href=${ticketsHref(company)}>${t("console.companies.tickets")}</a></td>
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
    <p><a href=${ticketsHref(company)}>${t("console.companies.open_tickets", { name: company.name })}</a> · <a href="#/companies">${t("console.companies.all")}</a></p>
    <form onSubmit=${save} aria-label=${t("console.companies.edit", { name: company.name })}>
      <div class="inline-form">
        <label>${t("console.queue.view_name")} <input name="name" value=${draft.name} required maxlength="200" onInput=${(e) => edit({ name: e.target.value })} /></label>
        <label class="wide">${t("console.companies.domains")} <input name="domains" value=${draft.domains} placeholder="acme.com, acme.co.uk" onInput=${(e) => edit({ domains: e.target.value })} /></label>
        <label>${t("console.companies.tier")} <select name="tier" value=${draft.tier} onChange=${(e) => edit({ tier: e.target.value })}>${TIERS.map((value) => html`<option value=${value}>${tierLabel(value)}</option>`)}</select></label>
      </div>
      <div class="inline-form">
        <label class="inline"><input type="checkbox" name="see" checked=${draft.see} onChange=${(e) => edit({ see: e.target.checked, write: e.target.checked && draft.write })} /> ${t("console.companies.members_see")}</label>
        <label class="inline"><input type="checkbox" name="write" checked=${draft.see && draft.write} disabled=${!draft.see} onChange=${(e) => edit({ write: e.target.checked })} /> ${t("console.companies.members_write")}</label>
        <button type="submit">${t("console.companies.save")}</button>
        ${saved && html`<span role="status">${t("console.preferences.saved")}</span>`}
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
    <h3>${t("console.companies.members_count", { count: company.member_count })}</h3>
    <table class="company-members">
      <thead><tr><th scope="col">${t("console.queue.view_name")}</th><th scope="col">${t("console.login.email")}</th><th scope="col">${t("console.companies.phone")}</th></tr></thead>
      ${members === null
        ? html`<${SkeletonRows} columns=${3} />`
        : html`<tbody>${members.length === 0
            ? html`<tr><td colspan="3" class="empty" data-label="">${t("console.companies.no_members")}</td></tr>`
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
