/* Councils side by side on the council view: for every council loaded (the one shown and its nearest
 * neighbours), households within 5, 10, 15 and 20 minutes' walk, overall and in deciles 1–2 of the
 * council's own deprivation index, with the share covered by map data — as the sentences to read them
 * by, a table, and two SVG charts of the same figures. Asked for after the main figures, so it never
 * holds them up. Aggregates only; every text goes in with textContent. */

import { clear, h } from "../dom.js";
import { pct } from "./charts.js";

const SVG = "http://www.w3.org/2000/svg";
// One colour per council, each at least 3:1 against white (WCAG 1.4.11); the table carries the figures too.
const SERIES = ["#1b4f9c", "#b35806", "#1a7837", "#762a83", "#8c2d04", "#01665e", "#c51b7d", "#4d4d4d"];

function s(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function count(n) { return Math.round(Number(n) || 0).toLocaleString("en-GB"); }

function measured(c) { return !c.problem && c.households_with_map_data > 0; }

function allCell(c, t) { return measured(c) ? pct(c.within[t]) : "no data"; }

function deprivedCell(c, t) {
  if (!measured(c)) return "no data";
  return c.deprived_areas ? pct(c.deprived_within[t]) : "no areas";
}

function th(text, attrs) {
  const cell = h("th", attrs && attrs.cls, text);
  Object.keys(attrs || {}).forEach(function (k) { if (k !== "cls") cell.setAttribute(k, attrs[k]); });
  return cell;
}

function councilTable(body) {
  const n = body.thresholds.length;
  const wrap = h("div", "table-wrap");
  const caption = "Share of households within a walk of a welcoming place, by council";
  const t = h("table", "council-table");
  t.id = "councils-compare";
  t.appendChild(h("caption", null, caption));
  const head = h("thead");
  const top = h("tr");
  top.appendChild(th("Council", { scope: "col", rowspan: "2" }));
  top.appendChild(th("Deprivation index", { scope: "col", rowspan: "2" }));
  top.appendChild(th("Households covered by map data", { scope: "col", rowspan: "2", cls: "num" }));
  top.appendChild(th("All households within", { scope: "colgroup", colspan: String(n), cls: "num" }));
  top.appendChild(th("Deciles 1–2 within", { scope: "colgroup", colspan: String(n), cls: "num" }));
  head.appendChild(top);
  const second = h("tr");
  [0, 1].forEach(function () {
    body.thresholds.forEach(function (m) { second.appendChild(th(m + " min", { scope: "col", cls: "num" })); });
  });
  head.appendChild(second);
  t.appendChild(head);
  const rows = h("tbody");
  body.councils.forEach(function (c) {
    const tr = h("tr");
    const name = h("th");
    name.scope = "row";
    name.appendChild(h("span", "area-label", c.name));
    name.appendChild(h("small", "area-code", c.code || c.region));
    tr.appendChild(name);
    tr.appendChild(h("td", null, c.deprivation_index || "not known"));
    tr.appendChild(h("td", "num", c.households ? pct(c.map_data_share) + " of " + count(c.households) : "–"));
    body.thresholds.forEach(function (m) { tr.appendChild(h("td", "num", allCell(c, String(m)))); });
    body.thresholds.forEach(function (m) { tr.appendChild(h("td", "num", deprivedCell(c, String(m)))); });
    rows.appendChild(tr);
  });
  t.appendChild(rows);
  wrap.appendChild(t);
  wrap.tabIndex = 0; // lets keyboard users scroll a table wider than a phone screen
  wrap.setAttribute("role", "region");
  wrap.setAttribute("aria-label", caption);
  return wrap;
}

/* Grouped bars: one group per walk (5, 10, 15, 20 min), one bar per council; shares 0–1. */
function groupedChart(figure, { id, title, thresholds, councils, value, note }) {
  clear(figure);
  const width = 420, height = 230, left = 40, bottom = 30, top = 16;
  const plotW = width - left - 10, plotH = height - top - bottom;
  const svg = s("svg", { viewBox: "0 0 " + width + " " + height, role: "img", class: "chart-svg", "aria-labelledby": id + "-title" });
  svg.appendChild(s("title", { id: id + "-title" }, title + ". The same figures are in the table above."));
  [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
    const y = top + plotH * (1 - t);
    svg.appendChild(s("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }));
    svg.appendChild(s("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, Math.round(t * 100) + "%"));
  });
  const step = plotW / thresholds.length;
  const bar = step * 0.8 / Math.max(councils.length, 1);
  thresholds.forEach(function (m, i) {
    councils.forEach(function (c, k) {
      const v = value(c, String(m));
      if (v === null || v === undefined) return; // no data, or no areas in deciles 1–2: said in the table
      const x = left + i * step + step * 0.1 + k * bar;
      svg.appendChild(s("rect", { x: x, y: top + plotH * (1 - v), width: Math.max(bar - 2, 1), height: plotH * v,
        fill: SERIES[k % SERIES.length], class: "council-bar" }));
    });
    svg.appendChild(s("text", { x: left + i * step + step / 2, y: top + plotH + 18, class: "axis", "text-anchor": "middle" }, m + " min"));
  });
  figure.appendChild(svg);
  const cap = h("figcaption", null, title);
  const key = h("ul", "legend");
  councils.forEach(function (c, k) {
    const li = h("li");
    const swatch = s("svg", { width: 16, height: 16, viewBox: "0 0 16 16", "aria-hidden": "true", focusable: "false" });
    swatch.appendChild(s("rect", { x: 0.5, y: 0.5, width: 15, height: 15, fill: SERIES[k % SERIES.length], stroke: "#444" }));
    li.appendChild(swatch);
    li.appendChild(document.createTextNode(c.name + (c.deprivation_index ? " (" + c.deprivation_index + ")" : "") +
      (note ? note(c) : "")));
    key.appendChild(li);
  });
  cap.appendChild(key);
  figure.appendChild(cap);
}

export class CouncilsSideBySide {
  /* el: {section, status, sentences, table, chartAll, chartDeprived}; api(method, url) → JSON or throws. */
  constructor(el, api) {
    this.el = el;
    this.api = api;
    this.seq = 0; // a slower answer for a choice no longer shown is dropped
  }

  async show(q) {
    const mine = ++this.seq;
    const el = this.el;
    el.section.hidden = false;
    el.status.textContent = "Comparing the councils loaded…";
    const params = new URLSearchParams({ region: q.region, profile: q.profile, slot: q.slot });
    try {
      const body = await this.api("GET", "/api/gaps/councils?" + params.toString());
      if (mine !== this.seq) return;
      this.render(body);
      el.status.textContent = body.councils.length > 1 ? body.councils.length + " councils side by side." : "";
    } catch (e) {
      if (mine === this.seq) el.status.textContent = "The councils could not be compared: " + e.message;
    }
  }

  render(body) {
    const el = this.el;
    clear(el.sentences);
    body.sentences.forEach(function (text) { el.sentences.appendChild(h("p", null, text)); });
    clear(el.table);
    clear(el.chartAll);
    clear(el.chartDeprived);
    if (!body.councils.length) return;
    el.table.appendChild(councilTable(body));
    const several = body.councils.length > 1;
    el.chartAll.hidden = el.chartDeprived.hidden = !several;
    if (!several) return; // one council: the sentence says so and how to add a neighbour
    const shown = body.councils.filter(measured);
    groupedChart(el.chartAll, {
      id: "councils-all", title: "All households within 5, 10, 15 and 20 minutes' walk, by council",
      thresholds: body.thresholds, councils: shown, value: function (c, m) { return c.within[m]; },
    });
    groupedChart(el.chartDeprived, {
      id: "councils-deprived",
      title: "Households in each council's two most deprived deciles within the walk (each council's own index)",
      thresholds: body.thresholds, councils: shown,
      value: function (c, m) { return c.deprived_areas ? c.deprived_within[m] : null; },
      note: function (c) { return c.deprived_areas ? "" : ": no areas in deciles 1–2"; },
    });
  }
}
