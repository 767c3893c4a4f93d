"""The public page, the API docs, and their local assets (no CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

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


@router.get("/")
def index() -> FileResponse:
    """The public map."""
    return FileResponse(web_dir() / "index.html", media_type="text/html")


@router.get("/docs")
def docs() -> HTMLResponse:
    """Interactive API documentation, served from local files."""
    return HTMLResponse(DOCS_PAGE)
