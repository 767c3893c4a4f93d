"""CORS for the open, anonymous read APIs only, so a council map or an aggregator on another domain can
read kindmap with ``fetch``.

``Access-Control-Allow-Origin: *`` and never ``Allow-Credentials``: a browser then sends no cookie
and no stored credentials cross-origin, and refuses to hand a credentialed response to the page.
It goes on GET/HEAD responses of /ogc, /openreferral and the public /api reads and exports (errors
too: the ORUK profile asks for it on every response, and a page needs to read a 400's message), but
never on a response that sets a cookie, on writes, or on signed-in routes. A preflight for an open
read is answered 204 for GET/HEAD/OPTIONS and only the harmless request headers: ``Authorization``
is never allowed, so no token crosses origins.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Anchored patterns of the public, anonymous read routes (GET/HEAD). Everything else — households,
# review, gaps, link counts, freshness, accounts, pages — is same-origin only.
OPEN_READS = re.compile(
    r"^(?:/ogc(?:/.*)?"
    r"|/openreferral(?:/.*)?"
    r"|/api/places(?:/search|/clusters|/\d+|/\d+/kindness-notes|/\d+/provenance)?"
    r"|/api/(?:isochrone|categories|config|export\.csv|export\.geojson)"
    r"|/api/(?:opportunities|support)(?:/\d+)?"
    r")/?$"
)
READ_METHODS = frozenset({"GET", "HEAD"})
METHODS = b"GET, HEAD, OPTIONS"
# Headers a page may send: the CORS-safelisted ones and conditional requests. Never Authorization
# or Cookie: the open APIs need no credentials, and a token must not travel to another origin.
SAFE_REQUEST_HEADERS = frozenset({"accept", "accept-language", "content-language", "if-none-match",
                                  "if-modified-since", "cache-control"})
# Headers a page may read besides the safelisted ones (OGC's Content-Crs, paging Links, 429's Retry-After).
EXPOSE = b"Content-Crs, Link, Retry-After, Content-Disposition"
MAX_AGE = b"86400"


def is_open_read(method: str, path: str) -> bool:
    """Whether a request is an anonymous read of an open API (and so may be read cross-origin)."""
    return method in READ_METHODS and OPEN_READS.match(path) is not None


def cors_headers(scope: Scope) -> dict[str, str]:
    """The CORS headers for a response to ``scope`` (none unless it is an open read); for the 500
    handler, which answers outside the middleware stack."""
    if scope.get("type") != "http" or not is_open_read(scope["method"], scope["path"]):
        return {}
    return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE.decode()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return None


class OpenReadCors:
    """ASGI middleware: CORS headers on open reads, preflights for them answered here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and _header(scope, b"origin") is not None:
            wanted = (_header(scope, b"access-control-request-method") or "").strip().upper()
            if wanted and OPEN_READS.match(scope["path"]):
                await self._preflight(scope, wanted, send)
                return
        if not is_open_read(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(key.lower() == b"set-cookie" for key, _ in headers):
                    headers += [(b"access-control-allow-origin", b"*"), (b"access-control-expose-headers", EXPOSE)]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, scope: Scope, wanted: str, send: Send) -> None:
        """204 allowing GET/HEAD and the safe headers asked for; a write method gets no CORS headers."""
        headers = [(b"content-length", b"0"), (b"vary", b"Access-Control-Request-Headers")]
        if wanted in READ_METHODS or wanted == "OPTIONS":
            asked = (_header(scope, b"access-control-request-headers") or "").split(",")
            allowed = [h.strip().lower() for h in asked if h.strip().lower() in SAFE_REQUEST_HEADERS]
            headers += [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", METHODS),
                        (b"access-control-max-age", MAX_AGE)]
            if allowed:
                headers.append((b"access-control-allow-headers", ", ".join(allowed).encode()))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
