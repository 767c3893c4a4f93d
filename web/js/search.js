/* Running a search (by postcode, place name or location) or browsing the map view, and
 * saying what was found in the result summary (announced, and focused after a search). */

import { app, defaultRadius, hasPoint, isWalking, pointParams, searchParams, windows, writeUrl } from "./state.js";
import { getJson, OFFLINE } from "./api.js";
import { formatWhen, plural, travelWords, walkPhrase } from "./format.js";
import { drawClusters, drawMarkers, drawSearchArea, getMap, getZoom, viewBbox } from "./map.js";
import { renderList } from "./list.js";
import { hideDetails } from "./details.js";
import { filtersOpen, setSheetStatus, showFilterCount } from "./filters.js";

const PLACE_LIMIT = 200;
let searchController = null;

// Errors sit next to what they are about: the search box, or (free times) the filters sheet.
// ``where`` is "filters" for the sheet's fields; the message is brought into view.
export function showError(message, where) {
  const box = where === "filters" && filtersOpen() ? app.el.filtersError : app.el.error;
  box.textContent = message;
  box.scrollIntoView({ block: "nearest" });
}

export function clearError() {
  const el = app.el;
  el.error.textContent = "";
  el.filtersError.textContent = "";
  [el.postcode, el.freeFrom, el.freeTo].forEach(function (input) { input.removeAttribute("aria-invalid"); });
}

export function setStatus(message, loading) {
  const el = app.el;
  el.status.textContent = message;
  el.status.classList.toggle("is-loading", Boolean(loading));
  el.searchButton.setAttribute("aria-busy", loading ? "true" : "false");
  setSheetStatus(loading ? message : "", loading);
}

// After a search the summary is focused and scrolled into view, so what changed is seen and heard.
// Returns false when there is no summary to go to (e.g. an error is shown instead).
export function focusSummary() {
  const status = app.el.status;
  if (!status.textContent) return false;
  status.focus({ preventScroll: true });
  status.scrollIntoView({ block: "start" });
  return true;
}

// A place whose details are open but which the new results leave out: close its details.
function closeDetailsOfMissingPlace() {
  const s = app.state;
  if (s.place === null || app.el.details.hidden) return "";
  if (app.features.some(function (f) { return f.id === s.place; })) return "";
  s.place = null;
  writeUrl(false);
  hideDetails();
  return " The place you had open is not in these results, so its details are closed.";
}
// A name search for a town or a postcode district finds the places near it (search.located).
function located(search) {
  const at = search && search.located;
  return at && typeof at.name === "string" && at.name ? at.name : null;
}

function describeSearch(search) {
  const s = app.state;
  if (located(search)) return "near " + located(search);
  if (s.q) return "named like \u201c" + s.q + "\u201d";
  if (search && search.postcode) return "near " + search.postcode;
  if (s.postcode) return "near " + s.postcode.toUpperCase();
  if (s.lon !== null) return "near your location";
  return "on this part of the map";
}

function filterWords() {
  const s = app.state;
  const words = [];
  if (s.category) words.push(app.categoryLabels[s.category] || s.category);
  if (s.free) words.push("free to use");
  if (s.open_at) words.push("open " + (formatWhen(s.open_at) || s.open_at));
  else if (s.open_now) words.push("open now");
  if (s.drop_in) words.push("drop in");
  if (s.wheelchair) words.push("wheelchair accessible");
  if (s.step_free) words.push("step-free");
  if (s.quiet) words.push("quiet space");
  const free = windows(s);
  if (free.length) words.push("open when you are free (" + free.join(", ") + ")");
  return words;
}

// " Showing only: free to use, drop in." (", where known or not known yet" with include_unknown).
function onlyWords() {
  const words = filterWords();
  if (!words.length) return "";
  const unknown = app.state.include_unknown && words.length > (app.state.category ? 1 : 0) ? " (or not known yet)" : "";
  return " Showing only: " + words.join(", ") + unknown + ".";
}

function busy(on) {
  app.el.results.setAttribute("aria-busy", on ? "true" : "false");
}

// The list heading says in words what the shaded area on the map shows.
function setHeading(search) {
  const el = app.el;
  const s = app.state;
  if (!isWalking(s) || !search) {
    el.resultsHeading.textContent = "Places";
    app.areaLegend = "";
    return;
  }
  const where = search.postcode ? search.postcode : s.postcode ? s.postcode.toUpperCase() : "your location";
  const estimated = search.travel === "estimated";
  const walk = (estimated ? "about " : "") + walkPhrase(s.walk, s.pace, where);
  el.resultsHeading.textContent = "Places within " + walk + ", " + travelWords(search.travel);
  app.areaLegend = "The shaded area on the map is within " + walk + (estimated ? " (an estimate)." : ".");
}

