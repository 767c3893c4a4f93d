"""What would change coverage: a new place or changed hours (what-if), one place opening for
longer (``longer_hours``), and the best new sites (greedy maximal coverage)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import Engine

from kindmap.config import Settings
from kindmap.errors import DataError, InvalidQuery
from kindmap.geo import coverage as cov
from kindmap.geo.projection import LocalProjection
from kindmap.hours import check_hours
from kindmap.services.gaps.baseline import baseline
from kindmap.services.gaps.inputs import Demand, Supply, open_in_slot, weekly_hours
from kindmap.services.gaps.longer_hours import added_times, extended_hours
from kindmap.services.gaps.measure import measure, share
from kindmap.services.gaps.query import MOST_DEPRIVED, GapQuery


@dataclass
class Candidate:
    """A hypothetical new place: EPSG:4326 point and OSM opening_hours (None: unknown)."""

    lon: float
    lat: float
    hours: str | None = None
    name: str = "new place"


def _candidates(cands: list[Candidate], q: GapQuery) -> tuple[Supply, np.ndarray]:
    from kindmap.geo.projection import validate_lonlat

    if not cands:
        return Supply([], [], np.zeros(0), np.zeros(0), [], np.zeros(0)), np.zeros(0, bool)
    lon, lat = validate_lonlat([c.lon for c in cands], [c.lat for c in cands])
    hours = [c.hours for c in cands]
    for h in hours:
        if h is not None and not check_hours(h).valid:
            raise InvalidQuery(f"opening hours {h!r}: {check_hours(h).error}")
    sup = Supply([None] * len(cands), [c.name for c in cands], np.asarray(lon, float), np.asarray(lat, float),
                 hours, weekly_hours(hours))
    return sup, open_in_slot(hours, q.slot, include_unknown=q.include_unknown_hours)


def _covered_summary(demand: Demand, m: dict) -> dict:
    at = m["covered_at"]
    deprived = np.isin(demand.decile, MOST_DEPRIVED)
    by_decile = {}
    for d in np.unique(demand.decile[np.isfinite(demand.decile)]):
        by_decile[int(d)] = float(at[demand.decile == d].sum())
    return {"covered_households": float(at.sum()), "most_deprived_covered": float(at[deprived].sum()),
            "by_decile": by_decile}


def what_if(engine: Engine, settings: Settings, q: GapQuery, *, add: list[Candidate] | None = None,
            hours: dict[int, str | None] | None = None) -> dict:
    """Households covered before and after adding places and/or changing places' hours (overall, deciles 1–2)."""
    base = baseline(engine, settings, q)
    ctx, before = base.ctx, base.measured
    eligible, is_open = ctx.eligible, ctx.is_open.copy()
    if hours:
        position = {pid: i for i, pid in enumerate(eligible.ids)}
        unknown = sorted(set(hours) - set(position))
        if unknown:
            raise InvalidQuery(f"place(s) {', '.join(map(str, unknown))} are not among the {len(eligible)} places this "
                               "analysis counts (check the region, categories and criteria)")
        eligible = eligible.take(np.arange(len(eligible)))
        for pid, text in hours.items():
            if text is not None and not check_hours(text).valid:
                raise InvalidQuery(f"opening hours for place {pid}: {check_hours(text).error}")
            eligible.hours[position[pid]] = text
        eligible.weekly_hours = weekly_hours(eligible.hours)
        is_open = open_in_slot(eligible.hours, q.slot, include_unknown=q.include_unknown_hours)
    extra, extra_open = _candidates(add or [], q)
    after_supply = eligible.take(np.flatnonzero(is_open)).plus(extra.take(np.flatnonzero(extra_open)))
    after = measure(ctx.demand, after_supply, ctx.times, q)
    b, a = _covered_summary(ctx.demand, before), _covered_summary(ctx.demand, after)
    return {"region": ctx.region, "method": ctx.times.method, "minutes": q.minutes, "slot": q.slot,
            "households": float(ctx.demand.households.sum()),
            "before": b, "after": a,
            "change_covered_households": a["covered_households"] - b["covered_households"],
            "change_most_deprived_covered": a["most_deprived_covered"] - b["most_deprived_covered"],
            "change_by_decile": {d: a["by_decile"][d] - b["by_decile"][d] for d in b["by_decile"]},
            "added_open_in_slot": int(extra_open.sum()), "places_before": len(ctx.supply), "places_after": len(after_supply)}


