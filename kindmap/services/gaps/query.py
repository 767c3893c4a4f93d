"""What a gap analysis asks (``GapQuery``) and its fixed terms: thresholds (minutes), time slots, the reference week.

Slots are evaluated in the fixed reference week ``REFERENCE_WEEK`` (a term-time week with no UK
public holiday), and a place counts if it is open for at least part of any window of the slot:

* ``weekday_daytime`` Mon–Fri 09:00–17:00; ``weekday_evening`` Mon–Fri 17:00–21:00;
  ``weekend`` Sat–Sun 10:00–16:00; ``any`` no time filter (the default).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from kindmap.errors import InvalidQuery
from kindmap.geo import coverage as cov
from kindmap.taxonomy import categories

THRESHOLDS = (5, 10, 15, 20)
HORIZON_MINUTES = 60.0  # walks are searched up to this; longer ones read "more than 60"
MIN_MINUTES, MAX_MINUTES = 1.0, 60.0
DEFAULT_CATEGORIES = ("library", "community_centre", "community_cafe", "community_garden", "community_shed",
                      "park", "arts_centre")
DEFAULT_UNKNOWN_HOURS = 40.0  # weekly hours assumed for E2SFCA when a place's hours are unknown (a working week)
MAX_SUPPLY_HOURS = 84.0  # a place open all hours (an unstaffed park) counts as 12 h a day, not 168 h
REFERENCE_WEEK = datetime(2026, 2, 2)  # a Monday; no public holiday that week in any UK nation
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
SLOTS: dict[str, str | None] = {
    "any": None,
    "weekday_daytime": ",".join(f"{d} 09:00-17:00" for d in _WEEKDAYS),
    "weekday_evening": ",".join(f"{d} 17:00-21:00" for d in _WEEKDAYS),
    "weekend": "Sat 10:00-16:00,Sun 10:00-16:00",
}
MOST_DEPRIVED = (1, 2)


# An area less than half inside the region's OpenStreetMap extract has no data to judge: it is
# "no data", left out of every share, never counted as "no access".
NO_DATA_BELOW = 0.5


@dataclass
class GapQuery:
    """What to analyse: region, threshold (minutes), profile, time slot and place criteria."""

    region: str
    minutes: float = 15.0
    profile: str | None = None
    slot: str = "any"
    categories: tuple[str, ...] | None = None
    free: bool = False
    drop_in: bool = False
    step_free: bool = False
    include_unknown_hours: bool = False
    decay: str = "gaussian"

    def check(self) -> None:
        """Raise InvalidQuery naming what to fix."""
        if not (isinstance(self.minutes, (int, float)) and math.isfinite(self.minutes)
                and MIN_MINUTES <= self.minutes <= MAX_MINUTES):
            raise InvalidQuery(f"minutes must be between {MIN_MINUTES:g} and {MAX_MINUTES:g}, got {self.minutes}")
        if self.slot not in SLOTS:
            raise InvalidQuery(f"unknown time slot {self.slot!r}; choose one of: {', '.join(SLOTS)}")
        if self.decay not in cov.DECAYS:
            raise InvalidQuery(f"unknown distance decay {self.decay!r}; choose one of: {', '.join(cov.DECAYS)}")
        bad = sorted(set(self.categories or ()) - set(categories()))
        if bad:
            raise InvalidQuery(f"unknown categories: {', '.join(bad)}; choose from: {', '.join(categories())}")
