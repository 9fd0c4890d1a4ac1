// Reports (issue 15 item 4): three dashboards over the reports API, with the period and the
// query filter in the URL (`#/reports/team?from=2026-12-01&to=2026-12-04&q=channel:whatsapp`).
// *Mine* is the signed-in person's own figures (today, the period, their SLA risk, their CSAT);
// the *team board* is the live queue (pushed on the `dashboard` topic), volumes, first response
// and resolution trends, SLA compliance and the agent table; the *overview* (admins) is channels,
// the WhatsApp delivery funnel and its failure reasons, satisfaction and automation. The server
// scopes every figure: agents see their own and their team's, supervisors their teams', admins all.

import { useEffect, useState } from "preact/hooks";
import { get } from "../lib/api.js";
import { html } from "../lib/html.js";
import { subscribe } from "../lib/live.js";
import { navigate, route } from "../lib/router.js";
import { me, report } from "../lib/session.js";
import { Chart } from "../lib/charts.js";
import { language, t } from "../lib/i18n.js";

const TABS = [
  { key: "mine", get label() { return t("console.reports.tab.mine"); }, path: "#/reports" },
  { key: "team", get label() { return t("console.reports.tab.team"); }, path: "#/reports/team" },
  { key: "overview", get label() { return t("console.reports.tab.overview"); }, path: "#/reports/overview", shown: () => me.value.role === "admin" },
];

/** `3 min`, `1 h 20 min`, `2 d 4 h` for a number of seconds; `–` for none. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return t("console.span.seconds", { seconds: Math.round(seconds) });
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return t("console.span.minutes", { minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return minutes % 60 ? t("console.span.hours_minutes", { hours, minutes: minutes % 60 }) : t("console.span.hours", { hours });
  const days = Math.floor(hours / 24);
  return hours % 24 ? t("console.span.days_hours", { days, hours: hours % 24 }) : t("console.span.days", { days });
}

/** A rate `{numerator, denominator}` as a percentage, `–` without a denominator. */
export function percent(rate) {
  if (!rate || !rate.denominator) return "–";
  return new Intl.NumberFormat(language.value, { style: "percent" }).format(Math.round((100 * rate.numerator) / rate.denominator) / 100);
}

const isoDay = (date) => date.toISOString().slice(0, 10);

/** The period and filter from the URL: the last 7 days unless it says otherwise. */
function filterOf(hash) {
  const query = new URLSearchParams(hash.split("?")[1] || "");
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 86400_000);
  return { from: query.get("from") || isoDay(weekAgo), to: query.get("to") || isoDay(today), q: query.get("q") || "" };
}

function tabOf(hash) {
  if (hash.startsWith("#/reports/team")) return "team";
  if (hash.startsWith("#/reports/overview")) return "overview";
  return "mine";
}

function query(filter, extra = {}) {
  const params = new URLSearchParams({ from: filter.from, to: filter.to, ...extra });
  const q = [filter.q, extra.q].filter((part) => part && part.trim()).join(" ");
  if (q) params.set("q", q);
  else params.delete("q");
  return params.toString();
}

function FilterBar({ tab, filter }) {
  const [from, setFrom] = useState(filter.from);
  const [to, setTo] = useState(filter.to);
  const [q, setQ] = useState(filter.q);
  const path = TABS.find((entry) => entry.key === tab).path;
  function apply(event) {
    event.preventDefault();
    const params = new URLSearchParams({ from, to });
    if (q.trim()) params.set("q", q.trim());
    navigate(`${path}?${params}`);
  }
  return html`<form class="report-filter" onSubmit=${apply} aria-label=${t("console.reports.filter")}>
    <label>${t("console.preferences.from")}<input type="date" value=${from} onInput=${(e) => setFrom(e.target.value)} required /></label>
    <label>${t("console.preferences.to")}<input type="date" value=${to} onInput=${(e) => setTo(e.target.value)} required /></label>
    ${tab !== "mine" && html`<label class="grow">${t("console.reports.matching")}<input type="search" placeholder="channel: whatsapp priority: high" value=${q} onInput=${(e) => setQ(e.target.value)} /></label>`}
    <button>${t("console.reports.apply")}</button>
  </form>`;
}

/** Where a dashboard's first figures will be. */
function Loading() {
  return html`<div aria-busy="true"><p class="visually-hidden" role="status">${t("console.reports.loading")}</p><div class="skeleton block" aria-hidden="true"></div></div>`;
}

