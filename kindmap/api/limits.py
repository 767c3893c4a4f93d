"""Request limits: a body-size cap for every request, login-attempt rate limits, a per-client
budget for costly computations, who the client is behind a proxy, and the published text that
lists every limit in the API docs.

Starlette has no body limit of its own, and a client can stream a body without
``Content-Length`` (chunked), so the cap counts the bytes as they arrive and answers 413
before the application sees the request.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kindmap.api.proxies import ForwardedClient, TrustedProxies
from kindmap.config import Settings
from kindmap.errors import RateLimited
from kindmap.services.accounts.ratelimit import CostBudget, Limits, RateLimiter
from kindmap.services.catalogue.index import MAX_PLACES_LOOKED_AT
from kindmap.services.catalogue.mapview import MAX_VIEW_CELLS

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN_PATHS = ("/api/auth/token", "/api/auth/session")

# The longest walk the public API routes or draws. The map offers 5–30 minutes; a 180-minute
# walking area cost ~1.1 s of CPU (60 minutes ~0.2 s, on Rutland), and the CLI keeps longer walks.
MAX_WALK_MINUTES = 60
# Cost units: a 15-minute walking area is 1 unit (~70 ms of CPU on Rutland); longer walks cost
# in proportion (60 minutes = 4), and an export of the whole catalogue 4.
EXPORT_COST = 4.0
# A council what-if (a new place, or a place open for longer) is one walk search from the changed
# places over the kept analysis (p50 11–16 ms on Rutland), but the first after any change of the data
# pays for the whole analysis again (~0.3 s): charged as two walking areas.
WHAT_IF_COST = 2.0
COSTLY_WHAT = "walking areas, walking-time searches, exports and what-ifs"


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
        "- Public contributions: smaller bodies and rate limits per kind of contribution, per place and per client (see each operation); **429** "
        "with `Retry-After` past it.\n"
        f"- Sign-in (`/api/auth/token`, `/api/auth/session`): {limits.login_attempts_per_account} attempts "
        f"per account and {limits.login_attempts_per_client} per client every {minutes} minutes; **429** with "
        "`Retry-After` past it.\n"
        f"- Walking: `minutes` on `/api/isochrone` and `max_walk_minutes` on `/api/places` are at most "
        f"**{MAX_WALK_MINUTES}** (**422** past it).\n"
        f"- Costly requests (walking areas on `/api/isochrone`, walking-time searches on `/api/places`, "
        f"`/api/export.csv`, `/api/export.geojson`, the council what-ifs `POST /api/gaps/what-if` and "
        f"`POST /api/gaps/what-if/hours`) draw on a per-client budget of **{limits.cost_budget:g} units**, "
        f"refilled at {limits.cost_refill_per_min:g} units a minute: a walking area or walking-time search "
        f"costs its minutes ÷ 15 (at least 1), an export {EXPORT_COST:g}, a what-if {WHAT_IF_COST:g}. Past it "
        "**429** with `Retry-After`; "
        "other searches are not counted. Settings `KINDMAP_COST_BUDGET`, `KINDMAP_COST_REFILL_PER_MIN`.\n"
        "- Clients are told apart by their address; `X-Forwarded-For` is believed only from the proxies in "
        "`KINDMAP_TRUSTED_PROXIES` (none by default).\n"
        "- Searches: `limit` and `radius_m` are bounded (see the parameters); `bbox` must be a valid "
        f"box in EPSG:4326 of at most **{limits.max_bbox_km2:,.0f} km²** on `/api/places` (**422** past it; "
        "the OGC API pages its items instead); coordinates must be finite and in range.\n"
        f"- Map views: `/api/places/clusters` covers at most **{MAX_VIEW_CELLS:,} cells** of 64 px at its `zoom` "
        "(**422** past it: lower the zoom or make the bbox smaller); one request looks at most "
        f"**{MAX_PLACES_LOOKED_AT:,} places** one by one (a view's list, clusters with filters, the list without "
        "a `bbox`; **422** past it: zoom in, or clear the filters). Clusters without filters answer the cells "
        "wholly in view from per-cell summaries.\n"
        "- Lists in request bodies are bounded (`maxItems` in each schema); the API accepts no geometries "
        "other than points.\n"
        f"- Imports (`kindmap import csv|oruk|osm|areas|postcodes|activities`, `kindmap region add`; the API "
        f"takes no file uploads): a file of at most **{limits.max_upload_mb} MiB** holding at most "
        f"**{limits.max_import_rows:,} rows** (records; for an OSM extract, the places it recognises); past "
        "either the import stops before writing anything, with **413** (exit code 2 on the command line). "
        "Raise them with `KINDMAP_MAX_UPLOAD_MB` and `KINDMAP_MAX_IMPORT_ROWS`.\n"
    )


def install_limits(app: FastAPI) -> None:
    """Add the body cap, the sign-in rate limits, the cost budget and (behind trusted proxies) the
    forwarded client address from ``app.state.settings`` (a ``Settings``), and publish the limits
    in the OpenAPI docs."""
    limits: Settings = app.state.settings
    # Read by the sign-in routes (api/routes/auth.py), which count the very form they check.
    app.state.login_limit = LoginRateLimit(limits=limits)
    app.state.cost_budget = CostBudget(capacity=limits.cost_budget, refill_per_min=limits.cost_refill_per_min,
                                       what=COSTLY_WHAT)
    app.add_middleware(CostBudgetLimit, budget=app.state.cost_budget)
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_kb * 1024)
    proxies = TrustedProxies(limits.trusted_proxies)
    if proxies:  # outermost of these, so every limit sees the forwarded client; none configured: headers ignored
        app.add_middleware(ForwardedClient, proxies=proxies)
    app.description = (app.description or "") + limits_text(limits)
    _document(app)


class LoginRateLimit:
    """Sign-in attempts counted per account (the normalised email) and per client; past either
    limit ``check`` raises ``RateLimited`` before any password is checked. Counts live in memory,
    keyed by salted hashes (see ``services.ratelimit``)."""

    def __init__(self, app: object = None, *, limits: Settings) -> None:
        # ``app`` is unused: this was once a middleware, and callers may still pass it first.
        window = limits.login_window_s
        # RateLimiter also caps a total across keys; that is not what we limit here, so it is
        # set high enough never to bind before the per-key limit does.
        self.by_account = RateLimiter(Limits(per_client=limits.login_attempts_per_account, total=10**9, window_s=window))
        self.by_client = RateLimiter(Limits(per_client=limits.login_attempts_per_client, total=10**9, window_s=window))

    def check(self, *, account: str, client: str | None) -> None:
        """Count one attempt; raise ``RateLimited`` past the per-client or per-account limit."""
        for limiter, key, whose in ((self.by_client, client, "from this device"),
                                    (self.by_account, account, "for this account")):
            try:
                limiter.hit(key)
            except RateLimited as exc:
                raise RateLimited(f"too many sign-in attempts {whose}; please wait about "
                                  f"{_minutes(exc.retry_after)} and try again", retry_after=exc.retry_after) from None


def _walk_cost(name: str, default: float | None) -> Callable[[bytes], float | None]:
    """Cost of a walk of ``name`` minutes (the query's last value, as the route reads it):
    minutes ÷ 15, at least 1. Without the parameter: ``default`` minutes, or not costly (None)."""
    key = name.encode()

    def of(minutes: float) -> float:
        # Over the bound, or malformed, is a 422 from the route: charge the bound at most.
        return max(1.0, min(minutes, MAX_WALK_MINUTES) / 15.0) if math.isfinite(minutes) else 1.0

    def cost(query: bytes) -> float | None:
        # Most /api/places requests are not walks: without the name written out (or escaped, as
        # %5F…, which the route would decode too) the query need not be parsed.
        values = ([v for k, v in parse_qsl(query.decode("latin-1")) if k == name]
                  if key in query or b"%" in query else [])
        if not values:
            return None if default is None else of(default)
        try:
            return of(float(values[-1]))
        except ValueError:
            return 1.0

    return cost


# Path -> cost of one GET (None: not costly this time, e.g. /api/places without a walking time).
COSTS: dict[str, Callable[[bytes], float | None]] = {
    "/api/isochrone": _walk_cost("minutes", default=15),
    "/api/places": _walk_cost("max_walk_minutes", default=None),
    "/api/export.csv": lambda _query: EXPORT_COST,
    "/api/export.geojson": lambda _query: EXPORT_COST,
}
# Path -> cost of one POST.
POST_COSTS: dict[str, Callable[[bytes], float | None]] = {
    "/api/gaps/what-if": lambda _query: WHAT_IF_COST,
    "/api/gaps/what-if/hours": lambda _query: WHAT_IF_COST,
}


class CostBudgetLimit:
    """ASGI middleware: charge costly requests (``COSTS``) to the client's ``CostBudget`` before
    they run (so parallel requests cannot overdraw it), giving the units back when the route
    refuses the request with a 4xx; when the budget is spent answer 429 with ``Retry-After``.
    Other requests pass untouched (one dictionary lookup), so ordinary searches never wait on it."""

    def __init__(self, app: ASGIApp, *, budget: CostBudget) -> None:
        self.app = app
        self.budget = budget

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        price = None
        if scope["type"] == "http":
            price = (COSTS if scope["method"] in ("GET", "HEAD") else
                     POST_COSTS if scope["method"] == "POST" else {}).get(scope["path"])
        if price is not None:
            cost = price(scope.get("query_string", b""))
            if cost is not None:
                client = scope.get("client")
                address = client[0] if client else None
                try:
                    self.budget.spend(address, cost)
                except RateLimited as exc:
                    await _json(send, 429, exc.message, headers=[(b"retry-after", str(exc.retry_after).encode())])
                    return
                status = 0

                async def watch(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                await self.app(scope, receive, watch)
                if 400 <= status < 500:
                    # Refused before any work (out of bounds, unknown postcode, not in a region):
                    # a mistyped or shared link must not use up the visitor's budget.
                    self.budget.refund(address, cost)
                return
        await self.app(scope, receive, send)


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
                if method == "get" and path in COSTS:
                    op.setdefault("responses", {}).setdefault("429", {
                        "description": f"This client's budget for {COSTLY_WHAT} is spent for now",
                        **(error if has_error_model else {}),
                        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}})
                if method == "post" and path in LOGIN_PATHS:
                    op.setdefault("responses", {}).setdefault("429", {
                        "description": "Too many sign-in attempts", **(error if has_error_model else {}),
                        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}})
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
