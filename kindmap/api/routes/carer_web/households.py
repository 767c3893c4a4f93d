"""The carers' pages: "My households" (list, add, edit) and a household's own page.

Handlers are thin: the posted form becomes the JSON API's own request model
(``services/households/forms.py``) and goes to the same service the API calls, in one
transaction, so a refused form changes nothing. A household someone may not see is the same
"not found" page as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from kindmap.api.auth import ClockDep
from kindmap.api.deps import EngineDep, SettingsDep
from kindmap.api.page_session import HouseholdPerson, PageUser, PostedForm, render, see_other
from kindmap.db import read_session, write_session
from kindmap.errors import KindmapError, NotFound
from kindmap.models.households import vocabulary
from kindmap.services.households import forms
from kindmap.services.households import records as svc
from kindmap.services.households.links_over_time import links_over_time
from kindmap.services.recommend.suggestions import suggestions
from kindmap.taxonomy import categories

router = APIRouter(include_in_schema=False)
HouseholdId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def not_found(who: PageUser) -> HTMLResponse:
    """One page for a household that is missing and one that is not yours (nothing echoed)."""
    return render("carer_not_found.html", status_code=404, who=who, title="Household not found")


@router.get("/carer", response_class=HTMLResponse)
def my_households(who: HouseholdPerson, engine: EngineDep) -> HTMLResponse:
    """The households this person cares for (a scheme worker: the scheme's), by label; no locations."""
    with read_session(engine) as session:
        households = svc.list_households(session, who.user)
    return render("carer_households.html", who=who, title="My households", households=households,
                  words=vocabulary())


def _form_page(who: PageUser, *, household_id: int | None, values: dict, errors: dict | None = None,
               status_code: int = 200) -> HTMLResponse:
    title = "Add a household" if household_id is None else f"Change {values['label'] or 'the household'}"
    return render("carer_household_form.html", status_code=status_code, who=who, title=title,
                  household_id=household_id, values=values, errors=errors or {}, choices=forms.choices())


@router.get("/carer/households/new", response_class=HTMLResponse)
def new_household_page(who: HouseholdPerson) -> HTMLResponse:
    """An empty household form."""
    return _form_page(who, household_id=None, values=forms.form_values(None))


def _save(who: PageUser, form, engine, clock, household_id: int | None) -> Response:
    body = forms.household_body(form.get, form.getlist)
    try:
        data = forms.validate(body, new=household_id is None)
        with write_session(engine) as session:
            if household_id is None:
                saved = svc.create_household(session, who.user, data, now=clock())
            else:
                saved = svc.update_household(session, who.user, household_id, data, now=clock())
    except ValidationError as exc:
        errors = forms.field_errors(exc)
    except NotFound:
        return not_found(who)
    except KindmapError as exc:
        errors = forms.domain_field_error(exc)
    else:
        return see_other(f"/carer/households/{saved.id}?saved=true")
    values = forms.posted_values(body, form.get, form.getlist)
    return _form_page(who, household_id=household_id, values=values, errors=errors, status_code=422)


@router.post("/carer/households/new", response_class=HTMLResponse)
def add_household(who: HouseholdPerson, form: PostedForm, engine: EngineDep, clock: ClockDep) -> Response:
    """Add a household; a refused form is shown again with a message next to each field (nothing saved)."""
    return _save(who, form, engine, clock, None)


@router.get("/carer/households/{household_id}/edit", response_class=HTMLResponse)
def edit_household_page(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep,
                        clock: ClockDep) -> HTMLResponse:
    """The household's form, filled in."""
    try:
        with write_session(engine) as session:
            household = svc.read_household(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    return _form_page(who, household_id=household_id, values=forms.form_values(household))


@router.post("/carer/households/{household_id}/edit", response_class=HTMLResponse)
def edit_household(household_id: HouseholdId, who: HouseholdPerson, form: PostedForm, engine: EngineDep,
                   clock: ClockDep) -> Response:
    """Save the household's changes (all or nothing)."""
    return _save(who, form, engine, clock, household_id)


# What a household page says after a form on it was sent (the page is reached by a redirect).
DONE = {"saved": "Saved.", "added": "Added to the plan.", "not_for_us": "We will not suggest that again.",
        "again": "Everything can be suggested again.", "already": "That is in the plan already.",
        "visit": "Visit saved. Thank you."}


@router.get("/carer/households/{household_id}", response_class=HTMLResponse)
def household_page(household_id: HouseholdId, who: HouseholdPerson, engine: EngineDep, settings: SettingsDep,
                   clock: ClockDep, saved: bool = False,
                   done: Annotated[str | None, Query(max_length=20)] = None) -> HTMLResponse:
    """One household: what the carers told us about it, and its suggestions (list first; map beside on wide screens)."""
    try:
        with write_session(engine) as session:
            household = svc.read_household(session, who.user, household_id, now=clock())
            found, shown = suggestions(session, settings, who.user, household_id, now=clock())
            months = links_over_time(session, who.user, household_id, now=clock())
    except NotFound:
        return not_found(who)
    return render("carer_household.html", who=who, title=household.label, household=household,
                  notice=DONE.get("saved" if saved else (done or "")), words=vocabulary(), choices=forms.choices(),
                  found=found, suggestions=shown, months=months, categories={slug: c.label for slug, c in categories().items()})
