"""Councils side by side: the share of households within 5, 10, 15 and 20 minutes' walk of a
welcoming place, overall and in the two most deprived deciles, for every council (region) loaded.

Analysts compare themselves with their neighbours. Each council is measured as its own gap
analysis measures it (``inputs``, ``times``, the same "no data" rule as ``measure.area_tables``:
areas mostly outside the map data are left out of every share), but only the nearest-place walk
is searched, up to 20 minutes, so a comparison costs one capped search per council. At most
``MAX_COUNCILS`` are compared: the council asked about and its nearest neighbours.

The deprivation index is named per council: England's IMD 2025 and Wales's WIMD 2019 rank small
areas within their own nation, so "deciles 1–2" are the most deprived 20% of different nations
and are not comparable ranks; the sentences say so. Aggregates only: households are census counts
at postcode centroids, never a household's location.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from kindmap.config import Settings
from kindmap.db import read_session
from kindmap.errors import KindmapError
from kindmap.geo import coverage as cov
from kindmap.geo.distance import haversine_m
from kindmap.models import Area, Region
from kindmap.services.gaps.inputs import load_demand, select_supply
from kindmap.services.gaps.query import MOST_DEPRIVED, NO_DATA_BELOW, THRESHOLDS, GapQuery
from kindmap.services.gaps.times import walk_times
from kindmap.services.walking import profile_for

MAX_COUNCILS = 8  # a bounded cost: one capped walk search per council compared
SETUP_EXAMPLE = "kindmap region setup CODE-OR-NAME --osm EXTRACT.osm.pbf"


@dataclass
class CouncilRow:
    """One council's figures (shares of the households with map data; None when there are none)."""

    region: str
    name: str
    code: str | None
    nation: str | None
    deprivation_index: str | None
    method: str | None = None  # network / estimated; None when it could not be measured
    places: int = 0
    households: float = 0.0  # every household of the council's small areas
    households_with_map_data: float = 0.0  # those in areas judged (not "no data")
    map_data_share: float | None = None
    no_data_areas: int = 0
    shares: dict[int, float | None] = field(default_factory=dict)  # minutes → share within
    deprived_areas: int = 0  # judged areas in deciles 1–2
    deprived_households: float = 0.0
    deprived_shares: dict[int, float | None] = field(default_factory=dict)
    problem: str | None = None  # why it could not be measured, in words


@dataclass
class Comparison:
    """The councils compared, in order (the one asked about first), and what to read them by."""

    thresholds: tuple[int, ...]
    profile: str
    slot: str
    rows: list[CouncilRow]
    loaded: int  # councils in the database
    focus: str | None = None
    neighbours: list[tuple[str, str]] = field(default_factory=list)  # (code, name) to suggest adding
    sentences: list[str] = field(default_factory=list)

    @property
    def indices(self) -> list[str]:
        """The deprivation indices the councils use, each once."""
        return sorted({r.deprivation_index for r in self.rows if r.deprivation_index})


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole > 0 else None


def measure_council(session: Session, settings: Settings, region: Region, *, profile: str | None, slot: str) -> CouncilRow:
    """One council's shares within each threshold, overall and in deciles 1–2 (aggregates only)."""
    indices = sorted({i for i in session.exec(select(Area.deprivation_index).where(Area.region_id == region.id)).all() if i})
    row = CouncilRow(region.slug, region.name, region.code, region.nation, ", ".join(indices) or None)
    q = GapQuery(region=region.slug, minutes=float(max(THRESHOLDS)), profile=profile, slot=slot)
    try:
        q.check()
        demand = load_demand(session, region.id, region_name=region.name)
        eligible, is_open, _ = select_supply(session, region.id, q)
    except KindmapError as exc:
        row.problem = exc.message
        return row
    supply = eligible.take(np.flatnonzero(is_open))
    n = len(demand.code)
    shares = demand.map_share if demand.map_share is not None else np.full(n, np.nan)
    judged = ~(shares < NO_DATA_BELOW)  # NaN (no extract recorded) is judged, as in measure.area_tables
    hh = np.where(judged, demand.households, 0.0)
    row.places, row.households = len(supply), float(demand.households.sum())
    row.households_with_map_data, row.no_data_areas = float(hh.sum()), int((~judged).sum())
    row.map_data_share = _share(row.households_with_map_data, row.households)
    deprived = np.isin(demand.decile, MOST_DEPRIVED) & judged
    row.deprived_areas, row.deprived_households = int(deprived.sum()), float(hh[deprived].sum())
    if not judged.any():
        row.shares = {t: None for t in THRESHOLDS}
        row.deprived_shares = {t: None for t in THRESHOLDS}
        return row
    times = walk_times(settings, region.slug, profile_for(settings, profile), demand)
    row.method = times.method
    minutes = times.nearest(supply.lon, supply.lat, horizon=float(max(THRESHOLDS)))
    covered = cov.covered_by_group(minutes, demand.weight, demand.area, n, thresholds=THRESHOLDS)
    covered = np.where(judged, covered, 0.0)
    row.shares = {t: _share(float(covered[k].sum()), row.households_with_map_data) for k, t in enumerate(THRESHOLDS)}
    row.deprived_shares = {t: _share(float(covered[k][deprived].sum()), row.deprived_households)
                           for k, t in enumerate(THRESHOLDS)}
    return row


