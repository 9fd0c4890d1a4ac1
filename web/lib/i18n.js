// The interface's words: one catalog per language under `/i18n/` (`en.json`, `es.json`,
// `pt.json`; the public help site reads the same files on the server). The language is the
// person's own (the first of their profile's languages), else the browser's (what it sends as
// Accept-Language), else English. Dates and numbers are formatted for that language.

import { signal } from "@preact/signals";

/** The catalogs shipped, by interface language, with the ISO 639-3 code a profile stores. */
export const LANGUAGES = [
  { code: "en", profile: "eng", name: "English" },
  { code: "es", profile: "spa", name: "Español" },
  { code: "pt", profile: "por", name: "Português" },
];

/** The language the page is in now (`en`, `es`, `pt`); pages re-render when it changes. */
export const language = signal("en");
const catalogs = new Map(); // code -> { key: text }

/** The catalog language for a user (their profile's first language) or, failing that, the
 * browser's preferred languages in order. */
export function languageFor(user) {
  const profile = user?.languages?.[0];
  const fromProfile = LANGUAGES.find((entry) => entry.profile === profile);
  if (fromProfile) return fromProfile.code;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const found = LANGUAGES.find((entry) => entry.code === tag.toLowerCase().split("-")[0]);
    if (found) return found.code;
  }
  return "en";
}

async function catalog(code) {
  if (!catalogs.has(code)) {
    const response = await fetch(`/i18n/${code}.json`, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`the ${code} catalog did not load (${response.status})`);
    catalogs.set(code, await response.json());
  }
  return catalogs.get(code);
}

/** Loads the catalog (and English, which fills any gap) and switches the page to it. */
export async function useLanguage(code) {
  await Promise.all([catalog("en"), catalog(code)]);
  document.documentElement.lang = code;
  language.value = code;
}

/** The text for `key` in the current language with `{name}` placeholders filled. A key missing
 * from the language falls back to English, then to the key itself (so a gap is visible). */
export function t(key, values = {}) {
  const text = catalogs.get(language.value)?.[key] ?? catalogs.get("en")?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** A date and time as the current language writes it. */
export function dateTime(timestamp) {
  if (!timestamp) return "";
  return new Intl.DateTimeFormat(language.value, { dateStyle: "medium", timeStyle: "short" }).format(new Date(timestamp));
}

/** A date as the current language writes it. */
export function date(timestamp) {
  if (!timestamp) return "";
  return new Intl.DateTimeFormat(language.value, { dateStyle: "medium" }).format(new Date(timestamp));
}

/** How long ago, in the current language ("hace 5 minutos"). */
export function ago(timestamp) {
  if (!timestamp) return "";
  const seconds = Math.round((new Date(timestamp).getTime() - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(language.value, { numeric: "auto" });
  const steps = [
    ["second", 60],
    ["minute", 3600],
    ["hour", 86400],
    ["day", 86400 * 30],
  ];
  let unit = 1;
  for (const [name, limit] of steps) {
    if (Math.abs(seconds) < limit) return format.format(Math.round(seconds / unit), name);
    unit = limit;
  }
  return format.format(Math.round(seconds / (86400 * 30)), "month");
}

/** A number as the current language writes it. */
export function number(value) {
  return new Intl.NumberFormat(language.value).format(value);
}

/** Like `t`, but the values may be elements (a link inside a sentence): the text's pieces and
 * the values in order, for a template to render (`html\`${tParts("…", { ticket: link })}\``). */
export function tParts(key, values = {}) {
  const text = catalogs.get(language.value)?.[key] ?? catalogs.get("en")?.[key] ?? key;
  return text.split(/(\{\w+\})/).map((piece) => {
    const name = piece.match(/^\{(\w+)\}$/)?.[1];
    return name && name in values ? values[name] : piece;
  });
}
