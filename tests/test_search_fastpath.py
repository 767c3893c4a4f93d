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
from kindmap.schemas import PlaceCollection, place_collection_json
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


# --------------------------------------------------------------------------- candidates first
# A near-me search masks only the places within its radius (found by the KD-tree), and the index
# keeps columns instead of one object per place. The straightforward path below filters every
# place of the catalogue with the whole-catalogue hours arrays and orders by haversine metres;
# both must give the same places, order, distances, open states, totals and facts.

def _random_catalogue(engine, n: int = 400, seed: int = 11):
    import random

    rng = random.Random(seed)
    hours = ["Mo-Fr 09:00-17:00", "Mo-Sa 10:00-16:00", "Tu,Th 18:00-21:00", "Sa,Su 10:00-16:00",
             "Mo-Su 09:05-11:55", "not hours at all", None]
    cats = ["library", "community_centre", "place_of_worship", "community_cafe"]
    with write_session(engine) as s:
        for i in range(n):
            s.add(Place(name=f"Hall {rng.randrange(60):02d}", category=rng.choice(cats),  # repeated names: ties
                        lon=-0.95 + rng.uniform(-0.08, 0.08), lat=52.05 + rng.uniform(-0.05, 0.05),
                        free_to_use=rng.choice([True, False, None]), drop_in=rng.choice([True, False, None]),
                        wheelchair=rng.choice(["yes", "limited", "no", None]), step_free=rng.choice([True, None]),
                        quiet_space=rng.choice([True, False, None]), opening_hours=rng.choice(hours),
                        other_names=rng.choice([None, "The Old Hall"]),
                        status=rng.choice([PlaceStatus.published] * 5 + [PlaceStatus.closed])))


def _straightforward(index, q, *, now):
    """Every place checked: (positions in order, metres or None, open state, total, facts)."""
    import numpy as np

    from kindmap.geo.distance import haversine_m
    from kindmap.services.catalogue.facts import count_facts

    n = index.size
    cards = [index.card(i) for i in range(n)]
    keep = np.ones(n, dtype=bool)
    if q.categories:
        keep &= np.array([c.category in q.categories for c in cards])
    if q.bbox is not None:
        minx, miny, maxx, maxy = q.bbox
        keep &= np.array([minx <= c.lon <= maxx and miny <= c.lat <= maxy for c in cards])
    when = q.open_at or now
    states = index.hours.state_at(when)  # one state per place
    during = index.hours.open_during(q.windows, now=now) if q.windows else None
    if q.lon is None:
        near = sorted(np.flatnonzero(keep), key=lambda i: (cards[i].name, i))
        metres = {}
    else:
        d = haversine_m(q.lon, q.lat, index.lon, index.lat)
        near = sorted((i for i in np.flatnonzero(keep & (d <= q.radius_m))), key=lambda i: (d[i], i))
        metres = {i: d[i] for i in near}
    near = np.asarray(near, dtype=np.int64)

    def tri(v):
        return -1 if v is None else int(bool(v))

    def ok(value, wanted):
        return value == int(wanted) or (q.include_unknown and value == -1)

    shown = []
    for i in near:
        c = cards[i]
        wc = -1 if c.wheelchair is None else int(c.wheelchair == "yes")
        values = {"free": tri(c.free_to_use), "drop_in": tri(c.drop_in), "wheelchair": wc,
                  "step_free": tri(c.step_free), "quiet": int(index.quiet[i])}
        if not all(ok(values[k], w) for k, w in (("free", q.free), ("drop_in", q.drop_in), ("wheelchair", q.wheelchair),
                                                  ("step_free", q.step_free), ("quiet", q.quiet)) if w is not None):
            continue
        if q.open_at is not None and not (states[i] == 1 or (q.include_unknown and states[i] == -1)):
            continue
        if during is not None and not (during[i] or (q.include_unknown and not index.hours.known()[i])):
            continue
        shown.append(i)
    # the facts: the same counting, given whole-catalogue arrays re-expressed per distinct string
    distinct = index.hours.distinct_states(when) if q.open_at is not None else None
    d_during = index.hours.distinct_open_during(q.windows, now=now) if q.windows else None
    facts = count_facts(index, near, q, states=distinct, during=d_during)
    return ([int(index.ids[i]) for i in shown[: q.limit]], [metres.get(i) for i in shown[: q.limit]],
            [None if states[i] < 0 else bool(states[i]) for i in shown[: q.limit]], len(shown), facts, near)