def centres(session: Session) -> dict[int, tuple[float, float]]:
    """Each region's centre (EPSG:4326): the mean of its small areas' centroids, else its outline's centroid."""
    rows = session.exec(select(Area.region_id, func.avg(Area.centroid_lon), func.avg(Area.centroid_lat))
                        .group_by(Area.region_id)).all()
    out = {rid: (float(x), float(y)) for rid, x, y in rows if x is not None}
    for r in session.exec(select(Region)).all():
        text = r.boundary_geojson or r.map_extent_geojson
        if r.id not in out and text:
            c = shape(json.loads(text)).centroid
            out[r.id] = (float(c.x), float(c.y))
    return out


def chosen(regions: list[Region], focus: str | None, *, limit: int = MAX_COUNCILS,
           centre: dict[int, tuple[float, float]] | None = None) -> list[Region]:
    """The council asked about first, then its nearest neighbours (by centre), at most ``limit``;
    without one, the first ``limit`` by name."""
    regions = sorted(regions, key=lambda r: (r.name.casefold(), r.slug))
    first = next((r for r in regions if r.slug == focus), None)
    if first is None:
        return regions[:limit]
    centre = centre or {}
    here = centre.get(first.id)

    def distance(r: Region) -> float:
        there = centre.get(r.id)
        if here is None or there is None:
            return float("inf")
        return float(haversine_m(here[0], here[1], there[0], there[1]))

    rest = sorted((r for r in regions if r is not first), key=lambda r: (distance(r), r.name.casefold()))
    return [first, *rest[: limit - 1]]


def neighbouring_councils(settings: Settings, region: Region, *, limit: int = 6) -> list[tuple[str, str]]:
    """Councils of England and Wales whose outline touches this one's (code, name), from the national
    council table when it is in the data folder; [] when it is not (never downloaded for a page)."""
    from kindmap.ingest.manifest import load_manifest

    if not region.boundary_geojson:
        return []
    try:
        entry = next(f for f in load_manifest("uk").files if f.options.get("table") == "ltla24")
        path = Path(settings.data_dir) / entry.path
        if not path.is_file():
            return []
        touching = _touching(str(path), path.stat().st_mtime_ns, region.code, region.boundary_geojson)
    except Exception:  # no table, or not readable: the sentence falls back to the general command
        return []
    return list(touching[:limit])


@lru_cache(maxsize=8)
def _touching(path: str, mtime_ns: int, code: str, boundary_geojson: str) -> tuple[tuple[str, str], ...]:
    """Read once per table file and outline (the page asks on every load; reading the national table
    costs ~40 ms, plus geopandas' import the first time)."""
    import pyogrio

    frame = pyogrio.read_dataframe(path, columns=["ltla24cd", "ltla24nm"])
    outline = shape(json.loads(boundary_geojson)).buffer(0.005)  # ~500 m: generalised outlines leave slivers
    found = [(str(c), str(n)) for c, n, g in zip(frame["ltla24cd"], frame["ltla24nm"], frame.geometry)
             if g is not None and c != code and shapely.intersects(outline, g)]
    return tuple(sorted(found, key=lambda cn: cn[1]))


def compare_councils(engine: Engine, settings: Settings, *, focus: str | None = None, profile: str | None = None,
                     slot: str = "any") -> Comparison:
    """Every council loaded (at most ``MAX_COUNCILS``: ``focus`` and its nearest), side by side."""
    GapQuery(region=focus or "", profile=profile, slot=slot).check()
    profile_name = profile_for(settings, profile).name
    with read_session(engine) as session:
        if focus is not None:
            from kindmap.services.gaps.analysis import imported_region

            imported_region(session, focus)  # NotFound naming the regions loaded
        regions = list(session.exec(select(Region)).all())
        picked = chosen(regions, focus, centre=centres(session) if focus else None)
        rows = [measure_council(session, settings, r, profile=profile, slot=slot) for r in picked]
        neighbours = neighbouring_councils(settings, picked[0]) if len(regions) == 1 else []
    out = Comparison(THRESHOLDS, profile_name, slot, rows, loaded=len(regions), focus=focus, neighbours=neighbours)
    out.sentences = sentences(out)
    return out


