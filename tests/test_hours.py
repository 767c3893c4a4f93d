"""Opening hours: the slot index must give exactly opening-hours-py's answers."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, time, timedelta
from functools import cache

import numpy as np
import opening_hours
import osmium
import pytest

from kindmap.config import default_data_dir
from kindmap.errors import InvalidQuery
from kindmap.hours import HoursIndex, Window, check_hours, parse_windows, to_local_naive

RUTLAND_PBF = default_data_dir() / "rutland/rutland-2022-11.osm.pbf"

TRICKY = [
    "24/7",
    "Mo-Fr 09:00-17:00; PH off",
    "Sa 10:00-12:00",
    "Mo 09:05-11:55",
    "Apr-Sep: Mo-Su 08:00-20:00; Oct-Mar: Mo-Su 08:00-16:00",
    "Fr 22:00-02:00",
    "Mo-Fr 09:00-17:00 unknown; Sa 10:00-12:00",
    "sunrise-sunset",
    "Mo-Fr 08:00-12:00,13:00-17:30; Sa 09:00-12:00; Su off",
    "Dec 25 off; Mo-Su 10:00-16:00",
    "whenever",
    "",
    None,
]
STATE = {opening_hours.State.OPEN: 1, opening_hours.State.CLOSED: 0, opening_hours.State.UNKNOWN: -1}


@cache
def rutland_strings() -> tuple[str, ...]:
    """Distinct ``opening_hours`` values in the real Rutland OSM extract."""
    if not RUTLAND_PBF.exists():
        pytest.skip(f"real data not found at {RUTLAND_PBF}")
    seen: set[str] = set()
    processor = osmium.FileProcessor(str(RUTLAND_PBF)).with_filter(osmium.filter.KeyFilter("opening_hours"))
    for obj in processor:
        seen.add(obj.tags["opening_hours"])
    return tuple(sorted(seen))


def all_strings() -> list[str | None]:
    return [*rutland_strings(), *TRICKY]


def expected_state(text: str | None, when: datetime) -> int:
    """The reference answer, straight from opening-hours-py."""
    if not text:
        return -1
    try:
        parsed = opening_hours.OpeningHours(text)
    except opening_hours.ParserError:
        return -1
    return STATE[parsed.state(when)[0]]


def random_times(rng: random.Random, lo: datetime, hi: datetime, n: int) -> list[datetime]:
    span = int((hi - lo).total_seconds() // 60)
    return [lo + timedelta(minutes=rng.randrange(span), seconds=rng.choice([0, 0, 0, 17])) for _ in range(n)]


def test_rutland_strings_are_real_and_valid() -> None:
    strings = rutland_strings()
    assert len(strings) >= 20
    assert all(check_hours(s).valid for s in strings)


@pytest.mark.parametrize("slot_minutes", [5, 15])
def test_state_and_open_at_match_opening_hours_inside_and_outside_horizon(slot_minutes: int) -> None:
    strings = all_strings()
    start = datetime(2024, 3, 4)  # spans the spring clock change and the Apr-Sep season switch
    index = HoursIndex(strings, start=start, horizon_days=56, slot_minutes=slot_minutes)
    rng = random.Random(slot_minutes)
    inside = random_times(rng, index.start, index.end, 300)
    outside = random_times(rng, start - timedelta(days=200), start, 60) + random_times(
        rng, index.end, index.end + timedelta(days=300), 60
    )
    parsed = {s: s for s in strings}
    for when in inside + outside + [index.start, index.end, index.end - timedelta(seconds=1)]:
        want = np.array([expected_state(parsed[s], when) for s in strings], dtype=np.int8)
        np.testing.assert_array_equal(index.state_at(when), want, err_msg=str(when))
        np.testing.assert_array_equal(index.open_at(when), want == 1, err_msg=str(when))
        # a few items' states, looked up one string at a time, are the same
        some = np.array(rng.sample(range(len(strings)), min(12, len(strings))))
        np.testing.assert_array_equal(index.states_of(index.codes(some), when), want[some], err_msg=str(when))


def test_default_horizon_starts_this_week_and_matches() -> None:
    strings = all_strings()
    index = HoursIndex(strings)
    now = to_local_naive(datetime.now(UTC))
    assert index.start.weekday() == 0 and index.start <= now < index.end
    for when in random_times(random.Random(7), index.start, index.end, 100):
        want = [expected_state(s, when) for s in strings]
        assert index.state_at(when).tolist() == want


def test_items_share_parses_and_invalid_is_unknown() -> None:
    hours = ["Mo-Fr 09:00-17:00"] * 1000 + ["whenever", None, "", "24/7"] * 10
    index = HoursIndex(hours, start=datetime(2024, 1, 1))
    assert index.n_distinct == 2 and len(index) == 1040
    state = index.state_at(datetime(2024, 1, 3, 10, 0))
    assert state[:1000].tolist() == [1] * 1000
    assert state[1000:1003].tolist() == [-1, -1, -1] and state[1003] == 1


def test_aware_times_are_converted_to_local() -> None:
    index = HoursIndex(["Sa 10:00-12:00"], start=datetime(2024, 7, 1))
    # 09:30 UTC on a summer Saturday is 10:30 BST.
    assert index.open_at(datetime(2024, 7, 6, 9, 30, tzinfo=UTC)).tolist() == [True]
    assert index.open_at(datetime(2024, 7, 6, 9, 30)).tolist() == [False]
    assert to_local_naive(datetime(2024, 1, 6, 9, 30, tzinfo=UTC)) == datetime(2024, 1, 6, 9, 30)


def brute_force_open_during(text: str | None, spans: list[tuple[datetime, datetime]]) -> bool:
    if not text:
        return False
    try:
        parsed = opening_hours.OpeningHours(text)
    except opening_hours.ParserError:
        return False
    for a, b in spans:
        t = a
        while t < b:
            if parsed.is_open(t):
                return True
            t += timedelta(minutes=1)
    return False


@pytest.mark.parametrize(
    ("windows", "week_of"),
    [
        ("Mo 10:00-12:00,Th 14:00-16:00", datetime(2024, 3, 13)),
        ("Sa 09:30-12", datetime(2024, 4, 10)),
        ("Mo 11:50-11:58", datetime(2024, 3, 20)),  # inside a mixed slot of "Mo 09:05-11:55"
        ("Fr 23:00-24:00, Sa 01:00-01:30", datetime(2024, 3, 6)),
        ("Su 17:00-19:00", datetime(2024, 3, 31)),  # clocks change that day
        ("We 06:00-07:00", datetime(2024, 9, 11)),  # outside the horizon
        ("Tu 12:00-12:01", datetime(2023, 12, 25)),  # before the horizon
    ],
)
def test_open_during_matches_minute_scan(windows: str, week_of: datetime) -> None:
    strings = all_strings()
    index = HoursIndex(strings, start=datetime(2024, 3, 4), slot_minutes=5)
    parsed = parse_windows(windows)
    monday = datetime(week_of.year, week_of.month, week_of.day) - timedelta(days=week_of.weekday())
    spans = [
        (
            monday + timedelta(days=w.weekday, minutes=w.start_minute),
            monday + timedelta(days=w.weekday, minutes=w.end_minute),
        )
        for w in parsed
    ]
    want = [brute_force_open_during(s, spans) for s in strings]
    assert index.open_during(parsed, week_of=week_of).tolist() == want


def test_open_during_default_uses_next_occurrence() -> None:
    index = HoursIndex(["24/7", "Mo-Su 00:00-00:01", "2001 Mo 10:00-12:00", None])
    result = index.open_during([Window(d, time(0, 0), time.max) for d in range(7)])
    assert result.tolist() == [True, True, False, False]


def test_next_open_and_weekly_hours() -> None:
    hours = ["Sa 10:00-12:00", "24/7", "Mo 09:05-11:55", "2001 Mo 10:00-12:00", "whenever", "Fr 22:00-02:00"]
    index = HoursIndex(hours, start=datetime(2024, 3, 4))
    after = datetime(2024, 3, 5, 12, 0)
    assert index.next_open(0, after) == datetime(2024, 3, 9, 10, 0)
    assert index.next_open(1, after) == after
    assert index.next_open(2, after) == datetime(2024, 3, 11, 9, 5)
    assert index.next_open(3, after) is None
    assert index.next_open(4, after) is None
    assert index.next_open(0, datetime(2030, 1, 1)) == datetime(2030, 1, 5, 10, 0)  # far outside the horizon
    assert index.weekly_open_hours(0) == pytest.approx(2.0)
    assert index.weekly_open_hours(1) == pytest.approx(168.0)
    assert index.weekly_open_hours(2) == pytest.approx(170 / 60)
    assert index.weekly_open_hours(5) == pytest.approx(4.0)
    assert math.isnan(index.weekly_open_hours(4))


def test_next_open_remembered_per_string_equals_asking_afresh() -> None:
    """Each string keeps its last next opening; asked at any later or earlier time, in any order,
    the answers are those of an index that never saw a question before."""
    strings = all_strings()
    start = datetime(2024, 3, 4)
    rng = random.Random(5)
    index = HoursIndex(strings, start=start)
    times = random_times(rng, start - timedelta(days=3), start + timedelta(days=20), 150)
    times += sorted(random_times(rng, start, start + timedelta(days=2), 150))  # a morning's searches, in order
    for when in times:
        i = rng.randrange(len(strings))
        fresh = HoursIndex(strings[i:i + 1], start=start)
        assert index.next_open(i, when) == fresh.next_open(0, when), (strings[i], when)


def test_seasonal_weekly_hours_average_the_year() -> None:
    index = HoursIndex(["Apr-Sep: Mo-Su 08:00-20:00; Oct-Mar: Mo-Su 08:00-16:00"], start=datetime(2024, 1, 1))
    assert 56 < index.weekly_open_hours(0) < 84


def test_check_hours() -> None:
    assert check_hours(None) == check_hours("") == check_hours("  ")
    assert check_hours(None).valid and check_hours(None).error is None
    assert check_hours("Mo-Fr 09:00-17:00; PH off").valid
    bad = check_hours("whenever")
    assert not bad.valid and "whenever" in bad.error and "\n" not in bad.error
    assert not check_hours("Mo-Fr 09:00-17:00; Sa 10:00-1x").valid
    assert "255" in check_hours("Mo 10:00-12:00;" * 30).error


def test_public_holidays_are_not_known_by_default() -> None:
    # Documented behaviour: no country is given, so "PH off" never closes.
    index = HoursIndex(["Mo-Fr 09:00-17:00; PH off"], start=datetime(2024, 12, 23))
    assert index.open_at(datetime(2024, 12, 25, 10, 0)).tolist() == [True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mon 10:00-12:00,Thu 14:00-16:00", [(0, time(10), time(12)), (3, time(14), time(16))]),
        ("Mo 10:00-12:00", [(0, time(10), time(12))]),
        ("Monday 10:00-12:00", [(0, time(10), time(12))]),
        ("Sa 09:30-12", [(5, time(9, 30), time(12))]),
        ("Sa 09:30-12:00, 14:00-16:00", [(5, time(9, 30), time(12)), (5, time(14), time(16))]),
        ("sa 9-12,Sa 14-16", [(5, time(9), time(12)), (5, time(14), time(16))]),
        ("Su 18:00-24:00", [(6, time(18), time.max)]),
        ("Fr-Mo 10-11", [(d, time(10), time(11)) for d in (4, 5, 6, 0)]),
        ("  tue  08:15 – 09:45 ", [(1, time(8, 15), time(9, 45))]),
    ],
)
def test_parse_windows_good(text: str, expected: list[tuple[int, time, time]]) -> None:
    assert parse_windows(text) == [Window(*w) for w in expected]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("Mox 10:00-12:00", "'mox' is not a day"),
        ("10:00-12:00", "has no day"),
        ("Mo 12:00-10:00", "ends before it starts"),
        ("Mo 10:00-10:00", "ends before it starts"),
        ("Mo 25:00-26:00", "'25:00' is not a time"),
        ("Mo 10:61-11:00", "'10:61' is not a time"),
        ("Mo 24:00-24:00", "'24:00' is not a time"),
        ("Mo 10:00", "is not 'day start-end'"),
        ("Mo 10:00-12:00,,Tu 10-12", "empty item"),
        (",".join(["Mo-Su 10-11"] * 10), "more than"),
    ],
)
def test_parse_windows_bad(text: str, why: str) -> None:
    with pytest.raises(InvalidQuery) as info:
        parse_windows(text)
    assert why in info.value.message
    assert "Mon 10:00-12:00,Thu 14:00-16:00" in info.value.message


def test_index_options_are_validated() -> None:
    with pytest.raises(InvalidQuery):
        HoursIndex([], slot_minutes=7)
    assert HoursIndex([]).state_at(datetime(2024, 1, 1)).shape == (0,)


def test_distinct_states_looked_up_per_item_equal_state_at():
    """Search looks up only its candidates' states (cost per distinct string); the answers are state_at's."""
    from datetime import datetime, timedelta

    from kindmap.hours import HoursIndex

    hours = ["Mo-Fr 09:00-17:00", None, "Sa 10:05-11:55", "not hours", "24/7", "Mo-Fr 09:00-17:00", "off", "Su unknown"] * 7
    index = HoursIndex(hours, start=datetime(2026, 2, 2))
    for k in range(0, 24 * 9, 5):
        when = datetime(2026, 2, 2) + timedelta(hours=k, minutes=7)
        states = index.distinct_states(when)
        assert np.array_equal(states[index.codes(slice(None))], index.state_at(when))
        picked = np.array([3, 0, 17, 40])
        assert np.array_equal(states[index.codes(picked)], index.state_at(when)[picked])
