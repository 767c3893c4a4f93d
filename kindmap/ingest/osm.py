"""Read welcoming places from an OpenStreetMap extract (``.osm.pbf`` or ``.osm`` XML).

File in, validated ``PlaceCreate`` rows out; no database or web imports. Coordinates are
EPSG:4326 (lon/lat degrees). Each OSM element becomes at most one place on its own: a
library node inside a library building way gives two places; merging is left to review.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import shapely
from pydantic import ValidationError
from shapely.geometry.base import BaseGeometry

from kindmap.errors import DataError
from kindmap.ingest.inclusion import InclusionRules, load_rules
from kindmap.ingest.limits import ImportLimits, check_file_size, too_many_rows
from kindmap.ingest.localities import other_names
from kindmap.ingest.tagmap import CategoryRule, TagMap, load_tagmap
from kindmap.models import PlaceCreate

PROGRESS_EVERY = 5000  # elements between progress callbacks: cheap, yet a smooth bar
_METRES_PER_DEGREE = 111_320.0
_wkb = osmium.geom.WKBFactory()
_TYPE_NAMES = {"n": "node", "w": "way", "r": "relation"}


@dataclass
class OsmReadResult:
    """Places read from one extract, with what was left out and why.

    Every place carries its listing (welcoming, support, facility, excluded) from the
    inclusion rule; ``tags`` keeps each place's OSM tags by source id so the rule can be
    applied again later; ``unnamed`` counts features skipped for want of a name.
    """

    places: list[PlaceCreate] = field(default_factory=list)
    skipped: int = 0
    latest_timestamp: datetime | None = None
    warnings: list[str] = field(default_factory=list)
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    unnamed: dict[str, int] = field(default_factory=dict)  # category -> unnamed features left out
    named_after_street: int = 0


@dataclass
class _Candidate:
    rule: CategoryRule
    tags: dict[str, str]
    timestamp: datetime | None
    geometry: BaseGeometry | None  # None: a relation whose area never assembled
    from_area: bool = False


def read_osm_places(
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
    tagmap: TagMap | None = None,
    limits: ImportLimits | None = None,
    locations: Any = None,
    name: str | None = None,
) -> OsmReadResult:
    """Read every place the tag mapping recognises from the OSM file at ``path``.

    ``limits``: the file's size is checked first; its rows are the candidate places (elements
    the tag mapping recognises), counted as they are read. ``locations``: a filled node-location
    index (``kindmap.ingest.osm_stage``), for a staged file that holds no untagged nodes; ``name``:
    the extract's name for messages (the staged file's own name means nothing to a user).
    """
    path = Path(path)
    limits = limits or ImportLimits()
    if not path.is_file():
        raise DataError(f"{path} does not exist or is not a file; download an OSM extract (.osm.pbf) first")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty; download a fresh OSM extract")
    check_file_size(path, max_mb=limits.max_upload_mb)
    tmap = tagmap or load_tagmap()
    rules = load_rules()
    keys = tmap.keys
    result = OsmReadResult()
    streets: list[tuple[str, shapely.LineString]] = []  # named streets, to name unnamed parks after
    found: dict[str, _Candidate] = {}
    seen: set[str] = set()  # source ids of every element that had a category key
    count = 0
    latest: datetime | None = None
    try:
        processor = osmium.FileProcessor(str(path)).with_locations("flex_mem" if locations is None else locations).with_areas()
        for obj in processor:
            count += 1
            if progress is not None and count % PROGRESS_EVERY == 0:
                progress(count)
            # Every element counts towards the newest timestamp, even untagged nodes.
            ts = obj.timestamp
            if latest is None or ts > latest:
                latest = ts
            tags = obj.tags
            if not len(tags):
                continue
            if "highway" in tags and "name" in tags and obj.is_way():
                _street(obj, streets)
            if not any(k in tags for k in keys):
                continue
            _collect(obj, tmap, found, seen, result.warnings)
            if len(found) > limits.max_rows:
                raise too_many_rows(name or path.name, max_rows=limits.max_rows, unit="candidate places")
    except RuntimeError as exc:
        raise DataError.unreadable_osm(path, exc) from exc
    if progress is not None:
        progress(count)
    result.latest_timestamp = _utc(latest)
    namer = StreetNamer(streets)
    for source_id, cand in found.items():
        place = _to_place(source_id, cand, tmap, result, namer=namer, rules=rules)
        if place is not None:
            result.places.append(place)
            result.tags[source_id] = cand.tags
    result.skipped = len(seen) - len(result.places)
    return result


def _street(obj: Any, streets: list[tuple[str, shapely.LineString]]) -> None:
    """Remember a named street's line (for naming unnamed parks); footways without a name never get here."""
    coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
    if len(coords) >= 2:
        streets.append((obj.tags["name"], shapely.LineString(coords)))


