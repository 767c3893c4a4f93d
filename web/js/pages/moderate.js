/* The review queue (signed in with the web session cookie; the server only serves it to moderators
 * and admins): approve, edit or reject what the public sent. All texts go in with textContent. */

import { clear, h } from "../dom.js";
import { detailOf, withSession } from "../staff.js";

const KINDS = ["suggestion", "kindness_note", "problem_report"];
let el = {};

async function api(method, url, body) {
  const r = await withSession(method, url, body);
  if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
  if (!r.ok) throw new Error(await detailOf(r));
  return r.json();
}

function field(id, labelText, value, multiline) {
  const wrap = h("div", "field");
  const label = h("label", null, labelText);
  label.htmlFor = id;
  const input = h(multiline ? "textarea" : "input");
  input.id = id;
  if (!multiline) input.type = "text";
  input.value = value === undefined || value === null ? "" : String(value);
  wrap.appendChild(label);
  wrap.appendChild(input);
  return wrap;
}

function facts(pairs) {
  const dl = h("dl");
  pairs.forEach(function (p) {
    if (p[1] === undefined || p[1] === null || p[1] === "") return;
    dl.appendChild(h("dt", null, p[0]));
    dl.appendChild(h("dd", null, p[1]));
  });
  return dl;
}

function button(text, cls, onClick) {
  const b = h("button", "button " + cls, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function decided(li, message) {
  el.status.textContent = message;
  const next = li.nextElementSibling || li.previousElementSibling;
  li.remove();
  const focusable = next && next.querySelector("button, input, textarea");
  (focusable || el.heading).focus();
}

async function act(li, method, url, body, message) {
  el.error.textContent = "";
  try {
    await api(method, url, body);
    decided(li, message);
  } catch (e) {
    if (e.message !== "signed out") el.error.textContent = e.message;
  }
}

function renderItem(item) {
  const li = h("li", "queue-item");
  const ev = item.evidence || {};
  const id = item.id;
  const actions = h("div", "queue-actions");
  if (item.kind === "suggestion" && ev.contribution === "answers") {
    // Visitors' answers about a place: each answer, conflicts marked; the moderator picks where they disagree.
    li.appendChild(h("h3", null, "Answers about " + (item.place ? item.place.name : ev.place || "a place")));
    const conflicts = ev.conflicts || [];
    (ev.answers || []).forEach(function (a) {
      li.appendChild(facts([["Question", a.question], ["Answer", typeof a.value === "boolean" ? (a.value ? "yes" : "no") : a.value],
        ["Received", a.received_at]]));
    });
    conflicts.forEach(function (q) {
      const recorded = (ev.recorded || {})[q];
      li.appendChild(field("choose-" + id + "-" + q, "These answers disagree about " + q + " (recorded now: " +
        (recorded === null || recorded === undefined ? "not known" : recorded) + "). Type the value that holds (yes or no), " +
        "or leave empty to skip", ""));
    });
    actions.appendChild(button("Approve answers", "button-primary", function () {
      let body = {};
      if (conflicts.length) {
        const changes = {};
        (ev.answers || []).forEach(function (a) { if (conflicts.indexOf(a.question) === -1) changes[a.question] = a.value; });
        conflicts.forEach(function (q) {
          const v = document.getElementById("choose-" + id + "-" + q).value.trim().toLowerCase();
          if (v === "yes" || v === "no") changes[q] = v === "yes";
          else if (v) changes[q] = v;
        });
        body = { changes: changes };
      }
      act(li, "POST", "/api/contributions/" + id + "/approve", body, "Answers approved: they now show on the place's page.");
    }));
    actions.appendChild(button("Reject", "button-secondary", function () {
      act(li, "POST", "/api/contributions/" + id + "/reject", {}, "Answers rejected.");
    }));
  } else if (item.kind === "suggestion") {
    const s = ev.submitted || {};
    li.appendChild(h("h3", null, "Suggested place: " + (s.name || "")));
    li.appendChild(facts([["Type", s.category], ["Address", s.address], ["Postcode", s.postcode], ["Website", s.website],
      ["Opening hours", s.opening_hours], ["Why welcoming", s.description], ["Received", ev.received_at]]));
    const point = ev.point || {};
    li.appendChild(field("name-" + id, "Name to publish", s.name));
    li.appendChild(field("lon-" + id, "Longitude", point.lon));
    li.appendChild(field("lat-" + id, "Latitude", point.lat));
    actions.appendChild(button("Approve and publish", "button-primary", function () {
      const changes = {};
      const name = document.getElementById("name-" + id).value.trim();
      const lon = parseFloat(document.getElementById("lon-" + id).value);
      const lat = parseFloat(document.getElementById("lat-" + id).value);
      if (name && name !== s.name) changes.name = name;
      if (isFinite(lon) && isFinite(lat)) { changes.lon = lon; changes.lat = lat; }
      act(li, "POST", "/api/contributions/" + id + "/approve", { changes: changes }, "Published: " + (name || s.name) + ".");
    }));
    actions.appendChild(button("Reject", "button-secondary", function () {
      act(li, "POST", "/api/contributions/" + id + "/reject", {}, "Suggestion rejected.");
    }));
  } else if (item.kind === "kindness_note") {
    li.appendChild(h("h3", null, "Kindness notes for " + (item.place ? item.place.name : "a place")));
    const notes = ev.notes || [];
    notes.forEach(function (n, i) { li.appendChild(field("note-" + id + "-" + i, "Note " + (i + 1) + " (edit if needed; empty it to leave it out)", n.text, true)); });
    actions.appendChild(button("Approve notes", "button-primary", function () {
      const texts = notes.map(function (_n, i) { return document.getElementById("note-" + id + "-" + i).value.trim(); }).filter(Boolean);
      act(li, "POST", "/api/contributions/" + id + "/approve", { notes: texts }, "Notes approved: they now show on the place's page.");
    }));
    actions.appendChild(button("Reject", "button-secondary", function () {
      act(li, "POST", "/api/contributions/" + id + "/reject", {}, "Notes rejected.");
    }));
  } else {
    li.appendChild(h("h3", null, "Problem reported: " + (item.place ? item.place.name : "a place")));
    (ev.reports || []).forEach(function (r) {
      li.appendChild(facts([["Problem", r.problem_label || r.problem], ["Details", r.details], ["Received", r.received_at]]));
    });
    actions.appendChild(button("Confirm closed", "button-primary", function () {
      act(li, "POST", "/api/review/" + id + "/resolve", { outcome: "confirm_closed" }, "Marked as closed.");
    }));
    actions.appendChild(button("Checked: it is fine", "button-secondary", function () {
      act(li, "POST", "/api/review/" + id + "/resolve", { outcome: "keep" }, "Kept and marked as checked.");
    }));
    actions.appendChild(button("Dismiss", "button-secondary", function () {
      act(li, "POST", "/api/review/" + id + "/resolve", { outcome: "dismiss" }, "Report dismissed.");
    }));
  }
  li.appendChild(actions);
  return li;
}

async function loadQueue() {
  el.error.textContent = "";
  el.status.textContent = "Loading…";
  clear(el.list);
  try {
    const lists = await Promise.all(KINDS.map(function (k) { return api("GET", "/api/review?kind=" + k + "&limit=100"); }));
    let items = [];
    lists.forEach(function (l) { items = items.concat(l.items || []); });
    items.forEach(function (item) { el.list.appendChild(renderItem(item)); });
    el.status.textContent = items.length ? items.length + " waiting." : "Nothing is waiting. Thank you!";
  } catch (e) {
    if (e.message !== "signed out") el.error.textContent = e.message;
    el.status.textContent = "";
  }
}

function start() {
  el = {
    queue: document.getElementById("queue"), heading: document.getElementById("queue-heading"),
    status: document.getElementById("queue-status"), error: document.getElementById("queue-error"),
    list: document.getElementById("queue-list"),
  };
  loadQueue();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
