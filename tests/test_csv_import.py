"""CSV place import: real UK library lists, presets, hours conversion, and each kind of bad input."""

from __future__ import annotations

import time

from sqlmodel import select
from typer.testing import CliRunner

from kindmap.cli import app
from kindmap.config import get_settings
from kindmap.db import read_session
from kindmap.ingest.csv_places import day_hours_to_osm, preset, read_csv_places
from kindmap.models import Place, PlaceExtra, PlaceStatus
from kindmap.services.imports.places import import_csv
from kindmap.services.regions import add_region
from tests.conftest import db_fingerprint
from tests.test_dedupe import copy_rutland

runner = CliRunner()


def _cli(settings, *args):
    env = {"KINDMAP_DATABASE_URL": settings.database_url, "KINDMAP_STATE_DIR": str(settings.state_dir),
           "KINDMAP_DATA_DIR": str(settings.data_dir)}
    get_settings.cache_clear()  # the CLI reads settings once per process; each test has its own database
    try:
        return runner.invoke(app, ["import", "csv", *map(str, args)], env=env)
    finally:
        get_settings.cache_clear()


def test_weekday_cells_become_osm_hours():
    assert day_hours_to_osm({"Mo": ["09:30-17:00", ""], "Tu": ["09:30-17:00"], "We": ["09:30-17:00"],
                             "Th": ["09:30-17:00"], "Fr": ["09:30-17:00"], "Sa": ["09:30-16:00"]}) == \
        ("Mo-Fr 09:30-17:00; Sa 09:30-16:00", True)
    # Staffed and unstaffed hours on one day are joined; a range to midnight is 24:00.
    assert day_hours_to_osm({"Mo": ["10:00-13:00,14:00-17:00", "17:00-19:00"], "Tu": ["10:00-00:00"]}) == \
        ("Mo 10:00-13:00,14:00-19:00; Tu 10:00-24:00", True)
    text, ok = day_hours_to_osm({"Mo": ["AM Only"], "Tu": ["09:00-12:00"]})
    assert (text, ok) == ("Mo AM Only; Tu 09:00-12:00", False)
    assert day_hours_to_osm({"Mo": [""]}) == (None, None)


def test_uk_schemas_list_reads_cleanly(data_dir):
    started = time.perf_counter()
    read = read_csv_places(data_dir / "uk/schemas__libraries.csv", mapping=preset("libraries-schema"))
    seconds = time.perf_counter() - started
    assert read.total_rows == 4231 and len(read.rows) == 4231 and not read.problems
    assert (read.hours_converted, read.hours_as_text) == (2955, 1)
    by_name = {r.values["name"]: r for r in read.rows}
    assert by_name["Airyhall Library"].values["opening_hours"] == \
        "Mo,We 09:00-19:00; Tu,Th,Fr 09:00-17:00; Sa 10:00-13:00,14:00-17:00"
    assert sum(1 for r in read.rows if r.values.get("status") == "closed") == 478
    print(f"schemas__libraries.csv: {len(read.rows)} rows read in {seconds:.2f} s")


def test_uk_schemas_list_for_one_council_geocodes_by_postcode(rutland, tmp_path, data_dir):
    settings, engine = copy_rutland(rutland, tmp_path)
    result = _cli(settings, data_dir / "uk/schemas__libraries.csv", "--region", "rutland", "--preset", "libraries-schema",
                  "--where", "Local authority=Rutland County Council", "--no-dedupe")
    assert result.exit_code == 0, result.output
    assert "4 new" in result.output and "4227 rows left out" in result.output
    with read_session(engine) as s:
        csv_places = s.exec(select(Place).where(Place.source == "csv")).all()
    assert sorted(p.postcode for p in csv_places) == ["LE15 6HW", "LE15 9QR", "PE9 3TE", "PE9 4HY"]


def test_england_2023_list_imports_whole(engine, data_dir, settings):
    with __import__("kindmap.db", fromlist=["write_session"]).write_session(engine) as s:
        add_region(s, slug="england", name="England", code=None, boundary=None)
    started = time.perf_counter()
    result = import_csv(engine, region="england", path=data_dir / "uk/libraries_england_2023_with_coordinates.csv",
                        mapping=preset("libraries-england-2023"), data_dir=data_dir)
    seconds = time.perf_counter() - started
    assert result.report.added == 3389 and not result.report.problems and result.filtered == 150
    assert (result.hours_converted, result.hours_as_text) == (0, 3024)  # bands like "AM Only" are kept as text
    with read_session(engine) as s:
        places = s.exec(select(Place)).all()
        assert s.exec(select(PlaceExtra)).all().__len__() == 3389
    assert sum(p.status == PlaceStatus.closed for p in places) == 348
    assert {p.category for p in places} == {"library", "museum_gallery"}
    # Band text never passes as OSM hours, except a week of "Closed", which OSM reads the same way.
    readable = [p.opening_hours for p in places if p.opening_hours and p.opening_hours_valid]
    assert all(set(rule.split(" ", 1)[1] for rule in h.split("; ")) == {"Closed"} for h in readable)
    print(f"england 2023: {len(places)} places in {seconds:.1f} s")


