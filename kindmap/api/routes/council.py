"""The council page: freshness at a glance and where welcoming free places are missing (sign in as an analyst).

The page itself holds no data: it signs in, then reads ``/api/freshness`` and ``/api/gaps`` with the
bearer token kept in memory, so the roles those endpoints check are the only gate on the figures.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kindmap.config import ATTRIBUTION, web_dir

router = APIRouter(tags=["pages"])
_env = Environment(loader=FileSystemLoader(str(web_dir() / "templates")), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)

MINUTES = (5, 10, 15, 20)
PACES = (("walk", "Walking"), ("slow", "Slower walking"), ("step_free", "Step-free (no steps or stairs)"))
SLOTS = (("any", "Any time"), ("weekday_daytime", "Weekday daytime"), ("weekday_evening", "Weekday evenings"),
         ("weekend", "Weekends"))


@router.get("/council", response_class=HTMLResponse, include_in_schema=False)
def council_page() -> HTMLResponse:
    """Freshness at a glance and gap analysis for council staff (sign in with an analyst account)."""
    html = _env.get_template("council.html").render(title="Council view", attribution=ATTRIBUTION, minutes=MINUTES,
                                                    default_minutes=15, paces=PACES, slots=SLOTS)
    return HTMLResponse(html)
