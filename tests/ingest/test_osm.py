"""The OSM reader and tag mapping: tiny synthetic extracts, then the real Rutland files."""

from __future__ import annotations

import json
import math
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
import shapely

from kindmap.config import default_data_dir
from kindmap.errors import DataError
from kindmap.ingest.osm import OsmReadResult, read_osm_places
from kindmap.ingest.tagmap import load_tagmap, normalise_postcode, parse_tagmap
from kindmap.models import PlaceCreate
from kindmap.taxonomy import categories

LON, LAT = -0.73, 52.67  # Oakham
WriteOsm = Callable[..., Path]


def _square(first_id: int, lon: float, lat: float, size: float) -> list[tuple[int, float, float, dict]]:
    """Four corner nodes of a square, anticlockwise from the south-west."""
    corners = [(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)]
    return [(first_id + i, x, y, {}) for i, (x, y) in enumerate(corners)]


def _read(write_osm: WriteOsm, **elements: object) -> OsmReadResult:
    return read_osm_places(write_osm(**elements))


def _one(result: OsmReadResult) -> PlaceCreate:
    assert len(result.places) == 1, [p.name for p in result.places]
    return result.places[0]


# --- synthetic extracts ------------------------------------------------------------------


def test_library_node_maps_tags_and_provenance(write_osm: WriteOsm) -> None:
    tags = {
        "amenity": "library",
        "name": "Oakham Library",
        "fee": "no",
        "wheelchair": "limited",
        "opening_hours": "Mo-Fr 09:00-17:00; Sa 10:00-12:00 ",
        "toilets:wheelchair": "yes",
        "internet_access": "wlan",
        "hearing_loop:counter": "yes",
        "contact:phone": "+44 1572 722918",
        "url": "https://www.rutland.gov.uk/libraries",
        "email": "libraries@rutland.gov.uk",
        "addr:housenumber": "2",
        "addr:street": "Catmos Street",
        "addr:city": "Oakham",
        "addr:postcode": "le15  6hw",
        "description": "Books, computers and a warm welcome.",
    }
    result = _read(write_osm, nodes=[(1, LON, LAT, tags)], timestamps={"node/1": "2021-03-04T05:06:07Z"})
    place = _one(result)
    assert place.category == "library"
    assert (place.lon, place.lat) == (LON, LAT)
    assert place.free_to_use is True
    assert place.wheelchair is not None and place.wheelchair.value == "limited"
    assert place.accessible_toilet is True
    assert place.wifi is True
    assert place.hearing_loop is True
    # Kept exactly as given (only surrounding whitespace trimmed): parsing is another module's job.
    assert place.opening_hours == "Mo-Fr 09:00-17:00; Sa 10:00-12:00"
    assert place.phone == "+44 1572 722918"
    assert place.website == "https://www.rutland.gov.uk/libraries"
    assert place.email == "libraries@rutland.gov.uk"
    assert place.address == "2 Catmos Street, Oakham"
    assert place.postcode == "LE15 6HW"
    assert place.description == "Books, computers and a warm welcome."
    assert place.seating is True  # assumed from the taxonomy: nothing said otherwise
    assert place.toilets is None  # no tag, no assumption: stays unknown
    assert place.source == "osm"
    assert place.source_id == "node/1"
    assert place.source_licence == "ODbL-1.0"
    assert place.footprint_geojson is None
    assert place.source_timestamp == datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert place.source_timestamp.utcoffset() is not None
    assert result.latest_timestamp == place.source_timestamp
    assert result.skipped == 0 and result.warnings == []


def test_explicit_fee_beats_taxonomy_assumption(write_osm: WriteOsm) -> None:
    assert categories()["library"].assume["free_to_use"] is True
    place = _one(_read(write_osm, nodes=[(1, LON, LAT, {"amenity": "library", "name": "L", "fee": "yes"})]))
    assert place.free_to_use is False
    assert place.drop_in is True  # other assumptions still apply


def test_closed_way_park_has_footprint_and_point_inside(write_osm: WriteOsm) -> None:
    # A "C" shape whose centroid falls in the notch, outside the park.
    d = 0.001
    shape = [(0, 0), (3, 0), (3, 1), (1, 1), (1, 2), (3, 2), (3, 3), (0, 3)]
    nodes = [(i + 1, LON + x * d, LAT + y * d, {}) for i, (x, y) in enumerate(shape)]
    refs = [n[0] for n in nodes] + [1]
    result = _read(write_osm, nodes=nodes, ways=[(10, refs, {"leisure": "park", "name": "Cutts Close"})])
    place = _one(result)
    assert place.category == "park" and place.source_id == "way/10"
    footprint = shapely.from_geojson(place.footprint_geojson)
    assert footprint.geom_type == "Polygon" and footprint.is_valid
    assert not footprint.contains(footprint.centroid)  # the trap this test is about
    assert footprint.contains(shapely.Point(place.lon, place.lat))
    assert place.free_to_use is True  # parks are assumed free


