"""Clip and pre-filter an OpenStreetMap extract before it is read: a council's share of a big file.

``stage_extract`` streams an extract (a county's or a nation's) with pyosmium's C++ side (three
passes: ways and relations; nodes and ways; ways) and writes a small, sorted, temporary ``.osm.pbf``
holding only what kindmap reads from it, near the council:

- tagged nodes with a key of the tag mapping (or ``place``) that lie inside ``clip``;
- ways with such a key, or ``highway`` (walking network, street names), whose line crosses
  ``clip`` (a closed way also when its box does: a park around the whole clip);
- multipolygon-style relations with such a key whose members' box meets ``clip``;
- every node and member those reference (so ways and areas are complete, as in the extract).

Python sees only the candidate objects (C++ ``KeyFilter``/``TagFilter``/``IdFilter`` filters
drop the rest, including every untagged node); node locations live in a libosmium index, kept
on disk (``sparse_file_array``) for extracts past ``DISK_INDEX_MB``. The kept ways' nodes are
written from that index in Python (the council's share), not through ``IdTracker``/
``BackReferenceWriter``: libosmium's id sets are dense, and node ids scattered up to 1.1 × 10¹⁰
cost them ~1.3 GB even for 30,000 ids. What Python holds grows with the council, plus the ids
and boxes of the extract's candidate relations (a few per 1,000 of its objects).

The result is a superset of what the readers keep, so places, towns and network read from it
equal those read from the whole extract, inside the clip. Coordinates EPSG:4326. No database or
web imports.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import shapely

from kindmap.errors import DataError
from kindmap.ingest.tagmap import TagMap, load_tagmap

# Keys whose every rule names values (building=village_hall) and that tag most of an extract's
# ways (buildings are 340,000 of Newport ×10's 512,000): filtered by value in C++, not by key.
BROAD_KEYS = frozenset({"building"})
EXTRA_NODE_KEYS = ("place",)  # towns and villages (kindmap.ingest.localities)
EXTRA_WAY_KEYS = ("highway",)  # the walking network, and named streets for unnamed parks
DISK_INDEX_MB = 64  # extracts larger than this (~8 million nodes) keep node locations in a file, not in memory


@dataclass
class StagedExtract:
    """The staged file and what went into it."""

    path: Path
    source: Path
    nodes: int = 0  # candidate nodes kept (tagged, inside the clip)
    ways: int = 0  # candidate ways kept
    relations: int = 0  # candidate relations kept
    candidates_seen: int = 0  # candidate objects the Python side looked at (the rest stayed in C++)
    seconds: float = 0.0
    index: str = "sparse_mem_array"
    locations: Any = None  # the libosmium index of the source's node locations, while staging


@dataclass(frozen=True)
class _Filters:
    node_keys: tuple[str, ...]
    way_keys: tuple[str, ...]
    relation_keys: tuple[str, ...]
    broad_pairs: tuple[tuple[str, str], ...]  # (key, value) of BROAD_KEYS


def _filters(tmap: TagMap) -> _Filters:
    """The C++ filters that let through every object the tag mapping could classify (a superset)."""
    keys: set[str] = set()
    broad: set[tuple[str, str]] = set()
    for rule in tmap.rules:
        for condition in rule.match:
            # Every test of a condition must hold, so filtering on one of them loses nothing.
            test = next((t for t in condition if t.key not in BROAD_KEYS), condition[0])
            if test.key in BROAD_KEYS and test.values is not None and not test.contains and not test.split:
                broad.update((test.key, v) for v in test.values)
            else:
                keys.add(test.key)
    return _Filters(
        node_keys=tuple(sorted(keys | {k for k, _ in broad} | set(EXTRA_NODE_KEYS))),
        way_keys=tuple(sorted(keys | set(EXTRA_WAY_KEYS))),
        relation_keys=tuple(sorted(keys | {k for k, _ in broad})),
        broad_pairs=tuple(sorted(broad)),
    )


class _Clip:
    """Spatial tests against the clip polygon (EPSG:4326); None keeps everything."""

    def __init__(self, clip: shapely.Geometry | None) -> None:
        self.clip = clip
        self._wkb = osmium.geom.WKBFactory()
        if clip is not None:
            shapely.prepare(clip)
            self.minx, self.miny, self.maxx, self.maxy = clip.bounds

    def point(self, lon: float, lat: float) -> bool:
        """Whether a node lies inside the clip."""
        return self.clip is None or bool(shapely.intersects_xy(self.clip, lon, lat))

    def box(self, minx: float, miny: float, maxx: float, maxy: float) -> bool:
        """Whether a box meets the clip."""
        if self.clip is None:
            return True
        if maxx < self.minx or minx > self.maxx or maxy < self.miny or miny > self.maxy:
            return False
        return bool(shapely.intersects(self.clip, shapely.box(minx, miny, maxx, maxy)))

    def way(self, way) -> tuple[bool, tuple[float, float, float, float] | None]:
        """Whether a way's line crosses the clip (a closed way: also its box), and its box; None: no located node."""
        try:  # the line is built in C++ (libosmium's WKB factory): no Python call per node
            raw = bytes.fromhex(self._wkb.create_linestring(way))
            # WKB linestring: byte order, type, point count (9 bytes), then x, y doubles.
            xy = np.frombuffer(raw, dtype="<f8" if raw[0] == 1 else ">f8", offset=9).reshape(-1, 2)
        except (RuntimeError, osmium.InvalidLocationError):  # fewer than two distinct nodes with a location
            coords = [(n.lon, n.lat) for n in way.nodes if n.location.valid()]
            if not coords:
                return False, None
            xy = np.asarray(coords[:1], dtype=np.float64)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        box = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        if self.clip is None:
            return True, box
        if box[2] < self.minx or box[0] > self.maxx or box[3] < self.miny or box[1] > self.maxy:
            return False, box  # most ways of a national extract end here, without a geometry
        if len(xy) == 1:
            return self.point(box[0], box[1]), box
        if way.is_closed() and self.box(*box):
            return True, box
        return bool(shapely.intersects(self.clip, shapely.linestrings(xy))), box


