"""A household's suggestions as its page shows them: the recommendations (with what is not known and
the phone and website to check it with, as the API gives them) and whether each is already in the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from kindmap.config import Settings
from kindmap.models.accounts import User
from kindmap.models.households import PlanItem
from kindmap.services.recommend.recommendations import Recommendation, Recommendations, recommend

PLAN_FIELD = {"place": "place_id", "opportunity": "opportunity_id", "support": "support_id"}


@dataclass
class Suggestion:
    """One recommendation on the page, and whether the household's plan has it."""

    item: Recommendation
    in_plan: bool


def suggestions(session: Session, settings: Settings, user: User, household_id: int, *, limit: int = 20,
                now: datetime | None = None) -> tuple[Recommendations, list[Suggestion]]:
    """The household's recommendations (audited by ``recommend``) with plan membership."""
    found = recommend(session, settings, user, household_id, limit=limit, now=now)
    planned = {(kind, getattr(item, column)) for item in
               session.exec(select(PlanItem).where(PlanItem.household_id == household_id)).all()
               for kind, column in PLAN_FIELD.items() if getattr(item, column) is not None}
    return found, [Suggestion(item, (item.kind, item.id) in planned) for item in found.items]
