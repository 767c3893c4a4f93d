"""Reading walkable ways from an OSM extract (pyosmium): which ways may be walked, and edge flags."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import osmium
from numpy.typing import NDArray
from osmium.filter import KeyFilter

log = logging.getLogger(__name__)

FLAG_STEPS = np.uint8(1)
FLAG_WHEELCHAIR_NO = np.uint8(2)

WALKABLE_HIGHWAYS = frozenset(
    {
        "footway", "path", "pedestrian", "steps", "residential", "living_street", "service",
        "track", "unclassified", "road", "tertiary", "tertiary_link", "secondary",
        "secondary_link", "primary", "primary_link", "cycleway", "bridleway", "crossing",
        "corridor",
    }
)
# Motorways (illegal to walk in the UK) and trunk roads (fast dual carriageways with
# no footway, not places a carer would take someone) need an explicit foot tag.
FOOT_ONLY_IF_TAGGED = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "official", "destination"})
# use_sidepath: a separately mapped footway runs alongside, so route on that instead.
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
ACCESS_FORBIDDEN = frozenset({"private", "no", "military"})


def is_walkable(tags: Mapping[str, str]) -> bool:
    """Whether an OSM way with these tags may be walked (see the module's rules)."""
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    foot = tags.get("foot")
    if foot in FOOT_FORBIDDEN:
        return False
    if highway in FOOT_ONLY_IF_TAGGED:
        return foot in FOOT_ALLOWED
    if highway not in WALKABLE_HIGHWAYS:
        return False  # proposed, construction, abandoned, busway, raceway, ...
    if tags.get("access") in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED:
        return False
    return True


def edge_flags(tags: Mapping[str, str]) -> np.uint8:
    """Bit flags for an edge: FLAG_STEPS for highway=steps, FLAG_WHEELCHAIR_NO for wheelchair=no."""
    flags = np.uint8(0)
    if tags.get("highway") == "steps":
        flags |= FLAG_STEPS
    if tags.get("wheelchair") == "no":
        flags |= FLAG_WHEELCHAIR_NO
    return flags


@dataclass
class _Ways:
    refs: list[NDArray[np.int64]] = field(default_factory=list)
    lon: list[NDArray[np.float64]] = field(default_factory=list)
    lat: list[NDArray[np.float64]] = field(default_factory=list)
    flags: list[np.uint8] = field(default_factory=list)
    way_id: list[int] = field(default_factory=list)


def _read_ways(path: Path, locations=None) -> _Ways:
    ways = _Ways()
    missing = 0
    processor = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
    processor.with_locations("flex_mem" if locations is None else locations)
    for obj in processor.with_filter(KeyFilter("highway")):
        if not obj.is_way() or not is_walkable(obj.tags):
            continue
        refs, lon, lat = [], [], []
        for nd in obj.nodes:
            if not nd.location.valid():
                missing += 1  # node outside the extract: keep the rest of the way
                continue
            refs.append(nd.ref)
            lon.append(nd.lon)
            lat.append(nd.lat)
        if len(refs) < 2:
            continue
        ways.refs.append(np.asarray(refs, dtype=np.int64))
        ways.lon.append(np.asarray(lon, dtype=np.float64))
        ways.lat.append(np.asarray(lat, dtype=np.float64))
        ways.flags.append(edge_flags(obj.tags))
        ways.way_id.append(obj.id)
    if missing:
        log.warning("%d way nodes had no location in %s and were skipped", missing, path)
    return ways
