/* What-if, a place opens for longer: choose one of the places the analysis counts (from the list,
 * or "Choose a place on the map" and click its ring on the walking-reach map), choose the times to
 * add, and see the households it would bring within the walk in the chosen time slot, by decile.
 * The places come from /api/gaps/places, the figures from /api/gaps/what-if/hours; every text goes
 * in with textContent. */

import { h, clear } from "../dom.js";
import { gainTable, households } from "./whatif.js";

const WHEN = { any: "at any time", weekday_daytime: "on weekday daytimes", weekday_evening: "on weekday evenings", weekend: "at weekends" };

export class LongerHours {
  constructor({ map, api, query, el }) {
    this.map = map; // the reach map (Leaflet)
    this.api = api; // async (method, url, body) → JSON
    this.query = query; // () → {region, minutes, profile, slot}
    this.el = el;
    this.places = [];
    this.layer = L.layerGroup(); // rings for the places, shown while choosing on the map
    this.picking = false;
    this.seq = 0;
    this.loading = 0;
    const self = this;
    el.form.addEventListener("submit", function (e) { e.preventDefault(); self.run(); });
    el.add.addEventListener("change", function () { self.showWindows(); });
    el.place.addEventListener("change", function () { self.describePlace(); });
    el.pick.addEventListener("click", function () { self.setPicking(!self.picking); });
    this.showWindows();
  }

  showWindows() {
    const own = this.el.add.value === "windows";
    this.el.windowsField.hidden = !own;
    this.el.windows.required = own;
  }

  setPicking(on) {
    this.picking = on && this.places.length > 0;
    this.el.pick.setAttribute("aria-pressed", this.picking ? "true" : "false");
    if (this.picking) this.layer.addTo(this.map); else this.layer.remove();
  }

  /* A new analysis (region, walk, pace or slot changed): forget the last answer and list its places. */
  async show(q) {
    const mine = ++this.loading;
    clear(this.el.result);
    this.setPicking(false);
    this.el.place.disabled = true;
    this.el.run.disabled = true;
    try {
      const params = new URLSearchParams({ region: q.region, minutes: q.minutes, profile: q.profile, slot: q.slot });
      const r = await this.api("GET", "/api/gaps/places?" + params.toString());
      if (mine !== this.loading) return;
      this.fill(r.places);
    } catch (e) {
      if (mine === this.loading) this.el.result.textContent = e.message;
    }
  }

  fill(places) {
    this.places = places;
    const select = this.el.place;
    clear(select);
    this.layer.clearLayers();
    const seen = {};
    const self = this;
    places.forEach(function (p) {
      seen[p.name] = (seen[p.name] || 0) + 1;
      const o = h("option", null, p.name + (seen[p.name] > 1 ? " (" + seen[p.name] + ")" : "") +
        (p.open_in_slot ? " — open then" : " — not open then"));
      o.value = String(p.place_id);
      select.appendChild(o);
      L.circleMarker([p.lat, p.lon], { radius: 8, color: "#b35900", weight: 3, fillColor: "#fff", fillOpacity: 0.6,
        className: "longer-hours-place", bubblingMouseEvents: false })
        .bindTooltip(h("span", "map-tip", p.name))
        .on("click", function () { self.choose(p.place_id); })
        .addTo(self.layer);
    });
    select.disabled = !places.length;
    this.el.run.disabled = !places.length;
    if (!places.length) this.el.result.textContent = "No places are counted here, so there is none to open for longer.";
    this.describePlace();
  }

  describePlace() {
    const id = Number(this.el.place.value);
    const p = this.places.find(function (x) { return x.place_id === id; });
    this.el.hours.textContent = !p ? "" : p.opening_hours ? "Opening hours recorded: " + p.opening_hours
      : "No opening hours recorded: it counts as open only at the times added.";
  }

  /* A place clicked on the map: select it in the list and work it out. */
  choose(placeId) {
    this.el.place.value = String(placeId);
    this.describePlace();
    this.setPicking(false);
    this.run();
  }

  async run() {
    const q = this.query();
    const id = Number(this.el.place.value);
    if (!id) return;
    const add = this.el.add.value;
    if (add === "windows" && !this.el.windows.value.trim()) {
      this.el.result.textContent = "Type the times to add, for example: Tue 18:00-20:00, Sat 10:00-13:00";
      this.el.windows.focus();
      return;
    }
    const seq = ++this.seq;
    this.el.result.textContent = "Working out what longer hours would change…";
    try {
      const body = { region: q.region, minutes: Number(q.minutes), profile: q.profile, slot: q.slot, place_id: id, add: add };
      if (add === "windows") body.windows = this.el.windows.value.trim();
      const r = await this.api("POST", "/api/gaps/what-if/hours", body);
      if (seq !== this.seq) return;
      this.render(r);
    } catch (e) {
      if (seq === this.seq) this.el.result.textContent = e.message;
    }
  }

  render(r) {
    const box = this.el.result;
    clear(box);
    const p = r.place;
    const when = WHEN[r.slot] || "then";
    const total = r.households || 0;
    const share = function (n) { return total ? Math.round(n / total * 100) + "%" : "–"; };
    const gained = Math.round(r.change_covered_households);
    let headline;
    if (p.open_in_slot_before && r.slot === "any") {
      headline = "With \"Any time\" every place counts, whatever its hours, so longer hours change nothing here. " +
        "Choose a time under \"Open\" (for example weekday evenings) and press Show to see what they would change then.";
    } else if (p.open_in_slot_before && gained >= 0) {
      headline = p.name + " is already open " + when + ", so longer hours would bring no more households within " +
        r.minutes + " minutes' walk " + when + ".";
    } else if (!p.open_in_slot_after) {
      headline = "Opening " + p.name + " " + p.added + " would still not open it " + when +
        ", so no more households would be within reach then. Choose times that fall " + when + ".";
    } else if (gained <= 0) {
      headline = "Opening " + p.name + " " + p.added + " would bring no more households within " + r.minutes +
        " minutes' walk " + when + ": they are already within reach of a place open then, or nobody lives near.";
    } else {
      headline = "Opening " + p.name + " " + p.added + " would bring " + households(gained) + " more within " +
        r.minutes + " minutes' walk " + when + ": from " + share(r.before.covered_households) + " to " +
        share(r.after.covered_households) + " of households.";
    }
    if (gained < 0) {
      headline = "With these hours " + p.name + " would no longer count as open " + when + " (its hours were not recorded): " +
        households(-gained) + " fewer within " + r.minutes + " minutes' walk then.";
    }
    box.appendChild(h("p", "what-if-headline", headline));
    box.appendChild(h("p", "hint", "Opening hours with the change: " + p.hours_after));
    const table = gainTable(r, "longer-hours-deciles", "With longer hours");
    if (table) box.appendChild(table);
  }
}
