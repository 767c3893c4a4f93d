"""Region manifests name the real files exactly, and ensure_file verifies or fetches them."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kindmap.config import default_data_dir
from kindmap.errors import DataError, NotFound
from kindmap.ingest import manifest as manifest_mod
from kindmap.ingest.manifest import (
    ManifestFile,
    ensure_file,
    known_regions,
    load_manifest,
    sha256_of,
)

DATA_DIR = default_data_dir()
needs_data = pytest.mark.skipif(not (DATA_DIR / "rutland").is_dir(), reason=f"real data not at {DATA_DIR}")


def all_entries() -> list[tuple[str, ManifestFile]]:
    return [(slug, f) for slug in known_regions() for f in load_manifest(slug).files]


def test_known_regions() -> None:
    assert {"rutland", "north-ayrshire", "uk"} <= set(known_regions())


@needs_data
@pytest.mark.parametrize(("slug", "entry"), all_entries(), ids=lambda v: v if isinstance(v, str) else v.path)
def test_every_manifest_file_exists_and_matches(slug: str, entry: ManifestFile) -> None:
    path = DATA_DIR / entry.path
    assert path.is_file(), f"{slug}: {path} missing"
    assert path.stat().st_size == entry.bytes
    assert sha256_of(path) == entry.sha256
    assert ensure_file(entry, data_dir=DATA_DIR) == path
    if entry.url:
        assert entry.url.startswith("https://raw.githubusercontent.com/") and " " not in entry.url
    else:
        assert "no single download" in entry.origin.lower() or "derived" in entry.origin.lower()


@needs_data
def test_column_mappings_name_real_columns() -> None:
    import csv

    import pyogrio

    for _slug, entry in all_entries():
        path = DATA_DIR / entry.path
        if not entry.columns:
            continue
        if path.suffix == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                names = set(next(csv.reader(fh)))
        else:
            names = set(pyogrio.read_info(path, layer=entry.options.get("layer"))["fields"])
        assert set(entry.columns.values()) <= names, (entry.path, set(entry.columns.values()) - names)
        if entry.role == "areas":
            # The national LSOA 2021 table adds the deprivation score, the index and method per row and the ward.
            national = {"score", "index_name", "method", "ward_code", "ward_name"}
            assert set(entry.columns) - national == {"code", "name", "rank", "decile", "population", "households"}
            assert entry.options["index_name"] in {"IMD 2025", "SIMD 2020"}
            assert entry.options["kind"] in {"LSOA 2021", "Data zone 2011"}
        if entry.role == "postcodes":
            assert set(entry.columns) == {"postcode", "lon", "lat", "area_code"}


def test_region_metadata_and_roles() -> None:
    rutland = load_manifest("rutland")
    assert (rutland.code, rutland.nation, rutland.timezone) == ("E06000017", "England", "Europe/London")
    assert rutland.file("osm").path == "rutland/rutland-2022-11.osm.pbf"
    assert rutland.file("areas").options["index_name"] == "IMD 2025"
    assert (rutland.file("areas").path, rutland.file("areas").options["council_column"]) == ("uk/lsoa21_england_wales.gpkg", "ltla24cd")
    assert len(rutland.files_for("isochrones")) == 4
    north = load_manifest("north-ayrshire")
    assert (north.code, north.file("areas").options["kind"]) == ("S12000021", "Data zone 2011")
    with pytest.raises(DataError, match="'osm'"):
        north.file("osm")
    with pytest.raises(DataError, match="4 'isochrones'"):
        rutland.file("isochrones")


def test_unknown_region_lists_known_ones() -> None:
    with pytest.raises(NotFound) as info:
        load_manifest("atlantis")
    assert "atlantis" in info.value.message
    for slug in ("rutland", "north-ayrshire", "uk"):
        assert slug in info.value.message
    with pytest.raises(NotFound):
        load_manifest("../regions/rutland")


def test_invalid_manifest_is_a_data_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    regions = tmp_path / "regions"
    regions.mkdir()
    good = json.loads((manifest_mod._regions_dir() / "rutland.json").read_text(encoding="utf-8"))
    good["files"][0]["path"] = "../../etc/passwd"
    (regions / "evil.json").write_text(json.dumps(good), encoding="utf-8")
    monkeypatch.setattr(manifest_mod, "project_geodata_dir", lambda: tmp_path)
    with pytest.raises(DataError, match="files/0/path"):
        load_manifest("evil")


# --------------------------------------------------------------------------- ensure_file


def make_entry(payload: bytes, *, path: str = "region/thing.csv", url: str | None = None) -> ManifestFile:
    return ManifestFile(
        role="reference",
        path=path,
        sha256=hashlib.sha256(payload).hexdigest(),
        bytes=len(payload),
        licence="OGL-UK-3.0",
        attribution="test",
        origin="Derived by joining A and B (no single download)",
        url=url,
        columns={},
        options={},
    )


class QuietServer(http.server.ThreadingHTTPServer):
    """Clients that hang up early (the oversize test) are expected; don't print tracebacks."""

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server on 127.0.0.1 serving files from a temporary folder."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@needs_data
def test_tampered_file_is_named(tmp_path: Path) -> None:
    entry = load_manifest("rutland").file("boundary")
    copy = tmp_path / entry.path
    copy.parent.mkdir(parents=True)
    shutil.copyfile(DATA_DIR / entry.path, copy)
    assert ensure_file(entry, data_dir=tmp_path) == copy
    data = bytearray(copy.read_bytes())
    data[100] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(DataError) as info:
        ensure_file(entry, data_dir=tmp_path)
    message = info.value.message
    assert str(copy) in message and entry.sha256 in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert entry.origin in message  # the boundary is derived: say where its pieces come from


