/* The household form: with JavaScript and Leaflet, a map to put the home's pin on instead of a
 * postcode. Without them the form works by postcode alone. The pin's lon/lat go into the form's
 * hidden fields and are sent only when the form is saved. */

function regionCentre(config) {
  const box = (config.regions || []).map(function (r) { return r.bbox; }).find(Boolean);
  return box ? [(box[1] + box[3]) / 2, (box[0] + box[2]) / 2] : [52.66, -0.72];
}

async function startPin(root) {
  if (typeof L === "undefined") return;
  const form = root.closest("form");
  const lon = form.querySelector("[data-pin-lon]");
  const lat = form.querySelector("[data-pin-lat]");
  const status = root.querySelector("[data-pin-status]");
  const postcode = form.querySelector("#postcode");
  let config = { regions: [] };
  try {
    const r = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (r.ok) config = await r.json();
  } catch (e) { /* the map still works without tiles */ }
  root.hidden = false;
  const map = L.map("pin-map").setView(regionCentre(config), 13);
  map.attributionControl.setPrefix(false); // the data licences are in the page footer
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "", maxZoom: 19 }).addTo(map);
  }
  let marker = null;
  function place(latlng) {
    if (marker) marker.setLatLng(latlng); else marker = L.marker(latlng, { keyboard: false }).addTo(map);
    lon.value = latlng.lng.toFixed(6);
    lat.value = latlng.lat.toFixed(6);
    postcode.value = "";
    status.textContent = "A pin is on the map. Save the household to use it.";
  }
  if (lon.value && lat.value) place(L.latLng(parseFloat(lat.value), parseFloat(lon.value)));
  map.on("click", function (e) { place(e.latlng); });
  postcode.addEventListener("input", function () {
    if (postcode.value.trim() && marker) {
      map.removeLayer(marker);
      marker = null;
      lon.value = "";
      lat.value = "";
      status.textContent = "The postcode will be used.";
    }
  });
}

const pin = document.querySelector("[data-pin]");
if (pin) startPin(pin);
