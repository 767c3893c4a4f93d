"""Council gap analysis: where welcoming free places are out of walking reach, for whom, and what would change it.

**Demand.** Each small area's households (``Area.households``, census) are shared equally
among the area's postcode centroids (an area without postcodes keeps them at its centroid),
so reach is measured where people live rather than at area centroids. Postcode centroids
are public; no private household ever feeds these figures.

**Supply.** Published places of the chosen categories (default ``DEFAULT_CATEGORIES``),
optionally only those recorded free / drop-in / step-free (``True``; unknown is not enough),
and open during a time slot. Slots are evaluated in the fixed reference week ``REFERENCE_WEEK``
(a term-time week with no UK public holiday), and a place counts if it is open for at least
part of any window of the slot:

* ``weekday_daytime`` Mon–Fri 09:00–17:00; ``weekday_evening`` Mon–Fri 17:00–21:00;
  ``weekend`` Sat–Sun 10:00–16:00; ``any`` no time filter (the default).

Places with unknown hours are left out of a time slot unless ``include_unknown_hours``.

**Walk times.** With a network: households snapped once, one capped multi-source search
from the open places. Without one: straight-line × circuity, labelled ``estimated``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.db import read_session
from kindmap.errors import DataError, InvalidQuery
from kindmap.geo import coverage as cov
from kindmap.geo.graph import Router, SnapSet
from kindmap.geo.profiles import Profile
from kindmap.geo.projection import LocalProjection
from kindmap.hours import HoursIndex, check_hours, parse_windows
from kindmap.models import Area, Place, PlaceStatus, Postcode
from kindmap.services.regions import find_region
from kindmap.services.walking import DEFAULT_WALKING, ESTIMATED, NETWORK, profile_for
from kindmap.taxonomy import categories

THRESHOLDS = (5, 10, 15, 20)
HORIZON_MINUTES = 60.0  # walks are searched up to this; longer ones read "more than 60"
MIN_MINUTES, MAX_MINUTES = 1.0, 60.0
DEFAULT_CATEGORIES = ("library", "community_centre", "community_cafe", "community_garden", "community_shed",
                      "park", "arts_centre")
DEFAULT_UNKNOWN_HOURS = 40.0  # weekly hours assumed for E2SFCA when a place's hours are unknown (a working week)
MAX_SUPPLY_HOURS = 84.0  # a place open all hours (an unstaffed park) counts as 12 h a day, not 168 h
REFERENCE_WEEK = datetime(2026, 2, 2)  # a Monday; no public holiday that week in any UK nation
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
SLOTS: dict[str, str | None] = {
    "any": None,
    "weekday_daytime": ",".join(f"{d} 09:00-17:00" for d in _WEEKDAYS),
    "weekday_evening": ",".join(f"{d} 17:00-21:00" for d in _WEEKDAYS),
    "weekend": "Sat 10:00-16:00,Sun 10:00-16:00",
}
MOST_DEPRIVED = (1, 2)


@dataclass
class GapQuery:
    """What to analyse: region, threshold (minutes), profile, time slot and place criteria."""

    region: str
    minutes: float = 15.0
    profile: str | None = None
    slot: str = "any"
    categories: tuple[str, ...] | None = None
    free: bool = False
    drop_in: bool = False
    step_free: bool = False
    include_unknown_hours: bool = False
    decay: str = "gaussian"

    def check(self) -> None:
        """Raise InvalidQuery naming what to fix."""
        if not (isinstance(self.minutes, (int, float)) and math.isfinite(self.minutes)
                and MIN_MINUTES <= self.minutes <= MAX_MINUTES):
            raise InvalidQuery(f"minutes must be between {MIN_MINUTES:g} and {MAX_MINUTES:g}, got {self.minutes}")
        if self.slot not in SLOTS:
            raise InvalidQuery(f"unknown time slot {self.slot!r}; choose one of: {', '.join(SLOTS)}")
        if self.decay not in cov.DECAYS:
            raise InvalidQuery(f"unknown distance decay {self.decay!r}; choose one of: {', '.join(cov.DECAYS)}")
        bad = sorted(set(self.categories or ()) - set(categories()))
        if bad:
            raise InvalidQuery(f"unknown categories: {', '.join(bad)}; choose from: {', '.join(categories())}")


@dataclass
class Demand:
    """Small areas and the demand points (postcode centroids) carrying their households; EPSG:4326."""

    code: list[str]
    name: list[str]
    households: np.ndarray  # per area
    decile: np.ndarray  # per area, NaN unknown
    rank: np.ndarray
    geometry: list[str]  # GeoJSON per area
    lon: np.ndarray  # per point
    lat: np.ndarray
    area: np.ndarray  # area index per point
    weight: np.ndarray  # households per point


@dataclass
class Supply:
    """Candidate or open places: ids (None for hypothetical ones), names, EPSG:4326 points, weekly hours."""

    ids: list[int | None]
    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    hours: list[str | None]
    weekly_hours: np.ndarray  # NaN unknown

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx) -> "Supply":
        """A subset of the places."""
        idx = np.asarray(idx, dtype=np.int64)
        return Supply([self.ids[i] for i in idx], [self.names[i] for i in idx], self.lon[idx], self.lat[idx],
                      [self.hours[i] for i in idx], self.weekly_hours[idx])

    def plus(self, other: "Supply") -> "Supply":
        """Both sets of places."""
        return Supply(self.ids + other.ids, self.names + other.names, np.r_[self.lon, other.lon],
                      np.r_[self.lat, other.lat], self.hours + other.hours, np.r_[self.weekly_hours, other.weekly_hours])


def load_demand(session: Session, region_id: int, *, region_name: str) -> Demand:
    """The region's areas and their households spread equally over each area's postcodes."""
    areas = session.exec(select(Area).where(Area.region_id == region_id).order_by(Area.code)).all()
    if not areas:
        raise DataError(f"{region_name} has no small areas; import an area file with households first")
    missing = [a.code for a in areas if a.households is None]
    if missing:
        raise DataError(f"{len(missing)} of {len(areas)} small areas in {region_name} have no households "
                        f"(e.g. {', '.join(missing[:3])}); re-import the area file with a households column")
    index = {a.code: i for i, a in enumerate(areas)}
    rows = session.exec(select(Postcode.area_code, Postcode.lon, Postcode.lat)
                        .where(Postcode.area_code.in_(list(index))).order_by(Postcode.postcode)).all()
    area_idx = np.array([index[r[0]] for r in rows], dtype=np.int64)
    lon = np.array([r[1] for r in rows], dtype=np.float64)
    lat = np.array([r[2] for r in rows], dtype=np.float64)
    # An area without postcodes keeps its households at its centroid.
    bare = np.setdiff1d(np.arange(len(areas)), area_idx)
    area_idx = np.r_[area_idx, bare]
    lon = np.r_[lon, [areas[i].centroid_lon for i in bare]]
    lat = np.r_[lat, [areas[i].centroid_lat for i in bare]]
    households = np.array([a.households for a in areas], dtype=np.float64)
    per_area = np.bincount(area_idx, minlength=len(areas))
    return Demand(
        code=[a.code for a in areas], name=[a.name for a in areas], households=households,
        decile=np.array([a.deprivation_decile if a.deprivation_decile is not None else np.nan for a in areas], float),
        rank=np.array([a.deprivation_rank if a.deprivation_rank is not None else np.nan for a in areas], float),
        geometry=[a.geometry_geojson for a in areas], lon=lon, lat=lat, area=area_idx,
        weight=households[area_idx] / per_area[area_idx],
    )


def weekly_hours(hours: list[str | None]) -> np.ndarray:
    """Typical weekly open hours per opening_hours string (NaN when missing or unreadable)."""
    index = HoursIndex(hours, start=REFERENCE_WEEK, horizon_days=7)
    return np.array([index.weekly_open_hours(i) for i in range(len(hours))], dtype=np.float64)


def open_in_slot(hours: list[str | None], slot: str, *, include_unknown: bool) -> np.ndarray:
    """Bool per place: open during part of the slot in the reference week (unknown → ``include_unknown``)."""
    text = SLOTS[slot]
    if text is None:
        return np.ones(len(hours), bool)
    index = HoursIndex(hours, start=REFERENCE_WEEK, horizon_days=7)
    is_open = index.open_during(parse_windows(text), week_of=REFERENCE_WEEK)
    unknown = np.array([h is None or not check_hours(h).valid for h in hours], bool)
    return np.where(unknown, include_unknown, is_open)


def load_places(session: Session, region_id: int, *, categories_: tuple[str, ...] | None = None,
                exclude_ids: set[int] | None = None) -> Supply:
    """Published places of the region (all categories when ``categories_`` is None), ordered by id."""
    stmt = select(Place).where(Place.region_id == region_id, Place.status == PlaceStatus.published).order_by(Place.id)
    if categories_ is not None:
        stmt = stmt.where(Place.category.in_(list(categories_)))
    rows = [p for p in session.exec(stmt).all() if p.id not in (exclude_ids or set())]
    hours = [p.opening_hours for p in rows]
    return Supply([p.id for p in rows], [p.name for p in rows], np.array([p.lon for p in rows], float),
                  np.array([p.lat for p in rows], float), hours, weekly_hours(hours))


def select_supply(session: Session, region_id: int, q: GapQuery) -> tuple[Supply, np.ndarray, Supply]:
    """(places meeting the criteria, which of them are open in the slot, the region's places not counted)."""
    cats = tuple(q.categories or DEFAULT_CATEGORIES)
    stmt = select(Place.id).where(Place.region_id == region_id, Place.status == PlaceStatus.published,
                                  Place.category.in_(list(cats)))
    if q.free:
        stmt = stmt.where(Place.free_to_use == True)  # noqa: E712  (SQL comparison)
    if q.drop_in:
        stmt = stmt.where(Place.drop_in == True)  # noqa: E712
    if q.step_free:
        stmt = stmt.where(Place.step_free == True)  # noqa: E712
    ids = set(session.exec(stmt).all())
    eligible = load_places(session, region_id, categories_=cats)
    eligible = eligible.take([i for i, pid in enumerate(eligible.ids) if pid in ids])
    is_open = open_in_slot(eligible.hours, q.slot, include_unknown=q.include_unknown_hours)
    others = load_places(session, region_id, exclude_ids=set(np.array(eligible.ids, dtype=np.int64)[is_open].tolist()))
    return eligible, is_open, others


# ----------------------------------------------------------------------------------- walk times


class NetworkTimes:
    """Walk minutes on a region's network; demand points snapped once per profile."""

    method = NETWORK

    def __init__(self, router: Router, profile: Profile, lon: np.ndarray, lat: np.ndarray) -> None:
        self.router, self.profile = router, profile
        self.targets = router.snap_many(lon, lat, profile=profile)

    @property
    def off_network(self) -> int:
        """Demand points farther than the snap limit from any path (they count as out of reach)."""
        return int((~self.targets.ok).sum())

    def _sources(self, lon: np.ndarray, lat: np.ndarray) -> SnapSet:
        return self.router.snap_many(lon, lat, profile=self.profile)

    def nearest(self, lon: np.ndarray, lat: np.ndarray, *, horizon: float) -> np.ndarray:
        """Minutes from each demand point to its nearest place (inf beyond ``horizon``); one multi-source search."""
        if len(lon) == 0:
            return np.full(len(self.targets), np.inf)
        minutes, _ = self.router.nearest_source_for_snapped(self._sources(lon, lat), self.targets,
                                                            profile=self.profile, max_minutes=horizon)
        return minutes

    def pairs(self, lon: np.ndarray, lat: np.ndarray, *, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, place, minutes) for every pair within ``threshold``; one capped search per place."""
        src = self._sources(lon, lat)
        rows, cols, vals = [], [], []
        for j in np.flatnonzero(src.ok):
            m = self.router.walk_minutes_to_snapped(src[j], self.targets, profile=self.profile, max_minutes=threshold)
            hit = np.flatnonzero(m <= threshold)
            rows.append(hit), cols.append(np.full(hit.size, j)), vals.append(m[hit])
        cat = (lambda a: np.concatenate(a) if a else np.zeros(0))
        return cat(rows).astype(np.int64), cat(cols).astype(np.int64), cat(vals)


class EstimatedTimes:
    """Straight-line distance × circuity at the profile's pace, for regions without a network (labelled estimated)."""

    method = ESTIMATED
    off_network = 0

    def __init__(self, profile: Profile, lon: np.ndarray, lat: np.ndarray, *, circuity: float,
                 projection: LocalProjection | None = None) -> None:
        self.profile, self.circuity = profile, circuity
        self.proj = projection or LocalProjection.centred_on(lon, lat)
        self.xy = np.column_stack(self.proj.forward(lon, lat))
        self.tree = cKDTree(self.xy)

    def _minutes(self, metres: np.ndarray) -> np.ndarray:
        return metres * self.circuity / self.profile.metres_per_minute

    def nearest(self, lon: np.ndarray, lat: np.ndarray, *, horizon: float) -> np.ndarray:
        """Estimated minutes from each demand point to its nearest place (inf beyond ``horizon``)."""
        if len(lon) == 0:
            return np.full(self.xy.shape[0], np.inf)
        d, _ = cKDTree(np.column_stack(self.proj.forward(lon, lat))).query(self.xy, k=1)
        m = self._minutes(d)
        return np.where(m <= horizon, m, np.inf)

    def pairs(self, lon: np.ndarray, lat: np.ndarray, *, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(point, place, estimated minutes) for every pair within ``threshold``."""
        if len(lon) == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        places = cKDTree(np.column_stack(self.proj.forward(lon, lat)))
        radius = threshold * self.profile.metres_per_minute / self.circuity
        found = self.tree.sparse_distance_matrix(places, radius, output_type="ndarray")
        return found["i"].astype(np.int64), found["j"].astype(np.int64), self._minutes(found["v"])


def walk_times(settings: Settings, region: str, profile: Profile, demand: Demand):
    """Network walk times when the region has a network, else straight-line estimates."""
    router = DEFAULT_WALKING.router(settings, region)
    if router is not None:
        return NetworkTimes(router, profile, demand.lon, demand.lat)
    return EstimatedTimes(profile, demand.lon, demand.lat, circuity=settings.circuity)


# ----------------------------------------------------------------------------------- measures


@dataclass
class GapResult:
    """Per-area measures, the deprivation-decile view and region totals; no private data."""

    region: str
    region_name: str
    query: GapQuery
    profile: str
    method: str
    thresholds: tuple[float, ...]
    places: Supply
    areas: list[dict]
    by_decile: list[dict]
    totals: dict
    notes: list[str] = field(default_factory=list)
    point_minutes: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    point_weights: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


def supply_weight(weekly: np.ndarray) -> np.ndarray:
    """E2SFCA supply: weekly open hours capped at MAX_SUPPLY_HOURS; unknown → DEFAULT_UNKNOWN_HOURS."""
    return np.minimum(np.where(np.isfinite(weekly), weekly, DEFAULT_UNKNOWN_HOURS), MAX_SUPPLY_HOURS)


def measure(demand: Demand, supply: Supply, times, q: GapQuery, *, minutes: np.ndarray | None = None) -> dict:
    """Every measure for one supply set; ``minutes`` (nearest place per point) may be given precomputed."""
    n = len(demand.code)
    if minutes is None:
        minutes = times.nearest(supply.lon, supply.lat, horizon=HORIZON_MINUTES)
    thresholds = tuple(sorted(set(THRESHOLDS) | {q.minutes}))
    covered = cov.covered_by_group(minutes, demand.weight, demand.area, n, thresholds=thresholds)
    at = covered[thresholds.index(q.minutes)]
    rows, cols, mins = times.pairs(supply.lon, supply.lat, threshold=q.minutes)
    W = cov.decay_matrix(rows, cols, mins, shape=(demand.lon.size, len(supply)), threshold=q.minutes, decay=q.decay)
    access = cov.e2sfca(W, demand.weight, supply_weight(supply.weekly_hours))
    score = cov.weighted_mean_by_group(access.score * 1000.0, demand.weight, demand.area, n)
    return {"minutes": minutes, "thresholds": thresholds, "covered": covered, "covered_at": at,
            "median": cov.weighted_median_by_group(minutes, demand.weight, demand.area, n), "score": score}


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole > 0 else None


def _tables(demand: Demand, m: dict, q: GapQuery) -> tuple[list[dict], list[dict], dict]:
    hh = demand.households
    uncovered = hh - m["covered_at"]
    priority = cov.priority_score(uncovered, demand.decile)
    areas = []
    for i, code in enumerate(demand.code):
        med = m["median"][i]
        areas.append({
            "code": code, "name": demand.name[i], "households": int(hh[i]),
            "share_covered": _share(m["covered_at"][i], hh[i]),
            **{f"share_within_{t:g}": _share(m["covered"][k][i], hh[i]) for k, t in enumerate(m["thresholds"])},
            "median_walk_minutes": float(med) if np.isfinite(med) else None,
            "uncovered_households": float(uncovered[i]), "e2sfca_score": float(np.nan_to_num(m["score"][i])),
            "deprivation_rank": None if np.isnan(demand.rank[i]) else int(demand.rank[i]),
            "deprivation_decile": None if np.isnan(demand.decile[i]) else int(demand.decile[i]),
            "priority": float(priority[i]), "geometry_geojson": demand.geometry[i],
        })
    deciles = []
    for d in sorted({a["deprivation_decile"] for a in areas}, key=lambda x: (x is None, x)):
        sel = np.array([a["deprivation_decile"] == d for a in areas])
        h, c = float(hh[sel].sum()), float(m["covered_at"][sel].sum())
        deciles.append({"decile": d, "areas": int(sel.sum()), "households": h, "covered_households": c,
                        "uncovered_households": h - c, "share_covered": _share(c, h)})
    total_h, total_c = float(hh.sum()), float(m["covered_at"].sum())
    deprived = np.isin(demand.decile, MOST_DEPRIVED)
    totals = {"households": total_h, "covered_households": total_c, "uncovered_households": total_h - total_c,
              "share_covered": _share(total_c, total_h),
              **{f"share_within_{t:g}": _share(float(m["covered"][k].sum()), total_h) for k, t in enumerate(m["thresholds"])},
              "most_deprived_households": float(hh[deprived].sum()),
              "most_deprived_covered": float(m["covered_at"][deprived].sum()),
              "most_deprived_share_covered": _share(float(m["covered_at"][deprived].sum()), float(hh[deprived].sum()))}
    return areas, deciles, totals


@dataclass
class Context:
    """Everything loaded for one query: region, demand, supply, other places and the walk-time engine."""

    region: str
    region_name: str
    region_id: int
    query: GapQuery
    profile: Profile
    demand: Demand
    eligible: Supply
    is_open: np.ndarray
    others: Supply
    times: object

    @property
    def supply(self) -> Supply:
        """The places counted: eligible and open in the slot."""
        return self.eligible.take(np.flatnonzero(self.is_open))
    boundary: str | None


def prepare(engine: Engine, settings: Settings, q: GapQuery) -> Context:
    """Validate the query and load demand, supply and walk times; raises before any output is written."""
    q.check()
    profile = profile_for(settings, q.profile)
    with read_session(engine) as session:
        region = find_region(session, q.region)
        demand = load_demand(session, region.id, region_name=region.name)
        eligible, is_open, others = select_supply(session, region.id, q)
        slug, name, rid, boundary = region.slug, region.name, region.id, region.boundary_geojson
    if not is_open.any():
        raise DataError(f"{name} has no places matching these criteria (categories {', '.join(q.categories or DEFAULT_CATEGORIES)}"
                        f"{', slot ' + q.slot if q.slot != 'any' else ''}); import places or widen the criteria")
    return Context(slug, name, rid, q, profile, demand, eligible, is_open, others,
                   walk_times(settings, slug, profile, demand), boundary)


def result_from(ctx: Context, m: dict, supply: Supply) -> GapResult:
    """Assemble the result tables for one measured supply set."""
    areas, deciles, totals = _tables(ctx.demand, m, ctx.query)
    notes = []
    if ctx.times.method == ESTIMATED:
        notes.append("walk times are estimated (straight-line distance × circuity): this region has no path network")
    unknown = int(np.isnan(supply.weekly_hours).sum())
    if unknown:
        notes.append(f"{unknown} of {len(supply)} places have no opening hours; E2SFCA counts them as "
                     f"{DEFAULT_UNKNOWN_HOURS:g} hours a week")
    if ctx.times.off_network:
        notes.append(f"{ctx.times.off_network} postcode points are over 1 km from any path and count as out of reach")
    return GapResult(ctx.region, ctx.region_name, ctx.query, ctx.profile.name, ctx.times.method, m["thresholds"],
                     supply, areas, deciles, totals, notes, m["minutes"], ctx.demand.weight)


def analyse_gaps(engine: Engine, settings: Settings, q: GapQuery) -> GapResult:
    """The whole-region gap analysis for one threshold, profile and time slot."""
    ctx = prepare(engine, settings, q)
    return result_from(ctx, measure(ctx.demand, ctx.supply, ctx.times, q), ctx.supply)


def region_geojson(ctx_or_result) -> dict:
    """Areas as a GeoJSON FeatureCollection (EPSG:4326) with their measures."""
    feats = [{"type": "Feature", "geometry": json.loads(a["geometry_geojson"]),
              "properties": {k: v for k, v in a.items() if k != "geometry_geojson"}} for a in ctx_or_result.areas]
    return {"type": "FeatureCollection", "features": feats}


# ----------------------------------------------------------------------------------- what-if


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
    ctx = prepare(engine, settings, q)
    before = measure(ctx.demand, ctx.supply, ctx.times, q)
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
    ctx = prepare(engine, settings, q)
    base = measure(ctx.demand, ctx.supply, ctx.times, q)
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
            "candidates": len(pool), "share_covered_before": _share(float(base["covered_at"].sum()), total), "sites": sites}


# ----------------------------------------------------------------------------------- partitions


def subnetwork(net, edge_mask: np.ndarray):
    """The network restricted to the masked edges (nodes renumbered; same metric CRS and edge geometry)."""
    from kindmap.geo.network import WalkNetwork

    keep = np.flatnonzero(edge_mask)
    nodes = np.unique(np.r_[net.edge_u[keep], net.edge_v[keep]])
    remap = np.full(net.n_nodes, -1, dtype=np.int64)
    remap[nodes] = np.arange(nodes.size)
    u, v = remap[net.edge_u[keep]].astype(np.int32), remap[net.edge_v[keep]].astype(np.int32)
    counts = np.diff(net.geom_offsets)[keep]
    starts = net.geom_offsets[keep]
    vert = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
    eid = np.arange(keep.size, dtype=np.int32)
    loop = u == v
    src, dst = np.r_[u[~loop], v[~loop]], np.r_[v[~loop], u[~loop]]
    ids = np.r_[eid[~loop], eid[~loop]]
    order = np.argsort(src, kind="stable")
    return WalkNetwork(
        proj4=net.proj4, node_osm_id=net.node_osm_id[nodes], node_lon=net.node_lon[nodes], node_lat=net.node_lat[nodes],
        node_x=net.node_x[nodes], node_y=net.node_y[nodes], edge_u=u, edge_v=v, edge_length=net.edge_length[keep],
        edge_flags=net.edge_flags[keep], edge_way_id=net.edge_way_id[keep],
        geom_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64), geom_xy=net.geom_xy[vert],
        indptr=np.r_[0, np.cumsum(np.bincount(src, minlength=nodes.size))].astype(np.int64),
        indices=dst[order].astype(np.int32), adj_edge=ids[order].astype(np.int32), source=f"{net.source} (tile)")


def _tile_job(times_factory, point_idx, place_idx, lon, lat, q: GapQuery):
    """One tile: nearest minutes for its points and E2SFCA pairs, in global indices."""
    times = times_factory()
    minutes = times.nearest(lon[place_idx], lat[place_idx], horizon=HORIZON_MINUTES)
    r, c, m = times.pairs(lon[place_idx], lat[place_idx], threshold=q.minutes)
    return point_idx, minutes, point_idx[r], place_idx[c], m


def _tiles(xy: np.ndarray, nx: int, ny: int) -> list[np.ndarray]:
    """Point indices per tile: quantile cuts in x, then in y within each column (balanced tiles)."""
    out = []
    cols = np.array_split(np.argsort(xy[:, 0], kind="stable"), nx)
    for col in cols:
        out.extend(np.sort(part) for part in np.array_split(col[np.argsort(xy[col, 1], kind="stable")], ny))
    return [t for t in out if t.size]


def analyse_partitioned(engine: Engine, settings: Settings, q: GapQuery, *, tiles: tuple[int, int] = (2, 2),
                        scheduler: str = "threads") -> GapResult:
    """The same analysis split into tiles with a halo of the longest walk, run as Dask tasks; exact.

    A walk of D metres never leaves the disc of radius D around its start, so a tile needs only
    the places within D of its bounding box and the path edges within D + the snap limit (so
    every place and household snaps as it would on the whole network). D is the search horizon
    (``HORIZON_MINUTES`` at the profile's pace). Tiles could equally be councils on other machines
    (``scheduler`` is any Dask scheduler, e.g. a ``distributed`` client's).
    """
    import dask

    from kindmap.geo.graph import DEFAULT_MAX_SNAP_M

    ctx = prepare(engine, settings, q)
    demand, supply, profile = ctx.demand, ctx.supply, ctx.profile
    halo = HORIZON_MINUTES * profile.metres_per_minute
    router = DEFAULT_WALKING.router(settings, ctx.region)
    proj = router.net.projection if router is not None else ctx.times.proj
    pxy = np.column_stack(proj.forward(demand.lon, demand.lat))
    sxy = np.column_stack(proj.forward(supply.lon, supply.lat))
    lon, lat = supply.lon, supply.lat
    if router is not None:
        net = router.net
        counts = np.diff(net.geom_offsets)
        ex_min = np.minimum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0)
        ex_max = np.maximum.reduceat(net.geom_xy, net.geom_offsets[:-1], axis=0)
        assert (counts > 0).all()
    jobs = []
    for idx in _tiles(pxy, *tiles):
        lo, hi = pxy[idx].min(0), pxy[idx].max(0)
        gap = np.maximum(np.maximum(lo - sxy, sxy - hi), 0.0)
        places = np.flatnonzero(np.hypot(gap[:, 0], gap[:, 1]) <= halo)
        plon, plat = demand.lon[idx], demand.lat[idx]
        if router is not None:
            reach = halo + DEFAULT_MAX_SNAP_M
            mask = ((ex_max >= lo - reach) & (ex_min <= hi + reach)).all(axis=1)
            sub = subnetwork(net, mask)
            factory = (lambda sub=sub, plon=plon, plat=plat: NetworkTimes(Router(sub), profile, plon, plat))
        else:
            factory = (lambda plon=plon, plat=plat: EstimatedTimes(profile, plon, plat, circuity=settings.circuity,
                                                                   projection=proj))
        jobs.append(dask.delayed(_tile_job)(factory, idx, places, lon, lat, q))
    parts = dask.compute(*jobs, scheduler=scheduler)
    minutes = np.full(demand.lon.size, np.inf)
    rows, cols, vals = [], [], []
    for idx, m, r, c, v in parts:
        minutes[idx] = m
        rows.append(r), cols.append(c), vals.append(v)
    pairs = (np.concatenate(rows), np.concatenate(cols), np.concatenate(vals))
    m = measure(demand, supply, _Fixed(pairs, ctx.times), q, minutes=minutes)
    result = result_from(ctx, m, supply)
    result.notes.append(f"computed in {len(parts)} tiles with a {halo / 1000:.1f} km halo (Dask, {scheduler})")
    return result


class _Fixed:
    """Walk-time pairs already computed (the reduce step of a partitioned run)."""

    def __init__(self, pairs, times) -> None:
        self._pairs, self.method, self.off_network = pairs, times.method, times.off_network

    def pairs(self, lon, lat, *, threshold):
        return self._pairs
