/* kindmap public map page: plain ES modules, no build step.
 *
 * Safety rule for every module: place data (names, descriptions, URLs…) only ever reaches
 * the page through textContent / createElement / checked href values. Never innerHTML,
 * never Leaflet bindPopup/bindTooltip with a string.
 */

import { SELECT_PLACE, app, isBrowsing, readUrl } from "./state.js";
import { h } from "./dom.js";
import { getJson } from "./api.js";
import { closeDetails, selectPlace } from "./details.js";
import { listen, restorePlace, stateToForm, syncMeasure } from "./controls.js";
import { focusSummary, refreshSearchArea, runSearch, showError } from "./search.js";
import { listenFilters, showFilterCount } from "./filters.js";
import { ensureMap, isWide, listenView, prefetchMap } from "./view.js";
import { showMore } from "./list.js";

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
    searchButton: byId("search-button"),
    radius: byId("radius"), radiusField: byId("radius-field"),
    measureDistance: byId("measure-distance"), measureWalk: byId("measure-walk"),
    walk: byId("walk"), walkField: byId("walk-field"), pace: byId("pace"), paceField: byId("pace-field"),
    free: byId("free"), openNow: byId("open-now"), wheelchair: byId("wheelchair"), dropIn: byId("drop-in"),
    stepFree: byId("step-free"), quiet: byId("quiet"), includeUnknown: byId("include-unknown"), openAt: byId("open-at"),
    days: Array.prototype.slice.call(document.querySelectorAll("#free-days input[type=checkbox]")),
    whenBox: byId("when-box"), freeFrom: byId("free-from"), freeTo: byId("free-to"),
    filters: byId("filters"), filtersOpen: byId("filters-open"), filtersClose: byId("filters-close"),
    filtersDone: byId("filters-done"), filtersClear: byId("filters-clear"), filtersError: byId("filters-error"),
    filtersStatus: byId("filters-status"), filterCount: byId("filter-count"), filterCountWords: byId("filter-count-words"),
    error: byId("search-error"), status: byId("status"), map: byId("map"), mapNote: byId("map-note"),
    mapLegend: byId("map-legend"), mapLegendSwatch: byId("map-legend-swatch"), mapAreaNote: byId("map-area-note"),
    layout: byId("layout"), showList: byId("show-list"), showMap: byId("show-map"),
    list: byId("place-list"), showMore: byId("show-more"), results: byId("results"),
    resultsHeading: byId("results-heading"), details: byId("details"), attribution: byId("attribution"),
  };
  const el = app.el;
  app.state = readUrl();
  if (app.state.postcode || app.state.q) el.postcode.value = app.state.postcode || app.state.q;
  listen();
  listenFilters(focusSummary);
  listenView(onMapMove, refreshSearchArea);
  el.showMore.addEventListener("click", showMore);
  document.addEventListener(SELECT_PLACE, function (event) { selectPlace(event.detail.id, event.detail.opts); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !el.details.hidden && el.details.contains(document.activeElement)) closeDetails();
  });
  // Before the config arrives the form already reflects a shared URL's walking choice.
  el.measureWalk.checked = app.state.walk !== null;
  el.measureDistance.checked = app.state.walk === null;
  syncMeasure();
  showFilterCount();
  if (app.state.days.length) el.whenBox.open = true;
  if (isWide()) prefetchMap();

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
    document.body.classList.remove("first-load");
    showError("Could not load kindmap. Check your connection and reload the page.");
    return;
  }
  if (app.config.attribution) el.attribution.textContent = app.config.attribution;
  stateToForm();
  // Wide screens show the map beside the list from the start; phones when "Map" is chosen.
  if (isWide()) await ensureMap();
  app.ready = true;
  await runSearch();
  document.body.classList.remove("first-load");
  restorePlace();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