function Kpi({ label, value, hint }) {
  return html`<div class="kpi" data-kpi=${label}><span class="kpi-label">${label}</span><strong class="kpi-value">${value}</strong>${hint && html`<small>${hint}</small>`}</div>`;
}

/** Loads `paths` (an object of name → API path) together; `null` while loading. */
function useReports(paths, deps) {
  const [data, setData] = useState(null);
  useEffect(() => {
    let current = true;
    setData(null);
    const names = Object.keys(paths);
    Promise.all(names.map((name) => get(paths[name])))
      .then((values) => current && setData(Object.fromEntries(names.map((name, index) => [name, values[index]]))))
      .catch((error) => {
        if (!current) return;
        report(error);
        setData({});
      });
    return () => {
      current = false;
    };
  }, deps);
  return data;
}

/** A `group_by=day` summary as chart columns: every day of the period (Unix seconds at its
 * start, so a quiet day is a zero rather than a gap), and each day's row (`{}` when none). */
function byDay(summary, filter) {
  const found = new Map((summary?.rows || []).map((row) => [row.key, row]));
  const x = [];
  const rows = [];
  const last = Date.parse(`${filter.to}T00:00:00Z`);
  for (let day = Date.parse(`${filter.from}T00:00:00Z`); day <= last && x.length < 400; day += 86400_000) {
    const key = new Date(day).toISOString().slice(0, 10);
    x.push(day / 1000);
    rows.push(found.get(key) || { key, tickets_created: 0, tickets_resolved: 0 });
  }
  return { x, rows };
}

/** Durations in the unit that suits the largest of them: minutes up to two hours, else hours. */
function durationScale(values) {
  const largest = Math.max(0, ...values.filter((value) => value !== null && value !== undefined));
  return largest < 7200 ? { unit: "minutes", divisor: 60 } : { unit: "hours", divisor: 3600 };
}

function Mine({ filter }) {
  const id = me.value.id;
  const today = isoDay(new Date());
  const data = useReports(
    {
      period: `/reports/agents/${id}?${query(filter)}`,
      today: `/reports/agents/${id}?from=${today}&to=${today}`,
      days: `/reports/summary?${query({ ...filter, q: "" }, { group_by: "day", q: "assignee: me" })}`,
      risk: "/sla/risk",
    },
    [filter.from, filter.to],
  );
  if (!data) return html`<${Loading} />`;
  const mine = data.risk?.items?.find((row) => row.assignee_id === id);
  const { x, rows } = byDay(data.days, filter);
  return html`<section aria-label=${t("console.reports.today")}>
      <h2>${t("console.reports.today")}</h2>
      <div class="kpis">
        <${Kpi} label=${t("console.reports.replies")} value=${data.today?.replies ?? "–"} />
        <${Kpi} label=${t("console.reports.resolutions")} value=${data.today?.resolutions ?? "–"} />
        <${Kpi} label=${t("console.reports.touched")} value=${data.today?.tickets_touched ?? "–"} />
        <${Kpi} label=${t("console.reports.first_median")} value=${duration(data.today?.first_response?.median_secs)} />
      </div>
    </section>
    <section aria-label=${t("console.presence_board.sla_risk")}>
      <h2>${t("console.reports.your_risk")}</h2>
      <div class="kpis">
        <${Kpi} label=${t("console.reports.breached")} value=${mine?.breached ?? 0} />
        <${Kpi} label=${t("console.reports.past_warning")} value=${mine?.at_risk ?? 0} />
      </div>
    </section>
    <section aria-label=${t("console.reports.period")}>
      <h2>${filter.from} – ${filter.to}</h2>
      <div class="kpis">
        <${Kpi} label=${t("console.reports.replies")} value=${data.period?.replies ?? "–"} />
        <${Kpi} label=${t("console.reports.resolutions")} value=${data.period?.resolutions ?? "–"} />
        <${Kpi} label=${t("console.reports.first_median")} value=${duration(data.period?.first_response?.median_secs)} />
        <${Kpi} label=${t("console.reports.resolution_median")} value=${duration(data.period?.resolution?.median_secs)} />
        <${Kpi} label=${t("console.reports.sla_breaches")} value=${data.period?.sla_breaches ?? "–"} />
        <${Kpi} label=${t("console.reports.csat")} value=${data.period?.csat_average ? data.period.csat_average.toFixed(1) : "–"} hint=${t("console.reports.csat_hint")} />
      </div>
      <${Chart} title=${t("console.reports.your_per_day")} x=${x}
        series=${[{ label: t("console.reports.created"), values: rows.map((row) => row.tickets_created) }, { label: t("console.reports.resolved"), values: rows.map((row) => row.tickets_resolved) }]}
        summary=${rows.map((row) => t("console.reports.day_summary", { day: row.key, created: row.tickets_created, resolved: row.tickets_resolved })).join("; ")} />
    </section>`;
}

