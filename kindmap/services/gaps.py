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
