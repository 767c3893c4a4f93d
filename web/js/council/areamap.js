/* The council's two maps side by side: small areas coloured by walking reach (left) and by
 * deprivation decile (right), "no data" hatched, views kept in step. Names reach the page only
 * through textContent (tooltips are elements, never HTML strings). Leaflet is the vendored copy. */

import { h, escapeText } from "../dom.js";

export const REACH_STEPS = ["#800026", "#e31a1c", "#fd8d3c", "#fed976", "#ffffcc"]; // 0–20% … 80–100% within reach
export const DECILES = ["#3f007d", "#54278f", "#6a51a3", "#807dba", "#9e9ac8", "#bcbddc", "#dadaeb", "#efedf5", "#f7f5fb", "#fcfbfd"];
const SVG = "http://www.w3.org/2000/svg";
const HATCH = "url(#no-data-hatch)";

export function reachColour(share) {
  if (share === null || share === undefined) return HATCH;
  return REACH_STEPS[Math.min(Math.floor(share * REACH_STEPS.length), REACH_STEPS.length - 1)];
}

function decileColour(d) {
  return d ? DECILES[d - 1] : HATCH;
}

/* A diagonal-line pattern in the map's own SVG, so "no data" areas are hatched, not just pale. */
function addHatch(map) {
  const svg = map.getPanes().overlayPane.querySelector("svg");
  if (!svg || svg.querySelector("#no-data-hatch")) return;
  const defs = document.createElementNS(SVG, "defs");
  const pattern = document.createElementNS(SVG, "pattern");
  [["id", "no-data-hatch"], ["patternUnits", "userSpaceOnUse"], ["width", "8"], ["height", "8"], ["patternTransform", "rotate(45)"]]
    .forEach(function (a) { pattern.setAttribute(a[0], a[1]); });
  const back = document.createElementNS(SVG, "rect");
  [["width", "8"], ["height", "8"], ["fill", "#ffffff"]].forEach(function (a) { back.setAttribute(a[0], a[1]); });
  const line = document.createElementNS(SVG, "line");
  [["x1", "0"], ["y1", "0"], ["x2", "0"], ["y2", "8"], ["stroke", "#555555"], ["stroke-width", "3"]].forEach(function (a) { line.setAttribute(a[0], a[1]); });
  pattern.appendChild(back);
  pattern.appendChild(line);
  defs.appendChild(pattern);
  svg.insertBefore(defs, svg.firstChild);
}

function baseMap(el, config) {
  const map = L.map(el, { scrollWheelZoom: false, renderer: L.svg() });
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: escapeText(config.tile_attribution || ""), maxZoom: 19, opacity: 0.6 }).addTo(map);
  }
  return map;
}

function tip(lines) {
  const box = h("div", "map-tip");
  lines.forEach(function (line, i) {
    box.appendChild(h(i ? "span" : "strong", null, line));
    box.appendChild(h("br"));
  });
  return box;
}

export class AreaMaps {
  constructor(reachEl, deprivationEl, config) {
    this.reach = baseMap(reachEl, config);
    this.deprivation = baseMap(deprivationEl, config);
    this.layers = [];
    this.syncing = false;
    const self = this;
    [[this.reach, this.deprivation], [this.deprivation, this.reach]].forEach(function (pair) {
      pair[0].on("moveend", function () {
        if (self.syncing) return;
        self.syncing = true;
        pair[1].setView(pair[0].getCenter(), pair[0].getZoom(), { animate: false });
        self.syncing = false;
      });
    });
  }

  clear() {
    this.layers.forEach(function (l) { l.remove(); });
    this.layers = [];
  }

  /* areas: the API's areas (with geometry); places: [{name, lon, lat}]; minutes: the walk. */
  show(areas, places, minutes) {
    this.clear();
    const features = areas.filter(function (a) { return a.geometry; }).map(function (a) {
      return { type: "Feature", geometry: a.geometry, properties: a };
    });
    const collection = { type: "FeatureCollection", features: features };
    const describe = function (a) {
      const lines = [a.label || a.name, a.name + " · " + a.code];
      if (a.no_data) lines.push("No data: not judged");
      else lines.push(Math.round((a.share_covered || 0) * 100) + "% of " + a.households + " households within " + minutes + " min");
      lines.push("Deprivation decile: " + (a.deprivation_decile || "not known"));
      return lines;
    };
    const reachLayer = L.geoJSON(collection, {
      style: function (f) {
        const a = f.properties;
        return { className: "area-shape", fillColor: a.no_data ? HATCH : reachColour(a.share_covered), fillOpacity: 0.75, color: "#444", weight: 1 };
      },
      onEachFeature: function (f, layer) { layer.bindTooltip(tip(describe(f.properties)), { sticky: true }); },
    }).addTo(this.reach);
    const depLayer = L.geoJSON(collection, {
      style: function (f) { return { className: "area-shape", fillColor: decileColour(f.properties.deprivation_decile), fillOpacity: 0.8, color: "#444", weight: 1 }; },
      onEachFeature: function (f, layer) { layer.bindTooltip(tip(describe(f.properties)), { sticky: true }); },
    }).addTo(this.deprivation);
    const dots = L.featureGroup((places || []).map(function (p) {
      return L.circleMarker([p.lat, p.lon], { radius: 3, color: "#1b4f9c", weight: 1, fillOpacity: 0.9 })
        .bindTooltip(h("span", "map-tip", p.name));
    })).addTo(this.reach);
    this.layers.push(reachLayer, depLayer, dots);
    addHatch(this.reach);
    addHatch(this.deprivation);
    const bounds = reachLayer.getBounds();
    if (bounds.isValid()) this.reach.fitBounds(bounds, { padding: [8, 8] });
    else this.reach.setView([54.5, -3], 5);
  }

  invalidate() {
    this.reach.invalidateSize();
    this.deprivation.invalidateSize();
  }
}

/* The legends: lists under each map (always visible, never behind the attribution). */
export function legends(reachList, decileList) {
  [reachList, decileList].forEach(function (l) { while (l.firstChild) l.removeChild(l.firstChild); });
  REACH_STEPS.forEach(function (_c, i) {
    const li = h("li");
    li.appendChild(h("span", "key-swatch reach-" + i));
    li.appendChild(document.createTextNode(i * 20 + "–" + (i + 1) * 20 + "%"));
    reachList.appendChild(li);
  });
  DECILES.forEach(function (_c, i) {
    const li = h("li");
    li.appendChild(h("span", "key-swatch decile-" + (i + 1)));
    li.appendChild(document.createTextNode(String(i + 1) + (i === 0 ? " (most deprived)" : i === 9 ? " (least deprived)" : "")));
    decileList.appendChild(li);
  });
  [reachList, decileList].forEach(function (l) {
    const li = h("li");
    li.appendChild(h("span", "key-swatch no-data"));
    li.appendChild(document.createTextNode("no data"));
    l.appendChild(li);
  });
}
