"""Search on tiny synthetic catalogues: order, radius, filters and open_at."""

from datetime import datetime

import numpy as np
import opening_hours
import pytest

from kindmap.db import read_session, write_session
from kindmap.errors import InvalidQuery, NotFound
from kindmap.geo.distance import haversine_m
from kindmap.models import Place, PlaceStatus, Postcode, Region
from kindmap.services.catalogue.index import CatalogCache
from kindmap.services.catalogue.search import SearchQuery, get_place, search_places

HOURS = ["Mo-Fr 09:00-17:00", "Sa 10:00-12:00", "24/7", None, "not real hours", "Tu,Th 14:00-16:00"]


@pytest.fixture
def catalogue(engine):
    rng = np.random.default_rng(3)
    with write_session(engine) as s:
        region = Region(slug="testshire", name="Testshire")
        s.add(region)
        s.flush()
        for i in range(300):
            s.add(Place(
                name=f"Place {i:03d}", category=["library", "park", "community_centre"][i % 3],
                lon=float(rng.uniform(-1.0, -0.9)), lat=float(rng.uniform(52.0, 52.1)), region_id=region.id,
                free_to_use=[True, False, None][(i // 3) % 3], wheelchair=["yes", "no", None][(i // 9) % 3],
                opening_hours=HOURS[i % len(HOURS)],
                status=PlaceStatus.closed if i == 5 else PlaceStatus.published,
            ))
        s.add(Postcode(postcode="TE1 1ST", lon=-0.95, lat=52.05))
    return engine


def _search(engine, **kw):
    with read_session(engine) as s:
        return search_places(s, SearchQuery(**kw), cache=CatalogCache())


def test_order_is_bruteforce_haversine_and_within_radius(catalogue):
    result = _search(catalogue, lon=-0.95, lat=52.05, radius_m=3000, limit=500)
    got = [h.place.id for h in result.hits]
    with read_session(catalogue) as s:
        places = [p for p in s.query(Place).all() if p.status == "published"]
    dist = {p.id: float(haversine_m(-0.95, 52.05, p.lon, p.lat)) for p in places}
    expected = sorted((i for i in dist if dist[i] <= 3000), key=lambda i: (dist[i], i))
    assert got == expected
    assert [round(h.distance_m, 3) for h in result.hits] == [round(dist[i], 3) for i in expected]


def test_closed_places_are_never_found(catalogue):
    ids = {h.place.id for h in _search(catalogue, limit=500).hits}
    assert 6 not in ids and len(ids) == 299
    with read_session(catalogue) as s, pytest.raises(NotFound):
        get_place(s, 6)


def test_filters(catalogue):
    result = _search(catalogue, lon=-0.95, lat=52.05, radius_m=20_000, categories=["library"], free=True, wheelchair=True, limit=500)
    assert result.hits
    for h in result.hits:
        assert h.place.category == "library" and h.place.free_to_use is True and h.place.wheelchair == "yes"


def test_open_at_agrees_with_opening_hours_py(catalogue):
    when = datetime(2026, 11, 24, 15, 0)  # a Tuesday afternoon
    result = _search(catalogue, open_at=when, limit=500)
    with read_session(catalogue) as s:
        places = [p for p in s.query(Place).all() if p.status == "published"]
    expected = set()
    for p in places:
        try:
            if p.opening_hours and opening_hours.OpeningHours(p.opening_hours).is_open(when):
                expected.add(p.id)
        except opening_hours.ParserError:
            pass
    assert {h.place.id for h in result.hits} == expected
    assert all(h.open is True for h in result.hits)


def test_postcode_search_and_errors(catalogue):
    result = _search(catalogue, postcode="te11st", radius_m=1000)
    assert result.postcode == "TE1 1ST" and (result.lon, result.lat) == (-0.95, 52.05)
    with pytest.raises(NotFound, match="TE9 9ZZ"):
        _search(catalogue, postcode="TE9 9ZZ")
    with pytest.raises(InvalidQuery, match="not a UK postcode"):
        _search(catalogue, postcode="hello")
    with pytest.raises(InvalidQuery, match="radius_m"):
        _search(catalogue, lon=0.0, lat=0.0, radius_m=-1)
    with pytest.raises(InvalidQuery, match="finite"):
        _search(catalogue, lon=float("nan"), lat=0.0)
    with pytest.raises(InvalidQuery, match="out of range"):
        _search(catalogue, lon=181.0, lat=0.0)
    with pytest.raises(InvalidQuery, match="unknown category"):
        _search(catalogue, categories=["pub"])
    with pytest.raises(InvalidQuery, match="not both"):
        _search(catalogue, postcode="TE1 1ST", lon=0.0, lat=0.0)


def test_index_is_rebuilt_when_catalogue_changes(catalogue):
    cache = CatalogCache()
    with read_session(catalogue) as s:
        first = cache.get(s)
        assert cache.get(s) is first
    with write_session(catalogue) as s:
        s.add(Place(name="New hall", category="community_centre", lon=-0.95, lat=52.05))
    with read_session(catalogue) as s:
        second = cache.get(s)
    assert second is not first and second.size == first.size + 1
