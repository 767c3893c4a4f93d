/* The council view (signed in with the web session cookie; the server serves it to analysts and
 * admins only): for a council area, who can walk to a welcoming, free place — headline, method and
 * assumptions, maps of reach and deprivation side by side, charts, the areas to look at first by
 * the names people know, what-if on the map — and how up to date the places are.
 * Every text goes in with textContent. */

import { clear, h } from "../dom.js";
import { detailOf, withSession } from "../staff.js";
import { AreaMaps, legends } from "../council/areamap.js";
import { barChart, pct, stackedBars } from "../council/charts.js";
import { WhatIf } from "../council/whatif.js";
import { LongerHours } from "../council/longerhours.js";
import { CouncilsSideBySide } from "../council/councils.js";

let el = {};
let maps = null;
let whatIf = null;
let longer = null;
let councils = null;
let seq = 0; // a slower answer for a choice no longer shown is dropped
let config = {};

function count(n) { return Math.round(Number(n) || 0).toLocaleString("en-GB"); }

function day(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
}

async function api(method, url, body) {
  const r = await withSession(method, url, body);
  if (r.status === 401) { window.location.reload(); throw new Error("Your sign-in has ended. Please sign in again."); }
  if (!r.ok) throw new Error(await detailOf(r));
  return r.json();
}

function query() {
  return { region: el.region.value, minutes: el.minutes.value, profile: el.pace.value, slot: el.slot.value };
}

function decileName(d) {
  if (d === null || d === undefined) return "not known";
  return d === 1 ? "1 (most deprived)" : d === 10 ? "10 (least deprived)" : String(d);
}

function table(id, caption, columns, rows) {
  const wrap = h("div", "table-wrap");
  const t = h("table", "council-table");
  t.id = id;
  t.appendChild(h("caption", null, caption));
  const head = h("thead");
  const hr = h("tr");
  columns.forEach(function (c, i) { const th = h("th", i ? "num" : null, c); th.scope = "col"; hr.appendChild(th); });
  head.appendChild(hr);
  t.appendChild(head);
  const body = h("tbody");
  rows.forEach(function (cells) {
    const tr = h("tr");
    cells.forEach(function (cell, i) {
      const c = i ? h("td", "num") : h("th");
      if (!i) c.scope = "row";
      if (cell instanceof Node) c.appendChild(cell); else c.textContent = cell;
      tr.appendChild(c);
    });
    body.appendChild(tr);
  });
  t.appendChild(body);
  wrap.appendChild(t);
  wrap.tabIndex = 0; // lets keyboard users scroll a table wider than a phone screen
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", caption);
  return wrap;
}

/* An area as people know it, with the statistical name and code in small print. */
function areaName(a) {
  const span = h("span", "area-name");
  span.appendChild(h("span", "area-label", a.label || a.name));
  span.appendChild(h("small", "area-code", a.name + " · " + a.code));
  return span;
}

