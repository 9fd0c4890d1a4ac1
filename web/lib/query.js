// The query language on the console's side (the server parses and decides; DESIGN §6): the
// queue's state in the URL, so reload and links keep it, and suggestions for the field or value
// being typed.

export const FIELDS = [
  "status", "category", "priority", "urgency", "importance", "assignee", "team", "requester", "company",
  "channel", "tag", "type", "created", "updated", "resolved", "sla", "waiting", "has", "hours",
];

const LEVELS = ["low", "medium", "high", "critical"];
const DATES = ["today", "yesterday", "\"this week\"", "-7d..", "-30d.."];

/** The queue's state from a hash such as `#/queue?q=urgency:critical&sort=sla_due&view=3`. */
export function readQueueState(hash) {
  const query = hash.includes("?") ? hash.slice(hash.indexOf("?") + 1) : "";
  const params = new URLSearchParams(query);
  const list = (name, fallback) => (params.has(name) ? params.get(name).split(",").filter(Boolean) : fallback);
  return {
    filters: {
      categories: list("status", ["new", "open", "pending"]),
      assignee: params.get("assignee") || "",
      channel: params.get("channel") || "",
      priority: params.get("priority") || "",
      q: params.get("q") || "",
    },
    sort: params.get("sort") || "updated",
    view: params.has("view") ? Number(params.get("view")) : null,
  };
}

/** The hash that reads back as this state (defaults left out, so links stay short). */
export function queueHash({ filters, sort, view }) {
  const params = new URLSearchParams();
  if (view) params.set("view", String(view));
  const categories = filters.categories.join(",");
  if (categories !== "new,open,pending") params.set("status", categories);
  for (const name of ["assignee", "channel", "priority", "q"]) if (filters[name]) params.set(name, filters[name]);
  if (sort && sort !== "updated") params.set("sort", sort);
  const text = params.toString();
  return text ? `#/queue?${text}` : "#/queue";
}

function quoted(value) {
  return /[\s,:"]/.test(value) ? `"${value.replace(/"/g, "")}"` : value;
}

/**
 * What may come next where the query ends: field names while a field is typed, its values after
 * `field:`. `known` holds the account's names: statuses, teams, agents (emails), companies,
 * types, custom field keys. Returns at most 8 `{label, text}`, `text` being the whole new query.
 */
export function suggest(query, known) {
  const start = query.search(/\S*$/);
  const head = query.slice(0, start);
  const fragment = query.slice(start);
  const negation = fragment.startsWith("-") ? "-" : "";
  const bare = fragment.slice(negation.length);
  const colon = bare.indexOf(":");
  const complete = (text) => `${head}${negation}${text}`;
  // `status: ` with a space after the colon: the value is still to come.
  const spaced = !fragment && head.match(/(^|\s)(-?)([\w.]+):\s+$/);
  if (spaced) {
    const values = valuesOf(spaced[3].toLowerCase(), known);
    return values.slice(0, 8).map((value) => ({ label: value, text: `${head}${value} ` }));
  }
  if (colon < 0) {
    if (!bare) return [];
    const fields = [...FIELDS, ...(known.customFields || []).map((key) => `field.${key}`)];
    return fields
      .filter((field) => field.startsWith(bare.toLowerCase()) && field !== bare.toLowerCase())
      .slice(0, 8)
      .map((field) => ({ label: `${field}:`, text: complete(`${field}:`) }));
  }
  const field = bare.slice(0, colon).toLowerCase();
  const typed = bare.slice(colon + 1);
  const done = typed.lastIndexOf(",") + 1;
  const earlier = typed.slice(0, done);
  const partial = typed.slice(done).replace(/^"/, "").toLowerCase();
  const values = valuesOf(field, known);
  return values
    .filter((value) => value.replace(/^"/, "").toLowerCase().startsWith(partial) && value.toLowerCase() !== partial)
    .slice(0, 8)
    .map((value) => ({ label: value, text: complete(`${field}:${earlier}${value} `) }));
}

function valuesOf(field, known) {
  const names = (list) => (list || []).map(quoted);
  switch (field) {
    case "status": return ["new", "open", "pending", "resolved", "closed", ...names(known.statuses)].filter((v, i, all) => all.indexOf(v) === i);
    case "priority": return ["low", "medium", "high", "urgent"];
    case "urgency": case "importance": return LEVELS;
    case "assignee": return ["me", "none", ...names(known.agents)];
    case "requester": return ["me"];
    case "team": return ["none", ...names(known.teams)];
    case "company": return ["none", ...names(known.companies)];
    case "channel": return ["whatsapp", "email", "web", "api", "phone"];
    case "tag": return ["none"];
    case "type": return ["none", ...names(known.types)];
    case "category": return ["none", ...names(known.categories)];
    case "created": case "updated": case "resolved": return DATES;
    case "sla": return ["breached", "at_risk"];
    case "waiting": return ["agent", "customer"];
    case "has": return ["attachment", "note"];
    case "hours": return ["inside", "outside"];
    default: return field.startsWith("field.") ? ["none"] : [];
  }
}