def _counted_place(eligible: Supply, place_id: int) -> int:
    try:
        return eligible.ids.index(place_id)
    except ValueError:
        raise InvalidQuery(f"place {place_id} is not among the {len(eligible)} places this analysis counts "
                           "(check the region, categories and criteria)") from None


def places_to_extend(engine: Engine, settings: Settings, q: GapQuery) -> dict:
    """The places the analysis counts (whatever their hours), each with its hours and whether it is open in the slot."""
    ctx = baseline(engine, settings, q).ctx
    e = ctx.eligible
    places = [{"place_id": e.ids[i], "name": e.names[i], "lon": float(e.lon[i]), "lat": float(e.lat[i]),
               "opening_hours": e.hours[i], "open_in_slot": bool(ctx.is_open[i])} for i in range(len(e))]
    return {"region": ctx.region, "slot": q.slot, "places": sorted(places, key=lambda p: (p["name"].casefold(), p["place_id"]))}


def longer_hours(engine: Engine, settings: Settings, q: GapQuery, *, place_id: int, add: str,
                 windows: str | None = None) -> dict:
    """Households within the walk before and after one counted place opens for longer (overall, deciles 1–2,
    each decile), in ``q``'s time slot.

    The place's hours in the reference week plus the added times (``add``: one of
    ``longer_hours.EXTENSIONS``, or ``"windows"`` with the analyst's own ``windows``). A place that
    now opens in the slot adds only its own walk to the analysis before (one search from the place,
    capped at ``q.minutes``): households are gained where it is the first place within reach. The
    same figures as the whole analysis rerun with the place's hours changed (tests check both).
    """
    words, windows_added = added_times(add, windows)
    base = baseline(engine, settings, q)
    ctx, demand = base.ctx, base.ctx.demand
    i = _counted_place(ctx.eligible, place_id)
    before_text = ctx.eligible.hours[i]
    after_text = extended_hours(before_text, windows_added)
    was_open = bool(ctx.is_open[i])
    now_open = bool(open_in_slot([after_text], q.slot, include_unknown=q.include_unknown_hours)[0])
    minutes = base.measured["minutes"]
    if now_open and not was_open:
        mine = ctx.times.nearest(ctx.eligible.lon[i:i + 1], ctx.eligible.lat[i:i + 1], horizon=q.minutes)
        minutes = np.minimum(minutes, mine)
    elif was_open and not now_open:
        # Unknown hours counted as open, now known and outside the slot: the walk without it.
        keep = ctx.is_open.copy()
        keep[i] = False
        others = ctx.eligible.take(np.flatnonzero(keep))
        minutes = ctx.times.nearest(others.lon, others.lat, horizon=q.minutes)
    at = cov.covered_by_group(minutes, demand.weight, demand.area, len(demand.code), thresholds=(q.minutes,))[0]
    b, a = _covered_summary(demand, base.measured), _covered_summary(demand, {"covered_at": at})
    places_before = len(ctx.supply)
    return {"region": ctx.region, "method": ctx.times.method, "minutes": q.minutes, "slot": q.slot,
            "households": float(demand.households.sum()), "before": b, "after": a,
            "change_covered_households": a["covered_households"] - b["covered_households"],
            "change_most_deprived_covered": a["most_deprived_covered"] - b["most_deprived_covered"],
            "change_by_decile": {d: a["by_decile"][d] - b["by_decile"][d] for d in b["by_decile"]},
            "added_open_in_slot": 0, "places_before": places_before,
            "places_after": places_before + int(now_open) - int(was_open),
            "place": {"place_id": place_id, "name": ctx.eligible.names[i], "hours_before": before_text,
                      "hours_after": after_text, "added": words, "open_in_slot_before": was_open,
                      "open_in_slot_after": now_open}}


