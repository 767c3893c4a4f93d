"""An in-memory index of the published catalogue: a sphere KD-tree for distance,
numpy arrays for filters, and opening hours parsed once per distinct string.

It is rebuilt only when the catalogue changes (its signature is the catalogue change
counter, ``CatalogueVersion``, which database triggers bump on every write to ``place``) or
a new week starts (the hours bitmap covers a horizon from the start of the week it was built in).

Reading the counter is one primary-key read, the same cost at 10⁶ places as at 10 (counting
the place table and taking its newest ``updated_at`` took 130–200 ms at 10⁶). It is still a
query, so it runs only when a commit has happened in this process since the last check
(``kindmap.db.commit_count``), or at most every ``recheck_s`` seconds for commits made by
other processes (a CLI import beside a server), and once however many requests arrive
meanwhile: the others wait for that one check instead of each running their own.
The index also keeps each place's public summary (``PlaceCard``), so a search answers
without reading place rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from kindmap.db import commit_count
from kindmap.geo.distance import PointIndex
from kindmap.hours import HoursIndex
from kindmap.models import CatalogueVersion, Listing, Place, PlaceStatus


@dataclass(frozen=True, slots=True)
class PlaceCard:
    """The public summary of a published place, as the index holds it (same names as ``Place``)."""

    id: int
    name: str
    category: str
    lon: float
    lat: float
    free_to_use: bool | None
    drop_in: bool | None
    wheelchair: str | None
    step_free: bool | None
    opening_hours: str | None
    other_names: str | None = None


@dataclass
class CatalogIndex:
    signature: tuple
    cards: list[PlaceCard]
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
    version = session.exec(select(CatalogueVersion.version).where(CatalogueVersion.id == 1)).first()
    return (version, _week(), tz)


def _week() -> tuple[int, int]:
    return tuple(datetime.now().isocalendar()[:2])


def build_index(session: Session, *, tz: str = "Europe/London", signature: tuple | None = None) -> CatalogIndex:
    """Build the index of published places."""
    rows = session.exec(
        select(Place.id, Place.name, Place.lon, Place.lat, Place.category, Place.free_to_use, Place.drop_in,
               Place.wheelchair, Place.step_free, Place.quiet_space, Place.opening_hours, Place.other_names)
        .where(Place.status == PlaceStatus.published, Place.listing == Listing.welcoming.value)
        .order_by(Place.id)
    ).all()
    cols = list(zip(*rows)) if rows else [[] for _ in range(12)]
    lon = np.asarray(cols[2], dtype=np.float64)
    lat = np.asarray(cols[3], dtype=np.float64)
    wheelchair = [getattr(w, "value", w) for w in cols[7]]
    cards = [PlaceCard(int(i), name, cat, float(x), float(y), free, drop, wc, step, hours, other)
             for i, name, x, y, cat, free, drop, wc, step, hours, other
             in zip(cols[0], cols[1], lon, lat, cols[4], cols[5], cols[6], wheelchair, cols[8], cols[10], cols[11])]
    return CatalogIndex(
        signature=signature or (),
        cards=cards,
        ids=np.asarray(cols[0], dtype=np.int64),
        names=list(cols[1]),
        lon=lon,
        lat=lat,
        category=np.asarray(cols[4], dtype=object),
        free=_tri(cols[5]),
        drop_in=_tri(cols[6]),
        wheelchair=np.asarray(wheelchair, dtype=object),
        step_free=_tri(cols[8]),
        quiet=_tri(cols[9]),
        points=PointIndex(lon, lat),
        hours=HoursIndex(list(cols[10]), tz=tz),
    )


@dataclass
class _Entry:
    index: CatalogIndex
    commits: int  # kindmap.db.commit_count() when the signature was last checked
    checked: float  # time.monotonic() then


class CatalogCache:
    """Keeps one index per database and rebuilds it when the catalogue changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def fresh(self, key: str, *, tz: str = "Europe/London", recheck_s: float = 1.0) -> CatalogIndex | None:
        """The index for database ``key`` (its URL) if it needs no database query to trust, else ``None``."""
        entry = self._entries.get(key)
        if (entry is None or entry.commits != commit_count() or entry.index.signature[-1] != tz
                or time.monotonic() - entry.checked > recheck_s or entry.index.signature[-2] != _week()):
            return None
        return entry.index

    def get(self, session: Session, *, tz: str = "Europe/London", recheck_s: float = 1.0) -> CatalogIndex:
        """The current index for this session's database."""
        key = str(session.get_bind().url)
        index = self.fresh(key, tz=tz, recheck_s=recheck_s)
        if index is not None:
            return index
        with self._lock:
            index = self.fresh(key, tz=tz, recheck_s=recheck_s)
            if index is not None:  # another request checked while this one waited
                return index
            commits = commit_count()  # read before the query: a commit during it forces the next check
            signature = _signature(session, tz)
            entry = self._entries.get(key)
            if entry is None or entry.index.signature != signature:
                entry = _Entry(build_index(session, tz=tz, signature=signature), commits, time.monotonic())
            else:
                entry = _Entry(entry.index, commits, time.monotonic())
            self._entries[key] = entry
        return entry.index


DEFAULT_CACHE = CatalogCache()
