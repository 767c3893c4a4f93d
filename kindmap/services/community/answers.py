"""Visitors help complete a place, one question at a time (as Wheelmap does for access):
step-free entrance? accessible toilet? quiet space? hearing loop? seating? free to use? and
opening hours on a simple weekly form, turned into OSM ``opening_hours``.

Every answer waits for a moderator: answers about one place gather in one open review item
(kind ``suggestion`` with the place set: "a resident suggests a change"), and answers that
disagree — with each other or with what is recorded — are marked as conflicts to decide.
An approved answer becomes a local fact with source ``visitor``, so the place page can say
"a visitor said so on 3 Dec; confirmed by a moderator on 7 Dec", and the filters count it.
Nothing about who answered is stored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlmodel import Session, select

from kindmap.errors import Conflict, InvalidQuery
from kindmap.hours import check_hours
from kindmap.models import LocalFact, Place, ReviewItem, ReviewKind, ReviewOutcome
from kindmap.models.common import utcnow
from kindmap.services.catalogue.search import get_place
from kindmap.services.community.contributions import MAX_WAITING, SOURCE, _finish, _In, _open_item, _stamp
from kindmap.services.community.review import add_review_item, set_local_facts

# field -> the question as a visitor reads it
QUESTIONS: dict[str, str] = {
    "step_free": "Is the entrance step-free (no steps, or a ramp or lift)?",
    "accessible_toilet": "Is there an accessible toilet?",
    "quiet_space": "Is there a quiet space?",
    "hearing_loop": "Is there a hearing loop?",
    "seating": "Is there somewhere to sit?",
    "free_to_use": "Is it free to use?",
    "opening_hours": "When is it open?",
}
FACT_WORDS = {"step_free": "Step-free entrance", "accessible_toilet": "Accessible toilet", "quiet_space": "Quiet space",
              "hearing_loop": "Hearing loop", "seating": "Seating", "free_to_use": "Free to use",
              "opening_hours": "Opening hours"}
DAYS = ("mo", "tu", "we", "th", "fr", "sa", "su")
VISITOR = "visitor"
_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
Question = Literal["step_free", "accessible_toilet", "quiet_space", "hearing_loop", "seating", "free_to_use",
                   "opening_hours"]


class AnswerIn(_In):
    """One answer about one place: ``answer`` yes/no, or for opening hours a weekly form
    (``mo_opens``/``mo_closes`` … ``su_opens``/``su_closes`` as HH:MM; a day left empty is closed)."""

    place_id: int = Field(ge=1)
    question: Question
    answer: Literal["yes", "no"] | None = None
    mo_opens: str | None = Field(default=None, max_length=5)
    mo_closes: str | None = Field(default=None, max_length=5)
    tu_opens: str | None = Field(default=None, max_length=5)
    tu_closes: str | None = Field(default=None, max_length=5)
    we_opens: str | None = Field(default=None, max_length=5)
    we_closes: str | None = Field(default=None, max_length=5)
    th_opens: str | None = Field(default=None, max_length=5)
    th_closes: str | None = Field(default=None, max_length=5)
    fr_opens: str | None = Field(default=None, max_length=5)
    fr_closes: str | None = Field(default=None, max_length=5)
    sa_opens: str | None = Field(default=None, max_length=5)
    sa_closes: str | None = Field(default=None, max_length=5)
    su_opens: str | None = Field(default=None, max_length=5)
    su_closes: str | None = Field(default=None, max_length=5)

    @model_validator(mode="after")
    def _complete(self) -> AnswerIn:
        if self.question != "opening_hours" and self.answer is None:
            raise ValueError("choose yes or no")
        return self


def weekly_hours(spans: dict[str, tuple[str, str] | None]) -> str:
    """Opening times per day ('mo' … 'su' → (opens, closes) or None for closed) as OSM ``opening_hours``.

    Days with the same times in a row are joined: 'Mo-Fr 09:00-17:00; Sa 10:00-12:00'.
    """
    rules: list[tuple[int, int, str]] = []
    for k, day in enumerate(DAYS):
        span = spans.get(day)
        if span is None:
            continue
        text = f"{span[0]}-{span[1]}"
        if rules and rules[-1][1] == k - 1 and rules[-1][2] == text:
            rules[-1] = (rules[-1][0], k, text)
        else:
            rules.append((k, k, text))
    if not rules:
        raise InvalidQuery("Opening hours: give the opening and closing time of at least one day")
    name = lambda k: DAYS[k].capitalize()  # noqa: E731
    return "; ".join(f"{name(a)}{'' if a == b else ('-' if b > a + 1 else ',') + name(b)} {t}" for a, b, t in rules)


def _clock(value: str, label: str) -> str:
    m = _TIME.match(value or "")
    if not m:
        raise InvalidQuery(f"{label}: write the time like 09:30")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def hours_from_form(data: AnswerIn) -> str:
    """The weekly form as an OSM opening_hours string, or ``InvalidQuery`` naming the day to fix."""
    spans: dict[str, tuple[str, str] | None] = {}
    for day in DAYS:
        opens, closes = getattr(data, f"{day}_opens"), getattr(data, f"{day}_closes")
        label = {"mo": "Monday", "tu": "Tuesday", "we": "Wednesday", "th": "Thursday", "fr": "Friday",
                 "sa": "Saturday", "su": "Sunday"}[day]
        if not opens and not closes:
            spans[day] = None
            continue
        if not (opens and closes):
            raise InvalidQuery(f"{label}: give both the opening and the closing time, or leave both empty if closed")
        a, b = _clock(opens, f"{label} opens"), _clock(closes, f"{label} closes")
        if b <= a:
            raise InvalidQuery(f"{label}: the closing time must be after the opening time")
        spans[day] = (a, b)
    text = weekly_hours(spans)
    if not check_hours(text).valid:  # cannot happen for the shapes above; never store what cannot be read
        raise InvalidQuery("Opening hours: these times could not be read; please check them")
    return text


def _value(data: AnswerIn) -> Any:
    return hours_from_form(data) if data.question == "opening_hours" else data.answer == "yes"


def _conflicts(answers: list[dict], place: Place) -> list[str]:
    """Questions whose answers disagree with each other, or with what is recorded now."""
    out = []
    for question in dict.fromkeys(a["question"] for a in answers):
        values = {repr(a["value"]) for a in answers if a["question"] == question}
        recorded = getattr(place, question)
        if len(values) > 1 or (recorded is not None and repr(recorded) not in values):
            out.append(question)
    return out


def submit_answer(session: Session, data: AnswerIn, *, now: datetime | None = None) -> ReviewItem:
    """Queue one answer about a published place for a moderator (one open item per place gathers them)."""
    now = now or utcnow()
    place = get_place(session, data.place_id)  # 404 unless the public can see it
    value = _value(data)
    open_item = session.exec(select(ReviewItem).where(
        ReviewItem.kind == ReviewKind.suggestion, ReviewItem.status == "open", ReviewItem.place_id == place.id,
        ReviewItem.related_place_id == None)).first()  # noqa: E711
    answers = list(open_item.evidence().get("answers", [])) if open_item is not None else []
    if len(answers) >= MAX_WAITING:
        raise Conflict("Many answers about this place are already waiting for a moderator; please try again in a few days")
    answers.append({"question": data.question, "value": value, "received_at": _stamp(now)})
    evidence = {"contribution": "answers", "place": place.name, "answers": answers,
                "recorded": {q: getattr(place, q) for q in dict.fromkeys(a["question"] for a in answers)},
                "conflicts": _conflicts(answers, place)}
    return add_review_item(session, kind=ReviewKind.suggestion.value, place_id=place.id, evidence=evidence, source=SOURCE)


def is_answers(item: ReviewItem | None) -> bool:
    """Whether a review item holds visitors' answers about a place (not a suggested new place)."""
    return item is not None and item.kind is ReviewKind.suggestion and item.place_id is not None