def grid_candidates(demand: Demand, *, spacing_m: float, near_m: float = 800.0, limit: int = 5000) -> list[Candidate]:
    """A square grid (``spacing_m`` metres) over the demand points, kept within ``near_m`` of one (EPSG:4326 out)."""
    if not (100 <= spacing_m <= 10_000):
        raise InvalidQuery("grid spacing must be between 100 and 10,000 metres")
    proj = LocalProjection.centred_on(demand.lon, demand.lat)
    xy = np.column_stack(proj.forward(demand.lon, demand.lat))
    xs = np.arange(xy[:, 0].min(), xy[:, 0].max() + spacing_m, spacing_m)
    ys = np.arange(xy[:, 1].min(), xy[:, 1].max() + spacing_m, spacing_m)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    d, _ = cKDTree(xy).query(np.column_stack((gx, gy)), k=1)
    keep = np.flatnonzero(d <= near_m)
    if keep.size > limit:
        raise InvalidQuery(f"a {spacing_m:g} m grid gives {keep.size} candidate sites (limit {limit}); use a wider spacing")
    lon, lat = proj.inverse(gx[keep], gy[keep])
    return [Candidate(float(x), float(y), None, f"grid site {i + 1}") for i, (x, y) in enumerate(zip(lon, lat))]


def best_sites(engine: Engine, settings: Settings, q: GapQuery, *, k: int = 5, source: str = "places",
               grid_m: float = 1000.0) -> dict:
    """Greedy maximal coverage: the ``k`` candidate sites that add the most households within ``q.minutes``.

    ``source="places"``: the region's published places not already counted (halls, places of worship,
    schools, places closed in the slot); ``"grid"``: a square grid over where people live.
    """
    if not (1 <= k <= 50):
        raise InvalidQuery("k must be between 1 and 50")
    found = baseline(engine, settings, q)
    ctx, base = found.ctx, found.measured
    if source == "places":
        pool = ctx.others
    elif source == "grid":
        pool, _ = _candidates(grid_candidates(ctx.demand, spacing_m=grid_m), q)
    else:
        raise InvalidQuery("candidate source must be 'places' or 'grid'")
    if len(pool) == 0:
        raise DataError(f"{ctx.region_name} has no candidate sites of this kind; try the grid")
    rows, cols, _ = ctx.times.pairs(pool.lon, pool.lat, threshold=q.minutes)
    from scipy.sparse import csr_matrix

    cover = csr_matrix((np.ones(rows.size), (cols, rows)), shape=(len(pool), ctx.demand.lon.size))
    done = base["minutes"] <= q.minutes
    pick = cov.greedy_max_coverage(cover, ctx.demand.weight, k=k, covered=done)
    deprived_pt = np.isin(ctx.demand.decile[ctx.demand.area], MOST_DEPRIVED)
    sites, total = [], float(ctx.demand.households.sum())
    covered = float((ctx.demand.weight * done).sum())
    for rank, (j, gain) in enumerate(zip(pick.chosen, pick.gains), start=1):
        new = np.zeros(done.size, bool)
        new[cover.indices[cover.indptr[j]:cover.indptr[j + 1]]] = True
        new &= ~done
        covered += gain
        sites.append({"rank": rank, "name": pool.names[j], "place_id": pool.ids[j], "lon": float(pool.lon[j]),
                      "lat": float(pool.lat[j]), "households_added": gain,
                      "most_deprived_households_added": float((ctx.demand.weight * (new & deprived_pt)).sum()),
                      "share_covered_after": covered / total if total else None})
        done |= new
    return {"region": ctx.region, "method": ctx.times.method, "minutes": q.minutes, "slot": q.slot, "source": source,
            "candidates": len(pool), "share_covered_before": share(float(base["covered_at"].sum()), total), "sites": sites}
