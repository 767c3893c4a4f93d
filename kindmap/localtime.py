"""Local time: aware datetimes to the naive wall clock that opening hours are evaluated in,
and back to aware local times (with their UTC offset) for the wire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def to_local_naive(when: datetime, *, tz: str = "Europe/London") -> datetime:
    """Aware datetimes are converted to ``tz`` and made naive; naive ones are taken as already local."""
    if when.tzinfo is None or when.utcoffset() is None:
        return when
    return when.astimezone(ZoneInfo(tz)).replace(tzinfo=None)


def localize(when: datetime | None, tz: str = "Europe/London") -> datetime | None:
    """A wire-ready aware local time in ``tz`` (wall clock plus its UTC offset); ``None`` stays ``None``.

    Naive values are read as wall-clock time in ``tz`` (as ``kindmap.hours.HoursIndex`` returns them);
    aware ones are converted to ``tz``. Around clock changes the naive wall clock is read with
    ``fold=0``: an ambiguous time (autumn, 01:30 happens twice) is the first, summer-time one
    (``+01:00`` in London); a time that does not exist (spring, 01:30 is skipped) is read with the
    offset before the change and comes out as the real instant after it (02:30+01:00), so the
    result is always a valid local time in ``tz``.
    """
    if when is None:
        return None
    zone = ZoneInfo(tz)
    if when.tzinfo is None or when.utcoffset() is None:
        when = when.replace(tzinfo=zone, fold=0)
    # Via UTC: astimezone() to the datetime's own zone would return it unchanged (gap times too).
    return when.astimezone(UTC).astimezone(zone)


def now_local(tz: str) -> datetime:
    return to_local_naive(datetime.now(UTC), tz=tz)


def week_start(when: datetime) -> datetime:
    """Monday 00:00 of the week containing ``when`` (naive local)."""
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())