def test_near_me_on_candidates_equals_filtering_the_whole_catalogue(engine, settings):
    import random
    from datetime import datetime, time as clock

    import numpy as np

    from kindmap.hours import Window

    _random_catalogue(engine)
    rng = random.Random(4)
    now = datetime(2026, 12, 8, 10, 30)
    cache = CatalogCache()
    with read_session(engine) as s:
        index = cache.get(s)
        assert index.size > 300
        checked = 0
        for k in range(160):
            q = SearchQuery(limit=rng.choice([5, 50, 500]), include_unknown=rng.random() < 0.3)
            if k % 8:  # one in eight lists everything by name
                q.lon, q.lat = -0.95 + rng.uniform(-0.06, 0.06), 52.05 + rng.uniform(-0.04, 0.04)
                q.radius_m = rng.choice([300.0, 1500.0, 5000.0])
            if rng.random() < 0.3:
                q.categories = rng.sample(["library", "community_centre", "place_of_worship", "community_cafe"], 2)
            for name in ("free", "drop_in", "wheelchair", "step_free", "quiet"):
                if rng.random() < 0.2:
                    setattr(q, name, rng.random() < 0.7)
            if rng.random() < 0.3:
                q.open_at = now.replace(hour=rng.choice([9, 10, 12, 19, 22]), minute=rng.choice([0, 30]))
            elif rng.random() < 0.2:
                q.windows = [Window(rng.randrange(7), clock(9, 0), clock(11, 0))]
            if rng.random() < 0.2:
                q.bbox = (-1.0, 52.02, -0.93, 52.07)
            got = search_places(s, q, settings=settings, cache=cache, now=now)
            ids, metres, states, total, facts, near = _straightforward(index, q, now=now)
            assert [h.place.id for h in got.hits] == ids, q
            assert got.total == total and got.facts == facts, q
            assert [h.open for h in got.hits] == states
            for h, m in zip(got.hits, metres):
                assert (h.distance_m is None and m is None) or h.distance_m == pytest.approx(m, abs=1e-6)
            # the wire bytes built from plain dicts are exactly what the PlaceCollection model makes of them
            wire = place_collection_json(got, attribution="© test", tz=settings.timezone)
            assert PlaceCollection.model_validate_json(wire).model_dump_json().encode() == wire, q
            checked += total
        assert checked > 1000  # the queries found places, not only empty answers


def test_index_cards_equal_the_place_rows(engine):
    """The index's columns give back each published place's public summary exactly."""
    from sqlmodel import select

    _random_catalogue(engine, n=120, seed=3)
    with read_session(engine) as s:
        index = CatalogCache().get(s)
        rows = s.exec(select(Place).where(Place.status == PlaceStatus.published).order_by(Place.id)).all()
        assert [c.id for c in index.cards] == [p.id for p in rows]
        for card, p in zip(index.cards, rows):
            assert (card.name, card.category, card.lon, card.lat, card.free_to_use, card.drop_in, card.step_free,
                    card.opening_hours, card.other_names) == (p.name, p.category, p.lon, p.lat, p.free_to_use,
                                                              p.drop_in, p.step_free, p.opening_hours, p.other_names)
            assert card.wheelchair == getattr(p.wheelchair, "value", p.wheelchair)


# --------------------------------------------------------------------------- the map view from the cell grid
# A map view (bbox, no point) takes its places from the index's cell grid, and its clusters from
# per-level cell summaries when no filter applies; both must equal filtering every place.

def _random_box(rng):
    x0, x1 = sorted(rng.uniform(-1.05, -0.85) for _ in range(2))
    y0, y1 = sorted(rng.uniform(51.98, 52.12) for _ in range(2))
    return (x0, y0, x1, y1)


