/* The review queue (signed in with the web session cookie; the server serves it to moderators and
 * admins only). People work through it: plain labels and relative dates, a side-by-side view of a
 * suggested change against the current record with its sources, approve / edit / reject with a
 * reason, filters, bulk actions, and every control a native button, checkbox or field, so the whole
 * queue works from the keyboard. All texts go in with textContent. */

import { clear, h } from "../dom.js";
import { detailOf, withSession } from "../staff.js";

const KINDS = ["suggestion", "kindness_note", "problem_report"];
const QUESTION_WORDS = {
  step_free: "Step-free entrance", accessible_toilet: "Accessible toilet", quiet_space: "Quiet space",
  hearing_loop: "Hearing loop", seating: "Somewhere to sit", free_to_use: "Free to use", opening_hours: "Opening hours",
};
const SOURCE_WORDS = { osm: "OpenStreetMap", public: "a member of the public", council: "the council", csv: "a spreadsheet import",
  oruk: "Open Referral UK", moderator: "a moderator", visitor: "a visitor", manual: "entered by hand" };
let el = {};
let labels = {};
let items = []; // what the server sent, in queue order

async function api(method, url, body) {
  const r = await withSession(method, url, body);
  if (r.status === 401) { window.location.reload(); throw new Error("Your sign-in has ended. Please sign in again."); }
  if (!r.ok) throw new Error(await detailOf(r));
  return r.json();
}

function categoryLabel(slug) { return labels[slug] || (slug ? String(slug).replace(/_/g, " ") : ""); }

