"""Council gap analysis: where welcoming free places are out of walking reach, for whom, and what would change it.

The analysis is built from small modules, each owning one step; this module ties them together
(``prepare`` loads, ``analyse_gaps`` measures) and re-exports their public names:

* :mod:`~kindmap.services.gaps.query` the question (``GapQuery``), thresholds, time slots, reference week;
* :mod:`~kindmap.services.gaps.inputs` demand (households at postcode centroids) and supply (places);
* :mod:`~kindmap.services.gaps.times` walk minutes on the network, or estimated (straight line × circuity);
* :mod:`~kindmap.services.gaps.measure` coverage, median walk, E2SFCA and the result tables;
* :mod:`~kindmap.services.gaps.scenarios` what-if and best new sites; :mod:`~kindmap.services.gaps.partition`
  the same analysis in Dask tiles; :mod:`~kindmap.services.gaps.report` the output files.

Coordinates are EPSG:4326; walk times are minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.db import read_session
from kindmap.errors import DataError, NotFound
from kindmap.geo import rfc7946
from kindmap.geo.profiles import Profile
from kindmap.models import Area, Region
from kindmap.services.gaps.inputs import (
    Demand,
    Supply,
    load_areas,
    load_demand,
    load_places,
    open_in_slot,
    select_supply,
    weekly_hours,
)
from kindmap.services.gaps.measure import (
    GapResult,
    area_tables,
    measure,
    share,
    supply_weight,
)
from kindmap.services.gaps.query import (
    DEFAULT_CATEGORIES,
    DEFAULT_UNKNOWN_HOURS,
    HORIZON_MINUTES,
    MAX_MINUTES,
    MAX_SUPPLY_HOURS,
    MIN_MINUTES,
    MOST_DEPRIVED,
    NO_DATA_BELOW,
    REFERENCE_WEEK,
    SLOTS,
    THRESHOLDS,
    GapQuery,
)
from kindmap.services.gaps.names import area_label, national_wards, nearest_names, region_settlements
from kindmap.services.gaps.sources import data_sources
from kindmap.services.gaps.times import EstimatedTimes, NetworkTimes, walk_times
from kindmap.services.walking import ESTIMATED, profile_for

__all__ = [
    "DEFAULT_CATEGORIES", "DEFAULT_UNKNOWN_HOURS", "HORIZON_MINUTES", "MAX_MINUTES", "MAX_SUPPLY_HOURS", "MIN_MINUTES",
    "MOST_DEPRIVED", "REFERENCE_WEEK", "SLOTS", "THRESHOLDS", "Context", "Demand", "EstimatedTimes", "GapQuery",
    "GapResult", "NetworkTimes", "Supply", "analyse_gaps", "area_tables", "imported_region", "load_demand", "load_places", "measure",
    "open_in_slot", "prepare", "region_geojson", "result_from", "select_supply", "share", "supply_weight",
    "walk_times", "weekly_hours",
]



def imported_region(session: Session, slug: str) -> Region:
    """The region in the database, or NotFound naming only the imported regions (or how to import one)."""
    region = session.exec(select(Region).where(Region.slug == slug)).first()
    if region is not None:
        return region
    from kindmap.ingest.manifest import known_regions

    # A manifest only says a region can be imported; the analysis needs its areas and places in the database.
    has_manifest = slug in known_regions()
    imported = sorted(session.exec(select(Region.slug)).all())
    if not imported:
        how = (f"import it with: kindmap import region {slug}" if has_manifest else
               "import one with: kindmap import region SLUG (kindmap region list shows the regions with a manifest)")
        raise NotFound(f"unknown region {slug!r}: no regions are imported yet; {how}")
    hint = f"; import it with: kindmap import region {slug}" if has_manifest else ""
    raise NotFound(f"unknown region {slug!r}; imported regions: {', '.join(imported)}{hint}")


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

    boundary: str | None
    # area code → {"ward", "near", "label", "map_share"}: how people know each area (services.gaps.names)
    labels: dict = field(default_factory=dict)
    sources: list = field(default_factory=list)  # data behind the analysis (services.gaps.sources)
    deprivation_index: str | None = None

    @property
    def supply(self) -> Supply:
        """The places counted: eligible and open in the slot."""
        return self.eligible.take(np.flatnonzero(self.is_open))


def prepare(engine: Engine, settings: Settings, q: GapQuery, *, times: bool = True, points: bool = True) -> Context:
    """Validate the query and load demand, supply and walk times; raises before any output is written.

    ``times=False`` leaves ``ctx.times`` None and ``points=False`` gives ``ctx.demand`` its areas
    but no demand points yet (a partitioned run reads each tile's points and computes its walk
    times in the tile, and never snaps every household on the whole network)."""
    q.check()
    profile = profile_for(settings, q.profile)
    with read_session(engine) as session:
        region = imported_region(session, q.region)
        demand = (load_demand if points else load_areas)(session, region.id, region_name=region.name)
        eligible, is_open, others = select_supply(session, region.id, q)
        slug, name, rid, boundary = region.slug, region.name, region.id, region.boundary_geojson
        labels, index = _labels(session, settings, region)
        sources = data_sources(session, region.id, region.slug)
    if not is_open.any():
        raise DataError(f"{name} has no places matching these criteria (categories {', '.join(q.categories or DEFAULT_CATEGORIES)}"
                        f"{', slot ' + q.slot if q.slot != 'any' else ''}); import places or widen the criteria")
    return Context(slug, name, rid, q, profile, demand, eligible, is_open, others,
                   walk_times(settings, slug, profile, demand) if times else None, boundary, labels, sources, index)


def _labels(session: Session, settings: Settings, region: Region) -> tuple[dict, str | None]:
    """Ward and nearest town or village per area code, and the deprivation index the areas use."""
    rows = session.exec(select(Area.code, Area.name, Area.ward_name, Area.centroid_lon, Area.centroid_lat,
                               Area.map_share, Area.deprivation_index).where(Area.region_id == region.id)).all()
    near = nearest_names([r[3] for r in rows], [r[4] for r in rows], region_settlements(settings, region.slug))
    borrowed = national_wards(settings, [r[0] for r in rows if not r[2]])
    labels = {}
    for r, n in zip(rows, near):
        ward = r[2] or borrowed.get(r[0])
        labels[r[0]] = {"ward": ward, "near": n, "label": area_label(ward, n, r[1]), "map_share": r[5]}
    indices = sorted({r[6] for r in rows if r[6]})
    return labels, ", ".join(indices) or None


def unknown_hours_effect(ctx: Context, supply: Supply, minutes: np.ndarray | None = None) -> dict:
    """Coverage with and without the places whose opening hours are unknown (the assumption that
    matters most when most places have none): shares of households within the walk, overall and in
    deciles 1–2. One extra nearest-place search each, capped at the threshold, except for a set
    that is ``supply`` itself, whose nearest ``minutes`` (any horizon ≥ the threshold) are given."""
    q, demand = ctx.query, ctx.demand
    unknown_eligible = np.isnan(ctx.eligible.weekly_hours)
    counted_unknown = int(np.isnan(supply.weekly_hours).sum())
    out = {"places": len(supply), "unknown": counted_unknown, "unknown_eligible": int(unknown_eligible.sum()),
           "counted_as_open": bool(q.slot == "any" or q.include_unknown_hours),
           "assumed_weekly_hours": DEFAULT_UNKNOWN_HOURS}
    if not unknown_eligible.any():
        return out
    total = float(demand.households.sum())
    deprived = np.isin(demand.decile[demand.area], MOST_DEPRIVED) if demand.area.size else np.zeros(0, bool)
    deprived_total = float(demand.weight[deprived].sum())

    def shares(selected: np.ndarray) -> tuple[float | None, float | None]:
        if not selected.any():
            return (0.0 if total else None), (0.0 if deprived_total else None)
        places = ctx.eligible.take(np.flatnonzero(selected))
        if minutes is not None and places.ids == supply.ids and np.array_equal(places.lon, supply.lon) \
                and np.array_equal(places.lat, supply.lat):
            near = minutes <= q.minutes  # the same places (slot "any", or none unknown): no second search
        else:
            near = ctx.times.nearest(places.lon, places.lat, horizon=q.minutes) <= q.minutes
        return share(float(demand.weight[near].sum()), total), share(float(demand.weight[near & deprived].sum()), deprived_total)

    out["share_with"], out["deprived_share_with"] = shares(ctx.is_open | unknown_eligible)
    out["share_without"], out["deprived_share_without"] = shares(ctx.is_open & ~unknown_eligible)
    return out


def result_from(ctx: Context, m: dict, supply: Supply) -> GapResult:
    """Assemble the result tables for one measured supply set."""
    areas, deciles, totals = area_tables(ctx.demand, m, ctx.query)
    notes = []
    if ctx.times.method == ESTIMATED:
        notes.append("walk times are estimated (straight-line distance × circuity): this region has no path network")
    unknown = int(np.isnan(supply.weekly_hours).sum())
    if unknown:
        notes.append(f"{unknown} of {len(supply)} places have no opening hours; E2SFCA counts them as "
                     f"{DEFAULT_UNKNOWN_HOURS:g} hours a week")
    if totals.get("no_data_areas"):
        notes.insert(0, f"map data covers {totals['households_with_map_data_share']:.0%} of {ctx.region_name}'s households: "
                        f"{totals['no_data_areas']} small areas ({totals['no_data_households']:,.0f} households) lie outside "
                        "the OpenStreetMap extract and are left out of every share as no data, not counted as no access")
    if ctx.times.off_network:
        notes.append(f"{ctx.times.off_network} postcode points are over 1 km from any path and count as out of reach")
    for a in areas:
        a.update(ctx.labels.get(a["code"], {"ward": None, "near": None, "label": a["name"], "map_share": None}))
        # Mostly outside the map data (or no households): "no data", never "no access".
        a["no_data"] = a["share_covered"] is None or (a["map_share"] is not None and a["map_share"] < NO_DATA_BELOW)
    return GapResult(ctx.region, ctx.region_name, ctx.query, ctx.profile.name, ctx.times.method, m["thresholds"],
                     supply, areas, deciles, totals, notes, m["minutes"], ctx.demand.weight,
                     unknown_hours=unknown_hours_effect(ctx, supply, m["minutes"]), sources=ctx.sources,
                     deprivation_index=ctx.deprivation_index)


def analyse_gaps(engine: Engine, settings: Settings, q: GapQuery) -> GapResult:
    """The whole-region gap analysis for one threshold, profile and time slot."""
    ctx = prepare(engine, settings, q)
    return result_from(ctx, measure(ctx.demand, ctx.supply, ctx.times, q), ctx.supply)


def region_geojson(ctx_or_result) -> dict:
    """Areas as a GeoJSON FeatureCollection (EPSG:4326) with their measures."""
    feats = [{"type": "Feature", "geometry": rfc7946.geometry(a["geometry_geojson"]),
              "properties": {k: v for k, v in a.items() if k != "geometry_geojson"}} for a in ctx_or_result.areas]
    return {"type": "FeatureCollection", "features": feats}
