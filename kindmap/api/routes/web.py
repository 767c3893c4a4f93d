"""The public page and its local assets (no CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from kindmap.config import web_dir

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    """The public map."""
    return FileResponse(web_dir() / "index.html", media_type="text/html")
