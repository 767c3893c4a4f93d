/* The list of places: a full alternative to the map, numbered like the pins. The first 20 are
 * drawn, then "Show more" adds 20 at a time (a phone does not build 200 buttons it will not show). */

import { app, requestPlace, windows } from "./state.js";
import { h, clear } from "./dom.js";
import { formatOpenFrom, formatReach, openWords, plural } from "./format.js";

export const PAGE = 20;
let shown = 0;

function item(f, i) {
  const s = app.state;
  const p = f.properties || {};
  const li = h("li", "place-item");
  const button = h("button", "place-button");
  button.type = "button";
  button.dataset.id = String(f.id);
  const num = h("span", "place-num", i + 1);
  num.setAttribute("aria-hidden", "true");
  const text = h("span", "place-text");
  text.appendChild(h("span", "place-name", p.name));
  const meta = [p.category_label || app.categoryLabels[p.category] || p.category];
  const reach = formatReach(p, app.travel);
  if (reach) meta.push(reach);
  text.appendChild(h("span", "place-meta", meta.join(" · ")));
  text.appendChild(h("span", "place-open open-" + String(p.open), openWords(p.open)));
  const when = windows(s).length > 0 && formatOpenFrom(p.next_open);
  if (when) text.appendChild(h("span", "place-when", when));
  button.appendChild(num);
  button.appendChild(text);
  if (f.id === s.place) button.setAttribute("aria-current", "true");
  button.addEventListener("click", function () { requestPlace(f.id, { focus: true }); });
  li.appendChild(button);
  return li;
}

function showMoreButton() {
  const more = app.el.showMore;
  const total = app.features.length;
  const next = Math.min(PAGE, total - shown);
  more.hidden = next <= 0;
  more.textContent = next > 0
    ? "Show " + next + " more " + plural(next, "place", "places") + " (" + shown + " of " + total + " shown)"
    : "";
}

function append(count) {
  const list = app.el.list;
  const end = Math.min(app.features.length, shown + count);
  const first = shown;
  for (let i = shown; i < end; i += 1) list.appendChild(item(app.features[i], i));
  shown = end;
  showMoreButton();
  return first;
}

export function renderList() {
  clear(app.el.list);
  shown = 0;
  append(PAGE);
}

// "Show more": the next 20, and focus on the first of them so keyboard users carry on from there.
export function showMore() {
  const first = append(PAGE);
  const button = app.el.list.children[first] && app.el.list.children[first].querySelector("button");
  if (button) button.focus();
}

// The list reaches the place (the map may select one not drawn yet), then marks it.
export function markListSelection(id) {
  if (id !== null && id !== undefined) {
    const at = app.features.findIndex(function (f) { return String(f.id) === String(id); });
    if (at >= shown) append(at + 1 - shown);
  }
  Array.prototype.forEach.call(app.el.list.querySelectorAll("button[data-id]"), function (b) {
    if (b.dataset.id === String(id)) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
}
