"""HTTP methods done by the book: HEAD wherever GET is, and a 405's ``Allow`` listing every method of
every route the path matches.

FastAPI's routes answer only the methods they name, so ``HEAD /ogc`` was a 405 (HTTP and OGC API –
Features expect HEAD wherever GET is); and Starlette's 405 lists only the first route that matched
the path (``/api/households/1/links/chart.png`` answered ``Allow: DELETE``, from ``…/links/{link_id}``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class HeadAsGet:
    """ASGI middleware: a HEAD request is routed as GET and answered with the same status and headers,
    and no body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


@lru_cache(maxsize=8)
def _table(paths: tuple[tuple[str, frozenset[str]], ...]) -> tuple[tuple[re.Pattern, frozenset[str]], ...]:
    return tuple((compile_path(path)[0], methods) for path, methods in paths)


def route_methods(app) -> tuple[tuple[str, frozenset[str]], ...]:
    """(path template, methods) of every documented route of ``app`` and its own hidden GET pages."""
    found: dict[str, set[str]] = {}
    for path, item in app.openapi().get("paths", {}).items():
        found.setdefault(path, set()).update(m.upper() for m in item if m.upper() in ORDER)
    return tuple((path, frozenset(methods)) for path, methods in found.items())


def allowed_methods(app, path: str) -> str | None:
    """The ``Allow`` value for ``path``: every method of every route whose template matches it, with
    HEAD wherever GET is; None when no documented route matches."""
    methods: set[str] = set()
    for pattern, route in _table(route_methods(app)):
        if pattern.match(path):
            methods |= route
    if not methods:
        return None
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(m for m in ORDER if m in methods)