class StreetNamer:
    """The nearest named street to a feature, within a distance in metres (EPSG:4326 in)."""

    def __init__(self, streets: list[tuple[str, shapely.LineString]]) -> None:
        self._names = [n for n, _ in streets]
        self._tree = shapely.STRtree([g for _, g in streets]) if streets else None

    def nearest(self, geom: BaseGeometry, *, within_m: float) -> str | None:
        """Name of the nearest street no further than ``within_m`` metres, or None."""
        if self._tree is None:
            return None
        # Degrees of longitude shrink with latitude: scale x so distances come out in (approximate) metres.
        scale = math.cos(math.radians(geom.centroid.y))
        hits, dists = self._tree.query_nearest(geom, max_distance=within_m / _METRES_PER_DEGREE / max(scale, 0.1),
                                               return_distance=True, all_matches=True)
        if not len(hits):
            return None
        best = None
        for i, _d in zip(hits, dists):
            line = self._tree.geometries[i]
            metres = _metres_between(geom, line, scale)
            if metres <= within_m and (best is None or (metres, self._names[i]) < best):
                best = (metres, self._names[i])
        return best[1] if best else None


def _metres_between(a: BaseGeometry, b: BaseGeometry, scale: float) -> float:
    """Approximate distance in metres (equirectangular at the feature's latitude)."""
    def squash(c):
        return np.column_stack([c[:, 0] * scale, c[:, 1]])

    return float(shapely.distance(shapely.transform(a, squash), shapely.transform(b, squash))) * _METRES_PER_DEGREE


def _collect(
    obj: Any, tmap: TagMap, found: dict[str, _Candidate], seen: set[str], warnings: list[str]
) -> None:
    """Classify one tagged element and remember its geometry if a rule applies."""
    if obj.is_area():
        source_id = f"{'way' if obj.from_way() else 'relation'}/{obj.orig_id()}"
    else:
        source_id = f"{_TYPE_NAMES[obj.type_str()]}/{obj.id}"
    seen.add(source_id)
    rule = tmap.classify(obj.tags)
    if rule is None:
        return
    tags = dict(obj.tags)
    ts = _utc(obj.timestamp)
    if obj.is_node():
        if obj.location.valid():
            found[source_id] = _Candidate(rule, tags, ts, shapely.Point(obj.location.lon, obj.location.lat))
        else:
            warnings.append(f"{source_id}: no valid location in the extract; skipped")
    elif obj.is_area():
        try:
            geom = shapely.from_wkb(bytes.fromhex(_wkb.create_multipolygon(obj)))
        except RuntimeError as exc:
            warnings.append(f"{source_id}: area geometry could not be built ({exc})")
            return
        found[source_id] = _Candidate(rule, tags, ts, geom, from_area=True)
    elif obj.is_way():
        # Closed ways also arrive as areas (before or after the way); the area wins.
        if source_id in found and found[source_id].from_area:
            return
        coords = [(n.lon, n.lat) for n in obj.nodes if n.location.valid()]
        if len(coords) >= 2:
            found[source_id] = _Candidate(rule, tags, ts, shapely.LineString(coords))
        elif coords:
            found[source_id] = _Candidate(rule, tags, ts, shapely.Point(coords[0]))
        else:
            warnings.append(f"{source_id}: none of its nodes are in the extract; skipped")
    elif obj.is_relation():
        # Multipolygons arrive again as areas; other relation types have no geometry here.
        if source_id not in found:
            found[source_id] = _Candidate(rule, tags, ts, None)


