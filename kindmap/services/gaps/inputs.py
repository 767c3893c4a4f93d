"""Gap analysis inputs: demand (households at postcode centroids) and supply (published places), EPSG:4326.

**Demand.** Each small area's households (``Area.households``, census) are shared equally
among the area's postcode centroids (an area without postcodes keeps them at its centroid),
so reach is measured where people live rather than at area centroids. Postcode centroids
are public; no private household ever feeds these figures.

**Supply.** Published places of the chosen categories (default ``DEFAULT_CATEGORIES``),
optionally only those recorded free / drop-in / step-free (``True``; unknown is not enough),
and open during a time slot (see :mod:`kindmap.services.gaps.query`). Places with unknown
hours are left out of a time slot unless ``include_unknown_hours``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import Connection
from sqlmodel import Session, func, select

from kindmap.errors import DataError
from kindmap.hours import HoursIndex, check_hours, parse_windows
from kindmap.models import Area, Place, PlaceStatus, Postcode
from kindmap.services.gaps.query import (
    DEFAULT_CATEGORIES,
    REFERENCE_WEEK,
    SLOTS,
    GapQuery,
)


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
    map_share: np.ndarray | None = None  # per area: share inside the region's OSM extract (NaN unknown)
    centroid_lon: np.ndarray | None = None  # per area: where an area without postcodes keeps its households
    centroid_lat: np.ndarray | None = None

    def with_points(self, area: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> "Demand":
        """The same areas with these demand points, each area's households shared equally among its points."""
        per_area = np.bincount(area, minlength=len(self.code))
        return replace(self, lon=lon, lat=lat, area=area, weight=self.households[area] / per_area[area])


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


def load_areas(session: Session, region_id: int, *, region_name: str) -> Demand:
    """The region's small areas in the database's code order, with no demand points yet."""
    areas = session.exec(select(Area).where(Area.region_id == region_id).order_by(Area.code)).all()
    if not areas:
        raise DataError(f"{region_name} has no small areas; import an area file with households first")
    missing = [a.code for a in areas if a.households is None]
    if missing:
        raise DataError(f"{len(missing)} of {len(areas)} small areas in {region_name} have no households "
                        f"(e.g. {', '.join(missing[:3])}); re-import the area file with a households column")
    floats = lambda values: np.array([np.nan if v is None else v for v in values], dtype=np.float64)  # noqa: E731
    empty = np.zeros(0)
    return Demand(
        code=[a.code for a in areas], name=[a.name for a in areas],
        households=np.array([a.households for a in areas], dtype=np.float64),
        decile=floats(a.deprivation_decile for a in areas), rank=floats(a.deprivation_rank for a in areas),
        geometry=[a.geometry_geojson for a in areas], lon=empty, lat=empty, area=np.zeros(0, np.int64), weight=empty,
        map_share=floats(a.map_share for a in areas), centroid_lon=floats(a.centroid_lon for a in areas),
        centroid_lat=floats(a.centroid_lat for a in areas))


def load_demand(session: Session, region_id: int, *, region_name: str) -> Demand:
    """The region's areas and their households spread equally over each area's postcodes."""
    areas = load_areas(session, region_id, region_name=region_name)
    area, lon, lat, _ = demand_points(session.connection(), areas.code, np.arange(len(areas.code)),
                                      areas.centroid_lon, areas.centroid_lat)
    return areas.with_points(area, lon, lat)


def demand_points(conn: Connection, codes: list[str], index: np.ndarray, centroid_lon: np.ndarray,
                  centroid_lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(area index, lon, lat) of the demand points of the areas ``codes`` (in the database's order),
    whose indices are ``index`` (ascending) and centroids given, and how many are postcodes: each
    postcode by area then postcode, then each of these areas that has no postcodes at its centroid.
    Any set of areas thus has the whole region's points in the same order, so a partitioned run
    reading its tiles' areas puts them back together exactly."""
    # Up to 10⁶ rows at national scale. Read in the covering index's own order (area, postcode:
    # ix_postcode_area_cover, so no sort) only the two floats per postcode, plus one count per
    # area in the same order; the area of each point is then a np.repeat, with no Python work
    # per postcode (10⁶ postcodes: 2.2 s -> 0.7 s CPU on SQLite).
    index = np.asarray(index, dtype=np.int64)
    area_idx, points = _demand_points(conn, dict(zip(codes, index.tolist())))
    # An area without postcodes keeps its households at its centroid.
    bare = np.flatnonzero(~np.isin(index, area_idx))
    return (np.r_[area_idx, index[bare]], np.r_[points[:, 0], centroid_lon[bare]],
            np.r_[points[:, 1], centroid_lat[bare]], int(area_idx.size))


CODES_PER_READ = 5000  # area codes per IN list (SQLite allows 32,766 parameters; England has ~33,800 areas)


def _demand_points(conn: Connection, index: dict[str, int], tries: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(area index per postcode, (n, 2) lon/lat), in blocks of areas, each ordered by area then postcode."""
    codes = list(index)
    areas, points = [], []
    for lo in range(0, len(codes), CODES_PER_READ):
        block = codes[lo : lo + CODES_PER_READ]
        for _ in range(tries):
            counts = conn.execute(select(Postcode.area_code, func.count()).where(Postcode.area_code.in_(block))
                                  .group_by(Postcode.area_code).order_by(Postcode.area_code)).all()
            result = conn.execute(select(Postcode.lon, Postcode.lat).where(Postcode.area_code.in_(block))
                                  .order_by(Postcode.area_code, Postcode.postcode))
            try:
                rows = result.cursor.fetchall()
            finally:
                result.close()
            xy = np.array(rows, dtype=np.float64).reshape(-1, 2)
            idx = np.repeat(np.array([index[c] for c, _ in counts], dtype=np.int64),
                            np.array([n for _, n in counts], dtype=np.int64))
            if idx.size == xy.shape[0]:
                break
            # postcodes were written between the two reads: read both again
        else:
            raise DataError("the postcodes changed while the analysis read them; run it again once the import has finished")
        areas.append(idx), points.append(xy)
    if not areas:
        return np.zeros(0, np.int64), np.zeros((0, 2))
    return np.concatenate(areas), np.concatenate(points)


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
    """Published welcoming places of the region (all categories when ``categories_`` is None), ordered by id."""
    stmt = select(Place).where(Place.region_id == region_id, Place.status == PlaceStatus.published,
                               Place.listing == "welcoming").order_by(Place.id)
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
                                  Place.listing == "welcoming", Place.category.in_(list(cats)))
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
