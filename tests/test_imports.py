"""Imports are transactional, idempotent, report row problems, and offer a dry run."""

import json

import pytest

from kindmap.db import read_session
from kindmap.errors import DataError, NotFound
from kindmap.ingest.areas import AreaColumns
from kindmap.models import Area, Place, PlaceCreate, Postcode
from kindmap.services.imports.files import import_areas, import_postcodes, upsert_places
from kindmap.services.imports.runs import ImportReport
from tests.conftest import db_fingerprint

COLUMNS = AreaColumns(code="code", name="name", decile="decile", households="hh", index_name="IMD 2019", kind="LSOA 2011")


def _areas_file(tmp_path, rows):
    features = [
        {"type": "Feature", "properties": props,
         "geometry": {"type": "Polygon", "coordinates": [[[x, 52], [x + 0.01, 52], [x + 0.01, 52.01], [x, 52.01], [x, 52]]]}}
        for x, props in rows
    ]
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_areas_import_idempotent_and_dry_run(engine, settings, tmp_path):
    path = _areas_file(tmp_path, [(-0.7, {"code": "E01", "name": "A", "decile": 2, "hh": 500}),
                                  (-0.6, {"code": "E02", "name": "B", "decile": 9, "hh": 420})])
    before = db_fingerprint(engine)
    dry = import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir, dry_run=True)
    assert (dry.added, dry.dry_run) == (2, True)
    assert db_fingerprint(engine) == before
    first = import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir)
    again = import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir)
    assert (first.added, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
    with read_session(engine) as s:
        areas = {a.code: a for a in s.query(Area).all()}
    assert areas["E01"].households == 500 and areas["E01"].deprivation_decile == 2
    assert areas["E02"].deprivation_index == "IMD 2019"


def test_bad_rows_abort_everything_unless_skipped(engine, settings, tmp_path):
    path = _areas_file(tmp_path, [(-0.7, {"code": "E01", "name": "A", "decile": 2, "hh": 500}),
                                  (-0.6, {"code": "E02", "name": "B", "decile": 14, "hh": "lots"})])
    before = db_fingerprint(engine)
    with pytest.raises(DataError) as info:
        import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir)
    assert "row 2" in info.value.message and "decile 14" in info.value.message and "'lots'" in info.value.message
    assert db_fingerprint(engine) == before
    report = import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir, skip_invalid=True)
    assert (report.added, report.skipped) == (1, 2)


def test_missing_columns_and_unknown_region(engine, settings, tmp_path):
    path = _areas_file(tmp_path, [(-0.7, {"code": "E01", "name": "A"})])
    before = db_fingerprint(engine)
    with pytest.raises(DataError, match="households|hh"):
        import_areas(engine, region="rutland", path=path, columns=COLUMNS, data_dir=settings.data_dir)
    with pytest.raises(NotFound, match="unknown region 'narnia'.*rutland"):
        import_areas(engine, region="narnia", path=path, columns=AreaColumns(code="code", name="name"), data_dir=settings.data_dir)
    assert db_fingerprint(engine) == before


def test_postcodes_row_problems(engine, settings, tmp_path):
    csv = tmp_path / "pc.csv"
    csv.write_text("postcode,lon,lat,lsoa11_code\nLE15 6HP,-0.72,52.67,E01\nnot a code,-0.7,52.6,E01\nLE15 9ZZ,nan,52.6,E01\nle159aa,-0.71,52.66,\n")
    before = db_fingerprint(engine)
    with pytest.raises(DataError) as info:
        import_postcodes(engine, path=csv, data_dir=settings.data_dir)
    assert "row 2" in info.value.message and "row 3" in info.value.message
    assert db_fingerprint(engine) == before
    report = import_postcodes(engine, path=csv, data_dir=settings.data_dir, skip_invalid=True)
    assert (report.added, report.skipped) == (2, 2)
    with read_session(engine) as s:
        assert s.get(Postcode, "LE15 9AA").area_code is None
        assert s.get(Postcode, "LE15 6HP").area_code == "E01"
    missing = tmp_path / "bad.csv"
    missing.write_text("code,value\nLE15 6HP,1\n")
    with pytest.raises(DataError, match="no postcode, lon, lat column; its columns are: code, value"):
        import_postcodes(engine, path=missing, data_dir=settings.data_dir)


def test_upsert_places_counts_and_keeps_local_status(engine, settings):
    from kindmap.db import write_session
    from kindmap.models import PlaceStatus, Region

    with write_session(engine) as s:
        region = Region(slug="t", name="T")
        s.add(region)
        s.flush()
        rid = region.id
    items = [PlaceCreate(name=f"Hall {i}", category="community_centre", lon=-0.7, lat=52.6 + i / 100,
                         source="osm", source_id=f"node/{i}", opening_hours="whenever" if i == 1 else None) for i in range(3)]
    with write_session(engine) as s:
        upsert_places(s, region_id=rid, source="osm", places=items, report=(r1 := ImportReport("osm", "t", "x")))
    with write_session(engine) as s:
        p = s.query(Place).filter_by(source_id="node/0").one()
        p.status = PlaceStatus.pending  # a moderator's decision must survive re-import
    items[2] = items[2].model_copy(update={"name": "Hall Two (renamed)"})
    with write_session(engine) as s:
        upsert_places(s, region_id=rid, source="osm", places=items[1:], report=(r2 := ImportReport("osm", "t", "x")))
    assert (r1.added, r2.added, r2.updated, r2.unchanged, r2.missing) == (3, 0, 1, 1, 1)
    with read_session(engine) as s:
        rows = {p.source_id: p for p in s.query(Place).all()}
    assert rows["node/0"].status == "pending"
    assert rows["node/1"].opening_hours == "whenever" and rows["node/1"].opening_hours_valid is False
    assert rows["node/2"].name == "Hall Two (renamed)"