def _index_spec(source: Path, workdir: Path) -> str:
    """In memory for council-sized files; in a file for county and national extracts.

    Sparse arrays: 16 bytes a node, sorted once before the first look-up.
    """
    if source.stat().st_size > DISK_INDEX_MB * 2**20:
        return f"sparse_file_array,{workdir / 'locations.idx'}"
    return "sparse_mem_array"


def stage_extract(source: Path, *, clip: shapely.Geometry | None, workdir: Path,
                  tagmap: TagMap | None = None, index: str | None = None) -> StagedExtract:
    """Write ``workdir/staged.osm.pbf``: ``source``'s objects kindmap reads, within ``clip`` (EPSG:4326).

    ``clip`` None keeps everything the tag filter passes (no clipping). ``index`` overrides the
    node-location index (a libosmium map type, e.g. ``flex_mem`` or ``sparse_file_array,PATH``).
    The staged file is complete (every node of its ways, with its location) and sorted.
    Raises DataError for an unreadable file.
    """
    source, workdir = Path(source), Path(workdir)
    if not source.is_file():
        raise DataError(f"OSM extract {source} does not exist")
    started = time.perf_counter()
    filters = _filters(tagmap or load_tagmap())
    spec = index or _index_spec(source, workdir)
    out = StagedExtract(path=workdir / "staged.osm.pbf", source=source, index=spec.split(",")[0],
                        locations=osmium.index.create_map(spec))
    try:
        _stage(source, out, workdir=workdir, filters=filters, clip=_Clip(clip))
    except RuntimeError as exc:  # libosmium reports bad input as RuntimeError subclasses
        raise DataError.unreadable_osm(source, exc) from exc
    out.seconds = time.perf_counter() - started
    return out


