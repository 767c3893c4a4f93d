/* What the page is showing, kept in the shareable URL (query for the search, #place=id). */

export const PACES = { walk: "Usual pace", slow: "Slower pace", step_free: "Step-free route" };
export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const TIME_RE = /^([01]\d|2[0-3]):[0-5]\d$/;
const WINDOW_RE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{2}:\d{2})-(\d{2}:\d{2})$/;

// Shared by every module: the DOM elements, the server's config and the search state.
export const app = {
  el: {},
  config: null,
  categoryLabels: {},
  features: [],
  travel: null, // "network" or "estimated" for the last walking search
  ready: false, // config and categories loaded, map set up
  state: emptyState(),
};

// The list and the map ask for a place with this event; main.js opens it in the details panel.
// An event, not an import: details.js uses the list and the map, so they cannot import it back.
export const SELECT_PLACE = "kindmap:select";

export function requestPlace(id, opts) {
  document.dispatchEvent(new CustomEvent(SELECT_PLACE, { detail: { id: id, opts: opts } }));
}

export function emptyState() {
  return {
    postcode: "", q: "", lon: null, lat: null, radius_m: null, category: "",
    free: false, open_now: false, open_at: "", drop_in: false, wheelchair: false, step_free: false, quiet: false, include_unknown: false,
    walk: null, pace: "walk", days: [], from: "", to: "",
    place: null,
  };
}

export function readUrl() {
  const q = new URLSearchParams(location.search);
  const s = emptyState();
  s.postcode = (q.get("postcode") || "").slice(0, 10);
  s.q = s.postcode ? "" : (q.get("q") || "").slice(0, 100);
  const lon = parseFloat(q.get("lon"));
  const lat = parseFloat(q.get("lat"));
  if (!s.postcode && !s.q && isFinite(lon) && isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) {
    s.lon = lon;
    s.lat = lat;
  }
  const radius = parseInt(q.get("radius_m"), 10);
  if (isFinite(radius) && radius > 0) s.radius_m = radius;
  // A form sent before the scripts ran (slow connection) carries every field: then the
  // "measure" radio says whether the walking time applies.
  const walk = parseInt(q.get("walk"), 10);
  // 60 minutes is the API's ceiling (a longer walk is refused with 422), so a shared link cannot ask more.
  if (isFinite(walk) && walk > 0 && walk <= 60 && q.get("measure") !== "distance") s.walk = walk;
  s.pace = q.get("pace") in PACES ? q.get("pace") : "walk";
  s.category = q.get("category") || "";
  s.free = q.get("free") === "true";
  s.open_now = q.get("open_now") === "true";
  s.wheelchair = q.get("wheelchair") === "true";
  s.drop_in = q.get("drop_in") === "true";
  s.step_free = q.get("step_free") === "true";
  s.quiet = q.get("quiet") === "true";
  s.include_unknown = q.get("include_unknown") === "true";
  const at = q.get("open_at") || "";
  s.open_at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(at) ? at : "";
  // The form asks for days plus one time range, so that is what a URL can carry back.
  q.getAll("window").forEach(function (w) {
    const m = WINDOW_RE.exec(w.trim());
    if (!m || s.days.indexOf(m[1]) >= 0) return;
    s.days.push(m[1]);
    if (!s.from) { s.from = m[2]; s.to = m[3]; }
  });
  if (!s.days.length && TIME_RE.test(q.get("free_from") || "") && TIME_RE.test(q.get("free_to") || "")) {
    s.days = WEEKDAYS.filter(function (d) { return q.getAll("day").indexOf(d) >= 0; });
    if (s.days.length) { s.from = q.get("free_from"); s.to = q.get("free_to"); }
  }
  const m = /^#place=(\d+)$/.exec(location.hash);
  s.place = m ? parseInt(m[1], 10) : null;
  return s;
}

export function hasPoint(s) {
  return Boolean(s.postcode) || s.lon !== null;
}

export function isBrowsing() {
  const s = app.state;
  return !s.postcode && !s.q && s.lon === null;
}

export function isWalking(s) {
  return s.walk !== null && hasPoint(s) && !s.q;
}

export function windows(s) {
  if (!s.days.length || !TIME_RE.test(s.from) || !TIME_RE.test(s.to)) return [];
  return WEEKDAYS.filter(function (d) { return s.days.indexOf(d) >= 0; })
    .map(function (d) { return d + " " + s.from + "-" + s.to; });
}

export function searchParams(s, forApi) {
  const q = new URLSearchParams();
  if (s.postcode) q.set("postcode", s.postcode);
  else if (s.q) q.set("q", s.q);
  else if (s.lon !== null) { q.set("lon", String(s.lon)); q.set("lat", String(s.lat)); }
  const point = hasPoint(s);
  if (forApi && isWalking(s)) {
    // Walking time replaces the distance: the API sorts by minutes on foot.
    q.set("max_walk_minutes", String(s.walk));
    q.set("profile", s.pace);
  } else if (s.radius_m && (point || !forApi)) {
    q.set("radius_m", String(s.radius_m));
  }
  if (!forApi) {
    if (s.walk !== null) q.set("walk", String(s.walk));
    if (s.pace !== "walk") q.set("pace", s.pace);
  }
  if (s.category) q.set("category", s.category);
  if (s.free) q.set("free", "true");
  if (s.open_at) q.set("open_at", s.open_at);
  else if (s.open_now) q.set("open_now", "true");
  if (s.drop_in) q.set("drop_in", "true");
  if (s.wheelchair) q.set("wheelchair", "true");
  if (s.step_free) q.set("step_free", "true");
  if (s.quiet) q.set("quiet", "true");
  if (s.include_unknown) q.set("include_unknown", "true");
  windows(s).forEach(function (w) { q.append("window", w); });
  return q;
}

export function writeUrl(push) {
  const s = app.state;
  const qs = searchParams(s, false).toString();
  const url = location.pathname + (qs ? "?" + qs : "") + (s.place !== null ? "#place=" + s.place : "");
  if (url === location.pathname + location.search + location.hash) return;
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

export function defaultRadius() {
  return (app.config && app.config.default_radius_m) || 3000;
}

// The search point as API parameters (postcode, or rounded coordinates).
export function pointParams(s) {
  const q = new URLSearchParams();
  if (s.postcode) q.set("postcode", s.postcode);
  else if (s.lon !== null) { q.set("lon", String(s.lon)); q.set("lat", String(s.lat)); }
  return q;
}
