"""An in-memory index of the published catalogue: a sphere KD-tree for distance,
numpy arrays for filters, and opening hours parsed once per distinct string.

It is rebuilt only when the catalogue changes (its signature is the count, newest
``updated_at`` and largest id of the places table) or a new week starts (the hours
bitmap covers a horizon from the start of the week it was built in).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, select

from kindmap.geo.distance import PointIndex
from kindmap.hours import HoursIndex
from kindmap.models import Place, PlaceStatus


@dataclass
class CatalogIndex:
    signature: tuple
    ids: np.ndarray
    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    category: np.ndarray
    free: np.ndarray  # int8: 1 yes, 0 no, -1 unknown
    drop_in: np.ndarray
    wheelchair: np.ndarray  # object: "yes"/"limited"/"no"/None
    step_free: np.ndarray
    quiet: np.ndarray
    points: PointIndex
    hours: HoursIndex

    @property
    def size(self) -> int:
        return int(self.ids.size)


def _tri(values) -> np.ndarray:
    return np.array([-1 if v is None else int(bool(v)) for v in values], dtype=np.int8)


def _signature(session: Session, tz: str) -> tuple:
    count, newest, largest = session.exec(
        select(func.count(Place.id), func.max(Place.updated_at), func.max(Place.id))
    ).one()
    week = datetime.now().isocalendar()[:2]
    return (count, str(newest), largest, week, tz)


def build_index(session: Session, *, tz: str = "Europe/London", signature: tuple | None = None) -> CatalogIndex:
    """Build the index of published places."""
    rows = session.exec(
        select(Place.id, Place.name, Place.lon, Place.lat, Place.category, Place.free_to_use, Place.drop_in,
               Place.wheelchair, Place.step_free, Place.quiet_space, Place.opening_hours)
        .where(Place.status == PlaceStatus.published)
        .order_by(Place.id)
    ).all()
    cols = list(zip(*rows)) if rows else [[] for _ in range(11)]
    lon = np.asarray(cols[2], dtype=np.float64)
    lat = np.asarray(cols[3], dtype=np.float64)
    return CatalogIndex(
        signature=signature or (),
        ids=np.asarray(cols[0], dtype=np.int64),
        names=list(cols[1]),
        lon=lon,
        lat=lat,
        category=np.asarray(cols[4], dtype=object),
        free=_tri(cols[5]),
        drop_in=_tri(cols[6]),
        wheelchair=np.asarray([getattr(w, "value", w) for w in cols[7]], dtype=object),
        step_free=_tri(cols[8]),
        quiet=_tri(cols[9]),
        points=PointIndex(lon, lat),
        hours=HoursIndex(list(cols[10]), tz=tz),
    )


class CatalogCache:
    """Keeps one index per database and rebuilds it when the catalogue changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[str, CatalogIndex] = {}

    def get(self, session: Session, *, tz: str = "Europe/London") -> CatalogIndex:
        """The current index for this session's database."""
        key = str(session.get_bind().url)
        signature = _signature(session, tz)
        current = self._indexes.get(key)
        if current is not None and current.signature == signature:
            return current
        with self._lock:
            current = self._indexes.get(key)
            if current is None or current.signature != signature:
                current = build_index(session, tz=tz, signature=signature)
                self._indexes[key] = current
        return current


DEFAULT_CACHE = CatalogCache()
