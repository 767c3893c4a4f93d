/* Words and numbers for people: distances, walking times, opening times. */

const DAYS = { Mo: "Mon", Tu: "Tue", We: "Wed", Th: "Thu", Fr: "Fri", Sa: "Sat", Su: "Sun", PH: "Bank holidays" };

export function plural(n, one, many) {
  return n === 1 ? one : many;
}

export function formatDistance(metres) {
  if (typeof metres !== "number" || !isFinite(metres)) return null;
  if (metres < 995) return (Math.round(metres / 10) * 10) + " m away";
  return (metres / 1000).toFixed(metres < 10000 ? 1 : 0) + " km away";
}

// "12 min walk"; an estimate (no path map in that region) says so in words.
export function formatWalk(minutes, estimated) {
  if (typeof minutes !== "number" || !isFinite(minutes)) return null;
  const n = Math.max(1, Math.round(minutes));
  return estimated ? "about " + n + " min walk (estimated)" : n + " min walk";
}

// Walking time and distance said the same way everywhere. The distance is always a straight
// line; the minutes are along paths ("network") or estimated from that line, so the words say
// which, and "6 min walk · 140 m away" never reads as a contradiction.
export function formatReach(p, travel) {
  const walk = formatWalk(p.walk_minutes, travel === "estimated");
  const metres = typeof p.distance_m === "number" && isFinite(p.distance_m) ? p.distance_m : null;
  if (!walk) return formatDistance(metres);
  if (metres === null) return walk;
  const line = formatDistance(metres).replace(/ away$/, "");
  return walk + (travel === "estimated" ? "" : " on paths") + " · " + line + " in a straight line";
}

export function openWords(open) {
  if (open === true) return "Open now";
  if (open === false) return "Closed now";
  return "Hours not known";
}

export function formatDate(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  if (isNaN(d.getTime())) return null;
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "long", year: "numeric" }).format(d);
}

// next_open, open_at and next_on are the place's local time with its UTC offset
// ("2026-07-13T10:00:00+01:00"; "Z" or "+00:00" in a London winter; older servers sent no offset).
// People want the place's clock, not the browser's: "opens at 10:00" must stay 10:00 for a
// carer whose laptop is set to another zone. So the wall-clock part is read as given and the
// offset is only checked, never applied (new Date(iso) would shift it to the browser's zone).
// The wall clock is kept in the Date's UTC fields and formatted in UTC, so no browser zone (nor
// its own clock changes) can move it.
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?$/;

function localDate(iso) {
  const m = LOCAL_TIME.exec(typeof iso === "string" ? iso : "");
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
  return isNaN(d.getTime()) ? null : d;
}

export function formatWhen(iso) {
  const d = localDate(iso);
  if (!d) return null;
  return new Intl.DateTimeFormat("en-GB", {
    weekday: "long", day: "numeric", month: "long", hour: "numeric", minute: "2-digit", timeZone: "UTC",
  }).format(d);
}

// "Open Thursday from 14:00" for a next opening inside the times someone is free.
export function formatOpenFrom(iso) {
  const d = localDate(iso);
  if (!d) return null;
  const day = new Intl.DateTimeFormat("en-GB", { weekday: "long", timeZone: "UTC" }).format(d);
  const time = String(d.getUTCHours()).padStart(2, "0") + ":" + String(d.getUTCMinutes()).padStart(2, "0");
  return "Open " + day + " from " + time;
}

export function friendlyHours(text) {
  // Light touch: one rule per line and day names spelt out; the rest is shown as given.
  return String(text).split(/\s*;\s*/).filter(Boolean).map(function (rule) {
    return rule.replace(/\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b/g, function (d) { return DAYS[d]; })
      .replace(/\boff\b/g, "closed");
  });
}

// "a 15-minute walk of TE1 1ST", "… at a slower pace", "a 15-minute step-free walk of …".
export function walkPhrase(minutes, pace, where) {
  const of = where ? " of " + where : "";
  if (pace === "step_free") return "a " + minutes + "-minute step-free walk" + of;
  return "a " + minutes + "-minute walk" + of + (pace === "slow" ? " at a slower pace" : "");
}

// How the reach was measured, in words: along real paths, or estimated from straight lines.
export function travelWords(travel) {
  return travel === "estimated"
    ? "estimated from straight-line distance (there is no footpath map for this area yet)"
    : "on footpaths and streets";
}