function renderGaps(g) {
  const q = query();
  el.estimated.hidden = g.method !== "estimated";
  el.estimated.textContent = g.method === "estimated"
    ? "Estimated: " + g.region_name + " has no path network loaded, so walks are straight-line distance with a detour allowance." : "";
  clear(el.headline);
  g.headline.forEach(function (s) { el.headline.appendChild(h("p", null, s)); });
  clear(el.assumptions);
  g.assumptions.concat(g.notes.filter(function (n) { return n.indexOf("no opening hours") === -1; }))
    .forEach(function (s) { el.assumptions.appendChild(h("li", null, s)); });
  const params = new URLSearchParams(q).toString();
  el.pdf.href = "/api/gaps/report.pdf?" + params;
  el.html.href = "/api/gaps/report.html?" + params;

  el.gaps.hidden = false;
  maps.invalidate();
  maps.show(g.areas, g.place_points, g.minutes);
  const noData = g.areas.filter(function (a) { return a.no_data; }).length;
  el.mapNote.hidden = !noData;
  el.mapNote.textContent = noData ? noData + (noData === 1 ? " small area has" : " small areas have") +
    " no data (no households recorded, or mostly outside the map data): hatched, and not judged." : "";
  el.depTitle.textContent = "Deprivation decile" + (g.deprivation_index ? " (" + g.deprivation_index + ")" : "");

  barChart(el.chartMinutes, {
    title: "Households within 5, 10, 15 and 20 minutes' walk", xLabel: "Walk of at most",
    rows: [5, 10, 15, 20].map(function (m) { return { label: m + " min", share: g.totals["share_within_" + m] }; }),
  });
  const deciles = g.by_decile.filter(function (d) { return d.decile !== null; });
  barChart(el.chartDeciles, {
    title: "Households within " + g.minutes + " minutes' walk, by deprivation decile (1 = most deprived)",
    xLabel: "Deprivation decile", colour: "bar-decile",
    rows: deciles.map(function (d) { return { label: String(d.decile), share: d.share_covered, note: "(" + d.areas + " areas)" }; }),
    reference: g.totals.share_covered, referenceLabel: "whole area " + pct(g.totals.share_covered),
  });

  clear(el.priority);
  const top = g.areas.filter(function (a) { return a.priority > 0 && !a.no_data; })
    .sort(function (a, b) { return b.priority - a.priority; }).slice(0, 5);
  if (!top.length) el.priority.appendChild(h("li", null, "No area has households beyond the walk."));
  top.forEach(function (a) {
    const li = h("li");
    li.appendChild(areaName(a));
    li.appendChild(h("span", "area-facts", pct(a.share_covered) + " of " + count(a.households) + " households within " + g.minutes +
      " minutes; " + count(a.uncovered_households) + " beyond; deprivation decile " + decileName(a.deprivation_decile) + "."));
    el.priority.appendChild(li);
  });
  clear(el.areasTable);
  el.areasTable.appendChild(table("gaps-areas", "Every small area, highest priority first",
    ["Small area", "Households", "Within " + g.minutes + " min", "Beyond", "Deprivation decile", "Priority (0–100)"],
    g.areas.slice().sort(function (a, b) { return b.priority - a.priority; }).map(function (a) {
      return [areaName(a), count(a.households), a.no_data ? "no data" : pct(a.share_covered), count(a.uncovered_households),
        decileName(a.deprivation_decile), String(Math.round(a.priority))];
    })));
  clear(el.sources);
  el.sources.appendChild(g.sources.length ? table("sources-table", "Data behind these figures", ["Data", "Dated", "Imported", "Licence"],
    g.sources.map(function (s) { return [s.what + " (" + s.file + ")", s.data_date || "–", s.imported || "–", s.licence]; }))
    : h("p", null, "No import records are kept for this area."));
}

function renderFreshness(f) {
  el.freshness.hidden = false;
  const t = f.total;
  const months = Math.round(f.stale_after_days / 30.4);
  el.freshSummary.textContent = t.places
    ? pct(t.fresh / t.places) + " of the places (" + count(t.fresh) + " of " + count(t.places) + ") were confirmed in the last " +
      months + " months; " + pct(t.checked_by_person / t.places) + " were checked by a person."
    : "There are no places here yet.";
  stackedBars(el.chartFresh, {
    title: "Places by type: confirmed in the last " + months + " months, and older", unit: "places",
    parts: [{ label: "confirmed in the last " + months + " months", cls: "bar-fresh" }, { label: "older", cls: "bar-stale" }],
    rows: f.by_category.map(function (c) { return { label: c.label, parts: [c.fresh, c.places - c.fresh] }; }),
  });
  clear(el.freshTables);
  if (f.possibly_closed) {
    el.freshTables.appendChild(h("p", "council-note", f.possibly_closed + (f.possibly_closed === 1 ? " place is" : " places are") +
      " possibly closed and waiting for a moderator to check."));
  }
  el.freshTables.appendChild(h("h3", null, "Oldest records — check these next"));
  if (!f.oldest.length) { el.freshTables.appendChild(h("p", null, "No records to check.")); return; }
  const list = h("ol", "council-list");
  list.id = "oldest";
  f.oldest.forEach(function (o) {
    const li = h("li");
    const a = h("a", null, o.name);
    a.href = "/places/" + encodeURIComponent(o.place_id);
    li.appendChild(a);
    const bits = [o.category.replace(/_/g, " "), "last confirmed " + day(o.last_confirmed)];
    if (o.possibly_closed) bits.push("possibly closed");
    li.appendChild(document.createTextNode(" — " + bits.join(", ")));
    list.appendChild(li);
  });
  el.freshTables.appendChild(list);
}

