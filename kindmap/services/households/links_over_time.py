"""A household's links over time for its page, drawn as SVG in the page: each month, the visits where
they met people (had a chat, joined in, made a friend, helped someone), and how many places feel like
theirs so far (places a visit felt good at, or they enjoyed or go to regularly). Kindness made visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from kindmap.models.accounts import User
from kindmap.models.common import utcnow
from kindmap.models.households import LinkLog
from kindmap.services.households.audit import record
from kindmap.services.households.records import visible_household

MET_PEOPLE = frozenset({"had_a_chat", "joined_in", "made_a_friend", "helped_someone"})
FEELS_OURS = frozenset({"enjoyed", "regular"})
MONTHS = 6


@dataclass
class Month:
    """One month of the chart, with its bar and point already placed (SVG user units, 0–100 high)."""

    label: str
    met_people: int
    places_ours: int
    x: float = 0.0
    bar_height: float = 0.0
    point_y: float = 0.0


def _month_starts(today: date, count: int) -> list[date]:
    starts, year, month = [], today.year, today.month
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def series(rows: list[tuple[date, str, str | None, str | None, int | None]], today: date,
           months: int = MONTHS) -> list[Month]:
    """The last ``months`` months from (on, outcome, what, feeling, place id) rows, laid out for a 300×120 chart."""
    starts = _month_starts(today, months)
    ours: set[int] = set()
    found = []
    ordered = sorted(rows, key=lambda r: r[0])
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else date(9999, 12, 31)
        met = sum(1 for on, _o, what, _f, _p in ordered if start <= on < end and what in MET_PEOPLE)
        ours |= {p for on, outcome, _w, feeling, p in ordered if on < end and p is not None
                 and (getattr(outcome, "value", outcome) in FEELS_OURS or feeling == "good")}
        found.append(Month(f"{start:%b}", met, len(ours)))
    top = max([m.met_people for m in found] + [m.places_ours for m in found] + [1])
    step = 300 / months
    for k, m in enumerate(found):
        m.x = round(k * step + step * 0.2, 1)
        m.bar_height = round(100 * m.met_people / top, 1)
        m.point_y = round(110 - 100 * m.places_ours / top, 1)
    return found


def links_over_time(session: Session, user: User, household_id: int, *, now: datetime | None = None) -> list[Month]:
    """The household's chart (audited as a read of its links log)."""
    visible_household(session, user, household_id)
    record(session, user=user, household_id=household_id, action="read_links", detail="chart on page", now=now)
    rows = session.exec(select(LinkLog.on, LinkLog.outcome, LinkLog.what, LinkLog.feeling, LinkLog.place_id)
                        .where(LinkLog.household_id == household_id)).all()
    return series([tuple(r) for r in rows], (now or utcnow()).date())