def test_map_view_list_from_the_cell_grid_equals_filtering_every_place(engine, settings):
    import random

    _random_catalogue(engine)
    rng = random.Random(7)
    now = __import__("datetime").datetime(2026, 12, 8, 10, 30)
    cache = CatalogCache()
    with read_session(engine) as s:
        index = cache.get(s)
        found = 0
        for k in range(80):
            q = SearchQuery(limit=rng.choice([5, 50, 500]), include_unknown=rng.random() < 0.3, bbox=_random_box(rng))
            if k % 10 == 0:  # a view with nothing in it, and one holding the whole catalogue
                q.bbox = (-0.5, 51.0, -0.4, 51.1) if k % 20 else (-180.0, -90.0, 180.0, 90.0)
            if rng.random() < 0.3:
                q.categories = ["library", "community_cafe"]
            if rng.random() < 0.3:
                q.free = rng.random() < 0.7
            got = search_places(s, q, settings=settings.model_copy(update={"max_bbox_km2": 1e9}), cache=cache, now=now)
            ids, _metres, states, total, facts, _near = _straightforward(index, q, now=now)
            assert [h.place.id for h in got.hits] == ids, q
            assert got.total == total and got.facts == facts and [h.open for h in got.hits] == states, q
            found += total
        assert found > 1000


def _reference_clusters(index, q, *, zoom, now):
    """Every place checked, then grid_clusters: the straightforward path."""
    import numpy as np

    from kindmap.geo.clusters import grid_clusters
    from kindmap.services.catalogue.facts import time_mask
    from kindmap.services.catalogue.search import filter_mask

    keep = filter_mask(index, q)
    if q.open_at is not None:
        keep &= time_mask(index, q, states=index.hours.distinct_states(q.open_at), during=None)
    sel = np.flatnonzero(keep)
    return int(sel.size), grid_clusters(index.lon[sel], index.lat[sel], index.ids[sel], zoom=zoom)


def test_map_view_clusters_from_cell_summaries_equal_clustering_every_place(engine, settings):
    import random
    from datetime import datetime

    from kindmap.services.catalogue.mapview import clusters_in_view

    _random_catalogue(engine)
    with write_session(engine) as s:  # off the Mercator square and on the antimeridian: checked one by one
        s.add(Place(name="North", category="library", lon=10.0, lat=88.0, status=PlaceStatus.published))
        s.add(Place(name="Date line", category="library", lon=180.0, lat=52.05, status=PlaceStatus.published))
    rng = random.Random(9)
    now = datetime(2026, 12, 8, 10, 30)
    summaries = filtered = 0
    with read_session(engine) as s:
        from kindmap.services.catalogue.index import DEFAULT_CACHE

        index = DEFAULT_CACHE.get(s, tz=settings.timezone)
        for k in range(150):
            zoom = rng.randrange(0, 23)
            q = SearchQuery(bbox=_random_box(rng), include_unknown=rng.random() < 0.3)
            if k % 15 == 0:
                q.bbox, zoom = (-180.0, -90.0, 180.0, 90.0), rng.randrange(0, 4)
            if rng.random() < 0.3:
                q.categories = rng.sample(["library", "community_centre", "place_of_worship", "community_cafe"], 2)
            if rng.random() < 0.2:
                q.free = rng.random() < 0.7
            if rng.random() < 0.2:
                q.open_at = now.replace(hour=rng.choice([9, 12, 19]))
            try:
                total, cells = clusters_in_view(s, q, zoom=zoom, open_now=False, settings=settings)
            except InvalidQuery as e:  # a wide box at a deep zoom: more cells than a screen
                assert "lower the zoom or make the bbox smaller" in str(e)
                continue
            ref_total, ref = _reference_clusters(index, q, zoom=zoom, now=now)
            assert total == ref_total, q
            assert [(c.count, c.id, c.bbox) for c in cells] == [(c.count, c.id, c.bbox) for c in ref], (q, zoom)
            if q.categories or q.free is not None or q.open_at:
                assert cells == ref  # places checked one by one, then clustered as the straightforward path does
            for a, b in zip(cells, ref):  # a summary's mean adds in another order: equal to the rounding
                assert abs(a.lon - b.lon) <= 1.1e-6 and abs(a.lat - b.lat) <= 1.1e-6
            filtered += bool(q.categories or q.free is not None or q.open_at)
            summaries += not (q.categories or q.free is not None or q.open_at)
        assert filtered > 20 and summaries > 20


