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
without reading place rows. It keeps it as columns (numpy arrays, packed strings, codes for
repeated values) rather than one object per place: at 10⁶ places a list of cards and object
arrays took ~800 MB per worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlmodel import Session, select

from kindmap.db import commit_count
from kindmap.geo.cellgrid import CellGrid
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


class Strings:
    """Many strings (or None) packed into one UTF-8 buffer and offsets: ~1 object instead of one per place.

    At 10⁶ places a list of names held ~75 MB of Python strings; packed they take ~25 MB.
    """

    def __init__(self, values: Sequence[str | None]) -> None:
        encoded = [b"" if v is None else v.encode() for v in values]
        self._buf = b"".join(encoded)  # bytes, not a numpy array: slicing it needs no array machinery
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        self._offsets = np.concatenate(([0], np.cumsum(lengths)))
        self._none = np.fromiter((v is None for v in values), dtype=bool, count=len(encoded))

    def __len__(self) -> int:
        return int(self._none.size)

    def __getitem__(self, i: int) -> str | None:
        return self.take(np.array([i]))[0]

    def take(self, positions: np.ndarray) -> list[str | None]:
        """The strings at ``positions``: three numpy reads in all, then plain byte slices."""
        positions = np.asarray(positions, dtype=np.intp)
        starts, ends = self._offsets[positions].tolist(), self._offsets[positions + 1].tolist()
        buf = self._buf
        return [None if none else buf[a:b].decode()
                for a, b, none in zip(starts, ends, self._none[positions].tolist())]

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.take(np.arange(len(self))))

    @property
    def nbytes(self) -> int:
        return len(self._buf) + self._offsets.nbytes + self._none.nbytes


class Codes:
    """A column of few distinct values (category, wheelchair, opening hours) as int32 codes into ``values``."""

    def __init__(self, values: Sequence) -> None:
        table: dict = {}
        self.codes = np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int32, count=len(values))
        self.values = list(table)

    def __getitem__(self, i: int):
        return self.values[self.codes[i]]

    def codes_of(self, wanted) -> np.ndarray:
        """The codes of the ``wanted`` values that occur (values that do not occur have none)."""
        lookup = {v: k for k, v in enumerate(self.values)}
        return np.array([lookup[w] for w in wanted if w in lookup], dtype=np.int32)

    def equals(self, value, positions=slice(None)) -> np.ndarray:
        """Bool per place (or per ``positions``): the value is ``value``."""
        code = self.codes_of([value])
        if code.size == 0:
            return np.zeros(self.codes[positions].shape, dtype=bool)
        return self.codes[positions] == code[0]


class _Cards(Sequence):
    """Each place's ``PlaceCard``, made when asked for (the index keeps columns, not one object per place)."""

    def __init__(self, index: "CatalogIndex") -> None:
        self._index = index

    def __len__(self) -> int:
        return self._index.size

    def __getitem__(self, pos):
        if isinstance(pos, slice):
            return [self[i] for i in range(*pos.indices(len(self)))]
        return self._index.card(int(pos))


@dataclass
class CatalogIndex:
    """Published places as columns (numpy arrays and packed strings, no object per place); position order is id order.

    At 10⁶ places it holds ~130 MB (the KD-tree over unit vectors ~60 MB of it); ``cards[pos]`` makes the
    public summary of one place when a search shows it.
    """

    signature: tuple
    ids: np.ndarray
    names: Strings
    name_rank: np.ndarray  # int32: position in name order (ties by position), for listing by name
    other_names: Strings
    lon: np.ndarray
    lat: np.ndarray
    category: Codes
    free: np.ndarray  # int8: 1 yes, 0 no, -1 unknown
    drop_in: np.ndarray
    wheelchair: Codes  # "yes"/"limited"/"no"/None
    wheelchair_tri: np.ndarray  # int8 as free: "yes" 1, "limited"/"no" 0, not known -1
    step_free: np.ndarray
    quiet: np.ndarray
    opening_hours: Codes  # the text as listed (the hours index drops strings it cannot read)
    points: PointIndex
    hours: HoursIndex
    facts: np.ndarray  # uint16 per place: every criterion's tri value and whether hours are known (pack_facts)
    grid: CellGrid  # the places in a box and a map view's clusters, at the cost of what is in view

    @property
    def size(self) -> int:
        return int(self.ids.size)

    @property
    def cards(self) -> Sequence[PlaceCard]:
        """The places' public summaries by position."""
        return _Cards(self)

    def card(self, pos: int) -> PlaceCard:
        """The public summary of the place at ``pos``."""
        return self.cards_at(np.array([pos]))[0]

    def cards_at(self, positions: np.ndarray) -> list[PlaceCard]:
        """The public summaries of the places at ``positions``, column by column: a search shows ten or
        more, and one numpy read per column instead of per field per place halved the cost of showing them."""
        positions = np.asarray(positions, dtype=np.intp)
        columns = zip(self.ids[positions].tolist(), self.names.take(positions), self.category.codes[positions].tolist(),
                      self.lon[positions].tolist(), self.lat[positions].tolist(), self.free[positions].tolist(),
                      self.drop_in[positions].tolist(), self.wheelchair.codes[positions].tolist(),
                      self.step_free[positions].tolist(), self.opening_hours.codes[positions].tolist(),
                      self.other_names.take(positions))
        return [PlaceCard(pid, name, self.category.values[cat], lon, lat, _TRI[free], _TRI[drop_in],
                          self.wheelchair.values[wheel], _TRI[step_free], self.opening_hours.values[hours], other)
                for pid, name, cat, lon, lat, free, drop_in, wheel, step_free, hours, other in columns]


