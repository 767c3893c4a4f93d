"""Where links grow within a scheme, for its scheme workers: the places (and activities) its households'
logged visits went to most in the last 8 weeks, all households together.

Counts only — never which household went where, and never a location — so one household's visits
are not shown to anyone as theirs. Visits that were "not for us" are not links made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, func
from sqlmodel import Session, select

from kindmap.errors import Forbidden
from kindmap.models import Place
from kindmap.models.accounts import Role, User
from kindmap.models.activities import Opportunity
from kindmap.models.common import utcnow
from kindmap.models.households import Household, LinkLog, Outcome
from kindmap.services.households.links_over_time import MET_PEOPLE
from kindmap.services.households.scheme.overview import WINDOW

TOP = 10


@dataclass
class GrowingPlace:
    """One place or activity: links made there in the window, how many were meeting people, by how many households."""

    name: str
    kind: str  # "place" or "activity"
    links: int
    met_people: int
    households: int


def _counts(session: Session, target, name, scheme_id: int, since) -> list[tuple]:
    """(name, links, met people, households) per ``target`` (a place or an opportunity) for the scheme."""
    met = LinkLog.what.in_(sorted(MET_PEOPLE)).cast(Integer)
    key = LinkLog.place_id if target is Place else LinkLog.opportunity_id
    return session.exec(
        select(target.id, name, func.count(LinkLog.id), func.sum(met), func.count(func.distinct(LinkLog.household_id)))
        .join(target, target.id == key).join(Household, Household.id == LinkLog.household_id)
        .where(Household.scheme_id == scheme_id, LinkLog.on > since, LinkLog.outcome != Outcome.not_for_us)
        .group_by(target.id, name)
    ).all()


def places_growing_links(session: Session, user: User, *, now: datetime | None = None, top: int = TOP) -> list[GrowingPlace]:
    """The scheme's top places and activities by links made in the last 8 weeks (most first, then by name)."""
    if user.role != Role.scheme_worker or user.scheme_id is None:
        raise Forbidden("only a scheme worker sees where their scheme's links grow")
    since = (now or utcnow()).date() - WINDOW
    found = [GrowingPlace(name, "place", n, int(met or 0), h)
             for _id, name, n, met, h in _counts(session, Place, Place.name, user.scheme_id, since)]
    found += [GrowingPlace(name, "activity", n, int(met or 0), h)
              for _id, name, n, met, h in _counts(session, Opportunity, Opportunity.title, user.scheme_id, since)]
    return sorted(found, key=lambda g: (-g.links, -g.met_people, g.name.lower()))[:top]
