"""Duplicates across sources: matching rules on tiny synthetic points, and real Rutland OSM + council list."""

from __future__ import annotations

import json

from sqlmodel import select

from kindmap.config import Settings
from kindmap.db import create_schema, make_engine, read_session
from kindmap.ingest.csv_places import preset
from kindmap.models import Place, PlaceExtra, PlaceStatus, ReviewItem
from kindmap.services.imports.dedupe import (
    Candidate,
    Matcher,
    name_tokens,
    token_set_similarity,
)
from kindmap.services.imports.places import import_csv

RUTLAND_LIBRARIES = "rutland/libraries_rutland.csv"

from tests.conftest import copy_database


def copy_rutland(rutland, tmp_path):
    """(settings, engine) on a private copy of the session's Rutland database, so a test can write to it."""
    settings, _engine, _ = rutland
    url = copy_database(settings.database_url, folder=tmp_path, name="rutland-copy")
    copy = Settings(database_url=url, data_dir=settings.data_dir, state_dir=tmp_path / "state")
    engine = make_engine(copy.database_url, settings=copy)
    create_schema(engine)
    return copy, engine


def test_names_lose_generic_words():
    assert name_tokens("The Ketton Library") == {"ketton"}
    assert token_set_similarity("Ketton", "Ketton Library") == 1.0
    assert token_set_similarity("Oakham", "Rutland County Library") < 0.3
    assert token_set_similarity("Library", "Library") == 0.0  # nothing specific left: never a name match


# A point 0.001° of latitude is ~111 m north.
HERE = Candidate(1, "Ketton Library", "library", -0.55, 52.63, "PE9 3TE", "High Street, Ketton")


def test_near_same_name_merges_and_far_is_a_near_miss():
    m = Matcher([HERE])
    hit, near = m.match(name="Ketton", category="library", lon=-0.55, lat=52.631)
    assert hit is not None and hit.place_id == 1 and 100 < hit.distance_m < 120 and near is None
    hit, near = m.match(name="Ketton", category="library", lon=-0.55, lat=52.6325)  # ~280 m: too far
    assert hit is None and near is not None and near.place_id == 1 and "apart" in near.reason
    hit, near = m.match(name="Ketton", category="library", lon=-0.55, lat=52.6325, from_postcode=True)  # 250 m rule
    assert hit is None and near is not None


def test_other_category_or_other_name_never_merges():
    m = Matcher([HERE])
    assert m.match(name="Ketton", category="park", lon=-0.55, lat=52.6301) == (None, None)
    hit, near = m.match(name="Barrowden", category="library", lon=-0.55, lat=52.6301)
    assert hit is None and near is None


def test_same_postcode_or_name_in_address_merges():
    m = Matcher([Candidate(2, "Rutland County Library", "library", -0.7258, 52.6693, "LE15 6HW", "Catmos Street, Oakham")])
    hit, _ = m.match(name="Oakham", category="library", lon=-0.7259, lat=52.6688)
    assert hit is not None and "address" in hit.reason
    hit, _ = m.match(name="Central", category="library", lon=-0.7259, lat=52.6688, postcode="LE15 6HW")
    assert hit is not None and "postcode" in hit.reason


def _libraries(engine):
    with read_session(engine) as s:
        return s.exec(select(Place).where(Place.category == "library", Place.status == PlaceStatus.published)
                      .order_by(Place.name)).all()


def test_rutland_osm_plus_council_list_is_four_libraries(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    before = {p.id: p for p in _libraries(engine)}
    assert len(before) == 4 and {p.source for p in before.values()} == {"osm"}
    result = import_csv(engine, region="rutland", path=data_dir / RUTLAND_LIBRARIES,
                        mapping=preset("libraries-schema"), data_dir=data_dir)
    after = _libraries(engine)
    assert len(after) == 4, [p.name for p in after]  # not 8
    assert result.report.added == 0 and len(result.dedupe.merges) == 4 and not result.dedupe.near_misses
    by_name = {p.name: p for p in after}
    # The council's hours fill OSM's gaps; OSM's own hours are never overwritten.
    assert by_name["Ketton Library"].opening_hours == "We,Fr 08:30-17:30; Sa 10:00-13:00"
    assert by_name["Uppingham Library"].opening_hours == "Tu,Fr 09:00-18:00; We 14:00-17:00; Sa 09:00-12:00"
    assert by_name["Rutland County Library"].opening_hours == before[by_name["Rutland County Library"].id].opening_hours
    assert by_name["Ryhall Library"].postcode == "PE9 4HR"  # OSM's, kept
    assert all(p.opening_hours_valid for p in after)
    with read_session(engine) as s:
        extras = s.exec(select(PlaceExtra).where(PlaceExtra.source == "csv")).all()
    # Both provenances: the OSM place keeps its source, the council row is kept and linked to it.
    assert sorted(e.place_id for e in extras) == sorted(before)
    assert all(e.match.startswith("merged") for e in extras)
    assert json.loads(next(e for e in extras if e.place_id == by_name["Ketton Library"].id).data_json)["Library name"] == "Ketton"
    again = import_csv(engine, region="rutland", path=data_dir / RUTLAND_LIBRARIES,
                       mapping=preset("libraries-schema"), data_dir=data_dir)
    assert len(_libraries(engine)) == 4 and again.report.added == 0 and again.report.unchanged == 4


def test_without_dedupe_the_list_adds_four_more(rutland, tmp_path, data_dir):
    _settings, engine = copy_rutland(rutland, tmp_path)
    import_csv(engine, region="rutland", path=data_dir / RUTLAND_LIBRARIES, mapping=preset("libraries-schema"),
               data_dir=data_dir, dedupe=False)
    assert len(_libraries(engine)) == 8


def test_near_misses_are_queued_for_a_person(rutland, tmp_path, data_dir):
    _settings, engine = copy_rutland(rutland, tmp_path)
    csv = tmp_path / "list.csv"
    # 'Uppingham Library' ~280 m north of the OSM one (given by coordinates): similar name, too far.
    csv.write_text("name,lon,lat\nUppingham Library,-0.7207628,52.59010\n", encoding="utf-8")
    from kindmap.ingest.csv_places import CsvMapping

    result = import_csv(engine, region="rutland", path=csv, data_dir=data_dir,
                        mapping=CsvMapping(columns={"name": "name", "lon": "lon", "lat": "lat"}, category="library"))
    assert result.report.added == 1 and len(result.dedupe.near_misses) == 1
    assert "check by hand" in result.dedupe.lines()[0]
    with read_session(engine) as s:
        items = s.exec(select(ReviewItem)).all()
    assert len(items) == 1 and items[0].kind.value == "duplicate"
