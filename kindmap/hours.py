"""Opening hours: validation and fast "open now?" over many places (free-time windows are in
``kindmap.windows``, local-time helpers in ``kindmap.localtime``).

Parsing and evaluation are done by opening-hours-py (the OSM ``opening_hours``
grammar); this module adds a slot bitmap so that asking "which of 10⁵ places are
open at T?" is a numpy gather rather than 10⁵ evaluations.

All evaluation happens in *naive local time* (wall clock in ``tz``, default
Europe/London); aware datetimes are converted with :func:`to_local_naive`. Times leave
for the wire through :func:`localize`, which gives them back their UTC offset.

Public holidays: opening-hours-py is built without a country here, so ``PH``
never matches. ``"Mo-Fr 09:00-17:00; PH off"`` is open on Christmas Day if it is
a weekday. Giving a country per place would fix this; the answer would still come
from opening-hours-py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import opening_hours

from kindmap.errors import InvalidQuery
from kindmap.localtime import localize, now_local, to_local_naive, week_start
from kindmap.windows import (
    DAY_NAMES,
    MAX_WINDOWS,
    Window,
    parse_windows,
    window_occurrences,
)

# Free-time windows and local-time helpers live in their own modules; their names stay importable here.
__all__ = ["DAY_NAMES", "MAX_WINDOWS", "HoursCheck", "HoursIndex", "Window", "check_hours", "localize",
           "open_intervals", "parse_windows", "to_local_naive", "window_occurrences"]

OSM_MAX_VALUE_LENGTH = 255
_BLOCK = 256
_STATE_CODE = {
    opening_hours.State.OPEN: 1,
    opening_hours.State.CLOSED: 0,
    opening_hours.State.UNKNOWN: -1,
}


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class HoursCheck:
    """Whether an ``opening_hours`` value can be read; ``error`` is a short human message."""

    valid: bool
    error: str | None = None


def _parser_message(exc: Exception, text: str) -> str:
    """Turn opening-hours-py's multi-line grammar error into one plain sentence."""
    where = re.search(r"-->\s*\d+:(\d+)", str(exc))
    column = int(where.group(1)) if where else 1
    snippet = text[column - 1 : column + 11]
    return (
        f"not a valid opening_hours value: cannot read from character {column} ({snippet!r}); "
        "expected e.g. 'Mo-Fr 09:00-17:00; Sa 10:00-12:00'"
    )


def check_hours(text: str | None) -> HoursCheck:
    """Check an OSM ``opening_hours`` value; ``None`` or blank is valid and means unknown."""
    if text is None or not text.strip():
        return HoursCheck(valid=True)
    if len(text) > OSM_MAX_VALUE_LENGTH:
        return HoursCheck(False, f"longer than OSM's {OSM_MAX_VALUE_LENGTH}-character limit")
    try:
        opening_hours.OpeningHours(text)
    except opening_hours.ParserError as exc:
        return HoursCheck(False, _parser_message(exc, text))
    return HoursCheck(valid=True)


def _parse(text: str | None) -> opening_hours.OpeningHours | None:
    """The parsed expression, or ``None`` when unknown or invalid."""
    if text is None or not text.strip() or len(text) > OSM_MAX_VALUE_LENGTH:
        return None
    try:
        return opening_hours.OpeningHours(text)
    except opening_hours.ParserError:
        return None