def _tri(values) -> np.ndarray:
    return np.fromiter((-1 if v is None else int(bool(v)) for v in values), dtype=np.int8, count=len(values))


# The most places one public request may look at one by one (a map view's list or its clusters with
# filters): ~50-100 ms of numpy work. Beyond it the answer says to zoom in or drop the filters.
MAX_PLACES_LOOKED_AT = 1_000_000

FACT_NAMES = ("free", "drop_in", "wheelchair", "step_free", "quiet")
HOURS_KNOWN_BIT = 2 * len(FACT_NAMES)


def pack_facts(tris: dict[str, np.ndarray], hours_known: np.ndarray) -> np.ndarray:
    """One uint16 per place: criterion k's value + 1 (0 not known, 1 no, 2 yes) in bits 2k, 2k+1, and
    hours known in bit 10, so counting what is known about the places nearby is one ``bincount``."""
    packed = hours_known.astype(np.uint16) << HOURS_KNOWN_BIT
    for k, name in enumerate(FACT_NAMES):
        packed |= (tris[name].astype(np.int16) + 1).astype(np.uint16) << (2 * k)
    return packed


_TRI = {-1: None, 0: False, 1: True}  # an int8 tri value (as a Python int) → what the card says


def _signature(session: Session, tz: str) -> tuple:
    version = session.exec(select(CatalogueVersion.version).where(CatalogueVersion.id == 1)).first()
    return (version, _week(), tz)


def _week() -> tuple[int, int]:
    return tuple(datetime.now().isocalendar()[:2])


def _name_rank(names: Sequence[str]) -> np.ndarray:
    order = sorted(range(len(names)), key=names.__getitem__)  # stable: equal names keep position order
    rank = np.empty(len(names), dtype=np.int32)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(names), dtype=np.int32)
    return rank


def build_index(session: Session, *, tz: str = "Europe/London", signature: tuple | None = None) -> CatalogIndex:
    """Build the index of published places."""
    rows = session.exec(
        select(Place.id, Place.name, Place.lon, Place.lat, Place.category, Place.free_to_use, Place.drop_in,
               Place.wheelchair, Place.step_free, Place.quiet_space, Place.opening_hours, Place.other_names)
        .where(Place.status == PlaceStatus.published, Place.listing == Listing.welcoming.value)
        .order_by(Place.id)
    ).all()
    cols = list(zip(*rows)) if rows else [() for _ in range(12)]
    del rows
    lon = np.asarray(cols[2], dtype=np.float64)
    lat = np.asarray(cols[3], dtype=np.float64)
    wheelchair = Codes([getattr(w, "value", w) for w in cols[7]])
    hours = HoursIndex(list(cols[10]), tz=tz)
    tris = {"free": _tri(cols[5]), "drop_in": _tri(cols[6]), "step_free": _tri(cols[8]), "quiet": _tri(cols[9])}
    # wheelchair: "yes" counts as yes, "limited" and "no" as no
    tris["wheelchair"] = np.array([-1 if v is None else int(v == "yes") for v in wheelchair.values],
                                  dtype=np.int8)[wheelchair.codes] if wheelchair.values else np.zeros(0, np.int8)
    return CatalogIndex(
        signature=signature or (),
        ids=np.asarray(cols[0], dtype=np.int64),
        names=Strings(cols[1]),
        name_rank=_name_rank(cols[1]),
        other_names=Strings(cols[11]),
        lon=lon,
        lat=lat,
        category=Codes(cols[4]),
        free=tris["free"],
        drop_in=tris["drop_in"],
        wheelchair=wheelchair,
        wheelchair_tri=tris["wheelchair"],
        step_free=tris["step_free"],
        quiet=tris["quiet"],
        opening_hours=Codes(cols[10]),
        points=PointIndex(lon, lat),
        hours=hours,
        facts=pack_facts(tris, hours.known()),
        grid=CellGrid(lon, lat),
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