def _nation_of(row: CouncilRow) -> str:
    return row.nation or {"E": "England", "W": "Wales", "S": "Scotland"}.get((row.code or " ")[0], "its nation")


def sentences(c: Comparison) -> list[str]:
    """What to read the comparison by, in plain sentences (the page and the report show the same)."""
    out = []
    if not c.rows:
        return ["No council is loaded yet. Set one up with: " + SETUP_EXAMPLE + "."]
    if len(c.rows) == 1:
        only = c.rows[0]
        how = SETUP_EXAMPLE
        if c.neighbours:
            code, name = c.neighbours[0]
            how += (f" — for example kindmap region setup {code} --osm {name.lower().replace(' ', '-')}.osm.pbf; "
                    f"councils next to {only.name}: " + ", ".join(f"{n} ({cd})" for cd, n in c.neighbours))
        out.append(f"Only one council is loaded ({only.name}), so there is no neighbour to compare it with. "
                   f"To add a neighbouring council: {how}.")
    elif c.loaded > len(c.rows):
        out.append(f"{len(c.rows)} of the {c.loaded} councils loaded are shown: "
                   f"{c.rows[0].name if c.focus else 'the first by name'}"
                   f"{' and its nearest neighbours' if c.focus else ''}.")
    indices = c.indices
    if len(indices) > 1:
        by = "; ".join(f"{idx} for " + ", ".join(r.name for r in c.rows if r.deprivation_index == idx) for idx in indices)
        out.append(f"These councils use different deprivation indices ({by}). Each index ranks small areas within its "
                   "own nation only, so 'the two most deprived deciles' means the most deprived 20% of a different "
                   "nation for each: compare how each council's most deprived areas fare against its own households, "
                   "not the ranks with each other.")
    elif indices:
        nations = {_nation_of(r) for r in c.rows}
        of = f" of {nations.pop()}" if len(nations) == 1 else ""
        out.append(f"Deprivation deciles are {indices[0]}'s (decile 1 = the most deprived 10% of small areas{of}).")
    for r in c.rows:
        if r.problem:
            out.append(f"{r.name} could not be measured: {r.problem}.")
        elif r.households_with_map_data <= 0 and r.households > 0:
            out.append(f"{r.name} has no map data over its small areas, so its walking reach cannot be measured "
                       "(import an OpenStreetMap extract that covers it).")
        elif r.no_data_areas:
            out.append(f"Map data covers {_pct(r.map_data_share)} of {r.name}'s households: {r.no_data_areas} small "
                       f"area{'s' if r.no_data_areas != 1 else ''} mostly outside it {'are' if r.no_data_areas != 1 else 'is'} "
                       "left out of its shares as no data, not counted as no access.")
        if not r.problem and r.households_with_map_data > 0 and not r.deprived_areas:
            out.append(f"{r.name} has no small areas in {r.deprivation_index or 'the index'}'s deciles 1–2"
                       f"{' with map data' if r.no_data_areas else ''}.")
        if r.method == "estimated":
            out.append(f"Walks in {r.name} are estimated (straight-line distance with a detour allowance): "
                       "no path network is loaded for it.")
    return out


def _pct(v: float | None) -> str:
    return "no" if v is None else f"{100 * v:.0f}%"


def as_dict(c: Comparison) -> dict:
    """The comparison as plain data (the API's and the report's shape)."""
    def shares(d: dict[int, float | None]) -> dict[str, float | None]:
        return {str(t): d.get(t) for t in c.thresholds}

    return {
        "thresholds": list(c.thresholds), "profile": c.profile, "slot": c.slot, "loaded": c.loaded, "focus": c.focus,
        "indices": c.indices, "sentences": c.sentences,
        "neighbours": [{"code": code, "name": name} for code, name in c.neighbours],
        "councils": [{
            "region": r.region, "name": r.name, "code": r.code, "nation": r.nation,
            "deprivation_index": r.deprivation_index, "method": r.method, "places": r.places,
            "households": r.households, "households_with_map_data": r.households_with_map_data,
            "map_data_share": r.map_data_share, "no_data_areas": r.no_data_areas,
            "within": shares(r.shares), "deprived_areas": r.deprived_areas,
            "deprived_households": r.deprived_households, "deprived_within": shares(r.deprived_shares),
            "problem": r.problem,
        } for r in c.rows],
    }
