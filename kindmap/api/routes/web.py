"""The public page, the API docs, and their local assets (no CDN)."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from kindmap.api.nav import PRIVATE, PageUser, nav_context
from kindmap.api.page_session import env
from kindmap.config import web_dir

router = APIRouter(include_in_schema=False)

# Swagger UI from web/vendor (npm swagger-ui-dist), started by a local script: FastAPI's
# default docs page loads it from a CDN with an inline script, which our CSP forbids.
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kindmap API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<main id="swagger-ui"></main>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script type="module" src="/static/js/pages/docs.js"></script>
</body>
</html>
"""


NAV_START, NAV_END = "<!-- site-nav:", "<!-- /site-nav -->"


@cache
def _map_page() -> tuple[str, str]:
    """The map page split around its navigation (the file is static; only the navigation differs)."""
    page = (web_dir() / "index.html").read_text(encoding="utf-8")
    return page[:page.index(NAV_START)], page[page.index(NAV_END) + len(NAV_END):]


@router.get("/")
def index(user: PageUser) -> Response:
    """The public map. Signed out it is the static file (cacheable); signed in, the same page with the
    navigation of that account (its pages and "Sign out"), never cached."""
    if user is None:
        return FileResponse(web_dir() / "index.html", media_type="text/html")
    before, after = _map_page()
    nav = env.get_template("_site_nav.html").render(**nav_context(user, current="/"))
    signout = '<script type="module" src="/static/js/signout.js"></script>\n'
    return HTMLResponse(before + nav + signout + after, headers=PRIVATE)


@router.get("/docs")
def docs() -> HTMLResponse:
    """Interactive API documentation, served from local files."""
    return HTMLResponse(DOCS_PAGE)
