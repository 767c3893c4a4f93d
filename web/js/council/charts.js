/* Bar charts as SVG built with createElementNS: numbers and labels are text nodes, sizes are
 * attributes (no inline style, so the CSP stays strict). Each chart has a caption and a table
 * of the same figures for screen readers and for copying. */

import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function pct(share) {
  return share === null || share === undefined || !isFinite(share) ? "–" : Math.round(share * 100) + "%";
}

/* Vertical bars of shares (0–1). rows: [{label, share, note}]; a dashed line at `reference` if given. */
export function barChart(figure, { title, rows, reference, referenceLabel, xLabel, colour }) {
  while (figure.firstChild) figure.removeChild(figure.firstChild);
  const width = 420, height = 220, left = 40, bottom = 42, top = 16;
  const plotW = width - left - 10, plotH = height - top - bottom;
  const svg = s("svg", { viewBox: "0 0 " + width + " " + height, role: "img", class: "chart-svg" });
  svg.appendChild(s("title", {}, title));
  [0, 0.25, 0.5, 0.75, 1].forEach(function (t) {
    const y = top + plotH * (1 - t);
    svg.appendChild(s("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }));
    svg.appendChild(s("text", { x: left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, Math.round(t * 100) + "%"));
  });
  const step = plotW / Math.max(rows.length, 1);
  rows.forEach(function (r, i) {
    const v = r.share === null || r.share === undefined ? 0 : r.share;
    const barH = plotH * v;
    const x = left + i * step + step * 0.15;
    svg.appendChild(s("rect", { x: x, y: top + plotH - barH, width: step * 0.7, height: barH, class: "bar " + (colour || "") }));
    svg.appendChild(s("text", { x: x + step * 0.35, y: top + plotH - barH - 4, class: "value", "text-anchor": "middle" }, pct(r.share)));
    svg.appendChild(s("text", { x: x + step * 0.35, y: top + plotH + 16, class: "axis", "text-anchor": "middle" }, r.label));
  });
  if (reference !== undefined && reference !== null) {
    const y = top + plotH * (1 - reference);
    svg.appendChild(s("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "reference" }));
  }
  svg.appendChild(s("text", { x: left + plotW / 2, y: height - 6, class: "axis", "text-anchor": "middle" },
    xLabel + (referenceLabel ? " (dashed line: " + referenceLabel + ")" : "")));
  figure.appendChild(svg);
  figure.appendChild(h("figcaption", null, title));
  figure.appendChild(dataTable(title, [xLabel, "Households within"], rows.map(function (r) { return [r.label, pct(r.share) + (r.note ? " " + r.note : "")]; })));
}

/* Horizontal stacked bars: rows [{label, parts: [n, n, …]}] with one class and legend label per part. */
export function stackedBars(figure, { title, rows, parts, unit }) {
  while (figure.firstChild) figure.removeChild(figure.firstChild);
  const width = 700, rowH = 26, left = 260, top = 8;
  const height = top + rows.length * rowH + 10;
  const max = Math.max(1, ...rows.map(function (r) { return r.parts.reduce(function (a, b) { return a + b; }, 0); }));
  const svg = s("svg", { viewBox: "0 0 " + width + " " + height, role: "img", class: "chart-svg" });
  svg.appendChild(s("title", {}, title));
  rows.forEach(function (r, i) {
    const y = top + i * rowH;
    svg.appendChild(s("text", { x: left - 8, y: y + 17, class: "axis", "text-anchor": "end" }, r.label));
    let x = left;
    r.parts.forEach(function (n, k) {
      const w = (width - left - 60) * n / max;
      svg.appendChild(s("rect", { x: x, y: y + 4, width: w, height: rowH - 8, class: "bar " + parts[k].cls }));
      x += w;
    });
    const total = r.parts.reduce(function (a, b) { return a + b; }, 0);
    svg.appendChild(s("text", { x: x + 6, y: y + 17, class: "value" }, total));
  });
  figure.appendChild(svg);
  const cap = h("figcaption", null, title + " ");
  const key = h("ul", "legend");
  parts.forEach(function (p) {
    const li = h("li");
    li.appendChild(h("span", "key-swatch " + p.cls));
    li.appendChild(document.createTextNode(p.label));
    key.appendChild(li);
  });
  cap.appendChild(key);
  figure.appendChild(cap);
  figure.appendChild(dataTable(title, ["", ...parts.map(function (p) { return p.label; })],
    rows.map(function (r) { return [r.label, ...r.parts.map(function (n) { return n + " " + unit; })]; })));
}

function dataTable(caption, columns, rows) {
  // Hidden by its wrapper: a table given a 1px width still grows to its content and widens the page.
  const wrap = h("div", "visually-hidden");
  const t = h("table");
  t.appendChild(h("caption", null, caption));
  const hr = h("tr");
  columns.forEach(function (c) { const th = h("th", null, c); th.scope = "col"; hr.appendChild(th); });
  const head = h("thead");
  head.appendChild(hr);
  t.appendChild(head);
  const body = h("tbody");
  rows.forEach(function (cells) {
    const tr = h("tr");
    cells.forEach(function (c, i) {
      const cell = h(i ? "td" : "th", null, c);
      if (!i) cell.scope = "row";
      tr.appendChild(cell);
    });
    body.appendChild(tr);
  });
  t.appendChild(body);
  wrap.appendChild(t);
  return wrap;
}
