"""Free-time windows ("Mon 10:00-12:00,Thu 14:00-16:00"): parsing, and their next occurrences."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from kindmap.errors import InvalidQuery
from kindmap.localtime import now_local, to_local_naive, week_start

MAX_WINDOWS = 64
_WINDOWS_EXAMPLE = "'Mon 10:00-12:00,Thu 14:00-16:00'"

_DAY_NAMES = {
    0: ("mo", "mon", "monday"),
    1: ("tu", "tue", "tues", "tuesday"),
    2: ("we", "wed", "weds", "wednesday"),
    3: ("th", "thu", "thur", "thurs", "thursday"),
    4: ("fr", "fri", "friday"),
    5: ("sa", "sat", "saturday"),
    6: ("su", "sun", "sunday"),
}
_DAYS = {name: day for day, names in _DAY_NAMES.items() for name in names}
_ITEM = re.compile(
    r"^(?:(?P<day>[a-z]+)(?:\s*[-–]\s*(?P<day_to>[a-z]+))?\s+)?"
    r"(?P<start>\d{1,2}(?::\d{2})?)\s*[-–]\s*(?P<end>\d{1,2}(?::\d{2})?)$"
)


DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Window:
    """A weekly time window in local time: ``weekday`` 0 = Monday; ``end`` 24:00 is ``time.max``."""

    weekday: int
    start: time
    end: time

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight when the window opens."""
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Minutes after local midnight when the window closes (1440 for 24:00)."""
        return 1440 if self.end == time.max else self.end.hour * 60 + self.end.minute

    def __str__(self) -> str:
        end = "24:00" if self.end_minute == 24 * 60 else self.end.strftime("%H:%M")
        return f"{DAY_NAMES[self.weekday]} {self.start.strftime('%H:%M')}-{end}"


def _bad(text: str, why: str) -> InvalidQuery:
    return InvalidQuery(
        f"Could not read time windows {text!r}: {why}. Expected comma-separated "
        f"'day start-end' items in 24-hour time, e.g. {_WINDOWS_EXAMPLE}."
    )


def _clock(value: str, *, text: str, is_end: bool) -> time:
    hours, _, minutes = value.partition(":")
    h, m = int(hours), int(minutes or 0)
    if is_end and h == 24 and m == 0:
        return time.max
    if h > 23 or m > 59:
        raise _bad(text, f"{value!r} is not a time of day (00:00 to 24:00)")
    return time(h, m)


def _day(name: str, *, text: str) -> int:
    try:
        return _DAYS[name]
    except KeyError:
        raise _bad(text, f"{name!r} is not a day name (Mo, Mon or Monday …)") from None


def parse_windows(text: str) -> list[Window]:
    """Parse ``"Mon 10:00-12:00,Thu 14:00-16:00"``; a day range (``Mo-Fr``) or a bare time reusing the previous day also work."""
    if not text or not text.strip():
        raise _bad(text or "", "it is empty")
    windows: list[Window] = []
    days: list[int] | None = None
    for raw in re.split(r"[,;]", text):
        item = " ".join(raw.strip().lower().split())
        if not item:
            raise _bad(text, "there is an empty item between commas")
        match = _ITEM.match(item)
        if not match:
            raise _bad(text, f"{raw.strip()!r} is not 'day start-end'")
        if match["day"]:
            first = _day(match["day"], text=text)
            last = _day(match["day_to"], text=text) if match["day_to"] else first
            days = [(first + k) % 7 for k in range((last - first) % 7 + 1)]
        elif days is None:
            raise _bad(text, f"{raw.strip()!r} has no day")
        start = _clock(match["start"], text=text, is_end=False)
        end = _clock(match["end"], text=text, is_end=True)
        if end != time.max and end <= start:
            raise _bad(
                text,
                f"{raw.strip()!r} ends before it starts; split overnight windows "
                "as 'Fr 22:00-24:00,Sa 00:00-02:00'",
            )
        windows.extend(Window(day, start, end) for day in days)
        if len(windows) > MAX_WINDOWS:
            raise _bad(text, f"more than {MAX_WINDOWS} windows")
    return windows


def window_occurrences(windows: Sequence[Window], *, week_of: datetime | None = None, now: datetime | None = None,
                       tz: str = "Europe/London") -> list[tuple[datetime, datetime]]:
    """Naive local (start, end) of each window: in the week of ``week_of``, or else the next
    occurrence that has not ended by ``now`` (the part still to come, if one is in progress)."""
    if week_of is not None:
        monday = week_start(to_local_naive(week_of, tz=tz))
        spans = []
        for w in windows:
            day = monday + timedelta(days=w.weekday)
            spans.append((day + timedelta(minutes=w.start_minute), day + timedelta(minutes=w.end_minute)))
        return spans
    now = to_local_naive(now, tz=tz) if now is not None else now_local(tz)
    monday = week_start(now)
    spans = []
    for w in windows:
        day = monday + timedelta(days=w.weekday)
        a, b = day + timedelta(minutes=w.start_minute), day + timedelta(minutes=w.end_minute)
        if b <= now:
            a, b = a + timedelta(days=7), b + timedelta(days=7)
        spans.append((max(a, now), b))
    return spans
