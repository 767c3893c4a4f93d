"""How a recommendation ranks and reads: the documented score (0–1), walk bands and plain-words reasons.

The walk term uses the band, not the exact minutes, so the order of the list is the same for
every viewer and tells no more about where the home is than the bands do.
"""

from __future__ import annotations

from datetime import datetime

from kindmap.models.households import vocabulary
from kindmap.services.recommend.candidates import WELCOME, Candidate

WEIGHTS = {"walk": 0.40, "interest": 0.30, "welcome": 0.20, "soon": 0.10}
SCORING = ("score = 0.40*walk + 0.30*interest + 0.20*welcome + 0.10*soon; walk = 1 - walk band's lower edge / "
           "comfortable minutes; interest = matched / min(3, household interests); welcome = criteria met / 7; "
           "soon = 1 - hours until next on (in a free window) / 168; each clamped to 0..1")
# (upper edge in minutes, words); the last band is open-ended.
BANDS = ((10, "under 10 min"), (20, "10–20 min"), (30, "20–30 min"), (45, "30–45 min"), (60, "45–60 min"))


def walk_band(minutes: float) -> tuple[str, float]:
    """(words, lower edge in minutes) of the band holding ``minutes``."""
    lower = 0.0
    for upper, words in BANDS:
        if minutes < upper:
            return words, lower
        lower = float(upper)
    return f"over {BANDS[-1][0]} min", lower


def _clock(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}{'' if when.minute == 0 else f':{when.minute:02d}'}{'am' if when.hour < 12 else 'pm'}"


def when_words(start: datetime | None, end: datetime | None) -> str | None:
    """'Thursdays 2–4pm (next 27 Nov)' style words for a weekly slot."""
    if start is None:
        return None
    span = f"{_clock(start)}–{_clock(end)}" if end is not None and end.date() == start.date() else _clock(start)
    return f"{start:%A}s {span} (next {start.day} {start:%b})"


def score_candidate(c: Candidate, *, interests: list[str], cap: int, local_now: datetime) -> tuple[float, dict[str, float], list[str]]:
    """(score, its parts, the household's interests matched) for one candidate; see ``SCORING``."""
    matched = [i for i in interests if i in c.interests]
    lower = walk_band(c.minutes)[1] if c.minutes is not None else float(cap)
    parts = {
        "walk": min(1.0, max(0.0, 1 - lower / cap)),
        "interest": min(1.0, len(matched) / min(3, len(interests))) if interests else 0.0,
        "welcome": len(c.welcome) / len(WELCOME),
        "soon": 0.0 if c.next_on is None else min(1.0, max(0.0, 1 - (c.next_on - local_now).total_seconds() / 3600 / 168)),
    }
    parts = {k: round(v, 3) for k, v in parts.items()}
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()), 3), parts, matched


CHECK = "not known — check before you go"


def reason_for(c: Candidate, *, walk: str | None, access: list[str], matched: list[str], local_now: datetime,
               not_known: list[str] = ()) -> str:
    """The plain-words reason: walk (or 'contact them'), access met, when, interests, welcome."""
    labels = vocabulary()
    first = f"{walk} walk" if walk else "contact them"
    access_words = [labels["access_needs"][a].lower() for a in access]
    friendly = [labels["access_needs"][f].lower() for f in c.friendly]
    parts = [", ".join([first] + access_words + friendly)]
    when = "now" if c.next_on is not None and c.next_on <= local_now else when_words(c.next_on, c.next_end)
    if c.kind == "place" and not c.hours_unknown:
        parts.append(f"open {when}" if when else "opening times not recorded")
    elif when:
        parts.append(f"{c.name} {'on now' if when == 'now' else when}")
    else:
        parts.append(c.name)
    if matched:
        parts.append("you like " + " and ".join(labels["interests"][m].lower() for m in matched))
    if c.welcome:
        parts.append(", ".join(c.welcome))
    if c.extra:
        parts.append(c.extra)
    if not_known:
        parts.append(f"{' and '.join(not_known)} {CHECK}")
    return "; ".join(parts)