function LiveBoard({ teams }) {
  const [board, setBoard] = useState(null);
  useEffect(() => {
    get("/reports/live").then(setBoard).catch(report);
    return subscribe("dashboard", (frame) => {
      if (frame.type === "dashboard" && frame.board) setBoard(frame.board);
    });
  }, []);
  if (!board) return html`<${Loading} />`;
  const name = (teamId) => (teamId === null ? t("console.reports.no_team") : teams.get(teamId) || t("console.reports.team_number", { id: teamId }));
  const total = (key) => board.teams.reduce((sum, team) => sum + team[key], 0);
  return html`<section aria-label=${t("console.reports.now")} class="live-board" data-live-board>
    <h2>${t("console.reports.now")} <small class="live-dot">${t("console.reports.live")}</small></h2>
    <div class="kpis">
      <${Kpi} label=${t("console.reports.open")} value=${total("open")} />
      <${Kpi} label=${t("console.reports.unassigned")} value=${total("unassigned")} />
      <${Kpi} label=${t("console.reports.waiting_agent")} value=${total("waiting_for_agent")} />
      <${Kpi} label=${t("console.reports.at_risk")} value=${total("at_sla_risk")} />
      <${Kpi} label=${t("console.reports.breached")} value=${total("breached")} />
      <${Kpi} label=${t("console.reports.agents_presence")} value=${`${board.agents.online} / ${board.agents.away} / ${board.agents.busy}`} />
      <${Kpi} label=${t("console.reports.created_today")} value=${board.today?.tickets_created ?? "–"} />
      <${Kpi} label=${t("console.reports.resolved_today")} value=${board.today?.tickets_resolved ?? "–"} />
    </div>
    <div class="table-scroll"><table class="report-table">
      <thead><tr><th scope="col">${t("console.bulk.team")}</th><th scope="col">${t("console.reports.open")}</th><th scope="col">${t("console.reports.unassigned")}</th><th scope="col">${t("console.reports.waiting")}</th><th scope="col">${t("console.reports.at_risk_short")}</th><th scope="col">${t("console.reports.breached")}</th><th scope="col">${t("console.reports.online")}</th></tr></thead>
      <tbody>${board.teams.map(
        (team) => html`<tr data-team=${team.team_id ?? "none"}><th scope="row">${name(team.team_id)}</th><td>${team.open}</td><td>${team.unassigned}</td><td>${team.waiting_for_agent}</td><td>${team.at_sla_risk}</td><td>${team.breached}</td><td>${team.agents.online}</td></tr>`,
      )}</tbody>
    </table></div>
  </section>`;
}

