/* kindmap public map page: plain ES modules, no build step.
 *
 * Safety rule for every module: place data (names, descriptions, URLs…) only ever reaches
 * the page through textContent / createElement / checked href values. Never innerHTML,
 * never Leaflet bindPopup/bindTooltip with a string.
 */

import { SELECT_PLACE, app, isBrowsing, readUrl } from "./state.js";
import { h } from "./dom.js";
import { getJson } from "./api.js";
import { initMap } from "./map.js";
import { closeDetails, selectPlace } from "./details.js";
import { listen, restorePlace, stateToForm, syncMeasure } from "./controls.js";
import { runSearch, showError } from "./search.js";

let browseTimer = null;

function onMapMove() {
  if (!app.ready || !isBrowsing()) return;
  clearTimeout(browseTimer);
  browseTimer = setTimeout(runSearch, 250);
}

function byId(id) {
  return document.getElementById(id);
}

async function start() {
  app.el = {
    form: byId("search"), postcode: byId("postcode"), locate: byId("locate"), category: byId("category"),
    radius: byId("radius"), radiusField: byId("radius-field"),
    measureDistance: byId("measure-distance"), measureWalk: byId("measure-walk"),
    walk: byId("walk"), walkField: byId("walk-field"), pace: byId("pace"), paceField: byId("pace-field"),
    free: byId("free"), openNow: byId("open-now"), wheelchair: byId("wheelchair"), dropIn: byId("drop-in"),
    stepFree: byId("step-free"), quiet: byId("quiet"), openAt: byId("open-at"),
    days: Array.prototype.slice.call(document.querySelectorAll("#free-days input[type=checkbox]")),
    whenBox: byId("when-box"), freeFrom: byId("free-from"), freeTo: byId("free-to"),
    error: byId("search-error"), status: byId("status"), map: byId("map"), mapNote: byId("map-note"),
    mapAreaNote: byId("map-area-note"), list: byId("place-list"), results: byId("results"),
    resultsHeading: byId("results-heading"), details: byId("details"), attribution: byId("attribution"),
  };
  const el = app.el;
  app.state = readUrl();
  if (app.state.postcode || app.state.q) el.postcode.value = app.state.postcode || app.state.q;
  listen();
  document.addEventListener(SELECT_PLACE, function (event) { selectPlace(event.detail.id, event.detail.opts); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !el.details.hidden && el.details.contains(document.activeElement)) closeDetails();
  });
  // Before the config arrives the form already reflects a shared URL's walking choice.
  el.measureWalk.checked = app.state.walk !== null;
  el.measureDistance.checked = app.state.walk === null;
  syncMeasure();
  if (app.state.days.length) el.whenBox.open = true;

  try {
    const both = await Promise.all([getJson("/api/config"), getJson("/api/categories")]);
    app.config = both[0];
    both[1].forEach(function (c) {
      app.categoryLabels[c.slug] = c.label;
      const opt = h("option", null, c.label);
      opt.value = c.slug;
      el.category.appendChild(opt);
    });
  } catch (e) {
    showError("Could not load kindmap. Check your connection and reload the page.");
    return;
  }
  if (app.config.attribution) el.attribution.textContent = app.config.attribution;
  stateToForm();
  initMap(onMapMove);
  app.ready = true;
  await runSearch();
  restorePlace();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
