"""Contributions from the public (no account needed) and the moderators' decisions on them."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from kindmap.api.auth import require_roles
from kindmap.api.deps import EngineDep, SessionDep
from kindmap.db import write_session
from kindmap.errors import InvalidQuery, PayloadTooLarge
from kindmap.models.accounts import User
from kindmap.models.contributions import KindnessNotePublic
from kindmap.schemas import ErrorOut
from kindmap.services.accounts.ratelimit import ContributionLimiter, KindLimits
from kindmap.services.community import answers
from kindmap.services.community import contributions as svc

router = APIRouter(prefix="/api", tags=["contributions"])
REVIEWERS = ("admin", "moderator", "council_analyst")  # the same people who work /api/review
Reviewer = Annotated[User, Depends(require_roles(*REVIEWERS))]
DEFAULT_LIMITS = {kind: KindLimits(*numbers) for kind, numbers in svc.RATE_LIMITS.items()}
ABOUT = {"suggestion": "one suggested name", "problem_report": "one place", "kindness_note": "one place",
         "answer": "one place"}


def public_rules(kind: str) -> str:
    """The rules of a public contribution form, with its own rate limits, for the API docs."""
    return f"""

No account is needed. To keep the queue useful:

- **Rate limit:** {DEFAULT_LIMITS[kind].describe(ABOUT[kind])}. Past it: **429** with `Retry-After`
  (seconds). Each kind of contribution (suggestions, problem reports, kindness notes) is counted
  on its own. Clients are counted by a salted hash of their address, kept in memory only; the
  address itself is never stored.
