/* kindmap public map page. Plain JS, no build step.
 *
 * Safety rule for this file: place data (names, descriptions, URLs…) only ever reaches
 * the page through textContent / createElement / checked href values. Never innerHTML,
 * never Leaflet bindPopup/bindTooltip with a string.
 */
(function () {
  "use strict";

  var PLACE_LIMIT = 200;
  // A UK postcode (full, or the outward part only is not enough to search on).
  var POSTCODE_RE = /^\s*[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}\s*$/;

  var WELCOME = [
    ["free_to_use", "Free to use"],
    ["no_purchase_needed", "No need to buy anything"],
    ["drop_in", "Drop in — no referral or membership"],
    ["warm_hospitality", "Free tea or coffee"],
    ["toilets", "Toilets"],
    ["seating", "Seating"],
    ["wifi", "Wi-Fi"],
  ];
  // [field, said when true, said when false]; unknown (null) is never shown.
  var ACCESS = [
    ["step_free", "Step-free access", "Not step-free"],
    ["accessible_toilet", "Accessible toilet", "No accessible toilet"],
    ["hearing_loop", "Hearing loop", "No hearing loop"],
    ["quiet_space", "Quiet space", "No quiet space"],
  ];
  var WHEELCHAIR = {
    yes: "Wheelchair accessible",
    limited: "Partly wheelchair accessible",
    no: "Not wheelchair accessible",
  };
  var SOURCES = {
    manual: "Added by the kindmap team",
    resident: "Suggested by a resident",
    council: "From the local council",
    csv: "From a published list",
    oruk: "From an Open Referral UK directory",
  };
  var DAYS = { Mo: "Mon", Tu: "Tue", We: "Wed", Th: "Thu", Fr: "Fri", Sa: "Sat", Su: "Sun", PH: "Bank holidays" };

  var el = {};
  var config = null;
  var categoryLabels = {};
  var map = null;
  var markerLayer = null;
  var originLayer = null;
  var markers = {}; // place id -> L.marker
  var features = [];
  var searchController = null;
  var detailsController = null;
  var tileErrorShown = false;
  var clusterLayer = null;
  var browseTimer = null;
  var extraController = null;
  var ready = false; // config and categories loaded, map set up

  var state = emptyState();

  function emptyState() {
    return {
      postcode: "", q: "", lon: null, lat: null, radius_m: null, category: "",
      free: false, open_now: false, open_at: "", drop_in: false, wheelchair: false, step_free: false, quiet: false,
      place: null,
    };
  }

  // ---------- small DOM helpers ----------

  function h(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function safeHttpUrl(value) {
    if (typeof value !== "string") return null;
    var candidate = value.trim();
    // OSM often stores "www.example.org" without a scheme.
    if (/^www\./i.test(candidate)) candidate = "https://" + candidate;
    try {
      var url = new URL(candidate);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // ---------- formatting ----------

  function plural(n, one, many) {
    return n === 1 ? one : many;
  }

  function formatDistance(metres) {
    if (typeof metres !== "number" || !isFinite(metres)) return null;
    if (metres < 995) return (Math.round(metres / 10) * 10) + " m away";
    return (metres / 1000).toFixed(metres < 10000 ? 1 : 0) + " km away";
  }

  function openWords(open) {
    if (open === true) return "Open now";
    if (open === false) return "Closed now";
    return "Hours not known";
  }

  function formatDate(iso) {
    if (!iso) return null;
    var d = new Date(iso);
    if (isNaN(d.getTime())) return null;
    return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" }).format(d);
  }

  function formatWhen(iso) {
    // next_open is local wall-clock time without a zone; read it as such.
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
    if (!m) return null;
    var d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
    return new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit" }).format(d);
  }

  function friendlyHours(text) {
    // Light touch: one rule per line and day names spelt out; the rest is shown as given.
    return String(text).split(/\s*;\s*/).filter(Boolean).map(function (rule) {
      return rule.replace(/\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b/g, function (d) { return DAYS[d]; })
        .replace(/\boff\b/g, "closed");
    });
  }

  // ---------- URL state ----------

  function readUrl() {
    var q = new URLSearchParams(location.search);
    var s = emptyState();
    s.postcode = (q.get("postcode") || "").slice(0, 10);
    s.q = s.postcode ? "" : (q.get("q") || "").slice(0, 100);
    var lon = parseFloat(q.get("lon"));
    var lat = parseFloat(q.get("lat"));
    if (!s.postcode && !s.q && isFinite(lon) && isFinite(lat) && Math.abs(lon) <= 180 && Math.abs(lat) <= 90) {
      s.lon = lon;
      s.lat = lat;
    }
    var radius = parseInt(q.get("radius_m"), 10);
    if (isFinite(radius) && radius > 0) s.radius_m = radius;
    s.category = q.get("category") || "";
    s.free = q.get("free") === "true";
    s.open_now = q.get("open_now") === "true";
    s.wheelchair = q.get("wheelchair") === "true";
    s.drop_in = q.get("drop_in") === "true";
    s.step_free = q.get("step_free") === "true";
    s.quiet = q.get("quiet") === "true";
    var at = q.get("open_at") || "";
    s.open_at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(at) ? at : "";
    var m = /^#place=(\d+)$/.exec(location.hash);
    s.place = m ? parseInt(m[1], 10) : null;
    return s;
  }

  function searchParams(s, forApi) {
    var q = new URLSearchParams();
    if (s.postcode) q.set("postcode", s.postcode);
    else if (s.q) q.set("q", s.q);
    else if (s.lon !== null) { q.set("lon", String(s.lon)); q.set("lat", String(s.lat)); }
    var hasPoint = Boolean(s.postcode) || s.lon !== null;
    if (s.radius_m && (hasPoint || !forApi)) q.set("radius_m", String(s.radius_m));
    if (s.category) q.set("category", s.category);
    if (s.free) q.set("free", "true");
    if (s.open_at) q.set("open_at", s.open_at);
    else if (s.open_now) q.set("open_now", "true");
    if (s.drop_in) q.set("drop_in", "true");
    if (s.wheelchair) q.set("wheelchair", "true");
    if (s.step_free) q.set("step_free", "true");
    if (s.quiet) q.set("quiet", "true");
    return q;
  }

  function writeUrl(push) {
    var qs = searchParams(state, false).toString();
    var url = location.pathname + (qs ? "?" + qs : "") + (state.place !== null ? "#place=" + state.place : "");
    if (url === location.pathname + location.search + location.hash) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  // The postcode box is only overwritten on history navigation: never wipe what someone typed.
  function stateToForm(opts) {
    if (opts && opts.postcode) el.postcode.value = state.postcode || state.q;
    el.category.value = state.category in categoryLabels ? state.category : "";
    ensureRadiusOption(state.radius_m || defaultRadius());
    el.radius.value = String(Math.round(state.radius_m || defaultRadius()));
    el.free.checked = state.free;
    el.openNow.checked = state.open_now;
    el.wheelchair.checked = state.wheelchair;
    el.dropIn.checked = state.drop_in;
    el.stepFree.checked = state.step_free;
    el.quiet.checked = state.quiet;
    el.openAt.value = state.open_at;
  }

  function ensureRadiusOption(metres) {
    var value = String(Math.round(metres));
    if (el.radius.querySelector('option[value="' + value + '"]')) return;
    var opt = h("option", null, "Within " + Math.round(metres / 100) / 10 + " km");
    opt.value = value;
    el.radius.appendChild(opt);
  }

  function formToFilters() {
    if (ready) state.category = el.category.value; // the options arrive with the config
    var radius = parseInt(el.radius.value, 10) || null;
    state.radius_m = radius === Math.round(defaultRadius()) ? null : radius;
    state.free = el.free.checked;
    state.open_now = el.openNow.checked;
    state.wheelchair = el.wheelchair.checked;
    state.drop_in = el.dropIn.checked;
    state.step_free = el.stepFree.checked;
    state.quiet = el.quiet.checked;
    state.open_at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(el.openAt.value) ? el.openAt.value.slice(0, 16) : "";
  }

  function defaultRadius() {
    return (config && config.default_radius_m) || 3000;
  }

  // ---------- messages ----------

  function showError(message) {
    el.error.textContent = message;
  }

  function clearError() {
    el.error.textContent = "";
    el.postcode.removeAttribute("aria-invalid");
  }

  function setStatus(message) {
    el.status.textContent = message;
  }

  async function errorDetail(response) {
    try {
      var body = await response.json();
      if (typeof body.detail === "string") return body.detail;
      if (Array.isArray(body.detail)) {
        return body.detail.map(function (d) { return d && d.msg ? String(d.msg) : ""; }).filter(Boolean).join(". ");
      }
    } catch (e) { /* not JSON */ }
    return "Something went wrong (" + response.status + "). Please try again.";
  }

  // ---------- map ----------

  function initMap() {
    if (typeof L === "undefined") {
      el.mapNote.textContent = "The map could not load. The places are listed below.";
      el.mapNote.hidden = false;
      return;
    }
    map = L.map(el.map, { zoomControl: true, scrollWheelZoom: false });
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    var tiles = L.tileLayer(config.tile_url, {
      attribution: escapeText(config.tile_attribution || ""),
      maxZoom: 19,
    });
    tiles.on("tileerror", function () {
      if (tileErrorShown) return;
      tileErrorShown = true;
      el.mapNote.hidden = false;
    });
    tiles.addTo(map);
    markerLayer = L.layerGroup().addTo(map);
    clusterLayer = L.layerGroup().addTo(map);
    map.on("moveend", onMapMove);
    originLayer = L.layerGroup().addTo(map);
    fitRegions();
  }

  // Leaflet's attribution control takes HTML; the config text is ours, but escape it anyway.
  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function fitRegions() {
    if (!map) return;
    var regions = (config && config.regions) || [];
    var bounds = null;
    regions.forEach(function (r) {
      if (!Array.isArray(r.bbox) || r.bbox.length !== 4) return;
      var b = L.latLngBounds([r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]);
      bounds = bounds ? bounds.extend(b) : b;
    });
    if (bounds && bounds.isValid()) map.fitBounds(bounds);
    else map.setView([54.5, -2.5], 6);
  }

  function pinIcon(number, selected) {
    var span = h("span", "pin-label", number);
    return L.divIcon({
      className: "pin" + (selected ? " pin-selected" : ""),
      html: span,
      iconSize: [30, 30],
      iconAnchor: [15, 15],
    });
  }

  function drawMarkers(search, fit) {
    if (!map) return;
    clusterLayer.clearLayers();
    markerLayer.clearLayers();
    originLayer.clearLayers();
    markers = {};
    var points = [];
    features.forEach(function (f, i) {
      var c = f.geometry && f.geometry.coordinates;
      if (!c) return;
      var latlng = [c[1], c[0]];
      points.push(latlng);
      // Markers are mouse/touch shortcuts; the list is the keyboard and screen-reader route.
      var marker = L.marker(latlng, { icon: pinIcon(i + 1, f.id === state.place), keyboard: false, riseOnHover: true });
      var tip = document.createElement("span");
      tip.textContent = (i + 1) + ". " + f.properties.name;
      marker.bindTooltip(tip, { direction: "top", offset: [0, -14] });
      marker.on("click", function () { selectPlace(f.id, { focus: true }); });
      marker.addTo(markerLayer);
      var icon = marker.getElement();
      if (icon) icon.setAttribute("aria-hidden", "true");
      markers[f.id] = marker;
    });
    if (search && typeof search.lat === "number" && typeof search.lon === "number") {
      var here = [search.lat, search.lon];
      var label = h("span", null, search.postcode ? "Your search: " + search.postcode : "Your search point");
      L.circleMarker(here, { radius: 7, className: "origin", color: "#0b0c0c", weight: 3, fillColor: "#ffffff", fillOpacity: 1 })
        .bindTooltip(label, { direction: "top" })
        .addTo(originLayer);
      points.push(here);
    }
    if (points.length && fit !== false) map.fitBounds(L.latLngBounds(points).pad(0.1), { maxZoom: 16 });
  }

  // Large catalogues: the server groups places into screen-grid cells; a click zooms in.
  function drawClusters(clusters) {
    markerLayer.clearLayers();
    originLayer.clearLayers();
    clusterLayer.clearLayers();
    markers = {};
    clusters.forEach(function (c) {
      var single = c.count === 1 && c.id !== null;
      var size = single ? 18 : Math.round(28 + 8 * Math.log10(c.count));
      var label = h("span", "pin-label", single ? "" : c.count > 9999 ? Math.round(c.count / 1000) + "k" : c.count);
      var icon = L.divIcon({ className: single ? "pin pin-single" : "pin cluster", html: label, iconSize: [size, size], iconAnchor: [size / 2, size / 2] });
      var marker = L.marker([c.lat, c.lon], { icon: icon, keyboard: false });
      var tip = h("span", null, single ? "1 place: select it to see its details" : c.count + " places: select to zoom in");
      marker.bindTooltip(tip, { direction: "top" });
      marker.on("click", function () {
        if (single) { selectPlace(c.id, { focus: true }); return; }
        var b = L.latLngBounds([c.bbox[1], c.bbox[0]], [c.bbox[3], c.bbox[2]]);
        if (b.getNorthEast().equals(b.getSouthWest())) map.setView(b.getCenter(), Math.min(map.getZoom() + 3, 18));
        else map.fitBounds(b.pad(0.2), { maxZoom: 18 });
      });
      marker.addTo(clusterLayer);
      var node = marker.getElement();
      if (node) node.setAttribute("aria-hidden", "true");
    });
  }

  function highlightMarker(id) {
    // Toggle a class rather than setIcon: replacing the element would strand an open tooltip.
    Object.keys(markers).forEach(function (key) {
      var selected = String(id) === key;
      var icon = markers[key].getElement();
      if (icon) icon.classList.toggle("pin-selected", selected);
      markers[key].setZIndexOffset(selected ? 1000 : 0);
    });
  }

  // ---------- list ----------

  function renderList() {
    clear(el.list);
    features.forEach(function (f, i) {
      var p = f.properties || {};
      var li = h("li", "place-item");
      var button = h("button", "place-button");
      button.type = "button";
      button.dataset.id = String(f.id);
      var num = h("span", "place-num", i + 1);
      num.setAttribute("aria-hidden", "true");
      var text = h("span", "place-text");
      text.appendChild(h("span", "place-name", p.name));
      var meta = [p.category_label || categoryLabels[p.category] || p.category];
      var dist = formatDistance(p.distance_m);
      if (dist) meta.push(dist);
      text.appendChild(h("span", "place-meta", meta.join(" · ")));
      text.appendChild(h("span", "place-open open-" + String(p.open), openWords(p.open)));
      button.appendChild(num);
      button.appendChild(text);
      if (f.id === state.place) button.setAttribute("aria-current", "true");
      button.addEventListener("click", function () { selectPlace(f.id, { focus: true }); });
      li.appendChild(button);
      el.list.appendChild(li);
    });
  }

  function markListSelection(id) {
    Array.prototype.forEach.call(el.list.querySelectorAll("button[data-id]"), function (b) {
      if (b.dataset.id === String(id)) b.setAttribute("aria-current", "true");
      else b.removeAttribute("aria-current");
    });
  }

  // ---------- search ----------

  function describeSearch(search) {
    if (state.q) return "named like \u201c" + state.q + "\u201d";
    if (search && search.postcode) return "near " + search.postcode;
    if (state.postcode) return "near " + state.postcode.toUpperCase();
    if (state.lon !== null) return "near your location";
    return "on this part of the map";
  }

  function filterWords() {
    var words = [];
    if (state.category) words.push(categoryLabels[state.category] || state.category);
    if (state.free) words.push("free to use");
    if (state.open_at) words.push("open " + (formatWhen(state.open_at) || state.open_at));
    else if (state.open_now) words.push("open now");
    if (state.drop_in) words.push("drop in");
    if (state.wheelchair) words.push("wheelchair accessible");
    if (state.step_free) words.push("step-free");
    if (state.quiet) words.push("quiet space");
    return words;
  }

  async function runSearch() {
    clearError();
    if (searchController) searchController.abort();
    searchController = new AbortController();
    var hasPoint = Boolean(state.postcode) || state.lon !== null;
    if (!hasPoint && !state.q && map) return runBrowse(searchController);
    var params = searchParams(state, true);
    params.set("limit", String(PLACE_LIMIT));
    var endpoint = "/api/places?";
    if (state.q) {
      endpoint = "/api/places/search?";
      params.set("limit", "50");
    } else if (!hasPoint) {
      var bbox = regionsBbox();
      if (bbox) params.set("bbox", bbox.join(","));
    }
    el.results.setAttribute("aria-busy", "true");
    setStatus("Searching…");
    var response;
    try {
      response = await fetch(endpoint + params.toString(), {
        headers: { Accept: "application/geo+json, application/json" },
        signal: searchController.signal,
      });
    } catch (e) {
      if (e.name === "AbortError") return;
      el.results.setAttribute("aria-busy", "false");
      setStatus("");
      showError("Could not reach kindmap. Check your connection and try again.");
      return;
    }
    el.results.setAttribute("aria-busy", "false");
    if (!response.ok) {
      var detail = await errorDetail(response);
      features = [];
      renderList();
      drawMarkers(null);
      setStatus("");
      if (state.postcode || state.q) el.postcode.setAttribute("aria-invalid", "true");
      showError(detail);
      return;
    }
    var data = await response.json();
    features = Array.isArray(data.features) ? data.features : [];
    renderList();
    drawMarkers(data.search || null);
    var n = features.length;
    var where = describeSearch(data.search);
    var message;
    if (n === 0) {
      message = state.q
        ? "No places found " + where + ". Check the spelling, try part of the name, or search by postcode."
        : "No places found " + where + ". Try a larger distance or fewer filters.";
    } else {
      message = n + " " + plural(n, "place", "places") + " found " + where;
      if (!hasPoint && !state.q) message += ", A to Z";
      var matched = data.search && typeof data.search.matched === "number" ? data.search.matched : n;
      if (matched > n) message = matched + " places found " + where + " (showing the " + (hasPoint ? "nearest " : "first ") + n + ")";
      message += ".";
    }
    var words = filterWords();
    if (words.length) message += " Showing only: " + words.join(", ") + ".";
    if (!hasPoint && !state.q && n > 0) message += " Search by postcode to see the nearest first.";
    setStatus(message);
  }

  function viewBbox() {
    var b = map.getBounds();
    var r = function (v, lim) { return Math.max(-lim, Math.min(lim, Math.round(v * 1e5) / 1e5)); };
    return [r(b.getWest(), 180), r(b.getSouth(), 85), r(b.getEast(), 180), r(b.getNorth(), 85)];
  }

  async function fetchJson(url, controller) {
    var response = await fetch(url, { headers: { Accept: "application/json" }, signal: controller.signal });
    if (!response.ok) throw new Error(await errorDetail(response));
    return response.json();
  }

  // No search point: show what is in the map view. Few places: list and number them all;
  // many: grid clusters from the server, so 50,000 places cost a few kilobytes.
  async function runBrowse(controller) {
    var params = searchParams(state, true);
    params.set("bbox", viewBbox().join(","));
    el.results.setAttribute("aria-busy", "true");
    setStatus("Searching…");
    var words = filterWords();
    var only = words.length ? " Showing only: " + words.join(", ") + "." : "";
    try {
      var zoomed = new URLSearchParams(params);
      zoomed.set("zoom", String(Math.round(map.getZoom())));
      var grid = await fetchJson("/api/places/clusters?" + zoomed.toString(), controller);
      if (grid.total > PLACE_LIMIT) {
        features = [];
        renderList();
        drawClusters(grid.clusters);
        el.results.setAttribute("aria-busy", "false");
        setStatus(grid.total.toLocaleString("en-GB") + " places on this part of the map." + only +
          " Zoom in, or search by postcode or place name, to list them.");
        return;
      }
      params.set("limit", String(PLACE_LIMIT));
      var data = await fetchJson("/api/places?" + params.toString(), controller);
      features = Array.isArray(data.features) ? data.features : [];
    } catch (e) {
      if (e.name === "AbortError") return;
      el.results.setAttribute("aria-busy", "false");
      setStatus("");
      showError(e.message && e.message !== "Failed to fetch" ? e.message : "Could not reach kindmap. Check your connection and try again.");
      return;
    }
    el.results.setAttribute("aria-busy", "false");
    renderList();
    drawMarkers(null, false);
    var n = features.length;
    setStatus(n === 0
      ? "No places on this part of the map." + only + " Zoom out, move the map or try fewer filters."
      : n + " " + plural(n, "place", "places") + " found " + describeSearch(null) + ", A to Z." + only +
        " Search by postcode to see the nearest first.");
  }

  function isBrowsing() {
    return !state.postcode && !state.q && state.lon === null;
  }

  function onMapMove() {
    if (!ready || !isBrowsing()) return;
    clearTimeout(browseTimer);
    browseTimer = setTimeout(runSearch, 250);
  }

  function regionsBbox() {
    var regions = (config && config.regions) || [];
    var box = null;
    regions.forEach(function (r) {
      var b = r.bbox;
      if (!Array.isArray(b) || b.length !== 4) return;
      box = box ? [Math.min(box[0], b[0]), Math.min(box[1], b[1]), Math.max(box[2], b[2]), Math.max(box[3], b[3])] : b.slice();
    });
    return box;
  }

  // ---------- details ----------

  async function selectPlace(id, opts) {
    state.place = id;
    writeUrl(false);
    markListSelection(id);
    highlightMarker(id);
    if (map && markers[id] && !map.getBounds().pad(-0.1).contains(markers[id].getLatLng())) {
      map.panTo(markers[id].getLatLng());
    }
    if (detailsController) detailsController.abort();
    detailsController = new AbortController();
    el.details.hidden = false;
    clear(el.details);
    el.details.appendChild(h("p", "details-loading", "Loading details…"));
    var response;
    try {
      response = await fetch("/api/places/" + encodeURIComponent(id), {
        headers: { Accept: "application/geo+json, application/json" },
        signal: detailsController.signal,
      });
    } catch (e) {
      if (e.name === "AbortError") return;
      renderDetailsError("Could not load this place. Check your connection and try again.");
      return;
    }
    if (!response.ok) {
      renderDetailsError(await errorDetail(response));
      return;
    }
    var feature = await response.json();
    renderDetails(feature);
    if (opts && opts.focus) document.getElementById("details-name").focus();
  }

  function renderDetailsError(message) {
    clear(el.details);
    var title = h("h2", "details-name", "Place details");
    title.id = "details-name";
    title.tabIndex = -1;
    el.details.appendChild(title);
    el.details.appendChild(h("p", "error", message));
    el.details.appendChild(closeButton());
  }

  function closeButton() {
    var b = h("button", "button button-secondary details-close", "Close details");
    b.type = "button";
    b.addEventListener("click", closeDetails);
    return b;
  }

  function closeDetails() {
    var id = state.place;
    state.place = null;
    writeUrl(false);
    el.details.hidden = true;
    clear(el.details);
    markListSelection(null);
    highlightMarker(null);
    var back = id !== null && el.list.querySelector('button[data-id="' + String(id) + '"]');
    (back || el.resultsHeading).focus();
  }

  function section(parent, title) {
    var wrap = h("div", "details-section");
    wrap.appendChild(h("h3", null, title));
    parent.appendChild(wrap);
    return wrap;
  }

  function bulletList(items) {
    var ul = h("ul", "ticks");
    items.forEach(function (t) { ul.appendChild(h("li", null, t)); });
    return ul;
  }

  function renderDetails(feature) {
    var p = (feature && feature.properties) || {};
    var d = el.details;
    clear(d);

    var title = h("h2", "details-name", p.name);
    title.id = "details-name";
    title.tabIndex = -1;
    d.appendChild(title);
    d.appendChild(h("p", "details-category", p.category_label || categoryLabels[p.category] || p.category));
    var dist = formatDistance(p.distance_m);
    if (dist) d.appendChild(h("p", "details-distance", dist));
    if (p.description) d.appendChild(h("p", "details-description", p.description));

    var welcome = section(d, "What makes it welcoming");
    var yes = WELCOME.filter(function (w) { return p[w[0]] === true; }).map(function (w) { return w[1]; });
    if (yes.length) welcome.appendChild(bulletList(yes));
    else welcome.appendChild(h("p", null, "Not recorded yet. Everyone is welcome to ask."));

    var hours = section(d, "Opening hours");
    hours.appendChild(h("p", "place-open open-" + String(p.open), openWords(p.open)));
    var next = p.open === false && formatWhen(p.next_open);
    if (next) hours.appendChild(h("p", null, "Opens next: " + next));
    if (p.opening_hours) {
      if (p.opening_hours_valid === false) {
        hours.appendChild(h("p", "details-hours-raw", p.opening_hours));
        hours.appendChild(h("p", "note", "We could not read these hours automatically, so we cannot say whether it is open now. Check with the place before you go."));
      } else {
        hours.appendChild(bulletList(friendlyHours(p.opening_hours)));
      }
    }

    var access = section(d, "Accessibility");
    var accessItems = [];
    if (p.wheelchair && WHEELCHAIR[p.wheelchair]) accessItems.push(WHEELCHAIR[p.wheelchair]);
    ACCESS.forEach(function (a) {
      if (p[a[0]] === true) accessItems.push(a[1]);
      else if (p[a[0]] === false) accessItems.push(a[2]);
    });
    if (accessItems.length) access.appendChild(bulletList(accessItems));
    else access.appendChild(h("p", null, "Not recorded yet."));

    var addressParts = [p.address, p.postcode].filter(Boolean);
    if (addressParts.length) {
      var addr = section(d, "Address");
      addr.appendChild(h("p", null, addressParts.join(", ")));
    }

    var contactItems = contactNodes(p);
    if (contactItems.length) {
      var contact = section(d, "Contact");
      var ul = h("ul", "contact");
      contactItems.forEach(function (node) { var li = h("li"); li.appendChild(node); ul.appendChild(li); });
      contact.appendChild(ul);
    }

    var activities = section(d, "Activities here");
    activities.appendChild(h("p", "note", "Looking for activities…"));

    var source = section(d, "Where this comes from");
    source.appendChild(sourceNode(p));
    var verified = formatDate(p.verified_at);
    var imported = formatDate(p.imported_at);
    if (verified && p.source === "resident") source.appendChild(h("p", null, "Approved on " + verified));
    else if (verified) source.appendChild(h("p", null, "Last checked: " + verified));
    else if (imported) source.appendChild(h("p", null, "Added to kindmap: " + imported + " (not checked in person yet)"));

    var notes = section(d, "Kindness notes");
    notes.appendChild(h("p", "note", "Loading notes…"));

    var links = h("ul", "contact details-links");
    var page = h("a", null, "Full page for this place (to share or print)");
    page.href = "/places/" + encodeURIComponent(feature.id);
    var thank = h("a", null, "Say thank you, or report a problem");
    thank.href = "/places/" + encodeURIComponent(feature.id) + "#h-thank";
    [page, thank].forEach(function (a) { var li = h("li"); li.appendChild(a); links.appendChild(li); });
    d.appendChild(links);

    d.appendChild(closeButton());
    loadExtras(feature, activities, notes);
  }

  // Activities (from the opportunities API) and approved kindness notes; both optional extras.
  async function loadExtras(feature, activitiesBox, notesBox) {
    if (extraController) extraController.abort();
    var controller = extraController = new AbortController();
    var c = (feature.geometry && feature.geometry.coordinates) || [];
    var actUrl = "/api/opportunities?place_id=" + encodeURIComponent(feature.id) +
      "&lon=" + c[0] + "&lat=" + c[1] + "&radius_m=150&limit=100";
    var results = await Promise.all([
      fetchJson(actUrl, controller).catch(function () { return null; }),
      fetchJson("/api/places/" + encodeURIComponent(feature.id) + "/kindness-notes", controller).catch(function () { return null; }),
    ]);
    if (controller.signal.aborted) return;
    fillActivities(activitiesBox, Array.isArray(results[0]) ? results[0].filter(function (o) { return o.place_id === feature.id; }) : []);
    fillNotes(notesBox, Array.isArray(results[1]) ? results[1] : []);
  }

  function fillActivities(box, items) {
    box.removeChild(box.lastChild);
    if (!items.length) { box.appendChild(h("p", null, "No activities listed yet.")); return; }
    var ul = h("ul", "ticks");
    items.forEach(function (o) {
      var li = h("li");
      li.appendChild(h("strong", null, o.title));
      var bits = [o.audience, o.cost === "free" ? "free" : null, o.booking === "drop_in" ? "drop in" : null].filter(Boolean);
      if (bits.length) li.appendChild(document.createTextNode(" — " + bits.join(", ")));
      var next = formatWhen(o.next_on);
      if (next) li.appendChild(h("span", "note", " Next: " + next));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  function fillNotes(box, notes) {
    box.removeChild(box.lastChild);
    if (!notes.length) { box.appendChild(h("p", null, "No notes yet.")); return; }
    var ul = h("ul", "ticks kindness-notes");
    notes.slice(0, 5).forEach(function (n) {
      var li = h("li");
      li.appendChild(h("q", null, n.text));
      var when = formatDate(n.approved_at);
      if (when) li.appendChild(h("span", "note", " (" + when + ")"));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }

  function contactNodes(p) {
    var out = [];
    var web = safeHttpUrl(p.website);
    if (web) {
      var a = h("a", null, "Website: " + web.replace(/^https?:\/\//, "").replace(/\/$/, ""));
      a.href = web;
      a.rel = "noopener noreferrer nofollow";
      out.push(a);
    } else if (p.website) {
      out.push(h("span", null, "Website (not a web address, so not linked): " + p.website));
    }
    if (p.phone) {
      var digits = String(p.phone).replace(/[^\d+]/g, "");
      if (/^\+?\d{6,15}$/.test(digits)) {
        var tel = h("a", null, "Phone: " + p.phone);
        tel.href = "tel:" + digits;
        out.push(tel);
      } else {
        out.push(h("span", null, "Phone: " + p.phone));
      }
    }
    if (p.email) {
      if (/^[^\s@<>()"',;:\\]+@[^\s@<>()"',;:\\]+\.[^\s@<>()"',;:\\]+$/.test(p.email)) {
        var mail = h("a", null, "Email: " + p.email);
        mail.href = "mailto:" + p.email;
        out.push(mail);
      } else {
        out.push(h("span", null, "Email: " + p.email));
      }
    }
    return out;
  }

  function sourceNode(p) {
    var para = h("p");
    if (p.source === "osm") {
      para.appendChild(document.createTextNode("OpenStreetMap, ODbL"));
      if (typeof p.source_id === "string" && /^(node|way|relation)\/\d+$/.test(p.source_id)) {
        para.appendChild(document.createTextNode(" — "));
        var a = h("a", null, "see or improve it on OpenStreetMap");
        a.href = "https://www.openstreetmap.org/" + p.source_id;
        para.appendChild(a);
      }
    } else {
      var words = p.source === "resident" ? "Suggested by a resident" : SOURCES[p.source] || (p.source ? "Source: " + p.source : "Source not recorded");
      if (p.source_licence) words += " (" + p.source_licence + ")";
      para.textContent = words;
    }
    return para;
  }

  // ---------- events ----------

  function onSubmit(event) {
    event.preventDefault();
    var typed = el.postcode.value.trim();
    if (!typed) {
      el.postcode.setAttribute("aria-invalid", "true");
      showError("Enter a postcode (for example LE15 6HP) or a place name, or use your location.");
      el.postcode.focus();
      return;
    }
    formToFilters();
    var isPostcode = POSTCODE_RE.test(typed);
    state.postcode = isPostcode ? typed : "";
    state.q = isPostcode ? "" : typed;
    state.lon = null;
    state.lat = null;
    state.place = null;
    el.details.hidden = true;
    writeUrl(true);
    if (ready) runSearch(); // else start() runs it once the page is set up
  }

  function onFilterChange() {
    formToFilters();
    writeUrl(false);
    if (ready) runSearch();
  }

  function onLocate() {
    clearError();
    if (!("geolocation" in navigator)) {
      showError("This browser cannot share your location. Type a postcode instead.");
      return;
    }
    setStatus("Finding your location…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      formToFilters();
      // About 100 m precision is enough to sort places by distance, and keeps the
      // shareable URL from pinpointing a home.
      state.lon = Math.round(pos.coords.longitude * 1000) / 1000;
      state.lat = Math.round(pos.coords.latitude * 1000) / 1000;
      state.postcode = "";
      state.q = "";
      state.place = null;
      el.details.hidden = true;
      writeUrl(true);
      if (ready) runSearch();
    }, function (err) {
      setStatus("");
      showError(err && err.code === 1
        ? "Location permission was not given. Type a postcode instead."
        : "We could not find your location. Type a postcode instead.");
    }, { enableHighAccuracy: false, timeout: 15000, maximumAge: 600000 });
  }

  function onPopState() {
    state = readUrl();
    stateToForm({ postcode: true });
    clearError();
    runSearch().then(restorePlace);
  }

  function restorePlace() {
    if (state.place !== null) selectPlace(state.place, { focus: false });
    else { el.details.hidden = true; clear(el.details); }
  }

  // ---------- start ----------

  async function loadJson(url) {
    var r = await fetch(url, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(await errorDetail(r));
    return r.json();
  }

  async function start() {
    el = {
      form: document.getElementById("search"),
      postcode: document.getElementById("postcode"),
      locate: document.getElementById("locate"),
      category: document.getElementById("category"),
      radius: document.getElementById("radius"),
      free: document.getElementById("free"),
      openNow: document.getElementById("open-now"),
      wheelchair: document.getElementById("wheelchair"),
      dropIn: document.getElementById("drop-in"),
      stepFree: document.getElementById("step-free"),
      quiet: document.getElementById("quiet"),
      openAt: document.getElementById("open-at"),
      error: document.getElementById("search-error"),
      status: document.getElementById("status"),
      map: document.getElementById("map"),
      mapNote: document.getElementById("map-note"),
      list: document.getElementById("place-list"),
      results: document.getElementById("results"),
      resultsHeading: document.getElementById("results-heading"),
      details: document.getElementById("details"),
      attribution: document.getElementById("attribution"),
    };
    state = readUrl();
    if (state.postcode || state.q) el.postcode.value = state.postcode || state.q;
    // Listen at once: people on slow connections type and press Enter before the rest arrives.
    el.form.addEventListener("submit", onSubmit);
    el.locate.addEventListener("click", onLocate);
    [el.category, el.radius, el.free, el.openNow, el.wheelchair, el.dropIn, el.stepFree, el.quiet, el.openAt].forEach(function (input) {
      input.addEventListener("change", onFilterChange);
    });
    window.addEventListener("popstate", onPopState);
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !el.details.hidden && el.details.contains(document.activeElement)) closeDetails();
    });

    try {
      var both = await Promise.all([loadJson("/api/config"), loadJson("/api/categories")]);
      config = both[0];
      both[1].forEach(function (c) {
        categoryLabels[c.slug] = c.label;
        var opt = h("option", null, c.label);
        opt.value = c.slug;
        el.category.appendChild(opt);
      });
    } catch (e) {
      showError("Could not load kindmap. Check your connection and reload the page.");
      return;
    }
    if (config.attribution) el.attribution.textContent = config.attribution;
    stateToForm();
    initMap();
    ready = true;
    await runSearch();
    restorePlace();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
