/* What-if on the map: place hypothetical welcoming places (click the reach map, or "at the map's
 * centre" from the keyboard) and see the households they would bring within the walk, by decile;
 * and the best new sites as markers with their gains. Figures come from /api/gaps/what-if and
 * /api/gaps/best-sites; every text goes in with textContent. */

import { h, clear } from "../dom.js";

const MAX_NEW = 50; // the API's limit

export function households(n) {
  const r = Math.round(n);
  return r.toLocaleString("en-GB") + (r === 1 ? " household" : " households");
}

function decileName(d) {
  return d === "1" || d === 1 ? "1 (most deprived)" : d === "10" || d === 10 ? "10 (least deprived)" : String(d);
}

/* Households within reach now, after the change and gained, by deprivation decile (a what-if's
 * answer from the API), as a table in a keyboard-scrollable wrapper; null when there are no deciles. */
export function gainTable(r, id, afterLabel) {
  const rows = Object.keys(r.change_by_decile).sort(function (a, b) { return Number(a) - Number(b); });
  if (!rows.length) return null;
  const t = h("table", "council-table");
  t.id = id;
  t.appendChild(h("caption", null, "Households gained, by deprivation decile"));
  const head = h("tr");
  ["Deprivation decile", "Within reach now", afterLabel, "Gained"].forEach(function (c, i) {
    const th = h("th", i ? "num" : null, c); th.scope = "col"; head.appendChild(th);
  });
  const thead = h("thead"); thead.appendChild(head); t.appendChild(thead);
  const body = h("tbody");
  rows.forEach(function (d) {
    const tr = h("tr");
    const th = h("th", null, decileName(d)); th.scope = "row"; tr.appendChild(th);
    [r.before.by_decile[d], r.after.by_decile[d], r.change_by_decile[d]].forEach(function (v, i) {
      tr.appendChild(h("td", "num", (i === 2 && v > 0.5 ? "+" : "") + Math.round(v).toLocaleString("en-GB")));
    });
    body.appendChild(tr);
  });
  t.appendChild(body);
  const wrap = h("div", "table-wrap");
  wrap.tabIndex = 0; // keyboard users can scroll it on a phone
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", "Households gained, by deprivation decile");
  wrap.appendChild(t);
  return wrap;
}

export class WhatIf {
  constructor({ map, api, query, el }) {
    this.map = map; // the reach map (Leaflet)
    this.api = api; // async (method, url, body) → JSON
    this.query = query; // () → {region, minutes, profile, slot}
    this.el = el;
    this.points = [];
    this.layer = L.layerGroup().addTo(map);
    this.sites = L.layerGroup().addTo(map);
    this.active = false;
    this.seq = 0;
    const self = this;
    map.on("click", function (e) { if (self.active) self.add(e.latlng.lng, e.latlng.lat); });
    el.toggle.addEventListener("click", function () { self.setActive(!self.active); });
    el.centre.addEventListener("click", function () { const c = map.getCenter(); self.add(c.lng, c.lat); });
    el.clear.addEventListener("click", function () { self.reset(); el.toggle.focus(); });
    el.best.addEventListener("click", function () { self.bestSites(); });
  }

  setActive(on) {
    this.active = on;
    this.el.toggle.setAttribute("aria-pressed", on ? "true" : "false");
    this.map.getContainer().classList.toggle("placing", on);
  }

  reset() {
    this.points = [];
    this.layer.clearLayers();
    this.sites.clearLayers();
    clear(this.el.result);
    clear(this.el.bestResult);
    this.el.clear.hidden = true;
    this.setActive(false);
  }

  add(lon, lat) {
    if (this.points.length >= MAX_NEW) {
      this.el.result.textContent = "At most " + MAX_NEW + " new places at once. Remove them to start again.";
      return;
    }
    const n = this.points.length + 1;
    this.points.push({ lon: Math.round(lon * 1e6) / 1e6, lat: Math.round(lat * 1e6) / 1e6, name: "New place " + n });
    L.circleMarker([lat, lon], { radius: 9, color: "#000", weight: 2, fillColor: "#00a36c", fillOpacity: 0.95 })
      .bindTooltip(h("span", "map-tip", "New place " + n)).addTo(this.layer);
    this.el.clear.hidden = false;
    this.run();
  }

  async run() {
    const seq = ++this.seq;
    const q = this.query();
    this.el.result.textContent = "Working out what " + (this.points.length === 1 ? "the new place" : "the new places") + " would change…";
    try {
      const r = await this.api("POST", "/api/gaps/what-if", { region: q.region, minutes: Number(q.minutes), profile: q.profile, slot: q.slot, add: this.points });
      if (seq !== this.seq) return;
      this.render(r);
    } catch (e) {
      if (seq === this.seq) this.el.result.textContent = e.message;
    }
  }

  render(r) {
    const box = this.el.result;
    clear(box);
    const gained = r.change_covered_households;
    const total = r.households || 0;
    const what = this.points.length === 1 ? "This new place" : "These " + this.points.length + " new places";
    const share = function (n) { return total ? Math.round(n / total * 100) + "%" : "–"; };
    box.appendChild(h("p", "what-if-headline", Math.round(gained) <= 0
      ? what + " would bring no more households within " + r.minutes + " minutes' walk: they are already within reach of a place, or nobody lives near."
      : what + " would bring " + households(gained) + " more within " + r.minutes + " minutes' walk: from " +
        share(r.before.covered_households) + " to " + share(r.after.covered_households) + " of households."));
    const table = gainTable(r, "what-if-deciles", "With the new places");
    if (table) box.appendChild(table);
  }

  async bestSites() {
    const q = this.query();
    const out = this.el.bestResult;
    out.textContent = "Finding the best new sites among the area's other places…";
    this.sites.clearLayers();
    try {
      const params = new URLSearchParams({ region: q.region, minutes: q.minutes, profile: q.profile, slot: q.slot, k: "5" });
      const r = await this.api("GET", "/api/gaps/best-sites?" + params.toString());
      clear(out);
      if (!r.sites.length) { out.appendChild(h("p", null, "No other place would bring more households within reach.")); return; }
      out.appendChild(h("p", null, "The " + r.sites.length + " places (not counted now, such as halls and places of worship) that would " +
        "bring the most households within " + r.minutes + " minutes' walk if they opened as welcoming places, each adding to the ones before:"));
      const list = h("ol", "best-sites");
      list.id = "best-sites-list";
      const sites = this.sites;
      r.sites.forEach(function (s) {
        const text = s.name + ": +" + households(s.households_added) + (s.most_deprived_households_added >= 0.5
          ? " (" + Math.round(s.most_deprived_households_added) + " in the most deprived areas)" : "");
        list.appendChild(h("li", null, text));
        L.marker([s.lat, s.lon], { title: s.name, alt: s.name, keyboard: false })
          .bindTooltip(h("span", "map-tip", s.rank + ". " + text)).addTo(sites);
      });
      out.appendChild(list);
    } catch (e) {
      out.textContent = e.message;
    }
  }
}
