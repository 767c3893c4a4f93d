/* Map or list: side by side on wide screens; on phones one at a time, chosen with the Map/List
 * buttons. Leaflet (about 150 KB of script and style) is fetched only when the map is first
 * shown, so a phone's first screen, which shows the list, costs no map code. */

import { app } from "./state.js";
import { loadLeaflet } from "./map-loader.js";
import { getMap, initMap, refreshSize } from "./map.js";

const WIDE = "(min-width: 52em)"; // the same breakpoint as app.css
let onMove = function () {};
let onReady = function () {};

export function isWide() {
  return window.matchMedia(WIDE).matches;
}

// Start fetching Leaflet now (a wide screen will show the map as soon as the config is in).
export function prefetchMap() {
  loadLeaflet();
}

// The map, set up once its code has arrived (needs the config: call after it is loaded).
export async function ensureMap() {
  if (getMap()) return getMap();
  await loadLeaflet();
  if (!getMap()) {
    initMap(onMove);
    if (getMap()) onReady();
  }
  return getMap();
}

export function showView(which) {
  const el = app.el;
  el.layout.dataset.view = which;
  el.showList.setAttribute("aria-pressed", which === "list" ? "true" : "false");
  el.showMap.setAttribute("aria-pressed", which === "map" ? "true" : "false");
  if (which === "map" || isWide()) ensureMap().then(refreshSize);
}

// ``move``: the map view moved (browse); ``ready``: the map has just been set up.
export function listenView(move, ready) {
  onMove = move;
  onReady = ready;
  app.el.showList.addEventListener("click", function () { showView("list"); });
  app.el.showMap.addEventListener("click", function () { showView("map"); });
  // A phone turned sideways or a window widened: the map is on screen now, so set it up.
  window.matchMedia(WIDE).addEventListener("change", function (event) {
    if (event.matches && app.ready) ensureMap().then(refreshSize);
  });
}