def _to_place(source_id: str, cand: _Candidate, tmap: TagMap, result: OsmReadResult, *, namer: StreetNamer,
              rules: InclusionRules) -> PlaceCreate | None:
    """Turn a classified element into a validated place with its listing, or None (with a warning when unexpected)."""
    warnings = result.warnings
    geom = cand.geometry
    if geom is None:
        warnings.append(f"{source_id}: no area geometry (only valid multipolygon relations are placed); skipped")
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.is_empty:
        warnings.append(f"{source_id}: empty geometry; skipped")
        return None
    point = geom if geom.geom_type == "Point" else _inside_point(geom)
    fields = tmap.attributes(cand.tags, rule=cand.rule)
    if not fields.get("name"):
        unnamed = cand.rule.unnamed
        if unnamed is None or (unnamed.min_area_m2 is not None and _area_m2(geom) < unnamed.min_area_m2):
            # unnamed destinations would flood the map with nameless dots
            result.unnamed[cand.rule.category] = result.unnamed.get(cand.rule.category, 0) + 1
            return None
        street = namer.nearest(geom, within_m=unnamed.street_within_m) if unnamed.near_street else None
        fields["name"] = unnamed.near_street.format(street=street) if street else unnamed.name
        result.named_after_street += bool(street)
    else:
        fields["other_names"] = other_names(cand.tags, fields["name"])
    decision = rules.decide(category=cand.rule.category, fields=fields, name=fields["name"], tags=cand.tags)
    footprint = None
    if geom.geom_type != "Point":
        if isinstance(geom, shapely.MultiPolygon) and len(geom.geoms) == 1:
            geom = geom.geoms[0]
        # 7 decimals is ~1 cm: plenty for a footprint, and keeps the text short.
        footprint = shapely.to_geojson(shapely.transform(geom, lambda c: np.round(c, 7)))
    fields = _truncate(fields)
    try:
        return PlaceCreate(
            **fields,
            category=cand.rule.category,
            lon=float(point.x),
            lat=float(point.y),
            footprint_geojson=footprint,
            source="osm",
            source_id=source_id,
            source_licence=tmap.licence,
            source_timestamp=cand.timestamp,
            listing=decision.listing,
            listing_rule=decision.rule,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        warnings.append(f"{source_id}: not imported ({problems})")
        return None


def _inside_point(geom: BaseGeometry) -> shapely.Point:
    """A point guaranteed inside a polygon (or on a line): unlike a centroid, never in a courtyard."""
    if geom.geom_type in ("LineString", "MultiLineString"):
        return shapely.line_interpolate_point(geom, 0.5, normalized=True)
    return geom.representative_point()


def _area_m2(geom: BaseGeometry) -> float:
    """Approximate area in square metres (equirectangular at the feature's latitude): enough for a threshold."""
    if geom.area == 0:
        return 0.0
    lat = geom.centroid.y
    return geom.area * _METRES_PER_DEGREE**2 * math.cos(math.radians(lat))


def _max_lengths() -> dict[str, int]:
    out: dict[str, int] = {}
    for name, info in PlaceCreate.model_fields.items():
        for meta in info.metadata:
            limit = getattr(meta, "max_length", None)
            if isinstance(limit, int):
                out[name] = limit
    return out


_MAX_LENGTHS = _max_lengths()


def _truncate(fields: dict[str, Any]) -> dict[str, Any]:
    """Cut strings to the model's limits, so an over-long OSM value never rejects a place."""
    out = dict(fields)
    for name, value in fields.items():
        limit = _MAX_LENGTHS.get(name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            out[name] = value[: limit - 1].rstrip() + "…"
    return out


def _utc(ts: datetime | None) -> datetime | None:
    """Element timestamps as tz-aware UTC; None for files written without metadata."""
    if ts is None or ts.year <= 1970:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)
