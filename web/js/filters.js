/* The filters sheet (a modal <dialog>: from the bottom on phones, from the side when wide) and
 * the badge on the Filters button counting the filters that are on. The results update behind
 * the sheet as filters change; the sheet says how many places match. */

import { app, defaultRadius, windows } from "./state.js";

// Each choice that narrows or widens the search counts once.
export function activeFilterCount(s) {
  let n = 0;
  if (s.category) n += 1;
  if (s.free) n += 1;
  if (s.open_at || s.open_now) n += 1;
  if (s.drop_in) n += 1;
  if (s.wheelchair) n += 1;
  if (s.step_free) n += 1;
  if (s.quiet) n += 1;
  if (s.include_unknown) n += 1;
  if (windows(s).length) n += 1;
  if (s.walk !== null) n += 1;
  else if (s.radius_m && Math.round(s.radius_m) !== Math.round(defaultRadius())) n += 1;
  return n;
}

export function showFilterCount() {
  const el = app.el;
  const n = activeFilterCount(app.state);
  el.filterCount.hidden = n === 0;
  el.filterCount.textContent = n ? String(n) : "";
  el.filterCountWords.textContent = n ? " (" + n + " on)" : "";
}

// The sheet's own line: how many places match, or "Searching…".
export function setSheetStatus(text, loading) {
  const el = app.el;
  el.filtersStatus.textContent = text;
  el.filtersStatus.classList.toggle("is-loading", Boolean(loading));
}

export function filtersOpen() {
  return app.el.filters.open;
}

export function openFilters() {
  const el = app.el;
  if (el.filters.open) return;
  el.filters.showModal();
  el.filtersClose.focus();
}

// ``done``: called when "Show places" closed the sheet; it moves focus to the result summary and
// returns true, or false to leave focus on the Filters button.
export function listenFilters(done) {
  const el = app.el;
  el.filtersOpen.addEventListener("click", openFilters);
  el.filtersClose.addEventListener("click", function () { el.filters.close("close"); });
  el.filtersDone.addEventListener("click", function () { el.filters.close("done"); });
  // Escape closes a modal dialog by itself; then focus goes back to the Filters button.
  el.filters.addEventListener("close", function () {
    if (el.filters.returnValue !== "done" || !done()) el.filtersOpen.focus();
    el.filters.returnValue = "";
  });
  // A tap on the backdrop (outside the sheet) closes it, as on other phone sheets.
  el.filters.addEventListener("click", function (event) {
    if (event.target === el.filters) {
      const r = el.filters.getBoundingClientRect();
      const inside = event.clientX >= r.left && event.clientX <= r.right && event.clientY >= r.top && event.clientY <= r.bottom;
      if (!inside) el.filters.close("close");
    }
  });
}