def test_multipolygon_relation_is_one_place(write_osm: WriteOsm) -> None:
    outer = _square(1, LON, LAT, 0.004)
    inner = _square(11, LON + 0.001, LAT + 0.001, 0.002)
    ways = [
        (100, [1, 2, 3], {}),  # the outer ring in two untagged halves
        (101, [3, 4, 1], {}),
        (102, [11, 12, 13, 14, 11], {"natural": "water"}),
    ]
    members = [("way", 100, "outer"), ("way", 101, "outer"), ("way", 102, "inner")]
    rel = (500, members, {"type": "multipolygon", "leisure": "park", "name": "Royce Recreation Ground"})
    result = _read(write_osm, nodes=outer + inner, ways=ways, relations=[rel])
    place = _one(result)
    assert place.source_id == "relation/500"
    footprint = shapely.from_geojson(place.footprint_geojson)
    assert footprint.geom_type == "Polygon" and len(footprint.interiors) == 1
    assert footprint.contains(shapely.Point(place.lon, place.lat))


def test_ordinary_cafe_skipped_but_community_cafe_kept(write_osm: WriteOsm) -> None:
    nodes = [
        (1, LON, LAT, {"amenity": "cafe", "name": "Costa"}),
        (2, LON + 0.001, LAT, {"amenity": "cafe", "name": "The Hub", "cafe": "community"}),
        (3, LON + 0.002, LAT, {"amenity": "cafe", "name": "Tea Room", "operator:type": "charity"}),
        (4, LON + 0.003, LAT, {"amenity": "cafe", "name": "Whissendine Community Cafe"}),
    ]
    result = _read(write_osm, nodes=nodes)
    assert sorted(p.source_id for p in result.places) == ["node/2", "node/3", "node/4"]
    assert {p.category for p in result.places} == {"community_cafe"}
    assert result.skipped == 1


@pytest.mark.parametrize("access", ["private", "no"])
def test_private_access_excluded(write_osm: WriteOsm, access: str) -> None:
    tags = {"amenity": "library", "name": "School library", "access": access}
    result = _read(write_osm, nodes=[(1, LON, LAT, tags)])
    assert result.places == [] and result.skipped == 1


def test_category_rules(write_osm: WriteOsm) -> None:
    cases = {
        1: ({"amenity": "community_centre", "community_centre": "mens_shed", "name": "Oakham Shed"}, "community_shed"),
        2: ({"club": "mens_shed", "name": "Uppingham Shed"}, "community_shed"),
        3: ({"amenity": "community_centre", "name": "Village Hall"}, "community_centre"),
        4: ({"amenity": "place_of_worship", "name": "All Saints"}, "place_of_worship"),
        5: ({"amenity": "social_facility", "social_facility": "food_bank", "name": "Food bank"}, "social_facility"),
        6: ({"amenity": "social_facility", "social_facility": "assisted_living;group_home", "name": "Care home"}, None),
        7: ({"amenity": "social_centre", "name": "Social club"}, "social_facility"),
        8: ({"leisure": "garden", "garden:type": "community", "name": "Community garden"}, "community_garden"),
        9: ({"landuse": "allotments", "name": "Burley Road Allotments"}, "community_garden"),
        10: ({"leisure": "garden", "garden:type": "residential", "name": "Back garden"}, None),
        11: ({"tourism": "museum", "name": "Rutland County Museum"}, "museum_gallery"),
        12: ({"amenity": "arts_centre", "name": "Arts centre"}, "arts_centre"),
        13: ({"leisure": "sports_centre", "name": "Catmos Sports Centre"}, "sports_leisure"),
        14: ({"leisure": "fitness_centre", "name": "Gym", "access": "customers"}, None),
        15: ({"amenity": "marketplace", "name": "Oakham Market"}, "market"),
        16: ({"amenity": "toilets"}, "public_toilets"),
        17: ({"amenity": "fast_food;toilets", "name": "Pizza"}, None),  # not a public toilet
        18: ({"amenity": "pub", "name": "The Wheatsheaf"}, None),
        19: ({"building": "village_hall", "name": "Old Hall"}, "community_centre"),
    }
    nodes = [(i, LON + i * 1e-4, LAT, tags) for i, (tags, _) in cases.items()]
    result = _read(write_osm, nodes=nodes)
    got = {int(p.source_id.split("/")[1]): p.category for p in result.places}
    assert got == {i: cat for i, (_, cat) in cases.items() if cat is not None}
    toilet = next(p for p in result.places if p.category == "public_toilets")
    assert toilet.name == "Public toilets" and toilet.toilets is True