function clearResults() {
  app.features = [];
  app.travel = null;
  app.search = null;
  renderList();
  drawMarkers(null);
  drawSearchArea(null);
  setHeading(null);
}

// ``opts.focus``: a search someone asked for (Search, their location): move focus to the outcome.
export async function runSearch(opts) {
  const el = app.el;
  const s = app.state;
  const focus = Boolean(opts && opts.focus);
  clearError();
  showFilterCount();
  if (searchController) searchController.abort();
  const controller = searchController = new AbortController();
  const point = hasPoint(s);
  if (!point && !s.q && getMap()) return runBrowse(controller, focus);
  const params = searchParams(s, true);
  params.set("limit", String(PLACE_LIMIT));
  let endpoint = "/api/places?";
  if (s.q) {
    endpoint = "/api/places/search?";
    params.set("limit", "50");
  } else if (!point) {
    const bbox = regionsBbox(); // the map could not load: list the regions' places
    if (bbox) params.set("bbox", bbox.join(","));
  }
  busy(true);
  setStatus("Searching…", true);
  let data;
  try {
    data = await getJson(endpoint + params.toString(), controller);
  } catch (e) {
    if (e.name === "AbortError") return;
    busy(false);
    setStatus("");
    let where = "search";
    if (e.status) {
      clearResults();
      const aboutTimes = /time window/i.test(e.message);
      if (aboutTimes) {
        el.freeFrom.setAttribute("aria-invalid", "true");
        el.freeTo.setAttribute("aria-invalid", "true");
        where = "filters";
      } else if (s.postcode || s.q) {
        el.postcode.setAttribute("aria-invalid", "true");
      }
    }
    showError(e.message, where);
    // The box is described by the message, so focusing it reads both; it sits just above.
    if (focus && where === "search") el.postcode.focus();
    return;
  }
  busy(false);
  const search = data.search || null;
  app.features = Array.isArray(data.features) ? data.features : [];
  app.travel = search && search.travel ? search.travel : null;
  app.search = search;
  const closed = closeDetailsOfMissingPlace();
  renderList();
  drawMarkers(search);
  setHeading(search);
  drawSearchArea(null);
  if (isWalking(s)) loadSearchArea(controller);
  setStatus(summary(search, point) + closed);
  setSheetStatus(countWords());
  if (focus) focusSummary();
}

// The sheet's short line: "6 places" (it sits over the results on a phone).
function countWords() {
  const n = app.features.length;
  return n === 0 ? "No places match" : n + " " + plural(n, "place matches", "places match");
}

function summary(search, point) {
  const s = app.state;
  const n = app.features.length;
  const where = describeSearch(search);
  let message;
  if (!point && !s.q) return regionSummary(n);
  if (n === 0) {
    // The API says which fact is missing ("Hours are known for 1 of 36 places nearby.").
    const hint = search && typeof search.hint === "string" && search.hint ? " " + search.hint : "";
    message = s.q && !located(search)
      ? "No places found " + where + ". Check the spelling, try part of the name, or search by postcode."
      : "No places found " + where + "." + hint + (hint && !s.include_unknown ? " That choice is under Filters."
        : " Try " + (isWalking(s) ? "a longer walk" : "a larger distance") + " or fewer filters.");
  } else {
    message = n + " " + plural(n, "place", "places") + " found " + where;
    if (isWalking(s)) message += ", " + (app.travel === "estimated" ? "about " : "") + "within " + walkPhrase(s.walk, s.pace) + ", nearest on foot first";
    else if (point || located(search)) message += ", within " + kmWords(search && search.radius_m) + ", nearest first";
    const matched = search && typeof search.matched === "number" ? search.matched : n;
    if (matched > n) message = matched + " places found " + where + " (showing the " + (point || located(search) ? "nearest " : "first ") + n + ")";
    message += ".";
  }
  if (isWalking(s) && app.travel === "estimated") message += " Walking times here are estimates from straight-line distance.";
  message += onlyWords();
  if (s.q && s.walk !== null) message += " Walking times need a postcode or your location.";
  return message;
}

function kmWords(metres) {
  const m = typeof metres === "number" && metres > 0 ? metres : app.state.radius_m || defaultRadius();
  return Math.round(m / 100) / 10 + " km";
}

