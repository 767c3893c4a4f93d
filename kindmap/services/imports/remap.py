"""The same place under a new source id: OSM mappers redraw a church node as its building
(node/472658308 → way/870761507), split or merge elements, or move a tag to a relation.

A record the source no longer lists and a record it lists for the first time are the same
place when they have the same kind, the same name (folded, or token-set similarity ≥ 0.8)
and lie within ``RADIUS_M`` of each other (great-circle, EPSG:4326 in). Pairs are made one
to one, nearest first, so two chapels of one name in a village are never crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kindmap.geo.distance import PointIndex
from kindmap.models import PlaceCreate
from kindmap.services.catalogue.names import fold
from kindmap.services.imports.dedupe import token_set_similarity

RADIUS_M = 75.0
TWIN_RADIUS_M = 150.0  # a vanished record beside a still-listed one of the same name was a second drawing of it
NAME_SIMILARITY = 0.8


@dataclass(frozen=True)
class Known:
    """A place the source listed before but not now, as the matcher sees it."""

    key: str  # the old source id
    name: str
    category: str
    lon: float
    lat: float


@dataclass(frozen=True)
class Remap:
    old: str  # source id the place had
    new: PlaceCreate  # the record that now describes it
    distance_m: float


def same_name(a: str, b: str) -> bool:
    """Same name as people would read it: equal when folded, or token-set similar ≥ 0.8."""
    return fold(a) == fold(b) or token_set_similarity(a, b) >= NAME_SIMILARITY


def pair_remapped(known: list[Known], incoming: list[PlaceCreate], *, radius_m: float = RADIUS_M) -> list[Remap]:
    """One-to-one pairs (nearest first) of vanished and new records that are the same place."""
    if not known or not incoming:
        return []
    index = PointIndex(np.array([k.lon for k in known]), np.array([k.lat for k in known]))
    candidates: list[tuple[float, int, int]] = []
    for j, item in enumerate(incoming):
        idx, dist = index.within(item.lon, item.lat, radius_m=radius_m)
        for i, d in zip(idx.tolist(), dist.tolist()):
            if known[i].category == item.category and same_name(known[i].name, item.name):
                candidates.append((d, i, j))
    pairs, used_old, used_new = [], set(), set()
    for d, i, j in sorted(candidates):
        if i in used_old or j in used_new:
            continue
        used_old.add(i), used_new.add(j)
        pairs.append(Remap(known[i].key, incoming[j], d))
    return pairs


def find_twin(gone: Known, listed: list[Known], *, radius_m: float = TWIN_RADIUS_M) -> tuple[Known, float] | None:
    """A still-listed record of the same kind and name near a vanished one (the mapper removed a duplicate)."""
    from kindmap.geo.distance import haversine_m

    best = None
    for other in listed:
        if other.key == gone.key or other.category != gone.category or not same_name(other.name, gone.name):
            continue
        d = float(haversine_m(gone.lon, gone.lat, other.lon, other.lat))
        if d <= radius_m and (best is None or d < best[1]):
            best = (other, d)
    return best
