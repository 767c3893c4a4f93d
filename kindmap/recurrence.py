"""RFC 5545 recurrences ("DTSTART:20250102T140000\\nRRULE:FREQ=WEEKLY;BYDAY=TH"): validation, and
expansion that is bounded in time and in count.

python-dateutil walks a rule from its DTSTART, one period at a time, and stops only at an occurrence
past UNTIL or COUNT, or at year 9999. Asked naively for "the next date", ``FREQ=MINUTELY`` from 1970
walked 29 million minutes (235 s, holding the database's write lock), and a rule that never occurs
(``BYMONTH=2;BYMONTHDAY=30``) walked every day up to year 9999. Here:

* What enters is refused (``check_rrule``) when kindmap cannot list it: anything more frequent than
  daily (an activity happens on some days, at some times; several sessions a day are
  ``FREQ=DAILY;BYHOUR=10,14``, at most 24 starts a day; "every hour" is opening hours, not an activity),
  COUNT past 1,000, INTERVAL past 100, DTSTART outside 1900–2100, COUNT with UNTIL, EXRULE, BYEASTER,
  and rules with no occurrence in the two years from DTSTART.
* Expansion (``expand``) looks at a window of at most two years and returns at most 500 starts. The
  rule's DTSTART is first moved forward by whole periods to just before the window, which keeps every
  occurrence from the window on (the periods keep their phase; defaults dateutil takes from DTSTART
  are pinned) — not done under COUNT, which counts from the first DTSTART, and is why COUNT is capped.
  Then rule and window move forward together by whole 400-year Gregorian cycles (146,097 days, exactly
  20,871 weeks: every date falls on the same weekday) until the window ends shortly before 9999, where
  dateutil gives up: a rule that never occurs now costs at most ~400 years of empty periods (tens of
  milliseconds for a daily rule), never 8,000.

Times are naive local wall-clock times in ``tz`` (as ``kindmap.localtime``); a DTSTART with a TZID
or ``Z`` is expanded in its own zone and converted.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from functools import lru_cache

from dateutil.rrule import (
    DAILY,
    HOURLY,
    MINUTELY,
    MONTHLY,
    SECONDLY,
    WEEKLY,
    YEARLY,
    rrule,
    rruleset,
    rrulestr,
)

from kindmap.localtime import localize, to_local_naive

MAX_WINDOW = timedelta(days=731)  # the furthest ahead anything is looked for: two years
MAX_OCCURRENCES = 500
MAX_STARTS_PER_DAY = 24
MAX_COUNT = 1000
MAX_INTERVAL = 100
FIRST_YEAR, LAST_YEAR = 1900, 2100
EXAMPLE = "'DTSTART:20250102T140000\\nRRULE:FREQ=WEEKLY;BYDAY=TH'"
FINER_THAN_DAILY = ("SECONDLY", "MINUTELY", "HOURLY")  # kindmap lists sessions, not a ticking clock
LINES = ("DTSTART", "RRULE", "RDATE", "EXDATE")

_CYCLE_YEARS = 400  # the Gregorian calendar repeats exactly every 400 years
_LAST_SAFE_YEAR = datetime.max.year - 2  # a shifted window ends before dateutil's year-9999 stop
_MAX_SCANNED = 20_000  # occurrences before the window; only a COUNT rule can have many
# What dateutil's parser raises on bad text (it has no error type of its own).
_PARSE_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError)
_FIXED_PERIOD = {DAILY: timedelta(days=1), WEEKLY: timedelta(weeks=1), HOURLY: timedelta(hours=1),
                 MINUTELY: timedelta(minutes=1), SECONDLY: timedelta(seconds=1)}


def _name(line: str) -> str:
    if line.upper().startswith("FREQ="):
        return "RRULE"  # dateutil reads a bare rule too
    return re.split(r"[:;]", line, maxsplit=1)[0].strip().upper()


def _parts(line: str) -> dict[str, str]:
    body = line.split(":", 1)[1] if ":" in line else line
    return {k.strip().upper(): v.strip() for k, _, v in (p.partition("=") for p in body.split(";")) if k.strip()}


def check_rrule(text: str) -> str:
    """Validate a recurrence for an opportunity; returns it with real newlines. ``ValueError`` says what to fix."""
    text = text.strip().replace("\\n", "\n")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    names = [_name(line) for line in lines]
    if "EXRULE" in names:
        raise ValueError("EXRULE is obsolete in RFC 5545; list the dates to skip in an EXDATE line")
    unknown = sorted(set(names) - set(LINES))
    if unknown:
        raise ValueError(f"unexpected {', '.join(unknown)} line; give DTSTART, one RRULE and optionally EXDATE "
                         f"(dates to skip), e.g. {EXAMPLE}")
    rules = [line for line, name in zip(lines, names) if name == "RRULE"]
    if len(rules) != 1:
        raise ValueError(f"give exactly one RRULE line, e.g. {EXAMPLE}")
    parts = _parts(rules[0])
    _check_parts(parts)
    try:
        found = rrulestr(text, forceset=True)
    except _PARSE_ERRORS as exc:
        raise ValueError(f"not a valid RFC 5545 recurrence ({exc}); expected e.g. {EXAMPLE}") from None
    rule = found._rrule[0]  # dateutil has no public accessors for a set's parts
    if "TZID=" in text.upper() and rule._dtstart.tzinfo is None:  # dateutil only warns, then reads it as local
        raise ValueError("DTSTART names a time zone that is not known; use e.g. TZID=Europe/London, or none "
                         "(local time)")
    if rule._dtstart.year < FIRST_YEAR or rule._dtstart.year > LAST_YEAR:
        raise ValueError(f"DTSTART must be between {FIRST_YEAR} and {LAST_YEAR}; give the date the activity "
                         "first happened (or a recent one)")
    naive, _tz = _naive(rule)
    if not _between(naive, naive._dtstart, naive._dtstart + MAX_WINDOW, limit=1):
        raise ValueError("this RRULE never occurs (nothing in the two years from DTSTART); check BYMONTH, "
                         "BYMONTHDAY, BYDAY and BYSETPOS, or move DTSTART to its first date")
    return text


def _check_parts(parts: dict[str, str]) -> None:
    freq = parts.get("FREQ", "").upper()
    # Only the real finer frequencies get this message; an unknown FREQ is left to the parser's
    # "not a valid RFC 5545 recurrence".
    if freq in FINER_THAN_DAILY:
        raise ValueError(f"FREQ={freq} repeats more often than daily, which kindmap does not list; use FREQ=DAILY, "
                         "with BYHOUR for several sessions a day (e.g. FREQ=DAILY;BYHOUR=10,14), or opening_hours "
                         "such as 'Mo-Fr 09:00-17:00' for something open all day")
    if "BYEASTER" in parts:
        raise ValueError("BYEASTER is not part of RFC 5545; give the dates with RDATE instead")
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("give COUNT or UNTIL, not both (RFC 5545)")
    for key, top in (("COUNT", MAX_COUNT), ("INTERVAL", MAX_INTERVAL)):
        value = parts.get(key)
        if value is not None and not (value.isdigit() and 1 <= int(value) <= top):
            raise ValueError(f"{key} must be a whole number from 1 to {top:,}"
                             + ("; leave COUNT out for an activity with no end" if key == "COUNT" else ""))
    starts = math.prod(len([v for v in parts[k].split(",") if v.strip()]) for k in ("BYHOUR", "BYMINUTE", "BYSECOND")
                       if k in parts)
    if starts > MAX_STARTS_PER_DAY:
        raise ValueError(f"at most {MAX_STARTS_PER_DAY} start times a day (BYHOUR × BYMINUTE × BYSECOND give "
                         f"{starts}); list the sessions' hours, e.g. BYHOUR=10,14")


@lru_cache(maxsize=1024)
def _parse(text: str) -> rruleset | None:
    try:
        return rrulestr(text.replace("\\n", "\n"), forceset=True)
    except _PARSE_ERRORS:  # a row stored before validation: no known dates rather than an error page
        return None


def expand(text: str, start: datetime, end: datetime, *, tz: str = "Europe/London",
           limit: int = MAX_OCCURRENCES) -> list[datetime]:
    """Starts of the recurrence ``text`` from ``start`` to ``end`` inclusive (naive local times in ``tz``),
    sorted; at most ``limit`` of them, from at most ``MAX_WINDOW`` after ``start``."""
    found = _parse(text)
    if found is None or end < start:
        return []
    end = min(end, start + MAX_WINDOW)
    limit = min(limit, MAX_OCCURRENCES)
    skip = {to_local_naive(d, tz=tz) for d in found._exdate}
    hits = set()
    for rule in found._rrule:
        hits.update(_expand_rule(rule, start, end, tz=tz, limit=limit + len(skip)))
    hits.update(d for d in (to_local_naive(r, tz=tz) for r in found._rdate) if start <= d <= end)
    for rule in found._exrule:  # obsolete, refused where rules enter; older rows still honoured
        skip.update(_expand_rule(rule, start, end, tz=tz, limit=MAX_OCCURRENCES))
    return sorted(hits - skip)[:limit]


def _expand_rule(rule: rrule, start: datetime, end: datetime, *, tz: str, limit: int) -> list[datetime]:
    if rule._interval < 1:  # a row stored before validation; dateutil would divide by it or walk backwards
        return []
    try:
        return _expand_zoned(rule, start, end, tz=tz, limit=limit)
    except (ValueError, OverflowError):  # likewise: no known dates rather than an error page
        return []


def _expand_zoned(rule: rrule, start: datetime, end: datetime, *, tz: str, limit: int) -> list[datetime]:
    naive, zone = _naive(rule)
    if zone is None:
        return _between(naive, start, end, limit=limit)

    def there(when: datetime) -> datetime:
        return localize(when, tz).astimezone(zone).replace(tzinfo=None)

    found = _between(naive, there(start), there(end), limit=limit)
    return [w for w in (to_local_naive(s.replace(tzinfo=zone), tz=tz) for s in found) if start <= w <= end]


def _naive(rule: rrule):
    """The rule in its own wall-clock time (naive), and its zone (``None`` when it had none)."""
    zone = rule._dtstart.tzinfo
    if zone is None:
        return rule, None
    until = rule._until.astimezone(zone).replace(tzinfo=None) if rule._until is not None else None
    return rule.replace(dtstart=rule._dtstart.replace(tzinfo=None), until=until), zone


def _between(rule: rrule, start: datetime, end: datetime, *, limit: int) -> list[datetime]:
    """Occurrences of a naive ``rule`` from ``start`` to ``end`` inclusive, at most ``limit``; bounded work."""
    if rule._dtstart > end or (rule._until is not None and rule._until < start):
        return []
    rule = _moved_near(rule, start)
    years = _CYCLE_YEARS * max(0, (_LAST_SAFE_YEAR - end.year) // _CYCLE_YEARS)
    if years:
        # An UNTIL after the window bounds nothing here (and could not move 400 years on past 9999).
        until = rule._until if rule._until is not None and rule._until <= end else None
        rule = rule.replace(dtstart=_plus_years(rule._dtstart, years),
                            until=_plus_years(until, years) if until is not None else None)
    first, last = _plus_years(start, years), _plus_years(end, years)
    out: list[datetime] = []
    for scanned, when in enumerate(rule):  # ends at year 9999 at the latest, at most ~400 years on
        if when > last or scanned > _MAX_SCANNED:
            break
        if when >= first:
            out.append(_plus_years(when, -years))
            if len(out) >= limit:
                break
    return out


def _moved_near(rule: rrule, start: datetime) -> rrule:
    """``rule`` with DTSTART moved forward by whole periods to at least one period before ``start``:
    the same occurrences from ``start`` on. Not under COUNT, which counts from the first DTSTART."""
    first = rule._dtstart
    if rule._count is not None or first >= start:
        return rule
    # Defaults dateutil derives from DTSTART (the day of the month, the month, the weekday) stay as they were.
    original = rule._original_rule
    pins = {key: value for key, value in (("bymonthday", first.day), ("bymonth", first.month),
                                          ("byweekday", first.weekday())) if key in original and original[key] is None}
    if rule._freq in _FIXED_PERIOD:
        step = _FIXED_PERIOD[rule._freq] * rule._interval
        periods = (start - first) // step - 1
        return rule.replace(dtstart=first + periods * step, **pins) if periods > 0 else rule
    step = rule._interval * (12 if rule._freq == YEARLY else 1)  # months
    periods = ((start.year - first.year) * 12 + start.month - first.month) // step - 1
    if periods <= 0:
        return rule
    month = first.year * 12 + first.month - 1 + periods * step
    # The first of the month always exists; the period (month or year) still starts in the same place.
    moved = first.replace(year=month // 12, month=month % 12 + 1, day=1)
    if rule._freq == MONTHLY or rule._freq == YEARLY:
        return rule.replace(dtstart=moved, **pins)
    return rule  # pragma: no cover - every frequency is handled above


def _plus_years(when: datetime, years: int) -> datetime:
    # Whole 400-year cycles only, so 29 February stays a real date.
    return when.replace(year=when.year + years) if years else when
