"""The near-me hot path: answered from the in-memory index without touching the database while
the index is known current, yet never stale after a write; and the bbox area limit."""

import sqlite3
import time

import pytest
from pyproj import Geod
from sqlalchemy import event

from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery
from kindmap.models import Place, PlaceStatus, Postcode, Region
from kindmap.services.catalogue.index import CatalogCache
from kindmap.services.catalogue.search import (
    SearchQuery,
    bbox_area_km2,
    check_bbox,
    search_places,
)


@pytest.fixture
def seeded(engine):
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        for i in range(20):
            s.add(Place(name=f"Hall {i:02d}", category="community_centre", lon=-0.95 + i * 0.001, lat=52.05,
                        region_id=region.id, free_to_use=True, status=PlaceStatus.published))
        s.add(Postcode(postcode="TE1 1ST", lon=-0.95, lat=52.05))
    return engine


class Statements:
    """Counts SQL statements an engine runs."""

    def __init__(self, engine):
        self.n = 0
        self.engine = engine

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *_args):
        self.n += 1


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [f["properties"]["name"] for f in response.json()["features"]]


def test_near_me_reads_no_database_while_the_index_is_current(client, seeded):
    near = "/api/places?lon=-0.95&lat=52.05&radius_m=5000&limit=5"
    first = names(client.get(near))  # builds the index (queries the database)
    with Statements(seeded) as sql:
        for _ in range(5):
            assert names(client.get(near)) == first
        bbox = names(client.get("/api/places?bbox=-0.96,52.04,-0.94,52.06&limit=50"))
    assert sql.n == 0
    assert first == [f"Hall {i:02d}" for i in range(5)]
    assert len(bbox) == 11  # Hall 00 … Hall 10 lie within 0.01° east of -0.95


def test_a_write_in_this_process_is_seen_by_the_next_search(client, seeded):
    near = "/api/places?lon=-0.95&lat=52.05&radius_m=5000&limit=50"
    assert "Brand new hall" not in names(client.get(near))
    with write_session(seeded) as s:
        s.add(Place(name="Brand new hall", category="community_centre", lon=-0.9501, lat=52.0501))
    assert "Brand new hall" in names(client.get(near))
    with write_session(seeded) as s:
        s.get(Place, 1).status = PlaceStatus.closed
    assert "Hall 00" not in names(client.get(near))


@pytest.mark.sqlite_only
def test_a_write_by_another_process_is_seen_within_the_recheck_interval(engine, seeded, settings):
    """Another process's commit fires no event here: the index is re-checked after ``catalog_recheck_s``."""
    path = seeded.url.database
    cache = CatalogCache()
    query = SearchQuery(lon=-0.95, lat=52.05, radius_m=5000, limit=50)

    def found(recheck_s: float) -> list[str]:
        with read_session(seeded) as s:
            hits = search_places(s, query, settings=settings.model_copy(update={"catalog_recheck_s": recheck_s}),
                                 cache=cache).hits
        return [h.place.name for h in hits]

    assert "Hall 03" in found(60)
    with sqlite3.connect(path) as other:  # a different connection, outside SQLAlchemy: no commit event
        other.execute("UPDATE place SET status = 'closed', updated_at = '2100-01-01 00:00:00' WHERE name = 'Hall 03'")
    assert "Hall 03" in found(60)  # trusted for up to a minute: no query was made
    time.sleep(0.05)
    assert "Hall 03" not in found(0.01)  # past the interval: re-checked, rebuilt


def test_fast_path_and_session_path_agree(client, seeded):
    by_point = client.get("/api/places?lon=-0.95&lat=52.05&radius_m=5000&limit=7").json()
    by_postcode = client.get("/api/places?postcode=TE1%201ST&radius_m=5000&limit=7").json()  # needs the database
    assert by_point["features"] == by_postcode["features"]
    assert by_postcode["search"]["postcode"] == "TE1 1ST"


def test_bbox_area_matches_the_ellipsoid_within_half_a_percent():
    geod = Geod(ellps="WGS84")
    for box in [(-1.0, 52.0, 0.0, 53.0), (-5.4, 55.4, -4.5, 55.9), (10.0, -10.0, 12.0, 10.0)]:
        minx, miny, maxx, maxy = box
        area, _ = geod.polygon_area_perimeter([minx, maxx, maxx, minx], [miny, miny, maxy, maxy])
        assert bbox_area_km2(box) == pytest.approx(abs(area) / 1e6, rel=0.005)


