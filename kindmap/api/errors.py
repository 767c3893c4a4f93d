"""Domain errors → HTTP, in one table, applied once (after tipg's errors.py)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError as SQLDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kindmap.api.cors import cors_headers
from kindmap.api.methods import allowed_methods
from kindmap.api.page_session import NotForYourAccount
from kindmap.api.security import loggable_path
from kindmap.errors import KindmapError, RateLimited

log = logging.getLogger("kindmap.api")


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("query", "body", "path")]
    return ".".join(parts) or "request"


def validation_message(exc: RequestValidationError) -> str:
    """One readable sentence per problem: 'lat: Input should be less than or equal to 90'."""
    return "; ".join(f"{_field(tuple(e.get('loc', ())))}: {_clean(e.get('msg', 'invalid'))}" for e in exc.errors())


def _clean(message: str) -> str:
    # pydantic prefixes messages from our own validators with "Value error, ".
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; nothing else in the API turns errors into responses."""

    @app.exception_handler(KindmapError)
    async def _domain(_: Request, exc: KindmapError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc)}, status_code=422)

    @app.exception_handler(SQLDataError)  # PostgreSQL: e.g. an id past int4
    @app.exception_handler(OverflowError)  # SQLite: an id past 64 bits
    async def _out_of_range(_: Request, _exc: Exception) -> JSONResponse:
        # A value the database column cannot hold (e.g. an id past PostgreSQL's 32-bit integer):
        # bad input, not a server fault. The driver's message may echo the value, so it is not sent.
        return JSONResponse({"detail": "a number or text in the request is out of the range the database accepts"},
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if isinstance(exc, NotForYourAccount):
            return exc.response()  # a person at a page gets a page
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # Starlette lists only the first route matching the path; list them all.
            headers["Allow"] = allowed_methods(request.app, request.scope["path"]) or headers.get("Allow", "")
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Log the type and route template only: messages and concrete paths may carry user input
        # (a household id, a postcode).
        route = loggable_path(request.scope)
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, route,
                  extra={"method": request.method, "route": route, "status": 500, "error": type(exc).__name__})
        # This answer is sent from outside the middleware stack, so an open read's CORS headers are added here.
        return JSONResponse({"detail": "something went wrong on our side; please try again"}, status_code=500,
                            headers=cors_headers(request.scope))