function TeamBoard({ filter }) {
  const [teams, setTeams] = useState(new Map());
  const [people, setPeople] = useState(new Map());
  useEffect(() => {
    get("/teams").then((page) => setTeams(new Map(page.items.map((team) => [team.id, team.name])))).catch(() => {});
    get("/users").then((page) => setPeople(new Map(page.items.map((user) => [String(user.id), user.name])))).catch(() => {});
  }, []);
  const data = useReports(
    {
      days: `/reports/summary?${query(filter, { group_by: "day" })}`,
      agents: `/reports/summary?${query(filter, { group_by: "agent" })}`,
    },
    [filter.from, filter.to, filter.q],
  );
  const { x, rows } = byDay(data?.days, filter);
  const compliance = data?.days?.total?.sla_compliance;
  const scale = durationScale(rows.flatMap((row) => [row.first_response?.median_secs, row.resolution?.median_secs]));
  const inUnit = (value) => (value === null || value === undefined ? null : value / scale.divisor);
  return html`<${LiveBoard} teams=${teams} />
    ${!data ? html`<${Loading} />` : html`<section aria-label=${t("console.reports.period")}>
      <h2>${filter.from} – ${filter.to}</h2>
      <div class="kpis">
        <${Kpi} label=${t("console.reports.created")} value=${data.days?.total?.tickets_created ?? "–"} />
        <${Kpi} label=${t("console.reports.resolved")} value=${data.days?.total?.tickets_resolved ?? "–"} />
        <${Kpi} label=${t("console.reports.reopened")} value=${data.days?.total?.tickets_reopened ?? "–"} />
        <${Kpi} label=${t("console.reports.first_median")} value=${duration(data.days?.total?.first_response?.median_secs)} />
        <${Kpi} label=${t("console.reports.resolution_median")} value=${duration(data.days?.total?.resolution?.median_secs)} />
        <${Kpi} label=${t("console.reports.one_touch")} value=${percent(data.days?.total?.one_touch)} />
        ${compliance && html`<${Kpi} label=${t("console.reports.first_met")} value=${percent(compliance.first_response)} />
          <${Kpi} label=${t("console.reports.resolution_met")} value=${percent(compliance.resolution)} />
          <${Kpi} label=${t("console.reports.window_met")} value=${percent(compliance.window)} />`}
      </div>
      <div class="charts">
        <${Chart} title=${t("console.reports.volume")} x=${x}
          series=${[{ label: t("console.reports.created"), values: rows.map((row) => row.tickets_created) }, { label: t("console.reports.resolved"), values: rows.map((row) => row.tickets_resolved) }]}
          summary=${rows.map((row) => t("console.reports.day_summary", { day: row.key, created: row.tickets_created, resolved: row.tickets_resolved })).join("; ")} />
        <${Chart} title=${t("console.reports.times_title", { unit: t(`console.reports.unit.${scale.unit}`) })} x=${x} format=${(value) => (value >= 10 ? value.toFixed(0) : value.toFixed(1))}
          series=${[{ label: t("console.sla.metric.first_response"), values: rows.map((row) => inUnit(row.first_response?.median_secs)) }, { label: t("console.sla.metric.resolution"), values: rows.map((row) => inUnit(row.resolution?.median_secs)) }]}
          summary=${rows.map((row) => t("console.reports.times_summary", { day: row.key, first: duration(row.first_response?.median_secs), resolution: duration(row.resolution?.median_secs) })).join("; ")} />
        ${rows.some((row) => row.backlog !== undefined) && html`<${Chart} title=${t("console.reports.backlog")} x=${x}
          series=${[{ label: t("console.reports.open"), values: rows.map((row) => row.backlog ?? null) }, { label: t("console.reports.unassigned"), values: rows.map((row) => row.unassigned_backlog ?? null) }]}
          summary=${rows.map((row) => t("console.reports.backlog_summary", { day: row.key, count: row.backlog })).join("; ")} />`}
      </div>
      <h2>${t("console.reports.agents")}</h2>
      <div class="table-scroll"><table class="report-table" data-agent-table>
        <thead><tr><th scope="col">${t("console.presence_board.agent")}</th><th scope="col">${t("console.reports.replies")}</th><th scope="col">${t("console.reports.resolved")}</th><th scope="col">${t("console.sla.metric.first_response")}</th><th scope="col">${t("console.sla.metric.resolution")}</th><th scope="col">${t("console.reports.sla_breaches")}</th></tr></thead>
        <tbody>${(data.agents?.rows || []).filter((row) => row.key).map(
          (row) => html`<tr><th scope="row">${people.get(row.key) || `#${row.key}`}</th><td>${row.replies}</td><td>${row.tickets_resolved}</td><td>${duration(row.first_response?.median_secs)}</td><td>${duration(row.resolution?.median_secs)}</td><td>${row.sla_breaches}</td></tr>`,
        )}</tbody>
      </table></div>
    </section>`}`;
}

