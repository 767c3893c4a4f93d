/* What the signed-in staff pages (council view, moderation) share: a web session asked for with an
 * email and password (an HttpOnly cookie the page never sees), requests that carry it, and the API's
 * own words when it refuses. Each page decides what a 401 or 403 means for it. */

// The API's words from {"detail": "…"}, else the status.
export async function detailOf(response) {
  try { const b = await response.json(); if (typeof b.detail === "string") return b.detail; } catch (e) { /* not JSON */ }
  return "Something went wrong (" + response.status + ").";
}

// Asks for a web session: an HttpOnly, SameSite=Strict cookie the server reads on every page and API call.
export function requestSession(username, password) {
  const body = new URLSearchParams();
  body.set("username", username);
  body.set("password", password);
  return fetch("/api/auth/session", { method: "POST", body: body, credentials: "same-origin", headers: { Accept: "application/json" } });
}

// A request with the web session cookie (same origin), with an optional JSON body.
export function withSession(method, url, body) {
  const opts = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  return fetch(url, opts);
}
