"""The council page: freshness at a glance and where welcoming free places are missing.

Who sees what is decided here, on the server, from the web session cookie: analysts and admins
get the page; anyone else signed in gets a plain "not for your account" page (403) without the
forms; signed out, a sign-in form. The figures themselves come from ``/api/freshness`` and
``/api/gaps``, whose role checks are the gate on the data.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kindmap.api.nav import COUNCIL_ROLES, PageUser, staff_page
from kindmap.config import ATTRIBUTION, web_dir

router = APIRouter(tags=["pages"])
_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)

MINUTES = (5, 10, 15, 20)
PACES = (("walk", "Walking"), ("slow", "Slower walking"), ("step_free", "Step-free (no steps or stairs)"))
SLOTS = (("any", "Any time"), ("weekday_daytime", "Weekday daytime"), ("weekday_evening", "Weekday evenings"),
         ("weekend", "Weekends"))


@router.get("/council", response_class=HTMLResponse, include_in_schema=False)
def council_page(user: PageUser) -> HTMLResponse:
    """Freshness at a glance and gap analysis for council staff (council analysts and admins)."""
    return staff_page(_env, "council.html", user, path="/council", roles=COUNCIL_ROLES, page_name="The council view",
                      who_for="council analysts", title="Council view", minutes=MINUTES, default_minutes=15,
                      paces=PACES, slots=SLOTS)
