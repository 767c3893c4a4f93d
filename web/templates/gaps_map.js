// The gap map: reads the page's JSON data block and builds the Leaflet layers.
// Every outside text (area, place and region names) is set with textContent or text
// nodes, never innerHTML, so a name shows exactly as written and can never become markup
// or code. Inlined into map.html by kindmap.maps (its CSP allows this script by hash).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("map-data").textContent);

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Leaflet writes attribution with innerHTML: the text is the project's own, escaped anyway.
  function escaped(text) {
    return el("span", null, text).innerHTML;
  }

  var map = L.map("map");
  L.control.scale({ position: "bottomleft" }).addTo(map);
  if (data.tile_url) {
    L.tileLayer(data.tile_url, { maxZoom: 19 }).addTo(map);
  }
  map.attributionControl.addAttribution(escaped(data.attribution));

  function areaTip(p) {
    var box = el("div", "gap-tip");
    box.appendChild(el("b", null, p.name));
    box.appendChild(document.createTextNode(" (" + p.code + ")"));
    p.lines.forEach(function (line) {
      box.appendChild(el("br"));
      box.appendChild(document.createTextNode(line));
    });
    return box;
  }

  var areas = L.geoJSON(data.areas, {
    style: function (f) {
      return { fillColor: f.properties.fill, color: "#555", weight: 0.6, fillOpacity: 0.7 };
    },
    onEachFeature: function (f, layer) {
      layer.bindTooltip(areaTip(f.properties), { sticky: true });
    }
  }).addTo(map);

  var dots = L.featureGroup(data.places.map(function (p) {
    var dot = L.circleMarker([p.lat, p.lon], { radius: 3, color: "#1b4f9c", weight: 1, fill: true, fillOpacity: 0.8 });
    return dot.bindTooltip(el("span", "gap-tip", p.name));
  })).addTo(map);

  // Top right: at the bottom the long attribution bar covered it on smaller screens.
  var legend = L.control({ position: "topright" });
  legend.onAdd = function () {
    var box = el("div", "gap-legend");
    box.appendChild(el("div", "title", data.legend.title));
    box.appendChild(el("div", null, data.legend.subtitle));
    data.legend.steps.forEach(function (step) {
      var row = el("div", "step");
      var swatch = el("i", "swatch");
      swatch.style.background = step.colour;
      row.appendChild(swatch);
      row.appendChild(document.createTextNode(step.label));
      box.appendChild(row);
    });
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  legend.addTo(map);

  var bounds = areas.getBounds();
  if (!bounds.isValid() && dots.getLayers().length) bounds = dots.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [12, 12] });
  } else {
    map.setView([54.5, -3], 5);  // nothing to show: Great Britain
  }
  document.body.setAttribute("data-map-ready", "1");
}());