def _stage(source: Path, out: StagedExtract, *, workdir: Path, filters: _Filters, clip: _Clip) -> None:
    path = str(source)
    parts = [workdir / "part-candidates.osm.pbf", workdir / "part-members.osm.pbf", workdir / "part-relations.osm.pbf"]
    # Pass 1 (ways and relations, no nodes): candidate relations, written aside with their members'
    # ids; ways of the broad keys by value. Their geometry is known after pass 2.
    relations: dict[int, tuple[list[int], list[int]]] = {}  # id -> member way ids, member node ids
    need: set[int] = set()  # ways whose box pass 3 needs
    broad_ways: set[int] = set()
    first = osmium.FileProcessor(path, osmium.osm.WAY | osmium.osm.RELATION)
    rel_filter = osmium.filter.KeyFilter(*filters.relation_keys)
    rel_filter.enable_for(osmium.osm.RELATION)
    if filters.broad_pairs:
        way_filter = osmium.filter.TagFilter(*filters.broad_pairs)
        way_filter.enable_for(osmium.osm.WAY)
    else:
        way_filter = osmium.filter.EntityFilter(osmium.osm.RELATION)
    with osmium.SimpleWriter(str(parts[2]), overwrite=True) as rel_writer:
        for obj in first.with_filter(rel_filter).with_filter(way_filter):
            out.candidates_seen += 1
            if obj.is_way():
                broad_ways.add(obj.id)
                continue
            ways = [m.ref for m in obj.members if m.type == "w"]
            relations[obj.id] = (ways, [m.ref for m in obj.members if m.type == "n"])
            need.update(ways)
            rel_writer.add_relation(obj)
    need |= broad_ways

    # Pass 2 (nodes and ways; every node's location goes into the index in C++): candidate nodes
    # inside the clip, candidate ways crossing it, written as they come. Untagged nodes and ways
    # without a candidate key never reach Python.
    second = osmium.FileProcessor(path, osmium.osm.NODE | osmium.osm.WAY).with_locations(out.locations)
    node_filter = osmium.filter.KeyFilter(*filters.node_keys)
    node_filter.enable_for(osmium.osm.NODE)
    key_filter = osmium.filter.KeyFilter(*filters.way_keys)
    key_filter.enable_for(osmium.osm.WAY)
    member_boxes: dict[int, tuple[float, float, float, float]] = {}
    written: set[int] = set()
    refs: list[np.ndarray] = []  # node ids of the ways kept (the council's share: bounded by it)
    with osmium.SimpleWriter(str(parts[0]), overwrite=True) as writer:
        for obj in second.with_filter(node_filter).with_filter(key_filter):
            out.candidates_seen += 1
            if obj.is_node():
                loc = obj.location
                if loc.valid() and clip.point(loc.lon, loc.lat):
                    writer.add_node(obj)
                    out.nodes += 1
                continue
            keep, box = clip.way(obj)
            if obj.id in need and box is not None:
                member_boxes[obj.id] = box
            if keep:
                writer.add_way(obj)
                written.add(obj.id)
                refs.append(np.fromiter((n.ref for n in obj.nodes), dtype=np.int64, count=len(obj.nodes)))

    # Pass 3 (ways only, locations from the index): relation members and broad-key ways not yet
    # written, set aside (with their boxes) until the relations are decided.
    need.difference_update(written)
    aside = workdir / "aside.osm.pbf"
    broad_kept: set[int] = set()
    if need:
        reader = osmium.io.Reader(path, osmium.osm.WAY)
        handler = osmium.NodeLocationsForWays(out.locations)
        handler.ignore_errors()
        wanted = osmium.filter.IdFilter(need)  # held here: the iterator does not keep its handlers alive
        try:
            with osmium.SimpleWriter(str(aside), overwrite=True) as writer:
                for way in osmium.OsmFileIterator(reader, handler, wanted):
                    out.candidates_seen += 1
                    keep, box = clip.way(way)
                    if box is None:
                        continue
                    member_boxes[way.id] = box
                    if keep and way.id in broad_ways:
                        broad_kept.add(way.id)
                    writer.add_way(way)
        finally:
            reader.close()
    kept = set(_relations_in(relations, member_boxes, out.locations, clip))
    out.relations = len(kept)
    wanted_ways = {w for r in kept for w in relations[r][0]} | broad_kept
    with osmium.SimpleWriter(str(parts[1]), overwrite=True) as writer:
        if need:
            for way in osmium.FileProcessor(str(aside)):
                if way.id in wanted_ways:
                    writer.add_way(way)
                    refs.append(np.fromiter((n.ref for n in way.nodes), dtype=np.int64, count=len(way.nodes)))
        for rel in osmium.FileProcessor(str(parts[2])):
            if rel.id in kept:
                writer.add_relation(rel)
    out.ways = len(written | broad_kept)
    # The kept ways' nodes, from the index: the staged file is complete, so its readers need no
    # index of the extract. (Their tags and versions stay in the extract; a tagged one already
    # written in pass 2 wins in the merge, being the newer version.)
    vertex_part = workdir / "part-vertices.osm.pbf"
    with osmium.SimpleWriter(str(vertex_part), overwrite=True) as writer:
        if refs:
            store = out.locations
            for ref in np.unique(np.concatenate(refs)).tolist():
                try:
                    loc = store.get(ref)
                except KeyError:
                    continue  # a node beyond the extract: its readers skip it as before
                writer.add_node(osmium.osm.mutable.Node(id=ref, location=loc))
    out.locations = None  # the extract's index is not needed past this point
    # One sorted file, each object once (a kept way can also be a kept relation's member).
    merger = osmium.MergeInputReader()
    for part in (parts[0], parts[1], vertex_part):
        merger.add_file(str(part))
    with osmium.SimpleWriter(str(out.path), overwrite=True) as writer:
        merger.apply(writer, simplify=True)


def _relations_in(relations: dict[int, tuple[list[int], list[int]]], member_boxes, store, clip: _Clip) -> list[int]:
    """Relations whose members' box (ways' boxes and nodes' locations) meets the clip."""
    kept = []
    for rel_id, (ways, nodes) in relations.items():
        parts = [member_boxes[w] for w in ways if w in member_boxes]
        for ref in nodes:
            try:
                loc = store.get(ref)
            except (KeyError, RuntimeError):  # a member node not in the extract
                continue
            if loc.valid():
                parts.append((loc.lon, loc.lat, loc.lon, loc.lat))
        if not parts:
            continue  # no member in the extract: no geometry either way
        a = np.asarray(parts)
        if clip.box(a[:, 0].min(), a[:, 1].min(), a[:, 2].max(), a[:, 3].max()):
            kept.append(rel_id)
    return kept


@contextmanager
def staged_extract(source: Path, *, clip: shapely.Geometry | None, tagmap: TagMap | None = None,
                   index: str | None = None, tmp_dir: Path | None = None) -> Iterator[StagedExtract]:
    """``stage_extract`` into a temporary folder that is removed afterwards (with its location index)."""
    with tempfile.TemporaryDirectory(prefix="kindmap-osm-", dir=tmp_dir) as folder:
        yield stage_extract(source, clip=clip, workdir=Path(folder), tagmap=tagmap, index=index)
