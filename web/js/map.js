/* The Leaflet map: numbered pins matching the list, clusters for big catalogues, and the
 * area reachable on foot. Markers are mouse/touch shortcuts; the list is the keyboard route.
 *
 * One reachable area at a time: the place's (from its details) replaces the search's while it is
 * shown, and the legend under the map says which one is drawn. */

import { app, requestPlace } from "./state.js";
import { h, escapeText } from "./dom.js";

let map = null;
let markerLayer = null;
let clusterLayer = null;
let originLayer = null;
let areaLayer = null; // the one reachable area drawn
let searchArea = null; // reachable from the search point, with its legend words
let searchLegend = "";
let placeArea = null; // reachable from the place in the details panel, with its legend words
let placeLegend = "";
let markers = {}; // place id -> L.marker
let tileErrorShown = false;

// Translucent fill, solid edge: the pins stay readable on top.
const AREA_STYLE = { className: "walk-area", color: "#00525f", weight: 2, fillColor: "#00525f", fillOpacity: 0.12 };
const PLACE_AREA_STYLE = { className: "walk-area walk-area-place", color: "#a4262c", weight: 2, dashArray: "6 4", fillColor: "#a4262c", fillOpacity: 0.08 };

export function getMap() {
  return map;
}

export function initMap(onMove) {
  const el = app.el;
  const config = app.config;
  if (typeof L === "undefined") {
    el.mapNote.textContent = "The map could not load. The same places are in the list.";
    el.mapNote.hidden = false;
    return;
  }
  map = L.map(el.map, { zoomControl: true, scrollWheelZoom: false });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  const tiles = L.tileLayer(config.tile_url, {
    attribution: escapeText(config.tile_attribution || ""),
    maxZoom: 19,
  });
  tiles.on("tileerror", function () {
    if (tileErrorShown) return;
    tileErrorShown = true;
    el.mapNote.hidden = false;
  });
  tiles.addTo(map);
  areaLayer = L.layerGroup().addTo(map);
  markerLayer = L.layerGroup().addTo(map);
  clusterLayer = L.layerGroup().addTo(map);
  originLayer = L.layerGroup().addTo(map);
  fitRegions();
  // The map may open after a search (a phone's "Map" button): show what the list shows.
  if (app.features.length) drawMarkers(app.search);
  drawAreaLayer(true);
  map.on("moveend", onMove);
}

// Leaflet measures its box when created; a box that was hidden must be measured again.
export function refreshSize() {
  if (map) map.invalidateSize();
}

function fitRegions() {
  const regions = (app.config && app.config.regions) || [];
  let bounds = null;
  regions.forEach(function (r) {
    if (!Array.isArray(r.bbox) || r.bbox.length !== 4) return;
    const b = L.latLngBounds([r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]);
    bounds = bounds ? bounds.extend(b) : b;
  });
  if (bounds && bounds.isValid()) map.fitBounds(bounds);
  else map.setView([54.5, -2.5], 6);
}

function pinIcon(number, selected) {
  return L.divIcon({
    className: "pin" + (selected ? " pin-selected" : ""),
    html: h("span", "pin-label", number),
    iconSize: [30, 30],
    iconAnchor: [15, 15],
  });
}

function hide(marker) {
  const node = marker.getElement();
  if (node) node.setAttribute("aria-hidden", "true");
}

export function drawMarkers(search, fit) {
  if (!map) return;
  clusterLayer.clearLayers();
  markerLayer.clearLayers();
  originLayer.clearLayers();
  markers = {};
  const points = [];
  app.features.forEach(function (f, i) {
    const c = f.geometry && f.geometry.coordinates;
    if (!c) return;
    const latlng = [c[1], c[0]];
    points.push(latlng);
    const marker = L.marker(latlng, { icon: pinIcon(i + 1, f.id === app.state.place), keyboard: false, riseOnHover: true });
    marker.bindTooltip(h("span", null, (i + 1) + ". " + f.properties.name), { direction: "top", offset: [0, -14] });
    marker.on("click", function () { requestPlace(f.id, { focus: true }); });
    marker.addTo(markerLayer);
    hide(marker);
    markers[f.id] = marker;
  });
  if (search && typeof search.lat === "number" && typeof search.lon === "number") {
    const here = [search.lat, search.lon];
    const named = search.postcode || (search.located && search.located.name);
    const label = h("span", null, named ? "Your search: " + named : "Your search point");
    L.circleMarker(here, { radius: 7, className: "origin", color: "#0b0c0c", weight: 3, fillColor: "#ffffff", fillOpacity: 1 })
      .bindTooltip(label, { direction: "top" })
      .addTo(originLayer);
    points.push(here);
  }
  if (points.length && fit !== false) map.fitBounds(L.latLngBounds(points).pad(0.1), { maxZoom: 16 });
}

