"""The FastAPI application factory: thin adapters over ``kindmap.services``."""

from __future__ import annotations

import ctypes
import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware

from kindmap import __version__
from kindmap.api.cors import OpenReadCors
from kindmap.api.errors import install_error_handlers
from kindmap.api.json_depth import JsonDepthLimit
from kindmap.api.limits import install_limits
from kindmap.api.methods import HeadAsGet
from kindmap.api.openapi import install_openapi
from kindmap.api.routes import (
    account_pages,
    activities,
    auth,
    carers,
    contributions,
    council,
    freshness,
    gaps,
    households,
    meta,
    ogc,
    openreferral,
    pages,
    places,
    review,
    scheme_pages,
    walking,
    web,
)
from kindmap.api.routes.carer_web import households as carer_households
from kindmap.api.routes.carer_web import my_places as carer_my_places
from kindmap.api.routes.carer_web import plan as carer_plan
from kindmap.api.routes.carer_web import visits as carer_visits
from kindmap.api.security import SecurityHeaders, content_security_policy
from kindmap.config import Settings, get_settings, web_dir
from kindmap.db import create_schema, make_engine

DESCRIPTION = """Welcoming, free, everyday places where people connect — everyone welcome.

Errors are JSON `{"detail": "what to fix"}` with a 4xx status.

Data: © OpenStreetMap contributors (ODbL); contains OS data © Crown copyright and database
right; contains public sector information licensed under the Open Government Licence v3.0.
"""


log = logging.getLogger("kindmap.api")


def _warm(app: FastAPI) -> None:
    """Build the catalogue index and load the walking networks before the first visitor asks (a cold
    50k-place index costs ~1 s; a network's stored search structures are memory-mapped)."""
    from kindmap.db import read_session
    from kindmap.services.catalogue.index import DEFAULT_CACHE
    from kindmap.services.catalogue.names import name_index

    try:
        with read_session(app.state.engine) as session:
            # the name search's postings too: ~4 s CPU at 10⁶ places, not the first searcher's wait
            name_index(session, DEFAULT_CACHE.get(session, tz=app.state.settings.timezone))
    except Exception as exc:  # the first request will report the problem properly
        log.warning("could not warm the catalogue index: %s", type(exc).__name__)
    from kindmap.services.walking import warm_networks

    try:  # the walking networks too: their search structures take seconds at 10^6 nodes
        warm_networks(app.state.settings)
    except Exception as exc:
        log.warning("could not warm the walking networks: %s", type(exc).__name__)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    _warm(app)
    if app.state.freeze_gc:
        # Everything loaded so far (~265k objects: the libraries, the app, the index) lives as
        # long as the server. A full collection walked them all in ~130–200 ms, stalling
        # whichever requests were in flight (p99 near-me went from ~1 ms to 20–300 ms).
        # Frozen, they are never scanned again (the Python docs' advice for servers).
        gc.collect()
        gc.freeze()
        _release_free_memory()
    yield


def _release_free_memory() -> None:
    """Hand the heap pages freed after start-up back to the system. glibc keeps them otherwise: building
    a 10⁶-place index reads ~600 MB of rows that are then dropped, and each worker went on holding them."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to do
        pass


# FastAPI's own OpenTelemetry bridge is off: its spans and logs would carry concrete paths and
# request values (a household id, a postcode, the coordinates of a search from home), which
# kindmap's request log deliberately leaves out (api/security.py), and with no exporter set up it
# still looked for one on every request (~18 µs of a ~0.65 ms near-me request).
NO_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, demo: bool = False,
               freeze_gc: bool = False) -> FastAPI:
    """Build the app for ``settings`` (read from the environment when omitted). ``freeze_gc``: for a
    server process, move everything alive after start-up out of the garbage collector's reach."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.resolved_database_url(demo=demo), settings=settings)
    create_schema(engine)
    app = FastAPI(title="kindmap", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  lifespan=_lifespan, telemetry=NO_TELEMETRY)
    app.state.settings = settings
    app.state.engine = engine
    app.state.freeze_gc = freeze_gc
    install_error_handlers(app)
    app.include_router(places.search_router)  # first: most of the traffic (see places.py)
    app.router.routes[:0] = places.lean_routes()  # and served without FastAPI's wrapper (see there)
    for module in (contributions, pages, meta, places, walking, openreferral, ogc, auth, households, activities, review, freshness, gaps, carers, council, account_pages, carer_households, carer_plan, carer_visits, carer_my_places, scheme_pages, web):
        app.include_router(module.router)
    install_openapi(app)  # OGC and ORUK responses typed by their real schemas
    app.mount("/static", StaticFiles(directory=web_dir()), name="static")
    app.add_middleware(JsonDepthLimit)  # added first, so it runs inside the body cap below
    install_limits(app)  # body cap, sign-in rate limits, limits in the docs
    # Compress text (the page, Leaflet, GeoJSON) for phones on slow connections.
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(HeadAsGet)  # HEAD wherever GET is (HTTP; OGC API – Features)
    app.add_middleware(OpenReadCors)  # open reads only; outside the limits, so a 413/429 carries it too
    app.add_middleware(SecurityHeaders, csp=content_security_policy(settings.tile_url))
    return app