async function show(event) {
  if (event) event.preventDefault();
  const q = query();
  if (!q.region) return;
  const mine = ++seq;
  el.error.textContent = "";
  el.status.textContent = "Working out who can walk to a place… this can take a few seconds for a large area.";
  el.run.disabled = true;
  whatIf.reset();
  try {
    const params = new URLSearchParams(q);
    params.set("geometry", "true");
    const [g, f] = await Promise.all([api("GET", "/api/gaps?" + params.toString()),
      api("GET", "/api/freshness?region=" + encodeURIComponent(q.region))]);
    if (mine !== seq) return;
    renderGaps(g);
    renderFreshness(f);
    el.status.textContent = "Showing " + g.region_name + ", " + g.minutes + " minutes' walk.";
    councils.show(q); // after the main figures, never holding them up
    longer.show(q); // the places a what-if can open for longer, after the map is drawn
    if (event) el.resultsHeading.focus();
  } catch (e) {
    if (mine === seq) { el.error.textContent = e.message; el.status.textContent = ""; }
  } finally {
    if (mine === seq) el.run.disabled = false;
  }
}

async function start() {
  const $ = function (id) { return document.getElementById(id); };
  el = {
    region: $("region"), minutes: $("minutes"), pace: $("pace"), slot: $("slot"), status: $("status"), error: $("council-error"),
    run: document.querySelector("#gaps-form button[type=submit]"), gaps: $("gaps"), resultsHeading: $("gaps-results-heading"),
    estimated: $("gaps-estimated"), headline: $("headline"), assumptions: $("assumptions-list"), pdf: $("report-pdf"),
    html: $("report-html"), mapNote: $("map-note"), depTitle: $("deprivation-legend-title"), chartMinutes: $("chart-minutes"),
    chartDeciles: $("chart-deciles"), priority: $("priority"), areasTable: $("areas-table"), sources: $("sources"),
    freshness: $("freshness"), freshSummary: $("freshness-summary"), chartFresh: $("chart-freshness"), freshTables: $("freshness-tables"),
  };
  councils = new CouncilsSideBySide({ section: $("councils"), status: $("councils-status"), sentences: $("councils-sentences"),
    table: $("councils-table"), chartAll: $("chart-councils-all"), chartDeprived: $("chart-councils-deprived") }, api);
  document.getElementById("gaps-form").addEventListener("submit", show);
  el.region.addEventListener("change", function () { show(); });
  legends($("reach-legend"), $("deprivation-legend"));
  try {
    const r = await fetch("/api/config", { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(await detailOf(r));
    config = await r.json();
    (config.regions || []).forEach(function (reg) {
      const o = h("option", null, reg.name);
      o.value = reg.slug;
      el.region.appendChild(o);
    });
    if (!el.region.options.length) throw new Error("No council areas are loaded yet. Import one first (kindmap import region).");
    if (typeof L === "undefined") throw new Error("The maps could not load; the figures below still work.");
  } catch (e) {
    el.error.textContent = e.message;
    if (!el.region.options.length || typeof L === "undefined") return;
  }
  el.gaps.hidden = false; // the maps need their size before Leaflet draws them
  maps = new AreaMaps($("reach-map"), $("deprivation-map"), config);
  el.gaps.hidden = true;
  whatIf = new WhatIf({
    map: maps.reach, api: api, query: query,
    el: { toggle: $("what-if-toggle"), centre: $("what-if-centre"), clear: $("what-if-clear"), best: $("best-sites"),
      result: $("what-if-result"), bestResult: $("best-sites-result") },
  });
  longer = new LongerHours({
    map: maps.reach, api: api, query: query,
    el: { form: $("longer-hours-form"), place: $("longer-place"), hours: $("longer-place-hours"), add: $("longer-add"),
      windowsField: $("longer-windows-field"), windows: $("longer-windows"), run: $("longer-run"), pick: $("longer-pick"),
      result: $("longer-result") },
  });
  show();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