function Overview({ filter }) {
  const data = useReports(
    {
      total: `/reports/summary?${query(filter)}`,
      channels: `/reports/summary?${query(filter, { group_by: "channel" })}`,
    },
    [filter.from, filter.to, filter.q],
  );
  if (!data) return html`<${Loading} />`;
  const channels = (data.channels?.rows || []).filter((row) => row.key);
  const total = data.total?.total || {};
  const whatsapp = total.whatsapp;
  const automation = total.automation;
  return html`<section aria-label=${t("console.reports.channels")}>
      <h2>${t("console.reports.channels")}</h2>
      <div class="charts">
        <${Chart} title=${t("console.reports.per_channel")} x=${channels.map((_, index) => index)} labels=${channels.map((row) => t(`console.channel.${row.key}`))}
          series=${[{ label: t("console.reports.created"), values: channels.map((row) => row.tickets_created) }]}
          summary=${channels.map((row) => `${row.key}: ${row.tickets_created}`).join("; ")} />
        ${whatsapp && html`<${Chart} title=${t("console.reports.funnel")} x=${[0, 1, 2, 3]} labels=${[t("console.reports.sent"), t("console.reports.delivered"), t("console.reports.read"), t("console.reports.failed")]}
          series=${[{ label: t("console.reports.messages"), values: [whatsapp.sent, whatsapp.delivered, whatsapp.read, whatsapp.failed] }]}
          summary=${t("console.reports.funnel_summary", whatsapp)} />`}
      </div>
      ${whatsapp && html`<div class="kpis">
        <${Kpi} label=${t("console.reports.wa_delivered")} value=${percent(whatsapp.delivery_rate)} />
        <${Kpi} label=${t("console.reports.wa_read")} value=${percent(whatsapp.read_rate)} />
        ${total.email && html`<${Kpi} label=${t("console.reports.email_sent_failed")} value=${`${total.email.sent} / ${total.email.failed}`} />`}
      </div>
      <div class="table-scroll"><table class="report-table" data-failure-reasons>
        <caption>${t("console.reports.why_failed")}</caption>
        <thead><tr><th scope="col">${t("console.reports.code")}</th><th scope="col">${t("console.reports.reason")}</th><th scope="col">${t("console.reports.share")}</th></tr></thead>
        <tbody>${whatsapp.failure_reasons.length ? whatsapp.failure_reasons.map((reason) => html`<tr><td>${reason.code}</td><td>${reason.title}</td><td>${percent(reason.share)}</td></tr>`) : html`<tr><td colspan="3">${t("console.reports.none_period")}</td></tr>`}</tbody>
      </table></div>`}
    </section>
    <section aria-label=${t("console.reports.satisfaction")}>
      <h2>${t("console.reports.satisfaction")}</h2>
      <div class="kpis">
        <${Kpi} label=${t("console.reports.csat")} value=${total.csat_average ? total.csat_average.toFixed(1) : "–"} hint=${t("console.reports.csat_hint")} />
        <${Kpi} label=${t("console.reports.one_touch_resolution")} value=${percent(total.one_touch)} />
        <${Kpi} label=${t("console.reports.reopened")} value=${total.tickets_reopened ?? "–"} />
      </div>
    </section>
    ${automation && html`<section aria-label=${t("console.reports.automation")}>
      <h2>${t("console.reports.automation")}</h2>
      <div class="kpis"><${Kpi} label=${t("console.reports.rule_runs")} value=${automation.runs} /><${Kpi} label=${t("console.reports.failed")} value=${automation.failed} /><${Kpi} label=${t("console.reports.late")} value=${automation.late} /></div>
      <div class="table-scroll"><table class="report-table">
        <thead><tr><th scope="col">${t("console.automations.rule")}</th><th scope="col">${t("console.reports.runs")}</th><th scope="col">${t("console.reports.failed")}</th><th scope="col">${t("console.reports.late")}</th></tr></thead>
        <tbody>${automation.by_rule.length ? automation.by_rule.map((rule) => html`<tr><th scope="row">${rule.name}</th><td>${rule.runs}</td><td>${rule.failed}</td><td>${rule.late}</td></tr>`) : html`<tr><td colspan="4">${t("console.reports.no_runs")}</td></tr>`}</tbody>
      </table></div>
    </section>`}`;
}

export function Reports() {
  const hash = route.value;
  const tab = tabOf(hash);
  const filter = filterOf(hash);
  const shown = TABS.filter((entry) => !entry.shown || entry.shown());
  const allowed = shown.some((entry) => entry.key === tab);
  const Body = { mine: Mine, team: TeamBoard, overview: Overview }[allowed ? tab : "mine"];
  const keep = hash.includes("?") ? `?${hash.split("?")[1]}` : "";
  return html`<main class="page reports">
    <h1>${t("console.nav.reports")}</h1>
    <nav class="tabs" aria-label=${t("console.reports.dashboards")}>
      ${shown.map((entry) => html`<a href=${`${entry.path}${keep}`} aria-current=${entry.key === tab ? "page" : undefined}>${entry.label}</a>`)}
    </nav>
    <${FilterBar} key=${hash} tab=${allowed ? tab : "mine"} filter=${filter} />
    <${Body} filter=${filter} />
  </main>`;
}