def test_unnamed_rule(write_osm: WriteOsm) -> None:
    big = _square(1, LON, LAT, 0.002)  # about 136 m x 222 m: ~3 ha
    small = _square(11, LON + 0.01, LAT, 0.0003)  # ~0.07 ha
    nodes = big + small + [
        (21, LON, LAT - 0.01, {"leisure": "playground"}),
        (22, LON, LAT - 0.02, {"amenity": "community_centre"}),
    ]
    ways = [(100, [1, 2, 3, 4, 1], {"leisure": "park"}), (101, [11, 12, 13, 14, 11], {"leisure": "park"})]
    result = _read(write_osm, nodes=nodes, ways=ways)
    names = {p.source_id: p.name for p in result.places}
    assert names == {"way/100": "Park (unnamed)", "node/21": "Playground"}
    assert result.skipped == 2


def test_wifi_paid_and_criteria_tags(write_osm: WriteOsm) -> None:
    tags = {"amenity": "community_centre", "name": "Hall", "internet_access": "wlan", "internet_access:fee": "yes",
            "toilets": "yes", "wheelchair": "no", "hearing_loop": "no"}
    place = _one(_read(write_osm, nodes=[(1, LON, LAT, tags)]))
    assert place.wifi is False  # a paid connection is not the welcome criterion
    assert place.toilets is True
    assert place.wheelchair is not None and place.wheelchair.value == "no"
    assert place.hearing_loop is False


def test_long_values_truncated_not_rejected(write_osm: WriteOsm) -> None:
    tags = {"amenity": "library", "name": "N" * 300, "website": "https://x.org/" + "a" * 600,
            "addr:postcode": "NOT A POSTCODE AT ALL"}
    place = _one(_read(write_osm, nodes=[(1, LON, LAT, tags)]))
    assert len(place.name) == 200 and place.name.endswith("…")
    assert len(place.website or "") == 500
    assert place.postcode is None  # never a truncated postcode


def test_open_way_placed_on_its_line(write_osm: WriteOsm) -> None:
    nodes = [(1, LON, LAT, {}), (2, LON + 0.001, LAT, {}), (3, LON + 0.002, LAT + 0.001, {})]
    result = _read(write_osm, nodes=nodes, ways=[(10, [1, 2, 3], {"amenity": "community_centre", "name": "Hall"})])
    place = _one(result)
    line = shapely.from_geojson(place.footprint_geojson)
    assert line.geom_type == "LineString"
    assert line.distance(shapely.Point(place.lon, place.lat)) < 1e-9


def test_latest_timestamp_and_progress(write_osm: WriteOsm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kindmap.ingest.osm.PROGRESS_EVERY", 2)
    nodes = [(i, LON + i * 1e-4, LAT, {}) for i in range(1, 6)]
    stamps = {"node/3": "2023-01-02T03:04:05Z"}  # untagged, yet it is the newest edit
    calls: list[int] = []
    result = read_osm_places(write_osm(nodes=nodes, timestamps=stamps), progress=calls.append)
    assert result.places == []
    assert result.latest_timestamp == datetime(2023, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert calls == [2, 4, 5]


def test_custom_tagmap_is_used(write_osm: WriteOsm) -> None:
    tmap = parse_tagmap({"categories": [{"category": "other", "match": {"amenity": "pub"}}]})
    path = write_osm(nodes=[(1, LON, LAT, {"amenity": "pub", "name": "The Wheatsheaf"})])
    assert _one(read_osm_places(path, tagmap=tmap)).category == "other"


# --- the mapping file itself ----------------------------------------------------------


def test_tagmap_categories_exist_in_taxonomy() -> None:
    tmap = load_tagmap()
    known = categories()
    assert all(rule.category in known for rule in tmap.rules)
    assert {"amenity", "leisure", "tourism", "landuse", "club"} <= tmap.keys


def test_tagmap_rejects_unknown_category() -> None:
    with pytest.raises(DataError, match="unknown category 'bingo'"):
        parse_tagmap({"categories": [{"category": "bingo", "match": {"amenity": "casino"}}]})


def test_tagmap_file_is_valid_json_with_licence() -> None:
    from kindmap.config import project_geodata_dir

    data = json.loads((project_geodata_dir() / "osm_tags.json").read_text(encoding="utf-8"))
    assert data["licence"] == "ODbL-1.0"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("le15 6hw", "LE15 6HW"), ("LE156HW", "LE15 6HW"), (" pe9  4hr ", "PE9 4HR"), ("EC1A1BB", "EC1A 1BB"),
     ("", None), ("somewhere far away", None)],
)
def test_normalise_postcode(raw: str, expected: str | None) -> None:
    assert normalise_postcode(raw) == expected


