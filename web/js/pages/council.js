/* The council page (signed in with the web session cookie; the server only serves it to analysts
 * and admins): pick a region, then freshness at a glance and the gap analysis. Every text goes in
 * with textContent. */

import { clear, h } from "../dom.js";
import { detailOf, withSession } from "../staff.js";

let el = {};
let freshSeq = 0; // a slower answer for a region no longer selected is dropped
const SLOW = "Working this out can take a few seconds for a large region…";

function pct(share) {
  return share === null || share === undefined || !isFinite(share) ? "no places" : Math.round(share * 100) + "%";
}

function count(n) { return Math.round(Number(n) || 0).toLocaleString("en-GB"); }

function ofCount(part, whole) {
  if (!whole) return "no places";
  return pct(part / whole) + " (" + count(part) + " of " + count(whole) + ")";
}

function day(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric" });
}

async function api(url) {
  const r = await withSession("GET", url);
  if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
  if (r.status === 403) throw new Error("Your account cannot see this view. Ask an administrator for council analyst access.");
  if (!r.ok) throw new Error(await detailOf(r));
  return r.json();
}

/* A table with a caption, column headers and a row header per row; cells are [text, numeric?]. */
function table(id, caption, columns, rows) {
  const wrap = h("div", "table-wrap");
  const t = h("table", "council-table");
  t.id = id;
  t.appendChild(h("caption", null, caption));
  const head = h("thead");
  const hr = h("tr");
  columns.forEach(function (c, i) {
    const th = h("th", i ? "num" : null, c);
    th.scope = "col";
    hr.appendChild(th);
  });
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
  // Lets keyboard users scroll a table wider than a phone screen.
  wrap.tabIndex = 0;
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", caption);
  return wrap;
}

function shareRow(s) {
  return [s.label, count(s.places), ofCount(s.fresh, s.places), ofCount(s.checked_by_person, s.places)];
}

