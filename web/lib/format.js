// Small display helpers, in the console's language (lib/i18n.js).

import { ago as agoInLanguage, dateTime, t } from "./i18n.js";

/** How long ago, as the current language says it ("5 minutes ago", "hace 5 minutos"). */
export const ago = agoInLanguage;

/** A date and time as the current language writes it. */
export const time = dateTime;

export function until(timestamp) {
  const seconds = Math.round((new Date(timestamp).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return t("console.time.closed");
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours ? t("console.time.hours_minutes", { hours, minutes }) : t("console.time.minutes", { minutes });
}

/** A message's delivery state as a word and its icon's name (lib/icons.js). */
const TICK_ICONS = { queued: "clock", sent: "check", delivered: "checks", read: "checks", played: "checks", failed: "alert" };
export const ticks = Object.fromEntries(
  Object.entries(TICK_ICONS).map(([state, icon]) => [state, { get word() { return t(`console.delivery.${state}`); }, icon }]),
);