// Large catalogues: the server groups places into screen-grid cells; a click zooms in.
export function drawClusters(clusters) {
  markerLayer.clearLayers();
  originLayer.clearLayers();
  clusterLayer.clearLayers();
  markers = {};
  clusters.forEach(function (c) {
    const single = c.count === 1 && c.id !== null;
    const size = single ? 18 : Math.round(28 + 8 * Math.log10(c.count));
    const label = h("span", "pin-label", single ? "" : c.count > 9999 ? Math.round(c.count / 1000) + "k" : c.count);
    const icon = L.divIcon({ className: single ? "pin pin-single" : "pin cluster", html: label, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
    const marker = L.marker([c.lat, c.lon], { icon: icon, keyboard: false });
    marker.bindTooltip(h("span", null, single ? "1 place: select it to see its details" : c.count + " places: select to zoom in"), { direction: "top" });
    marker.on("click", function () {
      if (single) { requestPlace(c.id, { focus: true }); return; }
      const b = L.latLngBounds([c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]);
      if (b.getNorthEast().equals(b.getSouthWest())) map.setView(b.getCenter(), Math.min(map.getZoom() + 3, 18));
      else map.fitBounds(b.pad(0.2), { maxZoom: 18 });
    });
    marker.addTo(clusterLayer);
    hide(marker);
  });
}

export function highlightMarker(id) {
  // Toggle a class rather than setIcon: replacing the element would strand an open tooltip.
  Object.keys(markers).forEach(function (key) {
    const selected = String(id) === key;
    const icon = markers[key].getElement();
    if (icon) icon.classList.toggle("pin-selected", selected);
    markers[key].setZIndexOffset(selected ? 1000 : 0);
  });
}

export function panToMarker(id) {
  if (map && markers[id] && !map.getBounds().pad(-0.1).contains(markers[id].getLatLng())) {
    map.panTo(markers[id].getLatLng());
  }
}

// The legend: the drawn area's words beside a swatch drawn like it, or a note with no swatch.
function showLegend(text, kind) {
  const el = app.el;
  el.mapLegend.hidden = !text;
  el.mapAreaNote.textContent = text || "";
  el.mapLegendSwatch.hidden = !kind;
  el.mapLegendSwatch.className = "swatch" + (kind === "place" ? " swatch-place" : "");
}

// Draws the one area that applies (the place's over the search's), from a style object: no HTML.
function drawAreaLayer(fit) {
  const feature = placeArea || searchArea;
  showLegend(placeArea ? placeLegend : searchLegend, feature ? (placeArea ? "place" : "search") : null);
  if (!map) return;
  areaLayer.clearLayers();
  if (!feature) return;
  const shape = L.geoJSON(feature, { style: placeArea ? PLACE_AREA_STYLE : AREA_STYLE, interactive: false }).addTo(areaLayer);
  if (!fit) return;
  const b = shape.getBounds();
  // Keep every listed place and the whole search area in view; a place's area is shown whole.
  if (!placeArea) Object.keys(markers).forEach(function (k) { b.extend(markers[k].getLatLng()); });
  if (b.isValid()) map.fitBounds(b.pad(0.05), { maxZoom: 16 });
}

// The area reachable from the search point (null: none), and the legend's words for it. A note
// with no area (e.g. why it could not be drawn) is shown as the legend, without a swatch.
export function drawSearchArea(feature, legend) {
  searchArea = feature || null;
  searchLegend = legend || "";
  if (!placeArea) drawAreaLayer(Boolean(feature));
}

export function drawPlaceArea(feature, legend) {
  placeArea = feature || null;
  placeLegend = feature ? legend || "" : "";
  drawAreaLayer(Boolean(feature));
}

export function viewBbox() {
  const b = map.getBounds();
  const r = function (v, lim) { return Math.max(-lim, Math.min(lim, Math.round(v * 1e5) / 1e5)); };
  return [r(b.getWest(), 180), r(b.getSouth(), 85), r(b.getEast(), 180), r(b.getNorth(), 85)];
}

export function getZoom() {
  return Math.round(map.getZoom());
}
