"""Read towns, villages and neighbourhoods (OSM ``place=*`` nodes) from an extract.

File in, rows out; no database. Coordinates EPSG:4326. Only nodes: every settlement in
OSM has a node for its label, and an area's outline adds nothing a name search needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import osmium

# Settlements and parts of them that people name when they say where; farms, isolated
# dwellings and named fields ("locality") are not places anyone searches to find a café near.
KINDS = ("city", "town", "village", "hamlet", "suburb", "quarter", "neighbourhood")
# Other names people use, in the order they are listed after the name.
OTHER_NAME_KEYS = ("alt_name", "official_name", "short_name", "old_name", "loc_name", "name:en")
MAX_LOCALITIES = 50_000  # a whole nation has ~45,000 such nodes; beyond that the file is not an extract of one


@dataclass
class LocalityRow:
    name: str
    other_names: str | None
    kind: str
    lon: float
    lat: float
    source_id: str


def other_names(tags, name: str | None) -> str | None:
    """The other names an OSM element carries, '; '-joined, without repeats of ``name`` (≤ 400 characters)."""
    seen = {(name or "").casefold()}
    out = []
    for key in OTHER_NAME_KEYS:
        for value in (tags.get(key) or "").split(";"):
            value = value.strip()
            if value and value.casefold() not in seen:
                seen.add(value.casefold())
                out.append(value[:200])
    text = "; ".join(out)
    return text[:400] or None


def read_localities(path: Path) -> list[LocalityRow]:
    """Named settlement nodes of an OSM extract (at most ``MAX_LOCALITIES``)."""
    rows: list[LocalityRow] = []
    fp = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(osmium.filter.KeyFilter("place"))
    for obj in fp:
        kind, name = obj.tags.get("place"), obj.tags.get("name")
        if kind not in KINDS or not name or not obj.location.valid():
            continue
        rows.append(LocalityRow(name[:200], other_names(obj.tags, name), kind, obj.location.lon, obj.location.lat,
                                f"node/{obj.id}"))
        if len(rows) >= MAX_LOCALITIES:
            break
    return rows
