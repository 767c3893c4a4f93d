"""The review queue and local facts, for moderators and council roles (thin adapters over services.review)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from kindmap.api.auth import require_roles
from kindmap.api.deps import EngineDep, SessionDep
from kindmap.db import write_session
from kindmap.models.accounts import User
from kindmap.schemas import ErrorOut
from kindmap.services.community.review import (
    ReviewFilter,
    list_review_items,
    resolve_review_item,
    set_local_facts,
)
from kindmap.services.regions import find_region

router = APIRouter(prefix="/api", tags=["review"])
# Moderators decide; council analysts may work the queue for their council too.
REVIEWERS = ("admin", "moderator", "council_analyst")
Reviewer = Annotated[User, Depends(require_roles(*REVIEWERS))]
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut},
          422: {"model": ErrorOut}}


class PlaceBrief(BaseModel):
    id: int
    name: str
    category: str
    status: str
    possibly_closed_since: datetime | None
    source: str
    source_id: str | None


class ReviewItemOut(BaseModel):
    id: int
    kind: str
    status: str
    source: str
    place: PlaceBrief | None
    related_place: PlaceBrief | None
    evidence: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    outcome: str | None
    resolution: dict[str, Any] | None


class ReviewList(BaseModel):
    total: int
    items: list[ReviewItemOut]


class ResolveIn(BaseModel):
    outcome: str = Field(description="confirm_closed, keep, merge, edit or dismiss")
    changes: dict[str, Any] = Field(default_factory=dict, description="edit: field → value (+ 'note'); merge: keep_id")


class FactsIn(BaseModel):
    changes: dict[str, Any] = Field(description="field → value, e.g. {\"warm_hospitality\": true}")
    note: str | None = Field(default=None, max_length=1000, description="Public note, e.g. 'free tea on Tuesdays'")


class FactsOut(BaseModel):
    place_id: int
    changed: dict[str, Any] = Field(description="Fields whose shown value changed → new value")


def _brief(session, place_id: int | None) -> PlaceBrief | None:
    from kindmap.models import Place

    place = session.get(Place, place_id) if place_id is not None else None
    if place is None:
        return None
    return PlaceBrief(id=place.id, name=place.name, category=place.category, status=getattr(place.status, "value", place.status),
                      possibly_closed_since=place.possibly_closed_since, source=place.source, source_id=place.source_id)


def _out(session, item) -> ReviewItemOut:
    import json

    return ReviewItemOut(
        id=item.id, kind=item.kind.value, status=item.status.value, source=item.source,
        place=_brief(session, item.place_id), related_place=_brief(session, item.related_place_id),
        evidence=item.evidence(), created_at=item.created_at, resolved_at=item.resolved_at,
        outcome=item.outcome.value if item.outcome else None,
        resolution=json.loads(item.resolution_json) if item.resolution_json else None,
    )


@router.get("/review", response_model=ReviewList, responses=ERRORS)
def list_review(
    session: SessionDep,
    _user: Reviewer,
    kind: Annotated[str | None, Query(description="possibly_closed, duplicate, problem_report, suggestion, hours_change, kindness_note")] = None,
    status: Annotated[str, Query(description="open, resolved or all")] = "open",
    region: Annotated[str | None, Query(max_length=64, description="Region slug")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReviewList:
    """The review queue, oldest first, with the evidence for each item."""
    region_id = find_region(session, region).id if region else None
    items, total = list_review_items(session, ReviewFilter(kind=kind, status=None if status == "all" else status,
                                                           region_id=region_id, limit=limit, offset=offset))
    return ReviewList(total=total, items=[_out(session, i) for i in items])


@router.post("/review/{item_id}/resolve", response_model=ReviewItemOut, responses=ERRORS)
def resolve(item_id: int, body: ResolveIn, engine: EngineDep, user: Reviewer) -> ReviewItemOut:
    """Decide one item: confirm_closed, keep, merge (changes.keep_id), edit (changes as local facts) or dismiss."""
    role = getattr(user.role, "value", user.role)
    with write_session(engine) as session:
        item = resolve_review_item(session, item_id, outcome=body.outcome, changes=body.changes, by_user_id=user.id,
                                   by_role="council" if role == "council_analyst" else "moderator")
        return _out(session, item)


@router.post("/places/{place_id}/facts", response_model=FactsOut, responses=ERRORS)
def add_facts(place_id: int, body: FactsIn, engine: EngineDep, user: Reviewer) -> FactsOut:
    """Record local facts (they override imported values and survive re-imports); checked now."""
    role = getattr(user.role, "value", user.role)
    with write_session(engine) as session:
        changed = set_local_facts(session, place_id, body.changes, note=body.note, author_id=user.id, author_role=role,
                                  source="council" if role == "council_analyst" else "moderator")
    return FactsOut(place_id=place_id, changed={k: v[1] for k, v in changed.items()})
