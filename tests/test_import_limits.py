"""Import limits: every import (CSV places, ORUK JSON, OSM extract, areas, postcodes, activities)
refuses a file over ``max_upload_mb`` or holding more than ``max_import_rows`` rows, from the
services and the command line alike, and changes nothing; at the limits it imports."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from kindmap.cli import app
from kindmap.config import default_data_dir, get_settings
from kindmap.db import read_session
from kindmap.errors import PayloadTooLarge
from kindmap.ingest.areas import AreaColumns
from kindmap.ingest.csv_places import CsvMapping
from kindmap.ingest.limits import ImportLimits, bounded_rows, check_file_size
from kindmap.models import Area, Place, PlaceExtra, Postcode
from kindmap.models.activities import Opportunity
from kindmap.services.imports.activities import import_activities
from kindmap.services.imports.demo import import_region
from kindmap.services.imports.files import import_areas, import_osm, import_postcodes
from kindmap.services.imports.places import import_csv, import_oruk
from tests.conftest import db_fingerprint
from tests.ingest.conftest import osm_xml

MB, ROWS = 1, 5  # tiny limits: a file of at most 1 MiB, an import of at most 5 rows
MIB = 2**20
LON, LAT = -0.73, 52.67  # Oakham, inside Rutland


@pytest.fixture
def tiny(settings, data_dir):
    """The test's settings with tiny import limits."""
    return settings.model_copy(update={"max_upload_mb": MB, "max_import_rows": ROWS, "data_dir": data_dir})


# --- one synthetic file of n rows per import, and how to run that import --------------------------


def _csv_places(folder: Path, n: int) -> Path:
    path = folder / "places.csv"
    path.write_text("Name,Lon,Lat\n" + "".join(f"Library {i},{LON + i / 1000:.4f},{LAT}\n" for i in range(n)))
    return path


def _postcodes(folder: Path, n: int) -> Path:
    path = folder / "postcodes.csv"
    path.write_text("postcode,lon,lat\n" + "".join(f"LE15 {i}AB,{LON + i / 1000:.4f},{LAT}\n" for i in range(n)))
    return path


def _activities(folder: Path, n: int) -> Path:
    path = folder / "activities.csv"
    path.write_text("title,lon,lat,source_id\n" + "".join(f"Walk {i},{LON},{LAT},walk-{i}\n" for i in range(n)))
    return path


def _areas(folder: Path, n: int) -> Path:
    size = 0.005
    features = [{"type": "Feature", "properties": {"code": f"E0100{i:04d}", "name": f"Rutland {i}"},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [LON + i * size, LAT], [LON + (i + 1) * size, LAT], [LON + (i + 1) * size, LAT + size],
                     [LON + i * size, LAT + size], [LON + i * size, LAT]]]}} for i in range(n)]
    path = folder / "areas.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def _osm(folder: Path, n: int) -> Path:
    nodes = [(i + 1, LON + i / 1000, LAT, {"amenity": "library", "name": f"Library {i}"}) for i in range(n)]
    path = folder / "extract.osm"
    path.write_text(osm_xml(nodes=nodes), encoding="utf-8")
    return path


def _oruk_service(data_dir: Path) -> dict:
    doc = json.loads((data_dir.parent / "schemas/openreferral-uk/examples/service_full.json").read_text())
    loc = doc["service_at_locations"][0]["location"]
    loc["latitude"], loc["longitude"] = LAT, LON  # the example's own (100, 101) is nowhere
    return doc