function renderFreshness(f) {
  const t = f.total;
  const months = Math.round(f.stale_after_days / 30.4);
  el.freshSummary.textContent = t.places
    ? ofCount(t.fresh, t.places) + " of the places in " + el.regionName() + " were confirmed in the last " + months +
      " months; " + ofCount(t.checked_by_person, t.places) + " were checked by a person."
    : "There are no places in " + el.regionName() + " yet.";
  clear(el.freshTables);
  if (f.possibly_closed) {
    el.freshTables.appendChild(h("p", "council-note", f.possibly_closed + (f.possibly_closed === 1 ? " place is" : " places are") +
      " possibly closed and waiting for a moderator to check."));
  }
  const cols = ["Type of place", "Places", "Confirmed in the last " + months + " months", "Checked by a person"];
  el.freshTables.appendChild(table("fresh-by-category", "By type of place", cols, f.by_category.map(shareRow)));
  const areaCols = cols.slice();
  areaCols[0] = "Small area";
  if (f.by_area.length) {
    el.freshTables.appendChild(table("fresh-by-area", "By small area", areaCols, f.by_area.map(shareRow)));
  } else {
    el.freshTables.appendChild(h("p", null, "No small areas are loaded for this region, so there is no breakdown by area."));
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

function decileName(d) {
  if (d === null || d === undefined) return "Not known";
  return d === 1 ? "1 (most deprived)" : d === 10 ? "10 (least deprived)" : String(d);
}

function minutesText(m) { return m === null || m === undefined ? "over 60" : (Math.round(m * 10) / 10).toString(); }

function renderGaps(g) {
  clear(el.gaps);
  const t = g.totals;
  const pace = el.pace.options[el.pace.selectedIndex].text.toLowerCase();
  const head = h("h3", null, "Results for " + g.region_name + ": " + g.minutes + " minutes, " + pace + ", " +
    el.slot.options[el.slot.selectedIndex].text.toLowerCase());
  head.id = "gaps-results-heading";
  head.tabIndex = -1;
  el.gaps.appendChild(head);
  if (g.method === "estimated") {
    const est = h("p", "council-note", "Estimated: " + g.region_name + " has no path network loaded, so walking times are " +
      "estimated from straight-line distances.");
    est.id = "gaps-estimated";
    el.gaps.appendChild(est);
  }
  const summary = h("p", "council-summary", (t.households ? pct(t.covered_households / t.households) : "None") + " of households (" +
    count(t.covered_households) + " of " + count(t.households) + ") live within a " + g.minutes + "-minute walk of a welcoming, free place (" +
    g.places + (g.places === 1 ? " place" : " places") + " counted).");
  summary.id = "gaps-summary";
  el.gaps.appendChild(summary);
  if (t.most_deprived_households) {
    el.gaps.appendChild(h("p", null, "In the most deprived areas (deciles 1 and 2): " +
      ofCount(t.most_deprived_covered, t.most_deprived_households) + " of households."));
  }
  el.gaps.appendChild(table("gaps-by-decile", "By deprivation decile (1 = most deprived)",
    ["Deprivation decile", "Small areas", "Households", "Within the walk", "Households beyond it"],
    g.by_decile.map(function (d) {
      return [decileName(d.decile), count(d.areas), count(d.households), pct(d.share_covered), count(d.uncovered_households)];
    })));
  const top = g.areas.slice().sort(function (a, b) { return b.priority - a.priority; }).slice(0, 10);
  el.gaps.appendChild(table("gaps-priority", "The " + top.length + " highest-priority areas (most households beyond the walk, weighted by deprivation)",
    ["Small area", "Households", "Within the walk", "Median walk (minutes)", "Deprivation decile", "Priority (0–100)"],
    top.map(function (a) {
      return [a.name + " (" + a.code + ")", count(a.households), pct(a.share_covered), minutesText(a.median_walk_minutes),
        decileName(a.deprivation_decile), String(Math.round(a.priority))];
    })));
  if (g.notes && g.notes.length) {
    const notes = h("ul");
    g.notes.forEach(function (n) { notes.appendChild(h("li", null, n)); });
    el.gaps.appendChild(h("h4", null, "Notes"));
    el.gaps.appendChild(notes);
  }
}

async function loadFreshness() {
  const region = el.region.value;
  if (!region) return;
  el.error.textContent = "";
  el.status.textContent = "Loading freshness for " + el.regionName() + "…";
  clear(el.freshTables);
  el.freshSummary.textContent = "";
  clear(el.gaps);
  const seq = ++freshSeq;
  try {
    const data = await api("/api/freshness?region=" + encodeURIComponent(region));
    if (seq !== freshSeq) return;
    renderFreshness(data);
    el.status.textContent = "Freshness for " + el.regionName() + " loaded.";
  } catch (e) {
    if (seq === freshSeq && e.message !== "signed out") { el.error.textContent = e.message; el.status.textContent = ""; }
  }
}

async function runGaps(event) {
  event.preventDefault();
  const q = new URLSearchParams({ region: el.region.value, minutes: el.minutes.value, profile: el.pace.value, slot: el.slot.value });
  el.error.textContent = "";
  el.status.textContent = "Working out the gaps… " + SLOW;
  el.run.disabled = true;
  clear(el.gaps);
  try {
    renderGaps(await api("/api/gaps?" + q.toString()));
    el.status.textContent = "Gap analysis for " + el.regionName() + " ready.";
    document.getElementById("gaps-results-heading").focus();
  } catch (e) {
    if (e.message !== "signed out") { el.error.textContent = e.message; el.status.textContent = ""; }
  } finally {
    el.run.disabled = false;
  }
}

async function loadRegions() {
  clear(el.region);
  el.status.textContent = "Loading regions…";
  const r = await fetch("/api/config", { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(await detailOf(r));
  const regions = (await r.json()).regions || [];
  regions.forEach(function (reg) {
    const o = h("option", null, reg.name);
    o.value = reg.slug;
    el.region.appendChild(o);
  });
  if (!regions.length) throw new Error("No regions are loaded yet. Import a region first.");
}

async function begin() {
  try {
    await loadRegions();
    await loadFreshness();
  } catch (e) {
    el.error.textContent = e.message;
    el.status.textContent = "";
  }
}

function start() {
  el = {
    council: document.getElementById("council"), heading: document.getElementById("council-heading"),
    region: document.getElementById("region"), status: document.getElementById("status"),
    error: document.getElementById("council-error"), freshSummary: document.getElementById("freshness-summary"),
    freshTables: document.getElementById("freshness-tables"), gaps: document.getElementById("gaps-results"),
    minutes: document.getElementById("minutes"), pace: document.getElementById("pace"),
    slot: document.getElementById("slot"), run: document.querySelector("#gaps-form button[type=submit]"),
  };
  el.regionName = function () {
    const o = el.region.options[el.region.selectedIndex];
    return o ? o.text : "this region";
  };
  el.region.addEventListener("change", loadFreshness);
  document.getElementById("region-form").addEventListener("submit", function (e) { e.preventDefault(); });
  document.getElementById("gaps-form").addEventListener("submit", runGaps);
  begin();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