def test_map_view_costs_are_bounded_with_a_message_saying_what_to_change(client, seeded, monkeypatch):
    from kindmap.services.catalogue import index as catalogue_index
    from kindmap.services.catalogue import search

    deep = client.get("/api/places/clusters?bbox=-2,51,0,53&zoom=18")
    assert deep.status_code == 422 and "lower the zoom or make the bbox smaller" in deep.json()["detail"]
    assert client.get("/api/places/clusters?bbox=-180,-85,180,85&zoom=1").status_code == 200
    monkeypatch.setattr(catalogue_index, "MAX_PLACES_LOOKED_AT", 5)
    monkeypatch.setattr(search, "MAX_PLACES_LOOKED_AT", 5)
    from kindmap.services.catalogue import mapview

    monkeypatch.setattr(mapview, "MAX_PLACES_LOOKED_AT", 5)
    view = "bbox=-0.96,52.04,-0.94,52.06"
    listed = client.get(f"/api/places?{view}")
    assert listed.status_code == 422 and "zoom in, or search near a postcode or point" in listed.json()["detail"]
    every = client.get("/api/places")
    assert every.status_code == 422 and "give a bbox, a postcode, or lon and lat" in every.json()["detail"]
    filtered = client.get(f"/api/places/clusters?{view}&zoom=12&free=true")
    assert filtered.status_code == 422 and "clear the filters" in filtered.json()["detail"]
    plain = client.get(f"/api/places/clusters?{view}&zoom=12")  # cells wholly in view answer from their summaries
    assert plain.status_code == 200 and plain.json()["total"] == 11


def test_cell_grid_on_a_few_points():
    import numpy as np

    from kindmap.geo.cellgrid import CellGrid

    lon = np.array([-0.5, -0.5, -0.25, 179.0, 180.0, 0.0])
    lat = np.array([52.0, 52.0, 51.5, -40.0, 10.0, 89.0])
    grid = CellGrid(lon, lat)
    assert sorted(grid.odd) == [4, 5]  # lon 180 and lat 89 lie off the Mercator square
    assert sorted(grid.in_box((-1, 51, 1, 53), max_points=10)) == [0, 1, 2]
    assert sorted(grid.in_box((-180, -90, 180, 90), max_points=10)) == [0, 1, 2, 3, 4, 5]
    assert sorted(grid.in_box((-0.5, 52.0, -0.5, 52.0), max_points=10)) == [0, 1]  # edges included
    total, cells = grid.clusters((-1, 51, 1, 53), zoom=3, ids=np.arange(6) + 100, max_points=10)
    assert total == 3 and [(c.count, c.id, c.bbox) for c in cells] == [(3, None, (-0.5, 51.5, -0.25, 52.0))]
    total, cells = grid.clusters((-1, 51, 1, 53), zoom=12, ids=np.arange(6) + 100, max_points=10)
    assert [(c.count, c.id, c.lon) for c in cells] == [(2, None, -0.5), (1, 102, -0.25)]
    with pytest.raises(InvalidQuery, match="holds 6 places, more than the 5"):
        grid.in_box((-180, -90, 180, 90), max_points=5)


def test_near_me_is_served_by_the_lean_route_and_the_documented_one_adds_nothing(client):
    """GET /api/places is answered by a plain Starlette route placed first; the FastAPI route of the same
    endpoint (kept for the OpenAPI document) declares no dependencies or parameters that route would skip."""
    from fastapi.routing import APIRoute
    from starlette.routing import Match, Route

    from kindmap.api.routes.places import list_places, search_router

    app = client.app
    scope = {"type": "http", "method": "GET", "path": "/api/places", "root_path": ""}
    first = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
    assert isinstance(first, Route) and not isinstance(first, APIRoute) and first.endpoint is list_places
    documented = [r for r in search_router.routes if isinstance(r, APIRoute) and r.path == "/api/places"]
    assert len(documented) == 1 and documented[0].endpoint is list_places and not search_router.dependencies
    dependant = documented[0].dependant
    assert not (dependant.dependencies or dependant.query_params or dependant.path_params
                or dependant.header_params or dependant.cookie_params or dependant.body_params)
    assert documented[0].dependencies == [] and not app.router.dependencies
    # and the OpenAPI document still describes it, with its parameters
    params = {p["name"] for p in client.get("/openapi.json").json()["paths"]["/api/places"]["get"]["parameters"]}
    assert {"lon", "lat", "radius_m", "postcode", "bbox", "limit"} <= params
    body = client.get("/api/places?lon=-0.95&lat=52.05&radius_m=5000&limit=3")
    assert body.status_code == 200 and body.headers["content-security-policy"]
    assert client.get("/api/places?lon=200&lat=52").status_code == 422  # errors as before
