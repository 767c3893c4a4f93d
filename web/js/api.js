/* Talking to the kindmap API: one place for fetch, JSON and readable error messages. */

const GEOJSON = { Accept: "application/geo+json, application/json" };

// The API says what to fix in {"detail": …}; validation errors arrive as a list.
export async function errorDetail(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map(function (d) { return d && d.msg ? String(d.msg) : ""; }).filter(Boolean).join(". ");
    }
  } catch (e) { /* not JSON */ }
  return "Something went wrong (" + response.status + "). Please try again.";
}

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

export const OFFLINE = "Could not reach kindmap. Check your connection and try again.";

// JSON from the API, or an ApiError with the API's own words (AbortError passes through).
export async function getJson(url, controller) {
  let response;
  try {
    response = await fetch(url, { headers: GEOJSON, signal: controller ? controller.signal : undefined });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(OFFLINE, 0);
  }
  if (!response.ok) throw new ApiError(await errorDetail(response), response.status);
  return response.json();
}
