/* Running a search (by postcode, place name or location) or browsing the map view, and
 * saying what was found in the status line. */

import { app, hasPoint, isWalking, pointParams, searchParams, windows } from "./state.js";
import { getJson, OFFLINE } from "./api.js";
import { formatWhen, plural, travelWords, walkPhrase } from "./format.js";
import { drawClusters, drawMarkers, drawSearchArea, getMap, getZoom, viewBbox } from "./map.js";
import { renderList } from "./list.js";

const PLACE_LIMIT = 200;
let searchController = null;

export function showError(message) {
  app.el.error.textContent = message;
}

export function clearError() {
  const el = app.el;
  el.error.textContent = "";
  [el.postcode, el.freeFrom, el.freeTo].forEach(function (input) { input.removeAttribute("aria-invalid"); });
}

export function setStatus(message) {
  app.el.status.textContent = message;
}

function describeSearch(search) {
  const s = app.state;
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

function busy(on) {
  app.el.results.setAttribute("aria-busy", on ? "true" : "false");
}

// The list heading says in words what the shaded area on the map shows.
function setHeading(search) {
  const el = app.el;
  const s = app.state;
  if (!isWalking(s) || !search) {
    el.resultsHeading.textContent = "Places";
    el.mapAreaNote.hidden = true;
    return;
  }
  const where = search.postcode ? search.postcode : s.postcode ? s.postcode.toUpperCase() : "your location";
  const estimated = search.travel === "estimated";
  const walk = (estimated ? "about " : "") + walkPhrase(s.walk, s.pace, where);
  el.resultsHeading.textContent = "Places within " + walk + ", " + travelWords(search.travel);
  el.mapAreaNote.textContent = "The shaded area on the map is within " + walk + (estimated ? " (an estimate)." : ".");
  el.mapAreaNote.hidden = false;
}

function clearResults() {
  app.features = [];
  app.travel = null;
  renderList();
  drawMarkers(null);
  drawSearchArea(null);
  setHeading(null);
}

export async function runSearch() {
  const el = app.el;
  const s = app.state;
  clearError();
  if (searchController) searchController.abort();
  const controller = searchController = new AbortController();
  const point = hasPoint(s);
  if (!point && !s.q && getMap()) return runBrowse(controller);
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
  setStatus("Searching…");
  let data;
  try {
    data = await getJson(endpoint + params.toString(), controller);
  } catch (e) {
    if (e.name === "AbortError") return;
    busy(false);
    setStatus("");
    if (e.status) {
      clearResults();
      const aboutTimes = /time window/i.test(e.message);
      if (aboutTimes) { el.freeFrom.setAttribute("aria-invalid", "true"); el.freeTo.setAttribute("aria-invalid", "true"); }
      else if (s.postcode || s.q) el.postcode.setAttribute("aria-invalid", "true");
    }
    showError(e.message);
    return;
  }
  busy(false);
  const search = data.search || null;
  app.features = Array.isArray(data.features) ? data.features : [];
  app.travel = search && search.travel ? search.travel : null;
  renderList();
  drawMarkers(search);
  setHeading(search);
  if (isWalking(s)) loadSearchArea(controller);
  else drawSearchArea(null);
  setStatus(summary(search, point));
}

function summary(search, point) {
  const s = app.state;
  const n = app.features.length;
  const where = describeSearch(search);
  let message;
  if (n === 0) {
    message = s.q
      ? "No places found " + where + ". Check the spelling, try part of the name, or search by postcode."
      : "No places found " + where + ". Try " + (isWalking(s) ? "a longer walk" : "a larger distance") + " or fewer filters.";
  } else {
    message = n + " " + plural(n, "place", "places") + " found " + where;
    if (isWalking(s)) message += ", " + (app.travel === "estimated" ? "about " : "") + "within " + walkPhrase(s.walk, s.pace) + ", nearest on foot first";
    const matched = search && typeof search.matched === "number" ? search.matched : n;
    if (matched > n) message = matched + " places found " + where + " (showing the " + (point ? "nearest " : "first ") + n + ")";
    message += ".";
  }
  if (isWalking(s) && app.travel === "estimated") message += " Walking times here are estimates from straight-line distance.";
  const words = filterWords();
  if (words.length) message += " Showing only: " + words.join(", ") + ".";
  if (s.q && s.walk !== null) message += " Walking times need a postcode or your location.";
  return message;
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

// The reachable area from the search point, drawn under the pins.
async function loadSearchArea(controller) {
  const s = app.state;
  const q = pointParams(s);
  q.set("minutes", String(s.walk));
  q.set("profile", s.pace);
  try {
    const area = await getJson("/api/isochrone?" + q.toString(), controller);
    if (controller.signal.aborted) return;
    drawSearchArea(area);
  } catch (e) {
    if (e.name === "AbortError") return;
    drawSearchArea(null);
    app.el.mapAreaNote.textContent = "The walking area could not be drawn: " + e.message;
  }
}

// No search point: show what is in the map view. Few places: list and number them all;
// many: grid clusters from the server, so 50,000 places cost a few kilobytes.
async function runBrowse(controller) {
  const params = searchParams(app.state, true);
  params.set("bbox", viewBbox().join(","));
  busy(true);
  setStatus("Searching…");
  drawSearchArea(null);
  setHeading(null);
  const words = filterWords();
  const only = words.length ? " Showing only: " + words.join(", ") + "." : "";
  const walkNote = app.state.walk !== null ? " Search by postcode or use your location to see walking times." : " Search by postcode to see the nearest first.";
  try {
    const zoomed = new URLSearchParams(params);
    zoomed.set("zoom", String(getZoom()));
    const grid = await getJson("/api/places/clusters?" + zoomed.toString(), controller);
    // Too many to list, or a view wider than the API lists (max_bbox_km2): clusters only.
    if (grid.total > PLACE_LIMIT || bboxAreaKm2(viewBbox()) > maxBboxKm2()) {
      app.features = [];
      renderList();
      drawClusters(grid.clusters);
      busy(false);
      setStatus(grid.total.toLocaleString("en-GB") + " places on this part of the map." + only +
        " Zoom in, or search by postcode or place name, to list them.");
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
  renderList();
  drawMarkers(null, false);
  const n = app.features.length;
  setStatus(n === 0
    ? "No places on this part of the map." + only + " Zoom out, move the map or try fewer filters."
    : n + " " + plural(n, "place", "places") + " found " + describeSearch(null) + ", A to Z." + only + walkNote);
}
