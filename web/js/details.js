/* The place details panel: everything known about one place, built with textContent only. */

import { app, writeUrl } from "./state.js";
import { h, clear } from "./dom.js";
import { getJson, ApiError } from "./api.js";
import { formatDate, formatDistance, formatWhen, friendlyHours, openWords, travelWords, walkPhrase } from "./format.js";
import { ACCESS, WELCOME, WHEELCHAIR, bulletList, contactNodes, loadExtras, nearbyWords, section, sourceNode } from "./details-parts.js";
import { drawPlaceArea, highlightMarker, panToMarker } from "./map.js";
import { markListSelection } from "./list.js";
import { isWide, showView } from "./view.js";

const PLACE_AREA_MINUTES = 15;
let detailsController = null;
let areaController = null;

export async function selectPlace(id, opts) {
  const el = app.el;
  app.state.place = id;
  writeUrl(false);
  markListSelection(id);
  highlightMarker(id);
  panToMarker(id);
  hidePlaceArea();
  if (detailsController) detailsController.abort();
  detailsController = new AbortController();
  el.details.hidden = false;
  clear(el.details);
  el.details.appendChild(h("p", "details-loading", "Loading details…"));
  let feature;
  try {
    feature = await getJson("/api/places/" + encodeURIComponent(id), detailsController);
  } catch (e) {
    if (e.name === "AbortError") return;
    renderDetailsError(e.status ? e.message : "Could not load this place. Check your connection and try again.");
    return;
  }
  renderDetails(feature);
  if (opts && opts.focus) document.getElementById("details-name").focus();
}

function title(text) {
  const node = h("h2", "details-name", text);
  node.id = "details-name";
  node.tabIndex = -1;
  return node;
}

function renderDetailsError(message) {
  const d = app.el.details;
  clear(d);
  d.appendChild(title("Place details"));
  d.appendChild(h("p", "error", message));
  d.appendChild(closeButton());
}

function closeButton() {
  const b = h("button", "button button-secondary details-close", "Close details");
  b.type = "button";
  b.addEventListener("click", closeDetails);
  return b;
}

export function closeDetails() {
  const el = app.el;
  const id = app.state.place;
  app.state.place = null;
  writeUrl(false);
  el.details.hidden = true;
  clear(el.details);
  hidePlaceArea();
  markListSelection(null);
  highlightMarker(null);
  const back = id !== null && el.list.querySelector('button[data-id="' + String(id) + '"]');
  (back || el.resultsHeading).focus();
}

export function hideDetails() {
  app.el.details.hidden = true;
  clear(app.el.details);
  hidePlaceArea();
}

function hidePlaceArea() {
  if (areaController) areaController.abort();
  areaController = null;
  drawPlaceArea(null);
}

// "Show walking area": what is reachable on foot from this place, at the chosen pace.
function walkingAreaBox(feature, p) {
  const box = h("div", "details-walk");
  const button = h("button", "button button-secondary", "Show walking area");
  button.type = "button";
  button.setAttribute("aria-pressed", "false");
  const note = h("p", "note details-walk-note");
  note.setAttribute("role", "status");
  box.appendChild(button);
  box.appendChild(note);
  button.addEventListener("click", async function () {
    if (button.getAttribute("aria-pressed") === "true") {
      hidePlaceArea();
      button.setAttribute("aria-pressed", "false");
      note.textContent = "";
      return;
    }
    const c = (feature.geometry && feature.geometry.coordinates) || [];
    const pace = app.state.pace;
    if (!isWide()) showView("map"); // the map is where the area is drawn
    const q = new URLSearchParams({ lon: String(c[0]), lat: String(c[1]), minutes: String(PLACE_AREA_MINUTES), profile: pace });
    if (areaController) areaController.abort();
    const controller = areaController = new AbortController();
    note.textContent = "Working out the walking area…";
    let area;
    try {
      area = await getJson("/api/isochrone?" + q.toString(), controller);
    } catch (e) {
      if (e.name === "AbortError") return;
      note.textContent = e instanceof ApiError ? e.message : String(e.message);
      return;
    }
    const travel = area.properties && area.properties.travel;
    const words = "The dashed shaded area on the map is within " + (travel === "estimated" ? "about " : "") +
      walkPhrase(PLACE_AREA_MINUTES, pace, p.name) + ", " + travelWords(travel) + ".";
    // One area at a time: this one replaces the search's until it is hidden again.
    drawPlaceArea(area, words);
    button.setAttribute("aria-pressed", "true");
    note.textContent = words + (app.search && app.areaLegend ? " It replaces the search's walking area until you hide it." : "");
  });
  return box;
}

