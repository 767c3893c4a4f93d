"""Local times on the wire carry the UTC offset in force then: +00:00 in a London winter, +01:00 in summer.

Opening hours are evaluated on naive local wall-clock time inside; every response field that
holds such a time (next_open, open_at, next_on) leaves through ``kindmap.hours.localize``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kindmap.config import ATTRIBUTION
from kindmap.db import read_session, write_session
from kindmap.hours import localize
from kindmap.models import Place, PlaceStatus
from kindmap.models.activities import Opportunity
from kindmap.schemas import place_collection
from kindmap.services.catalogue.activities import opportunity_public
from kindmap.services.catalogue.index import CatalogCache
from kindmap.services.catalogue.search import SearchQuery, search_places

LONDON = ZoneInfo("Europe/London")
WINTER_TUESDAY = datetime(2026, 11, 24, 12, 0)  # naive local, GMT
SUMMER_TUESDAY = datetime(2026, 7, 7, 12, 0)  # naive local, BST
SATURDAY_BEFORE_THE_CLOCKS_GO_FORWARD = datetime(2026, 3, 28, 12, 0)  # GMT now; BST from Sunday 29 March 01:00


def test_localize_gives_the_offset_in_force_at_that_wall_clock_time():
    assert localize(datetime(2026, 11, 23, 10), "Europe/London").isoformat() == "2026-11-23T10:00:00+00:00"
    assert localize(datetime(2026, 7, 6, 10), "Europe/London").isoformat() == "2026-07-06T10:00:00+01:00"
    # Aware times are converted, not relabelled.
    assert localize(datetime(2026, 7, 6, 9, tzinfo=UTC), "Europe/London").isoformat() == "2026-07-06T10:00:00+01:00"
    assert localize(datetime(2026, 7, 6, 10), "America/New_York").isoformat() == "2026-07-06T10:00:00-04:00"
    assert localize(None, "Europe/London") is None


def test_localize_at_the_clock_changes_uses_fold_0_and_always_names_a_real_local_time():
    # Autumn: 01:30 happens twice; fold=0 is the first, still in summer time.
    assert localize(datetime(2026, 10, 25, 1, 30), "Europe/London").isoformat() == "2026-10-25T01:30:00+01:00"
    # Spring: 01:30 never happens; read with the winter offset it is the instant 02:30 BST.
    gap = localize(datetime(2026, 3, 29, 1, 30), "Europe/London")
    assert gap.isoformat() == "2026-03-29T02:30:00+01:00"
    assert gap == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # Every result round-trips through the zone unchanged: a real wall-clock time there.
    for hour in range(24):
        for day in (datetime(2026, 3, 29), datetime(2026, 10, 25)):
            value = localize(day + timedelta(hours=hour, minutes=30), "Europe/London")
            assert value.astimezone(UTC).astimezone(LONDON).isoformat() == value.isoformat()


@pytest.fixture
def mondays(engine):
    """Two published places, each open only on Monday mornings."""
    with write_session(engine) as s:
        for n, hours in enumerate(["Mo 10:00-11:00", "Mo 10:00-11:00; PH off"]):
            s.add(Place(name=f"Monday hall {n}", category="community_centre", lon=-0.72 + n / 1000, lat=52.67,
                        opening_hours=hours, status=PlaceStatus.published, source="test",
                        imported_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC)))
    return engine


def _collection_json(engine, settings, *, now: datetime, **query) -> dict:
    with read_session(engine) as s:
        result = search_places(s, SearchQuery(**query), settings=settings, cache=CatalogCache(), now=now)
    return json.loads(place_collection(result, attribution=ATTRIBUTION).model_dump_json())


@pytest.mark.parametrize(("now", "expected"), [
    (WINTER_TUESDAY, "2026-11-30T10:00:00+00:00"),
    (SUMMER_TUESDAY, "2026-07-13T10:00:00+01:00"),
    # The offset in force when it opens, not now: the Saturday is GMT, the Monday after is BST.
    (SATURDAY_BEFORE_THE_CLOCKS_GO_FORWARD, "2026-03-30T10:00:00+01:00"),
])
def test_next_open_in_search_results_carries_its_offset(mondays, settings, now, expected):
    for when in (now, localize(now, settings.timezone), localize(now, settings.timezone).astimezone(UTC)):
        body = _collection_json(mondays, settings, now=when, lon=-0.72, lat=52.67, radius_m=2000)
        assert [f["properties"]["next_open"] for f in body["features"]] == [expected, expected], when


@pytest.mark.parametrize(("open_at", "shown", "is_open"), [
    ("2026-11-23T10:30:00", "2026-11-23T10:30:00+00:00", True),  # naive: read as local time
    ("2026-07-06T10:30:00", "2026-07-06T10:30:00+01:00", True),
    ("2026-07-06T09:30:00Z", "2026-07-06T10:30:00+01:00", True),  # aware: converted to local time
    ("2026-07-06T09:30:00", "2026-07-06T09:30:00+01:00", False),
    ("2026-11-23T11:30:00+01:00", "2026-11-23T10:30:00+00:00", True),
])
def test_open_at_is_read_as_local_or_converted_and_answered_with_its_offset(client, mondays, open_at, shown, is_open):
    r = client.get("/api/places", params={"open_at": open_at, "lon": -0.72, "lat": 52.67, "radius_m": 2000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["search"]["open_at"] == shown
    assert [f["properties"]["open"] for f in body["features"]] == ([True, True] if is_open else [])


def test_name_search_answers_open_at_with_its_offset(client, mondays):
    for open_at, shown in [("2026-07-06T10:30", "2026-07-06T10:30:00+01:00"),
                           ("2026-11-23T10:30:00Z", "2026-11-23T10:30:00+00:00")]:
        r = client.get("/api/places/search", params={"q": "monday hall", "open_at": open_at})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["search"]["open_at"] == shown
        assert [f["properties"]["open"] for f in body["features"]] == [True, True]


def test_place_details_next_open_has_the_offset_of_its_own_date(client, mondays):
    with read_session(mondays) as s:
        place_id = s.query(Place).first().id
    r = client.get(f"/api/places/{place_id}")
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    when = datetime.fromisoformat(props["next_open"])  # from the real clock: the offset of that date
    assert when.utcoffset() == LONDON.utcoffset(when.replace(tzinfo=None))
    assert when.weekday() == 0 and 10 <= when.hour < 11
    # A recorded instant (stored in UTC, handed back naive by SQLite) is sent as UTC with its offset.
    assert props["imported_at"] == "2026-01-05T09:00:00+00:00"


def test_a_naive_time_reaching_the_schema_is_localized_not_sent_bare(mondays):
    """place_collection still takes naive local times from older callers without crashing."""
    from kindmap.services.catalogue.search import Hit, SearchResult

    def next_open(when, **tz):
        result = SearchResult([Hit(place, None, False, next_open=when)], None, None, None, None, None, 1)
        feature = place_collection(result, attribution="", **tz).features[0]
        return json.loads(feature.model_dump_json())["properties"]["next_open"]

    with read_session(mondays) as s:
        place = s.query(Place).first()
        summer, winter = next_open(datetime(2026, 7, 13, 10)), next_open(datetime(2026, 11, 30, 10))
        elsewhere = next_open(datetime(2026, 7, 13, 10), tz="America/New_York")
    assert elsewhere == "2026-07-13T10:00:00-04:00"
    assert summer == "2026-07-13T10:00:00+01:00"
    assert winter == "2026-11-30T10:00:00+00:00"


def test_opportunity_next_on_carries_its_offset(engine):
    with write_session(engine) as s:
        s.add(Opportunity(title="Monday walk", lon=-0.72, lat=52.67, schedule_kind="opening_hours",
                          schedule="Mo 10:00-11:00", status="published"))
    with read_session(engine) as s:
        row = s.query(Opportunity).first()
        summer = opportunity_public(s, row, now=SUMMER_TUESDAY, tz="Europe/London")
        winter = opportunity_public(s, row, now=localize(WINTER_TUESDAY, "Europe/London"), tz="Europe/London")
    summer_on = datetime.fromisoformat(json.loads(summer.model_dump_json())["next_on"])
    winter_on = datetime.fromisoformat(json.loads(winter.model_dump_json())["next_on"])
    assert (summer_on.replace(tzinfo=None), summer_on.utcoffset()) == (datetime(2026, 7, 13, 10), timedelta(hours=1))
    assert (winter_on.replace(tzinfo=None), winter_on.utcoffset()) == (datetime(2026, 11, 30, 10), timedelta(0))


def test_the_openapi_documents_local_times_as_date_time_with_an_offset(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    fields = [("PlaceSummary", "next_open"), ("PlaceDetails", "next_open"), ("SearchInfo", "open_at"),
              ("Recommendation", "next_on")]
    for model, field in fields:
        found = [v for k, v in schemas.items() if k == model or k.startswith(model + "-")]
        assert found, model
        for schema in found:
            prop = schema["properties"][field]
            assert {"type": "string", "format": "date-time"} in prop["anyOf"], (model, field)
            assert "UTC offset" in prop["description"], (model, field)