def test_bbox_area_limit(client, seeded, settings):
    check_bbox((-1.0, 52.0, 0.0, 53.0), max_km2=8000)  # 1° × 1° at 52–53° N is ~7,530 km²
    with pytest.raises(InvalidQuery, match="covers 7,5.. km²; a search may cover at most 7,000 km²"):
        check_bbox((-1.0, 52.0, 0.0, 53.0), max_km2=7000)
    world = client.get("/api/places?bbox=-180,-90,180,90")
    assert world.status_code == 422
    assert "zoom in" in world.json()["detail"] and f"{settings.max_bbox_km2:,.0f} km²" in world.json()["detail"]
    assert client.get("/api/config").json()["max_bbox_km2"] == settings.max_bbox_km2
    assert client.get("/api/places?bbox=-2,51,0,53").status_code == 200  # a county-sized view is fine


def test_a_server_app_freezes_what_it_loaded_at_start_up(settings, engine):
    """Server processes (kindmap serve, asgi.py) move start-up objects out of the collector's reach;
    apps built for tests and scripts do not."""
    import gc

    from fastapi.testclient import TestClient

    from kindmap.api.app import create_app

    gc.unfreeze()
    try:
        with TestClient(create_app(settings, engine=engine)):
            assert gc.get_freeze_count() == 0
        with TestClient(create_app(settings, engine=engine, freeze_gc=True)) as c:
            assert gc.get_freeze_count() > 10_000  # the libraries, the app and the index
            assert c.get("/api/places?lon=-0.95&lat=52.05&limit=1").status_code == 200
    finally:
        gc.unfreeze()  # this test process goes on making and dropping apps


def _version(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT version FROM catalogue_version WHERE id = 1").scalar_one()


def test_every_write_to_place_bumps_the_catalogue_counter_even_raw_sql(engine, seeded):
    """Triggers, not application code, bump the counter: an ORM write, raw SQL that leaves updated_at alone, a delete."""
    v0 = _version(engine)
    with write_session(engine) as s:
        s.add(Place(name="New hall", category="community_centre", lon=-0.9, lat=52.0, status=PlaceStatus.published))
    v1 = _version(engine)
    assert v1 > v0
    with engine.begin() as conn:  # no updated_at change: the old count/max signature missed this one
        conn.exec_driver_sql("UPDATE place SET name = 'Renamed hall' WHERE name = 'New hall'")
    v2 = _version(engine)
    assert v2 > v1
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM place WHERE name = 'Renamed hall'")
    assert _version(engine) > v2
    with engine.begin() as conn:  # other tables leave it alone
        conn.exec_driver_sql("UPDATE region SET name = 'Testshire!'")
    assert _version(engine) > v2 and _version(engine) == _version(engine)


def test_a_raw_rename_by_another_process_is_seen(engine, seeded, settings):
    cache = CatalogCache()
    query = SearchQuery(lon=-0.95, lat=52.05, radius_m=5000, limit=50)
    with read_session(seeded) as s:
        assert "Hall 04" in [h.place.name for h in search_places(s, query, settings=settings, cache=cache).hits]
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE place SET name = 'Hall four' WHERE name = 'Hall 04'")
    quick = settings.model_copy(update={"catalog_recheck_s": 0.0})
    with read_session(seeded) as s:
        assert "Hall four" in [h.place.name for h in search_places(s, query, settings=quick, cache=cache).hits]


def test_concurrent_requests_in_the_stale_window_check_once(engine, seeded, monkeypatch):
    """However many requests arrive when the index needs re-checking, one runs the check; the rest use its answer."""
    import threading

    from kindmap.services.catalogue import index as catalogue_index

    cache = CatalogCache()
    with read_session(seeded) as s:
        first = cache.get(s, recheck_s=60)
    calls, real = [], catalogue_index._signature

    def slow_signature(session, tz):
        calls.append(1)
        time.sleep(0.2)  # a check on a busy database: the others arrive meanwhile
        return real(session, tz)

    monkeypatch.setattr(catalogue_index, "_signature", slow_signature)
    with write_session(engine) as s:  # a commit in this process: the next request must re-check
        s.add(Place(name="Another hall", category="community_centre", lon=-0.9, lat=52.0, status=PlaceStatus.published))
    got = []

    def request():
        with read_session(seeded) as s:
            got.append(cache.get(s, recheck_s=60))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(got) == 8 and len({id(i) for i in got}) == 1 and got[0] is not first
    assert "Another hall" in got[0].names
