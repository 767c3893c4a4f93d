"""Security headers and privacy-preserving request logs."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("kindmap.access")


def tile_origins(tile_url: str) -> list[str]:
    """The scheme://host[:port] a tile URL template can reach, for the CSP img-src.

    Leaflet fills ``{s}`` with a, b or c, so each subdomain is listed.
    """
    origins = []
    for sub in ("a", "b", "c") if "{s}" in tile_url else ("",):
        parts = urlsplit(tile_url.replace("{s}", sub))
        if parts.scheme in ("http", "https") and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def content_security_policy(tile_url: str) -> str:
    """Only the site's own scripts and styles; images also from the tile server."""
    img = " ".join(["'self'", "data:", *tile_origins(tile_url)])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def loggable_path(scope: Scope) -> str:
    """The route template that served a request ('/api/households/{household_id}'), never the concrete
    path: ids in paths can point at a household. Static files log their path; unmatched requests
    log only their first segment."""
    route = scope.get("route")
    if isinstance(route, Mount) or scope["path"].startswith("/static/"):
        return scope["path"]
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if template:
        return template
    first = scope["path"].strip("/").split("/", 1)[0]
    return f"/{first}/… (no route)" if first else "/"


class SecurityHeaders:
    """Adds CSP and friends to every response, and logs method, route template and status — never the
    concrete path or the query string, which can hold a household id, a postcode or coordinates."""

    def __init__(self, app: ASGIApp, *, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            # OSM's tile policy needs a Referer; cross-origin requests get only our origin,
            # never the path or query (which can hold a postcode).
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", [])) + self.headers
                if scope["path"].startswith("/static/vendor/") and status == 200:
                    # Vendored releases never change under the same path.
                    headers.append((b"cache-control", b"public, max-age=31536000, immutable"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            ms = (time.perf_counter() - started) * 1000
            route = loggable_path(scope)
            # The same facts as fields for JSON logs (kindmap.logs); the route, never the path.
            log.info("%s %s %s %.1fms", scope["method"], route, status, ms,
                     extra={"method": scope["method"], "route": route, "status": status, "ms": round(ms, 2)})