// No search point and no map (a phone showing the list): the places of the regions kindmap covers.
function regionSummary(n) {
  const names = ((app.config && app.config.regions) || []).map(function (r) { return r.name; }).filter(Boolean);
  const where = names.length ? "in " + names.join(", ") : "in the areas kindmap covers";
  const only = onlyWords();
  if (n === 0) return "No places found " + where + "." + only + " Try fewer filters.";
  return n + " " + plural(n, "place", "places") + " " + where + ", A to Z." + only +
    " Type your postcode or use your location to see the nearest first.";
}

// Area of a lon/lat box on the sphere, as the server measures it (kindmap.services.search).
function bboxAreaKm2(b) {
  const r = 6371.0088, rad = Math.PI / 180;
  return r * r * (b[2] - b[0]) * rad * (Math.sin(b[3] * rad) - Math.sin(b[1] * rad));
}

function maxBboxKm2() {
  const v = app.config && app.config.max_bbox_km2;
  return typeof v === "number" && v > 0 ? v : Infinity;
}

function regionsBbox() {
  let box = null;
  ((app.config && app.config.regions) || []).forEach(function (r) {
    const b = r.bbox;
    if (!Array.isArray(b) || b.length !== 4) return;
    box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : b.slice();
  });
  return box;
}

// The reachable area from the search point, drawn under the pins; only when there is a map to
// draw it on (a phone showing the list asks when its map opens: refreshSearchArea).
async function loadSearchArea(controller) {
  const s = app.state;
  if (!getMap()) return;
  const q = pointParams(s);
  q.set("minutes", String(s.walk));
  q.set("profile", s.pace);
  try {
    const area = await getJson("/api/isochrone?" + q.toString(), controller);
    if (controller.signal.aborted) return;
    drawSearchArea(area, app.areaLegend);
  } catch (e) {
    if (e.name === "AbortError") return;
    drawSearchArea(null, "The walking area could not be drawn: " + e.message);
  }
}

// The map has just opened: draw the walking area of the search on show.
export function refreshSearchArea() {
  if (isWalking(app.state) && app.search && searchController) loadSearchArea(searchController);
}

// No search point: show what is in the map view. Few places: list and number them all;
// many: grid clusters from the server, so 50,000 places cost a few kilobytes.
async function runBrowse(controller, focus) {
  const params = searchParams(app.state, true);
  params.set("bbox", viewBbox().join(","));
  busy(true);
  setStatus("Searching…", true);
  app.search = null;
  drawSearchArea(null);
  setHeading(null);
  const only = onlyWords();
  const walkNote = app.state.walk !== null ? " Search by postcode or use your location to see walking times." : " Search by postcode to see the nearest first.";
  try {
    const zoomed = new URLSearchParams(params);
    zoomed.set("zoom", String(getZoom()));
    const grid = await getJson("/api/places/clusters?" + zoomed.toString(), controller);
    // Too many to list, or a view wider than the API lists (max_bbox_km2): clusters only.
    if (grid.total > PLACE_LIMIT || bboxAreaKm2(viewBbox()) > maxBboxKm2()) {
      app.features = [];
      const closedMany = closeDetailsOfMissingPlace();
      renderList();
      drawClusters(grid.clusters);
      busy(false);
      setStatus(grid.total.toLocaleString("en-GB") + " places on this part of the map." + only +
        " Zoom in, or search by postcode or place name, to list them." + closedMany);
      setSheetStatus(grid.total.toLocaleString("en-GB") + " places match");
      if (focus) focusSummary();
      return;
    }
    params.set("limit", String(PLACE_LIMIT));
    const data = await getJson("/api/places?" + params.toString(), controller);
    app.features = Array.isArray(data.features) ? data.features : [];
    app.travel = null;
  } catch (e) {
    if (e.name === "AbortError") return;
    busy(false);
    setStatus("");
    showError(e.message || OFFLINE);
    return;
  }
  busy(false);
  const closed = closeDetailsOfMissingPlace();
  renderList();
  drawMarkers(null, false);
  const n = app.features.length;
  setStatus((n === 0
    ? "No places on this part of the map." + only + " Zoom out, move the map or try fewer filters."
    : n + " " + plural(n, "place", "places") + " found " + describeSearch(null) + ", A to Z." + only + walkNote) + closed);
  setSheetStatus(countWords());
  if (focus) focusSummary();
}
