/* What the signed-in staff pages (council view, moderation) share: a bearer token asked for with
 * an email and password and kept by the page in memory only (never stored), and the API's own
 * words when it refuses. Each page decides what a 401 or 403 means for it. */

// The API's words from {"detail": "…"}, else the status.
export async function detailOf(response) {
  try { const b = await response.json(); if (typeof b.detail === "string") return b.detail; } catch (e) { /* not JSON */ }
  return "Something went wrong (" + response.status + ").";
}

// Asks for a token; the caller reads the Response (its access_token, or why not).
export function requestToken(username, password) {
  const body = new URLSearchParams();
  body.set("username", username);
  body.set("password", password);
  return fetch("/api/auth/token", { method: "POST", body: body, headers: { Accept: "application/json" } });
}

// A request carrying the token, with an optional JSON body.
export function withToken(token, method, url, body) {
  const opts = { method: method, headers: { Accept: "application/json", Authorization: "Bearer " + token } };
  if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
  return fetch(url, opts);
}

// Ends the session on the server as well; nobody waits for the answer.
export function logout(token) {
  fetch("/api/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + token } });
}
