"""Longer opening hours for a what-if: a place's hours in the reference week with weekly times
added, written back as an OSM ``opening_hours`` value that the analysis reads exactly as it reads
any place's hours.

The analysis only ever looks at the reference week (``query.REFERENCE_WEEK``: is a place open
during part of the slot?), so the place's open minutes in that week, plus the added times, are all
that matter. They are written per day ("Mo-Fr 09:00-21:00; Sa 10:00-16:00"), which is why
public-holiday or seasonal rules of the old value do not carry over: they play no part in the week.
Pure: no database, no web.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from kindmap.errors import InvalidQuery
from kindmap.hours import OSM_MAX_VALUE_LENGTH, open_intervals
from kindmap.services.gaps.query import REFERENCE_WEEK, SLOTS
from kindmap.windows import Window, parse_windows

DAY = 1440
WEEK = 7 * DAY
OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_FREE_TIMES = ",".join(SLOTS[s] for s in ("weekday_daytime", "weekday_evening", "weekend"))
# What an analyst can add, in plain words ("open … on weekday evenings"), and the weekly times each one means.
EXTENSIONS: dict[str, tuple[str, str]] = {
    "weekday_evening": ("on weekday evenings (Monday to Friday, 17:00 to 21:00)", SLOTS["weekday_evening"]),
    "weekend": ("at weekends (Saturday and Sunday, 10:00 to 16:00)", SLOTS["weekend"]),
    "weekday_daytime": ("on weekday daytimes (Monday to Friday, 09:00 to 17:00)", SLOTS["weekday_daytime"]),
    "free_times": ("at all the times people are free (weekday daytimes and evenings, and weekends)", _FREE_TIMES),
}
CHOSEN = "windows"  # the analyst's own weekly times ("Tue 18:00-20:00, Sat 10:00-13:00")


def added_times(add: str, windows: str | None = None) -> tuple[str, list[Window]]:
    """(the added times in plain words, as weekly windows) for one of ``EXTENSIONS`` or ``CHOSEN`` with ``windows``."""
    if add in EXTENSIONS:
        words, text = EXTENSIONS[add]
        return words, parse_windows(text)
    if add != CHOSEN:
        raise InvalidQuery(f"unknown hours to add {add!r}; choose one of: {', '.join([*EXTENSIONS, CHOSEN])}")
    if not windows or not windows.strip():
        raise InvalidQuery("say which times to add, e.g. 'Tue 18:00-20:00, Sat 10:00-13:00'")
    found = parse_windows(windows)  # InvalidQuery naming what to fix; at most MAX_WINDOWS
    return "at " + ", ".join(str(w) for w in found), found


def week_mask(hours: str | None) -> np.ndarray:
    """Bool per minute of the reference week (Monday 00:00 first): open by ``hours`` (unknown: never)."""
    mask = np.zeros(WEEK, bool)
    end = REFERENCE_WEEK + timedelta(days=7)
    for a, b in open_intervals(hours, REFERENCE_WEEK, end):
        first = int((a - REFERENCE_WEEK).total_seconds() // 60)
        last = int(-(-(b - REFERENCE_WEEK).total_seconds() // 60))
        mask[max(first, 0):min(last, WEEK)] = True
    return mask


def _spans(day: np.ndarray) -> tuple[str, ...]:
    """'HH:MM-HH:MM' for each run of open minutes in one day (a run to midnight ends 24:00)."""
    edges = np.flatnonzero(np.diff(np.r_[0, day.astype(np.int8), 0]))
    return tuple(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in zip(edges[::2], edges[1::2]))


def as_opening_hours(mask: np.ndarray) -> str:
    """The week's open minutes as an OSM opening_hours value; consecutive days with the same times share a rule."""
    if mask.all():
        return "24/7"
    if not mask.any():
        return "off"
    days = [_spans(mask[d * DAY:(d + 1) * DAY]) for d in range(7)]
    rules, d = [], 0
    while d < 7:
        e = d
        while e + 1 < 7 and days[e + 1] == days[d]:
            e += 1
        if days[d]:
            which = OSM_DAYS[d] if e == d else f"{OSM_DAYS[d]}{',' if e == d + 1 else '-'}{OSM_DAYS[e]}"
            rules.append(f"{which} {','.join(days[d])}")
        d = e + 1
    return "; ".join(rules)


def extended_hours(hours: str | None, windows: list[Window]) -> str:
    """``hours`` in the reference week with ``windows`` added, as an OSM opening_hours value."""
    mask = week_mask(hours)
    for w in windows:
        mask[w.weekday * DAY + w.start_minute:w.weekday * DAY + w.end_minute] = True
    text = as_opening_hours(mask)
    if len(text) > OSM_MAX_VALUE_LENGTH:
        raise InvalidQuery(f"these hours would take {len(text)} characters to write (at most {OSM_MAX_VALUE_LENGTH}): "
                           "add fewer, longer times")
    return text


__all__ = ["CHOSEN", "EXTENSIONS", "added_times", "as_opening_hours", "extended_hours", "week_mask"]
