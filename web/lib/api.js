// The REST client: JSON in and out, the session cookie for auth, errors as ApiError with the
// server's stable code and message.

import { t } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || t("console.error.request_failed", { status }));
    this.status = status;
    this.code = body?.error || "error";
    this.field = body?.field;
    // A query that does not parse: where it stopped and what the language takes there.
    this.position = body?.position;
    this.expected = body?.expected;
  }
}

export async function api(method, path, body) {
  // The custom header marks the request as the console's own (the server also checks Origin).
  const options = { method, headers: { "x-requested-with": "switchboard-console" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const put = (path, body) => api("PUT", path, body);
export const del = (path) => api("DELETE", path);
