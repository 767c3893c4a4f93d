/* The search form: filling it from the state, reading it back, and what its controls do. */

import { app, defaultRadius, emptyState, readUrl, writeUrl } from "./state.js";
import { h } from "./dom.js";
import { clearError, runSearch, setStatus, showError } from "./search.js";
import { hideDetails, selectPlace } from "./details.js";

// A UK postcode (full, or the outward part only is not enough to search on).
const POSTCODE_RE = /^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\s*$/;
const DEFAULT_WALK = 15;

function ensureOption(select, value, words) {
  if (select.querySelector('option[value="' + value + '"]')) return;
  const opt = h("option", null, words);
  opt.value = value;
  select.appendChild(opt);
}

// Only the controls for the chosen way of measuring are shown.
export function syncMeasure() {
  const walking = app.el.measureWalk.checked;
  app.el.radiusField.hidden = walking;
  app.el.walkField.hidden = !walking;
  app.el.paceField.hidden = !walking;
}

// The postcode box is only overwritten on history navigation: never wipe what someone typed.
export function stateToForm(opts) {
  const el = app.el;
  const s = app.state;
  if (opts && opts.postcode) el.postcode.value = s.postcode || s.q;
  el.category.value = s.category in app.categoryLabels ? s.category : "";
  const radius = Math.round(s.radius_m || defaultRadius());
  ensureOption(el.radius, String(radius), "Within " + Math.round(radius / 100) / 10 + " km");
  el.radius.value = String(radius);
  const walk = s.walk || DEFAULT_WALK;
  ensureOption(el.walk, String(walk), walk + " minutes");
  el.walk.value = String(walk);
  el.measureWalk.checked = s.walk !== null;
  el.measureDistance.checked = s.walk === null;
  el.pace.value = s.pace;
  el.free.checked = s.free;
  el.openNow.checked = s.open_now;
  el.wheelchair.checked = s.wheelchair;
  el.dropIn.checked = s.drop_in;
  el.stepFree.checked = s.step_free;
  el.quiet.checked = s.quiet;
  el.includeUnknown.checked = s.include_unknown;
  el.openAt.value = s.open_at;
  el.days.forEach(function (box) { box.checked = s.days.indexOf(box.value) >= 0; });
  if (s.days.length) el.whenBox.open = true; // a shared link shows the times it filters by
  if (s.from) { ensureOption(el.freeFrom, s.from, s.from); el.freeFrom.value = s.from; }
  if (s.to) { ensureOption(el.freeTo, s.to, s.to); el.freeTo.value = s.to; }
  syncMeasure();
}

function formToFilters() {
  const el = app.el;
  const s = app.state;
  if (app.ready) s.category = el.category.value; // the options arrive with the config
  const radius = parseInt(el.radius.value, 10) || null;
  s.radius_m = radius === Math.round(defaultRadius()) ? null : radius;
  s.walk = el.measureWalk.checked ? parseInt(el.walk.value, 10) || DEFAULT_WALK : null;
  s.pace = el.pace.value;
  s.free = el.free.checked;
  s.open_now = el.openNow.checked;
  s.wheelchair = el.wheelchair.checked;
  s.drop_in = el.dropIn.checked;
  s.step_free = el.stepFree.checked;
  s.quiet = el.quiet.checked;
  s.include_unknown = el.includeUnknown.checked;
  s.open_at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(el.openAt.value) ? el.openAt.value.slice(0, 16) : "";
  s.days = el.days.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
  s.from = el.freeFrom.value;
  s.to = el.freeTo.value;
}

function newSearch() {
  app.state.place = null;
  hideDetails();
  writeUrl(true);
  // Focus moves to the result summary (or the message about what to fix).
  if (app.ready) runSearch({ focus: true }); // else start() runs it once the page is set up
}

function onSubmit(event) {
  event.preventDefault();
  const el = app.el;
  const typed = el.postcode.value.trim();
  if (!typed) {
    clearError();
    el.postcode.setAttribute("aria-invalid", "true");
    showError("Enter a postcode (for example LE15 6HP) or a place name, or use your location.");
    el.postcode.focus();
    return;
  }
  formToFilters();
  const isPostcode = POSTCODE_RE.test(typed);
  app.state.postcode = isPostcode ? typed : "";
  app.state.q = isPostcode ? "" : typed;
  app.state.lon = null;
  app.state.lat = null;
  newSearch();
}

function onFilterChange() {
  syncMeasure();
  formToFilters();
  writeUrl(false);
  if (app.ready) runSearch();
}

// "Clear filters": back to the defaults, keeping where the search is from.
function onClearFilters() {
  const s = app.state;
  const fresh = emptyState();
  ["postcode", "q", "lon", "lat", "place"].forEach(function (k) { fresh[k] = s[k]; });
  app.state = fresh;
  stateToForm();
  if (app.el.whenBox.open && !fresh.days.length) app.el.whenBox.open = false;
  writeUrl(false);
  if (app.ready) runSearch();
}

function onLocate() {
  clearError();
  if (!("geolocation" in navigator)) {
    showError("This browser cannot share your location. Type a postcode instead.");
    return;
  }
  setStatus("Finding your location…", true);
  navigator.geolocation.getCurrentPosition(function (pos) {
    formToFilters();
    // About 100 m precision is enough to sort places by distance, and keeps the
    // shareable URL from pinpointing a home.
    app.state.lon = Math.round(pos.coords.longitude * 1000) / 1000;
    app.state.lat = Math.round(pos.coords.latitude * 1000) / 1000;
    app.state.postcode = "";
    app.state.q = "";
    newSearch();
  }, function (err) {
    setStatus("");
    showError(err && err.code === 1
      ? "Location permission was not given. Type a postcode instead."
      : "We could not find your location. Type a postcode instead.");
  }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
}

function onPopState() {
  app.state = readUrl();
  stateToForm({ postcode: true });
  clearError();
  runSearch().then(restorePlace);
}

export function restorePlace() {
  if (app.state.place !== null) selectPlace(app.state.place, { focus: false });
  else hideDetails();
}

// Listen at once: people on slow connections type and press Enter before the rest arrives.
export function listen() {
  const el = app.el;
  el.form.addEventListener("submit", onSubmit);
  el.locate.addEventListener("click", onLocate);
  el.filtersClear.addEventListener("click", onClearFilters);
  [el.category, el.radius, el.walk, el.pace, el.measureDistance, el.measureWalk, el.free, el.openNow,
    el.wheelchair, el.dropIn, el.stepFree, el.quiet, el.includeUnknown, el.openAt, el.freeFrom, el.freeTo].concat(el.days).forEach(function (input) {
    input.addEventListener("change", onFilterChange);
  });
  window.addEventListener("popstate", onPopState);
}

