"""The measured analysis for one query, kept while the data behind it is unchanged.

The council view asks for the same analysis again and again: the page on each load, the report,
every what-if (which needs the analysis before the change), best sites. Loading demand, supply and
walk times and measuring them is most of each request's time, so the loaded ``Context``, its
measures and the ``GapResult`` are kept per engine, keyed by the query, the settings and a
*data version* read afresh on every call: the catalogue change counter (bumped by triggers on every
write to a place), the newest import run, and counts and sums of the region's areas and postcodes,
and the walking network file's modification time. Any change there is a new key, so a cached answer
is never older than the data. At most ``MAX_KEPT`` analyses, holding at most ``MAX_POINTS_KEPT``
demand points between them, are kept per engine (least recently used go first; a national analysis
of 10⁶ postcodes holds a few hundred MB, so it is kept alone or not at all). Errors are never kept.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import astuple, dataclass

from sqlalchemy import Engine, func
from sqlmodel import select

from kindmap.config import Settings
from kindmap.db import read_session
from kindmap.models import Area, CatalogueVersion, Postcode, Region
from kindmap.models.imports import ImportRun
from kindmap.services.gaps.analysis import Context, prepare, result_from
from kindmap.services.gaps.measure import GapResult, measure
from kindmap.services.gaps.query import GapQuery
from kindmap.services.walking import network_path

MAX_KEPT = 8
MAX_POINTS_KEPT = 1_500_000  # demand points (postcodes) across the analyses kept for one engine


@dataclass(frozen=True)
class Baseline:
    """One query's loaded inputs, its measures and its result tables (shared: never mutate them)."""

    ctx: Context
    measured: dict
    result: GapResult


_lock = threading.Lock()
_kept: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # engine -> OrderedDict[key, Baseline]


def data_version(engine: Engine, settings: Settings, region: str) -> tuple | None:
    """What the analysis of ``region`` reads, summed up cheaply; None when it cannot be told (no counter row)."""
    with read_session(engine) as session:
        version = session.exec(select(CatalogueVersion.version).where(CatalogueVersion.id == 1)).first()
        row = session.exec(select(Region.id, Region.name, func.length(Region.boundary_geojson))
                           .where(Region.slug == region)).first()
        if version is None or row is None:
            return None
        areas = tuple(session.exec(select(func.count(Area.id), func.max(Area.id), func.sum(Area.households),
                                          func.sum(Area.map_share), func.count(Area.ward_name))
                                   .where(Area.region_id == row[0])).one())
        codes = select(Area.code).where(Area.region_id == row[0])
        postcodes = session.exec(select(func.count()).select_from(Postcode).where(Postcode.area_code.in_(codes))).one()
        runs = tuple(session.exec(select(func.max(ImportRun.id), func.count(ImportRun.id))).one())
    path = network_path(settings, region)
    try:
        network = path.stat().st_mtime_ns
    except OSError:
        network = None
    return version, tuple(row), areas, postcodes, runs, network


def baseline(engine: Engine, settings: Settings, q: GapQuery) -> Baseline:
    """The analysis of ``q`` as it stands: from the cache when the data version is unchanged, else computed and kept."""
    q.check()
    version = data_version(engine, settings, q.region)
    key = (astuple(q), settings.model_dump_json(), version)
    if version is not None:
        with _lock:
            kept = _kept.setdefault(engine, OrderedDict())
            found = kept.get(key)
            if found is not None:
                kept.move_to_end(key)
                return found
    ctx = prepare(engine, settings, q)
    measured = measure(ctx.demand, ctx.supply, ctx.times, q)
    found = Baseline(ctx, measured, result_from(ctx, measured, ctx.supply))
    if version is not None:
        with _lock:
            kept = _kept.setdefault(engine, OrderedDict())
            kept[key] = found
            while len(kept) > MAX_KEPT or (kept and sum(_points(b) for b in kept.values()) > MAX_POINTS_KEPT):
                kept.popitem(last=False)
    return found


def _points(b: Baseline) -> int:
    return int(b.ctx.demand.lon.size)
