/* Map or list: side by side on wide screens; on phones one at a time, chosen with the Map/List
 * buttons. Leaflet (about 150 KB of script and style) is fetched only when the map is first
 * shown, so a phone's first screen, which shows the list, costs no map code. */

import { app } from "./state.js";
import { getMap, initMap, refreshSize } from "./map.js";

const WIDE = "(min-width: 52em)"; // the same breakpoint as app.css
let loading = null;
let onMove = function () {};
let onReady = function () {};

export function isWide() {
  return window.matchMedia(WIDE).matches;
}

function load(tag, attrs) {
  return new Promise(function (resolve, reject) {
    const node = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { node[k] = attrs[k]; });
    node.onload = resolve;
    node.onerror = reject;
    // Leaflet's style goes before ours, as if linked first, so app.css can adjust it.
    const ours = tag === "link" && document.head.querySelector('link[rel="stylesheet"]');
    if (ours) document.head.insertBefore(node, ours);
    else document.head.appendChild(node);
  });
}

// Leaflet's style and script from /static (never a CDN), once.
function loadLeaflet() {
  if (!loading) {
    loading = Promise.all([
      load("link", { rel: "stylesheet", href: "/static/vendor/leaflet/leaflet.css" }),
      load("script", { src: "/static/vendor/leaflet/leaflet.js" }),
    ]).catch(function () { /* initMap says the map could not load; the list still works */ });
  }
  return loading;
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
