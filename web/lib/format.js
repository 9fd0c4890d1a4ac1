// Small display helpers.

export function ago(timestamp) {
  if (!timestamp) return "";
  const seconds = Math.round((Date.now() - new Date(timestamp).getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function time(timestamp) {
  return timestamp ? new Date(timestamp).toLocaleString() : "";
}

export function until(timestamp) {
  const seconds = Math.round((new Date(timestamp).getTime() - Date.now()) / 1000);
  if (seconds <= 0) return "closed";
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return hours ? `${hours} h ${minutes} min` : `${minutes} min`;
}

/** A message's delivery state as a word and its icon's name (lib/icons.js). */
export const ticks = {
  queued: { word: "queued", icon: "clock" },
  sent: { word: "sent", icon: "check" },
  delivered: { word: "delivered", icon: "checks" },
  read: { word: "read", icon: "checks" },
  played: { word: "played", icon: "checks" },
  failed: { word: "failed", icon: "alert" },
};
