"""The staged extract (clipped and pre-filtered with pyosmium's C++ side) gives the same places,
walking network and towns as reading the whole extract and clipping afterwards.

Small synthetic files for the clipping rules; the real Rutland and Newport extracts end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import osmium
import pytest
import shapely
from shapely.geometry import shape

from kindmap.geo.network import build_network
from kindmap.ingest.localities import read_localities
from kindmap.ingest.osm import read_osm_places
from kindmap.ingest.osm_stage import staged_extract
from kindmap.services.imports.coverage import CLIP_MARGIN_M, buffered, stage_clip

GEODATA = Path(__file__).resolve().parents[3] / "shared" / "geodata"
REAL = [
    ("rutland/rutland-2022-11.osm.pbf", "rutland/rutland_ltla2021.geojson"),
    ("newport/newport-core_2023-06-12.osm.pbf", "newport/newport_ltla2024.geojson"),
]
CLIP = shapely.box(-0.80, 52.60, -0.70, 52.70)  # a small council for the synthetic files


def _places(path: Path, clip, **kw):
    """Places as import_osm keeps them (inside the clip), as plain dicts by source id."""
    read = read_osm_places(path, **kw)
    inside = shapely.contains_xy(clip, [p.lon for p in read.places], [p.lat for p in read.places]) if read.places else []
    return {p.source_id: p.model_dump() for p, keep in zip(read.places, inside) if keep}


def _same_network(a, b) -> None:
    for name in ("node_osm_id", "node_lon", "node_lat", "edge_u", "edge_v", "edge_length", "edge_flags",
                 "edge_way_id", "geom_offsets", "indptr", "indices"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    # The metric CRS is centred on the data's extent, so coordinates agree to rounding only.
    np.testing.assert_allclose(a.geom_xy, b.geom_xy, atol=1e-6)


def _ids(path: Path) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {"n": set(), "w": set(), "r": set()}
    for obj in osmium.FileProcessor(str(path)):
        out[obj.type_str()].add(obj.id)
    return out


def _square(x0: float, y0: float, size: float, first_id: int) -> tuple[list, list[int]]:
    nodes = [(first_id + i, x0 + dx, y0 + dy, {}) for i, (dx, dy) in enumerate([(0, 0), (size, 0), (size, size), (0, size)])]
    return nodes, [first_id, first_id + 1, first_id + 2, first_id + 3, first_id]


def test_only_candidates_near_the_council_reach_the_staged_file(write_osm, tmp_path):
    park_nodes, park_ring = _square(-0.76, 52.64, 0.01, 100)  # inside
    far_nodes, far_ring = _square(-0.20, 52.10, 0.01, 200)  # far outside
    big_nodes, big_ring = _square(-0.90, 52.50, 0.30, 300)  # a closed way all round the clip
    outer_nodes, outer_ring = _square(-0.72, 52.68, 0.03, 400)  # a multipolygon's outer way, crossing the edge
    path = write_osm(
        nodes=[
            (1, -0.75, 52.65, {"amenity": "library", "name": "Inside Library"}),
            (2, -0.30, 52.30, {"amenity": "library", "name": "Far Library"}),
            (3, -0.75, 52.66, {"shop": "bakery", "name": "Not a candidate"}),
            (4, -0.74, 52.65, {"place": "village", "name": "Insideham"}),
            (10, -0.85, 52.65, {}), (11, -0.65, 52.65, {}),  # a street through the clip, ends outside
            (12, -0.40, 52.40, {}), (13, -0.39, 52.40, {}),  # a footway far away
            (20, -0.76, 52.61, {}), (21, -0.75, 52.61, {}),  # an untagged way inside: nothing reads it
            *park_nodes, *far_nodes, *big_nodes, *outer_nodes,
        ],
        ways=[
            (50, [10, 11], {"highway": "residential", "name": "Long Lane"}),
            (51, [12, 13], {"highway": "footway"}),
            (52, [20, 21], {}),
            (53, park_ring, {"leisure": "park", "name": "Inside Park"}),
            (54, far_ring, {"leisure": "park", "name": "Far Park"}),
            (55, big_ring, {"landuse": "allotments", "name": "All Round"}),
            (56, outer_ring, {}),
            (57, [20, 21], {"building": "house"}),  # buildings are filtered by value: not a candidate
        ],
        relations=[(90, [("w", 56, "outer")], {"type": "multipolygon", "leisure": "garden", "name": "Walled Garden"}),
                   (91, [("w", 54, "outer")], {"type": "multipolygon", "amenity": "marketplace", "name": "Far"})],
    )
    with staged_extract(path, clip=CLIP, tmp_dir=tmp_path) as staged:
        ids = _ids(staged.path)
        places = _places(staged.path, CLIP)
        towns = read_localities(staged.path)
    # The candidates inside and every node of the kept ways; not the bakery, the far library, the
    # untagged way inside or the far footway's nodes.
    assert ids["n"] == {1, 4, 10, 11, *range(100, 104), *range(300, 304), *range(400, 404)}
    assert ids["w"] == {50, 53, 55, 56}
    assert ids["r"] == {90}
    assert set(places) == {"node/1", "way/53", "way/55", "relation/90"}
    assert places["relation/90"]["footprint_geojson"]  # the area was assembled from its member way
    assert [t.name for t in towns] == ["Insideham"]
    assert places == _places(path, CLIP)  # what the whole file gives, clipped afterwards


def test_without_a_clip_only_the_tag_filter_applies(write_osm, tmp_path):
    path = write_osm(nodes=[(1, -0.75, 52.65, {"amenity": "library", "name": "A"}),
                            (2, 10.0, 45.0, {"amenity": "cafe", "name": "B"}),
                            (3, 10.0, 45.0, {"shop": "bakery", "name": "C"})])
    with staged_extract(path, clip=None, tmp_dir=tmp_path) as staged:
        assert _ids(staged.path)["n"] == {1, 2}
    assert not list(tmp_path.glob("kindmap-osm-*"))  # the staged file and its index are removed


@pytest.mark.parametrize("extract,outline", REAL, ids=["rutland", "newport"])
def test_real_extracts_give_the_same_places_network_and_towns(extract, outline, tmp_path):
    source = GEODATA / extract
    if not source.is_file():
        pytest.skip(f"{source} not available")
    boundary = shape(json.loads((GEODATA / outline).read_text())["features"][0]["geometry"])
    clip = buffered(boundary, CLIP_MARGIN_M)
    with staged_extract(source, clip=stage_clip(boundary), tmp_dir=tmp_path) as staged:
        new_places = _places(staged.path, clip)
        new_net = build_network(staged.path, source=source.name)
        new_towns = read_localities(staged.path)
        assert staged.path.stat().st_size < source.stat().st_size / 2
    old_places = _places(source, clip)
    assert len(new_places) > 150 and new_places == old_places
    _same_network(new_net, build_network(source))
    assert new_net.source == source.name
    assert sorted(vars(t).items() for t in new_towns) == sorted(vars(t).items() for t in read_localities(source))


def test_a_file_backed_location_index_gives_the_same_staged_file(write_osm, tmp_path):
    # County and national extracts keep node locations on disk (sparse_file_array), not in memory.
    nodes = [(i, -0.75 + i * 1e-4, 52.65, {}) for i in range(1, 50)]
    nodes += [(100, -0.75, 52.651, {"amenity": "cafe", "name": "Café"}), (101, -0.10, 52.10, {"amenity": "cafe", "name": "Far"})]
    path = write_osm(nodes=nodes, ways=[(7, list(range(1, 50)), {"highway": "footway"})])
    with staged_extract(path, clip=CLIP, tmp_dir=tmp_path) as in_memory:
        expected = _ids(in_memory.path)
    with staged_extract(path, clip=CLIP, tmp_dir=tmp_path, index=f"sparse_file_array,{tmp_path / 'loc.idx'}") as on_disk:
        assert on_disk.index == "sparse_file_array"
        assert _ids(on_disk.path) == expected == {"n": set(range(1, 50)) | {100}, "w": {7}, "r": set()}
