"""Request limits: a body-size cap for every request, login-attempt rate limits, and the
published text that lists every limit in the API docs.

Starlette has no body limit of its own, and a client can stream a body without
``Content-Length`` (chunked), so the cap counts the bytes as they arrive and answers 413
before the application sees the request.
"""

from __future__ import annotations

import json
import math
import unicodedata
from urllib.parse import parse_qs

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kindmap.config import Settings
from kindmap.errors import RateLimited
from kindmap.services.ratelimit import Limits, RateLimiter

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATHS = ("/api/auth/token", "/api/auth/session")


class BodySizeLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413 JSON, counting bytes as they
    arrive (so chunked bodies without ``Content-Length`` are capped too).

    The body is read before the application runs (at most ``max_bytes`` are held), then
    replayed, so the application never starts on a request it cannot finish.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away; let the app see the disconnect
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        await _json(send, 413, f"request body is over {self.max_bytes // 1024} KB; send less (split large "
                               "imports into several requests or use the kindmap command line)",
                    headers=[(b"connection", b"close")])


def limits_text(limits: Settings) -> str:
    """The limits as Markdown, appended to the API description."""
    minutes = max(1, round(limits.login_window_s / 60))
    return (
        "\n\n## Limits\n\n"
        f"- Request bodies: at most **{limits.max_body_kb} KiB** (also when sent chunked); past it **413**.\n"
        "- Public contributions: smaller bodies and a per-client rate limit (see each operation); **429** "
        "with `Retry-After` past it.\n"
        f"- Sign-in (`/api/auth/token`, `/api/auth/session`): {limits.login_attempts_per_account} attempts "
        f"per account and {limits.login_attempts_per_client} per client every {minutes} minutes; **429** with "
        "`Retry-After` past it.\n"
        "- Searches: `limit` and `radius_m` are bounded (see the parameters); `bbox` must be a valid "
        f"box in EPSG:4326 of at most **{limits.max_bbox_km2:,.0f} km²** on `/api/places` (**422** past it; "
        "the OGC API pages its items instead); coordinates must be finite and in range.\n"
        "- Lists in request bodies are bounded (`maxItems` in each schema); the API accepts no geometries "
        "other than points.\n"
        f"- Imports (`kindmap import csv|oruk|osm|areas|postcodes|activities`, `kindmap region add`; the API "
        f"takes no file uploads): a file of at most **{limits.max_upload_mb} MiB** holding at most "
        f"**{limits.max_import_rows:,} rows** (records; for an OSM extract, the places it recognises); past "
        "either the import stops before writing anything, with **413** (exit code 2 on the command line). "
        "Raise them with `KINDMAP_MAX_UPLOAD_MB` and `KINDMAP_MAX_IMPORT_ROWS`.\n"
    )


def install_limits(app: FastAPI) -> None:
    """Add the body cap and the sign-in rate limit from ``app.state.settings`` (a ``Settings``),
    and publish the limits in the OpenAPI docs."""
    limits: Settings = app.state.settings
    app.add_middleware(LoginRateLimit, limits=limits)  # inner: sees only bodies the cap let through
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_kb * 1024)
    app.description = (app.description or "") + limits_text(limits)
    _document(app)


class LoginRateLimit:
    """ASGI middleware: count sign-in attempts per account (the form's ``username``) and per
    client on ``paths``; past either limit answer 429 with ``Retry-After`` before any password
    is checked. Counts live in memory, keyed by salted hashes (see ``services.ratelimit``)."""

    def __init__(self, app: ASGIApp, *, limits: Settings, paths: tuple[str, ...] = LOGIN_PATHS) -> None:
        self.app = app
        self.paths = frozenset(paths)
        window = limits.login_window_s
        # RateLimiter also caps a total across keys; that is not what we limit here, so it is
        # set high enough never to bind before the per-key limit does.
        self.by_account = RateLimiter(Limits(per_client=limits.login_attempts_per_account, total=10**9, window_s=window))
        self.by_client = RateLimiter(Limits(per_client=limits.login_attempts_per_client, total=10**9, window_s=window))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        body = bytearray()
        while True:  # bounded: BodySizeLimit runs outside this middleware
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        client = scope.get("client")
        try:
            self.check(account=_username(scope, bytes(body)), client=client[0] if client else None)
        except RateLimited as exc:
            await _json(send, 429, exc.message, headers=[(b"retry-after", str(exc.retry_after).encode())])
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    def check(self, *, account: str, client: str | None) -> None:
        """Count one attempt; raise ``RateLimited`` past the per-client or per-account limit."""
        for limiter, key, whose in ((self.by_client, client, "from this device"),
                                    (self.by_account, account, "for this account")):
            try:
                limiter.hit(key)
            except RateLimited as exc:
                raise RateLimited(f"too many sign-in attempts {whose}; please wait about "
                                  f"{_minutes(exc.retry_after)} and try again", retry_after=exc.retry_after) from None


def _username(scope: Scope, body: bytes) -> str:
    """The form's ``username`` normalised (case and spaces), or '' when it cannot be read."""
    ctype = dict(scope.get("headers") or ()).get(b"content-type", b"").decode("latin-1").lower()
    if "application/x-www-form-urlencoded" not in ctype:
        return ""
    values = parse_qs(body.decode("utf-8", "replace")).get("username") or [""]
    return " ".join(unicodedata.normalize("NFC", values[0]).split()).casefold()


def _minutes(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 60 else f"{math.ceil(seconds / 60)} minutes"


async def _json(send: Send, status: int, detail: str, *, headers: list | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _document(app: FastAPI) -> None:
    """Add the 413 and 429 answers the limits can give to every affected operation's docs, and
    describe validation errors as the app really sends them."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        has_error_model = "ErrorOut" in components
        if "HTTPValidationError" in components:
            # api/errors.py answers every validation error as {"detail": "what to fix"}, not
            # FastAPI's default list; say so, or clients (and schemathesis) expect the list.
            components["HTTPValidationError"] = {
                "title": "HTTPValidationError", "type": "object", "required": ["detail"],
                "properties": {"detail": {"type": "string", "title": "Detail", "description": "What to fix."}}}
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                if method.upper() in BODY_METHODS:
                    responses = op.setdefault("responses", {})
                    responses.setdefault("413", {"description": "Request body over the size limit",
                                                 **(error if has_error_model else {})})
                    if "requestBody" in op:
                        # FastAPI answers a body it cannot decode (not UTF-8, not the declared type) with 400.
                        responses.setdefault("400", {"description": "Request body could not be read",
                                                     **(error if has_error_model else {})})
                if method == "post" and path in LOGIN_PATHS:
                    op.setdefault("responses", {}).setdefault("429", {
                        "description": "Too many sign-in attempts", **(error if has_error_model else {}),
                        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