def approve_answers(session: Session, item_id: int, *, choose: dict[str, Any] | None = None,
                    by_user_id: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Apply visitors' answers as local facts (source ``visitor``); return what was applied.

    Without ``choose`` every question's answer is applied, unless answers conflict: then the
    moderator says which value holds (``choose={"step_free": true}``); a question left out of
    ``choose`` is not applied.
    """
    now = now or utcnow()
    item = _open_item(session, item_id, (ReviewKind.suggestion,))
    if not is_answers(item):
        raise InvalidQuery(f"item {item_id} is a suggested new place, not answers about a place")
    evidence = item.evidence()
    answers = evidence.get("answers", [])
    if choose is None:
        conflicts = evidence.get("conflicts", [])
        if conflicts:
            raise InvalidQuery("these answers disagree: " + ", ".join(conflicts) +
                               "; say which value holds in changes, e.g. {\"" + conflicts[0] + "\": true}")
        choose = {}
        for a in answers:
            choose[a["question"]] = a["value"]
    unknown = [q for q in choose if q not in QUESTIONS]
    if unknown:
        raise InvalidQuery(f"cannot apply {', '.join(unknown)}; questions: {', '.join(QUESTIONS)}")
    first_said = {}
    for a in answers:
        first_said.setdefault((a["question"], repr(a["value"])), a["received_at"])
    applied = {}
    for question, value in choose.items():
        if question == "opening_hours":
            if not isinstance(value, str) or not check_hours(value).valid:
                raise InvalidQuery("opening_hours must be readable OSM opening_hours text")
        elif not isinstance(value, bool):
            raise InvalidQuery(f"{question} must be true or false")
        said = first_said.get((question, repr(value)))
        set_local_facts(session, item.place_id, {question: value}, source=VISITOR, author_id=by_user_id,
                        author_role="moderator", now=now)
        fact = session.exec(select(LocalFact).where(LocalFact.place_id == item.place_id, LocalFact.field == question,
                                                    LocalFact.superseded_at == None)).one()  # noqa: E711
        if said:
            fact.created_at = datetime.fromisoformat(said)  # when the visitor said it; verified_at: when confirmed
        applied[question] = value
    _finish(item, outcome=ReviewOutcome.edit, applied={"answers": applied}, by=by_user_id, now=now)
    session.flush()
    return applied


def visitor_facts(session: Session, place_id: int) -> list[dict[str, Any]]:
    """Provenance of the facts visitors gave and moderators confirmed, for the place page (no authors)."""
    rows = session.exec(select(LocalFact).where(LocalFact.place_id == place_id, LocalFact.source == VISITOR,
                                                LocalFact.superseded_at == None)  # noqa: E711
                        .order_by(LocalFact.field)).all()
    return [{"field": r.field, "label": FACT_WORDS.get(r.field, r.field), "value": r.value(), "said_on": r.created_at,
             "confirmed_on": r.verified_at} for r in rows]
