"""RFC 5545 schedules are bounded: a rule finer than daily is refused (API 422, import exit 2), next
occurrences are found from now without walking every occurrence since DTSTART, a rule that never
occurs answers "no upcoming" at once, and a bad rule never holds the write lock.

Each call that used to hang runs under ``within``: a thread joined with a timeout, so a regression
fails in seconds instead of stalling the suite. The bounds are generous; they catch hangs, not speed.
"""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta

import httpx
import pytest
from dateutil.rrule import rrulestr
from typer.testing import CliRunner

from kindmap.db import write_session
from kindmap.models.activities import Opportunity
from kindmap.services.catalogue.activities import next_on, occurrences

MINUTELY_1970 = "DTSTART:19700101T000000\nRRULE:FREQ=MINUTELY"
SECONDLY = "DTSTART:20250101T000000\nRRULE:FREQ=SECONDLY"
# Hangs these guard against lasted 90 s and more; 30 s leaves room for a loaded CI machine.
HANG_S = 30.0


def within(seconds: float, fn, *args, **kwargs):
    """``fn(*args)``, failing the test if it has not returned after ``seconds`` (it may keep running)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    started = time.perf_counter()
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{getattr(fn, '__name__', fn)} still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    box["seconds"] = time.perf_counter() - started
    return box["value"]


def _opp(schedule: str, minutes: int = 60) -> Opportunity:
    return Opportunity(title="t", lon=-0.72, lat=52.67, schedule_kind="rrule", schedule=schedule, duration_minutes=minutes)


def _admin(engine) -> dict[str, str]:
    from kindmap.services.accounts.auth import add_user, issue_token

    with write_session(engine) as s:
        user = add_user(s, email="admin@example.org", password="a long pass phrase 42", role="admin")
        raw, _ = issue_token(s, user, ttl=timedelta(hours=1))
    return {"Authorization": f"Bearer {raw}"}


def _body(schedule: str) -> dict:
    return {"title": "Too often", "lon": -0.72, "lat": 52.67, "schedule_kind": "rrule", "schedule": schedule}


# --------------------------------------------------------------------------- expansion


def test_a_daily_rule_from_1970_finds_its_next_occurrence():
    opp = _opp("DTSTART:19700101T093000\nRRULE:FREQ=DAILY")
    assert within(HANG_S, next_on, opp, datetime(2031, 5, 17, 12, 0)) == datetime(2031, 5, 18, 9, 30)
    assert within(HANG_S, next_on, opp, datetime(2031, 5, 17, 9, 0)) == datetime(2031, 5, 17, 9, 30)


@pytest.mark.parametrize("rule", [
    "DTSTART:19700101T093000\nRRULE:FREQ=DAILY;INTERVAL=3",
    "DTSTART:19700105T190000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
    "DTSTART:19710102T140000\nRRULE:FREQ=MONTHLY;BYDAY=1TH",
    "DTSTART:19700131T100000\nRRULE:FREQ=MONTHLY",  # only months with a 31st
    "DTSTART:19720229T100000\nRRULE:FREQ=YEARLY",  # leap days only
    "DTSTART:19700101T100000\nRRULE:FREQ=MONTHLY;INTERVAL=5;BYMONTHDAY=-1;BYHOUR=10,15",
    "DTSTART:19700102T100000\nRRULE:FREQ=WEEKLY;WKST=SU;INTERVAL=3;BYDAY=SU,SA;BYSETPOS=-1",
    "DTSTART:20240101T100000\nRRULE:FREQ=WEEKLY;BYDAY=TU;UNTIL=20280115T235959",
    "DTSTART:20250601T100000\nRRULE:FREQ=DAILY;COUNT=1000",
    "DTSTART:20250101T100000\nRRULE:FREQ=WEEKLY;BYDAY=WE\nEXDATE:20280105T100000,20280112T100000",
    "DTSTART;TZID=Europe/London:19900106T100000\nRRULE:FREQ=WEEKLY;BYDAY=SA",
    "DTSTART:19900106T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=SA",
])
def test_expansion_from_now_agrees_with_walking_from_dtstart(rule):
    start, end = datetime(2027, 12, 20, 8, 0), datetime(2028, 3, 1, 0, 0)  # holds a leap day
    got = [s for s, _e in within(HANG_S, occurrences, _opp(rule, 60), start, end)]
    reference = rrulestr(rule, forceset=True)
    first = reference[0]
    if first.tzinfo is not None:  # the reference walk in aware time, answered in naive London time
        from kindmap.localtime import localize, to_local_naive

        found = reference.between(localize(start - timedelta(minutes=60)), localize(end), inc=True)
        expected = [to_local_naive(s) for s in found]
    else:
        expected = reference.between(start - timedelta(minutes=60), end, inc=True)
    assert got == expected and got


@pytest.mark.parametrize("rule", [
    "DTSTART:20250101T100000\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "DTSTART:20250101T100000\nRRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",
    "DTSTART:20250101T100000\nRRULE:FREQ=YEARLY;BYMONTH=4;BYMONTHDAY=31",
    "DTSTART:19700101T000000\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=1,2,3",
])
def test_a_rule_that_never_occurs_has_no_upcoming_date(rule):
    assert within(HANG_S, next_on, _opp(rule), datetime(2025, 6, 1, 12, 0)) is None


def test_legacy_rows_finer_than_daily_are_still_answered_at_once():
    """Rows stored before the limit (or written past the API) are evaluated within the same bounds."""
    after = datetime(2025, 6, 1, 12, 0, 30)
    assert within(HANG_S, next_on, _opp(MINUTELY_1970), after) == datetime(2025, 6, 1, 12, 1)
    assert within(HANG_S, next_on, _opp(SECONDLY), after) == after
    spans = within(HANG_S, occurrences, _opp(MINUTELY_1970, 5), after, after + timedelta(days=365))
    assert 0 < len(spans) <= 500


def test_pages_showing_a_stored_bad_rule_answer_at_once(client, engine):
    """The reported hang: the listing and the place page evaluated the stored MINUTELY rule from 1970."""
    from kindmap.models.places import Place

    with write_session(engine) as s:
        place = Place(name="Hall", category="community_centre", lon=-0.72, lat=52.67, source="test")
        s.add(place)
        s.flush()
        s.add(Opportunity(title="Every minute", place_id=place.id, lon=-0.72, lat=52.67, schedule_kind="rrule",
                          schedule=MINUTELY_1970, duration_minutes=60))
        place_id = place.id
    listed = within(HANG_S, client.get, "/api/opportunities", params={"lon": -0.72, "lat": 52.67})
    assert listed.status_code == 200 and listed.json()[0]["next_on"] is not None
    assert within(HANG_S, client.get, "/api/opportunities", params={"windows": "Mon 10:00-12:00"}).status_code == 200
    page = within(HANG_S, client.get, f"/places/{place_id}")
    assert page.status_code == 200 and "Every minute" in page.text


# --------------------------------------------------------------------------- refused where they enter


@pytest.mark.parametrize(("schedule", "words"), [
    (MINUTELY_1970, "FREQ=MINUTELY"),
    (SECONDLY, "FREQ=SECONDLY"),
    ("DTSTART:20250101T000000\nRRULE:FREQ=HOURLY;INTERVAL=2", "FREQ=HOURLY"),
    ("DTSTART:20250101T000000\nRRULE:FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12;BYMINUTE=0,30", "24 start"),
    ("DTSTART:20250101T000000\nRRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "never occurs"),
    ("DTSTART:20250101T000000\nRRULE:FREQ=DAILY;COUNT=100000", "COUNT"),
    ("DTSTART:18000101T000000\nRRULE:FREQ=WEEKLY", "DTSTART"),
])
def test_the_api_refuses_rules_finer_than_daily_and_others_it_cannot_bound(client, engine, schedule, words):
    admin = _admin(engine)
    r = within(HANG_S, client.post, "/api/opportunities", json=_body(schedule), headers=admin)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "schedule: " in detail and words in detail, detail
    assert client.get("/api/opportunities").json() == []


def test_the_import_refuses_them_row_by_row_with_exit_2(settings, engine, tmp_path, monkeypatch):
    from kindmap.cli import app as cli_app
    from kindmap.config import get_settings

    path = tmp_path / "acts.csv"
    path.write_text("title,schedule,lon,lat\n"
                    "Weekly walk,DTSTART:20250104T100000\\nRRULE:FREQ=WEEKLY;BYDAY=SA,-0.72,52.67\n"
                    "Every minute,DTSTART:19700101T000000\\nRRULE:FREQ=MINUTELY,-0.72,52.67\n"
                    "Every second,DTSTART:20250101T000000\\nRRULE:FREQ=SECONDLY,-0.72,52.67\n"
                    "Never,DTSTART:20250101T000000\\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,-0.72,52.67\n",
                    encoding="utf-8")
    monkeypatch.setenv("KINDMAP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KINDMAP_STATE_DIR", str(settings.state_dir))
    get_settings.cache_clear()
    try:
        run = within(HANG_S * 2, CliRunner().invoke, cli_app, ["import", "activities", str(path), "--kind", "opportunity"])
    finally:
        get_settings.cache_clear()
    assert run.exit_code == 2, run.output
    text = " ".join(run.output.split())
    for row, words in ((2, "FREQ=MINUTELY"), (3, "FREQ=SECONDLY"), (4, "never occurs")):
        assert f"row {row}, column 'schedule'" in text and words in text, text
    assert "row 1," not in text


def test_oruk_schedules_are_mapped_as_text_never_expanded():
    from kindmap.ingest.oruk import schedules_to_osm
    from kindmap.services.standards.oruk.activities import rrule_schedules

    docs = within(HANG_S, rrule_schedules, MINUTELY_1970, duration_minutes=60, service_id="s")
    assert [d.get("freq") for d in docs] == [None] and "FREQ=MINUTELY" in docs[0]["description"]
    minutely = [{"freq": "MINUTELY", "byday": "MO", "opens_at": "09:00", "closes_at": "10:00"}]
    assert within(HANG_S, schedules_to_osm, minutely) is None


# --------------------------------------------------------------------------- the write lock


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_bad_rule_never_holds_up_an_anonymous_contribution(settings, engine):
    """Through a real server: while the bad opportunity is handled, a public suggestion is still answered
    (before the fix it waited behind the bad rule's write transaction for as long as the rule was walked)."""
    import uvicorn

    from kindmap.api.app import create_app
    from kindmap.api.server import HTTP_PROTOCOL

    admin = _admin(engine)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, engine=engine), host="127.0.0.1", port=port,
                                          http=HTTP_PROTOCOL, ws="none", log_config=None, access_log=False,
                                          timeout_graceful_shutdown=1))
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    url = f"http://127.0.0.1:{port}"
    answers: dict = {}

    def post_bad() -> None:
        answers["bad"] = httpx.post(f"{url}/api/opportunities", json=_body(MINUTELY_1970), headers=admin, timeout=300)

    try:
        bad = threading.Thread(target=post_bad, daemon=True)
        bad.start()
        time.sleep(0.5)  # the bad request is in hand (before the fix: inside its write transaction)
        try:
            r = httpx.post(f"{url}/api/contributions/suggestions", json={"name": "Green Shed", "category": "community_cafe", "address": "1 High Street"},
                           timeout=HANG_S)
        except httpx.TimeoutException:
            pytest.fail(f"the suggestion had no answer within {HANG_S} s")
        assert r.status_code == 202, r.text
        bad.join(HANG_S)
        assert not bad.is_alive(), "the bad opportunity had no answer"
        assert answers["bad"].status_code == 422 and "FREQ=MINUTELY" in answers["bad"].json()["detail"]
    finally:
        server.should_exit = True
        serving.join(10)
