/* The list of places: a full alternative to the map, numbered like the pins. */

import { app, requestPlace, windows } from "./state.js";
import { h, clear } from "./dom.js";
import { formatDistance, formatOpenFrom, formatWalk, openWords } from "./format.js";

export function renderList() {
  const el = app.el;
  const s = app.state;
  const estimated = app.travel === "estimated";
  const showWhen = windows(s).length > 0;
  clear(el.list);
  app.features.forEach(function (f, i) {
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
    const walk = formatWalk(p.walk_minutes, estimated);
    if (walk) meta.push(walk);
    const dist = formatDistance(p.distance_m);
    if (dist) meta.push(dist);
    text.appendChild(h("span", "place-meta", meta.join(" · ")));
    text.appendChild(h("span", "place-open open-" + String(p.open), openWords(p.open)));
    const when = showWhen && formatOpenFrom(p.next_open);
    if (when) text.appendChild(h("span", "place-when", when));
    button.appendChild(num);
    button.appendChild(text);
    if (f.id === s.place) button.setAttribute("aria-current", "true");
    button.addEventListener("click", function () { requestPlace(f.id, { focus: true }); });
    li.appendChild(button);
    el.list.appendChild(li);
  });
}

export function markListSelection(id) {
  Array.prototype.forEach.call(app.el.list.querySelectorAll("button[data-id]"), function (b) {
    if (b.dataset.id === String(id)) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  });
}
