/* Pieces of the place details panel: criteria, contact links, source, activities and notes. */

import { h, safeHttpUrl } from "./dom.js";
import { getJson } from "./api.js";
import { formatDate, formatWhen } from "./format.js";

export const WELCOME = [
  ["free_to_use", "Free to use"],
  ["no_purchase_needed", "No need to buy anything"],
  ["drop_in", "Drop in — no referral or membership"],
  ["warm_hospitality", "Free tea or coffee"],
  ["toilets", "Toilets"],
  ["seating", "Seating"],
  ["wifi", "Wi-Fi"],
];
// [field, said when true, said when false]; unknown (null) is never shown.
export const ACCESS = [
  ["step_free", "Step-free access", "Not step-free"],
  ["accessible_toilet", "Accessible toilet", "No accessible toilet"],
  ["hearing_loop", "Hearing loop", "No hearing loop"],
  ["quiet_space", "Quiet space", "No quiet space"],
];
export const WHEELCHAIR = {
  yes: "Wheelchair accessible",
  limited: "Partly wheelchair accessible",
  no: "Not wheelchair accessible",
};
const SOURCES = {
  manual: "Added by the kindmap team",
  resident: "Suggested by a resident",
  council: "From the local council",
  csv: "From a published list",
  oruk: "From an Open Referral UK directory",
};

export function section(parent, title) {
  const wrap = h("div", "details-section");
  wrap.appendChild(h("h3", null, title));
  parent.appendChild(wrap);
  return wrap;
}

// Facilities near a place (toilets, playground, bench, water): "Public toilets, 80 m away".
export function nearbyWords(list) {
  return (list || []).map(function (f) {
    const named = f.name && f.name !== f.category_label ? " (" + f.name + ")" : "";
    return f.category_label + named + ", " + Math.round(f.distance_m) + " m away";
  });
}

export function bulletList(items) {
  const ul = h("ul", "ticks");
  items.forEach(function (t) { ul.appendChild(h("li", null, t)); });
  return ul;
}

export function contactNodes(p) {
  const out = [];
  const web = safeHttpUrl(p.website);
  if (web) {
    const a = h("a", null, "Website: " + web.replace(/^https?:\/\//, "").replace(/\/$/, ""));
    a.href = web;
    a.rel = "noopener noreferrer nofollow";
    out.push(a);
  } else if (p.website) {
    out.push(h("span", null, "Website (not a web address, so not linked): " + p.website));
  }
  if (p.phone) {
    const digits = String(p.phone).replace(/[^\d+]/g, "");
    if (/^\+?\d{6,15}$/.test(digits)) {
      const tel = h("a", null, "Phone: " + p.phone);
      tel.href = "tel:" + digits;
      out.push(tel);
    } else {
      out.push(h("span", null, "Phone: " + p.phone));
    }
  }
  if (p.email) {
    if (/^[^\s@<>()"',;:\\]+@[^\s@<>()"',;:\\]+\.[^\s@<>()"',;:\\]+$/.test(p.email)) {
      const mail = h("a", null, "Email: " + p.email);
      mail.href = "mailto:" + p.email;
      out.push(mail);
    } else {
      out.push(h("span", null, "Email: " + p.email));
    }
  }
  return out;
}

export function sourceNode(p) {
  const para = h("p");
  if (p.source === "osm") {
    para.appendChild(document.createTextNode("OpenStreetMap, ODbL"));
    if (typeof p.source_id === "string" && /^(node|way|relation)\/\d+$/.test(p.source_id)) {
      para.appendChild(document.createTextNode(" — "));
      const a = h("a", null, "see or improve it on OpenStreetMap");
      a.href = "https://www.openstreetmap.org/" + p.source_id;
      para.appendChild(a);
    }
  } else {
    let words = p.source === "resident" ? "Suggested by a resident" : SOURCES[p.source] || (p.source ? "Source: " + p.source : "Source not recorded");
    if (p.source_licence) words += " (" + p.source_licence + ")";
    para.textContent = words;
  }
  return para;
}

let extraController = null;

// Activities (from the opportunities API) and approved kindness notes; both optional extras.
export async function loadExtras(feature, activitiesBox, notesBox) {
  if (extraController) extraController.abort();
  const controller = extraController = new AbortController();
  const c = (feature.geometry && feature.geometry.coordinates) || [];
  const actUrl = "/api/opportunities?place_id=" + encodeURIComponent(feature.id) +
    "&lon=" + c[0] + "&lat=" + c[1] + "&radius_m=150&limit=100";
  const results = await Promise.all([
    getJson(actUrl, controller).catch(function () { return null; }),
    getJson("/api/places/" + encodeURIComponent(feature.id) + "/kindness-notes", controller).catch(function () { return null; }),
  ]);
  if (controller.signal.aborted) return;
  fillActivities(activitiesBox, Array.isArray(results[0]) ? results[0].filter(function (o) { return o.place_id === feature.id; }) : []);
  fillNotes(notesBox, Array.isArray(results[1]) ? results[1] : []);
}

function fillActivities(box, items) {
  box.removeChild(box.lastChild);
  if (!items.length) { box.appendChild(h("p", null, "No activities listed yet.")); return; }
  const ul = h("ul", "ticks");
  items.forEach(function (o) {
    const li = h("li");
    li.appendChild(h("strong", null, o.title));
    const bits = [o.audience, o.cost === "free" ? "free" : null, o.booking === "drop_in" ? "drop in" : null].filter(Boolean);
    if (bits.length) li.appendChild(document.createTextNode(" — " + bits.join(", ")));
    const next = formatWhen(o.next_on);
    if (next) li.appendChild(h("span", "note", " Next: " + next));
    ul.appendChild(li);
  });
  box.appendChild(ul);
}

function fillNotes(box, notes) {
  box.removeChild(box.lastChild);
  if (!notes.length) { box.appendChild(h("p", null, "No notes yet.")); return; }
  const ul = h("ul", "ticks kindness-notes");
  notes.slice(0, 5).forEach(function (n) {
    const li = h("li");
    li.appendChild(h("q", null, n.text));
    const when = formatDate(n.approved_at);
    if (when) li.appendChild(h("span", "note", " (" + when + ")"));
    ul.appendChild(li);
  });
  box.appendChild(ul);
}