# --- unreadable files -----------------------------------------------------------------


def _rutland(name: str) -> Path:
    return default_data_dir() / "rutland" / name


def test_missing_file_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        read_osm_places(tmp_path / "nowhere.osm.pbf")


def test_empty_file_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm.pbf"
    path.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        read_osm_places(path)


def test_truncated_pbf_raises_data_error(tmp_path: Path) -> None:
    data = _rutland("rutland-2022-11.osm.pbf").read_bytes()
    path = tmp_path / "truncated.osm.pbf"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated.osm.pbf is not a readable OSM file") as info:
        read_osm_places(path)
    assert "download a fresh extract" in info.value.message


def test_random_bytes_raise_data_error(tmp_path: Path) -> None:
    path = tmp_path / "random.osm.pbf"
    path.write_bytes(os.urandom(20_000))
    with pytest.raises(DataError, match="not a readable OSM file"):
        read_osm_places(path)


def test_unknown_suffix_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "extract.bin"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(DataError, match="not a readable OSM file"):
        read_osm_places(path)


# --- the real Rutland extracts --------------------------------------------------------

RUTLAND_BBOX = (-0.83, 52.52, -0.42, 52.77)


@pytest.fixture(scope="module")
def rutland_2022() -> OsmReadResult:
    started = time.perf_counter()
    result = read_osm_places(_rutland("rutland-2022-11.osm.pbf"))
    print(f"\nrutland-2022-11: {len(result.places)} places in {time.perf_counter() - started:.2f} s")
    return result


@pytest.fixture(scope="module")
def rutland_2018() -> OsmReadResult:
    started = time.perf_counter()
    result = read_osm_places(_rutland("rutland-2018-02.osm.pbf"))
    print(f"\nrutland-2018-02: {len(result.places)} places in {time.perf_counter() - started:.2f} s")
    return result


def _check_in_rutland(result: OsmReadResult) -> None:
    west, south, east, north = RUTLAND_BBOX
    for p in result.places:
        assert math.isfinite(p.lon) and math.isfinite(p.lat), p.source_id
        assert west <= p.lon <= east and south <= p.lat <= north, (p.source_id, p.lon, p.lat)
        if p.footprint_geojson and p.source_id and not p.source_id.startswith("node/"):
            geom = shapely.from_geojson(p.footprint_geojson)
            if geom.geom_type in ("Polygon", "MultiPolygon"):
                assert geom.buffer(1e-9).contains(shapely.Point(p.lon, p.lat)), p.source_id
    ids = [p.source_id for p in result.places]
    assert len(ids) == len(set(ids))  # one element, at most one place


@pytest.mark.slow
def test_rutland_2022_end_to_end(rutland_2022: OsmReadResult) -> None:
    result = rutland_2022
    counts = Counter(p.category for p in result.places)
    print("rutland-2022-11 by category:", dict(counts.most_common()))
    libraries = {p.name for p in result.places if p.category == "library"}
    assert libraries == {"Rutland County Library", "Uppingham Library", "Ketton Library", "Ryhall Library"}
    oakham = next(p for p in result.places if p.name == "Rutland County Library")
    assert oakham.postcode == "LE15 6HW" and oakham.source_id and oakham.source_id.startswith("way/")
    assert counts["community_centre"] >= 20
    assert counts["place_of_worship"] >= 20
    assert counts["community_cafe"] == 0  # Rutland has no café tagged as community-run
    _check_in_rutland(result)
    assert result.latest_timestamp is not None
    assert result.latest_timestamp.date().isoformat() == "2022-07-20"
    assert all(p.source_timestamp is not None and p.source_timestamp.tzinfo for p in result.places)
    assert result.skipped > 0
    assert result.warnings == []


@pytest.mark.slow
def test_rutland_2018_end_to_end(rutland_2018: OsmReadResult, rutland_2022: OsmReadResult) -> None:
    result = rutland_2018
    counts = Counter(p.category for p in result.places)
    print("rutland-2018-02 by category:", dict(counts.most_common()))
    assert counts["library"] >= 1 and counts["place_of_worship"] >= 20
    _check_in_rutland(result)
    assert result.latest_timestamp is not None and rutland_2022.latest_timestamp is not None
    assert result.latest_timestamp < rutland_2022.latest_timestamp  # the older snapshot is older