def _fresh(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    doc["id"] = str(uuid.uuid4())
    for sal in doc["service_at_locations"]:
        sal["id"] = str(uuid.uuid4())
    return doc


def _oruk(folder: Path, n: int) -> Path:
    service = _oruk_service(default_data_dir())  # the official example lives beside the real data
    path = folder / "services.json"
    path.write_text(json.dumps([_fresh(service) for _ in range(n)]))
    return path


@dataclass(frozen=True)
class Kind:
    write: Callable[[Path, int], Path]
    run: Callable[..., int]  # (engine, path, *, limits, dry_run, data_dir) → rows imported
    cli: tuple[str, ...]  # the command line, with {path} for the file
    unit: str  # what the error counts
    count: Callable  # the table whose rows an import adds


def _run_csv(engine, path, *, limits, dry_run, data_dir):
    mapping = CsvMapping(columns={"name": "Name", "lon": "Lon", "lat": "Lat"}, category="library")
    return import_csv(engine, region="rutland", path=path, mapping=mapping, data_dir=data_dir, dry_run=dry_run,
                      limits=limits).report.added


def _run_oruk(engine, path, *, limits, dry_run, data_dir):
    return import_oruk(engine, region="rutland", path=path, data_dir=data_dir, default_category="social_facility",
                       dry_run=dry_run, limits=limits).report.added


def _run_osm(engine, path, *, limits, dry_run, data_dir):
    return import_osm(engine, region="rutland", path=path, data_dir=data_dir, dry_run=dry_run, limits=limits).added


def _run_areas(engine, path, *, limits, dry_run, data_dir):
    return import_areas(engine, region="rutland", path=path, columns=AreaColumns(code="code", name="name"),
                        data_dir=data_dir, dry_run=dry_run, limits=limits).added


def _run_postcodes(engine, path, *, limits, dry_run, data_dir):
    return import_postcodes(engine, path=path, data_dir=data_dir, dry_run=dry_run, limits=limits).added


def _run_activities(engine, path, *, limits, dry_run, data_dir):
    return import_activities(engine, path=path, kind="opportunity", dry_run=dry_run, limits=limits).added


KINDS = {
    "csv": Kind(_csv_places, _run_csv, ("import", "csv", "{path}", "--region", "rutland", "--col", "name=Name",
                                        "--col", "lon=Lon", "--col", "lat=Lat", "--col", "category=library"),
                "rows", Place),
    "oruk": Kind(_oruk, _run_oruk, ("import", "oruk", "{path}", "--region", "rutland"), "ORUK documents", Place),
    "osm": Kind(_osm, _run_osm, ("import", "osm", "{path}", "--region", "rutland"), "candidate places", Place),
    "areas": Kind(_areas, _run_areas, ("import", "areas", "{path}", "--region", "rutland", "--code-col", "code",
                                       "--name-col", "name"), "areas", Area),
    "postcodes": Kind(_postcodes, _run_postcodes, ("import", "postcodes", "{path}"), "rows", Postcode),
    "activities": Kind(_activities, _run_activities, ("import", "activities", "{path}", "--kind", "opportunity"),
                       "rows", Opportunity),
}


def _pad(path: Path, size: int) -> Path:
    """Pad the file with trailing newlines (blank lines or JSON/XML whitespace) to exactly ``size`` bytes."""
    data = path.read_bytes()
    assert len(data) <= size
    path.write_bytes(data + b"\n" * (size - len(data)))
    return path


def _count(engine, table) -> int:
    with read_session(engine) as session:
        return session.exec(select(func.count()).select_from(table)).one()


def _assert_rows_message(message: str, path: Path, unit: str) -> None:
    assert message.startswith(f"{path.name} has more than {ROWS} {unit}; one import may hold at most {ROWS}")
    assert "nothing was imported" in message and "KINDMAP_MAX_IMPORT_ROWS" in message


def _assert_size_message(message: str, path: Path) -> None:
    assert message.startswith(f"{path.name} is 1.01 MiB (1,048,577 bytes); an import reads files of at most 1 MiB")
    assert "nothing was imported" in message and "KINDMAP_MAX_UPLOAD_MB" in message


# --- the limit checks themselves ------------------------------------------------------------------


def test_file_size_is_checked_before_reading(tmp_path):
    path = tmp_path / "exact.csv"
    path.write_bytes(b"name\n")
    _pad(path, MIB)
    assert check_file_size(path, max_mb=1) == MIB
    _pad(path, MIB + 1)
    with pytest.raises(PayloadTooLarge) as caught:
        check_file_size(path, max_mb=1)
    assert caught.value.status_code == 413
    _assert_size_message(caught.value.message, path)
    assert check_file_size(tmp_path / "missing.csv", max_mb=1) == 0  # the reader names a missing file itself


def test_rows_are_counted_as_read_and_nothing_past_the_first_extra_one_is_read():
    pulled: list[int] = []

    def rows(n):
        for i in range(n):
            pulled.append(i)
            yield i

    assert list(bounded_rows(rows(5), max_rows=5, what="list.csv")) == [0, 1, 2, 3, 4]
    pulled.clear()
    with pytest.raises(PayloadTooLarge) as caught:
        for _ in bounded_rows(rows(1000), max_rows=5, what="list.csv"):
            pass
    assert pulled == [0, 1, 2, 3, 4, 5]  # the sixth row was read, the other 994 never were
    assert caught.value.message.startswith("list.csv has more than 5 rows")


def test_limits_come_from_settings(tiny):
    assert ImportLimits.from_settings(tiny) == ImportLimits(max_upload_mb=1, max_rows=5)


# --- every import, called as a service ------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize("name", KINDS)
def test_one_row_over_the_limit_is_refused_and_changes_nothing(name, dry_run, tiny, engine, tmp_path, data_dir):
    kind = KINDS[name]
    path = kind.write(tmp_path, ROWS + 1)
    before = db_fingerprint(engine)
    with pytest.raises(PayloadTooLarge) as caught:
        kind.run(engine, path, limits=ImportLimits.from_settings(tiny), dry_run=dry_run, data_dir=data_dir)
    assert caught.value.status_code == 413
    _assert_rows_message(caught.value.message, path, kind.unit)
    assert db_fingerprint(engine) == before


@pytest.mark.parametrize("dry_run", [False, True], ids=["import", "dry-run"])
@pytest.mark.parametrize("name", KINDS)
def test_one_byte_over_the_size_limit_is_refused_and_changes_nothing(name, dry_run, tiny, engine, tmp_path, data_dir):
    kind = KINDS[name]
    path = _pad(kind.write(tmp_path, ROWS), MIB + 1)
    before = db_fingerprint(engine)
    with pytest.raises(PayloadTooLarge) as caught:
        kind.run(engine, path, limits=ImportLimits.from_settings(tiny), dry_run=dry_run, data_dir=data_dir)
    _assert_size_message(caught.value.message, path)
    assert db_fingerprint(engine) == before


@pytest.mark.parametrize("name", KINDS)
def test_at_both_limits_the_import_succeeds(name, tiny, engine, tmp_path, data_dir):
    kind = KINDS[name]
    path = _pad(kind.write(tmp_path, ROWS), MIB)  # exactly 1 MiB holding exactly 5 rows
    added = kind.run(engine, path, limits=ImportLimits.from_settings(tiny), dry_run=False, data_dir=data_dir)
    assert added == ROWS and _count(engine, kind.count) == ROWS


def test_oruk_counts_services_at_locations_too(tiny, engine, tmp_path, data_dir):
    # One document (within the limit) holding one service at six locations (over it).
    service = _oruk_service(data_dir)
    service["service_at_locations"] = [copy.deepcopy(service["service_at_locations"][0]) for _ in range(ROWS + 1)]
    path = tmp_path / "one-service.json"
    path.write_text(json.dumps(_fresh(service)))
    before = db_fingerprint(engine)
    with pytest.raises(PayloadTooLarge) as caught:
        _run_oruk(engine, path, limits=ImportLimits.from_settings(tiny), dry_run=False, data_dir=data_dir)
    _assert_rows_message(caught.value.message, path, "services at locations")
    assert db_fingerprint(engine) == before


def test_without_explicit_limits_an_import_reads_the_environment(engine, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("KINDMAP_MAX_IMPORT_ROWS", str(ROWS))
    path = _postcodes(tmp_path, ROWS + 1)
    with pytest.raises(PayloadTooLarge, match="KINDMAP_MAX_IMPORT_ROWS"):
        import_postcodes(engine, path=path, data_dir=data_dir)
    monkeypatch.delenv("KINDMAP_MAX_IMPORT_ROWS")
    assert import_postcodes(engine, path=path, data_dir=data_dir).added == ROWS + 1


def test_blank_lines_are_not_rows(tiny, engine, tmp_path, data_dir):
    path = tmp_path / "gappy.csv"
    path.write_text("Name,Lon,Lat\n\n" + "".join(f"Library {i},{LON + i / 1000:.4f},{LAT}\n\n\n" for i in range(ROWS)))
    assert _run_csv(engine, path, limits=ImportLimits.from_settings(tiny), dry_run=False, data_dir=data_dir) == ROWS


def test_a_region_import_obeys_the_settings(tiny, engine):
    # Rutland's rows of the national LSOA 2021 table are 26 small areas: over a limit of 5, so the region
    # import stops at its first file.
    before = db_fingerprint(engine)
    with pytest.raises(PayloadTooLarge) as caught:
        import_region(engine, settings=tiny, region="rutland")
    assert caught.value.message.startswith("lsoa21_england_wales.gpkg has more than 5 areas")
    assert db_fingerprint(engine) == before


# --- the CSV places reader streams: what it reports past the first 64 KiB ----------------------------


def test_a_bad_byte_far_into_a_streamed_file_is_reported_exactly(tmp_path):
    from kindmap.errors import DataError
    from kindmap.ingest.csv_places import read_csv_places

    head = "\ufeffName,Lon,Lat\n".encode() + b"".join(f"Library {i},{LON},{LAT}\n".encode() for i in range(4000))
    path = tmp_path / "latin.csv"
    path.write_bytes(head + "Caf\u00e9,-0.7,52.6\n".encode("cp1252"))  # é as one cp1252 byte, past the sample
    assert len(head) > 65536
    mapping = CsvMapping(columns={"name": "Name", "lon": "Lon", "lat": "Lat"}, category="library")
    with pytest.raises(DataError) as caught:
        read_csv_places(path, mapping=mapping)
    assert f"(byte {len(head) + 3}, line 4002: b'\\xe9')" in caught.value.message
    assert "--encoding cp1252" in caught.value.message


def test_a_cell_over_the_csv_field_limit_is_bad_input_not_a_crash(tmp_path):
    from kindmap.errors import DataError
    from kindmap.ingest.csv_places import read_csv_places

    path = tmp_path / "huge-cell.csv"
    path.write_text("Name,Lon,Lat\n\"" + "x" * 200_000 + "\",-0.7,52.6\n")
    with pytest.raises(DataError, match="huge-cell.csv is not a readable CSV file"):
        read_csv_places(path, mapping=CsvMapping(columns={"name": "Name"}, category="library"))


# --- every import, from the command line: exit code 2 with the message ---------------------------


def _cli(tiny, kind: Kind, path: Path, *extra: str):
    env = {"KINDMAP_DATABASE_URL": tiny.database_url, "KINDMAP_STATE_DIR": str(tiny.state_dir),
           "KINDMAP_DATA_DIR": str(tiny.data_dir), "KINDMAP_MAX_UPLOAD_MB": str(MB),
           "KINDMAP_MAX_IMPORT_ROWS": str(ROWS), "KINDMAP_MAX_EXTRACT_MB": str(MB)}
    get_settings.cache_clear()  # the CLI reads settings once per process
    try:
        return CliRunner().invoke(app, [a.format(path=path) for a in kind.cli] + list(extra), env=env)
    finally:
        get_settings.cache_clear()


def _error(output: str) -> str:
    """The message after ``error:`` (after any progress display), on one line."""
    assert "error: " in output, output
    return " ".join(output.split("error: ", 1)[1].split())


@pytest.mark.parametrize("name", KINDS)
def test_cli_refuses_too_many_rows_and_too_large_a_file_with_exit_2(name, tiny, engine, tmp_path):
    kind = KINDS[name]
    before = db_fingerprint(engine)
    long = kind.write(tmp_path, ROWS + 1)
    result = _cli(tiny, kind, long)
    assert result.exit_code == 2, result.output
    _assert_rows_message(_error(result.output), long, kind.unit)
    dry = _cli(tiny, kind, long, "--dry-run")
    assert dry.exit_code == 2 and "KINDMAP_MAX_IMPORT_ROWS" in dry.output
    large = _pad(kind.write(tmp_path, ROWS), MIB + 1)
    result = _cli(tiny, kind, large)
    assert result.exit_code == 2, result.output
    if name == "osm":  # an extract is clipped to the council as it streams: its own, larger limit
        message = _error(result.output)
        assert message.startswith(f"{large.name} is 1.01 MiB (1,048,577 bytes); an OSM extract may be at most 1 MiB")
        assert "nothing was imported" in message and "KINDMAP_MAX_EXTRACT_MB" in message
    else:
        _assert_size_message(_error(result.output), large)
    assert db_fingerprint(engine) == before


def test_cli_imports_a_file_at_the_limits(tiny, engine, tmp_path):
    kind = KINDS["csv"]
    result = _cli(tiny, kind, _pad(kind.write(tmp_path, ROWS), MIB))
    assert result.exit_code == 0, result.output
    assert "imported 5 new" in result.output and _count(engine, Place) == ROWS
    with read_session(engine) as session:
        assert len(session.exec(select(PlaceExtra)).all()) == ROWS


# --- the HTTP API ------------------------------------------------------------------------------


def test_api_takes_no_file_uploads_and_bounds_every_list_of_records(client):
    """No operation accepts an upload (imports run from the command line); every JSON array of
    objects in a request body has a published ``maxItems``, on top of the body-size cap."""
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        return node

    unbounded: list[str] = []

    def walk(node: dict, where: str, seen: frozenset[str]) -> None:
        ref = node.get("$ref")
        if ref in seen:
            return
        seen = seen | {ref} if ref else seen
        node = resolve(node)
        if node.get("type") == "array":
            items = resolve(node.get("items", {}))
            if (items.get("type") == "object" or "properties" in items) and "maxItems" not in node:
                unbounded.append(where)
            walk(node.get("items", {}), f"{where}[]", seen)
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                walk(option, where, seen)
        for name, prop in node.get("properties", {}).items():
            walk(prop, f"{where}.{name}", seen)

    bodies = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for ctype, content in op.get("requestBody", {}).get("content", {}).items():
                bodies += 1
                assert ctype in ("application/json", "application/x-www-form-urlencoded"), (method, path, ctype)
                walk(content.get("schema", {}), f"{method.upper()} {path}", frozenset())
    assert bodies > 5 and not unbounded, unbounded


def test_a_region_boundary_file_obeys_the_size_limit(tiny, engine, tmp_path, monkeypatch):
    from kindmap.db import write_session
    from kindmap.services.regions import add_region

    monkeypatch.setenv("KINDMAP_MAX_UPLOAD_MB", str(MB))
    feature = {"type": "Feature", "properties": {"pad": "x" * (MB * 1024 * 1024)},
               "geometry": {"type": "Polygon", "coordinates": [[[-0.8, 52.5], [-0.6, 52.5], [-0.6, 52.7], [-0.8, 52.5]]]}}
    path = tmp_path / "boundary.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    before = db_fingerprint(engine)
    with (pytest.raises(PayloadTooLarge, match=r"boundary.geojson is 1\.0\d MiB .*KINDMAP_MAX_UPLOAD_MB"),
          write_session(engine) as s):
        add_region(s, slug="testshire", name="Testshire", code=None, boundary=path)
    assert db_fingerprint(engine) == before