- **Size:** request bodies over {svc.MAX_BODY_BYTES // 1024} KiB get **413**; each text field has a
  length limit (below); texts are Unicode-normalised (NFC) and control characters removed.
- **Honeypot:** the `{svc.HONEYPOT}` field must be left empty (the page hides it from people).
  A submission that fills it gets the same **202** answer and is silently dropped.
- Bad input: **422** `{{"detail": "what to fix"}}`.

Everything goes to the moderators' review queue; nothing is public until approved.
"""
PUBLIC_ERRORS = {404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 413: {"model": ErrorOut},
                 422: {"model": ErrorOut}, 429: {"model": ErrorOut, "headers": {"Retry-After": {
                     "description": "Seconds to wait", "schema": {"type": "integer"}}}}}
MOD_ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 409: {"model": ErrorOut},
              422: {"model": ErrorOut}}


class Received(BaseModel):
    status: str = Field(description="Always 'received'.")
    message: str


class ApproveIn(BaseModel):
    changes: dict[str, Any] = Field(default_factory=dict, max_length=40,
                                    description="Suggestion: corrected fields (e.g. lon, lat, name); at most 40. "
                                                "Answers about a place: which value holds per question when answers "
                                                "disagree (e.g. {\"step_free\": true}); only those are applied.")
    notes: list[Annotated[str, Field(max_length=2000)]] | None = Field(
        default=None, max_length=50, description="Kindness note: the texts to show (edited; at most 50 of at most "
                                                 "2,000 characters); default all.")


class RejectIn(BaseModel):
    reason: str | None = Field(default=None, max_length=300, description="Kept with the decision; never public.")


class Decision(BaseModel):
    item_id: int
    outcome: str
    place_id: int | None = Field(description="The new place for an approved suggestion; the thanked place for notes.")
    notes_published: int = 0
    facts_applied: dict[str, Any] = Field(default_factory=dict, description="Answers about a place: the facts now recorded.")


def limiter(request: Request) -> ContributionLimiter:
    """The app's limiter (tests may set ``app.state.contribution_limiter``)."""
    found = getattr(request.app.state, "contribution_limiter", None)
    if found is None:
        found = request.app.state.contribution_limiter = ContributionLimiter(DEFAULT_LIMITS)
    return found


async def read_json(request: Request) -> Any:
    """The body as JSON, refused with 413 past the size cap before it is all read."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > svc.MAX_BODY_BYTES:
        raise PayloadTooLarge(f"that is too long to send (over {svc.MAX_BODY_BYTES // 1024} KB); please shorten it")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > svc.MAX_BODY_BYTES:
            raise PayloadTooLarge(f"that is too long to send (over {svc.MAX_BODY_BYTES // 1024} KB); please shorten it")
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidQuery("send the form as JSON (Content-Type: application/json)") from None


def _body_schema(model: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": model.model_json_schema()}}}}


async def _submit(request: Request, engine, kind: str, model, action, message: str) -> Received:
    # Count before validating, so a client hammering with bad bodies is limited too; then once
    # more about what it is about (a place, a suggested name), which only a valid body says.
    address = request.client.host if request.client else None
    limits = limiter(request)
    limits.hit_client(address, kind)
    data = svc.parse(model, await read_json(request))
    limits.hit_target(address, kind, svc.rate_target(data))
    if not svc.is_bot(data):
        def write() -> None:
            with write_session(engine) as session:
                action(session, data)
        await run_in_threadpool(write)
    return Received(status="received", message=message)


@router.post("/contributions/suggestions", status_code=202, response_model=Received, responses=PUBLIC_ERRORS,
             openapi_extra=_body_schema(svc.SuggestionIn), summary="Suggest a place",
             description="Suggest a welcoming place that is missing from the map." + public_rules("suggestion"))
async def suggest(request: Request, engine: EngineDep) -> Received:
    return await _submit(request, engine, "suggestion", svc.SuggestionIn, svc.submit_suggestion,
                         "Thank you. A moderator will check your suggestion before it appears on the map.")


@router.post("/contributions/problems", status_code=202, response_model=Received, responses=PUBLIC_ERRORS,
             openapi_extra=_body_schema(svc.ProblemIn), summary="Report a problem with a place",
             description="Tell us a place has closed, has the wrong hours, is not free or not accessible." + public_rules("problem_report"))
async def report_problem(request: Request, engine: EngineDep) -> Received:
    return await _submit(request, engine, "problem_report", svc.ProblemIn, svc.submit_problem,
                         "Thank you. A moderator will check the place and correct it.")


@router.post("/contributions/kindness-notes", status_code=202, response_model=Received, responses=PUBLIC_ERRORS,
             openapi_extra=_body_schema(svc.KindnessIn), summary="Thank a place",
             description="A short thank-you, shown on the place's page once a moderator approves it." + public_rules("kindness_note"))
async def thank_place(request: Request, engine: EngineDep) -> Received:
    return await _submit(request, engine, "kindness_note", svc.KindnessIn, svc.submit_kindness,
                         "Thank you. Your note will appear on this page once a moderator has read it.")


@router.post("/contributions/answers", status_code=202, response_model=Received, responses=PUBLIC_ERRORS,
             openapi_extra=_body_schema(answers.AnswerIn), summary="Answer one question about a place",
             description="Help complete a place: step-free entrance, accessible toilet, quiet space, hearing loop, "
                         "seating, free to use (answer yes or no), or its opening hours (a weekly form: "
                         "mo_opens/mo_closes … su_opens/su_closes as HH:MM, a day left empty is closed), turned into "
                         "OSM opening_hours. A moderator confirms every answer; answers that disagree are marked "
                         "for review." + public_rules("answer"))
async def answer_question(request: Request, engine: EngineDep) -> Received:
    return await _submit(request, engine, "answer", answers.AnswerIn, answers.submit_answer,
                         "Thank you. A moderator will check your answer, then it will show on this page.")


@router.get("/places/{place_id}/kindness-notes", response_model=list[KindnessNotePublic],
            responses={404: {"model": ErrorOut}})
def kindness_notes(place_id: int, session: SessionDep) -> list[KindnessNotePublic]:
    """Approved thank-you notes for a place, newest first."""
    return svc.public_notes(session, place_id)


@router.post("/contributions/{item_id}/approve", response_model=Decision, responses=MOD_ERRORS)
def approve(item_id: int, body: ApproveIn, engine: EngineDep, user: Reviewer) -> Decision:
    """Approve a suggestion (publishes a new place, "suggested by a resident") or a kindness note (shows it)."""
    with write_session(engine) as session:
        from kindmap.models import ReviewItem, ReviewKind

        item = session.get(ReviewItem, item_id)
        if answers.is_answers(item):
            applied = answers.approve_answers(session, item_id, choose=body.changes or None, by_user_id=user.id)
            return Decision(item_id=item_id, outcome="approved", place_id=item.place_id, facts_applied=applied)
        if item is not None and item.kind is ReviewKind.kindness_note:
            rows = svc.approve_kindness(session, item_id, notes=body.notes, by_user_id=user.id)
            return Decision(item_id=item_id, outcome="approved", place_id=item.place_id, notes_published=len(rows))
        place = svc.approve_suggestion(session, item_id, changes=body.changes, by_user_id=user.id)
        return Decision(item_id=item_id, outcome="approved", place_id=place.id)


@router.post("/contributions/{item_id}/reject", response_model=Decision, responses=MOD_ERRORS)
def reject(item_id: int, body: RejectIn, engine: EngineDep, user: Reviewer) -> Decision:
    """Decline a suggestion or kindness note; nothing is published."""
    with write_session(engine) as session:
        item = svc.reject(session, item_id, reason=body.reason, by_user_id=user.id)
        return Decision(item_id=item_id, outcome="rejected", place_id=item.place_id)