def test_download_verifies_and_renames(tmp_path: Path, server: tuple[str, Path]) -> None:
    base, root = server
    payload = b"postcode,lon,lat\nLE15 6HP,-0.72,52.67\n" * 1000
    (root / "file with space.csv").write_bytes(payload)
    entry = make_entry(payload, url=f"{base}/file%20with%20space.csv")
    seen: list[tuple[int, int]] = []
    data_dir = tmp_path / "data"
    got = ensure_file(entry, data_dir=data_dir, progress=lambda done, total: seen.append((done, total)))
    assert got == data_dir / entry.path and got.read_bytes() == payload
    assert seen and seen[-1] == (len(payload), len(payload))
    assert [p.name for p in got.parent.iterdir()] == ["thing.csv"]
    assert ensure_file(entry, data_dir=data_dir) == got  # already there: verified, not fetched


def test_download_with_wrong_bytes_leaves_nothing(tmp_path: Path, server: tuple[str, Path]) -> None:
    base, root = server
    (root / "x.csv").write_bytes(b"not what the manifest says")
    entry = make_entry(b"the real file contents!!!!", url=f"{base}/x.csv")
    data_dir = tmp_path / "data"
    with pytest.raises(DataError) as info:
        ensure_file(entry, data_dir=data_dir)
    assert entry.sha256 in info.value.message and "nothing was saved" in info.value.message
    assert list((data_dir / "region").iterdir()) == []


def test_download_larger_than_expected_is_cut_off(tmp_path: Path, server: tuple[str, Path]) -> None:
    base, root = server
    (root / "big.bin").write_bytes(b"x" * 5_000_000)
    entry = make_entry(b"small", url=f"{base}/big.bin")
    with pytest.raises(DataError, match="larger than"):
        ensure_file(entry, data_dir=tmp_path)
    assert list((tmp_path / "region").iterdir()) == []


def test_http_error_says_what_to_fetch(tmp_path: Path, server: tuple[str, Path]) -> None:
    base, _root = server
    entry = make_entry(b"abc", url=f"{base}/missing.csv")
    with pytest.raises(DataError) as info:
        ensure_file(entry, data_dir=tmp_path)
    assert entry.url in info.value.message and str(tmp_path / entry.path) in info.value.message


def test_unreachable_url_says_what_to_fetch_and_where(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/rutland.osm.pbf"
    entry = make_entry(b"abc", path="rutland/rutland.osm.pbf", url=url)
    with pytest.raises(DataError) as info:
        ensure_file(entry, data_dir=tmp_path, timeout_s=2)
    message = info.value.message
    assert url in message and str(tmp_path / "rutland/rutland.osm.pbf") in message
    assert entry.sha256 in message
    assert list((tmp_path / "rutland").iterdir()) == []


def test_missing_derived_file_names_its_origin(tmp_path: Path) -> None:
    entry = make_entry(b"abc")
    with pytest.raises(DataError) as info:
        ensure_file(entry, data_dir=tmp_path)
    assert entry.origin in info.value.message and str(tmp_path / entry.path) in info.value.message


def test_hash_is_cached_per_path_size_and_mtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"hello")
    first = sha256_of(path)
    calls = []
    real = hashlib.sha256
    monkeypatch.setattr(manifest_mod.hashlib, "sha256", lambda *a: calls.append(1) or real(*a))
    assert sha256_of(path) == first and not calls
    path.write_bytes(b"hello, world")  # new size (and mtime): hashed again
    assert sha256_of(path) != first and calls


def test_manifest_file_is_frozen() -> None:
    entry = make_entry(b"abc")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.path = "elsewhere"  # type: ignore[misc]