def _write(tmp_path, text, *, encoding="utf-8", name="list.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


COLS = ("--col", "name=Name", "--col", "lon=Lon", "--col", "lat=Lat", "--col", "postcode=Postcode", "--col", "category=library")


def test_wrong_encoding_is_refused_with_a_hint(rutland, tmp_path):
    settings, engine = copy_rutland(rutland, tmp_path)
    path = _write(tmp_path, "Name,Lon,Lat,Postcode\nCafé Rutland,-0.72,52.67,\n", encoding="cp1252")
    before = db_fingerprint(engine)
    result = _cli(settings, path, "--region", "rutland", *COLS)
    assert result.exit_code == 2 and "--encoding cp1252" in result.output and "line 2" in result.output
    assert db_fingerprint(engine) == before
    result = _cli(settings, path, "--region", "rutland", "--encoding", "cp1252", *COLS)
    assert result.exit_code == 0, result.output
    with read_session(engine) as s:
        assert s.exec(select(Place.name).where(Place.source == "csv")).all() == ["Café Rutland"], result.output


def test_semicolon_and_tab_delimiters_are_detected(rutland, tmp_path):
    settings, engine = copy_rutland(rutland, tmp_path)
    for i, sep in enumerate((";", "\t")):
        path = _write(tmp_path, f"Name{sep}Lon{sep}Lat{sep}Postcode\nHall {i}{sep}-0.72{sep}52.67{sep}\n", name=f"l{i}.csv")
        result = _cli(settings, path, "--region", "rutland", *COLS, "--source", f"csv{i}")
        assert result.exit_code == 0, result.output


def test_missing_columns_name_what_is_there(rutland, tmp_path):
    settings, _engine = copy_rutland(rutland, tmp_path)
    path = _write(tmp_path, "Title,Lon,Lat\nHall,-0.72,52.67\n")
    result = _cli(settings, path, "--region", "rutland", *COLS)
    assert result.exit_code == 2
    assert "missing column(s) 'Name', 'Postcode'" in result.output and "'Title'" in result.output


def test_row_problems_list_row_and_column_and_import_nothing(rutland, tmp_path):
    settings, engine = copy_rutland(rutland, tmp_path)
    path = _write(tmp_path, "Name,Lon,Lat,Postcode\nGood Hall,-0.72,52.67,\n,-0.72,52.67,\nFar Hall,-0.72,95,\n"
                            "Nowhere Hall,,,ZZ1 1ZZ\nLost Hall,,,\n")
    before = db_fingerprint(engine)
    result = _cli(settings, path, "--region", "rutland", *COLS)
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert "row 2, column 'Name': name is empty" in out
    assert "row 3, column 'Lat': 95.0 is out of range" in out
    assert "row 4, column 'Postcode': postcode ZZ1 1ZZ is not in kindmap's postcode list" in out
    assert "row 5, column 'Postcode': no coordinates and no postcode" in out
    assert db_fingerprint(engine) == before
    dry = _cli(settings, path, "--region", "rutland", *COLS, "--skip-invalid", "--dry-run")
    assert dry.exit_code == 0 and "would import 1 new" in dry.output and db_fingerprint(engine) == before
    result = _cli(settings, path, "--region", "rutland", *COLS, "--skip-invalid")
    assert result.exit_code == 0 and "1 new" in result.output and "4 rows skipped" in result.output


def test_formula_cells_are_plain_text_and_flagged(rutland, tmp_path):
    settings, engine = copy_rutland(rutland, tmp_path)
    path = _write(tmp_path, 'Name,Lon,Lat,Postcode,Phone\n"=HYPERLINK(""http://x"",""Hall"")",-0.72,52.67,,+44 1572 722577\n')
    result = _cli(settings, path, "--region", "rutland", *COLS, "--col", "phone=Phone")
    assert result.exit_code == 0, result.output
    assert "row 1, column 'Name': looks like a spreadsheet formula" in " ".join(result.output.split())
    assert "Phone" not in result.output.split("note:", 1)[1]  # a phone number is not a formula
    with read_session(engine) as s:
        place = s.exec(select(Place).where(Place.source == "csv")).one()
    assert place.name == '=HYPERLINK("http://x","Hall")' and place.phone == "+44 1572 722577"


def test_other_kinds_are_not_available_yet(rutland, tmp_path):
    settings, _engine = copy_rutland(rutland, tmp_path)
    path = _write(tmp_path, "Name,Lon,Lat,Postcode\nHall,-0.72,52.67,\n")
    for kind in ("opportunity", "support"):
        result = _cli(settings, path, "--region", "rutland", "--kind", kind, *COLS)
        assert result.exit_code == 2 and "not available yet" in result.output
    assert _cli(settings, path, "--region", "rutland", "--preset", "nope").exit_code == 2