function renderDetails(feature) {
  const p = (feature && feature.properties) || {};
  const d = app.el.details;
  clear(d);

  d.appendChild(title(p.name));
  d.appendChild(h("p", "details-category", p.category_label || app.categoryLabels[p.category] || p.category));
  const dist = formatDistance(p.distance_m);
  if (dist) d.appendChild(h("p", "details-distance", dist));
  if (p.description) d.appendChild(h("p", "details-description", p.description));
  if (feature.geometry) d.appendChild(walkingAreaBox(feature, p));

  const welcome = section(d, "What makes it welcoming");
  const yes = WELCOME.filter(function (w) { return p[w[0]] === true; }).map(function (w) { return w[1]; });
  if (yes.length) welcome.appendChild(bulletList(yes));
  else welcome.appendChild(h("p", null, "Not recorded yet. Everyone is welcome to ask."));

  const hours = section(d, "Opening hours");
  hours.appendChild(h("p", "place-open open-" + String(p.open), openWords(p.open)));
  const next = p.open === false && formatWhen(p.next_open);
  if (next) hours.appendChild(h("p", null, "Opens next: " + next));
  if (p.opening_hours) {
    if (p.opening_hours_valid === false) {
      hours.appendChild(h("p", "details-hours-raw", p.opening_hours));
      hours.appendChild(h("p", "note", "We could not read these hours automatically, so we cannot say whether it is open now. Check with the place before you go."));
    } else {
      hours.appendChild(bulletList(friendlyHours(p.opening_hours)));
    }
  }

  const access = section(d, "Accessibility");
  const accessItems = [];
  if (p.wheelchair && WHEELCHAIR[p.wheelchair]) accessItems.push(WHEELCHAIR[p.wheelchair]);
  ACCESS.forEach(function (a) {
    if (p[a[0]] === true) accessItems.push(a[1]);
    else if (p[a[0]] === false) accessItems.push(a[2]);
  });
  if (accessItems.length) access.appendChild(bulletList(accessItems));
  else access.appendChild(h("p", null, "Not recorded yet."));

  const addressParts = [p.address, p.postcode].filter(Boolean);
  if (addressParts.length) section(d, "Address").appendChild(h("p", null, addressParts.join(", ")));
  const nearby = nearbyWords(p.nearby_facilities);
  if (nearby.length) section(d, "Nearby").appendChild(bulletList(nearby));

  const contactItems = contactNodes(p);
  if (contactItems.length) {
    const ul = h("ul", "contact");
    contactItems.forEach(function (node) { const li = h("li"); li.appendChild(node); ul.appendChild(li); });
    section(d, "Contact").appendChild(ul);
  }

  const activities = section(d, "Activities here");
  activities.appendChild(h("p", "note", "Looking for activities…"));

  const source = section(d, "Where this comes from");
  source.appendChild(sourceNode(p));
  const verified = formatDate(p.verified_at);
  const imported = formatDate(p.imported_at);
  if (verified && p.source === "resident") source.appendChild(h("p", null, "Approved on " + verified));
  else if (verified) source.appendChild(h("p", null, "Last checked: " + verified));
  else if (imported) source.appendChild(h("p", null, "Added to kindmap: " + imported + " (not checked in person yet)"));

  const notes = section(d, "Kindness notes");
  notes.appendChild(h("p", "note", "Loading notes…"));

  const links = h("ul", "contact details-links");
  const page = h("a", null, "Full page for this place (to share or print)");
  page.href = "/places/" + encodeURIComponent(feature.id);
  const thank = h("a", null, "Say thank you, or report a problem");
  thank.href = "/places/" + encodeURIComponent(feature.id) + "#h-thank";
  [page, thank].forEach(function (a) { const li = h("li"); li.appendChild(a); links.appendChild(li); });
  d.appendChild(links);

  d.appendChild(closeButton());
  loadExtras(feature, activities, notes);
}
