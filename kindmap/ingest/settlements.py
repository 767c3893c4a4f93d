"""Towns, villages and suburbs named in an OpenStreetMap extract (``place=*`` nodes), so a small
area can be called by the place people know ("near Cottesmore") instead of a statistical code.

File in, rows out; no database or web imports. EPSG:4326.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import osmium

# What people call "the nearest town or village"; hamlets, localities (fields, farms) and
# neighbourhoods are too small or too vague to name an area by.
KINDS = ("city", "town", "suburb", "village")
MAX_NAME = 200


@dataclass(frozen=True)
class Settlement:
    kind: str
    name: str
    lon: float
    lat: float


class _Handler(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[Settlement] = []

    def node(self, n) -> None:
        kind = n.tags.get("place")
        name = n.tags.get("name")
        if kind in KINDS and name and n.location.valid():
            self.found.append(Settlement(kind, name.strip()[:MAX_NAME], n.location.lon, n.location.lat))


def read_settlements(path: Path) -> list[Settlement]:
    """Every named city, town, suburb and village node in the extract (one pass over its nodes)."""
    handler = _Handler()
    handler.apply_file(str(path), locations=False)
    return handler.found
