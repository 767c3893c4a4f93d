/* A household's page: the map beside its suggestions (below them on a phone), with the walk from
 * home to each, drawn from /api/households/{id}/routes (the same suggestions, numbered as the list).
 * Leaflet is fetched when the map is about to be seen. Without tiles the walks and pins still draw
 * on a plain background. Every name reaches the page by textContent; markers are for pointers,
 * and each suggestion in the list has a "Show the walk" button, the keyboard's way in. */

import { h } from "../dom.js";
import { loadLeaflet } from "../map-loader.js";
import { detailOf, withSession } from "../staff.js";

const WIDE = "(min-width: 60rem)"; // carer.css puts the map beside the list from here
const WALK = { color: "#00525f", weight: 4, opacity: 0.55 };
const SHOWN = { color: "#a4262c", weight: 7, opacity: 1 };

function latLngs(coords) {
  return coords.map(function (c) { return [c[1], c[0]]; });
}

function popupFor(props) {
  const box = h("div", "route-popup");
  box.appendChild(h("strong", null, props.number + ". " + props.name));
  if (props.walk) box.appendChild(h("p", null, props.walk + " walk from home"));
  return box;
}

function pinIcon(number) {
  return L.divIcon({ className: "route-pin", html: h("span", null, number), iconSize: [28, 28], iconAnchor: [14, 14] });
}

function hideFromReaders(layer) {
  const node = layer.getElement && layer.getElement();
  if (node) node.setAttribute("aria-hidden", "true");
}

async function configOf() {
  try {
    const r = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (r.ok) return await r.json();
  } catch (e) { /* no tiles then: the walks still draw */ }
  return {};
}

function draw(panel, status, data, config) {
  // No fade: a popup is readable (and its contrast measurable) the moment it opens.
  const map = L.map("routes-map", { scrollWheelZoom: false, fadeAnimation: false });
  map.attributionControl.setPrefix(false); // the data licences are in the page footer
  if (config.tile_url) {
    const tiles = L.tileLayer(config.tile_url, { attribution: config.tile_attribution ? h("span", null, config.tile_attribution).outerHTML : "", maxZoom: 19 });
    let told = false;
    tiles.on("tileerror", function () {
      if (told) return;
      told = true;
      panel.querySelector(".routes-key").after(h("p", "hint", "The background map could not load; the walks are drawn without it."));
    });
    tiles.addTo(map);
  }
  const shown = {};
  let current = null;
  const bounds = L.latLngBounds([]);
  const wide = window.matchMedia(WIDE);

  function show(number, scroll) {
    const s = shown[number];
    if (!s) return;
    if (current && shown[current]) {
      shown[current].line.setStyle(WALK);
      shown[current].item && shown[current].item.classList.remove("is-shown");
      const old = shown[current].pin.getElement();
      if (old) old.classList.remove("is-shown");
    }
    current = number;
    s.line.setStyle(SHOWN).bringToFront();
    const pin = s.pin.getElement();
    if (pin) pin.classList.add("is-shown");
    if (s.item) s.item.classList.add("is-shown");
    map.fitBounds(s.line.getBounds(), { padding: [30, 30], maxZoom: 17, animate: false }); // then the popup pans into view
    s.pin.openPopup();
    status.textContent = "Showing the walk to " + s.props.name + (s.props.walk ? ": " + s.props.walk + "." : ".");
    if (scroll && !wide.matches) panel.scrollIntoView({ block: "start" });
  }

  data.features.forEach(function (f) {
    const p = f.properties;
    if (p.role === "route") {
      const line = L.polyline(latLngs(f.geometry.coordinates),
        Object.assign({}, WALK, p.travel === "estimated" ? { dashArray: "8 8", color: "#6f777b" } : {})).addTo(map);
      hideFromReaders(line);
      shown[p.number] = Object.assign(shown[p.number] || {}, { line: line, props: p });
      bounds.extend(line.getBounds());
    }
  });
  data.features.forEach(function (f) {
    const p = f.properties;
    const at = [f.geometry.coordinates[1], f.geometry.coordinates[0]];
    if (p.role === "suggestion") {
      const pin = L.marker(at, { icon: pinIcon(p.number), keyboard: false, riseOnHover: true }).addTo(map);
      pin.bindPopup(popupFor(p));
      hideFromReaders(pin);
      pin.on("click", function () { show(p.number, false); });
      shown[p.number] = Object.assign(shown[p.number] || {}, { pin: pin, props: p });
      bounds.extend(at);
    } else if (p.role === "home") {
      const home = L.marker(at, { icon: L.divIcon({ className: "route-home", iconSize: [18, 18], iconAnchor: [9, 9] }), keyboard: false, zIndexOffset: 1000 }).addTo(map);
      home.bindPopup(h("strong", null, "Home"));
      hideFromReaders(home);
      bounds.extend(at);
    }
  });
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
  // The key names the dashed straight line only when one is drawn.
  const guessed = data.features.some(function (f) { return f.properties.travel === "estimated"; });
  panel.querySelector(".key-guess").hidden = !guessed;
  // Each listed suggestion with a walk gets a button that shows it on the map.
  Object.keys(shown).forEach(function (number) {
    const s = shown[number];
    s.item = document.querySelector('.suggestion[data-number="' + number + '"]');
    if (!s.item || !s.line || !s.pin) return;
    const button = h("button", "button button-secondary show-walk", "Show the walk");
    button.type = "button";
    button.appendChild(h("span", "visually-hidden", " to " + s.props.name + " on the map"));
    button.addEventListener("click", function () { show(Number(number), true); });
    s.item.querySelector(".suggestion-actions").appendChild(button);
  });
  const count = Object.keys(shown).length;
  status.textContent = count ? count + (count === 1 ? " walk" : " walks") + " from home on the map." : "No walks to show.";
  return map;
}

async function start(panel) {
  const status = panel.querySelector("[data-routes-status]");
  await loadLeaflet();
  if (typeof L === "undefined") {
    status.textContent = "The map could not load. Every place is in the list.";
    return;
  }
  const [config, answer] = await Promise.all([configOf(), withSession("GET", panel.dataset.routes).catch(function () { return null; })]);
  if (!answer || !answer.ok) {
    status.textContent = "The walks could not load: " + (answer ? await detailOf(answer) : "no connection.");
    return;
  }
  draw(panel, status, await answer.json(), config);
}

function whenNear(panel) {
  if (window.matchMedia(WIDE).matches || !("IntersectionObserver" in window)) {
    start(panel);
    return;
  }
  const watch = new IntersectionObserver(function (entries) {
    if (entries.some(function (e) { return e.isIntersecting; })) {
      watch.disconnect();
      start(panel);
    }
  }, { rootMargin: "300px 0px" });
  watch.observe(panel);
}

const panel = document.querySelector("[data-routes]");
if (panel) {
  panel.hidden = false;
  whenNear(panel);
}