const relative = new Intl.RelativeTimeFormat("en-GB", { numeric: "auto" });
export function ago(iso, now) {
  if (!iso) return "";
  const then = new Date(iso);
  if (isNaN(then)) return String(iso);
  const seconds = Math.round((then - (now || new Date())) / 1000);
  const steps = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]];
  for (const [unit, size] of steps) {
    if (Math.abs(seconds) >= size) return relative.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

function when(iso) {
  const t = h("time", null, ago(iso));
  t.dateTime = iso;
  const d = new Date(iso);
  if (!isNaN(d)) t.title = d.toLocaleString("en-GB", { dateStyle: "long", timeStyle: "short" });
  return t;
}

function shown(value) {
  if (value === true) return "Yes";
  if (value === false) return "No";
  if (value === null || value === undefined || value === "") return "Not recorded";
  return String(value);
}

function kindOf(item) {
  if (item.kind === "suggestion") return item.place ? "change" : "new_place";
  return item.kind;
}

function titleOf(item) {
  const ev = item.evidence || {};
  const k = kindOf(item);
  if (k === "new_place") return "Suggested new place: " + ((ev.submitted || {}).name || "");
  if (k === "change") return "Suggested change: " + (item.place ? item.place.name : ev.place || "a place");
  if (k === "kindness_note") return "Thank-you notes for " + (item.place ? item.place.name : "a place");
  return "Problem reported: " + (item.place ? item.place.name : "a place");
}

function facts(pairs) {
  const dl = h("dl");
  pairs.forEach(function (p) {
    if (p[1] === undefined || p[1] === null || p[1] === "") return;
    dl.appendChild(h("dt", null, p[0]));
    const dd = h("dd");
    if (p[1] instanceof Node) dd.appendChild(p[1]); else dd.textContent = p[1];
    dl.appendChild(dd);
  });
  return dl;
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

function button(text, cls, onClick) {
  const b = h("button", "button " + cls, text);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

/* Current record and what the visitors say, side by side, one row per question; a choice where they disagree. */
function changeTable(item) {
  const ev = item.evidence || {};
  const answers = ev.answers || [];
  const recorded = ev.recorded || {};
  const conflicts = ev.conflicts || [];
  const t = h("table", "diff-table");
  t.appendChild(h("caption", null, "What would change"));
  const hr = h("tr");
  ["", "Recorded now", "Suggested"].forEach(function (c) { const th = h("th", null, c); th.scope = "col"; hr.appendChild(th); });
  const head = h("thead");
  head.appendChild(hr);
  t.appendChild(head);
  const body = h("tbody");
  const questions = Object.keys(answers.reduce(function (acc, a) { acc[a.question] = 1; return acc; }, {}));
  const source = item.place ? "from " + (SOURCE_WORDS[item.place.source] || item.place.source) : "";
  questions.forEach(function (q) {
    const said = answers.filter(function (a) { return a.question === q; });
    const values = Array.from(new Set(said.map(function (a) { return JSON.stringify(a.value); }))).map(JSON.parse);
    const tr = h("tr");
    if (conflicts.indexOf(q) !== -1) tr.className = "differs";
    const th = h("th", null, QUESTION_WORDS[q] || q);
    th.scope = "row";
    tr.appendChild(th);
    const now = h("td");
    const same = values.length === 1 && JSON.stringify(values[0]) === JSON.stringify(recorded[q] === undefined ? null : recorded[q]);
    now.appendChild(h("span", same ? null : "diff-old", shown(recorded[q])));
    if (source) now.appendChild(h("small", "diff-source", source));
    tr.appendChild(now);
    const next = h("td");
    if (values.length === 1) {
      next.appendChild(h("span", "diff-new", shown(values[0])));
    } else {
      const group = h("fieldset", "choose");
      group.appendChild(h("legend", null, "Visitors disagree: which holds?"));
      values.forEach(function (v, i) {
        const id = "choose-" + item.id + "-" + q + "-" + i;
        const wrap = h("div", "check");
        const radio = h("input");
        radio.type = "radio"; radio.name = "choose-" + item.id + "-" + q; radio.id = id; radio.value = JSON.stringify(v);
        const label = h("label", null, shown(v));
        label.htmlFor = id;
        wrap.appendChild(radio); wrap.appendChild(label);
        group.appendChild(wrap);
      });
      next.appendChild(group);
    }
    next.appendChild(h("small", "diff-source", said.length + (said.length === 1 ? " visitor, " : " visitors, latest ") +
      ago(said[said.length - 1].received_at)));
    tr.appendChild(next);
    body.appendChild(tr);
  });
  t.appendChild(body);
  const wrap = h("div", "table-wrap");
  wrap.appendChild(t);
  return wrap;
}

/* What approving means for an item: the request to send, or an error naming what to choose. */
function approval(item) {
  const id = item.id;
  const k = kindOf(item);
  const ev = item.evidence || {};
  if (k === "new_place") {
    const s = ev.submitted || {};
    const changes = {};
    const name = document.getElementById("name-" + id);
    if (name && name.value.trim() && name.value.trim() !== s.name) changes.name = name.value.trim();
    const lon = document.getElementById("lon-" + id), lat = document.getElementById("lat-" + id);
    if (lon && lat && isFinite(parseFloat(lon.value)) && isFinite(parseFloat(lat.value))) {
      changes.lon = parseFloat(lon.value); changes.lat = parseFloat(lat.value);
    }
    return { url: "/api/contributions/" + id + "/approve", body: { changes: changes }, done: "Published: " + (changes.name || s.name) + "." };
  }
  if (k === "kindness_note") {
    const notes = (ev.notes || []).map(function (n, i) {
      const box = document.getElementById("note-" + id + "-" + i);
      return box ? box.value.trim() : n.text;
    }).filter(Boolean);
    return { url: "/api/contributions/" + id + "/approve", body: { notes: notes }, done: "Thank-you notes approved: they now show on the place's page." };
  }
  if (k === "change") {
    const conflicts = ev.conflicts || [];
    let changes = {};
    if (conflicts.length) {
      (ev.answers || []).forEach(function (a) { if (conflicts.indexOf(a.question) === -1) changes[a.question] = a.value; });
      for (const q of conflicts) {
        const picked = document.querySelector('input[name="choose-' + id + "-" + q + '"]:checked');
        if (!picked) return { error: "Choose which answer holds for " + (QUESTION_WORDS[q] || q) + " first." };
        changes[q] = JSON.parse(picked.value);
      }
    } else {
      changes = {};
    }
    return { url: "/api/contributions/" + id + "/approve", body: { changes: changes }, done: "Change approved: the place's record is updated." };
  }
  return { url: "/api/review/" + id + "/resolve", body: { outcome: "confirm_closed" }, done: "Marked as closed." };
}

function rejection(item, reason) {
  const id = item.id;
  if (item.kind === "problem_report") return { url: "/api/review/" + id + "/resolve", body: { outcome: "dismiss" }, done: "Report dismissed." };
  return { url: "/api/contributions/" + id + "/reject", body: { reason: reason || null }, done: "Rejected." };
}

function decided(li, message) {
  el.status.textContent = message;
  const next = li.nextElementSibling || li.previousElementSibling;
  items = items.filter(function (i) { return String(i.id) !== li.dataset.id; });
  li.remove();
  updateBulk();
  // Keyboard users carry on from the next item's heading (or the queue's, when it is empty).
  if (next) next.querySelector("h3").focus(); else el.heading.focus();
}

async function send(li, req) {
  el.error.textContent = "";
  if (req.error) { el.error.textContent = req.error; el.error.focus(); return false; }
  try {
    await api("POST", req.url, req.body);
    decided(li, req.done);
    return true;
  } catch (e) {
    el.error.textContent = e.message;
    el.error.focus();
    return false;
  }
}

function renderItem(item) {
  const li = h("li", "queue-item");
  li.dataset.id = String(item.id);
  li.dataset.kind = kindOf(item);
  const ev = item.evidence || {};
  const id = item.id;
  const k = kindOf(item);

  const top = h("div", "queue-top");
  const pick = h("input");
  pick.type = "checkbox"; pick.id = "pick-" + id; pick.className = "queue-pick";
  const pickLabel = h("label", "visually-hidden", "Select: " + titleOf(item));
  pickLabel.htmlFor = pick.id;
  pick.addEventListener("change", updateBulk);
  top.appendChild(pick);
  top.appendChild(pickLabel);
  const title = h("h3", null, titleOf(item));
  title.tabIndex = -1;
  top.appendChild(title);
  li.appendChild(top);
  li.appendChild(h("p", "queue-when")).appendChild(document.createTextNode("Received "));
  li.lastChild.appendChild(when(item.created_at));

  const edit = h("div", "queue-edit");
  edit.hidden = true;
  if (k === "new_place") {
    const s = ev.submitted || {};
    li.appendChild(facts([["Type of place", categoryLabel(s.category)], ["Address", s.address], ["Postcode", s.postcode],
      ["Website", s.website], ["Opening hours", s.opening_hours], ["Why welcoming", s.description], ["Source", "suggested by a member of the public"]]));
    const point = ev.point || {};
    edit.appendChild(field("name-" + id, "Name to publish", s.name));
    edit.appendChild(field("lon-" + id, "Longitude", point.lon));
    edit.appendChild(field("lat-" + id, "Latitude", point.lat));
  } else if (k === "change") {
    li.appendChild(facts([["Place", item.place ? item.place.name + " (" + categoryLabel(item.place.category) + ")" : ev.place],
      ["Record from", item.place ? SOURCE_WORDS[item.place.source] || item.place.source : ""]]));
    li.appendChild(changeTable(item));
  } else if (k === "kindness_note") {
    (ev.notes || []).forEach(function (n, i) {
      const q = h("blockquote", "queue-note", n.text);
      li.appendChild(q);
      edit.appendChild(field("note-" + id + "-" + i, "Note " + (i + 1) + " (edit it; empty it to leave it out)", n.text, true));
    });
  } else {
    (ev.reports || []).forEach(function (r) {
      li.appendChild(facts([["Problem", r.problem_label || r.problem], ["Details", r.details], ["Received", r.received_at ? when(r.received_at) : ""]]));
    });
    if (item.place) li.appendChild(facts([["Record from", SOURCE_WORDS[item.place.source] || item.place.source]]));
  }
  li.appendChild(edit);

  const reasonWrap = h("div", "queue-reason");
  reasonWrap.hidden = true;
  if (item.kind !== "problem_report") reasonWrap.appendChild(field("reason-" + id, "Reason for rejecting (kept with the decision; never shown to the public)", ""));

  const actions = h("div", "queue-actions");
  if (k === "problem_report") {
    actions.appendChild(button("Confirm it is closed", "button-primary", function () { send(li, approval(item)); }));
    actions.appendChild(button("Checked: it is fine", "button-secondary", function () {
      send(li, { url: "/api/review/" + id + "/resolve", body: { outcome: "keep" }, done: "Kept and marked as checked." });
    }));
    actions.appendChild(button("Dismiss the report", "button-secondary", function () { send(li, rejection(item)); }));
  } else {
    actions.appendChild(button(k === "new_place" ? "Approve and publish" : "Approve", "button-primary", function () { send(li, approval(item)); }));
    if (edit.childNodes.length) {
      const editButton = button("Edit before approving", "button-secondary", function () {
        edit.hidden = !edit.hidden;
        editButton.setAttribute("aria-expanded", edit.hidden ? "false" : "true");
        if (!edit.hidden) edit.querySelector("input, textarea").focus();
      });
      editButton.setAttribute("aria-expanded", "false");
      actions.appendChild(editButton);
    }
    const rejectButton = button("Reject…", "button-secondary", function () {
      if (reasonWrap.hidden) {
        reasonWrap.hidden = false;
        rejectButton.textContent = "Reject with this reason";
        document.getElementById("reason-" + id).focus();
        return;
      }
      send(li, rejection(item, document.getElementById("reason-" + id).value.trim()));
    });
    actions.appendChild(reasonWrap);
    actions.appendChild(rejectButton);
  }
  li.appendChild(actions);
  return li;
}

function visible() {
  const kind = el.kind.value;
  const text = el.text.value.trim().toLowerCase();
  return items.filter(function (item) {
    if (kind !== "all" && kindOf(item) !== kind) return false;
    return !text || JSON.stringify([titleOf(item), item.evidence]).toLowerCase().indexOf(text) !== -1;
  });
}

function render() {
  clear(el.list);
  const shownItems = visible();
  shownItems.forEach(function (item) { el.list.appendChild(renderItem(item)); });
  el.bulk.hidden = !shownItems.length;
  el.status.textContent = !items.length ? "Nothing is waiting. Thank you!"
    : shownItems.length + " of " + items.length + " waiting shown.";
  updateBulk();
}

function picked() {
  return Array.prototype.filter.call(el.list.querySelectorAll(".queue-pick"), function (c) { return c.checked; })
    .map(function (c) { return c.closest("li"); });
}

function updateBulk() {
  const n = picked().length;
  el.bulkCount.textContent = n ? n + (n === 1 ? " item selected." : " items selected.") : "None selected.";
  el.bulkApprove.disabled = !n;
  el.bulkReject.disabled = !n;
}

async function bulk(approve) {
  const rows = picked();
  let ok = 0;
  for (const li of rows) {
    const item = items.find(function (i) { return String(i.id) === li.dataset.id; });
    if (!item) continue;
    const req = approve ? approval(item) : rejection(item, el.bulkReason.value.trim());
    if (await send(li, req)) ok += 1; else break;
  }
  el.status.textContent = (approve ? "Approved " : "Rejected ") + ok + " of " + rows.length + " selected." +
    (ok < rows.length ? " The rest are still waiting: see the message above." : "");
}

async function load() {
  el.error.textContent = "";
  el.status.textContent = "Loading…";
  try {
    const lists = await Promise.all(KINDS.map(function (k) { return api("GET", "/api/review?kind=" + k + "&limit=200"); }));
    items = [].concat.apply([], lists.map(function (l) { return l.items || []; }))
      .sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
    render();
  } catch (e) {
    el.error.textContent = e.message;
    el.status.textContent = "";
  }
}

function start() {
  const $ = function (id) { return document.getElementById(id); };
  el = {
    heading: $("queue-heading"), status: $("queue-status"), error: $("queue-error"), list: $("queue-list"),
    kind: $("filter-kind"), text: $("filter-text"), bulk: $("bulk"), bulkCount: $("bulk-count"),
    bulkReason: $("bulk-reason"), bulkApprove: $("bulk-approve"), bulkReject: $("bulk-reject"),
  };
  try { labels = JSON.parse($("category-labels").textContent); } catch (e) { labels = {}; }
  $("queue-filters").addEventListener("submit", function (e) { e.preventDefault(); });
  el.kind.addEventListener("change", render);
  el.text.addEventListener("input", render);
  $("bulk-select-all").addEventListener("click", function () {
    el.list.querySelectorAll(".queue-pick").forEach(function (c) { c.checked = true; });
    updateBulk();
  });
  el.bulkApprove.addEventListener("click", function () { bulk(true); });
  el.bulkReject.addEventListener("click", function () { bulk(false); });
  load();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
