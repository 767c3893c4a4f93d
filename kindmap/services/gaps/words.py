"""The gap analysis in plain sentences: the headline a report and the council page open with, and
the assumptions behind it. Each sentence reads right in every case: no households, every household
within reach, none within reach, no small areas in the most deprived deciles.

Plain text out (the caller escapes it); numbers rounded the way people say them.
"""

from __future__ import annotations

from kindmap.services.gaps.measure import GapResult
from kindmap.services.gaps.query import MOST_DEPRIVED, SLOTS

SLOT_WORDS = {"any": "at any time", "weekday_daytime": "on weekday daytimes (Mon–Fri 9am–5pm)",
              "weekday_evening": "on weekday evenings (Mon–Fri 5pm–9pm)", "weekend": "at weekends (Sat–Sun 10am–4pm)"}
PACE_WORDS = {"walk": "at a usual walking pace", "slow": "at a slower walking pace",
              "step_free": "on a step-free route"}


def households(n: float) -> str:
    n = round(n)
    return f"{n:,} household" + ("" if n == 1 else "s")


def percent(share: float | None) -> str:
    if share is None:
        return "no"
    p = 100 * share
    if 0 < p < 1:
        return "under 1%"
    if 99 < p < 100:
        return "over 99%"
    return f"{p:.0f}%"


def _reach(q) -> str:
    return f"within {q.minutes:g} minutes' walk"


def headline(r: GapResult) -> list[str]:
    """The whole region, the most deprived areas against the rest, and the areas left out for want of map data."""
    q, t = r.query, r.totals
    total, covered = t["households"], t["covered_households"]
    where, reach = r.region_name, _reach(q)
    place = "a welcoming, free place" + ("" if q.slot == "any" else " open " + SLOT_WORDS[q.slot])
    if total <= 0:
        out = [f"No households are recorded in {where}'s small areas, so walking reach cannot be measured."]
    elif round(covered) >= round(total):
        out = [f"Every household in {where} ({households(total)}) lives {reach} of {place}."]
    elif round(covered) <= 0:
        out = [f"No household in {where} lives {reach} of {place}: all {households(total)} are further away."]
    else:
        out = [f"{percent(covered / total).capitalize()} of households in {where} ({round(covered):,} of {round(total):,}) "
               f"live {reach} of {place}; {households(total - covered)} do not."]
    out.append(deprived_sentence(r))
    gaps = t.get("no_data_areas") or 0
    if gaps:
        out.append(f"{gaps} small area" + (" lies" if gaps == 1 else "s lie") + f" mostly outside the map data "
                   f"({households(t.get('no_data_households') or 0)}): not judged, and left out of these figures.")
    return out


def estimated_sentence(r: GapResult) -> str | None:
    """The caveat when walks are estimated, else None."""
    if r.method != "estimated":
        return None
    return (f"Walk times for {r.region_name} are estimates (straight-line distance with a detour allowance), "
            "because no path network is loaded for it.")


def deprived_sentence(r: GapResult) -> str:
    """How the most deprived areas (deciles 1–2) fare, compared with the rest, in words."""
    t = r.totals
    index = r.deprivation_index or "the deprivation index"
    low, high = MOST_DEPRIVED[0], MOST_DEPRIVED[-1]
    areas = sum(d["areas"] for d in r.by_decile if d["decile"] in MOST_DEPRIVED)
    if not areas:
        return (f"None of {r.region_name}'s small areas is among the most deprived 20% nationally "
                f"({index} deciles {low}–{high}).")
    dh, dc = t["most_deprived_households"], t["most_deprived_covered"]
    n = f"{areas} small area" + ("" if areas == 1 else "s")
    if dh <= 0:
        return f"{r.region_name} has {n} among the most deprived 20% nationally, with no households recorded."
    rest_h, rest_c = t["households"] - dh, t["covered_households"] - dc
    rest = (f", against {percent(rest_c / rest_h)} elsewhere in {r.region_name}" if rest_h > 0 else "")
    if round(dc) >= round(dh):
        return f"In the {n} among the most deprived 20% nationally, every household ({households(dh)}) is within reach{rest}."
    if round(dc) <= 0:
        return f"In the {n} among the most deprived 20% nationally, no household is within reach ({households(dh)}){rest}."
    return (f"In the {n} among the most deprived 20% nationally, {percent(dc / dh)} of households are within reach "
            f"({round(dc):,} of {round(dh):,}){rest}.")


def assumptions(r: GapResult) -> list[str]:
    """What the figures assume, most important first: how places with unknown hours are counted, and the
    result with and without them; walking pace; what counts as a place; how households are placed."""
    q, u = r.query, r.unknown_hours or {}
    out = []
    unknown, eligible_unknown = u.get("unknown", 0), u.get("unknown_eligible", 0)
    if eligible_unknown:
        places = u.get("places", len(r.places))
        if u.get("counted_as_open"):
            how = (f"{unknown} of the {places} places counted have no opening hours recorded. They are counted as open "
                   f"{SLOT_WORDS[q.slot]}, and as open {u['assumed_weekly_hours']:g} hours a week in the access score.")
        else:
            how = (f"{eligible_unknown} places have no opening hours recorded, so they are not counted as open "
                   f"{SLOT_WORDS[q.slot]}.")
        out.append(how)
        out.append(f"With them, {percent(u.get('share_with'))} of households are {_reach(q)}; without them, "
                   f"{percent(u.get('share_without'))}. In the most deprived areas: {percent(u.get('deprived_share_with'))} "
                   f"with them, {percent(u.get('deprived_share_without'))} without."
                   if u.get("deprived_share_with") is not None else
                   f"With them, {percent(u.get('share_with'))} of households are {_reach(q)}; without them, "
                   f"{percent(u.get('share_without'))}.")
    else:
        out.append("Every place counted has its opening hours recorded.")
    pace = PACE_WORDS.get(r.profile, f"at the '{r.profile}' pace")
    how = "along paths and streets" if r.method == "network" else "as straight-line distance × 1.3 (no path network)"
    out.append(f"Walks are measured {how}, {pace}, from each postcode to the nearest place.")
    out.append("Households are the census count for each small area, shared equally among its postcodes.")
    cats = ", ".join(c.replace("_", " ") for c in (q.categories or ())) or \
        "libraries, community centres, community cafés, gardens, sheds, parks and arts centres"
    filters = [w for w, on in (("free to use", q.free), ("drop-in", q.drop_in), ("step-free", q.step_free)) if on]
    out.append(f"Places counted: {cats}" + (f", {', '.join(filters)} only" if filters else "") +
               ("" if q.slot == "any" else f", open {SLOT_WORDS[q.slot]} ({SLOTS[q.slot]})") + ".")
    return out