def open_intervals(text: str | None, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The (start, end) spans, naive local time, in which ``text`` says open between ``start`` and
    ``end``; [] when the hours are unknown or unreadable (an "unknown" rule is not open)."""
    parsed = _parse(text)
    if parsed is None:
        return []
    return [(s, e) for s, e, state, _c in parsed.intervals(start, end) if state == opening_hours.State.OPEN]


# --------------------------------------------------------------------------- index


class HoursIndex:
    """Opening hours for many places, parsed once per distinct string.

    A bitmap of ``slot_minutes`` slots covers ``horizon_days`` from ``start``
    (default: Monday 00:00 of the current local week). Each distinct string has,
    per slot, an *open* bit, an *unknown* bit and a *mixed* bit; a slot is mixed
    when the state changes strictly inside it (e.g. "09:05-11:55" with 10-minute
    slots). Mixed slots, and times outside the horizon, are answered by
    opening-hours-py directly, so every answer equals ``OpeningHours(s).state(t)``.
    Call :meth:`roll` to move the horizon forward in a long-running process.
    """

    def __init__(
        self,
        hours: Sequence[str | None],
        *,
        start: datetime | None = None,
        horizon_days: int = 56,
        slot_minutes: int = 5,
        tz: str = "Europe/London",
    ) -> None:
        if slot_minutes <= 0 or 1440 % slot_minutes:
            raise InvalidQuery("slot_minutes must divide a day (e.g. 1, 5, 10, 15, 30)")
        if not 1 <= horizon_days <= 400:
            raise InvalidQuery("horizon_days must be between 1 and 400")
        self.tz = tz
        self.slot_minutes = slot_minutes
        self.horizon_days = horizon_days
        codes: dict[str, int] = {}
        self.texts: list[str] = []
        self._parsed: list[opening_hours.OpeningHours] = []
        inverse = np.empty(len(hours), dtype=np.int32)
        invalid: dict[str | None, None] = {}
        for i, text in enumerate(hours):
            code = codes.get(text) if text is not None else None
            if code is None and text is not None and text not in invalid:
                parsed = _parse(text)
                if parsed is None:
                    invalid[text] = None
                else:
                    code = codes[text] = len(self._parsed)
                    self.texts.append(text)
                    self._parsed.append(parsed)
            inverse[i] = -1 if code is None else code
        n = len(self._parsed)
        # Unknown items point at an extra column whose state is always -1.
        self._inverse = np.where(inverse < 0, n, inverse).astype(np.int32)  # int32: 4 MB per 10⁶ places
        self._weekly: dict[int, float] = {}
        self._next_open: dict[int, tuple[datetime, datetime]] = {}  # string → (asked at, next opening then)
        self.roll(start)

    def __len__(self) -> int:
        return len(self._inverse)

    @property
    def n_distinct(self) -> int:
        """How many distinct valid strings were parsed."""
        return len(self._parsed)

    # ---------------------------------------------------------------- bitmap

    def roll(self, start: datetime | None = None) -> None:
        """(Re)build the slot bitmap from ``start`` (floored to a slot); default Monday 00:00 this week."""
        if start is None:
            start = week_start(now_local(self.tz))
        start = to_local_naive(start, tz=self.tz)
        step = self.slot_minutes * 60
        floor = (start.hour * 3600 + start.minute * 60 + start.second) // step * step
        self.start = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=floor)
        self.end = self.start + timedelta(days=self.horizon_days)
        self._step = step
        n_slots = self.horizon_days * 1440 // self.slot_minutes
        planes: list[list[np.ndarray]] = [[], [], []]
        # Blocks of strings (a multiple of 8 wide) bound the unpacked working memory.
        for lo in range(0, max(len(self._parsed), 1), _BLOCK):
            block = self._parsed[lo : lo + _BLOCK]
            rows = np.zeros((3, len(block), n_slots), dtype=bool)  # open, unknown, mixed
            for j, parsed in enumerate(block):
                self._fill(parsed, rows[:, j], n_slots)
            for plane, bits in zip(planes, rows, strict=True):
                plane.append(np.packbits(bits.T, axis=1))
        self._open_bits, self._unknown_bits, self._mixed_bits = (
            np.ascontiguousarray(np.concatenate(plane, axis=1)) for plane in planes
        )
        self._n_slots = n_slots

    def _fill(self, parsed: opening_hours.OpeningHours, rows: np.ndarray, n_slots: int) -> None:
        """Set one string's open/unknown/mixed flags per slot from its intervals over the horizon."""
        open_, unknown, mixed = rows
        step = self._step
        for s, e, state, _comment in parsed.intervals(self.start, self.end):
            a = (s - self.start).total_seconds()
            b = (e - self.start).total_seconds()
            first, last = math.ceil(a / step), min(math.floor(b / step), n_slots)
            if state == opening_hours.State.OPEN:
                open_[first:last] = True
            elif state == opening_hours.State.UNKNOWN:
                unknown[first:last] = True
            # A change strictly inside a slot makes that slot need exact evaluation.
            for edge in (a, b):
                if edge % step and edge < n_slots * step:
                    mixed[int(edge // step)] = True

    def _slot(self, when: datetime) -> int | None:
        if not self.start <= when < self.end:
            return None
        return int((when - self.start).total_seconds() // self._step)

    def _distinct_states(self, when: datetime) -> np.ndarray:
        """int8 state per distinct string plus the trailing always-unknown column."""
        n = len(self._parsed)
        states = np.empty(n + 1, dtype=np.int8)
        states[n] = -1
        slot = self._slot(when)
        if slot is None:
            exact = range(n)
        else:
            states[:n] = np.unpackbits(self._open_bits[slot], count=n)
            states[:n][np.unpackbits(self._unknown_bits[slot], count=n).view(bool)] = -1
            exact = np.flatnonzero(np.unpackbits(self._mixed_bits[slot], count=n))
        for j in exact:
            states[j] = _STATE_CODE[self._parsed[j].state(when)[0]]
        return states

    # ---------------------------------------------------------------- queries

    def states_of(self, codes: np.ndarray, when: datetime) -> np.ndarray:
        """int8 state at ``when`` of each distinct string in ``codes`` (as ``distinct_states(when)[codes]``).

        Costs the codes asked for, not the distinct strings: a search shows ten places, while a
        national catalogue holds tens of thousands of distinct hours strings.
        """
        when = to_local_naive(when, tz=self.tz)
        n = len(self._parsed)
        slot = self._slot(when)
        out = np.empty(len(codes), dtype=np.int8)
        for k, j in enumerate(np.asarray(codes).tolist()):
            if j == n:
                out[k] = -1
                continue
            byte, bit = j >> 3, 7 - (j & 7)  # np.packbits order: the first string in the high bit
            if slot is None or (self._mixed_bits[slot, byte] >> bit) & 1:
                out[k] = _STATE_CODE[self._parsed[j].state(when)[0]]
            elif (self._unknown_bits[slot, byte] >> bit) & 1:
                out[k] = -1
            else:
                out[k] = (self._open_bits[slot, byte] >> bit) & 1
        return out

    def distinct_states(self, when: datetime) -> np.ndarray:
        """int8 state per distinct hours string at ``when``; ``[codes(positions)]`` gives items' states.

        Costs the number of distinct strings, not of items, so a search can look up only its candidates.
        """
        return self._distinct_states(to_local_naive(when, tz=self.tz))

    def codes(self, positions) -> np.ndarray:
        """Indices into :meth:`distinct_states` for items at ``positions``."""
        return self._inverse[positions]

    def known(self, positions=slice(None)) -> np.ndarray:
        """Bool per item (or per item at ``positions``): its opening hours are recorded and readable."""
        return self._inverse[positions] < len(self._parsed)

    def state_at(self, when: datetime) -> np.ndarray:
        """int8 per item: 1 open, 0 closed, -1 unknown (no hours, invalid, or an "unknown" rule)."""
        local = to_local_naive(when, tz=self.tz)
        return self._distinct_states(local)[self._inverse]

    def open_at(self, when: datetime) -> np.ndarray:
        """Bool per item: open at ``when`` (unknown counts as not open)."""
        local = to_local_naive(when, tz=self.tz)
        return (self._distinct_states(local) == 1)[self._inverse]

    def _occurrences(self, windows: Sequence[Window], week_of: datetime | None,
                     now: datetime | None = None) -> list[tuple[datetime, datetime]]:
        return window_occurrences(windows, week_of=week_of, now=now, tz=self.tz)

    def _open_between(self, j: int, a: datetime, b: datetime) -> bool:
        return any(
            state == opening_hours.State.OPEN for _s, _e, state, _c in self._parsed[j].intervals(a, b)
        )

    def open_during(self, windows: Sequence[Window], *, week_of: datetime | None = None,
                    now: datetime | None = None) -> np.ndarray:
        """Bool per item: open for at least part of any window.

        With ``week_of``, windows are taken in the Monday-to-Sunday week containing
        it. Without, each window's next occurrence that has not yet ended is used,
        from now on (a window in progress counts only its remaining part).
        """
        return self.distinct_open_during(windows, week_of=week_of, now=now)[self._inverse]

    def distinct_open_during(self, windows: Sequence[Window], *, week_of: datetime | None = None,
                             now: datetime | None = None) -> np.ndarray:
        """As :meth:`open_during`, per distinct hours string (``[codes(positions)]`` gives items')."""
        n = len(self._parsed)
        hit = np.zeros(n + 1, dtype=bool)
        for a, b in self._occurrences(windows, week_of, now):
            if b <= a:
                continue
            first, last = self._slot(a), self._slot(b - timedelta(microseconds=1))
            if first is None or last is None:
                todo = np.flatnonzero(~hit[:n])
            else:
                rows = slice(first, last + 1)
                opened = np.unpackbits(np.bitwise_or.reduce(self._open_bits[rows], axis=0), count=n)
                hit[:n] |= opened.view(bool)
                mixed = np.unpackbits(np.bitwise_or.reduce(self._mixed_bits[rows], axis=0), count=n)
                todo = np.flatnonzero(mixed.view(bool) & ~hit[:n])
            for j in todo:
                hit[j] = self._open_between(j, a, b)
        return hit

    def next_open(self, i: int, after: datetime) -> datetime | None:
        """Next time item ``i`` is open at or after ``after`` (naive local); ``None`` if unknown or not within a year."""
        j = int(self._inverse[i])
        if j == len(self._parsed):
            return None
        t = to_local_naive(after, tz=self.tz)
        # The next opening found from time a holds for every later time up to it (nothing opens in
        # between, by definition), so each distinct string keeps its last answer: a search shows ten
        # places and asked the rules again for each (~10 µs, a tenth of a near-me request).
        known = self._next_open.get(j)
        if known is not None and known[0] <= t <= known[1]:
            return known[1]
        limit = t + timedelta(days=366)
        for s, _e, state, _c in self._parsed[j].intervals(t, limit):
            if state == opening_hours.State.OPEN:
                self._next_open[j] = (t, s)
                return s
        return None

    def weekly_open_hours(self, i: int) -> float:
        """Open hours in a typical week: the mean over the 52 weeks from ``start``; NaN when unknown."""
        j = int(self._inverse[i])
        if j == len(self._parsed):
            return math.nan
        if j not in self._weekly:
            a = week_start(self.start)
            b = a + timedelta(weeks=52)
            seconds = sum(
                (e - s).total_seconds()
                for s, e, state, _c in self._parsed[j].intervals(a, b)
                if state == opening_hours.State.OPEN
            )
            self._weekly[j] = seconds / 3600 / 52
        return self._weekly[j]
