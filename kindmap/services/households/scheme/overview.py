"""A scheme's households at a glance, for its scheme workers: label, last visit, links in the last
8 weeks and the 8 before (the trend), and a gentle flag on households with no new link for a chosen
number of weeks. Labels and counts only — never a location — so the list is not audited as a
location read (opening a household is), and its CSV carries no location either."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Integer, func
from sqlmodel import Session, select

from kindmap.errors import Forbidden, InvalidQuery
from kindmap.models.accounts import Role, User
from kindmap.models.common import utcnow
from kindmap.models.households import Household, LinkLog

WINDOW = timedelta(weeks=8)
MAX_QUIET_WEEKS = 52


@dataclass
class HouseholdRow:
    id: int
    label: str
    last_visit: date | None
    links_8_weeks: int
    links_before: int
    flagged: bool

    @property
    def trend(self) -> str:
        """'more', 'fewer' or 'the same' links than in the 8 weeks before."""
        if self.links_8_weeks > self.links_before:
            return "more"
        return "fewer" if self.links_8_weeks < self.links_before else "the same"


def overview(session: Session, user: User, *, quiet_weeks: int = 4, now: datetime | None = None) -> list[HouseholdRow]:
    """The worker's scheme's households, quietest first within flagged, then by label."""
    if user.role != Role.scheme_worker or user.scheme_id is None:
        raise Forbidden("only a scheme worker sees their scheme's households at a glance")
    if not 1 <= quiet_weeks <= MAX_QUIET_WEEKS:
        raise InvalidQuery(f"weeks: choose 1 to {MAX_QUIET_WEEKS}")
    today = (now or utcnow()).date()
    recent_from, before_from = today - WINDOW, today - 2 * WINDOW
    quiet_from = today - timedelta(weeks=quiet_weeks)
    households = session.exec(select(Household.id, Household.label).where(Household.scheme_id == user.scheme_id)).all()
    ids = [h for h, _l in households]
    stats = {}
    if ids:
        # One grouped query for every household (a scheme has tens to hundreds), not one each.
        rows = session.exec(select(
            LinkLog.household_id, func.max(LinkLog.on),
            func.sum((LinkLog.on > recent_from).cast(Integer)),
            func.sum(((LinkLog.on > before_from) & (LinkLog.on <= recent_from)).cast(Integer)),
        ).where(LinkLog.household_id.in_(ids)).group_by(LinkLog.household_id)).all()
        stats = {h: (last, int(recent or 0), int(before or 0)) for h, last, recent, before in rows}
    found = []
    for household_id, label in households:
        last, recent, before = stats.get(household_id, (None, 0, 0))
        found.append(HouseholdRow(household_id, label, last, recent, before, last is None or last <= quiet_from))
    return sorted(found, key=lambda r: (not r.flagged, r.label.lower(), r.id))


def overview_csv(rows: list[HouseholdRow]) -> str:
    """The overview as CSV: labels and counts, no location."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["household", "last_visit", "links_last_8_weeks", "links_8_weeks_before", "trend", "no_new_links_flag"])
    for r in rows:
        label = r.label if not r.label.startswith(("=", "+", "-", "@")) else "'" + r.label  # no spreadsheet formulas
        writer.writerow([label, r.last_visit.isoformat() if r.last_visit else "", r.links_8_weeks, r.links_before,
                         r.trend, "yes" if r.flagged else "no"])
    return out.getvalue()
